"""Autograd guards against silent wrong gradients (issue 14): a saved *output* is version-checked like a saved
input, and grad mode is per thread.  Each case is run in torch too, so relulab raises exactly where torch does."""
import threading

import numpy as np
import pytest

import relulab as rl

# Ops whose backward reads their own output; each as (relulab fn, torch fn) on a positive float64 vector.
SAVES_OUTPUT = {
    "exp": (lambda x: x.exp(), lambda x: x.exp()),
    "sigmoid": (lambda x: x.sigmoid(), lambda x: x.sigmoid()),
    "tanh": (lambda x: x.tanh(), lambda x: x.tanh()),
    "sqrt": (lambda x: x.sqrt(), lambda x: x.sqrt()),
    "softmax": (lambda x: x.softmax(0), lambda x: x.softmax(0)),
    "log_softmax": (lambda x: x.log_softmax(0), lambda x: x.log_softmax(0)),
    "pow": (lambda x: x ** x, lambda x: x ** x),
    "prod": (lambda x: x.prod(), lambda x: x.prod()),
    "norm": (lambda x: x.norm(), lambda x: x.norm()),
    "amax": (lambda x: x.amax(), lambda x: x.amax()),
    "max": (lambda x: x.max(), lambda x: x.max()),
}
VALUES = [0.5, 1.0, 2.0]


def _modify(lib, y, how):
    if how == "no_grad":
        with lib.no_grad():
            y.mul_(2.0)
    elif how == "detach":
        y.detach().add_(1.0)
    else:  # through a view of the output (a 0-d output has no slice: a reshape is its view)
        with lib.no_grad():
            view = y.reshape(-1)[0:1] if y.ndim else y.reshape(1)
            view.mul_(3.0)


def _outcome(lib, fn, how):
    x = lib.tensor(VALUES, dtype=lib.float64, requires_grad=True)
    y = fn(x)
    _modify(lib, y, how)
    try:
        y.sum().backward()
    except RuntimeError as e:
        return str(e)
    return None


@pytest.mark.parametrize("how", ["no_grad", "detach", "view"])
@pytest.mark.parametrize("name", sorted(SAVES_OUTPUT))
def test_inplace_change_to_a_saved_output_raises_as_in_torch(torch, name, how):
    rl_fn, torch_fn = SAVES_OUTPUT[name]
    expected = _outcome(torch, torch_fn, how)
    assert expected is not None and "modified by an inplace operation" in expected
    got = _outcome(rl, rl_fn, how)
    assert got is not None, f"{name}: an in-place change to its output went unnoticed"
    assert "one of the variables needed for gradient computation has been modified by an inplace operation" in got
    op = {"log_softmax": "LogSoftmax", "amax": "SelectReduce", "max": "SelectReduce",
          "norm": "EuclideanNorm"}.get(name, name.capitalize())
    assert got.startswith(op) and f"{op}Backward" in got and "at version" in got and "expected version 0" in got


def test_sigmoid_does_not_give_wrong_gradients_after_an_inplace_change():
    # The case: without the guard the gradient was y'(1 - y') of the modified y, even negative.
    x = rl.tensor([0.0, 1.0], requires_grad=True)
    y = x.sigmoid()
    with rl.no_grad():
        y.mul_(3.0)
    with pytest.raises(RuntimeError, match=r"Sigmoid.*is at version 1; expected version 0"):
        y.sum().backward()


@pytest.mark.parametrize("name", ["max", "min"])
def test_values_of_max_over_a_dim_may_change_as_in_torch(torch, name):
    # max(dim) sends the gradient to the saved index, so torch lets its values change; so does relulab.
    def run(lib):
        x = lib.tensor([[1.0, 3.0], [4.0, 2.0]], dtype=lib.float64, requires_grad=True)
        v = getattr(x, name)(1).values
        with lib.no_grad():
            v.mul_(2.0)
        v.sum().backward()
        return x.grad.numpy()
    np.testing.assert_array_equal(run(rl), run(torch))


@pytest.mark.parametrize("exponent_grad", [False, True])
def test_tensor_pow_output_is_checked_whichever_input_needs_a_gradient(torch, exponent_grad):
    def run(lib):
        x = lib.tensor([0.5, 2.0], dtype=lib.float64, requires_grad=True)
        y = lib.tensor([2.0, 3.0], dtype=lib.float64, requires_grad=exponent_grad)
        z = x ** y
        with lib.no_grad():
            z.add_(1.0)
        try:
            z.sum().backward()
        except RuntimeError:
            return "raises"
        return "passes"
    assert run(rl) == run(torch) == "raises"


