"""``Tensor``: an array, an optional gradient, and the op that produced it."""
import numbers

import numpy as np

from .. import backend
from ..backend import xp
from . import grad_mode
from .tensor_meta import CPU, Size, check_cpu, device


def _to_array(data, dtype=None):
    """Convert Python data, arrays or Tensors to an array with PyTorch's dtype inference."""
    if isinstance(data, Tensor):
        data = data._data
    if dtype is not None:
        return xp.array(data, dtype=np.dtype(dtype))
    arr = xp.array(data)
    from_python = not isinstance(_first_leaf(data), (np.ndarray, np.generic))
    if arr.dtype.kind == "f" and from_python:
        arr = arr.astype(backend.get_default_dtype())  # Python floats become the default float dtype
    elif arr.dtype.kind == "i" and arr.dtype != backend.int64 and from_python:
        arr = arr.astype(backend.int64)
    elif arr.dtype.kind not in "fiub":
        raise TypeError(f"tensor: cannot make a tensor from data of dtype {arr.dtype}")
    return arr


def _first_leaf(data):
    """The first element of nested lists/tuples: NumPy scalars inside keep their dtype, Python numbers do not."""
    while isinstance(data, (list, tuple)) and data:
        data = data[0]
    return data


class Tensor:
    """An n-dimensional array that records the ops applied to it, for reverse-mode differentiation.

    ``grad`` accumulates in leaves (tensors made by the user, such as parameters) after ``backward()``.
    """

    __slots__ = ("_data", "requires_grad", "grad", "_ctx", "_vc", "_retains_grad", "__weakref__", "__dict__")
    __array_priority__ = 1000  # so ndarray <op> Tensor defers to Tensor's reflected operators

    def __init__(self, data, dtype=None, requires_grad=False):
        self._init_leaf(_to_array(data, dtype), requires_grad)

    def _init_leaf(self, array, requires_grad):
        self._data = array
        self.grad = None
        self._ctx = None
        self._vc = [0]
        self._retains_grad = False
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, array, requires_grad=False):
        """Wrap an array without copying (the fast path every op uses)."""
        t = object.__new__(Tensor)
        t._data = array if type(array) is np.ndarray else xp.asarray(array)
        t.requires_grad = requires_grad
        t.grad = None
        t._ctx = None
        t._vc = [0]
        t._retains_grad = False
        return t

    # ----------------------------------------------------------------- attributes
    @property
    def shape(self):
        return tuple.__new__(Size, self._data.shape)

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def ndim(self):
        return self._data.ndim

    @property
    def device(self):
        return CPU

    @property
    def is_cuda(self):
        return False

    @property
    def is_leaf(self):
        return self._ctx is None

    @property
    def grad_fn(self):
        return self._ctx

    @property
    def data(self):
        """A tensor sharing this one's storage, outside the graph and untracked by the version counter.

        As in PyTorch, changes made through ``.data`` are invisible to autograd's in-place checks; ``detach()``
        is the tracked alternative.
        """
        return Tensor._make(self._data)

    @data.setter
    def data(self, value):
        value = value._data if isinstance(value, Tensor) else _to_array(value)
        self._data = value

    @property
    def T(self):
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self):
        return self.transpose(-2, -1)

    def size(self, dim=None):
        if dim is None:
            return tuple.__new__(Size, self._data.shape)
        if not -max(self._data.ndim, 1) <= dim < max(self._data.ndim, 1) or self._data.ndim == 0:
            raise IndexError(f"size: dimension {dim} is out of range for a tensor of shape {tuple(self.shape)}")
        return self._data.shape[dim]

    def dim(self):
        return self._data.ndim

    def numel(self):
        return self._data.size

    nelement = numel

    def ndimension(self):
        return self._data.ndim

    def is_contiguous(self, memory_format=None):
        return True

    def element_size(self):
        return self._data.itemsize

    def is_floating_point(self):
        return self._data.dtype.kind == "f"

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    __hash__ = object.__hash__

    # ----------------------------------------------------------------- conversions
    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"item: a Tensor with {self._data.size} elements cannot be converted to a scalar")
        return self._data.reshape(()).item()

    def numpy(self):
        if self.requires_grad:
            raise RuntimeError("numpy: can't call numpy() on a Tensor that requires grad; use tensor.detach().numpy()")
        return self._data

    def tolist(self):
        return self._data.tolist()

    def __array__(self, dtype=None, copy=None):
        return self._data if dtype is None else self._data.astype(dtype)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iub":
            raise TypeError(f"only integer tensors of a single element can be used as an index, got {self.dtype}")
        return int(self.item())

    def __format__(self, spec):
        """A 0-d tensor formats as its number (``f"{loss:.4f}"``); others only with an empty spec, as in PyTorch."""
        if self._data.ndim == 0:
            return format(self.item(), spec)
        if spec:
            raise TypeError(f"unsupported format string {spec!r} passed to Tensor.__format__ for a tensor of shape "
                            f"{tuple(self.shape)}; only 0-d tensors take a format spec (use .item())")
        return str(self)

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(f"bool: the truth value of a Tensor with {self._data.size} elements is ambiguous")
        return bool(self._data.reshape(()))

    def detach(self):
        t = Tensor._make(self._data)
        t._vc = self._vc
        return t

    def detach_(self):
        self._ctx = None
        self.requires_grad = False
        return self

    def clone(self):
        from ..ops.elementwise import Clone
        return Clone().apply(self)

    def contiguous(self):
        return self

    def to(self, *args, dtype=None, **kwargs):
        """``to(dtype)``, ``to('cpu')``, ``to(device, dtype)``: only the CPU exists here."""
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, (str, device)) or a is None:
                _check_device(a)
            else:
                dtype = a
        if "device" in kwargs:
            _check_device(kwargs["device"])
        if dtype is None or np.dtype(dtype) == self.dtype:
            return self.clone() if kwargs.get("copy") else self
        from ..ops.elementwise import Cast
        return Cast(np.dtype(dtype)).apply(self)

    def type(self, dtype=None, non_blocking=False):
        """PyTorch's type name (``'torch.FloatTensor'``), or with ``dtype`` (a dtype or such a name) a cast."""
        from .tensor_types import dtype_of_type_name, type_name
        if dtype is None:
            return type_name(self.dtype)
        return self.to(dtype_of_type_name(dtype) if isinstance(dtype, str) else dtype)

    def cpu(self, memory_format=None):
        return self

    def cuda(self, device=None, non_blocking=False, memory_format=None):
        check_cpu("cuda", "cuda" if device is None else f"cuda:{device}" if isinstance(device, int) else device)
        return self

    def float(self):
        return self.to(backend.float32)

    def double(self):
        return self.to(backend.float64)

    def half(self):
        return self.to(backend.float16)

    def long(self):
        return self.to(backend.int64)

    def int(self):
        return self.to(backend.int32)

    def bool(self):
        return self.to(backend.bool_)

    def type_as(self, other):
        return self.to(other.dtype)

    # ----------------------------------------------------------------- autograd
    def requires_grad_(self, requires_grad=True):
        if requires_grad and self._data.dtype.kind != "f":
            raise RuntimeError(f"requires_grad_: only tensors of floating dtype can require gradients, got {self.dtype}")
        if not self.is_leaf and not requires_grad:
            raise RuntimeError("requires_grad_: you can only change requires_grad flags of leaf variables")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self):
        if not self.requires_grad:
            raise RuntimeError("retain_grad: can't retain_grad on a Tensor that has requires_grad=False")
        if self._ctx is not None:
            self._retains_grad = True

    @property
    def retains_grad(self):
        return self._retains_grad

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``."""
        from .engine import run_backward
        if not self.requires_grad:
            raise RuntimeError("backward: the tensor does not require grad and has no grad_fn")
        if gradient is None:
            if self._data.size != 1:
                raise RuntimeError(
                    f"backward: grad can be implicitly created only for scalar outputs; this tensor has shape "
                    f"{tuple(self.shape)}. Pass gradient= of that shape."
                )
            gradient = Tensor._make(xp.ones_like(self._data))
        else:
            gradient = _as_tensor_like(gradient, self, "backward")
        if retain_graph is None:
            retain_graph = create_graph
        if inputs is not None:
            inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
            grads = run_backward([self], [gradient], inputs, retain_graph, create_graph, True, accumulate=False)
            from .engine import _accumulate
            for t, g in zip(inputs, grads):
                if g is not None:
                    _accumulate(t, g, create_graph, set())
            return
        run_backward([self], [gradient], None, retain_graph, create_graph)

    # ----------------------------------------------------------------- in-place helpers
    def _check_inplace(self, op, other=None):
        if grad_mode.is_grad_enabled() and (
            self.requires_grad or (isinstance(other, Tensor) and other.requires_grad)
        ):
            what = "a leaf Variable that requires grad" if self.is_leaf else "a tensor that is part of a graph"
            raise RuntimeError(
                f"{op}: in-place operation on {what} (shape {tuple(self.shape)}) while grad mode is on; "
                "wrap it in relulab.no_grad() or use the out-of-place form"
            )

    def _inplace(self, op, array):
        array = xp.asarray(array)
        if array.shape != self._data.shape:
            try:
                array = xp.broadcast_to(array, self._data.shape)
            except ValueError:
                raise RuntimeError(
                    f"{op}: the result of shape {array.shape} cannot be written into a tensor of shape "
                    f"{tuple(self.shape)}"
                ) from None
        if self._data.flags.writeable:
            self._data[...] = array
        else:
            self._data = array.astype(self.dtype, copy=True)
        self._vc[0] += 1
        return self

    def _arr(self, other):
        return other._data if isinstance(other, Tensor) else other

    def zero_(self):
        self._check_inplace("zero_")
        return self._inplace("zero_", xp.zeros((), self.dtype))

    def fill_(self, value):
        self._check_inplace("fill_")
        return self._inplace("fill_", xp.asarray(self._arr(value), dtype=self.dtype))

    def copy_(self, src):
        self._check_inplace("copy_", src)
        return self._inplace("copy_", xp.asarray(self._arr(src)).astype(self.dtype, copy=False))

    def _ufunc_(self, op, ufunc, other, alpha=1):
        """Apply ``ufunc(self, alpha * other)`` in place, writing straight into this tensor's buffer when possible."""
        self._check_inplace(op, other)
        if self._data.dtype.kind != "f":
            from ..ops.elementwise import check_inplace_result
            check_inplace_result(self, other, op, ufunc is xp.true_divide)
        o = self._arr(other) if alpha == 1 else alpha * self._arr(other)
        data = self._data
        # An operand of the tensor's own dtype (an optimizer's update) needs no promotion lookup.
        same_dtype = getattr(o, "dtype", None) == data.dtype
        if data.flags.writeable and (same_dtype or xp.result_type(data, o) == data.dtype):
            try:
                ufunc(data, o, out=data)
            except ValueError:
                raise RuntimeError(f"{op}: an operand of shape {xp.shape(o)} cannot be written into a tensor of "
                                   f"shape {tuple(self.shape)}") from None
            self._vc[0] += 1
            return self
        return self._inplace(op, ufunc(data, o))

    def add_(self, other, alpha=1):
        return self._ufunc_("add_", xp.add, other, alpha)

    def sub_(self, other, alpha=1):
        if self._data.dtype.kind == "b" or not (isinstance(other, Tensor) and other._data.dtype.kind == "f"):
            from ..ops.elementwise import check_sub  # only a bool operand is refused
            check_sub(self, other)
        return self._ufunc_("sub_", xp.subtract, other, alpha)

    def mul_(self, other):
        return self._ufunc_("mul_", xp.multiply, other)

    def div_(self, other):
        return self._ufunc_("div_", xp.true_divide, other)

    def addcmul_(self, t1, t2, value=1):
        self._check_inplace("addcmul_", t1)
        return self._inplace("addcmul_", self._data + value * self._arr(t1) * self._arr(t2))

    def addcdiv_(self, t1, t2, value=1):
        self._check_inplace("addcdiv_", t1)
        return self._inplace("addcdiv_", self._data + value * self._arr(t1) / self._arr(t2))

    def clamp_(self, min=None, max=None):
        self._check_inplace("clamp_")
        return self._inplace("clamp_", xp.clip(self._data, min, max))

    def uniform_(self, a=0.0, b=1.0, generator=None):
        self._check_inplace("uniform_")
        dtype, gen = self._float_dtype("uniform_"), self._rng(generator)
        return self._inplace("uniform_", self._draw(lambda shape, _: gen.uniform(a, b, shape, dtype)))

    def normal_(self, mean=0.0, std=1.0, generator=None):
        self._check_inplace("normal_")
        dtype, gen = self._float_dtype("normal_"), self._rng(generator)
        return self._inplace("normal_", self._draw(lambda shape, contiguous: gen.normal(mean, std, shape, dtype,
                                                                                        contiguous)))

    def random_(self, *bounds, generator=None, **kwargs):
        """PyTorch's three forms: ``random_()`` ([0, max] of the dtype), ``random_(to)`` ([0, to)) and
        ``random_(from, to)`` ([from, to)); ``to=None`` reaches up to the dtype's max."""
        self._check_inplace("random_")
        unknown = set(kwargs) - {"from", "to"}
        if (unknown or len(bounds) > 2 or (len(bounds) == 2 and kwargs) or (len(bounds) == 1 and "to" in kwargs)
                or ("from" in kwargs and "to" not in kwargs)):
            raise TypeError(f"random_: expected random_(), random_(to) or random_(from, to), got positional "
                            f"{bounds} and keywords {sorted(kwargs)}")
        if len(bounds) == 1 and "from" not in kwargs:
            low, high = 0, bounds[0]
        else:
            low, high = bounds if len(bounds) == 2 else (kwargs.get("from", bounds[0] if bounds else 0),
                                                         kwargs.get("to"))
        gen = self._rng(generator)
        if not bounds and not kwargs:
            return self._inplace("random_", self._draw(lambda shape, _: gen.random(shape, self.dtype)))
        if high is None:
            return self._inplace("random_", self._draw(lambda shape, _: gen.random_from(low, shape, self.dtype)))
        if not int(low) < int(high):
            raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
        return self._inplace("random_", self._draw(lambda shape, _: gen.randint(low, high, shape, self.dtype)))

    def bernoulli_(self, p=0.5, *, generator=None):
        self._check_inplace("bernoulli_")
        gen = self._rng(generator)
        if isinstance(p, Tensor):
            probs = xp.broadcast_to(p._data, self.shape)
            return self._inplace("bernoulli_", gen.bernoulli(probs, dtype=self.dtype))
        return self._inplace("bernoulli_", self._draw(lambda shape, _: gen.bernoulli(p, shape, self.dtype)))

    def bernoulli(self, p=None, *, generator=None):
        from ..factory import bernoulli
        return bernoulli(self, p, generator=generator)

    def exponential_(self, lambd=1.0, *, generator=None):
        self._check_inplace("exponential_")
        dtype, gen = self._float_dtype("exponential_"), self._rng(generator)
        return self._inplace("exponential_", self._draw(lambda shape, _: gen.exponential(lambd, shape, dtype)))

    def multinomial(self, num_samples, replacement=False, *, generator=None):
        from ..factory import multinomial
        return multinomial(self, num_samples, replacement, generator=generator)

    @staticmethod
    def _rng(generator):
        from ..random import _generator
        return _generator(generator)

    def _draw(self, draw):
        """Random values for this tensor, in the order PyTorch's kernels visit its memory."""
        from ..random.generator import draw_for
        return draw_for(self._data, draw)

    def _float_dtype(self, op):
        if self.dtype.kind != "f":
            raise RuntimeError(f"{op}: expected a floating-point tensor, got dtype {self.dtype}")
        return self.dtype

    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    def __setitem__(self, index, value):
        self._check_inplace("__setitem__", value)
        from ..ops.index import normalize_index
        self._data[normalize_index(index, self.shape, "__setitem__")] = self._arr(value)
        self._vc[0] += 1

    # ----------------------------------------------------------------- repr
    def __repr__(self):
        extras = []
        default_dtypes = (backend.get_default_dtype(), backend.int64, backend.bool_)
        if self.dtype not in default_dtypes:
            extras.append(f"dtype=relulab.{self.dtype}")
        if self._ctx is not None:
            extras.append(f"grad_fn={self._ctx!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        body = np.array2string(self._data, precision=4, separator=", ", prefix="tensor(", threshold=1000)
        if self._data.size == 0:
            body = f"[]" if self.ndim == 1 else f"[], size={tuple(self.shape)}"
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    __str__ = __repr__


def _check_device(dev):
    if dev is not None and str(dev).split(":")[0] != "cpu":
        raise RuntimeError(f"to: device {str(dev)!r} is not available; relulab computes on the CPU only")


def _as_tensor_like(value, ref, op):
    t = value if isinstance(value, Tensor) else Tensor(value, dtype=ref.dtype)
    if tuple(t.shape) != tuple(ref.shape):
        raise RuntimeError(f"{op}: gradient has shape {tuple(t.shape)}, but the output has shape {tuple(ref.shape)}")
    return t


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def _is_scalar(x):
    return isinstance(x, (numbers.Number, np.generic)) and not isinstance(x, Tensor)


from . import tensor_methods  # noqa: E402,F401  (binds the op methods onto Tensor)
