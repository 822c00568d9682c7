"""Lecture 2's training-guide lab (deeper_worse, model_bias, local_minima, overfitting) and the helpers every
lecture-2 guide/remedies/batch experiment shares (lecture2_common): one --quick run follows the method, each
control comes out "not reproduced", each criterion is checked on constructed per-seed numbers, and the stacked
training matches plain training."""
import numpy as np
import pytest
from labcheck import assert_follows_method, run_quick

import relulab
from relulab import nn, optim
from relulab.labs import VERDICTS, lecture2_guide as guide
from relulab.labs.ensemble import member_mse
from relulab.labs.lecture2_common import (Grid, MemberBatches, MemberLR, fit, losses, masked_mse, member_net, stack,
                                          tensor)

# The verdicts of the --quick run at lab seed 0, each explained in the report (see the experiments' `because`).
# model_bias was "reproduced" while the labs drew weights from NumPy; with PyTorch's generator (issue 17) the
# linear model of the second seed, at the lr chosen on validation (0.003), ends at 0.469 against its optimum 0.370
# within --quick's budget, so "the small model is biased" holds on 2 of 3 seeds.
EXPECTED = {"deeper_worse": "reproduced", "model_bias": "partly reproduced", "local_minima": "reproduced",
            "overfitting": "partly reproduced"}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    return run_quick(guide.EXPERIMENTS, tmp_path_factory, "lecture2_guide")


def test_every_experiment_is_registered():
    assert [e.key for e in guide.EXPERIMENTS] == list(EXPECTED)


@pytest.mark.parametrize("key", list(EXPECTED))
def test_quick_run_follows_the_method(outcomes, key):
    assert EXPECTED[key] in VERDICTS
    assert_follows_method(outcomes, key, EXPECTED[key])


def test_deep_copy_and_doctor_evidence(outcomes):
    _, results = outcomes
    rows = [r for r in results["deeper_worse"].table if isinstance(r["seed"], int)]
    for r in rows:  # the deep net's copy of the shallow net is the same function
        assert r["deep copy train"] == pytest.approx(r["shallow train"], rel=1e-3)
    assert results["deeper_worse"].numbers["doctor_verdict"] == "not run"  # full mode only


# --------------------------------------------------------------------------------------------- the criteria
def _deeper_rows(deep, copy_factor=1.0):
    return [{"shallow train": 0.01, "deep train": d, "deep copy train": 0.01 * copy_factor} for d in deep]


def test_judge_deeper():
    assert guide._judge_deeper(_deeper_rows([0.2] * 5))[0] == "reproduced"
    assert guide._judge_deeper(_deeper_rows([0.0101] * 5))[0] == "not reproduced"    # identical arms
    assert guide._judge_deeper(_deeper_rows([0.2, 0.2, 0.2, 0.01, 0.01]))[0] == "partly reproduced"
    assert guide._judge_deeper(_deeper_rows([0.2] * 5, copy_factor=2.0))[0] == "partly reproduced"  # no copy


def _bias_rows(linear, optimum, bigger, variance=0.5, n=5):
    return [{"linear train": linear, "linear optimum": optimum, "variance": variance, "bigger train": bigger}] * n


def test_judge_bias():
    assert guide._judge_bias(_bias_rows(0.4, 0.39, 0.01))[0] == "reproduced"
    assert guide._judge_bias(_bias_rows(0.01, 0.0099, 0.0098))[0] == "not reproduced"  # a line fits
    assert guide._judge_bias(_bias_rows(0.4, 0.39, 0.3))[0] == "partly reproduced"     # capacity does not help
    assert guide._judge_bias(_bias_rows(0.4, 0.2, 0.01))[0] == "partly reproduced"     # the line was not trained


def test_judge_minima():
    def rows(local, found):
        return [{"local share": local, "global share": found}] * 5
    assert guide._judge_minima(rows(0.4, 0.5))[0] == "reproduced"
    assert guide._judge_minima(rows(0.0, 1.0))[0] == "not reproduced"
    assert guide._judge_minima(rows(0.4, 0.0))[0] == "partly reproduced"


def _overfit_rows(gaps, tests, n=5):
    names = ("large n", "medium n", "small n")
    return [{**{f"gap ({a})": g for a, g in zip(names, gaps)}, **{f"test ({a})": t for a, t in zip(names, tests)}}] * n


def test_judge_overfitting():
    assert guide._judge_overfitting(_overfit_rows((0.0, 0.03, 0.1), (0.09, 0.12, 0.2)))[0] == "reproduced"
    assert guide._judge_overfitting(_overfit_rows((0.02, 0.02, 0.021), (0.1, 0.1, 0.1)))[0] == "not reproduced"
    assert guide._judge_overfitting(_overfit_rows((0.0, 0.03, 0.1), (0.1, 0.1, 0.1)))[0] == "partly reproduced"


# ---------------------------------------------------------------------------------------- shared machinery
def test_grid_layout():
    grid = Grid(2, 3, 4)
    assert grid.count == 24 and grid.index(1, 2, 3) == 23
    m = grid.index(1, 0, 2)
    assert (grid.arm[m], grid.setting[m], grid.seed[m]) == (1, 0, 2)
    values = np.arange(24.0)
    choice = np.array([[0, 1, 2, 0], [2, 2, 2, 2]])
    assert grid.at(values, choice).tolist() == [[0, 5, 10, 3], [20, 21, 22, 23]]
    assert grid.choose(-values).tolist() == [[2] * 4, [2] * 4]
    model = stack([1, 3, 1], grid.count, 0, grid.starts)
    w = model.weight_0_0.detach().numpy()
    assert np.array_equal(w[grid.index(0, 0, 1)], w[grid.index(0, 2, 1)])      # settings share a start
    assert not np.array_equal(w[grid.index(0, 0, 1)], w[grid.index(1, 0, 1)])  # arms do not


