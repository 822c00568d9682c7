"""The student's open questions (疑问) from the lecture notes, each answered by its own experiment, in the notes'
order of the GUIDE's list (Q1 … Q12).

Every Result's ``method`` opens with the question as written in the notes (Chinese) and an English rendering,
then says what was run; the claim is the answer, and the verdict says whether the numbers support it.  Where a
question asks about something a lecture experiment already measures, the answer here measures the question's own
point and names the lecture experiment (lab and key) instead of re-running it.
"""
from .questions_classify import EXPERIMENTS as CLASSIFY
from .questions_models import EXPERIMENTS as MODELS
from .questions_optim import EXPERIMENTS as OPTIM

ORDER = ["negative_loss", "per_parameter_lr", "what_is_hard_sigmoid", "why_depth", "elasticity_bias", "read_contours",
         "parallel_batches", "explosion_fix", "output_vector", "softmax2_training", "ce_vs_mse_network",
         "new_class_shift"]

_BY_KEY = {e.key: e for e in MODELS + OPTIM + CLASSIFY}
EXPERIMENTS = [_BY_KEY[key] for key in ORDER]
