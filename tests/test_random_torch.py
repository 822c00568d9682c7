"""relulab's generator against PyTorch 2.13's CPU generator, draw for draw: every value must be bit-identical.

Each test seeds both libraries the same way, draws the same things in the same order, and compares with ``==``
(``assert_array_equal``), never with a tolerance.  Sizes cross the kernels' switch points: < 16 values take PyTorch's
serial Box-Muller path (with its cached second value), >= 16 the 16-lane path, and sizes that are not multiples of 16
its "redraw the last 16" tail; integer ranges cross 2**28, where one 32-bit word becomes a 64-bit one.
"""
import math

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import relulab as rl
from relulab import nn
from relulab.random import Generator

SEEDS = (0, 1, 42, 2 ** 32 + 5, 2 ** 63 + 11)
SIZES = (1, 2, 15, 16, 17, 31, 48, 1000, 100_003)
FLOATS = ((np.float32, "float32"), (np.float64, "float64"))


def _pair(torch, seed):
    torch.manual_seed(seed)
    rl.manual_seed(seed)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("np_dtype, name", FLOATS)
def test_rand_randn_normal_uniform_match(torch, seed, np_dtype, name):
    tdt = getattr(torch, name)
    _pair(torch, seed)
    for n in SIZES:
        assert_array_equal(torch.rand(n, dtype=tdt).numpy(), rl.rand(n, dtype=np_dtype).numpy(), err_msg=f"rand {n}")
        assert_array_equal(torch.randn(n, dtype=tdt).numpy(), rl.randn(n, dtype=np_dtype).numpy(),
                           err_msg=f"randn {n}")
        assert_array_equal(torch.empty(n, dtype=tdt).normal_(1.5, 0.25).numpy(),
                           rl.empty(n, dtype=np_dtype).normal_(1.5, 0.25).numpy(), err_msg=f"normal_ {n}")
        assert_array_equal(torch.empty(n, dtype=tdt).uniform_(-3.0, 2.5).numpy(),
                           rl.empty(n, dtype=np_dtype).uniform_(-3.0, 2.5).numpy(), err_msg=f"uniform_ {n}")
    assert_array_equal(torch.get_rng_state().numpy(), rl.get_rng_state().numpy())


def test_shapes_and_float16(torch):
    _pair(torch, 7)
    for shape in [(3, 5), (4, 4), (2, 3, 7), (0,), (10, 16)]:
        assert_array_equal(torch.randn(*shape).numpy(), rl.randn(*shape).numpy())
        assert_array_equal(torch.rand(*shape).numpy(), rl.rand(*shape).numpy())
    for n in (3, 16, 40):
        assert_array_equal(torch.randn(n, dtype=torch.float16).numpy(), rl.randn(n, dtype=np.float16).numpy())
        assert_array_equal(torch.rand(n, dtype=torch.float16).numpy(), rl.rand(n, dtype=np.float16).numpy())


def test_small_normals_share_the_cached_box_muller_value(torch):
    """PyTorch keeps the second value of each serial Box-Muller pair for the next small call, across dtypes and
    parameters, and a reseed forgets it."""
    _pair(torch, 3)
    calls = [(3, "float64", 0.0, 1.0), (1, "float32", 2.0, 0.5), (5, "float32", -1.0, 3.0), (2, "float64", 0.0, 2.0)]
    for n, name, mean, std in calls:
        assert_array_equal(torch.empty(n, dtype=getattr(torch, name)).normal_(mean, std).numpy(),
                           rl.empty(n, dtype=np.dtype(name)).normal_(mean, std).numpy())
    assert_array_equal(torch.get_rng_state().numpy(), rl.get_rng_state().numpy())
    _pair(torch, 3)
    assert_array_equal(torch.randn(1).numpy(), rl.randn(1).numpy())


def test_strided_tensor_takes_the_serial_path(torch):
    _pair(torch, 11)
    t, r = torch.zeros(20, 20).t(), rl.zeros(20, 20).t()
    assert not r._data.flags.c_contiguous
    assert_array_equal(t.normal_().numpy(), r.normal_().numpy())


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_integers_match(torch, seed):
    _pair(torch, seed)
    for n in SIZES:
        assert_array_equal(torch.randint(-5, 1000, (n,)).numpy(), rl.randint(-5, 1000, (n,)).numpy())
        assert_array_equal(torch.randint(0, 2 ** 40, (n,)).numpy(), rl.randint(0, 2 ** 40, (n,)).numpy())
        assert_array_equal(torch.randint(2 ** 28 - 1, (n,)).numpy(), rl.randint(2 ** 28 - 1, (n,)).numpy())
        assert_array_equal(torch.randint(2 ** 28, (n,)).numpy(), rl.randint(2 ** 28, (n,)).numpy())
        assert_array_equal(torch.randperm(n).numpy(), rl.randperm(n).numpy())
    assert_array_equal(torch.randint(3, 9, (30,), dtype=torch.int32).numpy(),
                       rl.randint(3, 9, (30,), dtype=np.int32).numpy())


