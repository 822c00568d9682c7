"""Array updates shared by the optimizers, rounded as PyTorch's kernels round them."""


def lerp_(start, end, weight):
    """start ← start + weight·(end − start), in place, with PyTorch's two-sided formula for accuracy."""
    if weight < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)
