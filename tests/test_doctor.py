"""``analysis.doctor``: lecture 2's training guide gives the right verdict on runs built to have each problem."""
from pathlib import Path

import numpy as np
import pytest

import relulab as rl
from relulab import nn, optim
from relulab.analysis.doctor import VERDICTS, Budget, curve_shape, diagnose, loss_scale
from relulab.cli import main
from relulab.train import fit, load_config, train
from relulab.utils.data import DataLoader, TensorDataset

ROOT = Path(__file__).resolve().parents[1]


def _mlp(widths, activation):
    """Linear layers of the given widths with ``activation`` between them, in float64."""
    layers = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(fan_in, fan_out), activation()]
    return nn.Sequential(*layers[:-1]).double()


def _pair(x, y):
    return rl.tensor(x), rl.tensor(y)


def _train(model, x, y, optimizer, epochs, batch_size, valid=None):
    """Train with the shared fit loop; returns the per-epoch history."""
    loader = DataLoader(TensorDataset(*_pair(x, y)), batch_size=batch_size, shuffle=True,
                        generator=rl.Generator().manual_seed(0))
    valid_loader = DataLoader(TensorDataset(*_pair(*valid)), batch_size=1024) if valid is not None else None
    return fit(model, nn.MSELoss(), optimizer, loader, epochs, valid_loader=valid_loader, progress=False).history


def _sine(rng, n, noise, low=-2.0, high=2.0):
    x = rng.uniform(low, high, size=(n, 1))
    return x, np.sin(2 * x) + noise * rng.normal(size=x.shape)


# ------------------------------------------------------------------------------------------------ verdicts
def test_linear_model_on_a_parabola_is_model_bias():
    x = np.linspace(-2, 2, 200)[:, None]
    y = x ** 2  # symmetric: the best line is flat, so a linear model explains none of it
    rl.manual_seed(0)
    model = _mlp([1, 1], nn.ReLU)
    history = _train(model, x, y, optim.Adam(model.parameters(), lr=0.05), 100, 32)
    d = diagnose(model, nn.MSELoss(), _pair(x, y), history=history, budget=Budget(100, "Adam", 0.05, 32))
    assert d.verdict == "model bias", d.report()
    assert d.evidence["relative_train_loss"] > 0.9
    shallow = next(r for r in d.references if r.name.startswith("shallow"))
    assert not shallow.contained and shallow.train_loss < 0.1 * d.evidence["train_loss"]  # capacity is the fix
    assert d.evidence["hessian_minimum_ratio"] == 1.0  # least squares: convex
    assert any("bigger model" in r for r in d.remedies)


def test_deep_sigmoid_net_with_a_tiny_learning_rate_is_optimization():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))
    y = x @ np.array([[1.0], [-2.0], [0.5], [1.0]])  # a line: every net here contains the answer
    rl.manual_seed(0)
    model = _mlp([4] + [6] * 8 + [1], nn.Sigmoid)  # 9 sigmoid layers: vanishing gradients
    optimizer = optim.SGD(model.parameters(), lr=0.01)
    history = _train(model, x, y, optimizer, 50, 32)
    before = [p.detach().numpy().copy() for p in model.parameters()]
    rl.manual_seed(123)

    d = diagnose(model, nn.MSELoss(), _pair(x, y), history=history,
                 budget=Budget.from_optimizer(optimizer, epochs=50, batch_size=32))
    assert d.verdict == "optimization", d.report()
    linear = d.evidence["linear_reference_loss"]
    assert linear < 0.2 * d.evidence["train_loss"]  # the 56- vs 20-layer argument: it lost to what it contains
    assert d.budget.optimizer == "SGD" and d.budget.lr == 0.01
    assert "hessian_minimum_ratio" in d.evidence and "gradient_norm" in d.evidence
    assert any("plateau" in n for n in d.notes)
    assert any("Momentum" in r for r in d.remedies) and any("Adam" in r for r in d.remedies)
    # diagnosing changes neither the model nor the global random stream
    assert all(np.array_equal(a, p.detach().numpy()) for a, p in zip(before, model.parameters()))
    drawn = rl.rand(3).numpy()
    rl.manual_seed(123)
    assert np.array_equal(drawn, rl.rand(3).numpy())


