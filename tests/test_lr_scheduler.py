"""relulab.optim.lr_scheduler against torch.optim.lr_scheduler: 300-step lr sequences (group lrs and
get_last_lr(), and momentum / betas for OneCycleLR) for every scheduler, on an optimizer with two param groups of
different base lrs; chained schedulers; the lecture's warmup_cosine and noam against their formulas; validation
and the step-order warning.

torch only ever comes from the ``torch`` fixture / ``conftest.require_torch``.
"""
import math
import re
import warnings

import numpy as np
import pytest

import relulab
from relulab.optim import lr_scheduler as rl_sched

STEPS = 300
BASE_LRS = (0.1, 0.03)


# ---------------------------------------------------------------------------------------------- harness
def make_opt(lib, kind="SGD", lrs=BASE_LRS):
    """``lib`` is relulab or torch; two param groups with different base lrs."""
    params = [lib.zeros(3, requires_grad=True), lib.zeros(2, requires_grad=True)]
    groups = [{"params": [p], "lr": lr} for p, lr in zip(params, lrs)]
    if kind == "SGD":
        return lib.optim.SGD(groups, lr=0.5, momentum=0.9)
    if kind == "Adam":
        return lib.optim.Adam(groups, lr=0.5, betas=(0.9, 0.99))
    if kind == "Adagrad":
        return lib.optim.Adagrad(groups, lr=0.5)
    if kind == "RMSprop":
        return lib.optim.RMSprop(groups, lr=0.5, momentum=0.5)
    raise ValueError(kind)


def snapshot(opt, sched):
    row = [float(g["lr"]) for g in opt.param_groups] + [float(v) for v in sched.get_last_lr()]
    for g in opt.param_groups:
        if "betas" in g:
            row += [float(g["betas"][0]), float(g["betas"][1])]
        if "momentum" in g:
            row.append(float(g["momentum"]))
    return row


def run(opt, scheds, steps=STEPS, metrics=None):
    """optimizer.step() then each scheduler's step(), ``steps`` times; rows of lrs, last lrs and momenta."""
    scheds = scheds if isinstance(scheds, (list, tuple)) else [scheds]
    rows = [sum((snapshot(opt, s) for s in scheds), [])]
    for t in range(steps):
        opt.step()
        for s in scheds:
            if metrics is None:
                s.step()
            else:
                s.step(metrics[t])
        rows.append(sum((snapshot(opt, s) for s in scheds), []))
    return np.array(rows)


def compare(torch, factory, kind="SGD", steps=STEPS, metrics=None, lrs=BASE_LRS):
    ropt = make_opt(relulab, kind, lrs)
    topt = make_opt(torch, kind, lrs)
    got = run(ropt, factory(rl_sched, ropt), steps, metrics)
    want = run(topt, factory(torch.optim.lr_scheduler, topt), steps, metrics)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    return got