@pytest.mark.parametrize("name", ["int64", "int32", "int16", "int8", "uint8", "bool", "float32", "float64"])
def test_random_without_bounds_matches(torch, name):
    _pair(torch, 5)
    for n in (1, 50):
        assert_array_equal(torch.empty(n, dtype=getattr(torch, name)).random_().numpy(),
                           rl.zeros(n, dtype=np.dtype(name)).random_().numpy())
    assert_array_equal(torch.empty(9, dtype=getattr(torch, name)).random_(2, 7).numpy() if name != "bool" else
                       torch.empty(9, dtype=torch.bool).random_(0, 2).numpy(),
                       rl.zeros(9, dtype=np.dtype(name)).random_(2, 7).numpy() if name != "bool" else
                       rl.zeros(9, dtype=np.bool_).random_(0, 2).numpy())


@pytest.mark.parametrize("np_dtype, name", FLOATS)
def test_bernoulli_exponential_multinomial_match(torch, np_dtype, name):
    tdt = getattr(torch, name)
    _pair(torch, 9)
    for n in (1, 20, 1001):
        assert_array_equal(torch.empty(n, dtype=tdt).bernoulli_(0.3).numpy(),
                           rl.empty(n, dtype=np_dtype).bernoulli_(0.3).numpy())
        assert_array_equal(torch.empty(n, dtype=tdt).exponential_(2.0).numpy(),
                           rl.empty(n, dtype=np_dtype).exponential_(2.0).numpy())
    p = np.random.default_rng(0).random((4, 7)).astype(np_dtype)
    p[1, 2] = 0.0
    assert_array_equal(torch.bernoulli(torch.tensor(p)).numpy(), rl.bernoulli(rl.tensor(p)).numpy())
    for n, replacement in [(1, True), (1, False), (3, False), (7, False), (5, True), (40, True)]:
        assert_array_equal(torch.multinomial(torch.tensor(p), n, replacement).numpy(),
                           rl.multinomial(rl.tensor(p), n, replacement).numpy(), err_msg=f"{n} {replacement}")
    assert_array_equal(torch.multinomial(torch.tensor(p[0]), 4, True).numpy(),
                       rl.multinomial(rl.tensor(p[0]), 4, True).numpy())
    assert_array_equal(torch.get_rng_state().numpy(), rl.get_rng_state().numpy())


def test_normal_with_tensor_arguments(torch):
    _pair(torch, 4)
    mean, std = np.linspace(-1, 1, 20, dtype=np.float32), np.linspace(0.1, 2, 20, dtype=np.float32)
    assert_array_equal(torch.normal(torch.tensor(mean), torch.tensor(std)).numpy(),
                       rl.normal(rl.tensor(mean), rl.tensor(std)).numpy())
    assert_array_equal(torch.normal(2.0, 3.0, size=(5, 4)).numpy(), rl.normal(2.0, 3.0, size=(5, 4)).numpy())


@pytest.mark.parametrize("seed", (0, 123))
def test_explicit_generators_and_their_states(torch, seed):
    tg, rg = torch.Generator().manual_seed(seed), Generator().manual_seed(seed)
    assert rg.initial_seed() == tg.initial_seed() == seed
    assert_array_equal(torch.randn(33, generator=tg).numpy(), rl.randn(33, generator=rg).numpy())
    assert_array_equal(torch.randn(3, generator=tg).numpy(), rl.randn(3, generator=rg).numpy())  # leaves a cache
    state = rg.get_state()
    assert_array_equal(tg.get_state().numpy(), state.numpy())
    # a relulab state loaded into torch, and a torch state loaded into relulab, both continue the same stream
    tg2 = torch.Generator().set_state(torch.from_numpy(state.numpy().copy()))
    rg2 = Generator().set_state(rl.tensor(tg.get_state().numpy()))
    expected = torch.randn(5, generator=tg).numpy()
    assert_array_equal(torch.randn(5, generator=tg2).numpy(), expected)
    assert_array_equal(rl.randn(5, generator=rg2).numpy(), expected)
    assert_array_equal(rl.randn(5, generator=rg).numpy(), expected)


