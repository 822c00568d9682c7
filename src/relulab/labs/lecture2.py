"""Lecture 2, "how to train well": the training guide and batch size (lecture2_guide), critical points and the
minimum ratio (lecture2_critical), then momentum, adaptive learning rates and classification (lecture2_optim)."""
from .lecture2_critical import EXPERIMENTS as CRITICAL
from .lecture2_guide import EXPERIMENTS as GUIDE
from .lecture2_optim import EXPERIMENTS as OPTIM

EXPERIMENTS = GUIDE + CRITICAL + OPTIM
