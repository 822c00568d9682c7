"""Module bookkeeping against torch.nn: names and order of parameters/buffers/children, modes, grads, state_dict,
printing, Dropout, Linear, checkpoints (relulab.save/load, safetensors interop, atomic writes) and seeded randomness.

torch only ever comes from the ``torch`` fixture / ``conftest.require_torch``.
"""
import os
from collections import OrderedDict

import numpy as np
import pytest

import relulab
import relulab.nn as rnn
import relulab.nn.functional as F
from opcheck import check_op

# ---------------------------------------------------------------------------------------------- equivalent models


def make_rl_model():
    class Block(rnn.Module):
        def __init__(self):
            super().__init__()
            self.alpha = rnn.Parameter(relulab.full((4,), 0.5))  # own parameter, listed before the children's
            self.body = rnn.Sequential(rnn.Linear(8, 6), rnn.Tanh(), rnn.Linear(6, 4, bias=False))
            self.out = rnn.Linear(4, 2)
            self.register_buffer("scale", relulab.ones(2))
            self.register_buffer("cache", relulab.zeros(3), persistent=False)

        def forward(self, x):
            return self.out(self.body(x) * self.alpha) * self.scale

    return rnn.Sequential(rnn.Linear(5, 8), rnn.ReLU(), rnn.Dropout(0.3), Block())


def make_torch_model(torch):
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.alpha = nn.Parameter(torch.full((4,), 0.5))
            self.body = nn.Sequential(nn.Linear(8, 6), nn.Tanh(), nn.Linear(6, 4, bias=False))
            self.out = nn.Linear(4, 2)
            self.register_buffer("scale", torch.ones(2))
            self.register_buffer("cache", torch.zeros(3), persistent=False)

        def forward(self, x):
            return self.out(self.body(x) * self.alpha) * self.scale

    return nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Dropout(0.3), Block())


def torch_state_as_numpy(tm):
    return OrderedDict((k, v.detach().cpu().numpy().copy()) for k, v in tm.state_dict().items())


def paired_models(torch):
    """A float64 relulab model carrying a (randomised) float64 torch model's weights and buffers."""
    torch.manual_seed(0)
    tm = make_torch_model(torch).double()
    with torch.no_grad():
        tm[3].scale.copy_(torch.tensor([0.7, -1.3], dtype=torch.float64))
        tm[3].alpha.copy_(torch.tensor([0.2, -0.4, 1.1, 0.9], dtype=torch.float64))
    rm = make_rl_model().double()
    rm.load_state_dict(torch_state_as_numpy(tm))
    return rm, tm