def test_default_and_negative_seeds(torch):
    tg, rg = torch.Generator(), Generator()
    assert rg.initial_seed() == tg.initial_seed()
    assert_array_equal(torch.rand(10, generator=tg).numpy(), rl.rand(10, generator=rg).numpy())
    torch.manual_seed(-1)
    rl.manual_seed(-1)
    assert rl.initial_seed() == torch.initial_seed() == 2 ** 64 - 1
    assert_array_equal(torch.rand(4).numpy(), rl.rand(4).numpy())


# ---------------------------------------------------------------------------------------------------- nn.init
INIT_CASES = [
    ("uniform_", {"a": -0.3, "b": 0.7}), ("normal_", {"mean": 0.5, "std": 0.02}),
    ("xavier_uniform_", {"gain": 1.3}), ("xavier_normal_", {}),
    ("kaiming_uniform_", {"a": math.sqrt(5)}), ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"}),
    ("kaiming_normal_", {}), ("kaiming_normal_", {"nonlinearity": "tanh", "mode": "fan_out"}),
    ("trunc_normal_", {"std": 0.02}), ("trunc_normal_", {"mean": 0.0, "std": 1.0, "a": -0.5, "b": 0.5}),
    ("trunc_normal_", {"mean": 0.0, "std": 1.0, "a": 1.0, "b": 1.4}),
]


@pytest.mark.parametrize("fn, kwargs", INIT_CASES)
@pytest.mark.parametrize("shape", [(7, 5), (16, 3, 3, 3), (64, 130)])
def test_init_functions_match(torch, fn, kwargs, shape):
    _pair(torch, 21)
    t, r = torch.empty(*shape), rl.empty(*shape)
    getattr(torch.nn.init, fn)(t, **kwargs)
    getattr(nn.init, fn)(r, **kwargs)
    assert_array_equal(t.numpy(), r.numpy())
    assert_array_equal(torch.get_rng_state().numpy(), rl.get_rng_state().numpy())


@pytest.mark.parametrize("seed", (0, 7))
def test_default_layer_initialisation_matches(torch, seed):
    """A model built by the same code starts from the same weights."""
    def build(lib):
        lib.manual_seed(seed)
        return lib.nn.Sequential(lib.nn.Conv2d(3, 8, 3, padding=1), lib.nn.BatchNorm2d(8), lib.nn.ReLU(),
                                 lib.nn.Conv2d(8, 4, 1, bias=False), lib.nn.Flatten(), lib.nn.Linear(4 * 5 * 5, 10),
                                 lib.nn.Linear(10, 1))
    import relulab.torch as rt
    t_model, r_model = build(torch), build(rt)
    t_params, r_params = dict(t_model.state_dict()), dict(r_model.state_dict())
    for key, value in t_params.items():
        if value.dtype == torch.float32:
            assert_array_equal(value.numpy(), r_params[key].numpy(), err_msg=key)


def test_dropout_masks_match(torch):
    x = np.arange(1, 301, dtype=np.float32).reshape(3, 100)
    images = np.ones((2, 6, 4, 4), np.float32)
    _pair(torch, 13)
    for p in (0.1, 0.5, 0.9):
        assert_array_equal(torch.nn.functional.dropout(torch.tensor(x), p).numpy(),
                           nn.functional.dropout(rl.tensor(x), p).numpy())
    assert_array_equal(torch.nn.Dropout2d(0.3)(torch.tensor(images)).numpy(),
                       nn.Dropout2d(0.3)(rl.tensor(images)).numpy())


# ---------------------------------------------------------------------------------------------------- data
@pytest.mark.parametrize("lengths", [[30, 70], [0.7, 0.2, 0.1], [33, 33, 34]])
@pytest.mark.parametrize("explicit", [False, True])
def test_random_split_matches(torch, lengths, explicit):
    import relulab.torch as rt
    _pair(torch, 17)
    tg = torch.Generator().manual_seed(3) if explicit else None
    rg = Generator().manual_seed(3) if explicit else None
    t_parts = torch.utils.data.random_split(range(100), lengths, generator=tg) if explicit else \
        torch.utils.data.random_split(range(100), lengths)
    r_parts = rt.utils.data.random_split(range(100), lengths, generator=rg) if explicit else \
        rt.utils.data.random_split(range(100), lengths)
    assert [list(p.indices) for p in t_parts] == [list(p.indices) for p in r_parts]


def _epochs(lib, loader, epochs):
    return [[b.tolist() for (b,) in loader] for _ in range(epochs)]


