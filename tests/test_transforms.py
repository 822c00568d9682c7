"""relulab.data.transforms: layouts, value ranges, flips, crops, resizing, normalization and reproducibility."""
import numpy as np
import pytest
from PIL import Image

import relulab
from relulab.data.transforms import (CenterCrop, Compose, Normalize, RandomCrop, RandomHorizontalFlip,
                                     RandomResizedCrop, RandomVerticalFlip, Resize, ToTensor, augmentation_preset)


@pytest.fixture
def image():
    """An 8 x 10 RGB uint8 image as an H x W x C array."""
    return np.random.default_rng(0).integers(0, 256, (8, 10, 3), dtype=np.uint8)


def _seeded(seed):
    return relulab.Generator().manual_seed(seed)


def _as_hwc(out):
    """Any transform output as an H x W x C numpy array, for comparisons."""
    if isinstance(out, Image.Image):
        return np.asarray(out)
    if isinstance(out, relulab.Tensor):
        return out.numpy().transpose(1, 2, 0)
    return out


def _three_forms(image):
    return [image, Image.fromarray(image), relulab.from_numpy(image.transpose(2, 0, 1).copy())]


# ------------------------------------------------------------------------------------------- ToTensor
def test_to_tensor_uint8_hwc(image):
    t = ToTensor()(image)
    assert isinstance(t, relulab.Tensor) and t.shape == (3, 8, 10) and t.dtype == np.float32
    assert 0.0 <= float(t.min()) and float(t.max()) <= 1.0
    np.testing.assert_allclose(t.numpy(), image.transpose(2, 0, 1) / 255.0, rtol=1e-6)


def test_to_tensor_pillow_and_grayscale(image):
    assert ToTensor()(Image.fromarray(image)).shape == (3, 8, 10)
    gray = ToTensor()(Image.fromarray(image).convert("L"))
    assert gray.shape == (1, 8, 10) and gray.dtype == np.float32
    assert ToTensor()(image[:, :, 0]).shape == (1, 8, 10)
    np.testing.assert_allclose(ToTensor()(image[:, :, 0]).numpy()[0], image[:, :, 0] / 255.0, rtol=1e-6)


def test_to_tensor_float_arrays_are_not_rescaled():
    a = np.full((4, 5, 3), 7.5, dtype=np.float64)
    t = ToTensor()(a)
    assert t.dtype == np.float32 and t.shape == (3, 4, 5) and float(t.max()) == 7.5


def test_to_tensor_errors():
    with pytest.raises(ValueError, match="ToTensor"):
        ToTensor()(np.zeros((2, 2, 2, 2)))
    with pytest.raises(TypeError, match="ToTensor"):
        ToTensor()(relulab.zeros(3, 4, 4))


