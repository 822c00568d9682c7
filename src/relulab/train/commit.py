"""A run's checkpoint, committed atomically once per epoch.

Two slot files, ``checkpoints/commit-0.safetensors`` and ``commit-1.safetensors``, take turns: each commit
overwrites the older slot in place and records a sequence number, and (like every relulab checkpoint) a CRC-32
of all its bytes.  The run's state is the newest slot whose CRC checks.  A write that is cut short (kill -9,
Ctrl-C, a full disk) damages only the slot being written, so the previous commit is still there and complete.
Everything one epoch leaves behind — the last state and the best weights — is in one commit, so "last" and
"best" can never disagree.

Why slots rather than a temporary file and a rename per epoch: on ext4, renaming over a file (or truncating one
to zero) makes the kernel flush its data, which costs milliseconds: more than a small model's whole epoch.
Writing in place costs microseconds.  The slots are fsynced when training ends; an epoch is safe from the
process dying at any moment, but not from a power cut during the run.
"""
import json
import os
from pathlib import Path

from ..serialization import CheckpointError, dumps, loads, read_file

COMMIT_KEY = "relulab.commit"
SLOT_NAMES = ("commit-0.safetensors", "commit-1.safetensors")


def _write_at(fd, data, offset=0):
    """Write all of ``data`` at ``offset`` (``os.pwrite`` may write less than asked)."""
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


class Commit(dict):
    """A committed checkpoint (the dict that was written) and where it came from: ``.seq``, ``.epoch``, ``.path``."""

    def __init__(self, content, seq, epoch, path):
        super().__init__(content)
        self.seq, self.epoch, self.path = seq, epoch, path


class CommitSlots:
    def __init__(self, folder):
        self.folder = Path(folder)
        self.paths = [self.folder / name for name in SLOT_NAMES]
        self._fds = {}
        self._sizes = {}
        self._newest = None  # (seq, slot) of the newest complete commit once known; (-1, 1) when there is none

    def read(self):
        """The newest complete commit, or None when nothing has been committed yet.

        A damaged slot is what an interrupted write leaves, and is skipped; if both slots are damaged, the
        error says what is wrong with each."""
        newest, problems = None, []
        for slot, path in enumerate(self.paths):
            if not path.exists():
                continue
            try:
                content, metadata = loads(read_file(path), path)
                seq, epoch = _commit_info(metadata, path)
            except CheckpointError as e:
                problems.append(str(e))
                continue
            if not isinstance(content, dict):
                problems.append(f"{path}: holds a {type(content).__name__}, not a checkpoint dict")
                continue
            if newest is None or seq > newest.seq:
                newest = Commit(content, seq, epoch, path)
                self._newest = (seq, slot)
        if newest is None:
            # The first commit creates slot 0 and the second slot 1, so a damaged slot 0 alone is a first
            # commit that was cut short: nothing was committed.  Two damaged slots cannot come from one
            # interrupted write; they are reported rather than silently trained over.
            if problems and self.paths[1].exists():
                raise CheckpointError(f"{self.folder}: no complete checkpoint: " + "; ".join(problems))
            self._newest = (-1, 1)
        return newest

    def write(self, content, epoch):
        """Commit ``content`` (a checkpoint dict) for ``epoch``: one in-place write of the older slot."""
        if self._newest is None:
            self.read()
        seq, slot = self._newest
        seq, slot = seq + 1, 1 - slot
        fd = self._fd(slot)
        data = dumps(content, {COMMIT_KEY: f'{{"seq":{seq},"epoch":{int(epoch)}}}'}, pad_to=self._sizes[slot])
        _write_at(fd, data)
        if self._sizes[slot] > len(data):
            os.ftruncate(fd, len(data))
        self._sizes[slot] = len(data)
        self._newest = (seq, slot)

    def _fd(self, slot):
        if slot not in self._fds:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.paths[slot], os.O_RDWR | os.O_CREAT, 0o666)
            self._fds[slot] = fd
            self._sizes[slot] = os.fstat(fd).st_size
        return self._fds[slot]

    def close(self):
        """fsync what was written (files and folder) and release the files."""
        if not self._fds:
            return
        try:
            for fd in self._fds.values():
                os.fsync(fd)
            _fsync_folder(self.folder)
        finally:
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()


def _commit_info(metadata, path):
    try:
        info = json.loads(metadata[COMMIT_KEY])
        seq, epoch = info["seq"], info["epoch"]
    except (KeyError, TypeError, ValueError):
        raise CheckpointError(f"{path}: not a relulab commit (no valid '{COMMIT_KEY}' metadata)") from None
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (seq, epoch)):
        raise CheckpointError(f"{path}: its commit metadata {info!r} is not a pair of counts")
    return seq, epoch


def _fsync_folder(folder):
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some filesystems refuse fsync on a folder; the files themselves are synced
        pass
    finally:
        os.close(fd)
