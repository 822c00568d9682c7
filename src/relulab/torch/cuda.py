"""``torch.cuda`` on a machine without CUDA: nothing is available, and seeding seeds the CPU generator, so a
script's ``same_seed()`` (``torch.cuda.manual_seed_all(seed)``) still makes its run reproducible."""
from .. import random as _random
from ..autograd.tensor_meta import check_cpu
from ._missing import missing_in


def is_available():
    return False


def device_count():
    return 0


def is_initialized():
    return False


def manual_seed(seed):
    _random.manual_seed(seed)


manual_seed_all = manual_seed


def seed():
    _random.seed()


seed_all = seed


def initial_seed():
    return _random.initial_seed()


def empty_cache():
    """Nothing is cached on a device that is not there."""


def synchronize(device=None):
    """CPU work is synchronous."""


def memory_allocated(device=None):
    return 0


max_memory_allocated = memory_reserved = max_memory_reserved = memory_allocated


def current_device():
    check_cpu("torch.cuda.current_device", "cuda")


def set_device(device):
    check_cpu("torch.cuda.set_device", "cuda" if isinstance(device, int) else device)


def get_device_name(device=None):
    check_cpu("torch.cuda.get_device_name", "cuda")


__getattr__ = missing_in("torch.cuda")
