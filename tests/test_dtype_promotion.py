"""Type promotion against torch 2.13 in every combination (issue 14).

Operands: tensors of every dtype below with dimensions and as 0-d tensors, and Python bool/int/float scalars, on
either side.  For + - * / ** and the comparisons the result dtype and values must equal torch's, and where torch
raises (any subtraction with a bool operand, bool ** bool) relulab raises the same exception type (and for
subtraction the same message)."""
import operator

import numpy as np
import pytest

import relulab as rl

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
SCALARS = [True, 2, 1.5]
OPS = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
       "eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le, "gt": operator.gt,
       "ge": operator.ge, "pow": operator.pow}
# Values that tell dtypes apart: 2.5 is not an integer, 3 - 1 in uint8 stays positive, and the 0-d operand
# differs from the n-d one so that comparisons give both answers.
VALUES = {"b": [True, False], "i": [3, 1], "u": [3, 1], "f": [2.5, -1.5]}


def _operand(lib, spec, second):
    if not isinstance(spec, tuple):
        return spec
    name, ndim = spec
    dtype = getattr(lib, name) if lib.__name__ == "torch" else np.dtype(name)
    vals = VALUES[np.dtype(name).kind]
    vals = vals[::-1] if second else vals
    return lib.tensor(vals if ndim else vals[0], dtype=dtype)


def _cases():
    for a in DTYPES:
        for b in DTYPES:
            for da in (1, 0):
                for db in (1, 0):
                    yield (a, da), (b, db)
        for s in SCALARS:
            yield (a, 1), s
            yield s, (a, 1)
            yield (a, 0), s
            yield s, (a, 0)


CASES = list(_cases())


def _run(lib, op, a, b):
    try:
        out = op(_operand(lib, a, False), _operand(lib, b, True))
    except (RuntimeError, NotImplementedError) as e:
        return "raises", type(e).__name__
    return str(out.dtype).replace("torch.", ""), np.asarray(out.numpy(), dtype=np.float64)


@pytest.mark.parametrize("op", sorted(OPS))
def test_promotion_equals_torch_in_every_combination(torch, op):
    fn = OPS[op]
    differing = []
    for a, b in CASES:
        ours, theirs = _run(rl, fn, a, b), _run(torch, fn, a, b)
        if ours[0] != theirs[0]:
            differing.append((a, b, ours[0], theirs[0]))
        elif ours[0] == "raises":
            if ours[1] != theirs[1]:
                differing.append((a, b, ours[1], theirs[1]))
        elif not np.allclose(ours[1], theirs[1], rtol=1e-3, equal_nan=True):
            differing.append((a, b, ours[1].tolist(), theirs[1].tolist()))
    assert len(CASES) == 432
    assert not differing, f"{op}: {len(differing)} of {len(CASES)} combinations differ from torch: {differing[:5]}"


@pytest.mark.parametrize("expr", [
    lambda L: L.tensor([True]) - L.tensor([True]),
    lambda L: L.tensor([True, False]) - True,
    lambda L: 1 - L.tensor([True]),
    lambda L: L.tensor([1, 2], dtype=L.uint8) - L.tensor([True, False]),
    lambda L: L.sub(L.tensor([2.0]), L.tensor([True])),
    lambda L: L.tensor([2.0]).sub(L.tensor(True)),
    lambda L: -L.tensor([True]),
])
def test_bool_subtraction_and_negation_raise_as_torch(torch, expr):
    with pytest.raises(RuntimeError) as theirs:
        expr(torch)
    with pytest.raises(RuntimeError) as ours:
        expr(rl)
    assert str(ours.value) == str(theirs.value)


def test_inplace_sub_of_bool_raises_as_torch(torch):
    for lib in (torch, rl):
        t = lib.tensor([1.0, 2.0])
        with pytest.raises(RuntimeError, match="Subtraction, the `-` operator, with a bool tensor"):
            t.sub_(lib.tensor([True, False]))


@pytest.mark.parametrize("expr", [
    lambda L: L.tensor([1, 2], dtype=L.uint8) + 300,            # a Python int out of range wraps
    lambda L: L.tensor([1, 2], dtype=L.int8) * 1000,
    lambda L: L.tensor([100], dtype=L.int8) + L.tensor(1000),    # as does a 0-d int64 tensor cast down
    lambda L: L.tensor([255], dtype=L.uint8) == -1,              # comparisons promote first, like arithmetic
    lambda L: L.tensor([16777217]) == L.tensor([16777216.0]),    # int64 vs float32 compares in float32
    lambda L: L.tensor([0.1], dtype=L.float16) == L.tensor(0.1),  # a 0-d float32 does not widen float16
    lambda L: L.tensor([2049], dtype=L.int32) == L.tensor(2048.0, dtype=L.float16),
    lambda L: L.tensor([1], dtype=L.int8) < 1.5,
    lambda L: L.tensor([True]) == 1.5,
])
def test_value_edge_cases_of_promotion(torch, expr):
    ours, theirs = expr(rl), expr(torch)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_comparison_with_non_numbers_keeps_working():
    t = rl.tensor([1.0, 2.0])
    assert (t == None).tolist() == [False, False]  # noqa: E711  (numpy's answer; torch returns False)
    assert t in [t]
    np.testing.assert_array_equal((t < np.array([1.5, 1.5])).numpy(), [True, False])


@pytest.mark.parametrize("op", ["add_", "sub_", "mul_", "div_"])
def test_inplace_ops_refuse_what_cannot_be_cast_back_as_torch(torch, op):
    differing = []
    for a, b in CASES:
        if not isinstance(a, tuple) or (a[1] == 0 and isinstance(b, tuple) and b[1] == 1):
            continue  # a number cannot be updated in place, and nothing broadcasts into a 0-d tensor
        ours, theirs = (_run(lib, lambda x, y: getattr(x, op)(y), a, b) for lib in (rl, torch))
        if ours[0] != theirs[0] or (ours[0] != "raises" and not np.allclose(ours[1], theirs[1], rtol=1e-3)):
            differing.append((a, b, ours, theirs))
    assert not differing, f"{op}: {len(differing)} combinations differ from torch: {differing[:5]}"


def test_inplace_refusal_names_the_types():
    t = rl.tensor([1, 2])
    with pytest.raises(RuntimeError, match="mul_: result type Float can't be cast to the desired output type Long"):
        t.mul_(0.5)
    np.testing.assert_array_equal(t.numpy(), [1, 2])  # nothing written
