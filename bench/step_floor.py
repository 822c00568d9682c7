"""The NumPy floor for bench/run.py's training rows: the same float32 step written by hand in bare NumPy.

MLP 784-256-10 (batch 256 and 4096) and LeNet-5 (batch 64 of 1x28x28): forward, cross-entropy, backward and the
SGD update, with no autograd and no Python objects per op.  Timed beside relulab and PyTorch in one process,
interleaved, best of several rounds.  Where the bare NumPy step is itself slower than PyTorch, a relulab target of
<= 1.0x is out of NumPy's reach: relulab can only add its graph on top.

    python bench/step_floor.py [--rounds 5]

Everything runs on one thread (NumPy's BLAS too), as bench/run.py's 1-thread rows.  The LeNet floor is a plain
im2col/col2im written for clarity; relulab's own convolution is faster than it, so for LeNet it bounds nothing.
"""
import argparse
import os
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # before NumPy loads its BLAS
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from numpy.lib.stride_tricks import sliding_window_view  # noqa: E402

from harness import sgd_step  # noqa: E402

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


def _best(fn, repeats, rounds):
    return min(min(_timed(fn) for _ in range(repeats)) for _ in range(rounds))


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    import torch

    import relulab
    from cnn_step import lenet5
    from mlp_step import mlp
    torch.set_num_threads(1)
    cases = [("MLP 784-256-10, batch 256", mlp, (256, 784), mlp_step, 50),
             ("MLP 784-256-10, batch 4096", mlp, (4096, 784), mlp_step, 10),
             ("LeNet-5, batch 64 of 1x28x28", lenet5, (64, 1, 28, 28), lenet_step, 20)]
    print(f"{'float32 train step (1 thread)':32}{'NumPy floor':>12}{'relulab':>10}{'torch':>10}"
          f"{'floor/torch':>13}{'relulab/torch':>15}")
    for title, build, shape, bare, repeats in cases:
        rng = np.random.default_rng(0)
        weights = [rng.uniform(-0.05, 0.05, tuple(p.shape)).astype(np.float32) for p in build(relulab.nn).parameters()]
        x = rng.normal(size=shape).astype(np.float32)
        y = rng.integers(0, 10, shape[0]).astype(np.int64)
        params = [w.copy() for w in weights]
        steps = {"floor": lambda: bare(params, x, y),
                 "relulab": sgd_step(relulab, build(relulab.nn), weights, x, y),
                 "torch": sgd_step(torch, build(torch.nn), weights, x, y)}
        best = {name: float("inf") for name in steps}
        for _ in range(args.rounds):  # interleaved
            for name, step in steps.items():
                best[name] = min(best[name], _best(step, repeats, 1))
        print(f"{title:32}{best['floor'] * 1e3:>10.2f}ms{best['relulab'] * 1e3:>8.2f}ms{best['torch'] * 1e3:>8.2f}ms"
              f"{best['floor'] / best['torch']:>12.2f}x{best['relulab'] / best['torch']:>14.2f}x")


if __name__ == "__main__":
    main()
