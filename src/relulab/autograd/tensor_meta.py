"""What a tensor reports about itself besides its values: its ``Size`` and its ``device``.

Both follow PyTorch's spelling, so code that prints or compares them reads the same as under torch.
"""
import operator


class Size(tuple):
    """A tensor's shape: a tuple of ints that prints as ``torch.Size([3, 4])``, PyTorch's spelling.

    It compares equal to the plain tuple, so ``x.shape == (3, 4)`` holds; slicing and ``+`` keep the type.
    """

    __slots__ = ()

    def __new__(cls, sizes=()):
        return tuple.__new__(cls, (operator.index(s) for s in sizes))

    def __repr__(self):
        return f"torch.Size([{', '.join(str(s) for s in self)}])"

    __str__ = __repr__

    def __getitem__(self, index):
        item = tuple.__getitem__(self, index)
        return tuple.__new__(Size, item) if isinstance(index, slice) else item

    def __add__(self, other):
        return tuple.__new__(Size, tuple.__add__(self, tuple(other)))

    def numel(self):
        """The number of elements a tensor of this shape holds (1 for the 0-d shape)."""
        n = 1
        for s in self:
            n *= s
        return n

    def __reduce__(self):
        return (Size, (tuple(self),))


class device:
    """A device name, ``device('cpu')`` or ``device('cuda', 0)``.  relulab computes on the CPU only; other
    devices can be named (scripts build ``device('cuda')`` before checking availability) but not used."""

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        elif not isinstance(type, str):
            raise TypeError(f"device: expected a string such as 'cpu' or 'cuda:0', got {type!r}")
        elif ":" in type:
            if index is not None:
                raise ValueError(f"device: type {type!r} already names an index; do not pass index={index!r}")
            type, _, text = type.partition(":")
            if not text.isdigit():
                raise RuntimeError(f"device: invalid device string {type}:{text!r} (expected e.g. 'cuda:0')")
            index = int(text)
        if not type.isidentifier():
            raise RuntimeError(f"device: invalid device type {type!r}")
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "index", None if index is None else operator.index(index))

    def __setattr__(self, name, value):
        raise AttributeError("device is immutable")

    def __repr__(self):
        if self.index is None:
            return f"device(type={self.type!r})"
        return f"device(type={self.type!r}, index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        # relulab has always answered x.device == "cpu" with True; a string compares by its text.
        if isinstance(other, str):
            return str(self) == other
        if isinstance(other, device):
            return (self.type, self.index) == (other.type, other.index)
        return NotImplemented

    def __hash__(self):
        return hash(str(self))

    def __reduce__(self):
        return (device, (self.type, self.index))


CPU = device("cpu")


def check_cpu(where, dev):
    """Refuse any device but the CPU, naming the call (``to``, ``cuda`` ...) and the device asked for."""
    if dev is None:
        return
    name = str(dev) if isinstance(dev, device) else dev
    if not isinstance(name, str):
        raise TypeError(f"{where}: expected a device or a device string, got {type(dev).__name__}")
    if name.split(":")[0] != "cpu":
        raise RuntimeError(f"{where}: device {name!r} is not available; relulab computes on the CPU only "
                           "(torch.cuda.is_available() is False here, so pick device = 'cpu')")
