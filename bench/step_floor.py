"""The NumPy floor for bench/run.py's training rows: the same float32 step written by hand in bare NumPy.

MLP 784-256-10 (batch 256 and 4096) and LeNet-5 (batch 64 of 1x28x28): forward, cross-entropy, backward and the
SGD update, with no autograd and no Python objects per op.  Timed beside relulab and PyTorch in one process,
interleaved, best of several rounds.  Where the bare NumPy step is itself slower than PyTorch, a relulab target of
<= 1.0x is out of NumPy's reach: relulab can only add its graph on top.

    python bench/step_floor.py [--rounds 5]

Each case runs at 1 and 2 threads (``--threads``), as bench/run.py's rows: torch.set_num_threads for PyTorch, and
threadpoolctl's limit on NumPy's BLAS for the floor and relulab (NumPy's own loops are single-threaded either way).

The LeNet floor is a plain im2col/col2im written for clarity; relulab's own convolution is faster than it, so it
bounds nothing by itself.  A firmer bound for any NumPy convolution by im2col is the "GEMMs only" column: the step's
matrix products alone, on operands unfolded beforehand (no im2col copy, no col2im, no pooling or activations).  Where
that alone exceeds the target times PyTorch's whole step, the target is out of an im2col NumPy step's reach.
"""
import argparse
import time

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from harness import sgd_step

LR = np.float32(0.01)