def outputs_equal(torch, rm, tm, atol=1e-6, seed=0):
    x = np.random.default_rng(seed).normal(size=(7, 5))
    rm.eval()
    tm.eval()
    got = rm(relulab.tensor(x, dtype=relulab.float64)).detach().numpy()
    with torch.no_grad():
        want = tm(torch.tensor(x, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(got, want, atol=atol, rtol=0)


# ---------------------------------------------------------------------------------------------- traversal


def test_named_parameters_match_torch(torch):
    rm, tm = make_rl_model(), make_torch_model(torch)
    r = [(n, tuple(p.shape)) for n, p in rm.named_parameters()]
    t = [(n, tuple(p.shape)) for n, p in tm.named_parameters()]
    assert r == t
    assert [tuple(p.shape) for p in rm.parameters()] == [tuple(p.shape) for p in tm.parameters()]
    assert all(p.requires_grad for p in rm.parameters())


def test_named_buffers_and_modules_match_torch(torch):
    rm, tm = make_rl_model(), make_torch_model(torch)
    assert [n for n, _ in rm.named_buffers()] == [n for n, _ in tm.named_buffers()]
    assert [n for n, _ in rm.named_modules()] == [n for n, _ in tm.named_modules()]
    assert [type(m).__name__ for m in rm.modules()] == [type(m).__name__ for m in tm.modules()]
    assert [n for n, _ in rm.named_children()] == [n for n, _ in tm.named_children()]
    assert [type(m).__name__ for m in rm.children()] == [type(m).__name__ for m in tm.children()]
    assert [n for n, _ in rm[3].named_children()] == ["body", "out"]
    assert [n for n, _ in rm[3].named_parameters(recurse=False)] == ["alpha"]
    assert [n for n, _ in rm.named_parameters(prefix="net")] == [n for n, _ in tm.named_parameters(prefix="net")]


def test_shared_parameters_listed_once(torch):
    lin = rnn.Linear(3, 3)
    rm = rnn.Sequential(lin, rnn.ReLU(), lin)
    tlin = torch.nn.Linear(3, 3)
    tm = torch.nn.Sequential(tlin, torch.nn.ReLU(), tlin)
    assert [n for n, _ in rm.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert [n for n, _ in rm.named_modules()] == [n for n, _ in tm.named_modules()]
    assert list(rm.state_dict()) == list(tm.state_dict())


def test_get_submodule_and_attribute_access():
    rm = make_rl_model()
    assert rm.get_submodule("3.body.2") is rm[3].body[2]
    assert rm[3].scale.shape == (2,)
    with pytest.raises(AttributeError):
        rm.get_submodule("3.nope")
    with pytest.raises(AttributeError):
        rm[3].nope


def test_apply_visits_children_first_like_torch(torch):
    rm, tm = make_rl_model(), make_torch_model(torch)
    r_order, t_order = [], []
    rm.apply(lambda m: r_order.append(type(m).__name__))
    tm.apply(lambda m: t_order.append(type(m).__name__))
    assert r_order == t_order

    def init(m):
        if isinstance(m, rnn.Linear):
            rnn.init.constant_(m.weight, 0.25)
            if m.bias is not None:
                rnn.init.zeros_(m.bias)

    assert rm.apply(init) is rm
    for name, p in rm.named_parameters():
        if name.endswith("weight"):
            assert np.all(p.detach().numpy() == 0.25), name
        elif name.endswith("bias"):
            assert np.all(p.detach().numpy() == 0.0), name


# ---------------------------------------------------------------------------------------------- modes and grads


def test_train_eval_propagate():
    rm = make_rl_model()
    assert all(m.training for m in rm.modules())
    assert rm.eval() is rm
    assert not any(m.training for m in rm.modules())
    rm.train()
    assert all(m.training for m in rm.modules())
    rm[3].eval()  # only the subtree
    assert rm.training and rm[0].training and rm[2].training
    assert not rm[3].training and not rm[3].body.training and not rm[3].body[0].training
    rm.train(False)
    assert not any(m.training for m in rm.modules())


def test_train_mode_must_be_bool():
    with pytest.raises(ValueError):
        make_rl_model().train("no")


def test_assigning_wrong_types_to_registered_names():
    lin = rnn.Linear(2, 2)
    with pytest.raises(TypeError, match="weight"):
        lin.weight = relulab.zeros(2, 2)  # a plain Tensor is not a Parameter
    lin.bias = None  # None is allowed, and drops the parameter from the listings
    assert [n for n, _ in lin.named_parameters()] == ["weight"]
    assert list(lin.state_dict()) == ["weight"]
    lin.extra = rnn.Parameter(relulab.zeros(3))
    assert [n for n, _ in lin.named_parameters()] == ["weight", "extra"]
    del lin.extra
    assert [n for n, _ in lin.named_parameters()] == ["weight"]


def _backward_once(rm):
    x = relulab.tensor(np.random.default_rng(0).normal(size=(3, 5)), dtype=relulab.float64)
    rm(x).sum().backward()


def test_zero_grad_set_to_none():
    rm = make_rl_model().double()
    _backward_once(rm)
    assert all(p.grad is not None for p in rm.parameters())
    rm.zero_grad()  # default: set_to_none=True, as in torch
    assert all(p.grad is None for p in rm.parameters())
    _backward_once(rm)
    rm.zero_grad(set_to_none=True)
    assert all(p.grad is None for p in rm.parameters())


def test_zero_grad_keep_zeros():
    rm = make_rl_model().double().eval()  # eval: no dropout, so repeated passes give equal grads
    _backward_once(rm)
    rm.zero_grad(set_to_none=False)
    for p in rm.parameters():
        assert p.grad is not None and p.grad.shape == p.shape
        assert np.all(p.grad.numpy() == 0)
    _backward_once(rm)  # accumulates into the zeros
    first = [p.grad.numpy().copy() for p in rm.parameters()]
    rm.zero_grad(set_to_none=False)
    _backward_once(rm)
    for a, p in zip(first, rm.parameters()):
        np.testing.assert_array_equal(a, p.grad.numpy())


# ---------------------------------------------------------------------------------------------- state_dict


def test_state_dict_keys_match_torch(torch):
    rm, tm = make_rl_model(), make_torch_model(torch)
    assert list(rm.state_dict()) == list(tm.state_dict())
    assert "3.cache" not in rm.state_dict()  # persistent=False
    assert "3.scale" in rm.state_dict()
    for (k, v), (tk, tv) in zip(rm.state_dict().items(), tm.state_dict().items()):
        assert tuple(v.shape) == tuple(tv.shape), k
        assert not v.requires_grad, k


def test_non_persistent_buffer_still_a_buffer(torch):
    rm = make_rl_model()
    assert "3.cache" in dict(rm.named_buffers())
    rm[3].register_buffer("extra", relulab.zeros(2), persistent=False)
    assert "3.extra" not in rm.state_dict()
    rm[3].register_buffer("extra", relulab.zeros(2), persistent=True)  # re-registering as persistent
    assert "3.extra" in rm.state_dict()


def test_load_torch_state_dict_gives_same_outputs(torch):
    rm, tm = paired_models(torch)
    outputs_equal(torch, rm, tm, atol=1e-6)
    for k, v in rm.state_dict().items():
        assert v.dtype == np.float64, k
        np.testing.assert_array_equal(v.numpy(), tm.state_dict()[k].numpy(), err_msg=k)


def test_load_state_dict_accepts_relulab_tensors_and_copies(torch):
    rm, tm = paired_models(torch)
    source = OrderedDict((k, relulab.tensor(v, dtype=relulab.float64)) for k, v in torch_state_as_numpy(tm).items())
    fresh = make_rl_model().double()
    res = fresh.load_state_dict(source)
    assert list(res.missing_keys) == [] and list(res.unexpected_keys) == []
    outputs_equal(torch, fresh, tm)
    # the model does not alias the source: changing the source afterwards changes nothing
    with relulab.no_grad():
        for v in source.values():
            v.fill_(123.0)
    outputs_equal(torch, fresh, tm)


def test_load_state_dict_strict_missing_and_unexpected():
    rm = make_rl_model()
    sd = rm.state_dict()
    del sd["3.out.bias"]
    sd["3.out.gamma"] = relulab.zeros(2)
    sd["head.weight"] = relulab.zeros(2, 2)
    with pytest.raises(RuntimeError) as e:
        rm.load_state_dict(sd)
    msg = str(e.value)
    assert "3.out.bias" in msg and "3.out.gamma" in msg and "head.weight" in msg
    assert "issing" in msg and "nexpected" in msg


def test_load_state_dict_strict_leaves_model_untouched_on_error():
    rm = make_rl_model()
    before = {k: v.numpy().copy() for k, v in rm.state_dict().items()}
    sd = {k: relulab.zeros(*v.shape) for k, v in rm.state_dict().items()}
    del sd["0.bias"]
    with pytest.raises(RuntimeError):
        rm.load_state_dict(sd)
    for k, v in rm.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k], err_msg=k)


@pytest.mark.parametrize("strict", [True, False])
def test_load_state_dict_shape_mismatch_names_key_and_shapes(strict):
    rm = make_rl_model()
    sd = rm.state_dict()
    sd["3.body.0.weight"] = relulab.zeros(6, 9)
    with pytest.raises(RuntimeError) as e:
        rm.load_state_dict(sd, strict=strict)
    msg = str(e.value)
    assert "3.body.0.weight" in msg
    assert "(6, 9)" in msg and "(6, 8)" in msg


def test_load_state_dict_non_strict_returns_keys(torch):
    rm, tm = paired_models(torch)
    sd = torch_state_as_numpy(tm)
    del sd["0.weight"], sd["3.scale"]
    sd["bogus"] = np.zeros(3)
    fresh = make_rl_model().double()
    w0 = fresh[0].weight.detach().numpy().copy()
    res = fresh.load_state_dict(sd, strict=False)
    missing, unexpected = res  # unpacks like torch's namedtuple
    assert list(missing) == ["0.weight", "3.scale"] == list(res.missing_keys)
    assert list(unexpected) == ["bogus"] == list(res.unexpected_keys)
    np.testing.assert_array_equal(fresh[0].weight.detach().numpy(), w0)  # missing: kept
    np.testing.assert_array_equal(fresh[0].bias.detach().numpy(), tm[0].bias.detach().numpy())  # loaded
    tres = tm.load_state_dict({k: torch.tensor(v) for k, v in sd.items()}, strict=False)
    assert list(tres.missing_keys) == list(missing) and list(tres.unexpected_keys) == list(unexpected)


# ---------------------------------------------------------------------------------------------- repr


def test_sequential_repr_matches_torch(torch):
    tnn = torch.nn
    rm = rnn.Sequential(rnn.Linear(3, 4), rnn.ReLU(), rnn.Sigmoid(), rnn.Tanh(), rnn.Dropout(0.25), rnn.Flatten(),
                        rnn.Softmax(dim=1), rnn.LeakyReLU(), rnn.LeakyReLU(0.2), rnn.Linear(4, 2, bias=False),
                        rnn.Dropout(), rnn.Flatten(0, 2), rnn.Softmax(dim=-1), rnn.ReLU(inplace=True))
    tm = tnn.Sequential(tnn.Linear(3, 4), tnn.ReLU(), tnn.Sigmoid(), tnn.Tanh(), tnn.Dropout(0.25), tnn.Flatten(),
                        tnn.Softmax(dim=1), tnn.LeakyReLU(), tnn.LeakyReLU(0.2), tnn.Linear(4, 2, bias=False),
                        tnn.Dropout(), tnn.Flatten(0, 2), tnn.Softmax(dim=-1), tnn.ReLU(inplace=True))
    assert str(rm) == str(tm)
    assert repr(rm) == repr(tm)


def test_nested_repr_matches_torch(torch):
    assert str(make_rl_model()) == str(make_torch_model(torch))


def test_more_layer_reprs_match_torch(torch):
    def build(n):
        return n.Sequential(n.Softplus(), n.Softplus(beta=2, threshold=10), n.Hardsigmoid(), n.LogSoftmax(dim=1),
                            n.Identity(), n.Softmax(), n.LeakyReLU(0.1, inplace=True), n.Dropout(p=0),
                            n.Sequential(n.Linear(2, 2)), n.Sequential())

    assert str(build(rnn)) == str(build(torch.nn))


def test_module_list_repr_matches_torch(torch):
    def build(n):
        return n.ModuleList([n.Linear(2, 2), n.Linear(2, 2), n.ReLU()])

    assert str(build(rnn)) == str(build(torch.nn))


def test_named_sequential_repr_matches_torch(torch):
    rm = rnn.Sequential(OrderedDict([("fc", rnn.Linear(2, 3)), ("act", rnn.Sigmoid())]))
    tm = torch.nn.Sequential(OrderedDict([("fc", torch.nn.Linear(2, 3)), ("act", torch.nn.Sigmoid())]))
    assert str(rm) == str(tm)
    assert [n for n, _ in rm.named_parameters()] == ["fc.weight", "fc.bias"]


# ---------------------------------------------------------------------------------------------- Dropout


def test_dropout_eval_is_identity():
    x = relulab.tensor(np.random.default_rng(0).normal(size=(50, 40)), dtype=relulab.float64)
    d = rnn.Dropout(0.5).eval()
    np.testing.assert_array_equal(d(x).numpy(), x.numpy())
    np.testing.assert_array_equal(F.dropout(x, 0.5, training=False).numpy(), x.numpy())
    model = rnn.Sequential(rnn.Dropout(0.9), rnn.Dropout(0.9)).eval()
    np.testing.assert_array_equal(model(x).numpy(), x.numpy())


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5, 0.8])
def test_dropout_training_statistics_and_scale(p):
    relulab.manual_seed(1)
    x = np.random.default_rng(2).uniform(0.5, 2.0, size=(400, 500))
    xr = relulab.tensor(x, dtype=relulab.float64, requires_grad=True)
    d = rnn.Dropout(p)
    assert d.training
    y = d(xr)
    out = y.detach().numpy()
    dropped = out == 0
    assert abs(dropped.mean() - p) < 0.01, dropped.mean()
    scale = 1.0 / (1.0 - p)
    np.testing.assert_array_equal(out[~dropped], x[~dropped] * scale)  # exactly 1/(1-p)
    y.sum().backward()
    g = xr.grad.numpy()
    assert np.all(g[dropped] == 0)
    assert np.all(g[~dropped] == scale)


