"""Run a PyTorch script on relulab: an import hook maps ``torch`` (with its submodules) to ``relulab.torch`` and
``torchvision`` to ``relulab.torch.vision``, for the one process and nothing installed anywhere.

Behind ``relulab run-torch SCRIPT [ARGS...]`` and ``python -m relulab.torch SCRIPT [ARGS...]``.  A PyTorch API that
relulab lacks stops the script with one line, "relulab does not implement torch.fft (hw.py:42)"; any other error
in the script shows its usual traceback.
"""
import importlib
import importlib.abc
import importlib.machinery
import os
import re
import runpy
import sys
import traceback

from ._missing import MissingAPIError, MissingModule, message, missing, script_location

ALIASES = {"torch": "relulab.torch", "torchvision": "relulab.torch.vision"}


def _target(fullname):
    top, _, rest = fullname.partition(".")
    if top not in ALIASES:
        return None
    return ALIASES[top] + ("." + rest if rest else "")


class _AliasLoader(importlib.abc.Loader):
    """Hands out the already-imported relulab module under the torch name."""

    def __init__(self, module):
        self.module = module

    def create_module(self, spec):
        return self.module

    def exec_module(self, module):
        pass


class TorchAliasFinder(importlib.abc.MetaPathFinder):
    """``import torch.nn`` -> ``relulab.torch.nn``; a submodule with no counterpart raises ``MissingModule``."""

    def find_spec(self, fullname, path=None, target=None):
        real = _target(fullname)
        if real is None:
            return None
        try:
            module = importlib.import_module(real)
        except ModuleNotFoundError as err:
            if err.name != real:
                raise
            raise missing(fullname, MissingModule, frame=sys._getframe(1)) from None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(module), is_package=hasattr(module, "__path__"))


class aliased:
    """Context manager: while inside, ``import torch`` gives relulab.torch; the previous modules come back after."""

    def __enter__(self):
        self._saved = {name: mod for name, mod in sys.modules.items() if _target(name) is not None}
        for name in self._saved:
            del sys.modules[name]
        self._finder = TorchAliasFinder()
        sys.meta_path.insert(0, self._finder)
        return self

    def __exit__(self, *exc):
        sys.meta_path.remove(self._finder)
        for name in [n for n in sys.modules if _target(n) is not None]:
            del sys.modules[name]
        sys.modules.update(self._saved)
        return False


def _missing_attribute(err):
    """'relulab does not implement torch.Tensor.unfold (hw.py:42)' for an AttributeError on a relulab object;
    None for attribute errors of the script's own objects."""
    from ..autograd.tensor import Tensor
    obj, name = getattr(err, "obj", None), getattr(err, "name", None)
    if obj is None or name is None:
        return None
    if isinstance(obj, Tensor):
        api = f"torch.Tensor.{name}"
    else:
        cls = type(obj)
        if not cls.__module__.startswith("relulab."):
            return None  # a class of the script: its own attribute error
        public = cls.__module__.replace("relulab.torch.", "torch.").replace("relulab.", "torch.")
        parts = [p for p in public.split(".") if p not in ("layers", "module", "conv", "loss", "optimizer",
                                                           "dataloader", "dataset", "sampler", "activation",
                                                           "norm")]
        api = ".".join(parts[:2] + [cls.__name__, name])
    return message(api, script_location(tb=err.__traceback__))


def _public_name(module_name):
    for public, real in sorted(ALIASES.items(), key=lambda kv: -len(kv[1])):
        if module_name == real or module_name.startswith(real + "."):
            return public + module_name[len(real):]
    return None


def _missing_import(err):
    module = _public_name(getattr(err, "name", None) or "")
    found = re.match(r"cannot import name '(\w+)'", str(err))
    if module is None or found is None:
        return None
    return message(f"{module}.{found.group(1)}", script_location(tb=err.__traceback__))


def run(script, argv=()):
    """Run ``script`` as ``__main__`` with ``sys.argv = [script, *argv]``; returns the exit status."""
    if not os.path.isfile(script):
        print(f"relulab run-torch: error: no script at {script}", file=sys.stderr)
        return 2
    saved_argv, saved_path0 = sys.argv, sys.path[0] if sys.path else None
    sys.argv = [script, *argv]
    script_dir = os.path.dirname(os.path.abspath(script))
    sys.path.insert(0, script_dir)
    try:
        with aliased():
            runpy.run_path(script, run_name="__main__")
        return 0
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except MissingAPIError as err:
        return _fail(str(err))
    except ImportError as err:  # ``from torch import fft``: Python turns the missing name into an ImportError
        text = _missing_import(err)
        if text is None:
            raise
        return _fail(text)
    except AttributeError as err:
        text = _missing_attribute(err)
        if text is None:
            raise
        return _fail(text)
    finally:
        sys.argv = saved_argv
        if sys.path and sys.path[0] == script_dir:
            del sys.path[0]
        elif saved_path0 is not None and script_dir in sys.path:
            sys.path.remove(script_dir)


def _fail(text):
    if os.environ.get("RELULAB_DEBUG"):
        traceback.print_exc()
    print(text, file=sys.stderr)
    return 2


def main(argv=None):
    """``python -m relulab.torch SCRIPT [ARGS...]``."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m relulab.torch SCRIPT [ARGS...]\n\nRun a PyTorch script on relulab: its `import torch` "
              "and `import torchvision` resolve to relulab.torch.")
        return 0 if argv else 2
    try:
        return run(argv[0], argv[1:])
    except Exception:  # the script's own error: its traceback, without the runner's frames
        kind, value, tb = sys.exc_info()
        while tb is not None and not os.path.abspath(tb.tb_frame.f_code.co_filename) == os.path.abspath(argv[0]):
            tb = tb.tb_next
        traceback.print_exception(kind, value, tb or value.__traceback__)
        return 1
