"""``analysis.doctor``'s parts: the flowchart on constructed evidence, containment per activation, the lr search,
the noise estimate, the curve shapes, the run's settings, and ``relulab diagnose`` (tests/test_doctor_verdicts.py
runs the whole doctor on constructed training runs)."""
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import relulab as rl
from relulab import nn, optim
from relulab.analysis.doctor import (PASS_THROUGH, THRESHOLDS, VERDICTS, Budget, Reference, curve_shape, diagnose,
                                     loss_scale, lr_search, nearest_neighbour_noise)
from relulab.analysis.doctor.guide import DEFAULT_UPDATES
from relulab.analysis.doctor.lr_search import DoctorData, lr_scan
from relulab.analysis.doctor.references import ACTIVATIONS, reference_plans, reinitialised
from relulab.analysis.doctor.verdict import LearningRateFinding, beats, decide, learning_rate_finding
from relulab.cli import build_parser, main
from relulab.train import load_config, train

ROOT = Path(__file__).resolve().parents[1]
T = THRESHOLDS


# ------------------------------------------------------------------------------------------ the flowchart
def _ref(kind, train, holdout=math.nan, relation=None, lr=1e-2):
    """A Reference as the doctor would report it, with a one-candidate search for its lr."""
    relation = relation or {"retrained": "same architecture", "linear": "contained exactly",
                            "shallow": "contained exactly", "bigger": "contains the model exactly"}[kind]

    class _Search:
        class best:
            pass
    _Search.best.lr = lr
    return Reference(kind, f"{kind} net", train, relation.startswith("contained") or kind == "retrained", 10,
                     relation, "", holdout, _Search)


def _evidence(train, scale=1.0, holdout_rows=50, run_holdout=None, **extra):
    e = {"train_loss": train, "fit_loss": train, "loss_scale": scale, "holdout_rows": holdout_rows,
         "holdout_loss": train if run_holdout is None else run_holdout}
    e.update(extra)
    return e


def test_beats_needs_both_the_relative_and_the_absolute_margin():
    assert beats(0.79, 1.0, 1.0, T) and not beats(0.81, 1.0, 1.0, T)       # 20 % lower
    assert not beats(0.001, 0.015, 1.0, T)                                   # 93 % lower but only 0.014 of the scale
    assert beats(0.5, math.inf, 1.0, T) and not beats(math.inf, 1.0, 1.0, T)


def test_a_retrained_twin_that_fits_better_on_both_row_sets_means_optimization():
    e = _evidence(0.5)
    verdict, reason = decide(e, [_ref("retrained", 0.05, 0.06)], None, None, False, T)
    assert verdict == "optimization" and "retrained" in reason
    # lower on the fit rows only (memorising noise) is not enough
    verdict, _ = decide(e, [_ref("retrained", 0.05, 0.9)], None, None, False, T)
    assert verdict != "optimization"


def test_losing_to_a_contained_reference_is_optimization_and_names_how_it_is_contained():
    refs = [_ref("retrained", 0.5, 0.5), _ref("linear", 0.1, 0.1, "contained approximately")]
    verdict, reason = decide(_evidence(0.5), refs, None, None, False, T)
    assert verdict == "optimization" and "approximately" in reason and "56-layer" in reason


def test_a_named_learning_rate_goes_into_the_reason():
    finding = LearningRateFinding("too small to move", 1e-4, 1e-1, "The learning rate is too small to move: ...")
    verdict, reason = decide(_evidence(0.5), [_ref("retrained", 0.05, 0.05)], None, finding, False, T)
    assert verdict == "optimization" and "too small to move" in reason


def test_model_bias_needs_the_bigger_model_to_win_on_held_out_rows_too():
    refs = [_ref("retrained", 0.5, 0.5), _ref("bigger", 0.05, 0.06)]
    assert decide(_evidence(0.5), refs, None, None, False, T)[0] == "model bias"
    memorising = [_ref("retrained", 0.5, 0.5), _ref("bigger", 0.05, 0.6)]
    assert decide(_evidence(0.5, noise_variance_nn=0.5), memorising, None, None, False, T)[0] == "noise floor"


def test_without_held_out_rows_model_bias_rests_on_the_training_loss_and_says_so():
    refs = [_ref("retrained", 0.5), _ref("bigger", 0.05)]
    verdict, reason = decide(_evidence(0.5, holdout_rows=0), refs, None, None, False, T)
    assert verdict == "model bias" and "too few rows" in reason


