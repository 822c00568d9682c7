"""One table of every workload of issue 15: relulab / PyTorch CPU time ratios and peak memory.

Each measurement runs in a fresh subprocess that imports one library only and reports its best per-step time
and its peak RSS (``ru_maxrss``).  The two libraries alternate, round after round, and each keeps its best round,
so load drift on a shared machine hits both alike.  Thread counts are set through the BLAS/OpenMP environment
(and ``torch.set_num_threads``) before the library is imported.

    python bench/run.py                       # every workload, 1 and 2 threads, 3 rounds
    python bench/run.py --only mlp1,getitem --threads 1 --rounds 2 --json out.json

The parts: ``harness.sgd_step`` (one SGD train step written once for both libraries), ``mlp_step.mlp``,
``cnn_step.lenet5`` and ``hessian.py``'s objective.  Targets are issue 15's.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# name: (description, target ratio, what the target bounds: "time" or "rss")
WORKLOADS = {
    "mlp1": ("MLP 784-256-10, batch 1", 1.25),
    "mlp8x64": ("MLP 8 layers of 64, batch 64", 1.25),
    "mlp256": ("MLP 784-256-10, batch 256", 1.0),
    "mlp4096": ("MLP 784-256-10, batch 4096", 1.0),
    "lenet64": ("LeNet-5, batch 64 of 1x28x28", 1.3),
    "hw3cnn": ("HW3 CNN step, batch 32 of 3x128x128", 1.3),
    "hessian": ("exact Hessian, 955-param MLP (torch vectorize=True)", 1.0),
    "hvp": ("one HVP, 955-param MLP", 1.0),
    "getitem": ("Dataset __getitem__ self.x[idx], tensor without grad", 1.5),
    "rand": ("10**7 float32 uniforms, same values as torch (issue 17)", 2.0),
    "randn": ("10**7 float32 normals, same values as torch (issue 17)", 2.0),
}
RSS_TARGET = {"hw3cnn": 1.5}


# ------------------------------------------------------------------------------------------------ workloads
def _mlp8x64(nn):
    layers = []
    for _ in range(8):
        layers += [nn.Linear(64, 64), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(64, 10))


def hw3_classifier(nn):
    """The course's HW3 sample model: 5 conv/BN/ReLU/pool blocks on 3x128x128, then a 3-layer head (11 classes)."""
    blocks, c = [], 3
    for out in (64, 128, 256, 512, 512):
        blocks += [nn.Conv2d(c, out, 3, 1, 1), nn.BatchNorm2d(out), nn.ReLU(), nn.MaxPool2d(2, 2, 0)]
        c = out
    return nn.Sequential(*blocks, nn.Flatten(), nn.Linear(512 * 4 * 4, 1024), nn.ReLU(),
                         nn.Linear(1024, 512), nn.ReLU(), nn.Linear(512, 11))


def _train_step(lib, build, x_shape, classes, seed=0):
    import numpy as np
    from harness import sgd_step
    rng = np.random.default_rng(seed)
    model = build(lib.nn)
    weights = [rng.uniform(-0.05, 0.05, tuple(p.shape)).astype(np.float32) for p in model.parameters()]
    x = rng.normal(size=x_shape).astype(np.float32)
    y = rng.integers(0, classes, x_shape[0]).astype(np.int64)
    return sgd_step(lib, model, weights, x, y)


def _getitem_step(lib):
    """HW1's sample Dataset: ``__getitem__`` returns ``self.x[idx], self.y[idx]``; one step = 1000 calls."""
    import numpy as np
    rng = np.random.default_rng(0)

    class COVID19Dataset(lib.utils.data.Dataset):
        def __init__(self, x, y):
            self.x, self.y = lib.from_numpy(x), lib.from_numpy(y)

        def __getitem__(self, idx):
            return self.x[idx], self.y[idx]

        def __len__(self):
            return len(self.x)

    ds = COVID19Dataset(rng.normal(size=(2000, 117)).astype(np.float32), rng.normal(size=2000).astype(np.float32))
    order = rng.permutation(2000)[:1000].tolist()

    def step():
        for i in order:
            ds[i]
    return step, 1000


def _curvature_steps(lib_name):
    import numpy as np
    from hessian import SIZES, data, flat_init
    x, y = data()
    theta0 = flat_init()
    v = np.random.default_rng(1).normal(size=theta0.size)
    if lib_name == "relulab":
        from hessian import relulab_objective
        obj = relulab_objective(x, y, theta0)
        return obj.hessian, (lambda: obj.hvp(v))
    import torch
    from hessian import torch_loss_fn
    loss = torch_loss_fn(torch, x, y)
    theta, tv = torch.tensor(theta0), torch.tensor(v)

    def hess():
        return torch.autograd.functional.hessian(loss, theta, vectorize=True)

    def hvp():
        t = theta.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(loss(t), t, create_graph=True)
        return torch.autograd.grad(g @ tv, t)
    assert SIZES
    return hess, hvp


