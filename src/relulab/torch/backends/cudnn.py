"""``torch.backends.cudnn``: flags a script sets for reproducibility (``deterministic = True``,
``benchmark = False``).  cuDNN is not available; relulab's CPU kernels are deterministic either way."""
enabled = True
deterministic = False
benchmark = False
allow_tf32 = True


def is_available():
    return False


def version():
    return None