def test_the_noise_floor_needs_a_large_loss_a_well_trained_bigger_model_and_a_noise_like_residual():
    refs = [_ref("retrained", 0.5, 0.52), _ref("bigger", 0.48, 0.55)]
    assert decide(_evidence(0.5, noise_variance_nn=0.45), refs, None, None, False, T)[0] == "noise floor"
    # the residual is far above what neighbours in x leave: not noise
    assert decide(_evidence(0.5, noise_variance_nn=0.2), refs, None, None, False, T)[0] == "undetermined"
    # the bigger model trained clearly worse than the model: its not winning proves nothing
    weak = [_ref("retrained", 0.5, 0.52), _ref("bigger", 0.8, 0.85)]
    assert decide(_evidence(0.5, noise_variance_nn=0.45), weak, None, None, False, T)[0] == "undetermined"
    # no rows held out: noise and an under-trained reference cannot be told apart
    assert decide(_evidence(0.5, holdout_rows=0), refs, None, None, False, T)[0] == "undetermined"
    # a small loss at the floor is a good fit, not a verdict of its own
    low = [_ref("retrained", 0.1, 0.11), _ref("bigger", 0.1, 0.12)]
    assert decide(_evidence(0.1, noise_variance_nn=0.1), low, None, None, False, T)[0] == "healthy"


def test_the_noise_gate_sits_at_its_threshold():
    refs = [_ref("retrained", 0.5, 0.52), _ref("bigger", 0.48, 0.55)]
    at = 0.5 / T.noise_gate
    assert decide(_evidence(0.5, noise_variance_nn=at * 1.001), refs, None, None, False, T)[0] == "noise floor"
    assert decide(_evidence(0.5, noise_variance_nn=at * 0.999), refs, None, None, False, T)[0] == "undetermined"


def test_small_training_loss_then_the_validation_gap_decides():
    refs = [_ref("retrained", 0.01, 0.3)]
    e = _evidence(0.01, valid_loss=0.5)
    assert decide(e, refs, None, None, False, T)[0] == "overfitting"
    assert decide(e, refs, None, None, True, T)[0] == "mismatch"
    assert decide(_evidence(0.01, valid_loss=0.015), refs, None, None, False, T)[0] == "healthy"


def test_a_diverging_curve_is_optimization_even_without_references():
    shape = curve_shape([1.0, 0.5, math.inf])
    assert decide(_evidence(math.inf), [], shape, None, False, T)[0] == "optimization"
    assert decide(_evidence(0.9), [], None, None, False, T)[0] == "undetermined"


def test_every_verdict_has_remedies():
    from relulab.analysis.doctor import REMEDIES
    assert set(REMEDIES) == set(VERDICTS)
    assert all(REMEDIES[v] for v in VERDICTS)


# ---------------------------------------------------------------------------------------- the lr finding
class _Scan:
    """A stand-in for lr_search.Search with given (lr, final loss) pairs, all trained to the full budget."""

    def __init__(self, losses):
        from relulab.analysis.doctor.lr_search import Candidate, Search
        self.search = Search("SGD", {}, [Candidate(lr, 100, 25, loss, loss) for lr, loss in losses], 100)


def test_the_learning_rate_is_named_only_when_the_scan_clearly_beats_the_runs_own():
    run = Budget(optimizer="SGD", lr=1e-4)
    small = learning_rate_finding(run, None, True, _Scan([(1e-4, 0.44), (1e-2, 0.05)]).search, 1.0, T)
    assert small.cause == "too small to move" and small.best_lr == 1e-2
    large = learning_rate_finding(run, None, True, _Scan([(1e-5, 0.05), (1e-4, 0.44)]).search, 1.0, T)
    assert large.cause == "too large"
    close = learning_rate_finding(run, None, True, _Scan([(1e-4, 0.44), (1e-2, 0.40)]).search, 1.0, T)
    assert close.cause is None and "alone does not explain" in close.text
    own = learning_rate_finding(run, None, True, _Scan([(1e-4, 0.05), (1e-2, 0.40)]).search, 1.0, T)
    assert own.cause is None and "does best" in own.text
    diverged = learning_rate_finding(run, None, False, None, 1.0, T)
    assert diverged.cause == "diverged"
    zigzag = curve_shape(0.5 + 0.2 * (-1.0) ** np.arange(60), scale=1.0)
    bouncing = learning_rate_finding(run, zigzag, True, _Scan([(1e-5, 0.05), (1e-4, 0.44)]).search, 1.0, T)
    assert bouncing.cause == "oscillating" and "oscillates" in bouncing.text
    assert learning_rate_finding(run, zigzag, True, None, 1.0, T).cause == "oscillating"  # the curve alone


