"""Lecture 3's shapes data and lab in --quick mode: the generator is deterministic, balanced and in range, the
shift helper moves pixels with zero fill, and every experiment runs with finite numbers, figures, and a verdict
that follows from its own numbers (each criterion recomputed here)."""

import numpy as np
import pytest
from labcheck import finite_leaves, run_quick

from relulab.data.shapes import shapes, shift
from relulab.labs import lecture3

ERROR_MARKER = "(the experiment raised an error)"


# ------------------------------------------------------------------------------------------------ shapes data
def test_shapes_is_deterministic_and_seed_dependent():
    a, b, c = shapes(200, seed=3), shapes(200, seed=3), shapes(200, seed=4)
    np.testing.assert_array_equal(a.features, b.features)
    np.testing.assert_array_equal(a.targets, b.targets)
    assert not np.array_equal(a.features, c.features)


def test_shapes_layout_range_and_balanced_labels():
    data = shapes(400, size=12, channels=3)
    assert data.features.shape == (400, 3, 12, 12) and data.features.dtype == np.float32
    assert data.targets.dtype == np.int64
    assert 0.0 <= data.features.min() and data.features.max() <= 1.0
    assert list(data.classes) == ["square", "circle", "triangle", "cross"]
    np.testing.assert_array_equal(np.bincount(data.targets), [100] * 4)
    # the shape is brighter than the dark background in every image
    assert (data.features.max(axis=(1, 2, 3)) > 0.5).all()


def test_shapes_positions_vary_and_splits_do_not_overlap():
    data = shapes(200, channels=1)
    squares = data.features[data.targets == 0, 0]
    centres = [np.argwhere(img > 0.5).mean(axis=0) for img in squares]
    assert np.std(centres, axis=0).min() > 1.0  # the same class sits at different places
    train, test = shapes(200, split="train"), shapes(200, split="test")
    assert len(train) == 150 and len(test) == 50
    np.testing.assert_array_equal(np.concatenate([train.features, test.features]), shapes(200).features)


def test_shapes_rejects_bad_arguments():
    with pytest.raises(ValueError):
        shapes(10, classes=("hexagon",))
    with pytest.raises(ValueError):
        shapes(10, split="valid")


def test_shift_moves_pixels_with_zero_fill():
    images = np.arange(2 * 4 * 5, dtype=np.float32).reshape(2, 4, 5) + 1
    right = shift(images, 2, 0)
    np.testing.assert_array_equal(right[..., 2:], images[..., :3])
    assert (right[..., :2] == 0).all()
    up = shift(images, 0, -1)
    np.testing.assert_array_equal(up[..., :3, :], images[..., 1:, :])
    assert (up[..., 3, :] == 0).all()
    np.testing.assert_array_equal(shift(images, 0, 0), images)
    assert (shift(images, 5, 0) == 0).all()
    np.testing.assert_array_equal(shift(shift(images, 1, 1), -1, -1)[..., :3, :4], images[..., :3, :4])


# ------------------------------------------------------------------------------------------------ the lab
@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    return run_quick(lecture3.EXPERIMENTS, tmp_path_factory, "lecture3")


def test_every_experiment_ran_with_finite_numbers_and_figures(outcomes):
    out, results = outcomes
    assert set(results) == {exp.key for exp in lecture3.EXPERIMENTS}
    for key, result in results.items():
        assert result.method != ERROR_MARKER, f"{key}: {result.because}"
        assert "error" not in result.numbers, key
        assert finite_leaves(result.numbers), key
        assert result.table, key
        assert result.figures, key
        for name in result.figures:
            assert (out / "figures" / name).is_file(), name


def _mlp_vs_cnn(n):
    return all(s["cnn_accuracy"] >= s["matched_mlp_accuracy"] and s["cnn_parameters"] <= s["matched_mlp_parameters"]
               for s in n["summary"].values())


def _receptive_fields(n):
    fields = n["conv_receptive_fields"]
    return (all(b >= a for a, b in zip(fields, fields[1:])) and fields[-1] > fields[0]
            and all(r["conv"] < r["locally connected"] < r["dense"] for r in n["sharing"]))


def _filters(n):
    return n["figures_produced"] and n["weight_change_norm"] > 0


def _shift(n):
    return all(d["CNN"] < d[next(k for k in d if k.startswith("MLP"))] for d in n["drop"].values())


def _augmentation(n):
    return n["accuracy"]["vertical flip"] < n["accuracy"]["none"]


CRITERIA = {"mlp_vs_cnn": _mlp_vs_cnn, "receptive_fields": _receptive_fields, "filters": _filters,
            "shift": _shift, "augmentation": _augmentation}


@pytest.mark.parametrize("key", list(CRITERIA))
def test_verdict_follows_from_the_numbers(outcomes, key):
    _, results = outcomes
    result = results[key]
    assert result.reproduced == CRITERIA[key](result.numbers), result.because


def test_sharing_saves_parameters_whatever_the_training(outcomes):
    # receptive_fields needs no training: its verdict must hold, not just be consistent
    _, results = outcomes
    assert results["receptive_fields"].reproduced, results["receptive_fields"].because
