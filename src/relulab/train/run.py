"""A run directory: the resolved config, per-epoch metrics (CSV and JSONL) and the best/last checkpoints.

    runs/NAME/
      config.json          the resolved configuration (defaults filled in, overrides applied)
      metrics.csv          one row per epoch
      metrics.jsonl        the same records, one JSON object per line
      checkpoints/last.safetensors, checkpoints/best.safetensors

Every file is replaced atomically (temporary file, then rename), so an interrupted run always leaves its last
complete checkpoint readable, and ``resume`` continues from it.
"""
import csv
import io
import json
from pathlib import Path

from ..serialization import load, save, write_atomic


class RunDirectory:
    def __init__(self, path):
        self.path = Path(path)

    @classmethod
    def create(cls, root, name, config):
        """Make a fresh directory ``root/name`` (suffixed -2, -3 ... if taken) and write the config into it."""
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        path, n = root / name, 1
        while path.exists():
            n += 1
            path = root / f"{name}-{n}"
        (path / "checkpoints").mkdir(parents=True)
        run = cls(path)
        write_atomic(path / "config.json", json.dumps(config, indent=2, sort_keys=True) + "\n")
        return run

    @classmethod
    def open(cls, path):
        run = cls(path)
        if not (run.path / "config.json").exists():
            raise FileNotFoundError(f"{run.path} is not a relulab run directory (no config.json)")
        return run

    @property
    def config(self):
        return json.loads((self.path / "config.json").read_text(encoding="utf-8"))

    def checkpoint_path(self, which):
        return self.path / "checkpoints" / f"{which}.safetensors"

    def has_checkpoint(self, which):
        return self.checkpoint_path(which).exists()

    def save_checkpoint(self, which, checkpoint):
        save(checkpoint, self.checkpoint_path(which))

    def load_checkpoint(self, which):
        path = self.checkpoint_path(which)
        if not path.exists():
            raise FileNotFoundError(f"{self.path}: no {which} checkpoint yet ({path})")
        return load(path)

    def history(self):
        path = self.path / "metrics.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def log(self, record):
        """Append one epoch's record (rewriting both files atomically from the full history)."""
        records = [r for r in self.history() if r["epoch"] < record["epoch"]] + [dict(record)]
        write_atomic(self.path / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in records))
        keys = list(dict.fromkeys(k for r in records for k in r))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=keys)
        writer.writeheader()
        writer.writerows(records)
        write_atomic(self.path / "metrics.csv", buffer.getvalue())