# ---------------------------------------------------------------------------------------- containment
def _mlp(widths, activation):
    layers = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(fan_in, fan_out), activation()]
    return nn.Sequential(*layers[:-1])


def _plans(model, d=1, k=1):
    return {p[0]: p for p in reference_plans(model, d, (k,))}


@pytest.mark.parametrize("activation, how", [(nn.ReLU, "exactly"), (nn.LeakyReLU, "exactly"),
                                             (nn.Hardsigmoid, "exactly"), (nn.Tanh, "approximately"),
                                             (nn.Sigmoid, "approximately"), (nn.Softplus, "approximately")])
def test_containment_depends_on_the_activation(activation, how):
    plans = _plans(_mlp([3, 16, 8, 1], activation), d=3)
    assert plans["linear"][4] == f"contained {how}"
    assert plans["shallow"][4] == f"contained {how}" and plans["shallow"][2] == [8]  # the narrowest width
    assert plans["bigger"][4] == "contains the model exactly"  # as deep, wider: zero weights, any activation
    assert plans["bigger"][2] == [64, 64]


def test_every_activation_has_a_containment_argument():
    assert {a.__name__ for a in ACTIVATIONS} | {"identity"} == set(PASS_THROUGH)
    assert all(how in ("exact", "approximate") for how, _ in PASS_THROUGH.values())


def test_a_linear_model_gets_bigger_references_and_no_linear_twin():
    plans = _plans(_mlp([4, 1], nn.ReLU), d=4)
    assert "linear" not in plans  # the retrained model is the linear model
    assert plans["shallow"][4] == "contains the model exactly" and plans["bigger"][4] == "contains the model exactly"


def test_a_one_hidden_layer_net_is_its_own_shallow_reference():
    plans = _plans(_mlp([2, 16, 1], nn.Tanh), d=2)
    assert "shallow" not in plans and plans["bigger"][4] == "contains the model approximately"


def test_a_bottleneck_narrower_than_the_linear_maps_rank_contains_no_linear_model():
    plans = _plans(_mlp([5, 16, 2, 16, 3], nn.ReLU), d=5, k=3)
    assert plans["linear"][4] == "not contained"


def test_a_cnn_claims_no_containment_and_is_reinitialised_afresh():
    rl.manual_seed(0)
    cnn = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 6 * 6, 3))
    plans = _plans(cnn, d=64, k=3)
    assert plans["linear"][4] == "not contained" and plans["bigger"][4].startswith("more flexible")
    twin = reinitialised(cnn, seed=1)
    assert not np.allclose(twin[0].weight.detach().numpy(), cnn[0].weight.detach().numpy())
    again = reinitialised(cnn, seed=1)
    assert np.array_equal(twin[0].weight.detach().numpy(), again[0].weight.detach().numpy())


# --------------------------------------------------------------------------------------- the lr search
def _line_data(n=64, d=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    y = (x @ np.arange(1, d + 1, dtype=np.float32)[:, None]).astype(np.float32)
    return DoctorData((x, y), None, None)


def test_successive_halving_trains_the_best_two_to_the_full_budget():
    data = _line_data()
    search = lr_search(lambda: nn.Linear(3, 1), nn.MSELoss(), data, (1e-3, 1e-2, 1e-1, 1.0), updates=40, seed=0)
    finished = [c for c in search.candidates if c.finished]
    assert len(finished) == 2 and all(c.updates == 40 for c in finished)
    assert all(c.updates == 10 for c in search.candidates if not c.finished)
    assert search.best.lr in (1e-1, 1.0) and search.best.train_loss < 0.05 * search.candidate(1e-3).train_loss
    assert search.best.model is not None and all(c.model is None for c in search.candidates if c is not search.best)


def test_the_scan_keeps_the_runs_lr_and_extends_past_the_edge():
    data = _line_data()
    scan = lr_scan(lambda: nn.Linear(3, 1), nn.MSELoss(), data, 1e-5, optimizer="SGD", updates=40, seed=0)
    lrs = [c.lr for c in scan.candidates]
    assert scan.candidate(1e-5).finished  # the control always gets the full budget
    assert max(lrs) > 1e-3 * 1.01  # went beyond the grid's top (1e-5 x 100), where the better lrs are
    assert scan.best.lr > 1e-4


def test_every_candidate_starts_from_the_same_weights():
    data = _line_data()
    starts = []

    def build():
        model = nn.Linear(3, 1)
        starts.append(model.weight.detach().numpy().copy())
        return model
    lr_search(build, nn.MSELoss(), data, (1e-3, 1e-2), updates=8, seed=5)
    assert np.array_equal(starts[0], starts[1])


# --------------------------------------------------------------------------------------- noise and scale
def test_the_nearest_neighbour_estimate_recovers_the_noise_variance():
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, size=(2000, 1))
    y = np.sin(2 * x) + 0.5 * rng.normal(size=x.shape)
    assert nearest_neighbour_noise(nn.MSELoss(), x, y) == pytest.approx(0.25, rel=0.1)
    pure = rng.normal(size=(500, 1)) * 2
    assert nearest_neighbour_noise(nn.MSELoss(), rng.normal(size=(500, 5)), pure) == pytest.approx(4.0, rel=0.2)
    assert nearest_neighbour_noise(nn.MSELoss(), x, np.sin(2 * x)) < 1e-3  # no noise: next to zero
    assert nearest_neighbour_noise(nn.CrossEntropyLoss(), x, y) is None  # MSE only


