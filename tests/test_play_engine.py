"""The playground's run and tools give the numbers of relulab's Python API for the same state, reproduced from
outside the session the way the page tells a student to: the exported config, the data CSV and the weights."""
import numpy as np
import pytest

import relulab
from relulab import analysis as A
from relulab.play import datasets, export
from relulab.play import engine
from relulab.play.engine import Playground, PlayError
from relulab.play.settings import Limits, validate
from relulab.train import evaluate, load_config
from relulab.train.session import rebuild_job

LIMITS = Limits(doctor_updates=20)


def _outside(tmp_path, page):
    """The page's state rebuilt in Python from its exports: the config (and CSV) and the weights file."""
    s = page.settings
    toml = tmp_path / f"{export.name(s)}.toml"
    toml.write_text(export.toml_text(s, page.steps))
    if s["data"] != "views":
        (tmp_path / f"{export.name(s)}.csv").write_text(datasets.csv_text(s))
    weights = tmp_path / "play-weights.safetensors"
    weights.write_bytes(page.weights())
    job = rebuild_job(load_config(toml))
    job.model.load_state_dict(relulab.load(weights))
    x, y = job.loaders["train"].dataset.tensors
    return job, (x, y)


def test_hessian_panel_equals_classify(tmp_path):
    page = Playground(validate({"data": "spirals", "layers": 2, "width": 5, "points": 160, "lr": 0.1}), LIMITS)
    page.step(60)
    shown = page.hessian()
    job, data = _outside(tmp_path, page)
    point = A.classify(job.model, job.loss_fn, data)
    assert shown["kind"] == point.kind
    assert (shown["positive"], shown["negative"], shown["near_zero"]) == \
        (point.positive, point.negative, point.near_zero)
    assert shown["minimum_ratio"] == point.minimum_ratio and shown["tolerance"] == point.tolerance
    np.testing.assert_allclose(shown["eigenvalues"], point.eigenvalues, rtol=1e-9, atol=1e-12)
    assert shown["gradient_norm"] == pytest.approx(point.gradient_norm, rel=1e-9)
    assert shown["loss"] == pytest.approx(point.loss, rel=1e-12)
    assert shown["describe"].split(";")[0] == point.describe().split(";")[0]
    assert shown["step"] == 60 and shown["parameters"] == 15 + 30 + 6


def test_origin_is_a_saddle_training_cannot_leave_and_escape_can(tmp_path):
    """θ = 0 of a one-hidden-layer tanh net on balanced classes: ∇L = 0 exactly, the Hessian has both signs;
    full-batch updates stay at 0; escape_saddle moves along the negative eigenvector and lowers L."""
    page = Playground(validate({"data": "gaussians", "layers": 1, "width": 4, "points": 100, "optimizer": "sgd",
                                "lr": 0.5, "batch": 100}), LIMITS)
    page.origin()
    found = page.hessian()
    assert found["kind"] == "saddle" and found["gradient_norm"] < 1e-12 and found["escapable"]
    stuck = page.record_curve()["train"]
    page.step(5)
    assert page.record_curve()["train"] == stuck
    weights = {name: np.abs(p.detach().numpy()).max() for name, p in page.job.model.named_parameters()}
    assert weights.pop("2.bias") < 1e-6  # only float32 round-off of the balanced classes' mean error moves it
    assert all(v == 0.0 for v in weights.values())

    job, data = _outside(tmp_path, page)
    theirs = A.escape_saddle(job.model, job.loss_fn, data)
    shown = page.escape()
    assert shown["lowered"] and theirs.lowered
    assert shown["eigenvalue"] == pytest.approx(theirs.eigenvalue, rel=1e-9)
    np.testing.assert_allclose(shown["losses"], theirs.losses, rtol=1e-9)
    assert shown["eta"] == theirs.step_sizes[np.argmin(theirs.losses)]
    assert shown["loss_after"] < shown["start_loss"] == pytest.approx(np.log(2))
    assert shown["loss_after"] == pytest.approx(shown["best_loss"], rel=1e-5)  # θ is stored in float32
    page.step(20)
    assert page.record_curve()["train"] < shown["loss_after"]  # off the saddle, training moves again


def test_escape_refuses_a_point_without_negative_curvature():
    page = Playground(validate({"data": "gaussians", "layers": 0, "points": 60}), LIMITS)  # convex: logistic
    with pytest.raises(PlayError, match="not a saddle"):
        page.escape()


def test_tools_respect_the_hessian_limit():
    page = Playground(validate({"data": "xor", "layers": 2, "width": 10}), Limits(hessian_max_parameters=50))
    with pytest.raises(PlayError, match="at most 50"):
        page.hessian()
    assert not page.status()["hessian_allowed"]


