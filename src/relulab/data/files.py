"""Datasets held as arrays, and the loaders that fill them from the usual file formats.

- ``load_idx`` / ``mnist``: MNIST and Fashion-MNIST IDX files (raw or gzipped), as LeCun distributes them.
- ``cifar10``: the "python version" CIFAR-10 batches (pickled dicts), read with a restricted unpickler.
- ``ImageFolder``: one subfolder of images per class, as in torchvision.
- ``download``: fetch a file once, verify its SHA-256 and move it into place atomically.

Nothing here touches the network unless ``download`` is called explicitly.
"""
import gzip
import hashlib
import math
import os
import pickle
import tempfile
import urllib.request
from pathlib import Path

import numpy as np

from ..autograd.tensor import Tensor
from ..utils.data import Dataset


class ArrayDataset(Dataset):
    """Samples ``(features[i], targets[i])`` as Tensors, backed by two whole arrays.

    The arrays stay reachable as ``.features`` and ``.targets`` so a loader can gather a batch with one
    fancy-index instead of N ``__getitem__`` calls.  Items are views into them, not copies.
    """

    _bulk_gather = True  # the DataLoader may call _gather instead of __getitem__ per sample

    def __init__(self, features, targets, classes=None):
        if len(features) != len(targets):
            raise ValueError(f"{type(self).__name__}: {len(features)} feature rows but {len(targets)} targets")
        self.features = features
        self.targets = targets
        if classes is not None:
            self.classes = list(classes)

    def __len__(self):
        return len(self.features)

    def __getitem__(self, index):
        return Tensor._make(self.features[index]), Tensor._make(self.targets[index])

    def _gather(self, indices):
        """A whole batch at once (the same contract as ``TensorDataset._gather``, for the DataLoader's fast path)."""
        indices = np.asarray(indices, dtype=np.int64)
        return [Tensor._make(self.features[indices]), Tensor._make(self.targets[indices])]

    def __repr__(self):
        return (f"{type(self).__name__}(n={len(self)}, features={self.features.shape[1:]} {self.features.dtype}, "
                f"targets={self.targets.shape[1:]} {self.targets.dtype})")


# ----------------------------------------------------------------------------------------------- IDX (MNIST)
# The third byte of an IDX file's magic number says the element type; data are big-endian.
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path):
    """The file's bytes, un-gzipped when it starts with the gzip magic (whatever its name says)."""
    with open(path, "rb") as f:
        head = f.read(2)
    opener = gzip.open if head == GZIP_MAGIC else open
    try:
        with opener(path, "rb") as f:
            return f.read()
    except (OSError, EOFError) as err:  # a truncated or corrupt .gz
        raise ValueError(f"{path}: cannot decompress: {err}") from err


def load_idx(path):
    """Read an IDX file (``.gz`` or raw) into a NumPy array of its shape, in native byte order."""
    data = _read_bytes(path)
    if len(data) < 4:
        raise ValueError(f"{path}: not an IDX file (only {len(data)} bytes, the magic number alone needs 4)")
    zero1, zero2, type_code, ndim = data[:4]
    if zero1 or zero2:
        raise ValueError(f"{path}: not an IDX file (magic number {data[:4].hex()} must start with 0000)")
    if type_code not in IDX_DTYPES:
        known = ", ".join(f"0x{code:02X}" for code in IDX_DTYPES)
        raise ValueError(f"{path}: unknown IDX data type code 0x{type_code:02X} (known: {known})")
    if ndim == 0:
        raise ValueError(f"{path}: IDX header declares 0 dimensions")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise ValueError(f"{path}: truncated IDX header ({ndim} dimensions need {header_size} bytes, "
                         f"file has {len(data)})")
    shape = tuple(int(s) for s in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(IDX_DTYPES[type_code])
    expected = header_size + math.prod(shape) * dtype.itemsize  # exact: np.prod in int64 would wrap around
    if len(data) != expected:
        raise ValueError(f"{path}: IDX header says shape {shape} of {dtype.name} ({expected} bytes in all), "
                         f"but the file has {len(data)} bytes")
    array = np.frombuffer(data, dtype=dtype, offset=header_size).reshape(shape)
    return array.astype(dtype.newbyteorder("="))  # a native, writable copy


MNIST_FILES = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
               False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
MNIST_CLASSES = {
    "mnist": ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
              "8 - eight", "9 - nine"],
    "fashion": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                "Ankle boot"],
}
# torchvision keeps the files under <root>/MNIST/raw or <root>/FashionMNIST/raw; accept that layout too.
TORCHVISION_FOLDERS = {"mnist": "MNIST", "fashion": "FashionMNIST"}