def test_the_nearest_neighbour_estimate_subsamples_its_queries():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 2))
    y = rng.normal(size=(300, 1))
    assert nearest_neighbour_noise(nn.MSELoss(), x, y, max_rows=100) == pytest.approx(1.0, rel=0.35)


def test_loss_scale_is_the_loss_of_a_trivial_predictor():
    y = np.array([[1.0], [3.0], [5.0]])
    assert loss_scale(nn.MSELoss(), y) == pytest.approx(8 / 3)
    assert loss_scale(nn.L1Loss(), y) == pytest.approx(4 / 3)
    assert loss_scale(nn.CrossEntropyLoss(), np.array([0, 1, 2]), (10,)) == pytest.approx(np.log(10))
    assert loss_scale(nn.BCEWithLogitsLoss(), np.array([0.0, 1.0])) == pytest.approx(np.log(2))


# -------------------------------------------------------------------------------------------- curve shapes
def test_curve_shape_detectors():
    epochs = np.arange(60)
    falling = 1.0 / (1 + epochs)
    clean = curve_shape(falling, scale=1.0)
    assert not (clean.diverging or clean.oscillating or clean.plateau)

    diverging = np.concatenate([falling[:30], falling[29] * 1.4 ** np.arange(1, 31)])
    assert curve_shape(diverging).diverging
    assert curve_shape([1.0, 0.5, np.nan]).diverging
    assert curve_shape([1.0, 0.5, np.inf, np.inf]).diverging

    zigzag = 0.5 + 0.2 * (-1.0) ** epochs  # swings of 0.4 around 0.5, every epoch
    shape = curve_shape(zigzag, scale=1.0)
    assert shape.oscillating and not shape.diverging and shape.sign_change_rate == 1.0
    small_noise = falling + 1e-4 * (-1.0) ** epochs * falling  # wiggles, but of 0.01 %
    assert not curve_shape(small_noise, scale=1.0).oscillating

    stuck = np.concatenate([np.linspace(1.0, 0.8, 10), 0.8 - 1e-5 * np.arange(50)])
    assert curve_shape(stuck, scale=1.0).plateau
    converged_low = np.concatenate([np.linspace(1.0, 0.01, 10), 0.01 - 1e-7 * np.arange(50)])
    assert not curve_shape(converged_low, scale=1.0).plateau  # flat, but the loss is small: done, not stuck
    assert curve_shape(stuck).plateau  # without a scale: flat while still above half the first loss

    notes = curve_shape(zigzag, scale=1.0).notes(lr=0.3)
    assert len(notes) == 1 and "lr=0.3" in notes[0] and "too large" in notes[0]


# ------------------------------------------------------------------------------------------ run settings
def test_the_runs_settings_come_from_its_optimizer_not_a_default():
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    scheduler = optim.lr_scheduler.StepLR(opt, 10, gamma=0.1)
    for _ in range(20):
        opt.step()
        scheduler.step()
    b = Budget.from_optimizer(opt, epochs=20, batch_size=8, scheduler=scheduler)
    assert b.lr == 1e-4 and b.optimizer == "SGD" and b.options["momentum"] == 0.9  # the initial lr, not the decayed
    assert b.describe() == "SGD(lr=0.0001, momentum=0.9), scheduler StepLR, 20 epochs, batch 8"