# ---------------------------------------------------------------------------------------------- every scheduler
SCHEDULERS = [
    pytest.param(lambda m, o: m.LambdaLR(o, lr_lambda=lambda e: 0.95 ** e), id="LambdaLR"),
    pytest.param(lambda m, o: m.LambdaLR(o, lr_lambda=[lambda e: 1.0 / (1 + e), lambda e: 0.99 ** e + 0.01 * (e % 7)]),
                 id="LambdaLR-per-group"),
    pytest.param(lambda m, o: m.MultiplicativeLR(o, lr_lambda=lambda e: 0.98), id="MultiplicativeLR"),
    pytest.param(lambda m, o: m.MultiplicativeLR(o, lr_lambda=[lambda e: 0.99, lambda e: 1.0 if e % 10 else 0.5]),
                 id="MultiplicativeLR-per-group"),
    pytest.param(lambda m, o: m.StepLR(o, step_size=30, gamma=0.5), id="StepLR"),
    pytest.param(lambda m, o: m.StepLR(o, step_size=1, gamma=0.99), id="StepLR-every-step"),
    pytest.param(lambda m, o: m.MultiStepLR(o, milestones=[30, 80, 150], gamma=0.3), id="MultiStepLR"),
    pytest.param(lambda m, o: m.MultiStepLR(o, milestones=[150, 30, 80, 80, 80, 299], gamma=0.5),
                 id="MultiStepLR-repeated-unsorted"),
    pytest.param(lambda m, o: m.ConstantLR(o, factor=0.25, total_iters=40), id="ConstantLR"),
    pytest.param(lambda m, o: m.ConstantLR(o), id="ConstantLR-defaults"),
    pytest.param(lambda m, o: m.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=50), id="LinearLR-warmup"),
    pytest.param(lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=120), id="LinearLR-decay"),
    pytest.param(lambda m, o: m.LinearLR(o), id="LinearLR-defaults"),
    pytest.param(lambda m, o: m.ExponentialLR(o, gamma=0.99), id="ExponentialLR"),
    pytest.param(lambda m, o: m.CosineAnnealingLR(o, T_max=100), id="CosineAnnealingLR-past-T_max"),
    pytest.param(lambda m, o: m.CosineAnnealingLR(o, T_max=70, eta_min=0.005), id="CosineAnnealingLR-eta_min"),
    pytest.param(lambda m, o: m.CosineAnnealingLR(o, T_max=300, eta_min=1e-4), id="CosineAnnealingLR-one-cycle"),
    pytest.param(lambda m, o: m.SequentialLR(o, [m.LinearLR(o, start_factor=0.1, total_iters=20),
                                                 m.CosineAnnealingLR(o, T_max=280)], milestones=[20]),
                 id="SequentialLR-warmup-cosine"),
    pytest.param(lambda m, o: m.SequentialLR(o, [m.ConstantLR(o, factor=0.5, total_iters=10),
                                                 m.LinearLR(o, start_factor=0.2, end_factor=1.0, total_iters=30),
                                                 m.ExponentialLR(o, gamma=0.99)], milestones=[10, 50]),
                 id="SequentialLR-three"),
    pytest.param(lambda m, o: m.SequentialLR(o, [m.ExponentialLR(o, gamma=0.9), m.StepLR(o, 40, 0.5),
                                                 m.CosineAnnealingLR(o, T_max=50, eta_min=0.001)],
                                             milestones=[25, 100]), id="SequentialLR-exp-step-cosine"),
    pytest.param(lambda m, o: m.OneCycleLR(o, max_lr=1.0, total_steps=STEPS), id="OneCycleLR-cos-SGD"),
    pytest.param(lambda m, o: m.OneCycleLR(o, max_lr=[1.0, 0.4], total_steps=STEPS, anneal_strategy="linear",
                                           pct_start=0.25), id="OneCycleLR-linear-per-group"),
    pytest.param(lambda m, o: m.OneCycleLR(o, max_lr=0.5, total_steps=STEPS, three_phase=True), id="OneCycleLR-3phase"),
    pytest.param(lambda m, o: m.OneCycleLR(o, max_lr=0.5, epochs=30, steps_per_epoch=10, three_phase=True,
                                           anneal_strategy="linear", base_momentum=[0.8, 0.7],
                                           max_momentum=[0.9, 0.95], div_factor=10.0, final_div_factor=100.0),
                 id="OneCycleLR-3phase-linear-epochs"),
    pytest.param(lambda m, o: m.OneCycleLR(o, max_lr=0.5, total_steps=STEPS, cycle_momentum=False),
                 id="OneCycleLR-no-momentum-cycle"),
]


@pytest.mark.parametrize("factory", SCHEDULERS)
def test_schedule_matches_torch(torch, factory):
    got = compare(torch, factory)
    assert len(np.unique(got[:, 0])) > 1, "the lr never changed"


@pytest.mark.parametrize("factory", [
    pytest.param(lambda m, o: m.OneCycleLR(o, max_lr=0.01, total_steps=STEPS), id="cos"),
    pytest.param(lambda m, o: m.OneCycleLR(o, max_lr=[0.01, 0.02], total_steps=STEPS, three_phase=True,
                                           anneal_strategy="linear", base_momentum=0.8, max_momentum=0.9),
                 id="3phase-linear"),
    pytest.param(lambda m, o: m.CosineAnnealingLR(o, T_max=50), id="cosine-keeps-betas"),
])
def test_schedule_with_adam_betas_matches_torch(torch, factory):
    got = compare(torch, factory, kind="Adam")
    beta2 = got[:, [5, 7]] if got.shape[1] >= 8 else None
    if beta2 is not None:
        assert np.all(beta2 == 0.99), "beta2 must stay as it was"


