"""Numeric CSV files as datasets, in the shape of HW1's COVID-19 data (``covid.train.csv`` / ``covid.test.csv``).

HW1's train file has a header, an ``id`` column, 37 one-hot states, 16 survey features for each of 5 days and the
target ``tested_positive`` (day 5) last; the test file is the same without the target.  Its header repeats
each daily feature name five times, so, like ``pandas.read_csv``, repeats are renamed ``cli``, ``cli.1`` ...
``cli.4``: a bare name is the first occurrence.

Standardization must be fitted on the training rows only (otherwise validation statistics leak into training),
then reused for validation and test::

    full = CSVDataset("covid.train.csv")
    train, valid = full.split(valid_fraction=0.2, seed=0)            # Standardizer fitted on train only
    test = CSVDataset("covid.test.csv", target=None, standardize=train.standardizer)
"""
import codecs
import csv
import difflib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..autograd.tensor import Tensor
from ..utils.data import Dataset


class Standardizer:
    """Per-column ``(x - mean) / std``, with the statistics learned by ``fit`` from training rows only.

    A column that is constant in the fitted rows (a one-hot state absent from them, say) gets std 1, so it is
    shifted but never divided by zero.
    """

    def __init__(self, mean=None, std=None):
        self.mean = None if mean is None else np.asarray(mean, dtype=np.float64)
        self.std = None if std is None else np.asarray(std, dtype=np.float64)

    @property
    def fitted(self):
        return self.mean is not None

    def fit(self, array):
        array = np.asarray(array, dtype=np.float64)
        if array.ndim != 2 or len(array) == 0:
            raise ValueError(f"Standardizer.fit: expected a non-empty (rows, columns) array, got shape {array.shape}")
        with np.errstate(over="ignore", invalid="ignore"):
            mean, std = array.mean(axis=0), array.std(axis=0)
        bad = np.flatnonzero(~(np.isfinite(mean) & np.isfinite(std)))
        if len(bad):  # an overflowing std would silently scale the column to zeros
            raise ValueError(f"Standardizer.fit: column {bad[0]} has values too large (or not finite) for its "
                             f"mean and std to be computed (mean {mean[bad[0]]}, std {std[bad[0]]})")
        self.mean = mean
        self.std = np.where(std > 0, std, 1.0)
        return self

    def _check(self, array, method):
        if not self.fitted:
            raise RuntimeError(f"Standardizer.{method}: call fit() (on the training rows) first")
        if array.ndim != 2 or array.shape[1] != len(self.mean):
            raise ValueError(f"Standardizer.{method}: fitted on {len(self.mean)} columns, got shape {array.shape}")

    def transform(self, array):
        array = np.asarray(array)
        self._check(array, "transform")
        dtype = array.dtype if array.dtype.kind == "f" else np.float64
        return ((array - self.mean) / self.std).astype(dtype)

    def fit_transform(self, array):
        return self.fit(array).transform(array)

    def inverse_transform(self, array):
        array = np.asarray(array)
        self._check(array, "inverse_transform")
        dtype = array.dtype if array.dtype.kind == "f" else np.float64
        return (array * self.std + self.mean).astype(dtype)

    def state_dict(self):
        if not self.fitted:
            raise RuntimeError("Standardizer.state_dict: nothing to save before fit()")
        return {"mean": self.mean.copy(), "std": self.std.copy()}

    def load_state_dict(self, state):
        missing = {"mean", "std"} - set(state)
        if missing:
            raise KeyError(f"Standardizer.load_state_dict: missing key(s) {sorted(missing)}")
        self.mean = np.asarray(state["mean"], dtype=np.float64).copy()
        self.std = np.asarray(state["std"], dtype=np.float64).copy()
        return self

    def __repr__(self):
        return f"Standardizer({'unfitted' if not self.fitted else f'{len(self.mean)} columns'})"


# ----------------------------------------------------------------------------------------------- parsing
@dataclass
class _Parsed:
    """What one read of the file gives; subsets share it instead of parsing again."""
    path: str
    feature_names: list
    target_name: object   # str or None
    ids: np.ndarray
    values: np.ndarray    # float64 (rows, features), before standardization
    targets: object       # float64 (rows, 1) or None
    lines: np.ndarray     # the 1-based file line of each row, for messages


