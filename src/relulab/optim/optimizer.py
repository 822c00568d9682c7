"""``Optimizer``: parameter groups, per-parameter state, ``step``/``zero_grad`` and ``state_dict``, as PyTorch.

Updates run on the parameters' arrays in place, outside the graph (like ``torch.no_grad()``), and bump each
parameter's version counter, so a stale graph that saved a parameter refuses to backward.
"""
import functools
from collections import defaultdict

import numpy as np

from ..autograd.grad_mode import enable_grad
from ..autograd.tensor import Tensor

# Keys that schedulers add to param groups; load_state_dict accepts them next to an optimizer's own options.
_SCHEDULER_KEYS = frozenset({"initial_lr", "max_lr", "min_lr", "base_momentum", "max_momentum"})
# PyTorch's implementation switches; accepted (and stored) so that state_dicts carry the same keys.
_TORCH_SWITCHES = {"foreach": None, "maximize": False, "capturable": False, "differentiable": False, "fused": None}


class _Required:
    def __repr__(self):
        return "<required parameter>"


required = _Required()


def check_non_negative(name, value, label=None):
    if not 0.0 <= value:
        raise ValueError(f"Invalid {label or name} value: {value}")


def check_lr(lr):
    if isinstance(lr, Tensor):
        lr = lr.item()
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def check_betas(betas):
    for i, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")


def _marks_step_called(step):
    """Wrap a subclass's own ``step`` so that calling it tells schedulers the optimizer has stepped, even when
    it never calls ``Optimizer.step`` (PyTorch tracks this with a per-instance wrapper)."""
    @functools.wraps(step)
    def tracked(self, *args, **kwargs):
        self._opt_called = True
        return step(self, *args, **kwargs)
    tracked._marks_step_called = True
    return tracked


class Optimizer:
    """Base class: holds ``param_groups`` (each a dict of options plus ``params``) and per-parameter ``state``."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_marks_step_called", False):
            cls.step = _marks_step_called(step)

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = defaultdict(dict)
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            f"but got a {type(params).__name__}")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group):
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering "
                            "of tensors in sets will change between runs; use a list")
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        for p in group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"can't optimize a non-leaf Tensor (shape {tuple(p.shape)})")
        if len({id(p) for p in group["params"]}) != len(group["params"]):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            group.setdefault(name, default)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.detach_().zero_()  # in place: references to the old .grad see zeros too

    def step(self, closure=None):
        """One update of every parameter that has a gradient; ``closure`` re-evaluates and returns the loss."""
        self._opt_called = True  # lets a scheduler warn when it is stepped first
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            if isinstance(group["lr"], Tensor):  # a tensor lr is read as its value, as in PyTorch
                group = {**group, "lr": float(group["lr"].item())}
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad._data
                if grad.shape != p.shape:
                    raise RuntimeError(f"{type(self).__name__}: gradient of shape {grad.shape} does not match its "
                                       f"parameter of shape {tuple(p.shape)}")
                self._update(p._data, -grad if group.get("maximize") else grad, self.state[p], group)
                p._vc[0] += 1
        return loss

    def _update(self, param, grad, state, group):
        """Update the array ``param`` in place from ``grad``; ``state`` is this parameter's dict."""
        raise NotImplementedError

    # ----------------------------------------------------------------- state
    def state_dict(self):
        """{'state': {index: {...}}, 'param_groups': [{options..., 'params': [indices]}]}, as PyTorch's."""
        index, groups = {}, []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state and self.state[p]:
                    state[index[id(p)]] = {k: _copy_value(v) for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        unknown = set(state_dict) - {"state", "param_groups"}
        if unknown:
            raise ValueError(f"{type(self).__name__}.load_state_dict: unknown key(s) {sorted(unknown)}; "
                             "expected 'state' and 'param_groups'")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has a different number of parameter groups "
                             f"({len(saved_groups)} vs {len(self.param_groups)})")
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            allowed = set(self.defaults) | _SCHEDULER_KEYS | set(group)  # a group's own extra keys are fine
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"loaded state dict contains a parameter group that doesn't match the size of "
                                 f"optimizer's group {i} ({len(saved['params'])} vs {len(group['params'])})")
            extra = set(saved) - allowed
            if extra:
                raise ValueError(f"{type(self).__name__}.load_state_dict: unknown key(s) {sorted(extra)} in "
                                 f"parameter group {i}")
        by_index = {}
        for saved, group in zip(saved_groups, self.param_groups):
            by_index.update(zip(saved["params"], group["params"]))
        self.state = defaultdict(dict)
        for key, values in state_dict["state"].items():
            key = int(key)
            if key not in by_index:
                raise ValueError(f"{type(self).__name__}.load_state_dict: state for parameter index {key}, "
                                 "which no parameter group lists")
            p = by_index[key]
            self.state[p] = {k: _cast_state(k, v, p) for k, v in values.items()}
        for saved, group in zip(saved_groups, self.param_groups):
            for k, v in saved.items():
                if k != "params":
                    group[k] = tuple(v) if isinstance(v, list) else v

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines) + "\n)"


def _copy_value(v):
    return Tensor._make(v._data.copy()) if isinstance(v, Tensor) else v


def _cast_state(key, value, param):
    """State tensors take the parameter's dtype; the step counter stays as it was saved (as PyTorch)."""
    if not isinstance(value, (Tensor, np.ndarray)):
        return value
    array = value._data if isinstance(value, Tensor) else value
    if key != "step" and array.dtype.kind == "f":
        if array.shape != param.shape and array.ndim != 0:  # 0-d states (NAdam's mu_product) are scalars
            raise ValueError(f"load_state_dict: state '{key}' has shape {array.shape}, but its parameter has "
                             f"shape {tuple(param.shape)}")
        array = array.astype(param.dtype)
    return Tensor._make(array.copy())


def zeros_state(param_array):
    return Tensor._make(np.zeros_like(param_array))


def advance_step(state):
    """Count this parameter's updates in ``state['step']`` (a 0-d float32 tensor, as PyTorch) and return it."""
    if "step" not in state:
        state["step"] = Tensor._make(np.zeros((), dtype=np.float32))
    step = state["step"]._data
    step += 1
    return float(step)
