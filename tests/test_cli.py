"""The README's main job: ``relulab demo`` fits the lecture's sigmoid model and the loss falls."""
import re
import subprocess
import sys

from relulab.cli import main


def test_demo_loss_falls(capsys):
    assert main(["demo", "--steps", "400"]) == 0
    out = capsys.readouterr().out
    losses = [float(v) for v in re.findall(r"^\s+\d+\s+([0-9.]+)$", out, flags=re.M)]
    assert len(losses) >= 5
    assert losses[-1] < losses[0] / 10
    assert "sigmoid" in out


def test_console_entry_point_runs():
    done = subprocess.run([sys.executable, "-m", "relulab.cli", "demo", "--steps", "50"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "loss fell" in done.stdout


def test_lab_command_writes_reports(tmp_path, capsys):
    import json
    assert main(["lab", "lecture1", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "report written to" in out and "[1/" in out  # progress is shown
    results = json.loads((tmp_path / "lecture1" / "results.json").read_text())
    assert results["quick"] is True and len(results["experiments"]) >= 5
    assert (tmp_path / "lecture1" / "report.html").exists() and (tmp_path / "lecture1" / "report.md").exists()
