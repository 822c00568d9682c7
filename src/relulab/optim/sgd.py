"""Stochastic gradient descent, with momentum (lecture 2)."""
from ..autograd.tensor import Tensor
from .optimizer import Optimizer, check_lr, check_non_negative, required


class SGD(Optimizer):
    r"""Gradient descent:  θ ← θ − η·g  (lecture 1), with optional momentum, weight decay and Nesterov.

    The lecture's momentum keeps a *movement*  m_t = λ·m_{t−1} − η·g_t  and steps  θ_{t+1} = θ_t + m_t,
    so past gradients keep pushing the parameters across plateaus and out of saddle points.

    PyTorch, and so this class, keeps a velocity without the learning rate:  v_t = μ·v_{t−1} + (1 − dampening)·g_t
    (v_1 = g_1),  θ_{t+1} = θ_t − lr·v_t.  With a constant lr the two agree (m_t = −lr·v_t, λ = μ, no dampening);
    once a scheduler changes lr they differ, because PyTorch rescales the whole history by the new lr.

    ``weight_decay`` adds wd·θ to g; ``nesterov`` steps along g + μ·v_t; ``maximize`` ascends.
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        if lr is not required:
            check_lr(lr)
        check_non_negative("momentum", momentum)
        check_non_negative("weight_decay", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(f"Nesterov momentum requires a momentum and zero dampening "
                             f"(got momentum={momentum}, dampening={dampening})")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize, foreach=foreach,
                                      differentiable=differentiable, fused=fused))

    def _update(self, param, grad, state, group):
        lr, momentum, wd = group["lr"], group["momentum"], group["weight_decay"]
        if wd != 0:
            grad = grad + wd * param
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = Tensor._make(grad.copy())
            else:
                buf._data *= momentum
                buf._data += (1 - group["dampening"]) * grad
            grad = grad + momentum * buf._data if group["nesterov"] else buf._data
        param -= lr * grad
