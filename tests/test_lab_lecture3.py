"""Lecture 3's shapes data and lab in --quick mode: the generator is deterministic, balanced and in range, the
shift helper moves pixels with zero fill; every experiment runs in --quick mode and follows the method (seeds,
settings, negative controls that come out "not reproduced"); each criterion, called on constructed per-seed
numbers, says "reproduced" for a clear effect, "not reproduced" for a tie and "partly" for half."""

import numpy as np
import pytest
from labcheck import method_problems, run_quick

from relulab.data.shapes import shapes, shift
from relulab.labs import VERDICTS, lecture3

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


def test_every_experiment_follows_the_method(outcomes):
    out, results = outcomes
    assert set(results) == {exp.key for exp in lecture3.EXPERIMENTS}
    for key, result in results.items():
        assert result.method != ERROR_MARKER, f"{key}: {result.because}"
        assert result.verdict in VERDICTS and result.table and result.figures, key
        assert not method_problems(result, out), (key, method_problems(result, out))


def test_structural_claims_hold_whatever_the_training(outcomes):
    # no training is involved: these verdicts must hold, not just be consistent
    _, results = outcomes
    for key in ("receptive_fields", "stride_padding"):
        assert results[key].verdict == "reproduced", results[key].because
    assert "chosen on the other 20% (validation" in results["mlp_vs_cnn"].settings


# ------------------------------------------------------------------------------------ criteria on constructed rows
def _rows(**arms):
    """Three seeds of identical rows."""
    return [{"seed": s, **arms} for s in (1, 2, 3)]


def test_judge_mlp_vs_cnn_and_shift():
    judge = lecture3._judge_mlp_vs_cnn
    assert judge(_rows(**{"shapes CNN": 0.9, "shapes MLP": 0.6, "digits CNN": 0.97, "digits MLP": 0.93}))[0] == \
        "reproduced"
    assert judge(_rows(**{"shapes CNN": 0.9, "shapes MLP": 0.9, "digits CNN": 0.95, "digits MLP": 0.95}))[0] == \
        "not reproduced"
    verdict, because = judge(_rows(**{"shapes CNN": 0.9, "shapes MLP": 0.6, "digits CNN": 0.9, "digits MLP": 0.95}))
    assert verdict == "partly reproduced" and "failed: digits" in because
    def drops(shapes_cnn, shapes_mlp, digits_cnn, digits_mlp):   # a smaller relative drop is better
        return _rows(**{"shapes CNN drop": shapes_cnn, "shapes MLP drop": shapes_mlp, "digits CNN drop": digits_cnn,
                        "digits MLP drop": digits_mlp})
    assert lecture3._judge_shift(drops(0.1, 0.5, 0.6, 0.8))[0] == "reproduced"
    assert lecture3._judge_shift(drops(0.5, 0.5, 0.8, 0.8))[0] == "not reproduced"
    assert lecture3._judge_shift(drops(0.1, 0.5, 0.8, 0.8))[0] == "partly reproduced"


def test_judge_fields():
    cnn = {"fields": [3, 4, 8, 10], "image side": 16, "parameters": [(224, 57344, 1574912)]}
    dense = {"fields": [16], "image side": 16, "parameters": [(1000, 1000, 1000)]}
    assert lecture3._judge_fields([cnn] * 3)[0] == "reproduced"
    assert lecture3._judge_fields([dense] * 3)[0] == "not reproduced"
    assert lecture3._judge_fields([{**cnn, "parameters": dense["parameters"]}] * 3)[0] == "partly reproduced"


def test_judge_filters():
    assert lecture3._judge_filters(_rows(learned=2.0, random=1.0))[0] == "reproduced"
    assert lecture3._judge_filters(_rows(learned=1.0, random=1.0))[0] == "not reproduced"
    half = [{"learned": 2.0, "random": 1.0}, {"learned": 2.0, "random": 1.0}, {"learned": 1.1, "random": 1.0}]
    assert lecture3._judge_filters(half)[0] == "partly reproduced"


def test_edge_preference_is_about_one_for_random_filters_and_high_for_edge_detectors():
    edges, background = lecture3._patches(shapes(200, split="test", seed=5).features, np.random.default_rng(0))
    random_bank = np.random.default_rng(1).normal(size=(64, 3, 3, 3))
    assert 0.8 < lecture3._edge_preference(random_bank, edges, background) < 1.25
    sobel = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float)
    bank = np.stack([np.stack([sobel] * 3), np.stack([sobel.T] * 3)])
    assert lecture3._edge_preference(bank, edges, background) > 2.0


def test_judge_augmentation():
    judge = lecture3._judge_augmentation
    both = _rows(**{"none": 0.80, "crop (±1 px)": 0.85, "vertical flip": 0.70})
    assert judge(both)[0] == "reproduced"
    assert judge(_rows(**{"none": 0.80, "crop (±1 px)": 0.80, "vertical flip": 0.80}))[0] == "not reproduced"
    verdict, because = judge(_rows(**{"none": 0.80, "crop (±1 px)": 0.75, "vertical flip": 0.70}))
    assert verdict == "partly reproduced" and "failed: crop helps" in because


def test_judge_stride_padding_and_pooling():
    good = {"sizes match": True, "border kept": True, "gaps": True}
    assert lecture3._judge_stride_padding([good] * 3)[0] == "reproduced"
    assert lecture3._judge_stride_padding([{k: False for k in good}] * 3)[0] == "not reproduced"
    assert lecture3._judge_stride_padding([{**good, "gaps": False}] * 3)[0] == "partly reproduced"
    pooled = {"unpooled change": 0.4, "pooled change": 0.3, "activation saving": 4, "MAC saving": 4}
    assert lecture3._judge_pooling([pooled] * 3)[0] == "reproduced"
    same = {"unpooled change": 0.4, "pooled change": 0.4, "activation saving": 1, "MAC saving": 1}
    assert lecture3._judge_pooling([same] * 3)[0] == "not reproduced"
    assert lecture3._judge_pooling([{**pooled, "pooled change": 0.39}] * 3)[0] == "partly reproduced"


def test_output_side_and_reach_match_the_lecture():
    from relulab import nn
    assert lecture3._output_side(16, 3, 1, 1) == 16 and lecture3._output_side(7, 3, 2, 0) == 3
    import relulab
    relulab.manual_seed(0)
    out, reach = lecture3._reach(nn.Sequential(nn.Conv2d(1, 1, 3)), 6, seed=0)
    assert out == 4 and reach[0, 0] == 1 and reach[2, 2] == 9


def test_random_crop_is_a_shift_with_zero_fill(torch):
    """Each image shifted by its own offsets, drawn as torch.randint(0, 3, (2, n)) from the generator."""
    from relulab.labs import draws
    x = np.random.default_rng(0).random((6, 1, 8, 8)).astype(np.float32)
    out = lecture3._random_crop(x, draws.generator(3))
    dy, dx = torch.randint(0, 3, (2, 6), generator=torch.Generator().manual_seed(3)).numpy()
    for i in range(6):
        np.testing.assert_array_equal(out[i], shift(x[i], int(1 - dx[i]), int(1 - dy[i])))
