"""``torch.accelerator``: there is none, so scripts that ask fall back to ``torch.device("cpu")``."""
from ._missing import missing_in


def is_available():
    return False


def current_accelerator(check_available=False):
    return None


def device_count():
    return 0


__getattr__ = missing_in("torch.accelerator")