# ------------------------------------------------------------------------------------------- Normalize
def test_normalize_math(image):
    t = ToTensor()(image)
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    out = Normalize(mean, std)(t)
    expected = (t.numpy() - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]
    assert out.dtype == np.float32 and out.shape == t.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)
    array_out = Normalize(mean, std)(t.numpy())
    assert isinstance(array_out, np.ndarray)
    np.testing.assert_allclose(array_out, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(Normalize(0.5, 0.5)(t).numpy(), (t.numpy() - 0.5) / 0.5, rtol=1e-6)


def test_normalize_errors(image):
    t = ToTensor()(image)
    with pytest.raises(ValueError, match="2 values but the image has 3 channels"):
        Normalize([0.5, 0.5], [0.5, 0.5])(t)
    with pytest.raises(TypeError, match="float"):
        Normalize([0.5] * 3, [0.5] * 3)(relulab.from_numpy(image.transpose(2, 0, 1).copy()))
    with pytest.raises(ValueError, match="zero"):
        Normalize([0.5] * 3, [0.5, 0, 0.5])(t)
    with pytest.raises(ValueError, match="C, H, W"):
        Normalize([0.5], [0.5])(relulab.zeros(4, 4))


# ------------------------------------------------------------------------------------------- flips
def test_flips_are_exact_for_every_input_form(image):
    for form in _three_forms(image):
        np.testing.assert_array_equal(_as_hwc(RandomHorizontalFlip(p=1.0)(form)), image[:, ::-1])
        np.testing.assert_array_equal(_as_hwc(RandomVerticalFlip(p=1.0)(form)), image[::-1])
        np.testing.assert_array_equal(_as_hwc(RandomHorizontalFlip(p=0.0)(form)), image)
        assert type(RandomHorizontalFlip(p=1.0)(form)) is type(form)


def test_flip_probability_and_reproducibility(image):
    flip = RandomHorizontalFlip(generator=_seeded(0))
    outcomes = [bool(np.array_equal(flip(image), image[:, ::-1])) for _ in range(400)]
    assert 150 < sum(outcomes) < 250
    again = RandomHorizontalFlip(generator=_seeded(0))
    assert outcomes == [bool(np.array_equal(again(image), image[:, ::-1])) for _ in range(400)]
    with pytest.raises(ValueError, match="p must be"):
        RandomHorizontalFlip(p=1.5)


# ------------------------------------------------------------------------------------------- crops
def _find_window(big, small):
    hits = [(i, j) for i in range(big.shape[0] - small.shape[0] + 1) for j in range(big.shape[1] - small.shape[1] + 1)
            if np.array_equal(big[i:i + small.shape[0], j:j + small.shape[1]], small)]
    return hits


def test_random_crop_with_padding(image):
    crop = RandomCrop(8, padding=2, generator=_seeded(1))
    padded = np.pad(image, ((2, 2), (2, 2), (0, 0)))
    for _ in range(20):
        out = crop(image)
        assert out.shape == (8, 8, 3) and out.dtype == np.uint8
        assert _find_window(padded, out)


def test_random_crop_same_window_for_every_form(image):
    outs = [_as_hwc(RandomCrop((5, 6), padding=(1, 2), generator=_seeded(4))(form)) for form in _three_forms(image)]
    assert outs[0].shape == (5, 6, 3)
    for out in outs[1:]:
        np.testing.assert_array_equal(out, outs[0])


def test_random_crop_padding_modes_and_fill(image):
    for mode in ("edge", "reflect", "symmetric"):
        out = RandomCrop(12, padding=(1, 2), padding_mode=mode, generator=_seeded(0))(image)  # whole padded image
        assert out.shape == (12, 12, 3)
        np.testing.assert_array_equal(out, np.pad(image, ((2, 2), (1, 1), (0, 0)), mode=mode))
    filled = RandomCrop((8, 12), padding=(1, 0), fill=(9, 8, 7))(image)  # left/right only
    np.testing.assert_array_equal(filled[:, 0], np.tile([9, 8, 7], (8, 1)))


def test_random_crop_pad_if_needed_and_errors(image):
    out = RandomCrop(12, pad_if_needed=True, generator=_seeded(0))(image)
    assert out.shape == (12, 12, 3)
    with pytest.raises(ValueError, match=r"\(12, 12\) is larger than the input image size \(8, 10\)"):
        RandomCrop(12)(image)


def test_random_crop_is_reproducible(image):
    a = [RandomCrop(6, padding=3, generator=_seeded(9))(image) for _ in range(1)]
    b = [RandomCrop(6, padding=3, generator=_seeded(9))(image) for _ in range(1)]
    np.testing.assert_array_equal(a[0], b[0])
    relulab.manual_seed(3)
    c = RandomCrop(6, padding=3)(image)
    relulab.manual_seed(3)
    np.testing.assert_array_equal(RandomCrop(6, padding=3)(image), c)


def test_center_crop(image):
    np.testing.assert_array_equal(CenterCrop((4, 6))(image), image[2:6, 2:8])
    for form in _three_forms(image):
        np.testing.assert_array_equal(_as_hwc(CenterCrop((4, 6))(form)), image[2:6, 2:8])
    big = CenterCrop(12)(image)
    assert big.shape == (12, 12, 3)
    np.testing.assert_array_equal(big[2:10, 1:11], image)
    assert big[:2].sum() == 0 and big[:, :1].sum() == 0


# ------------------------------------------------------------------------------------------- resizing
def test_resize_sizes(image):
    assert Resize((5, 7))(image).shape == (5, 7, 3)
    assert Resize(4)(image).shape == (4, 5, 3)  # shorter side (height 8) to 4, width 10 -> 5
    assert Resize(4)(Image.fromarray(image)).size == (5, 4)
    assert Resize(6)(relulab.zeros(3, 10, 8)).shape == (3, 7, 6)
    assert Resize(4)(image[:, :, 0]).shape == (4, 5)


def test_resize_forms_agree(image):
    pil = np.asarray(Resize((5, 7))(Image.fromarray(image)))
    np.testing.assert_array_equal(Resize((5, 7))(image), pil)
    tensor = Resize((5, 7))(ToTensor()(image))
    assert tensor.dtype == np.float32
    np.testing.assert_allclose(tensor.numpy().transpose(1, 2, 0), pil / 255.0, atol=3 / 255)


def test_resize_constant_image_stays_constant():
    out = Resize((13, 3))(np.full((6, 9, 2), 0.25, dtype=np.float32))
    assert out.shape == (13, 3, 2) and out.dtype == np.float32
    np.testing.assert_allclose(out, 0.25, rtol=1e-6)


def test_random_resized_crop(image):
    rrc = RandomResizedCrop(6, generator=_seeded(0))
    outs = [rrc(form) for form in _three_forms(image)]
    assert outs[0].shape == (6, 6, 3) and outs[1].size == (6, 6) and outs[2].shape == (3, 6, 6)
    a = RandomResizedCrop((4, 5), generator=_seeded(7))(image)
    b = RandomResizedCrop((4, 5), generator=_seeded(7))(image)
    np.testing.assert_array_equal(a, b)
    top, left, h, w = RandomResizedCrop(4, scale=(1.0, 1.0), ratio=(1.0, 1.0)).get_params(image)
    assert (h, w) == (8, 8) and top == 0 and left == 1  # fallback: a central crop of the allowed ratio


# ------------------------------------------------------------------------------------------- Compose, preset
def test_compose_pipeline(image):
    pipeline = Compose([CenterCrop(6), ToTensor(), Normalize([0.5] * 3, [0.5] * 3)])
    out = pipeline(Image.fromarray(image))
    assert out.shape == (3, 6, 6) and -1.0 <= float(out.min()) and float(out.max()) <= 1.0
    assert "CenterCrop" in repr(pipeline)


def _rows_image():
    """Row r holds r + 1 everywhere, so an upside-down image is easy to spot (padding adds zero rows)."""
    return np.repeat(np.arange(1, 17, dtype=np.uint8)[:, None, None], 16, axis=1).repeat(3, axis=2)


def _upside_down(out):
    rows = out.numpy()[0, :, 8] if isinstance(out, relulab.Tensor) else np.asarray(out)[:, 8, 0]
    rows = rows[rows > 0]
    return bool(np.any(np.diff(rows) < 0))


def test_preset_never_flips_vertically():
    preset = augmentation_preset(generator=_seeded(0))
    assert not any(isinstance(t, RandomVerticalFlip) for t in preset.transforms)
    assert any(isinstance(t, RandomHorizontalFlip) for t in preset.transforms)
    image = _rows_image()
    outs = [preset(image) for _ in range(200)]
    assert all(o.shape == (3, 16, 16) and o.dtype == np.float32 for o in outs)
    assert not any(_upside_down(o) for o in outs)
    assert len({o.numpy().tobytes() for o in outs}) > 10  # the crop does shift the image around


def test_preset_vertical_opt_in_and_options():
    preset = augmentation_preset(vertical=True, generator=_seeded(0))
    assert any(_upside_down(preset(_rows_image())) for _ in range(50))
    sized = augmentation_preset(size=12, to_tensor=False, generator=_seeded(0))(Image.fromarray(_rows_image()))
    assert sized.size == (12, 12)
    plain = augmentation_preset("none")(_rows_image())
    np.testing.assert_allclose(plain.numpy(), ToTensor()(_rows_image()).numpy())
    with pytest.raises(ValueError, match="kind"):
        augmentation_preset("heavy")


def test_preset_reproducible_with_generator(image):
    a = [augmentation_preset(generator=_seeded(5))(image).numpy() for _ in range(1)][0]
    b = augmentation_preset(generator=_seeded(5))(image).numpy()
    np.testing.assert_array_equal(a, b)
