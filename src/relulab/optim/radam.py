"""RAdam: Adam with the variance of its adaptive learning rate rectified during the first steps (Liu et al.
2020), a built-in warmup."""
import math

import numpy as np

from ._math import apply_weight_decay, update_moments_
from .optimizer import Optimizer, advance_step, check_betas, check_lr, check_non_negative, zeros_state


class RAdam(Optimizer):
    r"""Early on, v_t rests on few gradients and η/sqrt(v̂_t) varies wildly (the lecture's reason for warmup);
    RAdam takes plain momentum steps until the estimate is trustworthy, then rectified Adam steps:

        m̂_t = m_t / (1 − β₁ᵗ),   ρ_∞ = 2/(1 − β₂) − 1,   ρ_t = ρ_∞ − 2t·β₂ᵗ/(1 − β₂ᵗ)
        ρ_t > 5:  r_t = sqrt((ρ_t − 4)(ρ_t − 2)ρ_∞ / ((ρ_∞ − 4)(ρ_∞ − 2)ρ_t)),
                  θ_t = θ_{t−1} − lr · m̂_t · r_t · sqrt(1 − β₂ᵗ) / (sqrt(v_t) + eps)
        else:     θ_t = θ_{t−1} − lr · m̂_t

    m_t, v_t as in Adam.  PyTorch's defaults: lr = 1e-3, betas = (0.9, 0.999), eps = 1e-8; ``weight_decay`` adds
    wd·θ to g, or with ``decoupled_weight_decay`` multiplies θ by (1 − lr·wd) first.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False,
                 *, foreach=None, maximize=False, capturable=False, differentiable=False):
        check_lr(lr)
        check_non_negative("eps", eps, "epsilon")
        check_betas(betas)
        check_non_negative("weight_decay", weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                                      foreach=foreach, capturable=capturable, differentiable=differentiable))

    def _update(self, param, grad, state, group):
        if "exp_avg" not in state:
            state["exp_avg"] = zeros_state(param)
            state["exp_avg_sq"] = zeros_state(param)
        step = advance_step(state)
        lr, (beta1, beta2), wd = group["lr"], group["betas"], group["weight_decay"]
        grad = apply_weight_decay(param, grad, lr, wd, group["decoupled_weight_decay"])
        exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
        update_moments_(exp_avg, exp_avg_sq, grad, beta1, beta2)
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        corrected = exp_avg / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * beta2 ** step / bias_correction2
        if rho_t > 5.0:
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            adaptive = bias_correction2 ** 0.5 / (np.sqrt(exp_avg_sq) + group["eps"])
            param -= corrected * lr * adaptive * rect
        else:
            param -= corrected * lr