def _find_file(root, name, subfolders=()):
    """``root/name`` or ``root/name.gz`` (also inside ``subfolders``), or a FileNotFoundError listing the tries."""
    tried = []
    for folder in (Path(root), *(Path(root) / s for s in subfolders)):
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.is_file():
                return candidate
            tried.append(str(candidate))
    raise FileNotFoundError(f"{name} not found; looked for: " + ", ".join(tried))


def mnist(root, train=True, kind="mnist", flatten=False):
    """MNIST or Fashion-MNIST from the standard IDX files in ``root`` (raw or ``.gz``; nothing is downloaded).

    Features are float32 in [0, 1], shaped (n, 1, 28, 28), or (n, 784) with ``flatten``; targets are int64.
    """
    if kind not in MNIST_CLASSES:
        raise ValueError(f"mnist: kind must be one of {sorted(MNIST_CLASSES)}, got {kind!r}")
    image_name, label_name = MNIST_FILES[bool(train)]
    subfolders = (Path(TORCHVISION_FOLDERS[kind]) / "raw",)
    image_path = _find_file(root, image_name, subfolders)
    label_path = _find_file(root, label_name, subfolders)
    images, labels = load_idx(image_path), load_idx(label_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"{image_path}: expected uint8 images of shape (n, rows, cols), "
                         f"got {images.dtype} {images.shape}")
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise ValueError(f"{label_path}: expected uint8 labels of shape (n,), got {labels.dtype} {labels.shape}")
    if len(images) != len(labels):
        raise ValueError(f"{image_path} has {len(images)} images but {label_path} has {len(labels)} labels")
    if labels.size and labels.max() >= 10:
        raise ValueError(f"{label_path}: label {labels.max()} is out of range 0-9")
    features = images.astype(np.float32) / 255.0
    features = features.reshape(len(images), -1) if flatten else features[:, None]
    return ArrayDataset(features, labels.astype(np.int64), MNIST_CLASSES[kind])


# ----------------------------------------------------------------------------------------------- CIFAR-10
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
CIFAR10_FOLDER = "cifar-10-batches-py"


