"""Adagrad: a learning rate per parameter, divided by the root of the sum of its squared gradients (lecture 2)."""
import numpy as np

from ..autograd.tensor import Tensor
from .optimizer import Optimizer, advance_step, check_lr, check_non_negative


class Adagrad(Optimizer):
    r"""θ_i ← θ_i − (η / σ_i)·g_i  with  σ_i = sqrt(Σ_{s≤t} g_{i,s}²)  (the lecture's root-mean-square form).

    The lecture's σ is the RMS, sqrt(1/(t+1) Σ g²); the 1/(t+1) folds into η/sqrt(t+1), so steps shrink like
    1/sqrt(t) on steep parameters and stay large on flat ones.  PyTorch (and this class) use the plain sum:

        sum_t = sum_{t−1} + g_t²,    θ ← θ − η_t · g_t / (sqrt(sum_t) + eps),    η_t = lr / (1 + (t − 1)·lr_decay)

    ``initial_accumulator_value`` starts the sum; ``weight_decay`` adds wd·θ to g first.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        check_lr(lr)
        check_non_negative("lr_decay", lr_decay)
        check_non_negative("weight_decay", weight_decay)
        check_non_negative("initial_accumulator_value", initial_accumulator_value)
        check_non_negative("eps", eps, "epsilon")
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, fused=fused))
        for group in self.param_groups:  # PyTorch creates the state up front
            for p in group["params"]:
                self.state[p]["step"] = Tensor._make(np.zeros((), dtype=np.float32))
                self.state[p]["sum"] = Tensor._make(np.full_like(p._data, group["initial_accumulator_value"]))

    def _update(self, param, grad, state, group):
        step = advance_step(state)
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
        total = state["sum"]._data
        total += grad * grad
        std = np.sqrt(total) + group["eps"]
        param -= clr * grad / std  # (lr·g)/std, rounded as PyTorch's addcdiv