def test_switching_the_optimizer_keeps_the_weights_and_the_step():
    s = validate({"data": "circles", "points": 100, "optimizer": "sgd"})
    page = Playground(s, LIMITS)
    page.step(7)
    before = {k: v.numpy().copy() for k, v in page.job.model.state_dict().items()}
    answer = page.configure({**s, "optimizer": "adam", "lr": 0.01})
    assert not answer["reset"] and page.steps == 7 and type(page.job.optimizer).__name__ == "Adam"
    assert all(np.array_equal(before[k], v.numpy()) for k, v in page.job.model.state_dict().items())
    assert page.switches == [(7, "optimizer sgd → adam, lr 0.03 → 0.01")]
    assert page.epoch == 2  # 70 training rows, 3 updates per epoch: 7 updates are 2 epochs and one update
    page.configure({**s, "optimizer": "adam", "lr": 0.01, "batch": 10})
    assert len(page.job.loaders["train"]) == 7 and page.steps == 7
    page.step(6)
    assert page.epoch == 2
    page.step(1)
    assert page.epoch == 3  # a new batch size starts a new epoch: 7 updates of 10 rows
    answer = page.configure({**s, "optimizer": "adam", "lr": 0.01, "batch": 10, "width": 3})
    assert answer["reset"] and page.steps == 0 and page.switches == [] and page.parameters == (2 * 3 + 3) + (3 * 3 + 3) + (3 + 1)


def test_live_numbers_are_evaluates(monkeypatch):
    page = Playground(validate({"data": "xor", "points": 120}), LIMITS)
    page.step(13)
    point = page.record_curve()
    assert point["train"] == evaluate(page.job.model, page._train_eval, page.job.loss_fn)["loss"]
    assert point["valid"] == evaluate(page.job.model, page.job.loaders["valid"], page.job.loss_fn)["loss"]
    assert point["accuracy"] == evaluate(page.job.model, page.job.loaders["valid"], page.job.loss_fn)["accuracy"]
    assert point["grad_norm"] > 0 and point["lr"] == 0.03
    monkeypatch.setattr(engine, "MAX_CURVE", 20)
    for _ in range(25):
        page.steps += 1
        page.record_curve()
    assert len(page.curve["step"]) <= 20 and page.curve["step"][0] == 0
    assert page.curve["step"][-1] == page.steps


def test_units_and_prediction_shapes():
    page = Playground(validate({"data": "spirals", "layers": 2, "width": 3}), LIMITS)
    units = page.units(2)
    assert len(units["maps"]) == 3 and np.asarray(units["maps"][0]).shape == (16, 16)
    assert np.abs(np.asarray(units["maps"])).max() <= 1.0  # tanh responses
    assert page.units(3) is None
    p = np.asarray(page.prediction()["z"], dtype=float)
    assert p.shape == (engine.GRID, engine.GRID) and 0 <= p.min() <= p.max() <= 1
    curve = Playground(validate({"data": "sin", "loss": "mse", "layers": 1, "width": 2}), LIMITS).units(1)
    assert len(curve["curves"]) == 2 and len(curve["x"]) == len(curve["curves"][0])


def test_two_parameter_model_shows_the_error_surface_with_its_path():
    page = Playground(validate({"data": "views", "layers": 0, "loss": "mse", "optimizer": "sgd", "lr": 0.05}),
                      LIMITS)
    page.step(30)
    surface = page.surface()
    assert len(surface["path"]["w"]) == 31
    layer = page.job.model[0]
    assert surface["path"]["w"][-1] == float(layer.weight.detach().numpy()[0, 0])
    (w0, w1), (b0, b1) = surface["box"]
    assert w0 <= surface["best"][0] <= w1 and b0 <= surface["best"][1] <= b1
    direct = A.error_surface(page.job.model, page.job.loss_fn, (page.train_x, page.train_y),
                             params=("0.weight", "0.bias"), ranges=surface["box"], steps=41)
    np.testing.assert_array_equal(np.asarray(surface["loss"]), direct.loss)
    assert Playground(validate({"data": "sin", "loss": "mse", "layers": 1, "width": 1}), LIMITS).surface() is None


def test_doctor_gives_diagnoses_verdict():
    page = Playground(validate({"data": "circles", "points": 120, "layers": 1, "width": 3}), LIMITS)
    page.step(2 * len(page.job.loaders["train"]))
    shown = page.doctor()
    found = A.diagnose(page.job.model, page.job.loss_fn, (page.train_x, page.train_y),
                       (page.valid_x, page.valid_y), history=page.epochs,
                       budget=A.Budget.from_optimizer(page.job.optimizer, epochs=2, batch_size=32),
                       budget_updates=20, seed=0)
    assert shown["verdict"] == found.verdict and shown["reason"] == found.reason
    assert shown["verdict"] in A.VERDICTS and shown["remedies"]


def test_weights_are_safetensors_of_the_state_dict(tmp_path):
    page = Playground(validate({"data": "xor", "layers": 1, "width": 2}), LIMITS)
    (tmp_path / "w.safetensors").write_bytes(page.weights())
    state = relulab.load(tmp_path / "w.safetensors")
    assert set(state) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    assert np.array_equal(state["0.weight"].numpy(), page.job.model[0].weight.detach().numpy())
