"""Lecture 2, "how to train well": the training guide and batch size (lecture2_guide), critical points and the
minimum ratio (lecture2_critical), then momentum (lecture2_momentum), adaptive learning rates and warmup
(lecture2_adaptive), and classification (lecture2_classify)."""
from .lecture2_critical import EXPERIMENTS as CRITICAL
from .lecture2_guide import EXPERIMENTS as GUIDE
from .lecture2_adaptive import EXPERIMENTS as ADAPTIVE
from .lecture2_classify import EXPERIMENTS as CLASSIFY
from .lecture2_momentum import EXPERIMENTS as MOMENTUM

EXPERIMENTS = GUIDE + CRITICAL + MOMENTUM + ADAPTIVE + CLASSIFY