@pytest.mark.parametrize("factory", [
    pytest.param(lambda m, o: m.OneCycleLR(o, max_lr=0.3, total_steps=STEPS, cycle_momentum=False), id="OneCycleLR"),
    pytest.param(lambda m, o: m.ExponentialLR(o, gamma=0.98), id="ExponentialLR"),
])
def test_schedule_on_adagrad_matches_torch(torch, factory):
    compare(torch, factory, kind="Adagrad")


@pytest.mark.parametrize("factory", [
    pytest.param(lambda m, o: m.OneCycleLR(o, max_lr=0.3, total_steps=STEPS), id="OneCycleLR"),
    pytest.param(lambda m, o: m.OneCycleLR(o, max_lr=0.3, total_steps=STEPS, three_phase=True,
                                           anneal_strategy="linear"), id="OneCycleLR-3phase-linear"),
])
def test_schedule_on_rmsprop_momentum_matches_torch(torch, factory):
    compare(torch, factory, kind="RMSprop")


CLOSED_FORM = [
    pytest.param(lambda m, o: m.StepLR(o, step_size=7, gamma=0.5), id="StepLR"),
    pytest.param(lambda m, o: m.MultiStepLR(o, milestones=[3, 9, 9, 20], gamma=0.5), id="MultiStepLR"),
    pytest.param(lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=6), id="ConstantLR"),
    pytest.param(lambda m, o: m.LinearLR(o, start_factor=0.2, total_iters=8), id="LinearLR"),
    pytest.param(lambda m, o: m.ExponentialLR(o, gamma=0.9), id="ExponentialLR"),
    pytest.param(lambda m, o: m.CosineAnnealingLR(o, T_max=10, eta_min=0.001), id="CosineAnnealingLR"),
    pytest.param(lambda m, o: m.LambdaLR(o, lambda e: 0.9 ** e), id="LambdaLR"),
]


@pytest.mark.parametrize("factory", CLOSED_FORM)
def test_deprecated_step_with_epoch_matches_torch(torch, factory):
    """step(epoch) jumps to the closed form (where a scheduler has one), as torch's deprecated path."""
    ropt, topt = make_opt(relulab), make_opt(torch)
    rs, ts = factory(rl_sched, ropt), factory(torch.optim.lr_scheduler, topt)
    got, want = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's EPOCH_DEPRECATION_WARNING
        for epoch in [1, 2, 5, 3, 12, 20, 4, 30, 0]:
            ropt.step()
            topt.step()
            rs.step(epoch)
            ts.step(epoch)
            got.append(rs.get_last_lr() + [g["lr"] for g in ropt.param_groups])
            want.append(ts.get_last_lr() + [g["lr"] for g in topt.param_groups])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    assert rs.last_epoch == ts.last_epoch == 0


def test_onecycle_momentum_actually_cycles(torch):
    got = compare(torch, lambda m, o: m.OneCycleLR(o, max_lr=1.0, total_steps=STEPS))
    momentum = got[:, 4]  # SGD rows: lr0, lr1, last0, last1, momentum0, momentum1
    assert momentum[0] == pytest.approx(0.95) and momentum.min() == pytest.approx(0.85)
    assert np.argmin(momentum) == np.argmax(got[:, 0])  # momentum low where the lr peaks


def test_onecycle_requires_momentum_when_cycling():
    with pytest.raises(ValueError, match="momentum"):
        rl_sched.OneCycleLR(make_opt(relulab, "Adagrad"), max_lr=0.1, total_steps=10)


def test_onecycle_stepping_past_total_steps_raises(torch):
    for mod, lib in ((rl_sched, relulab), (torch.optim.lr_scheduler, torch)):
        opt = make_opt(lib)
        sched = mod.OneCycleLR(opt, max_lr=0.1, total_steps=10)
        for _ in range(10):
            opt.step()
            sched.step()
        with pytest.raises(ValueError, match="Tried to step 11 times"):
            opt.step()
            sched.step()