def _unique_names(header):
    """pandas' renaming of repeated headers: the second ``cli`` becomes ``cli.1``, the third ``cli.2``..."""
    names, seen = [], set()
    for raw in header:
        name, count = raw.strip(), 0
        while name in seen:
            count += 1
            name = f"{raw.strip()}.{count}"
        seen.add(name)
        names.append(name)
    return names


def _unknown_column(path, name, available, role):
    close = difflib.get_close_matches(str(name), available, n=3)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else \
        f"; the columns are {', '.join(available[:8])}{', ...' if len(available) > 8 else ''}"
    return ValueError(f"{path}: unknown {role} column {name!r}{hint}")


def _resolve_columns(path, names, target, columns, id_column):
    """(id index or None, target index or None, feature indices) into the header, with clear errors."""
    index_of = {name: i for i, name in enumerate(names)}
    id_index = None
    if id_column is not None:
        if id_column not in index_of:
            raise ValueError(str(_unknown_column(path, id_column, names, "id")) +
                             " (pass id_column=None if the file has no id column)")
        id_index = index_of[id_column]

    if target is None:
        target_index = None
    elif target == "last":
        target_index = len(names) - 1
        if target_index == id_index:
            raise ValueError(f"{path}: the last column {names[-1]!r} is the id column, so it cannot be the target")
    else:
        if target not in index_of:
            raise _unknown_column(path, target, names, "target")
        target_index = index_of[target]
        if target_index == id_index:
            raise ValueError(f"{path}: column {target!r} is the id column, so it cannot be the target")

    candidates = [i for i in range(len(names)) if i not in (id_index, target_index)]
    if isinstance(columns, (str, int, np.integer)):
        columns = [columns]
    if columns is None:
        return id_index, target_index, candidates
    candidate_names = [names[i] for i in candidates]
    chosen = []
    for item in columns:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            if not -len(candidates) <= item < len(candidates):
                raise IndexError(f"{path}: feature index {item} is out of range: there are {len(candidates)} "
                                 "feature columns (counted without the id and target columns)")
            chosen.append(candidates[item])
        elif isinstance(item, str):
            if item in index_of and index_of[item] in (id_index, target_index):
                role = "id" if index_of[item] == id_index else "target"
                raise ValueError(f"{path}: column {item!r} is the {role} column and cannot be a feature")
            if item not in index_of:
                raise _unknown_column(path, item, candidate_names, "feature")
            chosen.append(index_of[item])
        else:
            raise TypeError(f"{path}: columns must be names or indices, got {item!r}")
    repeated = sorted({names[i] for i in chosen if chosen.count(i) > 1})
    if repeated:
        raise ValueError(f"{path}: feature column(s) {repeated} selected more than once")
    return id_index, target_index, chosen


def _number(path, line, names, j, text):
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{path}, line {line}, column {names[j]!r} (field {j + 1}): "
                         f"{text!r} is not a number") from None


def _check_field_count(path, line, row, names):
    if len(row) == len(names):
        return
    if len(row) < len(names):
        where = f"the row ends after column {names[len(row) - 1]!r}" if row else "the row is empty"
        raise ValueError(f"{path}, line {line}: {len(row)} fields but the header has {len(names)} columns; "
                         f"{where}, column {names[len(row)]!r} onwards is missing")
    raise ValueError(f"{path}, line {line}: {len(row)} fields but the header has {len(names)} columns; "
                     f"{len(row) - len(names)} extra field(s) after the last column {names[-1]!r}")


def _ids_array(ids):
    """Integer ids as int64 (HW1's are 0, 1, 2...), anything else kept as strings."""
    try:
        return np.array([int(i) for i in ids], dtype=np.int64)
    except (ValueError, OverflowError):
        return np.array(ids, dtype=str)


# Features and targets are trained on in float32: a value must survive that cast, not just float64's.
TRAINING_DTYPE = np.float32