def _softmax_grad(logits, y):
    """d(mean cross-entropy)/d(logits)."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(shifted)
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1
    return p / np.float32(len(y))


def mlp_step(params, x, y):
    w1, b1, w2, b2 = params
    h = x @ w1.T + b1
    mask = h > 0
    h *= mask
    g = _softmax_grad(h @ w2.T + b2, y)
    gw2, gb2 = g.T @ h, g.sum(0)
    gh = (g @ w2) * mask
    gw1, gb1 = gh.T @ x, gh.sum(0)
    for p, grad in zip(params, (gw1, gb1, gw2, gb2)):
        p -= LR * grad


def _conv(x, w, b, pad):
    """Valid cross-correlation after zero padding, by im2col: returns (output, columns)."""
    if pad:
        x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    k = w.shape[-1]
    cols = sliding_window_view(x, (k, k), axis=(2, 3))            # N, C, H', W', k, k
    n, c, ho, wo = cols.shape[:4]
    cols = cols.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * k * k)
    out = cols @ w.reshape(w.shape[0], -1).T + b
    return out.reshape(n, ho, wo, -1).transpose(0, 3, 1, 2), cols, x.shape


def _conv_backward(g, w, cols, padded_shape, pad):
    n, f, ho, wo = g.shape
    g2 = g.transpose(0, 2, 3, 1).reshape(-1, f)
    gw = (g2.T @ cols).reshape(w.shape)
    gcols = (g2 @ w.reshape(f, -1)).reshape(n, ho, wo, w.shape[1], w.shape[2], w.shape[3])
    gx = np.zeros(padded_shape, np.float32)
    k = w.shape[-1]
    for i in range(k):  # col2im: k*k strided adds
        for j in range(k):
            gx[:, :, i:i + ho, j:j + wo] += gcols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    if pad:
        gx = gx[:, :, pad:-pad, pad:-pad]
    return gx, gw, g2.sum(0)


def _pool(x):
    n, c, h, w = x.shape
    blocks = x.reshape(n, c, h // 2, 2, w // 2, 2)
    out = blocks.max(axis=(3, 5))
    mask = blocks == out[:, :, :, None, :, None]
    return out, mask


def _pool_backward(g, mask):
    return (mask * g[:, :, :, None, :, None]).reshape(mask.shape[0], mask.shape[1], mask.shape[2] * 2, -1)


def lenet_step(params, x, y):
    c1w, c1b, c2w, c2b, f1w, f1b, f2w, f2b, f3w, f3b = params
    a1, cols1, shape1 = _conv(x, c1w, c1b, 2)
    r1 = a1 > 0
    p1, m1 = _pool(a1 * r1)
    a2, cols2, shape2 = _conv(p1, c2w, c2b, 0)
    r2 = a2 > 0
    p2, m2 = _pool(a2 * r2)
    flat = p2.reshape(len(x), -1)
    h1 = flat @ f1w.T + f1b
    s1 = h1 > 0
    h1 *= s1
    h2 = h1 @ f2w.T + f2b
    s2 = h2 > 0
    h2 *= s2
    g = _softmax_grad(h2 @ f3w.T + f3b, y)
    grads = [None] * 10
    grads[8], grads[9] = g.T @ h2, g.sum(0)
    g = (g @ f3w) * s2
    grads[6], grads[7] = g.T @ h1, g.sum(0)
    g = (g @ f2w) * s1
    grads[4], grads[5] = g.T @ flat, g.sum(0)
    g = (g @ f1w).reshape(p2.shape)
    g = _pool_backward(g, m2) * r2
    g, grads[2], grads[3] = _conv_backward(g, c2w, cols2, shape2, 0)
    g = _pool_backward(g, m1) * r1
    _, grads[0], grads[1] = _conv_backward(g, c1w, cols1, shape1, 2)
    for p, grad in zip(params, grads):
        p -= LR * grad


def lenet_gemm_operands(params, x):
    """The operands of every matrix product in one LeNet-5 step, built once: (a, b) pairs for ``a @ b``."""
    c1w, _, c2w, _, f1w, _, f2w, _, f3w, _ = params
    n = len(x)
    rng = np.random.default_rng(1)

    def rand(*shape):
        return rng.normal(size=shape).astype(np.float32)

    pairs = []
    for w, positions in ((c1w, 28 * 28), (c2w, 10 * 10)):
        f, k = w.shape[0], w[0].size
        cols = rand(n * positions, k)                        # unfolded input, (N·L, C·kh·kw)
        g = rand(n * positions, f)                           # output gradient, (N·L, F)
        pairs += [(cols, w.reshape(f, -1).T.copy()),          # forward
                  (g.T.copy(), cols)]                        # weight gradient
        if w is c2w:                                         # conv1's input needs no gradient
            pairs.append((g, w.reshape(f, -1).copy()))       # input gradient (columns, before col2im)
    for w in (f1w, f2w, f3w):
        out_features, in_features = w.shape
        h, g = rand(n, in_features), rand(n, out_features)
        pairs += [(h, w.T.copy()), (g.T.copy(), h), (g, w)]
    return pairs


def lenet_gemms(pairs):
    for a, b in pairs:
        a @ b


def _best(fn, repeats, rounds):
    return min(min(_timed(fn) for _ in range(repeats)) for _ in range(rounds))


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    args = parser.parse_args(argv)
    import torch
    from threadpoolctl import threadpool_limits

    import relulab
    from cnn_step import lenet5
    from mlp_step import mlp
    cases = [("MLP 784-256-10, batch 256", mlp, (256, 784), mlp_step, 50),
             ("MLP 784-256-10, batch 4096", mlp, (4096, 784), mlp_step, 10),
             ("LeNet-5, batch 64 of 1x28x28", lenet5, (64, 1, 28, 28), lenet_step, 20)]
    print(f"{'float32 train step':32}{'threads':>8}{'NumPy floor':>12}{'GEMMs only':>12}{'relulab':>10}{'torch':>10}"
          f"{'floor/torch':>13}{'GEMMs/torch':>13}{'relulab/torch':>15}")
    for threads in (int(t) for t in args.threads.split(",")):
        torch.set_num_threads(threads)
        with threadpool_limits(limits=threads, user_api="blas"):
            for title, build, shape, bare, repeats in cases:
                _floor_row(title, build, shape, bare, repeats, threads, args.rounds, relulab, torch)


def _floor_row(title, build, shape, bare, repeats, threads, rounds, relulab, torch):
    from cnn_step import lenet5
    rng = np.random.default_rng(0)
    weights = [rng.uniform(-0.05, 0.05, tuple(p.shape)).astype(np.float32) for p in build(relulab.nn).parameters()]
    x = rng.normal(size=shape).astype(np.float32)
    y = rng.integers(0, 10, shape[0]).astype(np.int64)
    params = [w.copy() for w in weights]
    steps = {"floor": lambda: bare(params, x, y),
             "relulab": sgd_step(relulab, build(relulab.nn), weights, x, y),
             "torch": sgd_step(torch, build(torch.nn), weights, x, y)}
    if build is lenet5:
        pairs = lenet_gemm_operands(params, x)
        steps["gemms"] = lambda: lenet_gemms(pairs)
    best = {name: float("inf") for name in steps}
    for _ in range(rounds):  # interleaved
        for name, step in steps.items():
            best[name] = min(best[name], _best(step, repeats, 1))
    gemms = best.get("gemms")
    gemm_cells = (f"{gemms * 1e3:>10.2f}ms", f"{gemms / best['torch']:>12.2f}x") if gemms else (f"{'-':>12}", f"{'-':>13}")
    print(f"{title:32}{threads:>8}{best['floor'] * 1e3:>10.2f}ms{gemm_cells[0]}{best['relulab'] * 1e3:>8.2f}ms"
          f"{best['torch'] * 1e3:>8.2f}ms{best['floor'] / best['torch']:>12.2f}x{gemm_cells[1]}"
          f"{best['relulab'] / best['torch']:>14.2f}x")

if __name__ == "__main__":
    main()