def _latin1_bytes(text, encoding="latin1"):
    """``_codecs.encode`` as protocol-2 pickles use it for bytes, and nothing more (no other codec runs)."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"refusing _codecs.encode({type(text).__name__}, {encoding!r}): only "
                                     "latin1 text, as pickled bytes use it, is allowed")
    return text.encode("latin1")


def _empty_bytes(*args):
    """``bytes()`` as pickles use it for b''; with arguments it could allocate anything, so those are refused."""
    if args:
        raise pickle.UnpicklingError("refusing bytes(...) with arguments: only bytes() (an empty bytes) is allowed")
    return b""


def _numpy_array_builders():
    """The only callables a CIFAR batch needs: the pieces NumPy's pickling uses to rebuild an array.

    Pickles name them by module path; NumPy 2 moved ``numpy.core`` to ``numpy._core``, and the CIFAR files
    (pickled by Python 2) use the old name, so both spellings map to the objects imported here.
    """
    try:
        from numpy._core import multiarray, numeric
    except ImportError:  # NumPy 1.x
        from numpy.core import multiarray, numeric
    builders = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
                # Python 3 pickles bytes as _codecs.encode(text, "latin1") under protocols 0-2, and b'' as bytes().
                ("_codecs", "encode"): _latin1_bytes, ("__builtin__", "bytes"): _empty_bytes,
                ("builtins", "bytes"): _empty_bytes}
    for package in ("numpy.core", "numpy._core"):
        builders[(f"{package}.multiarray", "_reconstruct")] = multiarray._reconstruct
        if hasattr(numeric, "_frombuffer"):  # protocol 5 pickles arrays through _frombuffer
            builders[(f"{package}.numeric", "_frombuffer")] = numeric._frombuffer
    return builders


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """An unpickler that refuses every global except NumPy's array reconstruction.

    Why: unpickling calls whatever callables the file names, so a downloaded "dataset" could run arbitrary
    code (``os.system``...).  A CIFAR batch only holds dicts, lists, bytes, str, int (built by pickle opcodes,
    not globals) and NumPy arrays, so nothing else is ever needed.
    """

    _allowed = None

    def find_class(self, module, name):
        if _ArrayOnlyUnpickler._allowed is None:
            _ArrayOnlyUnpickler._allowed = _numpy_array_builders()
        try:
            return _ArrayOnlyUnpickler._allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only NumPy arrays and plain "
                                         "dicts/lists/bytes/str/int are allowed in a dataset file") from None


def load_pickle_batch(path):
    """One CIFAR-style pickled dict, keys decoded to str (Python 2 pickles give bytes keys)."""
    if Path(path).is_dir():
        raise ValueError(f"{path} is a folder, not a pickled batch")
    with open(path, "rb") as f:
        try:
            batch = _ArrayOnlyUnpickler(f, encoding="bytes").load()
        except pickle.UnpicklingError as err:
            raise ValueError(f"{path}: {err}") from err
        except Exception as err:  # a malformed pickle can fail in many ways (EOF, overflow, bad codec, bad opcode)
            raise ValueError(f"{path}: not a readable pickle batch ({type(err).__name__}: {err})") from err
    if not isinstance(batch, dict):
        raise ValueError(f"{path}: expected a pickled dict, got {type(batch).__name__}")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in batch.items()}


def _integer_labels(path, raw, n):
    """The batch's labels as int64: integers only (a float label would be silently truncated), one per image."""
    if isinstance(raw, np.ndarray):
        labels = raw
    elif isinstance(raw, (list, tuple)):
        bad = next((i for i, v in enumerate(raw) if not isinstance(v, (int, np.integer)) or isinstance(v, bool)),
                   None)
        if bad is not None:
            raise ValueError(f"{path}: label {bad} is {raw[bad]!r} ({type(raw[bad]).__name__}); labels must be "
                             "integers 0-9")
        labels = np.array(raw, dtype=np.int64) if raw else np.zeros(0, dtype=np.int64)
    else:
        raise ValueError(f"{path}: 'labels' must be a list or an array of integers, got {type(raw).__name__}")
    if labels.dtype.kind not in "iu":
        shown = labels.reshape(-1)[:1].tolist()
        raise ValueError(f"{path}: labels must be integers 0-9, got a {labels.dtype} array{f' ({shown[0]!r}...)' if shown else ''}")
    if labels.shape != (n,):
        raise ValueError(f"{path}: {n} images but {labels.size} labels (shape {labels.shape})")
    if labels.size and (labels.min() < 0 or labels.max() >= 10):
        raise ValueError(f"{path}: labels must be in 0-9, found {labels.min()}..{labels.max()}")
    return labels.astype(np.int64)


def _cifar_batch(path):
    batch = load_pickle_batch(path)
    for key in ("data", "labels"):
        if key not in batch:
            raise ValueError(f"{path}: missing key {key!r} (found {sorted(batch)})")
    data = batch["data"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        shape = getattr(data, "shape", None)
        raise ValueError(f"{path}: 'data' must be a uint8 array of shape (n, 3072), got "
                         f"{type(data).__name__} {getattr(data, 'dtype', '')} {shape}")
    return data, _integer_labels(path, batch["labels"], len(data))


def cifar10(root, train=True):
    """CIFAR-10 from the python batches (``data_batch_1..5`` or ``test_batch``) in ``root``, nothing downloaded.

    ``root`` may be the ``cifar-10-batches-py`` folder itself or its parent.  Features are float32 in [0, 1]
    shaped (n, 3, 32, 32) (each row of a batch is 1024 red, then green, then blue values); targets are int64.
    """
    folder = Path(root)
    if not (folder / "test_batch").is_file() and (folder / CIFAR10_FOLDER).is_dir():
        folder = folder / CIFAR10_FOLDER
    names = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"cifar10: {', '.join(missing)} not found in {folder}")
    batches = [_cifar_batch(folder / name) for name in names]
    data = np.concatenate([d for d, _ in batches])
    labels = np.concatenate([lab for _, lab in batches]).astype(np.int64)
    classes = CIFAR10_CLASSES
    meta = folder / "batches.meta"
    if meta.is_file():
        names_in_meta = load_pickle_batch(meta).get("label_names")
        if names_in_meta:
            if not isinstance(names_in_meta, (list, tuple)) or len(names_in_meta) != 10 or \
                    not all(isinstance(n, (str, bytes)) for n in names_in_meta):
                raise ValueError(f"{meta}: 'label_names' must be a list of 10 names, got {names_in_meta!r:.80}")
            classes = [n.decode("latin1") if isinstance(n, bytes) else n for n in names_in_meta]
    features = data.reshape(-1, 3, 32, 32).astype(np.float32) / 255.0
    return ArrayDataset(features, labels, classes)