def make_step(workload, lib_name):
    """(step, calls per step) for one library, imported here, in this process."""
    if workload in ("hessian", "hvp"):
        hess, hvp = _curvature_steps(lib_name)
        return (hess if workload == "hessian" else hvp), 1
    if lib_name == "relulab":
        import relulab as lib
    else:
        import torch as lib
    from cnn_step import lenet5
    from mlp_step import mlp
    if workload == "getitem":
        return _getitem_step(lib)
    if workload in ("rand", "randn"):
        draw = getattr(lib, workload)
        return (lambda: draw(10_000_000)), 1
    spec = {"mlp1": (mlp, (1, 784), 10), "mlp256": (mlp, (256, 784), 10), "mlp4096": (mlp, (4096, 784), 10),
            "mlp8x64": (_mlp8x64, (64, 64), 10), "lenet64": (lenet5, (64, 1, 28, 28), 10),
            "hw3cnn": (hw3_classifier, (32, 3, 128, 128), 11)}[workload]
    return _train_step(lib, *spec), 1


# Seconds of timed work per child, and the fewest timed steps.
BUDGET = {"hw3cnn": (0.0, 1), "hessian": (0.0, 1)}


def child(workload, lib_name, threads):
    """Runs in the fresh subprocess: time the step, print one JSON line."""
    import resource
    if lib_name == "torch":
        import torch
        torch.set_num_threads(threads)
    step, calls = make_step(workload, lib_name)
    budget, least = BUDGET.get(workload, (1.0, 5))
    step()                                  # warm-up (first-touch allocations, caches)
    times, start = [], time.perf_counter()
    while len(times) < least or time.perf_counter() - start < budget:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    times.sort()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"time": times[0] / calls, "median": times[len(times) // 2] / calls, "steps": len(times),
                      "rss": rss}))


def run_child(workload, lib_name, threads):
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", workload, lib_name, str(threads)],
                          env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{workload} ({lib_name}, {threads} threads) failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _fmt_time(t):
    return f"{t * 1e6:9.1f} us" if t < 1e-3 else f"{t * 1e3:9.2f} ms" if t < 1 else f"{t:9.3f} s "


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(WORKLOADS), help="comma-separated workloads: " + ",".join(WORKLOADS))
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", default=os.path.join(HERE, "results.json"))
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        workload, lib_name, threads = args.child
        return child(workload, lib_name, int(threads))
    names = [w for w in args.only.split(",") if w]
    unknown = [w for w in names if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workloads {unknown}; choose from {list(WORKLOADS)}")
    rows = []
    print(f"{'workload':54} thr {'relulab':>12} {'torch':>12}  ratio target   peak RSS rl / torch")
    for name in names:
        title, target = WORKLOADS[name]
        for threads in [int(t) for t in args.threads.split(",")]:
            best = {"relulab": None, "torch": None}
            for _ in range(args.rounds):   # alternate the libraries, keep each one's best round
                for lib_name in best:
                    r = run_child(name, lib_name, threads)
                    b = best[lib_name]
                    best[lib_name] = r if b is None else {**b, "time": min(b["time"], r["time"]),
                                                          "rss": min(b["rss"], r["rss"])}
            rl, pt = best["relulab"], best["torch"]
            ratio, rss_ratio = rl["time"] / pt["time"], rl["rss"] / pt["rss"]
            ok = ratio <= target and (name not in RSS_TARGET or rss_ratio <= RSS_TARGET[name])
            rss_note = f"  (target <= {RSS_TARGET[name]})" if name in RSS_TARGET else ""
            print(f"{title:54} {threads:3d} {_fmt_time(rl['time'])} {_fmt_time(pt['time'])} {ratio:6.2f} "
                  f"{'<=' + str(target):6} {'ok ' if ok else 'MISS'} {rl['rss'] / 2**20:7.0f} / "
                  f"{pt['rss'] / 2**20:5.0f} MiB = {rss_ratio:.2f}x{rss_note}", flush=True)
            rows.append({"workload": name, "title": title, "threads": threads, "relulab": rl, "torch": pt,
                         "ratio": ratio, "target": target, "rss_ratio": rss_ratio, "meets_target": ok})
    tmp = args.json + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"rounds": args.rounds, "rows": rows}, f, indent=1)
    os.replace(tmp, args.json)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
