"""Lecture 2, "how to train well": the training guide (lecture2_guide), overfitting's remedies (lecture2_remedies),
model selection (lecture2_selection), critical points and the minimum ratio (lecture2_critical), batch and epoch
(lecture2_batch), then momentum (lecture2_momentum), adaptive learning rates and warmup (lecture2_adaptive), and
classification (lecture2_classify)."""
from .lecture2_batch import EXPERIMENTS as BATCH
from .lecture2_critical import EXPERIMENTS as CRITICAL
from .lecture2_guide import EXPERIMENTS as GUIDE
from .lecture2_remedies import EXPERIMENTS as REMEDIES
from .lecture2_selection import EXPERIMENTS as SELECTION
from .lecture2_adaptive import EXPERIMENTS as ADAPTIVE
from .lecture2_classify import EXPERIMENTS as CLASSIFY
from .lecture2_momentum import EXPERIMENTS as MOMENTUM

EXPERIMENTS = GUIDE + REMEDIES + SELECTION + CRITICAL + BATCH + MOMENTUM + ADAPTIVE + CLASSIFY