# ----------------------------------------------------------------------------------------------- image folders
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp", ".gif")


def _image_to_tensor(image):
    """A PIL image as a float32 (channels, height, width) Tensor in [0, 1], like torchvision's ToTensor."""
    array = np.asarray(image, dtype=np.float32) / 255.0
    if array.ndim == 2:
        array = array[:, :, None]
    return Tensor._make(np.ascontiguousarray(array.transpose(2, 0, 1)))


class ImageFolder(Dataset):
    """Images in ``root/<class name>/<file>``; class indices follow the sorted folder names.

    Items are ``(image, class index)``.  The image is read with Pillow and converted to RGB; ``transform``
    receives that PIL image (as in torchvision), and without one it becomes a float32 (3, H, W) Tensor in [0, 1].
    """

    def __init__(self, root, transform=None, target_transform=None, extensions=IMAGE_EXTENSIONS):
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"ImageFolder: {self.root} is not a folder")
        self.classes = sorted(entry.name for entry in self.root.iterdir() if entry.is_dir())
        if not self.classes:
            raise FileNotFoundError(f"ImageFolder: {self.root} has no class subfolders (expected root/<class>/<image>)")
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}
        extensions = tuple(e.lower() for e in extensions)
        self.samples = []
        for name in self.classes:
            for dirpath, dirnames, filenames in os.walk(self.root / name, followlinks=True):
                dirnames.sort()
                for filename in sorted(filenames):
                    if filename.lower().endswith(extensions):
                        self.samples.append((str(Path(dirpath) / filename), self.class_to_idx[name]))
        if not self.samples:
            raise FileNotFoundError(f"ImageFolder: no images ({', '.join(extensions)}) under {self.root}")
        self.targets = np.array([index for _, index in self.samples], dtype=np.int64)
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self):
        return len(self.samples)

    def load(self, path):
        """The image at ``path`` as an RGB PIL image, or an OSError naming the file."""
        from PIL import Image, UnidentifiedImageError
        try:
            with Image.open(path) as image:
                return image.convert("RGB")
        except (UnidentifiedImageError, OSError) as err:
            raise OSError(f"ImageFolder: cannot read image {path}: {err}") from err

    def __getitem__(self, index):
        path, target = self.samples[index]
        image = self.load(path)
        image = _image_to_tensor(image) if self.transform is None else self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __repr__(self):
        return f"ImageFolder(root={str(self.root)!r}, n={len(self)}, classes={self.classes})"


# ----------------------------------------------------------------------------------------------- download
def _sha256(path, chunk_size=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(url, path, sha256, chunk_size=1 << 20):
    """Fetch ``url`` to ``path`` unless a file with that SHA-256 is already there; returns ``path``.

    The bytes go to a temporary file in the destination folder and are moved into place (``os.replace``, atomic)
    only once their checksum matches, so an interrupted or corrupt download never leaves a file at ``path``.
    """
    path = Path(path)
    expected = str(sha256).lower()
    if len(expected) != 64 or any(c not in "0123456789abcdef" for c in expected):
        raise ValueError(f"download: sha256 must be 64 hex digits, got {sha256!r}")
    if path.is_file() and _sha256(path) == expected:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url) as response:
            for chunk in iter(lambda: response.read(chunk_size), b""):
                digest.update(chunk)
                out.write(chunk)
        actual = digest.hexdigest()
        if actual != expected:
            raise ValueError(f"download: checksum mismatch for {url}: expected sha256 {expected}, got {actual}; "
                             f"{path} was not written")
        os.replace(temp_name, path)
    finally:
        if os.path.exists(temp_name):  # any failure, interrupts included: leave nothing half-written behind
            os.remove(temp_name)
    return path
