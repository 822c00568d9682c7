"""relulab.optim against torch.optim: full 200-step parameter trajectories for every optimizer and every flag
combination, param groups (per-group options, add_param_group mid-training), step(closure), zero_grad,
state_dict structure and checkpoint round trips (relulab.save / relulab.load), scheduler state round trips,
and argument validation.

torch only ever comes from the ``torch`` fixture / ``conftest.require_torch``.
"""
import itertools
import re

import numpy as np
import pytest

import relulab
import relulab.nn as rnn
from relulab.optim import lr_scheduler as rl_sched

# ---------------------------------------------------------------------------------------------- the fixed problem
# A 3 -> 5 -> 1 tanh MLP (26 parameters) on 20 fixed rows, float64 throughout.
_RNG = np.random.default_rng(20240607)
INIT = {
    "0.weight": _RNG.normal(0.0, 0.6, (5, 3)),
    "0.bias": _RNG.normal(0.0, 0.1, (5,)),
    "2.weight": _RNG.normal(0.0, 0.6, (1, 5)),
    "2.bias": _RNG.normal(0.0, 0.1, (1,)),
}
X = _RNG.normal(size=(20, 3))
Y = (np.sin(X @ np.array([1.0, -0.5, 0.3])) + 0.1 * X[:, :1] ** 2)[:, None]
STEPS = 200


def rl_model():
    model = rnn.Sequential(rnn.Linear(3, 5), rnn.Tanh(), rnn.Linear(5, 1)).double()
    model.load_state_dict({k: v.copy() for k, v in INIT.items()})
    return model


def torch_model(torch):
    nn = torch.nn
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 1)).double()
    model.load_state_dict({k: torch.tensor(v) for k, v in INIT.items()})
    return model


_RL_XY = (relulab.tensor(X), relulab.tensor(Y))
_TORCH_XY = {}


def rl_loss(model, sign=1.0):
    x, y = _RL_XY
    diff = model(x) - y
    return (diff * diff).mean() * sign


def torch_loss(torch, model, sign=1.0):
    if "xy" not in _TORCH_XY:
        _TORCH_XY["xy"] = (torch.tensor(X), torch.tensor(Y))
    x, y = _TORCH_XY["xy"]
    diff = model(x) - y
    return (diff * diff).mean() * sign


def flat_rl(model):
    return np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])


def flat_torch(model):
    return np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])


def train_rl(model, opt, steps, sign=1.0, scheduler=None, every_step=False):
    traj = []
    for t in range(1, steps + 1):
        opt.zero_grad()
        rl_loss(model, sign).backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()
        if every_step or recorded(t, steps):
            traj.append(flat_rl(model))
    return np.stack(traj)


def train_torch(torch, model, opt, steps, sign=1.0, scheduler=None):
    """Closed loop: torch computes its own gradients at its own parameters."""
    traj = []
    for t in range(1, steps + 1):
        opt.zero_grad()
        torch_loss(torch, model, sign).backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()
        if recorded(t, steps):
            traj.append(flat_torch(model))
    return np.stack(traj)


def lockstep(torch, rm, ropt, tm, topt, steps, sign=1.0):
    """Train relulab as usual (zero_grad, loss, backward, step) and drive torch's optimizer with the very same
    gradient each step, so both optimizers see one gradient sequence and only their update rules can differ.

    (A closed loop, where torch differentiates at its own parameters, amplifies last-bit differences between the
    two autograd engines chaotically for the adaptive methods once a coordinate's gradient hovers around zero:
    RMSprop's g/sqrt(v) then behaves like sign(g).  torch against itself with a 1e-15 relative nudge of the
    initial weights already drifts beyond 1e-6 there, so only the open loop can be held to rtol=1e-6.)
    """
    rp, tp = list(rm.parameters()), list(tm.parameters())
    got, want = [], []
    for t in range(1, steps + 1):
        ropt.zero_grad()
        topt.zero_grad()
        rl_loss(rm, sign).backward()
        for r, q in zip(rp, tp):
            q.grad = None if r.grad is None else torch.from_numpy(r.grad.numpy().copy())
        ropt.step()
        topt.step()
        if recorded(t, steps):
            got.append(flat_rl(rm))
            want.append(flat_torch(tm))
    return np.stack(got), np.stack(want)


def recorded(t, steps):
    """Steps (1-based) whose parameters a trajectory keeps: the first ten, every 5th, and the last."""
    return t <= 10 or t % 5 == 0 or t == steps


def assert_traj(got, want):
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-12)


# ---------------------------------------------------------------------------------------------- flag grids
def _case_id(name, kw):
    parts = [name]
    for k, v in kw.items():
        if k == "lr":
            continue
        if isinstance(v, bool):
            if v:
                parts.append(k)
        elif isinstance(v, tuple):
            parts.append(f"{k}={','.join(map(str, v))}")
        else:
            parts.append(f"{k}={v}")
    return "-".join(parts)


def _grid(name, lr, **axes):
    cases = []
    keys = list(axes)
    for values in itertools.product(*(axes[k] for k in keys)):
        kw = dict(zip(keys, values))
        if name == "SGD" and kw["nesterov"] and (kw["momentum"] == 0 or kw["dampening"] != 0):
            continue
        kw = {"lr": lr, **kw}
        cases.append(pytest.param(name, kw, id=_case_id(name, kw)))
    return cases


