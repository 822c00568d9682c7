"""``torch.cuda`` on a machine without CUDA: nothing is available, and seeding leaves the CPU generator alone, as
in PyTorch (which only queues the seed for a CUDA that never starts), so a script's CPU draws stay PyTorch's."""
from .. import random as _random
from ..autograd.tensor_meta import check_cpu
from ._missing import missing_in


def is_available():
    return False


def device_count():
    return 0


def is_initialized():
    return False


_queued_seed = [None]  # what torch.cuda.initial_seed() would report once CUDA started


def manual_seed(seed):
    _queued_seed[0] = int(seed) % (1 << 64)


manual_seed_all = manual_seed


def seed():
    _queued_seed[0] = _random.Generator().seed()


seed_all = seed


def initial_seed():
    """The queued seed; like PyTorch without CUDA, there is no CUDA generator to ask otherwise."""
    if _queued_seed[0] is None:
        raise RuntimeError("torch.cuda.initial_seed: CUDA is not available on this machine (relulab runs on the CPU)")
    return _queued_seed[0]


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
