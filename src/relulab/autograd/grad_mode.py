"""Switches for graph recording: ``no_grad``, ``enable_grad`` and ``set_grad_enabled``.

Grad mode is per thread, as in PyTorch: ``no_grad`` in one thread leaves graph recording in every other thread
alone, and a new thread starts with recording on.
"""
import contextlib
import copy
import threading


class _ThreadState(threading.local):
    enabled = True      # class defaults: what every new thread starts with
    inference = False


_state = _ThreadState()


def is_grad_enabled() -> bool:
    return _state.enabled


class _GradMode(contextlib.ContextDecorator):
    """Context manager (and decorator) that sets grad mode on entry and restores it on exit."""

    mode = True

    def _recreate_cm(self):
        # A decorated function may run in several threads at once: each call saves its own previous state.
        return copy.copy(self)

    def __enter__(self):
        self._prev = _state.enabled
        _state.enabled = self.mode
        return self

    def __exit__(self, *exc):
        _state.enabled = self._prev
        return False


class no_grad(_GradMode):
    """Ops inside record no graph: results have ``requires_grad=False``.  Use as ``with`` or ``@no_grad()``."""

    mode = False


class enable_grad(_GradMode):
    mode = True


class set_grad_enabled(_GradMode):
    """``set_grad_enabled(False)`` switches recording off at once, and also works as a context manager."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self._prev = _state.enabled
        _state.enabled = self.mode

    def __call__(self, func):
        _state.enabled = self._prev  # as a decorator it switches nothing until the function runs (PyTorch)
        return super().__call__(func)

    def _recreate_cm(self):
        return type(self)(self.mode)

    def __enter__(self):
        _state.enabled = self.mode
        return self


class inference_mode(_GradMode):
    """``inference_mode()`` (or ``inference_mode(True)``) records no graph, like ``no_grad``; ``False`` leaves
    grad mode as it is.  relulab has no separate inference tensors, so this is ``no_grad`` under PyTorch's name.
    Works as ``with``, as ``@inference_mode()`` and as a bare ``@inference_mode``."""

    def __new__(cls, mode=True):
        if callable(mode):  # the bare decorator: inference_mode(fn)
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode=True):
        self._inference = bool(mode)

    def __enter__(self):
        self._prev = _state.enabled, _state.inference
        if self._inference:
            _state.enabled = False
            _state.inference = True
        return self

    def __exit__(self, *exc):
        _state.enabled, _state.inference = self._prev
        return False


def is_inference_mode_enabled():
    return _state.inference
