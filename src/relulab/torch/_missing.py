"""Naming what relulab lacks: "relulab does not implement torch.fft (hw.py:42)".

Facade modules end with ``__getattr__ = missing_in("torch.nn")``: a name they do not carry raises
``MissingAPI`` (an AttributeError, so ``hasattr`` still answers False) naming the PyTorch API and the line of the
script that asked for it.  The import hook raises ``MissingModule`` for submodules relulab has no counterpart of.
"""
import os
import sys

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # src/relulab


class MissingAPIError(Exception):
    """Mixed into the errors that say a PyTorch API is not implemented; ``api`` names it."""

    api = None


class MissingAPI(MissingAPIError, AttributeError):
    pass


class MissingModule(MissingAPIError, ModuleNotFoundError):
    pass


def _is_internal(filename):
    return (filename.startswith("<frozen") or os.path.abspath(filename).startswith(_PACKAGE_DIR + os.sep)
            or os.path.basename(filename) in ("runpy.py", "importlib"))


def script_location(frame=None, tb=None):
    """``file.py:42`` of the innermost frame outside relulab and importlib: the user's line."""
    where = None
    if tb is not None:
        while tb is not None:
            if not _is_internal(tb.tb_frame.f_code.co_filename):
                where = f"{os.path.basename(tb.tb_frame.f_code.co_filename)}:{tb.tb_lineno}"
            tb = tb.tb_next
        return where
    frame = frame or sys._getframe(1)
    while frame is not None and _is_internal(frame.f_code.co_filename):
        frame = frame.f_back
    if frame is None:
        return None
    return f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"


def message(api, where):
    return f"relulab does not implement {api}" + (f" ({where})" if where else "")


def missing(api, kind=MissingAPI, frame=None):
    err = kind(message(api, script_location(frame or sys._getframe(2))))
    err.api = api
    return err


def missing_in(prefix):
    """A module ``__getattr__`` that reports ``prefix.name`` as not implemented."""
    def __getattr__(name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(f"module {prefix!r} has no attribute {name!r}")
        raise missing(f"{prefix}.{name}", frame=sys._getframe(1))
    return __getattr__


def reexport(namespace, module, names=None, skip=()):
    """Copy ``module``'s public names (or just ``names``) into a facade module's namespace."""
    for name in names if names is not None else dir(module):
        if name.startswith("_") or name in skip:
            continue
        namespace.setdefault(name, getattr(module, name))
