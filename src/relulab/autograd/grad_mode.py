"""Switches for graph recording: ``no_grad``, ``enable_grad`` and ``set_grad_enabled``."""
import contextlib

_state = {"enabled": True}


def is_grad_enabled() -> bool:
    return _state["enabled"]


class _GradMode(contextlib.ContextDecorator):
    """Context manager (and decorator) that sets grad mode on entry and restores it on exit."""

    mode = True

    def __enter__(self):
        self._prev = _state["enabled"]
        _state["enabled"] = self.mode
        return self

    def __exit__(self, *exc):
        _state["enabled"] = self._prev
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
        self._prev = _state["enabled"]
        _state["enabled"] = self.mode

    def __enter__(self):
        return self
