"""Array updates shared by the optimizers, rounded as PyTorch's kernels round them."""


def lerp_(start, end, weight):
    """start ← start + weight·(end − start), in place, with PyTorch's two-sided formula for accuracy."""
    if weight < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)


def apply_weight_decay(param, grad, lr, weight_decay, decoupled):
    """L2 as PyTorch applies it: decoupled (AdamW-style, θ ← θ·(1 − η·λ)) in place, or coupled (g ← g + λ·θ).
    Returns the gradient to use."""
    if weight_decay == 0:
        return grad
    if decoupled:
        param *= 1 - lr * weight_decay
        return grad
    return grad + weight_decay * param


def update_moments_(exp_avg, exp_avg_sq, grad, beta1, beta2):
    """Adam's moments in place: m ← β1·m + (1 − β1)·g,  v ← β2·v + (1 − β2)·g²."""
    lerp_(exp_avg, grad, 1 - beta1)
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * grad * grad
