"""``torch.optim.lr_scheduler``: relulab's schedulers, stepping as PyTorch's."""
from ...optim import lr_scheduler as _sched
from .._missing import missing_in, reexport

reexport(globals(), _sched, skip=("math", "warnings", "bisect_right", "Counter", "Optimizer", "warmup_cosine",
                                  "noam"))

__getattr__ = missing_in("torch.optim.lr_scheduler")