@pytest.mark.parametrize("name, options", [("Adam", {}), ("SGD", {"momentum": 0.9})])
def test_member_lr_matches_separate_optimizers(name, options):
    """Each member of a stack, stepped by MemberLR with its own lr (and L2), moves exactly like a plain net
    stepped by the optimizer alone with that lr and the penalty λ·Σw² in its loss."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(3, 20, 1)), rng.normal(size=(3, 20, 1))
    lrs, lam = np.array([1e-3, 1e-2, 5e-2]), np.array([0.0, 1e-2, 1e-1])
    model = stack([1, 8, 1], 3, 0)
    nets = [member_net(model, m, nn.ReLU) for m in range(3)]
    weights = [p for n, p in model.named_parameters() if n.startswith("weight")]
    fit(model, member_mse, x, y, MemberLR(model.parameters(), name, lrs, l2=lam, penalized=weights, **options), 30)
    for m, net in enumerate(nets):
        opt = getattr(optim, name)(net.parameters(), lr=lrs[m], **options)
        for _ in range(30):
            penalty = sum((layer.weight * layer.weight).sum() for layer in (net[0], net[2]))
            loss = nn.MSELoss()(net(tensor(x[m])), tensor(y[m])) + penalty * float(lam[m])
            opt.zero_grad()
            loss.backward()
            opt.step()
        trained = member_net(model, m, nn.ReLU)
        for a, b in zip(net.parameters(), trained.parameters()):
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-4, atol=1e-6)


def test_member_lr_refuses_weight_decay():
    with pytest.raises(ValueError, match="weight_decay"):
        MemberLR(stack([1, 2, 1], 1, 0).parameters(), "Adam", [1e-3], weight_decay=0.1)


def test_member_batches_orders():
    y = np.array([2, 0, 1, 0, 2, 1, 1, 0])
    sorted_rows = np.argsort(y, kind="stable")
    batches = MemberBatches(8, 3, ["reshuffle", "once", sorted_rows], [1, 2, 3])
    assert batches.per_epoch == 3
    epochs = [np.concatenate([batches.rows(e * 3 + j) for j in range(3)], axis=1) for e in range(2)]
    for epoch in epochs:  # every epoch visits every row once, the last batch smaller
        assert all(sorted(row) == list(range(8)) for row in epoch)
    assert not np.array_equal(epochs[0][0], epochs[1][0])   # reshuffled
    assert np.array_equal(epochs[0][1], epochs[1][1])       # one permutation kept
    assert np.array_equal(epochs[0][2], sorted_rows)        # the stored order
    with pytest.raises(ValueError, match="order"):
        MemberBatches(8, 3, ["shuffled"], [0])


def test_masked_mse_is_each_members_own_mean():
    rng = np.random.default_rng(1)
    out, target = rng.normal(size=(2, 5, 1)), rng.normal(size=(2, 5, 1))
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]])
    got = masked_mse(mask)(tensor(out), tensor(target)).numpy()
    want = [np.mean((out[0] - target[0]) ** 2), np.mean((out[1, :2] - target[1, :2]) ** 2)]
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_losses_mark_a_diverged_member_infinite():
    model = stack([1, 2, 1], 2, 0)
    model.weight_0_1.data.numpy()[1] = np.inf
    x = np.zeros((2, 3, 1))
    values = losses(model, member_mse, x + 1, x)
    assert np.isfinite(values[0]) and values[1] == np.inf


def test_deep_copy_computes_the_shallow_net():
    relulab.manual_seed(0)
    shallow = nn.Sequential(nn.Linear(1, 5), nn.Sigmoid(), nn.Linear(5, 1))
    x = np.linspace(-2, 2, 50)[:, None]
    with relulab.no_grad():
        want = shallow(tensor(x)).numpy()
        got = guide._deep_copy(shallow, 6)(tensor(x, np.float64)).numpy()
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_local_minimum_check_on_a_known_surface():
    """Two bumps: descents from the right end at the taller bump (global), from the left at the other (local)."""
    rng = np.random.default_rng(0)
    x, y = guide._bump_data(rng, guide.BUMPS, noise=0.0, even=True)
    ends, loss, g, h = guide._descend(x[None], y[None], np.array([[2.5, -2.5]]))
    assert ends[0, 0] == pytest.approx(1.5, abs=0.05) and ends[0, 1] == pytest.approx(-1.5, abs=0.1)
    assert loss[0, 1] > loss[0, 0] and (np.abs(g) < 1e-6).all() and (h > 0).all()


def test_doctor_runs_on_a_member(monkeypatch):
    """The full-mode doctor call works with the doctor's API (a tiny budget keeps it fast)."""
    monkeypatch.setattr(guide, "DOCTOR_UPDATES", 8)

    class Full:
        quick = False
    model = stack([1, 4, 1], 2, 0, activation=relulab.tanh)
    x, y = guide.wave(30, np.random.default_rng(0))
    history = fit(model, member_mse, np.stack([x, x]), np.stack([y, y]),
                  MemberLR(model.parameters(), "Adam", [1e-2, 1e-2]), 5)
    verdict, sentence = guide._doctor(Full(), model, 0, nn.Tanh, x, y, history, 1e-2, 5, "a small net")
    assert verdict in relulab.analysis.VERDICTS and "a small net" in sentence