def _read_text(path):
    """The file as text, or a ValueError naming the file (and the line, for bytes that are not UTF-8)."""
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"{path} is a folder, not a CSV file")
    if not p.exists():
        raise FileNotFoundError(f"{path}: no such CSV file")
    try:
        data = p.read_bytes()
    except OSError as e:
        raise ValueError(f"{path}: cannot read it ({e.strerror or e})") from None
    if data.startswith(codecs.BOM_UTF8):  # a spreadsheet's byte-order mark is not part of the first name
        data = data[len(codecs.BOM_UTF8):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise ValueError(f"{path}, line {line}: byte 0x{data[e.start]:02x} is not UTF-8 text; save the file as "
                         "UTF-8 (CSV, comma-separated)") from None


def _check_finite(path, table, lines, names, numeric):
    """Every value must be finite after the cast to the training dtype (1e39 is finite in float64, inf in float32)."""
    with np.errstate(over="ignore", invalid="ignore"):
        cast = table.astype(TRAINING_DTYPE)
    bad = np.argwhere(~np.isfinite(cast))
    if len(bad):  # "nan" and "inf" parse as floats, but would poison every statistic and loss downstream
        r, c = bad[0]
        what = "is not a finite number" if not np.isfinite(table[r, c]) else \
            f"overflows {np.dtype(TRAINING_DTYPE).name} (the training dtype: |x| <= {np.finfo(TRAINING_DTYPE).max:.4g})"
        raise ValueError(f"{path}, line {lines[r]}, column {names[numeric[c]]!r} (field {numeric[c] + 1}): "
                         f"{float(table[r, c])!r} {what} ({len(bad)} such value(s) in the file)")


def _parse(path, target, columns, id_column):
    path = str(path)
    text = _read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    ids, rows, lines = [], [], []
    try:
        header = next(reader, None)
        if not header:
            raise ValueError(f"{path}: empty file; expected a header row of column names on line 1")
        names = _unique_names(header)
        id_index, target_index, feature_indices = _resolve_columns(path, names, target, columns, id_column)
        if not feature_indices:
            raise ValueError(f"{path}: no feature columns: the columns are {', '.join(names)}, and "
                             f"{'they are' if len(names) > 1 else 'it is'} the id and target")
        numeric = feature_indices + ([target_index] if target_index is not None else [])
        for row in reader:
            if not row:  # a blank line, such as a trailing newline
                continue
            line = reader.line_num
            _check_field_count(path, line, row, names)
            rows.append([_number(path, line, names, j, row[j]) for j in numeric])
            ids.append(row[id_index].strip() if id_index is not None else len(ids))
            lines.append(line)
    except csv.Error as e:
        raise ValueError(f"{path}, line {reader.line_num}: not a readable CSV row ({e})") from None
    if not rows:
        raise ValueError(f"{path}: no data rows after the header")

    table = np.array(rows, dtype=np.float64).reshape(len(rows), len(numeric))
    _check_finite(path, table, lines, names, numeric)
    n_features = len(feature_indices)
    return _Parsed(path=path, feature_names=[names[j] for j in feature_indices],
                   target_name=None if target_index is None else names[target_index],
                   ids=_ids_array(ids), values=table[:, :n_features],
                   targets=None if target_index is None else table[:, n_features:],
                   lines=np.array(lines, dtype=np.int64))


# ----------------------------------------------------------------------------------------------- dataset
_KEEP = object()  # subset(): "keep this dataset's standardizer"


class CSVDataset(Dataset):
    """Rows of a numeric CSV: ``(features, target)`` Tensors, or the features alone when ``target=None``.

    - ``target``: ``"last"`` (HW1's train file), a column name, or ``None`` (HW1's test file).
    - ``columns``: the features to keep, as names or as indices counted without the id and target columns
      (HW1's ``feat_idx``); ``None`` keeps them all, in file order.
    - ``id_column``: the name of the id column (kept in ``.ids``, never a feature), or ``None``.
    - ``indices``: keep only these data rows (0 = the first row after the header).
    - ``standardize``: ``None`` (raw values), a fitted ``Standardizer`` (applied), or an unfitted one (fitted in
      place on the kept rows, then applied, so it can be passed on to the validation and test sets).

    ``.features`` is float32 (n, features); ``.targets`` is float32 (n, 1) or ``None``.
    """

    _bulk_gather = True  # the DataLoader may call _gather instead of __getitem__ per sample

    def __init__(self, path, target="last", columns=None, id_column="id", indices=None, standardize=None):
        parsed = _parse(path, target, columns, id_column)
        rows = np.arange(len(parsed.values)) if indices is None else self._check_rows(parsed, indices)
        self._select(parsed, rows, standardize)

    @staticmethod
    def _check_rows(parsed, indices):
        rows = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(parsed.values)
        if rows.size and (rows.min() < -n or rows.max() >= n):
            raise IndexError(f"{parsed.path}: row indices must be in [-{n}, {n}) for {n} data rows, "
                             f"got {rows.min()}..{rows.max()}")
        return rows % n if n else rows

    def _select(self, parsed, rows, standardizer):
        self._parsed = parsed
        self.rows = rows
        self.path = parsed.path
        self.feature_names = list(parsed.feature_names)
        self.target_name = parsed.target_name
        self.ids = parsed.ids[rows]
        raw = parsed.values[rows]
        if standardizer is not None and not standardizer.fitted:
            standardizer.fit(raw)
        self.standardizer = standardizer
        features = raw if standardizer is None else standardizer.transform(raw)
        self.features = features.astype(np.float32)
        self.targets = None if parsed.targets is None else parsed.targets[rows].astype(np.float32)

    # ------------------------------------------------------------------ splits and standardization
    def raw_features(self):
        """The kept rows' features before standardization (float64)."""
        return self._parsed.values[self.rows]

    def fit_standardizer(self, indices=None):
        """A ``Standardizer`` fitted on the raw features of these rows (positions in this dataset; all if None)."""
        raw = self.raw_features()
        return Standardizer().fit(raw if indices is None else raw[np.asarray(indices, dtype=np.int64)])

    def subset(self, indices, standardize=_KEEP):
        """The rows at ``indices`` (positions in this dataset), sharing the parsed file; by default they keep
        this dataset's standardizer."""
        n = len(self)
        rows = np.asarray(indices, dtype=np.int64).reshape(-1)
        if rows.size and (rows.min() < -n or rows.max() >= n):
            raise IndexError(f"{self.path}: subset indices must be in [-{n}, {n}), got {rows.min()}..{rows.max()}")
        new = object.__new__(CSVDataset)
        new._select(self._parsed, self.rows[rows], self.standardizer if standardize is _KEEP else standardize)
        return new

    def split(self, valid_fraction=0.2, seed=0, standardize=True):
        """(train, valid): a seeded random split; with ``standardize`` the statistics come from train only."""
        if not 0.0 < valid_fraction < 1.0:
            raise ValueError(f"split: valid_fraction must be between 0 and 1 (exclusive), got {valid_fraction!r}")
        order = np.random.default_rng(seed).permutation(len(self))
        n_valid = int(round(len(self) * valid_fraction))
        if not 0 < n_valid < len(self):
            raise ValueError(f"split: valid_fraction {valid_fraction} of {len(self)} rows leaves a split empty")
        train_rows, valid_rows = np.sort(order[n_valid:]), np.sort(order[:n_valid])
        standardizer = self.fit_standardizer(train_rows) if standardize else None
        return self.subset(train_rows, standardizer), self.subset(valid_rows, standardizer)

    # ------------------------------------------------------------------ Dataset protocol
    def __len__(self):
        return len(self.features)

    def __getitem__(self, index):
        features = Tensor._make(self.features[index])
        if self.targets is None:
            return features  # like HW1's sample dataset: test rows have no target
        return features, Tensor._make(self.targets[index])

    def _gather(self, indices):
        """A whole batch at once (``TensorDataset._gather``'s contract, for the DataLoader's fast path)."""
        indices = np.asarray(indices, dtype=np.int64)
        if self.targets is None:
            return Tensor._make(self.features[indices])
        return [Tensor._make(self.features[indices]), Tensor._make(self.targets[indices])]

    def __repr__(self):
        target = "no target" if self.target_name is None else f"target={self.target_name!r}"
        scaled = ", standardized" if self.standardizer is not None else ""
        return f"CSVDataset({Path(self.path).name!r}, n={len(self)}, features={len(self.feature_names)}, {target}{scaled})"
