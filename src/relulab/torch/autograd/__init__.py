"""``torch.autograd``: ``grad``, ``backward``, grad modes and ``functional`` (jacobian, hessian, hvp ...)."""
from ...autograd import backward, functional, grad  # noqa: F401
from ...autograd.grad_mode import enable_grad, inference_mode, no_grad, set_grad_enabled  # noqa: F401
from .._missing import missing_in


def Variable(data, requires_grad=False, volatile=False):
    """The pre-0.4 wrapper: today a Variable is a tensor, so this returns ``data`` with ``requires_grad`` set."""
    return data.requires_grad_(requires_grad) if requires_grad else data


__getattr__ = missing_in("torch.autograd")
