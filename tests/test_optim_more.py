"""Adadelta, Adamax, NAdam and RAdam against torch.optim: 200-step lock-step parameter trajectories over a grid
of flags (the harness of tests/test_optim.py), state_dict round trips, and the scheduler warning for an
optimizer subclass that overrides step()."""
import itertools
import warnings

import numpy as np
import pytest

import relulab
from relulab.optim import lr_scheduler as rl_sched
from test_optim import STEPS, assert_traj, flat_rl, lockstep, rl_model, torch_model


def _grid(name, lr, **axes):
    keys = list(axes)
    out = []
    for values in itertools.product(*(axes[k] for k in keys)):
        kw = {"lr": lr, **dict(zip(keys, values))}
        out.append(pytest.param(name, kw, id="-".join([name] + [f"{k}={v}" for k, v in kw.items() if k != "lr"])))
    return out


CASES = (
    _grid("Adadelta", 1.0, rho=[0.9, 0.5], weight_decay=[0, 0.1], maximize=[False, True])
    + _grid("Adadelta", 0.5, eps=[1e-3])
    + _grid("Adamax", 0.01, betas=[(0.9, 0.999), (0.8, 0.99)], weight_decay=[0, 0.1], maximize=[False, True])
    + _grid("Adamax", 0.01, eps=[1e-3])
    + _grid("NAdam", 0.01, betas=[(0.9, 0.999), (0.8, 0.99)], weight_decay=[0, 0.1], decoupled_weight_decay=[False, True])
    + _grid("NAdam", 0.01, momentum_decay=[0.1], maximize=[True])
    + _grid("RAdam", 0.01, betas=[(0.9, 0.999), (0.8, 0.9)], weight_decay=[0, 0.1], decoupled_weight_decay=[False, True])
    + _grid("RAdam", 0.01, eps=[1e-3], maximize=[True])
)


@pytest.mark.parametrize("name, kwargs", CASES)
def test_trajectory_matches_torch(torch, name, kwargs):
    sign = -1.0 if kwargs.get("maximize") else 1.0
    rm, tm = rl_model(), torch_model(torch)
    ropt = getattr(relulab.optim, name)(rm.parameters(), **kwargs)
    topt = getattr(torch.optim, name)(tm.parameters(), **kwargs)
    got, want = lockstep(torch, rm, ropt, tm, topt, STEPS, sign)
    assert np.abs(got[-1] - flat_rl(rl_model())).max() > 1e-3, "the parameters did not move"
    assert_traj(got, want)


@pytest.mark.parametrize("name", ["Adadelta", "Adamax", "NAdam", "RAdam"])
def test_defaults_and_state_keys_match_torch(torch, name):
    rm, tm = rl_model(), torch_model(torch)
    ropt, topt = getattr(relulab.optim, name)(rm.parameters()), getattr(torch.optim, name)(tm.parameters())
    for key, value in topt.defaults.items():
        assert ropt.defaults[key] == value, key
    got, want = lockstep(torch, rm, ropt, tm, topt, 3)
    assert_traj(got, want)
    rstate, tstate = ropt.state_dict()["state"][0], topt.state_dict()["state"][0]
    assert sorted(rstate) == sorted(tstate)


@pytest.mark.parametrize("name", ["Adadelta", "NAdam", "RAdam"])
def test_state_dict_resumes_exactly(name, tmp_path):
    kwargs = {"lr": 0.01} if name != "Adadelta" else {}
    straight = rl_model()
    opt = getattr(relulab.optim, name)(straight.parameters(), **kwargs)
    from test_optim import rl_loss
    for _ in range(10):
        opt.zero_grad()
        rl_loss(straight).backward()
        opt.step()
    resumed = rl_model()
    first = getattr(relulab.optim, name)(resumed.parameters(), **kwargs)
    for _ in range(5):
        first.zero_grad()
        rl_loss(resumed).backward()
        first.step()
    relulab.save({"model": resumed.state_dict(), "opt": first.state_dict()}, tmp_path / "ck.safetensors")
    ck = relulab.load(tmp_path / "ck.safetensors")
    again = rl_model()
    again.load_state_dict(ck["model"])
    second = getattr(relulab.optim, name)(again.parameters(), **kwargs)
    second.load_state_dict(ck["opt"])
    for _ in range(5):
        second.zero_grad()
        rl_loss(again).backward()
        second.step()
    if name == "NAdam":  # as in PyTorch, the loaded mu_product takes the parameters' float64: last-bit drift
        np.testing.assert_allclose(flat_rl(again), flat_rl(straight), rtol=1e-7)
    else:
        np.testing.assert_array_equal(flat_rl(again), flat_rl(straight))


def test_bad_arguments_are_refused():
    params = [relulab.zeros(2, requires_grad=True)]
    with pytest.raises(ValueError, match="Invalid rho value"):
        relulab.optim.Adadelta(params, rho=1.5)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1"):
        relulab.optim.NAdam(params, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Invalid learning rate"):
        relulab.optim.RAdam(params, lr=-1)
    with pytest.raises(ValueError, match="Invalid epsilon value"):
        relulab.optim.Adamax(params, eps=-1)


class _OwnStep(relulab.optim.Optimizer):
    """A course-style optimizer: its own step(), never calling Optimizer.step."""

    def __init__(self, params, lr=0.1):
        super().__init__(params, {"lr": lr})

    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    with relulab.no_grad():
                        p -= group["lr"] * p.grad


def test_no_spurious_warning_for_an_optimizer_that_overrides_step():
    p = relulab.ones(2, requires_grad=True)
    opt = _OwnStep([p])
    sched = rl_sched.StepLR(opt, step_size=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            (p * p).sum().backward()
            opt.step()
            sched.step()
    assert p[0].item() < 1.0


def test_the_warning_still_fires_for_it_in_the_wrong_order():
    opt = _OwnStep([relulab.ones(2, requires_grad=True)])
    sched = rl_sched.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match=r"before optimizer\.step\(\)"):
        sched.step()