# ---------------------------------------------------------------------------------------------- ReduceLROnPlateau
def plateau_metrics(mode):
    """Improvements every 25 steps separated by plateaus with small wiggles (not improvements)."""
    t = np.arange(STEPS)
    base = 1.0 / (1.0 + t // 25) + 1e-5 * ((t * 7) % 5)
    return list(base if mode == "min" else -base + 3.0)


PLATEAU_CASES = [
    pytest.param(dict(mode="min"), id="min-defaults"),
    pytest.param(dict(mode="min", patience=3, factor=0.5), id="min-rel-patience3"),
    pytest.param(dict(mode="min", patience=3, factor=0.5, threshold=1e-3, threshold_mode="abs"), id="min-abs"),
    pytest.param(dict(mode="min", patience=2, factor=0.5, threshold=0.2, threshold_mode="rel"),
                 id="min-rel-large-threshold"),
    pytest.param(dict(mode="max", patience=3, factor=0.5), id="max-rel"),
    pytest.param(dict(mode="max", patience=3, factor=0.5, threshold=0.05, threshold_mode="abs"), id="max-abs"),
    pytest.param(dict(mode="min", patience=2, factor=0.3, cooldown=6), id="min-cooldown"),
    pytest.param(dict(mode="max", patience=1, factor=0.5, cooldown=3, threshold_mode="abs", threshold=0.0),
                 id="max-cooldown-abs"),
    pytest.param(dict(mode="min", patience=1, factor=0.5, min_lr=0.004), id="min-lr-floor"),
    pytest.param(dict(mode="min", patience=1, factor=0.5, min_lr=[0.01, 1e-3]), id="min-lr-per-group"),
    pytest.param(dict(mode="min", patience=0, factor=0.9, eps=1e-3), id="eps-stops-tiny-updates"),
]


@pytest.mark.parametrize("kwargs", PLATEAU_CASES)
def test_reduce_lr_on_plateau_matches_torch(torch, kwargs):
    metrics = plateau_metrics(kwargs["mode"])
    got = compare(torch, lambda m, o: m.ReduceLROnPlateau(o, **kwargs), metrics=metrics)
    assert got[-1, 0] < got[0, 0], "the lr was never reduced"


def test_reduce_lr_on_plateau_with_a_0d_tensor_metric(torch):
    ropt, topt = make_opt(relulab), make_opt(torch)
    rs = rl_sched.ReduceLROnPlateau(ropt, patience=1)
    ts = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, patience=1)
    for _ in range(5):
        rs.step(relulab.tensor(1.0))
        ts.step(torch.tensor(1.0))
    assert rs.get_last_lr() == ts.get_last_lr()
    assert rs.num_bad_epochs == ts.num_bad_epochs and rs.best == ts.best


# ---------------------------------------------------------------------------------------------- chained
CHAINS = [
    pytest.param(lambda m, o: [m.ExponentialLR(o, gamma=0.99), m.StepLR(o, step_size=50, gamma=0.5)],
                 id="Exponential+Step"),
    pytest.param(lambda m, o: [m.LinearLR(o, start_factor=0.1, total_iters=20), m.MultiStepLR(o, [100, 200], 0.1)],
                 id="Linear+MultiStep"),
    pytest.param(lambda m, o: [m.CosineAnnealingLR(o, T_max=120, eta_min=1e-3), m.ExponentialLR(o, gamma=0.995)],
                 id="Cosine+Exponential"),
    pytest.param(lambda m, o: [m.ConstantLR(o, factor=0.5, total_iters=30), m.MultiplicativeLR(o, lambda e: 0.995),
                               m.StepLR(o, step_size=70, gamma=0.7)], id="Constant+Multiplicative+Step"),
]


@pytest.mark.parametrize("factory", CHAINS)
def test_chained_schedulers_match_torch(torch, factory):
    compare(torch, factory)


