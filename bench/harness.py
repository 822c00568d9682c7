"""Shared by the bench scripts: one training step written once for relulab and PyTorch, and fair timing."""
import statistics
import time


def sgd_step(lib, model, weights, x, y, lr=0.01):
    """A step for ``lib`` = relulab or torch (same API, so only the module differs): forward, cross-entropy,
    backward, and a plain SGD update p ← p − lr·g.  ``weights`` (NumPy arrays) are loaded into ``model``."""
    with lib.no_grad():
        for p, value in zip(model.parameters(), weights):
            p.copy_(lib.from_numpy(value))
    params = list(model.parameters())
    loss_fn = lib.nn.CrossEntropyLoss()
    xt, yt = lib.from_numpy(x), lib.from_numpy(y)

    def step():
        for p in params:
            p.grad = None
        loss = loss_fn(model(xt), yt)
        loss.backward()
        with lib.no_grad():
            for p in params:
                p -= lr * p.grad
        return loss.item()
    return step


def median_time(step, repeats, warmup):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def compare(title, relulab_step, torch_step, repeats, warmup, rounds, target):
    """Interleave the two libraries ``rounds`` times (machine-load drift hits both alike), keep each one's best
    median, and print the ratio relulab / PyTorch."""
    print(f"first-step loss: relulab {relulab_step():.6f}  torch {torch_step():.6f}")
    rl_times, pt_times = [], []
    for _ in range(rounds):
        rl_times.append(median_time(relulab_step, repeats, warmup))
        pt_times.append(median_time(torch_step, repeats, warmup))
    rl_t, pt_t = min(rl_times), min(pt_times)
    print(f"{title} (median of {repeats}, best of {rounds} rounds)")
    print(f"  relulab  {rl_t * 1e3:8.3f} ms")
    print(f"  torch    {pt_t * 1e3:8.3f} ms")
    print(f"  ratio relulab/torch = {rl_t / pt_t:.2f}x  (target <= {target}x)")
    return rl_t / pt_t