def test_dropout_p_edges():
    x = relulab.tensor(np.ones((20, 20)), dtype=relulab.float64)
    np.testing.assert_array_equal(rnn.Dropout(0.0)(x).numpy(), x.numpy())
    np.testing.assert_array_equal(rnn.Dropout(1.0)(x).numpy(), np.zeros((20, 20)))


@pytest.mark.parametrize("p", [-0.1, 1.5, 2])
def test_dropout_bad_p(p):
    with pytest.raises(ValueError, match="probability"):
        rnn.Dropout(p)
    with pytest.raises(ValueError, match="probability"):
        F.dropout(relulab.ones(3), p)


def test_dropout_repr_and_generator():
    assert str(rnn.Dropout(0.2)) == "Dropout(p=0.2, inplace=False)"
    x = relulab.ones(100, dtype=relulab.float64)
    a = F.dropout(x, 0.5, generator=relulab.Generator().manual_seed(3)).numpy()
    b = F.dropout(x, 0.5, generator=relulab.Generator().manual_seed(3)).numpy()
    np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------------------------- Linear


def test_linear_wrong_feature_count_names_layer_and_shape():
    lin = rnn.Linear(5, 3)
    with pytest.raises((RuntimeError, ValueError)) as e:
        lin(relulab.zeros(2, 7))
    msg = str(e.value)
    assert "Linear" in msg and "in_features=5" in msg
    assert "(2, 7)" in msg


