"""Lecture 2, "how to train well": the training guide, critical points and batch size (lecture2_guide), then
momentum, adaptive learning rates and classification (lecture2_optim)."""
from .lecture2_guide import EXPERIMENTS as GUIDE
from .lecture2_optim import EXPERIMENTS as OPTIM

EXPERIMENTS = GUIDE + OPTIM
