"""A run directory: the resolved config, per-epoch metrics (CSV and JSONL) and the checkpoint commits.

    runs/NAME/
      config.json              the resolved configuration (defaults filled in, overrides applied)
      preprocess.safetensors   csv data: the feature names and the standardizer fitted on the training split
      metrics.csv              one row per epoch, appended
      metrics.jsonl            the same records, one JSON object per line, appended
      checkpoints/commit-0.safetensors, commit-1.safetensors
                               the last epoch's state and the best epoch's weights, one atomic commit per
                               epoch (see ``commit.py``); ``load_checkpoint("last" | "best")`` reads them
      .lock                    held (flock) by the process that is training the run

The directory appears whole: it is filled under a hidden temporary name and renamed into place.  A commit
first appends the records of its epochs to the metrics files, then writes the checkpoint; so the metrics never
lag behind the commit, and ``recover`` (run by ``resume``) drops records past the commit and anything an
interrupted write left behind.  Each commit also records what the run is trained on (digests of the config and
the data file), so ``resume`` and ``evaluate`` refuse a config.json that was edited or data that changed.
"""
import csv
import io
import json
import math
import os
import shutil
import tempfile
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; one process per run is then the user's to ensure
    fcntl = None

from ..serialization import CheckpointError, write_atomic
from .commit import CommitSlots
from .config import ConfigError, resolve, run_name

CONFIG = "config.json"
METRICS_JSONL = "metrics.jsonl"
METRICS_CSV = "metrics.csv"