@pytest.mark.parametrize("xshape", [(5, 3), (2, 4, 3), (3,)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_functional_matches_torch(torch, xshape, bias):
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=xshape), rng.normal(size=(4, 3)), rng.normal(size=(4,))
    if bias:
        check_op(lambda x_, w_, b_: F.linear(x_, w_, b_), torch.nn.functional.linear, x, w, b,
                 atol=1e-10, rtol=1e-10)
    else:
        check_op(lambda x_, w_: F.linear(x_, w_), torch.nn.functional.linear, x, w, atol=1e-10, rtol=1e-10)


def test_linear_module_matches_torch(torch):
    rng = np.random.default_rng(1)
    lin = rnn.Linear(3, 4).double()
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    assert lin.weight.dtype == np.float64
    check_op(lambda x_: lin(x_), lambda x_: torch.nn.functional.linear(
        x_, torch.tensor(w, dtype=torch.float64), torch.tensor(b, dtype=torch.float64)),
        rng.normal(size=(6, 3)), atol=1e-10, rtol=1e-10)
    x = relulab.tensor(rng.normal(size=(6, 3)), dtype=relulab.float64)
    lin(x).pow(2).sum().backward()
    tw = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    torch.nn.functional.linear(torch.tensor(x.numpy()), tw, tb).pow(2).sum().backward()
    np.testing.assert_allclose(lin.weight.grad.numpy(), tw.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(lin.bias.grad.numpy(), tb.grad.numpy(), rtol=1e-10)


# ---------------------------------------------------------------------------------------------- checkpoints


def test_save_load_state_dict_roundtrip(torch, tmp_path):
    rm, tm = paired_models(torch)
    path = tmp_path / "model.safetensors"
    relulab.save(rm.state_dict(), path)
    loaded = relulab.load(path)
    assert list(loaded) == list(rm.state_dict())
    for k, v in rm.state_dict().items():
        assert loaded[k].dtype == v.dtype and tuple(loaded[k].shape) == tuple(v.shape)
        np.testing.assert_array_equal(loaded[k].numpy(), v.numpy(), err_msg=k)
    fresh = make_rl_model().double()
    fresh.load_state_dict(loaded)
    outputs_equal(torch, fresh, tm)
    relulab.save(rm.state_dict(), str(tmp_path / "as_str.safetensors"))  # str paths too
    assert list(relulab.load(str(tmp_path / "as_str.safetensors"))) == list(loaded)


def test_save_load_float32_model(tmp_path):
    rm = make_rl_model()
    path = tmp_path / "m32.safetensors"
    relulab.save(rm.state_dict(), path)
    loaded = relulab.load(path)
    for k, v in rm.state_dict().items():
        assert loaded[k].dtype == np.float32
        np.testing.assert_array_equal(loaded[k].numpy(), v.numpy(), err_msg=k)


def test_save_load_nested_structure(tmp_path):
    obj = {
        "state": {0: {"step": 3, "exp_avg": relulab.tensor([1.0, 2.0], dtype=relulab.float64)},
                  7: {"step": 4, "exp_avg": relulab.zeros(0, 3)}},
        "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "params": [0, 7], "foo": None,
                          "nesterov": False, "name": "main"}],
        "scalar": relulab.tensor(3.5, dtype=relulab.float64),
        "count": relulab.tensor(12),
        "empty": relulab.zeros(0),
        "pair": (relulab.tensor([[1, 2], [3, 4]]), -2.5),
        "nothing": None,
    }
    path = tmp_path / "nested.safetensors"
    relulab.save(obj, path)
    back = relulab.load(path)
    assert list(back) == list(obj)
    assert list(back["state"]) == [0, 7] and all(type(k) is int for k in back["state"])
    assert back["state"][0]["step"] == 3 and type(back["state"][0]["step"]) is int
    np.testing.assert_array_equal(back["state"][0]["exp_avg"].numpy(), [1.0, 2.0])
    assert back["state"][0]["exp_avg"].dtype == np.float64
    assert tuple(back["state"][7]["exp_avg"].shape) == (0, 3)
    g = back["param_groups"][0]
    assert isinstance(back["param_groups"], list)
    assert g["betas"] == (0.9, 0.999) and isinstance(g["betas"], tuple)
    assert g["lr"] == 1e-3 and g["eps"] == 1e-8 and type(g["lr"]) is float
    assert g["params"] == [0, 7] and g["foo"] is None and g["nesterov"] is False and g["name"] == "main"
    assert tuple(back["scalar"].shape) == () and back["scalar"].item() == 3.5
    assert back["count"].dtype == np.int64 and back["count"].item() == 12
    assert tuple(back["empty"].shape) == (0,)
    assert isinstance(back["pair"], tuple) and back["pair"][1] == -2.5
    np.testing.assert_array_equal(back["pair"][0].numpy(), [[1, 2], [3, 4]])
    assert back["pair"][0].dtype == np.int64
    assert back["nothing"] is None