FLAG_CASES = (
    _grid("SGD", 0.05, momentum=[0, 0.9], dampening=[0, 0.1], nesterov=[False, True], weight_decay=[0, 0.01],
          maximize=[False, True])
    + _grid("Adagrad", 0.1, lr_decay=[0, 0.01], weight_decay=[0, 0.1], initial_accumulator_value=[0, 0.1],
            eps=[1e-10, 1e-3], maximize=[False, True])
    + _grid("RMSprop", 0.01, alpha=[0.99, 0.9], eps=[1e-8, 1e-3], weight_decay=[0, 0.1], momentum=[0, 0.9],
            centered=[False, True], maximize=[False, True])
    + _grid("Adam", 0.01, betas=[(0.9, 0.999), (0.8, 0.99)], eps=[1e-8, 1e-3], weight_decay=[0, 0.1],
            amsgrad=[False, True], maximize=[False, True])
    + _grid("AdamW", 0.01, betas=[(0.9, 0.999), (0.8, 0.99)], eps=[1e-8, 1e-3], weight_decay=[0, 0.1],
            amsgrad=[False, True], maximize=[False, True])
)


def test_flag_grid_is_complete():
    names = [p.values[0] for p in FLAG_CASES]
    # SGD: 5 valid (momentum, dampening, nesterov) triples x 2 weight decays x 2 maximize
    assert names.count("SGD") == 20
    assert names.count("Adagrad") == 32
    assert names.count("RMSprop") == 64
    assert names.count("Adam") == names.count("AdamW") == 32


@pytest.mark.parametrize("name, kwargs", FLAG_CASES)
def test_trajectory_matches_torch(torch, name, kwargs):
    # With maximize the loss is negated, so both libraries ascend -L, i.e. descend L: the run stays bounded.
    sign = -1.0 if kwargs.get("maximize") else 1.0
    rm, tm = rl_model(), torch_model(torch)
    ropt = getattr(relulab.optim, name)(rm.parameters(), **kwargs)
    topt = getattr(torch.optim, name)(tm.parameters(), **kwargs)
    got, want = lockstep(torch, rm, ropt, tm, topt, STEPS, sign)
    assert np.abs(got[-1] - flat_rl(rl_model())).max() > 1e-3, "the parameters did not move"
    assert_traj(got, want)