@pytest.mark.parametrize("explicit", [False, True])
@pytest.mark.parametrize("batch_size, drop_last, n", [(8, False, 50), (8, True, 50), (10, False, 40)])
def test_shuffled_dataloader_matches_over_epochs(torch, explicit, batch_size, drop_last, n):
    """Epoch orders, and the draws after them (the loader's base seed, the sampler's trailing permutation)."""
    import relulab.torch as rt
    _pair(torch, 23)
    data = np.arange(n)
    loaders = []
    for lib in (torch, rt):
        gen = lib.Generator().manual_seed(99) if explicit else None
        dataset = lib.utils.data.TensorDataset(lib.tensor(data))
        loaders.append(lib.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True,
                                                 drop_last=drop_last, generator=gen))
    assert _epochs(torch, loaders[0], 3) == _epochs(rt, loaders[1], 3)
    assert_array_equal(torch.get_rng_state().numpy(), rl.get_rng_state().numpy())
    assert_array_equal(torch.rand(3).numpy(), rl.rand(3).numpy())


def test_unshuffled_loader_still_draws_its_base_seed(torch):
    import relulab.torch as rt
    _pair(torch, 2)
    for lib in (torch, rt):
        for _ in lib.utils.data.DataLoader(lib.utils.data.TensorDataset(lib.tensor(np.arange(10))), batch_size=4):
            pass
    assert_array_equal(torch.get_rng_state().numpy(), rl.get_rng_state().numpy())


def test_samplers_match(torch):
    import relulab.torch as rt
    _pair(torch, 29)
    weights = [0.1, 2.0, 0.0, 1.5, 0.4]
    results = []
    for lib in (torch, rt):
        data = lib.utils.data
        results.append((
            list(data.RandomSampler(range(10), replacement=True, num_samples=45)),
            list(data.RandomSampler(range(10), num_samples=25)),
            list(data.SubsetRandomSampler([5, 9, 2, 7])),
            list(data.WeightedRandomSampler(weights, 12)),
            list(data.WeightedRandomSampler(weights, 3, replacement=False)),
            list(data.BatchSampler(data.RandomSampler(range(11)), 4, drop_last=True)),
        ))
    assert results[0] == results[1]
    assert_array_equal(torch.get_rng_state().numpy(), rl.get_rng_state().numpy())


@pytest.mark.parametrize("np_dtype, name", FLOATS + ((np.float16, "float16"),))
def test_large_draws_on_both_paths(torch, draw_path, np_dtype, name):
    """Draws of >= 2**16 values take numba's loops when it is installed; NumPy's must give the same values."""
    tdt = getattr(torch, name)
    _pair(torch, 31)
    for n in (1 << 16, 200_003):
        assert_array_equal(torch.rand(n, dtype=tdt).numpy(), rl.rand(n, dtype=np_dtype).numpy())
        assert_array_equal(torch.randn(n, dtype=tdt).numpy(), rl.randn(n, dtype=np_dtype).numpy())
        assert_array_equal(torch.empty(n, dtype=tdt).normal_(0.5, 3.0).numpy(),
                           rl.empty(n, dtype=np_dtype).normal_(0.5, 3.0).numpy())
    assert_array_equal(torch.randperm(100_000).numpy(), rl.randperm(100_000).numpy())
    assert_array_equal(torch.get_rng_state().numpy(), rl.get_rng_state().numpy())


def test_random_bound_forms_match(torch):
    """random_(to), random_(to=...), random_(from, to) and random_(from=...) as PyTorch reads them."""
    _pair(torch, 41)
    for kwargs in ({"to": 5}, {"from": 3, "to": 40}):
        assert_array_equal(torch.zeros(9, dtype=torch.int64).random_(**kwargs).numpy(),
                           rl.zeros(9, dtype=np.int64).random_(**kwargs).numpy())
    assert_array_equal(torch.zeros(9, dtype=torch.int64).random_(7).numpy(),
                       rl.zeros(9, dtype=np.int64).random_(7).numpy())
    for name in ("int64", "int32", "int8", "uint8", "float32", "float64"):  # to=None: up to the dtype's max
        assert_array_equal(torch.zeros(9, dtype=getattr(torch, name)).random_(3, None).numpy(),
                           rl.zeros(9, dtype=np.dtype(name)).random_(3, None).numpy(), err_msg=name)
    for low in (-2 ** 63, 10 ** 12):  # from int64's lowest: every 64-bit pattern
        assert_array_equal(torch.zeros(9, dtype=torch.int64).random_(low, None).numpy(),
                           rl.zeros(9, dtype=np.int64).random_(low, None).numpy())
    with pytest.raises(TypeError, match="random_"):
        rl.zeros(3, dtype=np.int64).random_(**{"from": 3})
