"""Adam and AdamW: RMSProp plus momentum, with bias correction (lecture 2)."""
import numpy as np

from ..autograd.tensor import Tensor
from ._math import apply_weight_decay, update_moments_
from .optimizer import Optimizer, advance_step, check_betas, check_lr, check_non_negative


class Adam(Optimizer):
    r"""RMSProp + momentum:  θ ← θ − η · m̂_t / (sqrt(v̂_t) + eps)  (lecture 2: "Adam = RMSProp + Momentum").

        m_t = β₁·m_{t−1} + (1 − β₁)·g_t          (momentum: the direction, an average of past gradients)
        v_t = β₂·v_{t−1} + (1 − β₂)·g_t²         (RMSProp's σ², the size)
        m̂_t = m_t / (1 − β₁ᵗ),  v̂_t = v_t / (1 − β₂ᵗ)   (bias correction: both start at 0)

    ``amsgrad`` divides by the running maximum of v_t instead; ``weight_decay`` adds wd·θ to g (L2 penalty).
    """

    decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=None):
        check_lr(lr)
        check_non_negative("eps", eps, "epsilon")
        check_betas(betas)
        check_non_negative("weight_decay", weight_decay)
        if decoupled_weight_decay is None:
            decoupled_weight_decay = self.decoupled
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable, fused=fused,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _update(self, param, grad, state, group):
        if "exp_avg" not in state:
            state["exp_avg"] = Tensor._make(np.zeros_like(param))
            state["exp_avg_sq"] = Tensor._make(np.zeros_like(param))
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = Tensor._make(np.zeros_like(param))
        step = advance_step(state)
        lr, (beta1, beta2), wd = group["lr"], group["betas"], group["weight_decay"]
        grad = apply_weight_decay(param, grad, lr, wd, group["decoupled_weight_decay"])
        exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
        update_moments_(exp_avg, exp_avg_sq, grad, beta1, beta2)
        step_size = lr / (1 - beta1 ** step)
        bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
        if group["amsgrad"]:
            peak = state["max_exp_avg_sq"]._data
            np.maximum(peak, exp_avg_sq, out=peak)
            denom = np.sqrt(peak) / bias_correction2_sqrt + group["eps"]
        else:
            denom = np.sqrt(exp_avg_sq) / bias_correction2_sqrt + group["eps"]
        param -= step_size * exp_avg / denom


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter):  θ ← θ·(1 − η·wd)  before the Adam step,
    instead of adding wd·θ to the gradient.  Default ``weight_decay=1e-2``, as in PyTorch.
    """

    decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