@pytest.mark.parametrize("name, kwargs", [
    pytest.param("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01), id="SGD-nesterov-wd"),
    pytest.param("SGD", dict(lr=0.05, momentum=0.9, dampening=0.1, maximize=True), id="SGD-damp-maximize"),
    pytest.param("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1), id="Adagrad"),
    pytest.param("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True), id="AdamW-amsgrad"),
])
def test_closed_loop_trajectory_matches_torch(torch, name, kwargs):
    """Each library differentiates its own model (well-conditioned configurations; see ``lockstep``)."""
    sign = -1.0 if kwargs.get("maximize") else 1.0
    rm, tm = rl_model(), torch_model(torch)
    got = train_rl(rm, getattr(relulab.optim, name)(rm.parameters(), **kwargs), STEPS, sign)
    want = train_torch(torch, tm, getattr(torch.optim, name)(tm.parameters(), **kwargs), STEPS, sign)
    assert_traj(got, want)


@pytest.mark.parametrize("decoupled", [False, True])
def test_adam_decoupled_weight_decay_flag_matches_torch(torch, decoupled):
    kwargs = dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=decoupled)
    rm, tm = rl_model(), torch_model(torch)
    ropt = relulab.optim.Adam(rm.parameters(), **kwargs)
    topt = torch.optim.Adam(tm.parameters(), **kwargs)
    got, want = lockstep(torch, rm, ropt, tm, topt, 100)
    assert_traj(got, want)
    if decoupled:  # Adam(decoupled_weight_decay=True) is AdamW
        am = rl_model()
        assert np.array_equal(train_rl(am, relulab.optim.AdamW(am.parameters(), lr=0.01, weight_decay=0.1), 100), got)


@pytest.mark.parametrize("name, kwargs", [
    pytest.param("SGD", dict(lr=0.05, momentum=0.9, weight_decay=0.01, nesterov=True), id="SGD"),
    pytest.param("Adagrad", dict(lr=0.1, weight_decay=0.1, lr_decay=0.01, initial_accumulator_value=0.1),
                 id="Adagrad"),
    pytest.param("RMSprop", dict(lr=0.01, centered=True, momentum=0.9, weight_decay=0.1), id="RMSprop"),
    pytest.param("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1), id="Adam"),
    pytest.param("AdamW", dict(lr=0.01, amsgrad=True), id="AdamW"),
])
def test_float32_params_stay_float32_and_match_torch(torch, name, kwargs):
    rm, tm = rl_model().float(), torch_model(torch).float()
    ropt = getattr(relulab.optim, name)(rm.parameters(), **kwargs)
    topt = getattr(torch.optim, name)(tm.parameters(), **kwargs)
    rp, tp = list(rm.parameters()), list(tm.parameters())
    x, y = relulab.tensor(X.astype(np.float32)), relulab.tensor(Y.astype(np.float32))
    for _ in range(50):
        ropt.zero_grad()
        diff = rm(x) - y
        (diff * diff).mean().backward()
        for r, t in zip(rp, tp):
            t.grad = torch.from_numpy(r.grad.numpy().copy())
        ropt.step()
        topt.step()
    for r, t in zip(rp, tp):
        assert r.dtype == relulab.float32
        np.testing.assert_allclose(r.detach().numpy(), t.detach().numpy(), rtol=1e-4, atol=1e-6)
        for key, value in ropt.state[r].items():
            assert str(value.numpy().dtype) == str(topt.state[t][key].dtype).replace("torch.", ""), key


def test_training_reduces_the_loss():
    for make in (lambda p: relulab.optim.SGD(p, lr=0.05, momentum=0.9), lambda p: relulab.optim.Adam(p, lr=0.01),
                 lambda p: relulab.optim.RMSprop(p, lr=0.01), lambda p: relulab.optim.Adagrad(p, lr=0.1)):
        model = rl_model()
        before = rl_loss(model).item()
        train_rl(model, make(model.parameters()), 100)
        assert rl_loss(model).item() < 0.5 * before


# ---------------------------------------------------------------------------------------------- param groups
def _two_groups(model, first, second):
    params = list(model.parameters())
    return [{"params": params[:2], **first}, {"params": params[2:], **second}]


GROUP_CASES = [
    pytest.param("SGD", dict(lr=0.05, momentum=0.9), dict(lr=0.1, momentum=0.5, nesterov=True), dict(lr=0.01),
                 id="SGD-lr-momentum"),
    pytest.param("SGD", dict(lr=0.05, weight_decay=0.1, dampening=0.2), dict(momentum=0.0), dict(momentum=0.7),
                 id="SGD-dampening-wd"),
    pytest.param("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.5), dict(lr=0.2, eps=1e-3),
                 dict(weight_decay=0.1, lr_decay=0.0), id="Adagrad"),
    pytest.param("RMSprop", dict(lr=0.01), dict(centered=True, momentum=0.9), dict(lr=0.003, alpha=0.9),
                 id="RMSprop"),
    pytest.param("Adam", dict(lr=0.01), dict(betas=(0.8, 0.99), amsgrad=True), dict(lr=0.03, weight_decay=0.1),
                 id="Adam"),
    pytest.param("AdamW", dict(lr=0.01), dict(weight_decay=0.3), dict(lr=0.02, eps=1e-3), id="AdamW"),
]


@pytest.mark.parametrize("name, defaults, first, second", GROUP_CASES)
def test_param_groups_match_torch(torch, name, defaults, first, second):
    rm = rl_model()
    ropt = getattr(relulab.optim, name)(_two_groups(rm, first, second), **defaults)
    tm = torch_model(torch)
    topt = getattr(torch.optim, name)(_two_groups(tm, first, second), **defaults)
    for rg, tg in zip(ropt.param_groups, topt.param_groups):
        assert {k: v for k, v in rg.items() if k != "params"} == {k: v for k, v in tg.items() if k != "params"}
    assert_traj(*lockstep(torch, rm, ropt, tm, topt, STEPS))


@pytest.mark.parametrize("name, defaults, extra", [
    pytest.param("SGD", dict(lr=0.05, momentum=0.9), dict(lr=0.2, momentum=0.5), id="SGD"),
    pytest.param("RMSprop", dict(lr=0.01, centered=True), dict(lr=0.003, momentum=0.9), id="RMSprop"),
    pytest.param("Adam", dict(lr=0.01), dict(lr=0.03, amsgrad=True), id="Adam"),
    pytest.param("AdamW", dict(lr=0.01), dict(weight_decay=0.5), id="AdamW"),
])
def test_add_param_group_mid_training_matches_torch(torch, name, defaults, extra):
    rm, tm = rl_model(), torch_model(torch)
    rp, tp = list(rm.parameters()), list(tm.parameters())
    ropt = getattr(relulab.optim, name)(rp[:2], **defaults)
    topt = getattr(torch.optim, name)(tp[:2], **defaults)
    first = lockstep(torch, rm, ropt, tm, topt, 50)
    assert np.array_equal(first[0][-1][-6:], flat_rl(rl_model())[-6:]), "the unoptimized layer moved"
    ropt.add_param_group({"params": rp[2:], **extra})
    topt.add_param_group({"params": tp[2:], **extra})
    assert len(ropt.param_groups) == 2
    assert {k: v for k, v in ropt.param_groups[1].items() if k != "params"} == \
        {k: v for k, v in topt.param_groups[1].items() if k != "params"}
    second = lockstep(torch, rm, ropt, tm, topt, 150)
    assert_traj(np.concatenate([first[0], second[0]]), np.concatenate([first[1], second[1]]))


def test_adagrad_initial_accumulator_value_per_group():
    """relulab fills each group's 'sum' from that group's own initial_accumulator_value.  (torch 2.13 fills every
    group's 'sum' from the constructor argument and ignores a per-group value, so this is not torch-checked.)"""
    rm = rl_model()
    params = list(rm.parameters())
    opt = relulab.optim.Adagrad([{"params": params[:2], "initial_accumulator_value": 0.5}, {"params": params[2:]}],
                                lr=0.1, initial_accumulator_value=0.25)
    for p in params[:2]:
        assert np.array_equal(opt.state[p]["sum"].numpy(), np.full(p.shape, 0.5))
    for p in params[2:]:
        assert np.array_equal(opt.state[p]["sum"].numpy(), np.full(p.shape, 0.25))
        assert float(opt.state[p]["step"].item()) == 0.0


def test_add_param_group_fills_defaults():
    rm = rl_model()
    params = list(rm.parameters())
    opt = relulab.optim.SGD(params[:2], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": params[2]})  # a single tensor is accepted and wrapped in a list
    group = opt.param_groups[1]
    assert len(group["params"]) == 1 and group["params"][0] is params[2]
    assert group["lr"] == 0.1 and group["momentum"] == 0.9 and group["nesterov"] is False


# ---------------------------------------------------------------------------------------------- step / zero_grad
@pytest.mark.parametrize("name, kwargs", [
    pytest.param("SGD", dict(lr=0.05, momentum=0.9), id="SGD"),
    pytest.param("Adam", dict(lr=0.01), id="Adam"),
    pytest.param("RMSprop", dict(lr=0.01), id="RMSprop"),
])
def test_step_with_closure_returns_loss_and_matches_torch(torch, name, kwargs):
    rm, tm = rl_model(), torch_model(torch)
    ropt = getattr(relulab.optim, name)(rm.parameters(), **kwargs)
    topt = getattr(torch.optim, name)(tm.parameters(), **kwargs)
    returned, made = [], []

    def rl_closure():
        ropt.zero_grad()
        loss = rl_loss(rm)
        loss.backward()
        made.append(loss)
        return loss

    def torch_closure():
        topt.zero_grad()
        loss = torch_loss(torch, tm)
        loss.backward()
        return loss

    rl_traj, torch_traj, rl_losses, torch_losses = [], [], [], []
    for _ in range(50):
        out = ropt.step(rl_closure)
        returned.append(out)
        rl_losses.append(out.item())
        torch_losses.append(topt.step(torch_closure).item())
        rl_traj.append(flat_rl(rm))
        torch_traj.append(flat_torch(tm))
    assert all(r is m for r, m in zip(returned, made)), "step(closure) must return the closure's own result"
    np.testing.assert_allclose(rl_losses, torch_losses, rtol=1e-9)
    assert_traj(np.stack(rl_traj), np.stack(torch_traj))


def test_step_closure_runs_with_grad_enabled_under_no_grad():
    model = rl_model()
    opt = relulab.optim.SGD(model.parameters(), lr=0.05)
    before = flat_rl(model)

    def closure():
        opt.zero_grad()
        loss = rl_loss(model)
        loss.backward()
        return loss

    with relulab.no_grad():
        loss = opt.step(closure)
    assert loss.item() > 0
    assert not np.array_equal(flat_rl(model), before)


def test_step_without_closure_returns_none():
    model = rl_model()
    opt = relulab.optim.SGD(model.parameters(), lr=0.05)
    rl_loss(model).backward()
    assert opt.step() is None


def test_step_skips_params_without_grad():
    model = rl_model()
    params = list(model.parameters())
    opt = relulab.optim.Adam(params, lr=0.1)
    rl_loss(model).backward()
    params[3].grad = None
    before = params[3].detach().numpy().copy()
    opt.step()
    assert np.array_equal(params[3].detach().numpy(), before)
    assert len(opt.state[params[3]]) == 0
    assert "exp_avg" in opt.state[params[0]]


def test_zero_grad_set_to_none():
    model = rl_model()
    opt = relulab.optim.SGD(model.parameters(), lr=0.05)
    rl_loss(model).backward()
    assert all(p.grad is not None for p in model.parameters())
    opt.zero_grad()  # the default is set_to_none=True, as in torch >= 2.0
    assert all(p.grad is None for p in model.parameters())
    rl_loss(model).backward()
    opt.zero_grad(set_to_none=True)
    assert all(p.grad is None for p in model.parameters())
    opt.zero_grad(set_to_none=False)  # grads that are None stay None
    assert all(p.grad is None for p in model.parameters())


def test_zero_grad_set_to_zero_keeps_zeros_and_accumulates_fresh():
    model = rl_model()
    params = list(model.parameters())
    opt = relulab.optim.SGD(params, lr=0.05)
    rl_loss(model).backward()
    first = [p.grad.numpy().copy() for p in params]
    opt.zero_grad(set_to_none=False)
    for p in params:
        assert p.grad is not None
        assert p.grad.shape == p.shape and p.grad.dtype == p.dtype
        assert np.array_equal(p.grad.numpy(), np.zeros(p.shape))
    rl_loss(model).backward()  # accumulates onto the zeros: the same gradient again, not twice it
    for p, g in zip(params, first):
        np.testing.assert_allclose(p.grad.numpy(), g, rtol=1e-15)


def test_zero_grad_set_to_zero_is_in_place(torch):
    tm = torch_model(torch)
    topt = torch.optim.SGD(tm.parameters(), lr=0.05)
    torch_loss(torch, tm).backward()
    tref = next(tm.parameters()).grad
    topt.zero_grad(set_to_none=False)
    assert tref is next(tm.parameters()).grad and not tref.any()  # torch's behaviour

    model = rl_model()
    opt = relulab.optim.SGD(model.parameters(), lr=0.05)
    rl_loss(model).backward()
    p = next(model.parameters())
    ref = p.grad
    opt.zero_grad(set_to_none=False)
    assert ref is p.grad
    assert not ref.numpy().any()


def test_step_bumps_version_so_stale_graph_refuses_backward():
    model = rl_model()
    opt = relulab.optim.SGD(model.parameters(), lr=0.05)
    loss = rl_loss(model)
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError):
        loss.backward()


# ---------------------------------------------------------------------------------------------- state_dict
ROUND_TRIP_CASES = [
    pytest.param("SGD", dict(lr=0.05), id="SGD"),
    pytest.param("SGD", dict(lr=0.05, momentum=0.9, nesterov=True), id="SGD-nesterov"),
    pytest.param("SGD", dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01), id="SGD-momentum-damp-wd"),
    pytest.param("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1), id="Adagrad"),
    pytest.param("RMSprop", dict(lr=0.01), id="RMSprop"),
    pytest.param("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1), id="RMSprop-centered-mom"),
    pytest.param("Adam", dict(lr=0.01), id="Adam"),
    pytest.param("Adam", dict(lr=0.01, amsgrad=True, betas=(0.8, 0.99), weight_decay=0.1), id="Adam-amsgrad"),
    pytest.param("AdamW", dict(lr=0.01, amsgrad=True), id="AdamW-amsgrad"),
    pytest.param("AdamW", dict(lr=0.01, weight_decay=0.1, maximize=True), id="AdamW-maximize"),
]


@pytest.mark.parametrize("name, kwargs", ROUND_TRIP_CASES)
def test_state_dict_checkpoint_round_trip(tmp_path, name, kwargs):
    sign = -1.0 if kwargs.get("maximize") else 1.0
    cls = getattr(relulab.optim, name)
    # uninterrupted
    ref_model = rl_model()
    ref = train_rl(ref_model, cls(ref_model.parameters(), **kwargs), 200, sign, every_step=True)
    # 100 steps, checkpoint, fresh objects, restore, 100 more
    model = rl_model()
    opt = cls(model.parameters(), **kwargs)
    head = train_rl(model, opt, 100, sign, every_step=True)
    relulab.save(model.state_dict(), tmp_path / "model.safetensors")
    relulab.save(opt.state_dict(), tmp_path / "optim.safetensors")
    del model, opt
    model = rnn.Sequential(rnn.Linear(3, 5), rnn.Tanh(), rnn.Linear(5, 1)).double()  # other initial weights
    opt = cls(model.parameters(), **kwargs)
    model.load_state_dict(relulab.load(tmp_path / "model.safetensors"))
    opt.load_state_dict(relulab.load(tmp_path / "optim.safetensors"))
    tail = train_rl(model, opt, 100, sign, every_step=True)
    assert np.array_equal(np.concatenate([head, tail]), ref)


@pytest.mark.parametrize("name, kwargs", ROUND_TRIP_CASES)
def test_state_dict_in_memory_round_trip_is_a_copy(name, kwargs):
    cls = getattr(relulab.optim, name)
    model = rl_model()
    opt = cls(model.parameters(), **kwargs)
    train_rl(model, opt, 10)
    saved = opt.state_dict()
    snapshot = {i: {k: (v.numpy().copy() if hasattr(v, "numpy") else v) for k, v in s.items()}
                for i, s in saved["state"].items()}
    train_rl(model, opt, 5)  # training on must not change the state_dict taken before
    for i, s in saved["state"].items():
        for k, v in s.items():
            if hasattr(v, "numpy"):
                assert np.array_equal(v.numpy(), snapshot[i][k]), (i, k)


STRUCTURE_CASES = ROUND_TRIP_CASES + [
    pytest.param("RMSprop", dict(lr=0.01, centered=True), id="RMSprop-centered"),
    pytest.param("RMSprop", dict(lr=0.01, momentum=0.5), id="RMSprop-momentum"),
]


@pytest.mark.parametrize("name, kwargs", STRUCTURE_CASES)
def test_state_dict_structure_and_values_match_torch(torch, name, kwargs):
    rm, tm = rl_model(), torch_model(torch)
    ropt = getattr(relulab.optim, name)(_two_groups(rm, {}, {"lr": 0.02}), **kwargs)
    topt = getattr(torch.optim, name)(_two_groups(tm, {}, {"lr": 0.02}), **kwargs)
    rs, ts = ropt.state_dict(), topt.state_dict()
    assert set(rs) == set(ts) == {"state", "param_groups"}
    assert set(rs["state"]) == set(ts["state"])  # Adagrad's state exists before the first step
    sign = -1.0 if kwargs.get("maximize") else 1.0
    lockstep(torch, rm, ropt, tm, topt, 5, sign)
    rs, ts = ropt.state_dict(), topt.state_dict()
    assert len(rs["param_groups"]) == len(ts["param_groups"]) == 2
    for rg, tg in zip(rs["param_groups"], ts["param_groups"]):
        assert set(rg) == set(tg)
        assert rg["params"] == tg["params"]
        assert {k: v for k, v in rg.items() if k != "params"} == {k: v for k, v in tg.items() if k != "params"}
    assert set(rs["state"]) == set(ts["state"])
    for idx, tstate in ts["state"].items():
        rstate = rs["state"][idx]
        assert set(rstate) == set(tstate), (idx, sorted(rstate), sorted(tstate))
        for key, tval in tstate.items():
            rval = rstate[key]
            if key == "step":
                assert float(rval.item() if hasattr(rval, "item") else rval) == float(tval)
                assert str(np.asarray(rval.numpy()).dtype) == str(tval.dtype).replace("torch.", "")
            else:
                np.testing.assert_allclose(rval.numpy(), tval.numpy(), rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("name, kwargs", STRUCTURE_CASES)
def test_load_torch_shaped_state_dict_from_torch(torch, name, kwargs):
    """A torch state_dict (converted to relulab tensors) loads into relulab, and training continues as torch's."""
    sign = -1.0 if kwargs.get("maximize") else 1.0
    tm = torch_model(torch)
    topt = getattr(torch.optim, name)(tm.parameters(), **kwargs)
    train_torch(torch, tm, topt, 30, sign)
    ts = topt.state_dict()
    converted = {
        "state": {i: {k: relulab.tensor(v.numpy()) if hasattr(v, "numpy") else v for k, v in s.items()}
                  for i, s in ts["state"].items()},
        "param_groups": [dict(g) for g in ts["param_groups"]],
    }
    rm = rl_model()
    rm.load_state_dict({k: v.detach().numpy().copy() for k, v in tm.state_dict().items()})
    ropt = getattr(relulab.optim, name)(rm.parameters(), **kwargs)
    ropt.load_state_dict(converted)
    assert_traj(*lockstep(torch, rm, ropt, tm, topt, 30, sign))


# ---------------------------------------------------------------------------------------------- scheduler state
def _sched_round_trip(tmp_path, make_opt, make_sched, steps=60, cut=25, metric=None):
    """Uninterrupted vs checkpoint at ``cut`` + fresh optimizer/scheduler + restore: identical lrs and params."""
    def run(model, opt, sched, n, start):
        lrs, traj = [], []
        for t in range(start, start + n):
            opt.zero_grad()
            loss = rl_loss(model)
            loss.backward()
            opt.step()
            if metric is None:
                sched.step()
            else:
                sched.step(metric(t))
            lrs.append([g["lr"] for g in opt.param_groups] + list(sched.get_last_lr())
                       + [g.get("momentum", g.get("betas", (None,))[0]) for g in opt.param_groups])
            traj.append(flat_rl(model))
        return lrs, traj

    model = rl_model()
    opt = make_opt(model)
    ref_lrs, ref_traj = run(model, opt, make_sched(opt), steps, 0)

    model = rl_model()
    opt = make_opt(model)
    sched = make_sched(opt)
    head_lrs, head_traj = run(model, opt, sched, cut, 0)
    relulab.save(model.state_dict(), tmp_path / "model.safetensors")
    relulab.save(opt.state_dict(), tmp_path / "optim.safetensors")
    relulab.save(sched.state_dict(), tmp_path / "sched.safetensors")
    model = rl_model()
    opt = make_opt(model)
    sched = make_sched(opt)  # construct first, then restore (as torch recommends)
    model.load_state_dict(relulab.load(tmp_path / "model.safetensors"))
    opt.load_state_dict(relulab.load(tmp_path / "optim.safetensors"))
    sched.load_state_dict(relulab.load(tmp_path / "sched.safetensors"))
    assert sched.get_last_lr() == head_lrs[-1][len(opt.param_groups):2 * len(opt.param_groups)]
    tail_lrs, tail_traj = run(model, opt, sched, steps - cut, cut)
    assert head_lrs + tail_lrs == ref_lrs
    assert np.array_equal(np.stack(head_traj + tail_traj), np.stack(ref_traj))


def _sgd_two_groups(model):
    return relulab.optim.SGD(_two_groups(model, {}, {"lr": 0.02}), lr=0.05, momentum=0.9)


def _adam_two_groups(model):
    return relulab.optim.Adam(_two_groups(model, {}, {"lr": 0.02}), lr=0.01)


@pytest.mark.parametrize("make_opt, make_sched", [
    pytest.param(_sgd_two_groups, lambda o: rl_sched.StepLR(o, step_size=7, gamma=0.5), id="StepLR"),
    pytest.param(_sgd_two_groups, lambda o: rl_sched.MultiStepLR(o, milestones=[10, 30, 30, 40], gamma=0.5),
                 id="MultiStepLR"),
    pytest.param(_sgd_two_groups, lambda o: rl_sched.OneCycleLR(o, max_lr=[0.1, 0.05], total_steps=60),
                 id="OneCycleLR-SGD"),
    pytest.param(_adam_two_groups, lambda o: rl_sched.OneCycleLR(o, max_lr=0.02, total_steps=60, three_phase=True,
                                                                 anneal_strategy="linear"), id="OneCycleLR-Adam"),
    pytest.param(_sgd_two_groups, lambda o: rl_sched.CosineAnnealingLR(o, T_max=20, eta_min=1e-3),
                 id="CosineAnnealingLR"),
    pytest.param(_sgd_two_groups, lambda o: rl_sched.SequentialLR(
        o, [rl_sched.LinearLR(o, start_factor=0.1, total_iters=10), rl_sched.CosineAnnealingLR(o, T_max=50)],
        milestones=[10]), id="SequentialLR"),
    pytest.param(_adam_two_groups, lambda o: rl_sched.warmup_cosine(o, 10, 60), id="warmup_cosine"),
])
def test_scheduler_state_round_trip(tmp_path, make_opt, make_sched):
    _sched_round_trip(tmp_path, make_opt, make_sched)


def test_reduce_lr_on_plateau_state_round_trip(tmp_path):
    metric = lambda t: 1.0 / (1 + t // 12)  # noqa: E731  plateaus of 12 steps
    _sched_round_trip(tmp_path, _sgd_two_groups,
                      lambda o: rl_sched.ReduceLROnPlateau(o, patience=3, cooldown=2, factor=0.5), metric=metric)


# ---------------------------------------------------------------------------------------------- validation
ALL_OPTIMIZERS = ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW"]


def _params():
    return list(rl_model().parameters())


@pytest.mark.parametrize("name", ALL_OPTIMIZERS)
def test_negative_lr_raises(name):
    with pytest.raises(ValueError, match=re.escape("-0.25")):
        getattr(relulab.optim, name)(_params(), lr=-0.25)


@pytest.mark.parametrize("name", ALL_OPTIMIZERS)
def test_negative_weight_decay_raises(name):
    with pytest.raises(ValueError, match=r"weight_decay.*" + re.escape("-0.125")):
        getattr(relulab.optim, name)(_params(), lr=0.1, weight_decay=-0.125)


@pytest.mark.parametrize("name", ["Adagrad", "RMSprop", "Adam", "AdamW"])
def test_negative_eps_raises(name):
    with pytest.raises(ValueError, match=r"epsilon.*" + re.escape("-1e-07")):
        getattr(relulab.optim, name)(_params(), lr=0.1, eps=-1e-7)


@pytest.mark.parametrize("name", ["SGD", "RMSprop"])
def test_negative_momentum_raises(name):
    with pytest.raises(ValueError, match=r"momentum.*" + re.escape("-0.5")):
        getattr(relulab.optim, name)(_params(), lr=0.1, momentum=-0.5)


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
@pytest.mark.parametrize("betas, index, value", [
    ((1.0, 0.999), 0, "1.0"), ((-0.1, 0.999), 0, "-0.1"), ((1.5, 0.999), 0, "1.5"),
    ((0.9, 1.0), 1, "1.0"), ((0.9, -0.25), 1, "-0.25"), ((0.9, 2.0), 1, "2.0"),
])
def test_bad_betas_raise(name, betas, index, value):
    with pytest.raises(ValueError, match=rf"index {index}\b.*{re.escape(value)}"):
        getattr(relulab.optim, name)(_params(), lr=0.1, betas=betas)


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_boundary_betas_zero_accepted(name):
    getattr(relulab.optim, name)(_params(), lr=0.1, betas=(0.0, 0.0))


def test_other_negative_hyperparameters_raise():
    with pytest.raises(ValueError, match=r"lr_decay.*-0\.5"):
        relulab.optim.Adagrad(_params(), lr_decay=-0.5)
    with pytest.raises(ValueError, match=r"initial_accumulator_value.*-0\.5"):
        relulab.optim.Adagrad(_params(), initial_accumulator_value=-0.5)
    with pytest.raises(ValueError, match=r"alpha.*-0\.5"):
        relulab.optim.RMSprop(_params(), alpha=-0.5)


@pytest.mark.parametrize("name", ALL_OPTIMIZERS)
def test_parameter_in_two_groups_raises(name):
    p = _params()
    with pytest.raises(ValueError, match="more than one parameter group"):
        getattr(relulab.optim, name)([{"params": p[:2]}, {"params": p[1:]}], lr=0.1)
    opt = getattr(relulab.optim, name)(p[:2], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [p[3], p[0]]})
    assert len(opt.param_groups) == 1


@pytest.mark.parametrize("name", ALL_OPTIMIZERS)
def test_empty_parameter_list_raises(name):
    with pytest.raises(ValueError, match="empty parameter list"):
        getattr(relulab.optim, name)([], lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        getattr(relulab.optim, name)(iter([]), lr=0.1)


def test_param_group_given_as_a_set_raises(torch):
    with pytest.raises(TypeError, match="ordered collections"):
        torch.optim.SGD([{"params": {torch.zeros(3, requires_grad=True)}}], lr=0.1)
    with pytest.raises(TypeError):
        relulab.optim.SGD([{"params": set(_params())}], lr=0.1)


def test_single_tensor_params_raises_type_error():
    with pytest.raises(TypeError, match="iterable"):
        relulab.optim.SGD(_params()[0], lr=0.1)


def test_non_leaf_param_raises():
    p = _params()[0]
    with pytest.raises(ValueError, match="non-leaf"):
        relulab.optim.SGD([p * 2], lr=0.1)


@pytest.mark.parametrize("momentum, dampening", [(0, 0), (0.0, 0.1), (0.9, 0.1), (0.9, 0.5)])
def test_nesterov_requires_momentum_and_no_dampening(momentum, dampening):
    with pytest.raises(ValueError, match=rf"[Nn]esterov.*momentum={momentum}.*dampening={dampening}"):
        relulab.optim.SGD(_params(), lr=0.1, momentum=momentum, dampening=dampening, nesterov=True)


def _trained_opt(name="SGD", **kw):
    model = rl_model()
    params = list(model.parameters())
    opt = getattr(relulab.optim, name)([{"params": params[:2]}, {"params": params[2:], "lr": 0.01}],
                                       lr=0.05, **kw)
    train_rl(model, opt, 3)
    return opt


def test_load_state_dict_unknown_top_level_key_raises():
    opt = _trained_opt(momentum=0.9)
    sd = opt.state_dict()
    sd["bogus_key"] = 1
    with pytest.raises(ValueError, match="bogus_key"):
        _trained_opt(momentum=0.9).load_state_dict(sd)


def test_load_state_dict_unknown_group_key_raises():
    opt = _trained_opt(momentum=0.9)
    sd = opt.state_dict()
    sd["param_groups"][1]["not_an_option"] = 3
    with pytest.raises(ValueError, match=r"not_an_option.*group 1"):
        _trained_opt(momentum=0.9).load_state_dict(sd)


def test_load_state_dict_accepts_scheduler_keys():
    opt = _trained_opt(momentum=0.9)
    rl_sched.OneCycleLR(opt, max_lr=0.1, total_steps=10)  # adds initial_lr, max_lr, min_lr, *_momentum
    sd = opt.state_dict()
    other = _trained_opt(momentum=0.9)
    other.load_state_dict(sd)
    assert other.param_groups[0]["max_lr"] == 0.1 and "initial_lr" in other.param_groups[1]


def test_load_state_dict_wrong_number_of_groups_raises():
    sd = _trained_opt(momentum=0.9).state_dict()
    model = rl_model()
    single = relulab.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    with pytest.raises(ValueError, match=r"number of parameter groups.*2 vs 1"):
        single.load_state_dict(sd)


def test_load_state_dict_wrong_group_size_raises():
    sd = _trained_opt(momentum=0.9).state_dict()
    params = list(rl_model().parameters())
    other = relulab.optim.SGD([{"params": params[:3]}, {"params": params[3:]}], lr=0.05, momentum=0.9)
    with pytest.raises(ValueError, match=r"size.*\(2 vs 3\)"):
        other.load_state_dict(sd)


def test_load_state_dict_wrong_state_shape_raises():
    sd = _trained_opt("Adam").state_dict()
    sd["state"][0]["exp_avg"] = relulab.zeros(7, dtype=relulab.float64)
    with pytest.raises(ValueError, match="exp_avg"):
        _trained_opt("Adam").load_state_dict(sd)


def test_load_state_dict_restores_group_options():
    opt = _trained_opt("Adam", betas=(0.8, 0.99))
    sd = opt.state_dict()
    sd["param_groups"][0]["lr"] = 0.123
    sd["param_groups"][0]["betas"] = [0.7, 0.9]  # a list (e.g. from JSON) comes back as a tuple
    other = _trained_opt("Adam")
    other.load_state_dict(sd)
    assert other.param_groups[0]["lr"] == 0.123
    assert other.param_groups[0]["betas"] == (0.7, 0.9)
    assert other.param_groups[1]["betas"] == (0.8, 0.99)


def test_state_dict_round_trip_with_custom_group_key(torch):
    def build(lib):
        params = [lib.zeros(3, requires_grad=True), lib.zeros(2, requires_grad=True)]
        return lib.optim.SGD([{"params": params[:1], "name": "encoder"}, {"params": params[1:], "name": "head"}],
                             lr=0.1, momentum=0.9)

    torch_target = build(torch)
    torch_target.load_state_dict(build(torch).state_dict())  # torch: fine
    source = build(relulab)
    source.param_groups[0]["name"] = "encoder-v2"
    target = build(relulab)
    target.load_state_dict(source.state_dict())
    assert target.param_groups[0]["name"] == "encoder-v2"


@pytest.mark.parametrize("name", ALL_OPTIMIZERS)
def test_tensor_lr_updates_like_torch(torch, name):
    p = relulab.tensor(np.ones(3), requires_grad=True)
    p.grad = relulab.tensor(np.array([1.0, -2.0, 0.5]))
    q = torch.ones(3, dtype=torch.float64, requires_grad=True)
    q.grad = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    getattr(relulab.optim, name)([p], lr=relulab.tensor(0.1, dtype=relulab.float64)).step()
    getattr(torch.optim, name)([q], lr=torch.tensor(0.1, dtype=torch.float64)).step()
    np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-9)


def test_repr_lists_groups():
    text = repr(_trained_opt(momentum=0.9))
    assert text.startswith("SGD (") and "Parameter Group 0" in text and "Parameter Group 1" in text
    assert "momentum: 0.9" in text
