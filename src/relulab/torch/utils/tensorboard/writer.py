"""``SummaryWriter``: real TensorBoard event files through tensorboardX (``pip install 'relulab[tensorboard]'``),
or, without it, CSV files in the same log folder, said once per process.

Set ``RELULAB_TENSORBOARD=csv`` to choose CSV even where tensorboardX is installed.
"""
import csv
import os
import socket
import sys
import time
from datetime import datetime

import numpy as np

from ....autograd.tensor import Tensor

_told = False


def _default_log_dir(comment):
    stamp = datetime.now().strftime("%b%d_%H-%M-%S")
    return os.path.join("runs", f"{stamp}_{socket.gethostname()}{comment}")


def _scalar(value, where):
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(f"SummaryWriter.{where}: a scalar must have one element, got shape {tuple(value.shape)}")
        return float(value.item())
    return float(value)


def _array(values):
    if isinstance(values, Tensor):
        return np.asarray(values.detach()._data, dtype=np.float64).reshape(-1)
    return np.asarray(values, dtype=np.float64).reshape(-1)


def _tensorboardx():
    if os.environ.get("RELULAB_TENSORBOARD", "").lower() == "csv":
        return None
    try:
        import tensorboardX
    except ImportError:
        return None
    return tensorboardX


class _CSVBackend:
    """scalars.csv (wall_time, step, tag, value) and histograms.csv (wall_time, step, tag, count, min, max,
    mean, std, bucket edges and counts) in the log folder, appended and flushed like an event file."""

    def __init__(self, log_dir):
        os.makedirs(log_dir, exist_ok=True)
        self.files = {}
        self.log_dir = log_dir

    def _writer(self, name, header):
        if name not in self.files:
            path = os.path.join(self.log_dir, name)
            new = not os.path.exists(path) or os.path.getsize(path) == 0
            handle = open(path, "a", newline="", encoding="utf-8")
            writer = csv.writer(handle)
            if new:
                writer.writerow(header)
            self.files[name] = (handle, writer)
        return self.files[name][1]

    def scalar(self, tag, value, step, walltime):
        self._writer("scalars.csv", ["wall_time", "step", "tag", "value"]).writerow([walltime, step, tag, value])

    def histogram(self, tag, values, step, walltime, bins):
        counts, edges = np.histogram(values, bins=bins if isinstance(bins, int) else 30)
        row = [walltime, step, tag, values.size, values.min(), values.max(), values.mean(), values.std(),
               " ".join(f"{e:.6g}" for e in edges), " ".join(str(c) for c in counts)]
        self._writer("histograms.csv", ["wall_time", "step", "tag", "count", "min", "max", "mean", "std",
                                        "bucket_edges", "bucket_counts"]).writerow(row)

    def flush(self):
        for handle, _ in self.files.values():
            handle.flush()

    def close(self):
        for handle, _ in self.files.values():
            handle.close()
        self.files = {}


class SummaryWriter:
    """Log scalars and histograms for TensorBoard: ``add_scalar``, ``add_scalars``, ``add_histogram``, ``flush``,
    ``close`` (and use as a context manager).  The default log folder is ``runs/<date>_<host><comment>``."""

    def __init__(self, log_dir=None, comment="", purge_step=None, max_queue=10, flush_secs=120, filename_suffix=""):
        global _told
        self.log_dir = os.fspath(log_dir) if log_dir is not None else _default_log_dir(comment)
        tbx = _tensorboardx()
        if tbx is not None:
            self._tbx = tbx.SummaryWriter(logdir=self.log_dir, purge_step=purge_step, max_queue=max_queue,
                                          flush_secs=flush_secs, filename_suffix=filename_suffix)
            self._csv = None
        else:
            self._tbx = None
            self._csv = _CSVBackend(self.log_dir)
            if not _told:
                _told = True
                print(f"relulab: SummaryWriter writes CSV files (scalars.csv, histograms.csv) to {self.log_dir}, "
                      "not TensorBoard event files; pip install 'relulab[tensorboard]' (tensorboardX) for those",
                      file=sys.stderr)

    def get_logdir(self):
        return self.log_dir

    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None, new_style=False, double_precision=False):
        value = _scalar(scalar_value, "add_scalar")
        if self._tbx is not None:
            self._tbx.add_scalar(tag, value, global_step, walltime)
        else:
            self._csv.scalar(tag, value, global_step, walltime if walltime is not None else time.time())

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None):
        values = {k: _scalar(v, "add_scalars") for k, v in tag_scalar_dict.items()}
        if self._tbx is not None:
            self._tbx.add_scalars(main_tag, values, global_step, walltime)
        else:
            stamp = walltime if walltime is not None else time.time()
            for key, value in values.items():
                self._csv.scalar(f"{main_tag}/{key}", value, global_step, stamp)

    def add_histogram(self, tag, values, global_step=None, bins="tensorflow", walltime=None, max_bins=None):
        array = _array(values)
        if array.size == 0:
            raise ValueError(f"SummaryWriter.add_histogram: '{tag}' got no values")
        if self._tbx is not None:
            self._tbx.add_histogram(tag, array, global_step, bins, walltime, max_bins)
        else:
            self._csv.histogram(tag, array, global_step, walltime if walltime is not None else time.time(), bins)

    def flush(self):
        (self._tbx or self._csv).flush()

    def close(self):
        (self._tbx or self._csv).close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
