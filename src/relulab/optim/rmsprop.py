"""RMSProp: Adagrad's σ as an exponential moving average, so recent gradients count more (lecture 2)."""
import numpy as np

from ..autograd.tensor import Tensor
from ._math import lerp_
from .optimizer import Optimizer, advance_step, check_lr, check_non_negative


class RMSprop(Optimizer):
    r"""θ_i ← θ_i − (η / σ_i^t)·g_i  with  σ_i^t = sqrt(α·(σ_i^{t−1})² + (1 − α)·(g_i^t)²)  (lecture 2).

    A small α lets σ react fast to the current slope: steps shrink as soon as the surface steepens.
    PyTorch's defaults and details: α = 0.99, and eps is added *after* the square root:

        v_t = α·v_{t−1} + (1 − α)·g_t²,    θ ← θ − lr · g_t / (sqrt(v_t) + eps)

    ``centered`` divides by the variance estimate sqrt(v_t − ḡ_t²) instead; ``momentum`` μ keeps a buffer
    b_t = μ·b_{t−1} + g_t / (sqrt(v_t) + eps) and steps θ ← θ − lr·b_t; ``weight_decay`` adds wd·θ to g.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        check_lr(lr)
        check_non_negative("eps", eps, "epsilon")
        check_non_negative("momentum", momentum)
        check_non_negative("weight_decay", weight_decay)
        check_non_negative("alpha", alpha)
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                                      weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable))

    def _update(self, param, grad, state, group):
        if "square_avg" not in state:
            state["square_avg"] = Tensor._make(np.zeros_like(param))
            if group["momentum"] > 0:
                state["momentum_buffer"] = Tensor._make(np.zeros_like(param))
            if group["centered"]:
                state["grad_avg"] = Tensor._make(np.zeros_like(param))
        advance_step(state)
        alpha, lr = group["alpha"], group["lr"]
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        square_avg = state["square_avg"]._data
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = state["grad_avg"]._data
            lerp_(grad_avg, grad, 1 - alpha)
            avg = np.sqrt(square_avg - grad_avg * grad_avg)
        else:
            avg = np.sqrt(square_avg)
        avg += group["eps"]
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]._data
            buf *= group["momentum"]
            buf += grad / avg
            param -= lr * buf
        else:
            param -= lr * grad / avg
