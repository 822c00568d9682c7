"""CosineAnnealingWarmRestarts, CyclicLR, PolynomialLR and ChainedScheduler against torch: 300-step lr (and
momentum) sequences on two param groups, with the harness of tests/test_lr_scheduler.py."""
import pytest

from relulab.optim import lr_scheduler as rl_sched
from test_lr_scheduler import compare, make_opt
import relulab

SCHEDULERS = [
    pytest.param(lambda m, o: m.PolynomialLR(o, total_iters=100), id="PolynomialLR"),
    pytest.param(lambda m, o: m.PolynomialLR(o, total_iters=250, power=2.0), id="PolynomialLR-power2"),
    pytest.param(lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=40), id="WarmRestarts"),
    pytest.param(lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=10, T_mult=2, eta_min=0.001),
                 id="WarmRestarts-Tmult2"),
    pytest.param(lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=25), id="CyclicLR-triangular"),
    pytest.param(lambda m, o: m.CyclicLR(o, base_lr=[0.01, 0.001], max_lr=[0.1, 0.05], step_size_up=20,
                                         step_size_down=30, mode="triangular2"), id="CyclicLR-triangular2"),
    pytest.param(lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=15, mode="exp_range",
                                         gamma=0.995, base_momentum=0.7, max_momentum=0.95), id="CyclicLR-exp-range"),
    pytest.param(lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=10, cycle_momentum=False,
                                         scale_fn=lambda x: 1 / (1 + 0.01 * x), scale_mode="iterations"),
                 id="CyclicLR-scale-fn"),
    pytest.param(lambda m, o: m.ChainedScheduler([m.ConstantLR(o, factor=0.5, total_iters=20),
                                                  m.ExponentialLR(o, gamma=0.99)]), id="ChainedScheduler"),
    pytest.param(lambda m, o: m.ChainedScheduler([m.LinearLR(o, 0.1, total_iters=30), m.StepLR(o, 60, 0.5),
                                                  m.PolynomialLR(o, total_iters=280)]), id="ChainedScheduler-three"),
]


@pytest.mark.parametrize("factory", SCHEDULERS)
def test_schedule_matches_torch(torch, factory):
    compare(torch, factory)


@pytest.mark.parametrize("factory", SCHEDULERS[4:8])
def test_cyclic_on_adam_cycles_beta1_like_torch(torch, factory):
    compare(torch, factory, kind="Adam")


def test_warm_restarts_with_fractional_epochs_match_torch(torch):
    ropt, topt = make_opt(relulab), make_opt(torch)
    rs = rl_sched.CosineAnnealingWarmRestarts(ropt, T_0=5, T_mult=2)
    ts = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(topt, T_0=5, T_mult=2)
    for step in range(60):
        epoch = step / 4
        ropt.step()
        topt.step()
        rs.step(epoch)
        ts.step(epoch)
        assert [g["lr"] for g in ropt.param_groups] == pytest.approx([g["lr"] for g in topt.param_groups], rel=1e-12)


def test_cyclic_needs_momentum_and_warm_restarts_validate():
    opt = make_opt(relulab, "Adagrad")
    with pytest.raises(ValueError, match="optimizer must support momentum"):
        rl_sched.CyclicLR(opt, 0.01, 0.1)
    with pytest.raises(ValueError, match="Expected positive integer T_0"):
        rl_sched.CosineAnnealingWarmRestarts(make_opt(relulab), T_0=0)
    with pytest.raises(ValueError, match="at least one scheduler"):
        rl_sched.ChainedScheduler([])


def test_chained_scheduler_state_round_trips():
    opt = make_opt(relulab)
    sched = rl_sched.ChainedScheduler([rl_sched.StepLR(opt, 3, 0.5), rl_sched.ExponentialLR(opt, 0.9)])
    for _ in range(7):
        opt.step()
        sched.step()
    state = sched.state_dict()
    opt2 = make_opt(relulab)
    twin = rl_sched.ChainedScheduler([rl_sched.StepLR(opt2, 3, 0.5), rl_sched.ExponentialLR(opt2, 0.9)])
    twin.load_state_dict(state)
    assert [s.last_epoch for s in twin._schedulers] == [7, 7]