def test_relulab_checkpoint_loads_in_torch(torch, tmp_path):
    import safetensors.torch as safetensors_torch  # safetensors is a relulab dependency; torch came from the fixture
    rm, tm = paired_models(torch)
    path = tmp_path / "for_torch.safetensors"
    relulab.save(rm.state_dict(), path)
    torch.manual_seed(123)
    other = make_torch_model(torch).double()
    other.load_state_dict(safetensors_torch.load_file(str(path)))
    outputs_equal(torch, rm, other, atol=1e-12)
    outputs_equal(torch, rm, tm, atol=1e-12)


def test_torch_safetensors_file_loads_in_relulab(torch, tmp_path):
    import safetensors.torch as safetensors_torch
    _, tm = paired_models(torch)
    path = tmp_path / "from_torch.safetensors"
    safetensors_torch.save_file({k: v.contiguous() for k, v in tm.state_dict().items()}, str(path))
    fresh = make_rl_model().double()
    fresh.load_state_dict(relulab.load(path))
    outputs_equal(torch, fresh, tm, atol=1e-12)


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"\xff" * 64,
                                     b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\": 1}"])
def test_load_corrupt_file_raises_value_error_naming_path(tmp_path, content):
    path = tmp_path / "corrupt.safetensors"
    path.write_bytes(content)
    with pytest.raises(ValueError) as e:
        relulab.load(path)
    assert str(path) in str(e.value)