class RunDirectory:
    # The share of training time that commits may take.  An epoch that lasts at least 1/budget times as long as
    # a commit (50x) commits every time; shorter epochs are committed in groups, each as soon as the time
    # trained since the last commit pays for one (HW1's ~1-2 ms epochs: every ~25 epochs, so a kill -9 can
    # cost ~50 ms of training; Ctrl-C costs nothing, see fit).
    commit_budget = 0.02

    def __init__(self, path):
        self.path = Path(path)
        self.commits = CommitSlots(self.path / "checkpoints")
        self._files = {}      # open metrics files while training: name -> fd
        self._csv_keys = None
        self._commit_seconds = None  # what the last commit cost (None: none yet this session)
        self._trained_seconds = 0.0  # training time since the last commit
        self._lock = None            # the open lock file while this process writes the run
        self.identity = None         # what the run was trained on (config and data digests), put in each commit

    # ------------------------------------------------------------------ making and opening
    @classmethod
    def create(cls, root, name, config, files=None):
        """Make a fresh directory ``root/name`` (suffixed -2, -3 ... if taken) holding the config and ``files``
        ({file name: bytes}).  It is built under a hidden name and renamed into place, so it appears whole."""
        run_name("name", name)
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".partial", dir=root))
        try:
            (staging / "checkpoints").mkdir()
            write_atomic(staging / CONFIG, json.dumps(config, indent=2, sort_keys=True) + "\n")
            for file_name, data in (files or {}).items():
                write_atomic(staging / file_name, data)
            os.chmod(staging, 0o777 & ~_umask())  # mkdtemp makes 0700 folders
            path = _move_into_place(staging, root, name)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return cls(path)

    @classmethod
    def open(cls, path):
        run = cls(path)
        if not run.path.is_dir():
            raise FileNotFoundError(f"{run.path} is not a relulab run directory (no such folder)")
        if not (run.path / CONFIG).is_file():
            raise FileNotFoundError(f"{run.path} is not a relulab run directory (no {CONFIG})")
        return run

    @property
    def config(self):
        """The run's configuration, read from config.json and checked like a config file."""
        path = self.path / CONFIG
        try:
            raw = json.loads(path.read_bytes().decode("utf-8"))
        except UnicodeDecodeError as e:
            raise ConfigError(f"{path} is not UTF-8 text (byte {e.start}): the run's config is damaged") from None
        except (ValueError, RecursionError) as e:
            raise ConfigError(f"{path} is not valid JSON ({e}): the run's config is damaged") from None
        except OSError as e:
            raise ConfigError(f"cannot read {path}: {e.strerror or e}") from None
        try:
            return resolve(raw)
        except ConfigError as e:
            raise ConfigError(f"{path}: {e}") from None

    def write_config(self, config):
        write_atomic(self.path / CONFIG, json.dumps(config, indent=2, sort_keys=True) + "\n")

    # ------------------------------------------------------------------ checkpoints
    def latest(self):
        """The newest complete commit (a dict with .epoch and .path), or None before the first epoch ends."""
        from .loop import check_checkpoint
        commit = self.commits.read()
        if commit is not None:
            check_checkpoint(commit, commit.path)
            if commit["epoch"] != commit.epoch:
                raise CheckpointError(f"{commit.path}: its commit record says epoch {commit.epoch}, its state "
                                      f"epoch {commit['epoch']}")
        return commit

    def has_checkpoint(self, which):
        commit = self.latest()
        if commit is None:
            return False
        return which == "last" or bool(commit.get("best_epoch"))

    def load_checkpoint(self, which):
        """'last': the whole last commit (model, optimizer, scheduler, rng ... state); 'best': the best epoch's
        ``{"model", "epoch", "value"}``."""
        if which not in ("last", "best"):
            raise ValueError(f"load_checkpoint: which must be 'last' or 'best', got {which!r}")
        commit = self.latest()
        if commit is None:
            raise FileNotFoundError(f"{self.path}: no checkpoint yet (no epoch has finished)")
        if which == "last":
            return commit
        from .loop import best_of
        weights = best_of(commit)
        if weights is None:
            raise FileNotFoundError(f"{self.path}: no best checkpoint: the monitored value has not improved on "
                                    "any epoch (is it NaN?); use the last one")
        return {"model": weights, "epoch": int(commit["best_epoch"]), "value": float(commit["best_value"])}

    def commit(self, checkpoint):
        if self.identity is not None:
            checkpoint = {**checkpoint, "identity": self.identity}
        self.commits.write(checkpoint, checkpoint["epoch"])

    def wants_commit(self, seconds):
        """After an epoch that took ``seconds``: is a commit due?  Yes when the training time since the last
        commit pays for one within ``commit_budget``, and always for the first of a session."""
        self._trained_seconds += seconds
        return self._commit_seconds is None or self._commit_seconds <= self.commit_budget * self._trained_seconds

    def save(self, records, make_checkpoint):
        """The epochs' records, then one commit of ``make_checkpoint()``: the metrics never lag the commit."""
        started = time.perf_counter()
        self.log(*records)
        self.commit(make_checkpoint())
        self._commit_seconds = time.perf_counter() - started
        self._trained_seconds = 0.0

    # ------------------------------------------------------------------ metrics
    def history(self):
        """The per-epoch records, up to the committed epoch (records past it belong to an interrupted epoch)."""
        records = self._read_records()
        commit = self.latest()
        last = commit.epoch if commit is not None else 0
        return [r for r in records if r["epoch"] <= last]

    def _read_records(self, strict=True):
        path = self.path / METRICS_JSONL
        if not path.exists():
            return []
        lines = path.read_bytes().split(b"\n")
        records = []
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line.decode("utf-8"))
                if not isinstance(record, dict) or not isinstance(record.get("epoch"), int):
                    raise ValueError("not a record with an integer 'epoch'")
            except (ValueError, RecursionError) as e:
                if number == len(lines) or not strict:  # an unterminated last line: a write cut short
                    continue
                raise ValueError(f"{path}, line {number}: damaged metrics record ({e})") from None
            records.append(record)
        return records

    def lock(self):
        """Hold the run for this process: a second process training the same run would interleave its commits.
        The lock is the kernel's (flock), so a killed process never leaves it behind."""
        if self._lock is not None or fcntl is None:
            return
        handle = open(self.path / ".lock", "a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise OSError(f"{self.path} is being trained by another process; wait for it to finish") from None
        self._lock = handle

    def begin(self, epoch):
        """Before ``fit`` appends to this run: its commit must be at ``epoch`` (0 for a fresh run)."""
        self.lock()
        commit = self.latest()
        committed = commit.epoch if commit is not None else 0
        if committed != epoch:
            raise ValueError(f"{self.path} holds a checkpoint at epoch {committed}, but training would continue "
                             f"from epoch {epoch}; resume the run, or train into a new directory")

    def log(self, *records):
        """Append epoch records to metrics.jsonl and metrics.csv (one unbuffered write each)."""
        if not records:
            return
        if self._csv_keys is None:
            self._csv_keys = self._existing_csv_keys() or list(records[0])
            if not (self.path / METRICS_CSV).exists() or (self.path / METRICS_CSV).stat().st_size == 0:
                _append(self._fd(METRICS_CSV), _csv_lines([self._csv_keys]))
        wider = list(dict.fromkeys(self._csv_keys + [k for r in records for k in r]))
        if wider != self._csv_keys:  # a callback added a column: rewrite the CSV with the wider header
            self._csv_keys = wider
            self._close_file(METRICS_CSV)
            _write_csv(self.path / METRICS_CSV, self._read_records(), self._csv_keys)
        jsonl, rows = _format_records(records, self._csv_keys)
        _append(self._fd(METRICS_JSONL), jsonl)
        _append(self._fd(METRICS_CSV), rows)

    def _existing_csv_keys(self):
        path = self.path / METRICS_CSV
        if not path.exists():
            return None
        with open(path, newline="", encoding="utf-8") as f:
            return next(csv.reader(f), None) or None

    def _fd(self, name):
        if name not in self._files:
            self._files[name] = os.open(self.path / name, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        return self._files[name]

    def _close_file(self, name):
        fd = self._files.pop(name, None)
        if fd is not None:
            os.close(fd)

    def close(self):
        """After training: fsync and release the metrics files and the checkpoint slots."""
        try:
            for fd in self._files.values():
                os.fsync(fd)
            self.commits.close()
        finally:
            for name in list(self._files):
                self._close_file(name)
            self._csv_keys = None
            if self._lock is not None:
                self._lock.close()  # closing the file releases the lock
                self._lock = None

    # ------------------------------------------------------------------ recovery
    def recover(self):
        """Make the directory consistent with its newest commit, before training continues: remove what an
        interrupted write left (temporary files), and drop metrics records past the commit (an epoch that
        was logged but not committed will run again).  Returns the commit (None when there is none)."""
        for folder in (self.path, self.path / "checkpoints"):
            for leftover in folder.glob(".*.tmp"):
                leftover.unlink()
        commit = self.latest()
        last = commit.epoch if commit is not None else 0
        kept = {}
        for record in self._read_records(strict=False):  # the log is only a log: a lost or edited line never blocks a resume
            if record["epoch"] <= last:
                kept.setdefault(record["epoch"], record)
        kept = [kept[e] for e in sorted(kept)]
        jsonl, table = self.path / METRICS_JSONL, self.path / METRICS_CSV
        if not kept:
            for path in (jsonl, table):
                if path.exists():
                    path.unlink()
            return commit
        expected = "".join(json.dumps(r) + "\n" for r in kept)
        if not jsonl.exists() or jsonl.read_text(encoding="utf-8") != expected:
            write_atomic(jsonl, expected)
        _write_csv(table, kept, list(dict.fromkeys(k for r in kept for k in r)))
        return commit


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _move_into_place(staging, root, name):
    """Rename ``staging`` to ``root/name``, or ``name-2``, ``name-3`` ... whichever is free first."""
    n = 1
    while True:
        path = root / (name if n == 1 else f"{name}-{n}")
        if not path.exists():
            try:
                os.rename(staging, path)  # fails if another process has just taken the name
                return path
            except OSError:
                if not path.exists():
                    raise
        n += 1


def _append(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


_JSON_KEYS = {}  # record key -> its JSON spelling


def _format_records(records, keys):
    """(JSONL bytes, CSV rows bytes) for epoch records.  A record of plain finite numbers (the usual case) is
    formatted from one repr per value, the same text json and csv would write; anything else goes through them."""
    jsonl, rows = [], []
    for record in records:
        if all((type(v) is int or type(v) is float) and math.isfinite(v) for v in record.values()):
            texts = {k: repr(v) for k, v in record.items()}
            spelled = [(_JSON_KEYS.get(k) or _JSON_KEYS.setdefault(k, json.dumps(k)), t) for k, t in texts.items()]
            jsonl.append("{" + ", ".join(f"{k}: {t}" for k, t in spelled) + "}\n")
            rows.append(",".join(texts.get(k, "") for k in keys) + "\n")
        else:
            jsonl.append(json.dumps(record) + "\n")
            rows.append(_csv_lines([[record.get(k, "") for k in keys]]).decode("utf-8"))
    return "".join(jsonl).encode("utf-8"), "".join(rows).encode("utf-8")


def _csv_lines(rows):
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _write_csv(path, records, keys):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=keys, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    write_atomic(path, buffer.getvalue())
