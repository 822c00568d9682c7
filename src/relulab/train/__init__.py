"""``relulab.train``: the shared training loop, run directories and config-driven runs."""
from .config import ConfigError, load_config, resolve
from .loop import Callback, EarlyStopping, TrainState, evaluate, fit
from .run import RunDirectory
from .session import cross_validate, evaluate_run, predict, resume, train

__all__ = ["Callback", "ConfigError", "EarlyStopping", "RunDirectory", "TrainState", "cross_validate", "evaluate",
           "evaluate_run", "fit", "load_config", "predict", "resolve", "resume", "train"]