# ---------------------------------------------------------------------------------------------- lecture schedules
def _lrs_after_each_step(opt, sched, steps):
    out = [[g["lr"] for g in opt.param_groups]]
    for _ in range(steps):
        opt.step()
        sched.step()
        out.append([g["lr"] for g in opt.param_groups])
    return np.array(out)  # row t holds the lr used at step t


def test_warmup_cosine_formula():
    w, total, m = 10, 100, 0.1
    opt = make_opt(relulab)
    sched = rl_sched.warmup_cosine(opt, warmup_steps=w, total_steps=total, min_factor=m)
    lrs = _lrs_after_each_step(opt, sched, 150)
    for t in [0, 1, 5, 9, 10, 11, 30, 55, 99, 100, 120, 149]:
        if t < w:
            factor = (t + 1) / w
        else:
            p = min((t - w) / (total - w), 1.0)
            factor = m + (1 - m) * (1 + math.cos(math.pi * p)) / 2
        np.testing.assert_allclose(lrs[t], np.array(BASE_LRS) * factor, rtol=1e-12)
    np.testing.assert_allclose(lrs[0], np.array(BASE_LRS) / w, rtol=1e-12)  # the first step is already warm
    np.testing.assert_allclose(lrs[w - 1], BASE_LRS, rtol=1e-12)  # base lr at the end of the warmup...
    np.testing.assert_allclose(lrs[w], BASE_LRS, rtol=1e-12)      # ...where the cosine starts
    assert np.all(np.diff(lrs[:w, 0]) > 0) and np.all(np.diff(lrs[w:total + 1, 0]) < 0)
    np.testing.assert_allclose(lrs[total], np.array(BASE_LRS) * m, rtol=1e-12)  # min at total_steps
    np.testing.assert_allclose(lrs[total:], np.tile(np.array(BASE_LRS) * m, (len(lrs) - total, 1)), rtol=1e-12)


def test_warmup_cosine_default_min_factor_reaches_zero():
    opt = make_opt(relulab)
    lrs = _lrs_after_each_step(opt, rl_sched.warmup_cosine(opt, 5, 50), 50)
    np.testing.assert_allclose(lrs[4], BASE_LRS, rtol=1e-12)
    assert np.all(np.abs(lrs[50]) < 1e-15)


def test_warmup_cosine_without_warmup():
    opt = make_opt(relulab)
    lrs = _lrs_after_each_step(opt, rl_sched.warmup_cosine(opt, 0, 40), 40)
    np.testing.assert_allclose(lrs[0], BASE_LRS, rtol=1e-12)
    np.testing.assert_allclose(lrs[20], np.array(BASE_LRS) * 0.5, rtol=1e-12)


def test_warmup_cosine_matches_torch_lambda(torch):
    w, total, m = 15, 200, 0.05

    def factor(t):
        if t < w:
            return (t + 1) / w
        p = min((t - w) / (total - w), 1.0)
        return m + (1 - m) * (1 + math.cos(math.pi * p)) / 2

    compare(torch, lambda mod, o: rl_sched.warmup_cosine(o, w, total, m) if mod is rl_sched
            else mod.LambdaLR(o, factor))


