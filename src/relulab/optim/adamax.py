"""Adamax: Adam with the infinity norm in place of the RMS (Kingma & Ba 2015, section 7)."""
import numpy as np

from ._math import lerp_
from .optimizer import Optimizer, advance_step, check_betas, check_lr, check_non_negative, zeros_state


class Adamax(Optimizer):
    r"""Adam's momentum over a running *maximum* of |g| instead of the RMSProp σ:

        m_t = β₁·m_{t−1} + (1 − β₁)·g_t
        u_t = max(β₂·u_{t−1}, |g_t| + eps)
        θ_t = θ_{t−1} − lr / (1 − β₁ᵗ) · m_t / u_t

    PyTorch's defaults: lr = 2e-3, betas = (0.9, 0.999), eps = 1e-8; ``weight_decay`` adds wd·θ to g.
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        check_lr(lr)
        check_non_negative("eps", eps, "epsilon")
        check_betas(betas)
        check_non_negative("weight_decay", weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      foreach=foreach, maximize=maximize, differentiable=differentiable,
                                      capturable=capturable))

    def _update(self, param, grad, state, group):
        if "exp_avg" not in state:
            state["exp_avg"] = zeros_state(param)
            state["exp_inf"] = zeros_state(param)
        step = advance_step(state)
        (beta1, beta2), eps = group["betas"], group["eps"]
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        exp_avg, exp_inf = state["exp_avg"]._data, state["exp_inf"]._data
        lerp_(exp_avg, grad, 1 - beta1)
        exp_inf *= beta2
        np.maximum(exp_inf, np.abs(grad) + eps, out=exp_inf)
        clr = group["lr"] / (1 - beta1 ** step)
        param += -clr * (exp_avg / exp_inf)