def test_load_truncated_checkpoint(tmp_path):
    path = tmp_path / "trunc.safetensors"
    relulab.save({"w": relulab.ones(100, 10)}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError) as e:
        relulab.load(path)
    assert str(path) in str(e.value)


def test_load_corrupt_structure_metadata(tmp_path):
    from safetensors.numpy import save_file
    bad_json = tmp_path / "bad_json.safetensors"
    save_file({"w": np.zeros(2)}, str(bad_json), metadata={"relulab.tree": "{not json"})
    with pytest.raises(ValueError) as e:
        relulab.load(bad_json)
    assert str(bad_json) in str(e.value)
    dangling = tmp_path / "dangling.safetensors"
    save_file({"w": np.zeros(2)}, str(dangling), metadata={"relulab.tree": '{"dict": [["x", {"tensor": "gone"}]]}'})
    with pytest.raises(ValueError) as e:
        relulab.load(dangling)
    assert str(dangling) in str(e.value)


def test_save_load_name_collisions_and_dtypes(tmp_path):
    x = relulab.tensor(np.arange(6.0).reshape(2, 3), dtype=relulab.float64)
    obj = {"a.b": relulab.ones(2), "a": {"b": relulab.zeros(2)}, 1: relulab.full((1,), 7.0),
           "1": relulab.full((1,), 8.0), "t": x.t(), "h": relulab.ones(2, dtype=relulab.float16),
           "bool": relulab.tensor([True, False]), "lst": [relulab.ones(1), [relulab.zeros(1)]]}
    path = tmp_path / "collide.safetensors"
    relulab.save(obj, path)
    back = relulab.load(path)
    assert list(back) == ["a.b", "a", 1, "1", "t", "h", "bool", "lst"]
    np.testing.assert_array_equal(back["a.b"].numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(back["a"]["b"].numpy(), [0.0, 0.0])
    np.testing.assert_array_equal(back[1].numpy(), [7.0])
    np.testing.assert_array_equal(back["1"].numpy(), [8.0])
    np.testing.assert_array_equal(back["t"].numpy(), x.numpy().T)  # a non-contiguous view
    assert back["h"].dtype == np.float16 and back["bool"].dtype == np.bool_
    np.testing.assert_array_equal(back["lst"][1][0].numpy(), [0.0])


def test_load_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        relulab.load(tmp_path / "nope.safetensors")


def test_save_leaves_no_temp_files(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    relulab.save(make_rl_model().state_dict(), path)
    relulab.save(make_rl_model().state_dict(), path)  # overwrite
    assert sorted(os.listdir(tmp_path)) == ["ckpt.safetensors"]


@pytest.mark.parametrize("fail_at", ["replace", "fsync"])
def test_failed_save_keeps_previous_checkpoint(tmp_path, monkeypatch, fail_at):
    path = tmp_path / "ckpt.safetensors"
    first = {"w": relulab.tensor([1.0, 2.0, 3.0], dtype=relulab.float64)}
    relulab.save(first, path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, fail_at, boom)
    with pytest.raises(OSError, match="disk on fire"):
        relulab.save({"w": relulab.zeros(1000, dtype=relulab.float64)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["ckpt.safetensors"]
    np.testing.assert_array_equal(relulab.load(path)["w"].numpy(), [1.0, 2.0, 3.0])


def test_save_rejects_unsupported_objects(tmp_path):
    with pytest.raises(TypeError):
        relulab.save({"f": object()}, tmp_path / "bad.safetensors")
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


# ---------------------------------------------------------------------------------------------- randomness


def _draws(generator=None):
    kw = {} if generator is None else {"generator": generator}
    lin = rnn.Linear(6, 4, **kw)
    return [relulab.randn(3, 4, **kw).numpy(), relulab.rand(5, **kw).numpy(),
            relulab.randint(0, 10, (6,), **kw).numpy(), lin.weight.detach().numpy(), lin.bias.detach().numpy()]


def _assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def _all_differ(a, b):
    return all(not np.array_equal(x, y) for x, y in zip(a, b))


def test_manual_seed_reproduces():
    relulab.manual_seed(1234)
    a = _draws()
    relulab.manual_seed(1234)
    b = _draws()
    _assert_same(a, b)
    relulab.manual_seed(4321)
    c = _draws()
    assert _all_differ(a, c)
    # consecutive draws after one seed differ from each other
    relulab.manual_seed(1234)
    assert not np.array_equal(relulab.randn(10).numpy(), relulab.randn(10).numpy())


def test_generator_reproduces_and_is_independent():
    a = _draws(relulab.Generator().manual_seed(7))
    b = _draws(relulab.Generator().manual_seed(7))
    _assert_same(a, b)
    c = _draws(relulab.Generator().manual_seed(8))
    assert _all_differ(a, c)
    # a private generator does not consume the default stream
    relulab.manual_seed(5)
    x1 = relulab.randn(4).numpy()
    relulab.manual_seed(5)
    _draws(relulab.Generator().manual_seed(7))
    x2 = relulab.randn(4).numpy()
    np.testing.assert_array_equal(x1, x2)


def test_generator_state_roundtrip():
    g = relulab.Generator().manual_seed(9)
    state = g.get_state()
    a = relulab.randn(5, generator=g).numpy()
    g.set_state(state)
    np.testing.assert_array_equal(relulab.randn(5, generator=g).numpy(), a)
    relulab.manual_seed(3)
    s = relulab.get_rng_state()
    b = relulab.rand(4).numpy()
    relulab.set_rng_state(s)
    np.testing.assert_array_equal(relulab.rand(4).numpy(), b)
    assert relulab.initial_seed() == 3
