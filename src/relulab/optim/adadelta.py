"""Adadelta: RMSProp whose step size is itself a running RMS of past updates, so no learning rate is needed."""
import numpy as np

from .optimizer import Optimizer, advance_step, check_lr, check_non_negative, zeros_state


class Adadelta(Optimizer):
    r"""Zeiler (2012).  The lecture's RMSProp σ in the denominator, and in the numerator the RMS of the past
    updates Δθ, which gives each step the units of θ:

        v_t  = ρ·v_{t−1} + (1 − ρ)·g_t²                       (RMSProp's σ², "square_avg")
        Δ_t  = sqrt(u_{t−1} + eps) / sqrt(v_t + eps) · g_t
        u_t  = ρ·u_{t−1} + (1 − ρ)·Δ_t²                       (running mean of squared updates, "acc_delta")
        θ_t  = θ_{t−1} − lr · Δ_t

    PyTorch's defaults: lr = 1, ρ = 0.9, eps = 1e-6; ``weight_decay`` adds wd·θ to g first.
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False):
        check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        check_non_negative("eps", eps, "epsilon")
        check_non_negative("weight_decay", weight_decay)
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                                      capturable=capturable, foreach=foreach, differentiable=differentiable))

    def _update(self, param, grad, state, group):
        if "square_avg" not in state:
            state["square_avg"] = zeros_state(param)
            state["acc_delta"] = zeros_state(param)
        advance_step(state)
        rho, eps = group["rho"], group["eps"]
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        square_avg, acc_delta = state["square_avg"]._data, state["acc_delta"]._data
        square_avg *= rho
        square_avg += (1 - rho) * grad * grad
        delta = np.sqrt(acc_delta + eps) / np.sqrt(square_avg + eps) * grad
        acc_delta *= rho
        acc_delta += (1 - rho) * delta * delta
        param -= group["lr"] * delta