@pytest.fixture(scope="module")
def overfit_run():
    """A 2x128 ReLU net trained long on 20 noisy points, with 100 held-out points from the same curve."""
    rng = np.random.default_rng(0)
    train_xy, valid_xy = _sine(rng, 20, 0.3), _sine(rng, 100, 0.3)
    rl.manual_seed(0)
    model = _mlp([1, 128, 128, 1], nn.ReLU)
    history = _train(model, *train_xy, optim.Adam(model.parameters(), lr=1e-2), 500, 20, valid=valid_xy)
    return model, train_xy, valid_xy, history


def test_big_net_on_few_noisy_samples_is_overfitting(overfit_run, tmp_path):
    model, train_xy, valid_xy, history = overfit_run
    d = diagnose(model, nn.MSELoss(), _pair(*train_xy), _pair(*valid_xy), history,
                 budget=Budget(500, "Adam", 1e-2, 20))
    assert d.verdict == "overfitting", d.report()
    assert d.evidence["relative_train_loss"] < 0.1 and d.evidence["valid_train_ratio"] > 5
    assert "mismatch" in d.reason  # names the alternative for shifted validation data
    assert any("early stopping" in n for n in d.notes)  # the validation curve turned up
    assert any("Hessian was not computed" in n for n in d.notes)  # 16897 parameters
    assert any("augmentation" in r for r in d.remedies) and any("dropout" in r for r in d.remedies)
    figure = d.plot(tmp_path / "overfit.png")
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_shifted_validation_data_make_it_mismatch(overfit_run):
    model, train_xy, valid_xy, history = overfit_run
    d = diagnose(model, nn.MSELoss(), _pair(*train_xy), _pair(*valid_xy), history, valid_is_shifted=True,
                 references=False)
    assert d.verdict == "mismatch", d.report()
    assert d.references == []


def test_well_fitted_net_is_healthy():
    rng = np.random.default_rng(1)
    train_xy, valid_xy = _sine(rng, 200, 0.1), _sine(rng, 200, 0.1)
    rl.manual_seed(0)
    model = _mlp([1, 16, 1], nn.Tanh)
    history = _train(model, *train_xy, optim.Adam(model.parameters(), lr=0.02), 150, 32, valid=valid_xy)
    d = diagnose(model, nn.MSELoss(), _pair(*train_xy), _pair(*valid_xy), history, budget=Budget(150, "Adam", 0.02, 32))
    assert d.verdict == "healthy", d.report()
    assert d.evidence["valid_train_ratio"] < 2
    assert "hessian_minimum_ratio" in d.evidence  # 49 parameters: the exact Hessian is cheap
    text = d.report()
    assert "verdict: HEALTHY" in text and "linear model" in text


def test_diverging_training_is_optimization_and_blames_the_learning_rate():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 3)) * 3
    y = x.sum(axis=1, keepdims=True)
    rl.manual_seed(0)
    model = _mlp([3, 1], nn.ReLU)
    with np.errstate(all="ignore"):
        history = _train(model, x, y, optim.SGD(model.parameters(), lr=0.5), 20, 100)
        d = diagnose(model, nn.MSELoss(), _pair(x, y), history=history, budget=Budget(20, "SGD", 0.5), references=False)
    assert d.verdict == "optimization", d.report()
    assert any("diverges" in n and "lr=0.5" in n for n in d.notes)


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


def test_loss_scale_is_the_loss_of_a_trivial_predictor():
    y = np.array([[1.0], [3.0], [5.0]])
    assert loss_scale(nn.MSELoss(), y) == pytest.approx(8 / 3)
    assert loss_scale(nn.L1Loss(), y) == pytest.approx(4 / 3)
    assert loss_scale(nn.CrossEntropyLoss(), np.array([0, 1, 2]), (10,)) == pytest.approx(np.log(10))
    assert loss_scale(nn.BCEWithLogitsLoss(), np.array([0.0, 1.0])) == pytest.approx(np.log(2))


# ---------------------------------------------------------------------------------------------------- CLI
def test_cli_diagnoses_a_digits_run(tmp_path, capsys):
    config = load_config(ROOT / "examples" / "digits_mlp.toml", ["epochs=2", f"out_dir={tmp_path.as_posix()!r}"])
    run = train(config, verbose=False, progress=False)
    out_dir = tmp_path / "figures"
    assert main(["diagnose", str(run.path), "--out", str(out_dir)]) == 0
    text = capsys.readouterr().out
    verdict = text.split("verdict: ")[1].split("\n")[0].lower()
    assert verdict in VERDICTS
    for section in ("evidence:", "linear model", "shallow net (1x128 ReLU)", "remedies", "figure:"):
        assert section in text
    assert (out_dir / "diagnosis.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