@pytest.mark.parametrize("d_model, w", [(512, 400), (64, 50), (16, 1)])
def test_noam_formula(d_model, w):
    opt = make_opt(relulab, lrs=(1.0, 2.0))
    steps = max(3 * w, 100)
    lrs = _lrs_after_each_step(opt, rl_sched.noam(opt, d_model, w), steps)
    for step in sorted(s for s in {0, 1, w // 2, w - 2, w - 1, w, w + 1, 2 * w, steps} if s >= 0):
        t = step + 1
        expected = d_model ** -0.5 * min(t ** -0.5, t * w ** -1.5)
        np.testing.assert_allclose(lrs[step], [expected, 2 * expected], rtol=1e-12)
    peak = int(np.argmax(lrs[:, 0]))
    assert peak + 1 == w  # the peak is at t = warmup_steps (step index w - 1)
    np.testing.assert_allclose(lrs[peak, 0], (d_model * w) ** -0.5, rtol=1e-12)
    if w > 1:
        assert np.all(np.diff(lrs[:w, 0]) > 0)  # linear growth during the warmup
        np.testing.assert_allclose(lrs[1:w, 0] / lrs[0, 0], np.arange(2, w + 1), rtol=1e-10)
    assert np.all(np.diff(lrs[w - 1:, 0]) < 0)  # then 1/sqrt(t) decay


@pytest.mark.parametrize("d_model, w", [(512, 40), (32, 7)])
def test_noam_matches_torch_lambda(torch, d_model, w):
    formula = lambda step: d_model ** -0.5 * min((step + 1) ** -0.5, (step + 1) * w ** -1.5)  # noqa: E731
    compare(torch, lambda mod, o: rl_sched.noam(o, d_model, w) if mod is rl_sched else mod.LambdaLR(o, formula),
            lrs=(1.0, 0.5))


def test_noam_and_warmup_cosine_reject_bad_arguments():
    opt = make_opt(relulab)
    for bad in [(0, 10), (-1, 10), (512, 0)]:
        with pytest.raises(ValueError, match=re.escape(f"{bad[0]} and {bad[1]}")):
            rl_sched.noam(opt, *bad)


# ---------------------------------------------------------------------------------------------- validation
@pytest.mark.parametrize("start_factor", [0, 0.0, 1.5, -0.5])
def test_linear_lr_bad_start_factor(start_factor):
    with pytest.raises(ValueError, match=re.escape(str(start_factor))):
        rl_sched.LinearLR(make_opt(relulab), start_factor=start_factor)


@pytest.mark.parametrize("end_factor", [1.5, -0.1])
def test_linear_lr_bad_end_factor(end_factor):
    with pytest.raises(ValueError, match=re.escape(str(end_factor))):
        rl_sched.LinearLR(make_opt(relulab), end_factor=end_factor)


@pytest.mark.parametrize("factor", [1.5, -0.25])
def test_constant_lr_bad_factor(factor):
    with pytest.raises(ValueError, match=re.escape(str(factor))):
        rl_sched.ConstantLR(make_opt(relulab), factor=factor)


def test_bad_factors_leave_the_optimizer_alone():
    opt = make_opt(relulab)
    with pytest.raises(ValueError):
        rl_sched.LinearLR(opt, start_factor=0)
    assert [g["lr"] for g in opt.param_groups] == list(BASE_LRS)


@pytest.mark.parametrize("milestones", [[], [10, 20], [5, 10, 15]])
def test_sequential_lr_wrong_milestone_count(milestones):
    opt = make_opt(relulab)
    scheds = [rl_sched.ConstantLR(opt, factor=0.5, total_iters=5), rl_sched.ExponentialLR(opt, gamma=0.9)]
    with pytest.raises(ValueError, match=rf"2 schedulers and {len(milestones)} milestones"):
        rl_sched.SequentialLR(opt, scheds, milestones=milestones)


def test_sequential_lr_other_bad_input():
    opt, other = make_opt(relulab), make_opt(relulab)
    with pytest.raises(ValueError, match="at least one"):
        rl_sched.SequentialLR(opt, [], milestones=[])
    with pytest.raises(ValueError, match="same optimizer"):
        rl_sched.SequentialLR(opt, [rl_sched.ExponentialLR(opt, 0.9), rl_sched.ExponentialLR(other, 0.9)], [5])
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        rl_sched.SequentialLR(opt, [rl_sched.ExponentialLR(opt, 0.9), rl_sched.ReduceLROnPlateau(opt)], [5])


@pytest.mark.parametrize("kwargs", [dict(), dict(epochs=3), dict(steps_per_epoch=3), dict(epochs=None)])
def test_onecycle_without_total_steps_or_epochs(kwargs):
    with pytest.raises(ValueError, match="total_steps OR"):
        rl_sched.OneCycleLR(make_opt(relulab), max_lr=0.1, **kwargs)


@pytest.mark.parametrize("kwargs, value", [
    (dict(total_steps=0), "0"), (dict(total_steps=-5), "-5"), (dict(total_steps=2.5), "2.5"),
    (dict(epochs=0, steps_per_epoch=3), "0"), (dict(epochs=3, steps_per_epoch=-1), "-1"),
    (dict(total_steps=10, pct_start=1.5), "1.5"), (dict(total_steps=10, pct_start=1), "1"),
    (dict(total_steps=10, anneal_strategy="cosine"), "cosine"),
])
def test_onecycle_bad_arguments(kwargs, value):
    with pytest.raises(ValueError, match=re.escape(value)):
        rl_sched.OneCycleLR(make_opt(relulab), max_lr=0.1, **kwargs)


def test_per_group_list_of_wrong_length():
    with pytest.raises(ValueError, match="expected 2 values for max_lr, got 3"):
        rl_sched.OneCycleLR(make_opt(relulab), max_lr=[0.1, 0.2, 0.3], total_steps=10)
    with pytest.raises(ValueError, match="lr_lambda"):
        rl_sched.LambdaLR(make_opt(relulab), [lambda e: 1.0])
    with pytest.raises(ValueError, match="min_lr"):
        rl_sched.ReduceLROnPlateau(make_opt(relulab), min_lr=[0.1])


@pytest.mark.parametrize("factor", [1.0, 1.5])
def test_reduce_lr_on_plateau_factor_must_be_below_one(factor):
    with pytest.raises(ValueError, match=re.escape(str(factor))):
        rl_sched.ReduceLROnPlateau(make_opt(relulab), factor=factor)


def test_reduce_lr_on_plateau_bad_modes():
    with pytest.raises(ValueError, match="middle"):
        rl_sched.ReduceLROnPlateau(make_opt(relulab), mode="middle")
    with pytest.raises(ValueError, match="relative"):
        rl_sched.ReduceLROnPlateau(make_opt(relulab), threshold_mode="relative")


@pytest.mark.parametrize("w, total", [(10, 10), (11, 10), (-1, 10)])
def test_warmup_cosine_needs_warmup_below_total(w, total):
    with pytest.raises(ValueError, match=rf"{w} and {total}"):
        rl_sched.warmup_cosine(make_opt(relulab), warmup_steps=w, total_steps=total)


def test_scheduler_needs_an_optimizer():
    with pytest.raises(TypeError, match="not an Optimizer"):
        rl_sched.StepLR(object(), step_size=3)
    with pytest.raises(TypeError, match="not an Optimizer"):
        rl_sched.ReduceLROnPlateau(object())


def test_resuming_without_initial_lr_raises():
    with pytest.raises(KeyError, match="initial_lr"):
        rl_sched.StepLR(make_opt(relulab), step_size=3, last_epoch=5)


def test_resuming_with_last_epoch(torch):
    """Constructed with last_epoch=k after a first scheduler set initial_lr, as torch."""
    def factory(m, o):
        m.StepLR(o, step_size=10, gamma=0.5)  # sets initial_lr
        return m.StepLR(o, step_size=10, gamma=0.5, last_epoch=25)

    compare(torch, factory, steps=50)


# ---------------------------------------------------------------------------------------------- step order warning
def test_warns_when_scheduler_steps_before_optimizer():
    opt = make_opt(relulab)
    sched = rl_sched.StepLR(opt, step_size=3)
    with pytest.warns(UserWarning, match=r"before optimizer\.step\(\)"):
        sched.step()


def test_torch_warns_too(torch):
    opt = make_opt(torch)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=3)
    with pytest.warns(UserWarning, match=r"before `optimizer\.step\(\)`"):
        sched.step()


def test_no_warning_in_the_right_order():
    opt = make_opt(relulab)
    sched = rl_sched.OneCycleLR(opt, max_lr=0.1, total_steps=20)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(5):
            opt.step()
            sched.step()


def test_warning_only_on_the_first_scheduler_step():
    opt = make_opt(relulab)
    sched = rl_sched.ExponentialLR(opt, gamma=0.9)
    with pytest.warns(UserWarning):
        sched.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()  # warned once is enough, as torch


def test_get_last_lr_is_a_list_of_floats(torch):
    for mod, lib in ((rl_sched, relulab), (torch.optim.lr_scheduler, torch)):
        opt = make_opt(lib)
        sched = mod.StepLR(opt, step_size=2)
        assert isinstance(sched.get_last_lr(), list) and sched.get_last_lr() == list(BASE_LRS)