def test_a_config_without_an_lr_used_its_optimizers_default():
    config = {"optimizer": {"name": "SGD", "momentum": 0.5}, "epochs": 3, "batch_size": 16,
              "scheduler": {"name": "none"}}
    b = Budget.from_config(config)
    assert b.lr == pytest.approx(optim.SGD(nn.Linear(1, 1).parameters()).defaults["lr"])
    assert b.scheduler is None and b.source == "the run's config"
    with pytest.raises(ValueError, match="unknown optimizer 'Nope'"):
        Budget(optimizer="Nope", lr=0.1).make_optimizer(nn.Linear(1, 1).parameters())


def test_bad_arguments_are_clear_errors():
    x, y = rl.randn(10, 1), rl.randn(10, 1)
    model = nn.Linear(1, 1)
    with pytest.raises(ValueError, match="budget_updates"):
        diagnose(model, nn.MSELoss(), (x, y), budget_updates=-1)
    with pytest.raises(ValueError, match="budget must be a Budget"):
        diagnose(model, nn.MSELoss(), (x, y), budget="lots")


def test_the_hessian_note_counts_near_zero_eigenvalues_and_claims_no_typical_ratio():
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, (120, 1))
    rl.manual_seed(0)
    model = _mlp([1, 8, 1], nn.Tanh).double()
    d = diagnose(model, nn.MSELoss(), (rl.tensor(x), rl.tensor(np.sin(2 * x))), budget_updates=0)
    assert {"hessian_minimum_ratio", "hessian_min_eigenvalue", "gradient_norm"} <= set(d.evidence)
    assert not any("0.5-0.6" in n or "typically" in n for n in d.notes)
    assert any("minimum ratio" in n for n in d.notes)


# ---------------------------------------------------------------------------------------------------- CLI
def test_cli_diagnoses_a_digits_run_with_a_small_budget(tmp_path, capsys):
    config = load_config(ROOT / "examples" / "digits_mlp.toml", ["epochs=2", f"out_dir={tmp_path.as_posix()!r}"])
    run = train(config, verbose=False, progress=False)
    out_dir = tmp_path / "figures"
    assert main(["diagnose", str(run.path), "--out", str(out_dir), "--budget", "8"]) == 0
    text = capsys.readouterr().out
    verdict = text.split("verdict: ")[1].split("\n")[0].split(" (")[0].lower()
    assert verdict in VERDICTS
    for section in ("evidence:", "the run: Adam(", "8 updates per candidate", "lr search", "remedies", "figure:"):
        assert section in text
    assert "noise estimate" not in text  # cross-entropy: no nearest-neighbour estimate
    assert (out_dir / "diagnosis.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_budget_zero_trains_nothing(tmp_path, capsys):
    config = load_config(ROOT / "examples" / "digits_mlp.toml", ["epochs=1", f"out_dir={tmp_path.as_posix()!r}"])
    run = train(config, verbose=False, progress=False)
    assert main(["diagnose", str(run.path), "--budget", "0"]) == 0
    assert "reference models: none trained" in capsys.readouterr().out


@pytest.mark.parametrize("bad", ["-1", "lots", "1.5"])
def test_cli_rejects_a_bad_budget_without_a_traceback(bad, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["diagnose", "runs/x", "--budget", bad])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--budget" in err and "whole number of updates" in err and "Traceback" not in err


def test_cli_names_a_missing_run_directory(tmp_path, capsys):
    assert main(["diagnose", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "relulab diagnose: error:" in err and "Traceback" not in err


def test_cli_help_states_the_default_budget():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    help_text = sub.choices["diagnose"].format_help()
    assert f"default {DEFAULT_UPDATES}" in help_text


def test_cli_diagnoses_a_hw1_run(hw1_train, tmp_path, capsys):
    overrides = ["epochs=60", f"out_dir={tmp_path.as_posix()!r}", f"data.path={hw1_train.as_posix()!r}"]
    run = train(load_config(ROOT / "examples" / "hw1_covid.toml", overrides), verbose=False, progress=False)
    assert main(["diagnose", str(run.path), "--budget", "40"]) == 0
    text = capsys.readouterr().out
    assert "the run: Adam(lr=0.1), scheduler CosineAnnealingLR, 60 epochs" in text
    assert "noise estimate (1-NN)" in text and "held out" in text


def test_thresholds_can_be_replaced_per_call():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 1))
    model = nn.Linear(1, 1).double()
    strict = replace(THRESHOLDS, high_loss=10.0)
    d = diagnose(model, nn.MSELoss(), (rl.tensor(x), rl.tensor(x)), budget_updates=0, thresholds=strict)
    assert d.thresholds.high_loss == 10.0 and d.verdict == "healthy"  # nothing counts as a large loss now