def test_output_not_read_by_mul_backward_may_change_as_in_torch(torch):
    def run(lib):
        x = lib.tensor([-1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
        y = x * 2.0
        with lib.no_grad():
            y.add_(1.0)
        y.sum().backward()
        return x.grad.numpy()
    np.testing.assert_array_equal(run(rl), run(torch))


@pytest.mark.parametrize("op", ["relu", "abs"])
def test_ops_reading_only_their_input_give_the_true_gradient_after_an_output_change(op):
    # relulab's relu and abs differentiate from their (unchanged, version-checked) input, so a change to the
    # output cannot make the gradient wrong.  (torch's relu reads its output and raises here instead.)
    x = rl.tensor([-1.0, 2.0, 3.0], dtype=rl.float64, requires_grad=True)
    y = x.relu() if op == "relu" else x.abs()
    with rl.no_grad():
        y.add_(1.0)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), {"relu": [0.0, 1.0, 1.0], "abs": [-1.0, 1.0, 1.0]}[op])


def test_unmodified_outputs_and_retain_graph_still_backprop():
    x = rl.tensor([0.5, 1.0], dtype=rl.float64, requires_grad=True)
    y = x.exp()
    y.sum().backward(retain_graph=True)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp([0.5, 1.0]))
    # .data is untracked in torch too: a change through it is not seen
    y2 = x.tanh()
    y2.data.mul_(1.0)
    y2.sum().backward()


# ------------------------------------------------------------------------------------------ thread-local grad mode
def _record_in_other_thread(ctx_factory):
    """Hold ``ctx_factory()`` in thread A while thread B builds a graph; return (B records, A records)."""
    inside, done = threading.Event(), threading.Event()
    seen = {}

    def holder():
        with ctx_factory():
            seen["a_enabled"] = rl.is_grad_enabled()
            inside.set()
            done.wait(5)

    def builder():
        inside.wait(5)
        x = rl.ones(3, requires_grad=True)
        seen["b_records"] = (x * 2).requires_grad
        done.set()

    ta, tb = threading.Thread(target=holder), threading.Thread(target=builder)
    ta.start(), tb.start()
    ta.join(10), tb.join(10)
    return seen["b_records"], seen["a_enabled"]


@pytest.mark.parametrize("ctx", ["no_grad", "set_grad_enabled", "inference_mode"])
def test_grad_mode_off_in_one_thread_leaves_others_recording(ctx):
    factory = {"no_grad": rl.no_grad, "set_grad_enabled": lambda: rl.set_grad_enabled(False),
               "inference_mode": rl.inference_mode}[ctx]
    b_records, a_enabled = _record_in_other_thread(factory)
    assert a_enabled is False
    assert b_records is True
    assert rl.is_grad_enabled()


def test_enable_grad_in_one_thread_does_not_switch_on_another():
    with rl.no_grad():
        b_records, a_enabled = _record_in_other_thread(rl.enable_grad)
        assert not rl.is_grad_enabled()  # this thread's mode survived the other thread's enable_grad
    assert a_enabled is True and b_records is True


def test_new_thread_starts_with_grad_enabled_as_torch(torch):
    def in_thread(lib):
        out = {}
        with lib.no_grad():
            t = threading.Thread(target=lambda: out.setdefault("enabled", lib.is_grad_enabled()))
            t.start(), t.join()
        return out["enabled"]
    assert in_thread(rl) == in_thread(torch) is True


def test_decorated_function_running_in_two_threads_restores_each_threads_mode():
    gate = threading.Barrier(2)
    after = {}

    @rl.no_grad()
    def work():
        gate.wait(5)
        return rl.is_grad_enabled()

    def run(name, start_enabled):
        rl.set_grad_enabled(start_enabled)
        inside = work()
        after[name] = (inside, rl.is_grad_enabled())

    threads = [threading.Thread(target=run, args=("on", True)), threading.Thread(target=run, args=("off", False))]
    [t.start() for t in threads]
    [t.join(10) for t in threads]
    assert after == {"on": (False, True), "off": (False, False)}


def test_set_grad_enabled_as_decorator_and_call(torch):
    for lib in (rl, torch):
        @lib.set_grad_enabled(False)
        def f():
            return lib.is_grad_enabled()
        assert lib.is_grad_enabled()  # decorating switches nothing
        assert f() is False and lib.is_grad_enabled()
        lib.set_grad_enabled(False)
        assert not lib.is_grad_enabled()
        lib.set_grad_enabled(True)
