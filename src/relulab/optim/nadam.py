"""NAdam: Adam with Nesterov momentum (Dozat 2016), with the momentum schedule μ_t."""
import numpy as np

from ..autograd.tensor import Tensor
from ._math import apply_weight_decay, update_moments_
from .optimizer import Optimizer, advance_step, check_betas, check_lr, check_non_negative, zeros_state


class NAdam(Optimizer):
    r"""Adam whose step looks ahead along the momentum (Nesterov), with a warming momentum coefficient:

        μ_t = β₁·(1 − ½·0.96^(t·ψ)),   ψ = momentum_decay,   Π_t = μ_1···μ_t
        m_t = β₁·m_{t−1} + (1 − β₁)·g_t,    v_t = β₂·v_{t−1} + (1 − β₂)·g_t²,    v̂_t = v_t / (1 − β₂ᵗ)
        θ_t = θ_{t−1} − lr·(1 − μ_t)/(1 − Π_t) · g_t / (sqrt(v̂_t) + eps)
                      − lr·μ_{t+1}/(1 − Π_t·μ_{t+1}) · m_t / (sqrt(v̂_t) + eps)

    PyTorch's defaults: lr = 2e-3, betas = (0.9, 0.999), eps = 1e-8, momentum_decay = 4e-3.  ``weight_decay``
    adds wd·θ to g, or with ``decoupled_weight_decay`` multiplies θ by (1 − lr·wd) first (NAdamW).
    Π_t is kept as a float32 scalar, as PyTorch keeps it.
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        check_lr(lr)
        check_non_negative("eps", eps, "epsilon")
        check_betas(betas)
        check_non_negative("weight_decay", weight_decay)
        check_non_negative("momentum_decay", momentum_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable))

    def _update(self, param, grad, state, group):
        if "exp_avg" not in state:
            state["mu_product"] = Tensor._make(np.ones((), dtype=np.float32))
            state["exp_avg"] = zeros_state(param)
            state["exp_avg_sq"] = zeros_state(param)
        step = advance_step(state)
        lr, (beta1, beta2), wd, psi = group["lr"], group["betas"], group["weight_decay"], group["momentum_decay"]
        bias_correction2 = 1 - beta2 ** step
        grad = apply_weight_decay(param, grad, lr, wd, group["decoupled_weight_decay"])
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * psi))
        product = state["mu_product"]._data
        product *= mu
        mu_product = float(product)
        exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
        update_moments_(exp_avg, exp_avg_sq, grad, beta1, beta2)
        denom = np.sqrt(exp_avg_sq / bias_correction2) + group["eps"]
        param += (-lr * (1.0 - mu) / (1.0 - mu_product)) * (grad / denom)
        param += (-lr * mu_next / (1.0 - mu_product * mu_next)) * (exp_avg / denom)
