"""Config validation is one pass before any write: every value type- and range-checked, errors that name the
key and the value, no half-made run directory, no traceback in the CLI (``--debug`` shows one), and resume
arguments checked before config.json is touched."""
import json

import pytest

from relulab.cli import main
from relulab.train import ConfigError, load_config, resolve, resume, train
from relulab.train import builders
from runcheck import config, write_csv


@pytest.fixture
def data(tmp_path):
    return write_csv(tmp_path)


def _refused(tmp_path, cfg_or_raw, pattern, error=ConfigError):
    """Training this config fails with ``pattern`` and leaves the output folder empty."""
    out = tmp_path / "out"
    with pytest.raises(error, match=pattern):
        train(resolve(cfg_or_raw) if isinstance(cfg_or_raw, dict) else cfg_or_raw, out_dir=out, verbose=False)
    assert not out.exists() or not any(out.iterdir())


# (override in runcheck.config's '__' form, the message it must give)
VALUE_CASES = {
    "interval typo": ({"scheduler__interval": "epochs"}, r"'scheduler.interval' must be one of epoch, batch, "
                                                         r"got 'epochs'; did you mean 'epoch'"),
    "fractional epochs": ({"epochs": 2.5}, r"'epochs' must be an integer .* got 2.5"),
    "bool epochs": ({"epochs": True}, r"'epochs' must be an integer .* got True"),
    "fractional seed": ({"seed": 0.5}, r"'seed' must be an integer .* got 0.5"),
    "negative seed": ({"seed": -1}, r"'seed' must be an integer from 0 .* got -1"),
    "negative patience": ({"train__early_stopping__patience": -2}, r"'train.early_stopping.patience' must be an "
                                                                  r"integer >= 0, got -2"),
    "monitor typo": ({"train__early_stopping__monitor": "valid_acuracy"},
                     r"'train.early_stopping.monitor' .* got 'valid_acuracy'; did you mean 'valid_accuracy'"),
    "negative clip": ({"train__clip_grad_norm": -1}, r"'train.clip_grad_norm' must be a number >= 0.0, got -1"),
    "negative l1": ({"train__l1": -1}, r"'train.l1' must be a number >= 0.0, got -1"),
    "nan lr": ({"optimizer__lr": float("nan")}, r"'optimizer.lr' must be a finite number, got nan"),
    "text lr": ({"optimizer__lr": "fast"}, r"'optimizer.lr' must be a number \(the default of Adam is 0.001\), "
                                           r"got 'fast'"),
    "one beta": ({"optimizer__betas": [0.9]}, r"'optimizer.betas' must be a list of 2 values .* got \[0.9\]"),
    "text beta": ({"optimizer__betas": [0.9, "x"]}, r"'optimizer.betas\[1\]' must be a number"),
    "negative lr": ({"optimizer__lr": -0.1}, r"optimizer Adam\(lr=-0.1\): Invalid learning rate: -0.1"),
    "steplr without step_size": ({"scheduler": {"name": "StepLR"}}, r"StepLR needs 'scheduler.step_size'"),
    "string lr_lambda": ({"scheduler": {"name": "LambdaLR", "lr_lambda": "lambda e: 0.9 ** e"}},
                         r"LambdaLR takes a Python function \(lr_lambda\), which a config file cannot give"),
    "sequential of ints": ({"scheduler": {"name": "SequentialLR", "schedulers": [1, 2], "milestones": [3]}},
                           r"SequentialLR takes scheduler objects"),
    "cosine T_max 0": ({"scheduler": {"name": "CosineAnnealingLR", "T_max": 0}}, r"scheduler CosineAnnealingLR"),
    "onecycle too short": ({"scheduler": {"name": "OneCycleLR", "max_lr": 0.1, "total_steps": 3}},
                           r"scheduler OneCycleLR: step 4 of the run's 6 fails"),
    "valid fraction 0.9999": ({"data__valid_fraction": 0.9999}, r"'data.valid_fraction' = 0.9999 leaves 0 of 80 rows"),
    "valid fraction 1": ({"data__valid_fraction": 1.0}, r"'data.valid_fraction' must be a number in \[0.0, 1.0\)"),
    "zero width": ({"model__layers": ["Linear(0)"]}, r"layer 'Linear\(0\)': out_features must be a positive integer"),
    "fractional width": ({"model__layers": ["Linear(2.5)"]}, r"out_features must be a positive integer, got 2.5"),
    "wrong output width": ({"model__layers": ["Linear(3)"]}, r"output shape \(3,\) per sample, but the targets have "
                                                             r"shape \(1,\) .* \(end with Linear\(1\)\)"),
    "code in a layer": ({"model__layers": ["__import__('os').system('true')"]}, r"not of the form Name"),
    "escaping name": ({"name": "../escaped"}, r"'name' must be a plain folder name .* got '../escaped'"),
    "absolute name": ({"name": "/tmp/elsewhere"}, r"'name' must be a plain folder name"),
    "early stopping without validation": ({"data__valid_fraction": 0.0, "train__early_stopping__patience": 3},
                                          r"needs a validation split"),
    "classification monitor on regression": ({"train__early_stopping__monitor": "valid_accuracy"},
                                             r"'valid_accuracy' is a classification metric"),
    "table for a number": ({"batch_size": {"x": 1}}, r"'batch_size' must be an integer"),
    "datetime kwarg": ({"optimizer__eps": __import__("datetime").date(2020, 1, 1)}, r"'optimizer.eps' must be a number"),
}


@pytest.mark.parametrize("case", list(VALUE_CASES))
def test_bad_values_are_refused_before_anything_is_written(tmp_path, data, case):
    overrides, pattern = VALUE_CASES[case]

    def build():
        return config(data, **overrides)
    out = tmp_path / "out"
    with pytest.raises(ConfigError, match=pattern):
        train(build(), out_dir=out, verbose=False)
    assert not out.exists() or not any(out.iterdir())


def test_a_huge_layer_is_refused_without_allocating(tmp_path, data, monkeypatch):
    _refused(tmp_path, config(data, model={"layers": ["Linear(1000000000000)", "Linear(1)"]}),
             r"layer 'Linear\(1000000000000\)' brings the model to 5,000,000,000,000 parameters")
    monkeypatch.setattr(builders, "_memory_bytes", lambda: 4 * 2 ** 30)  # the Linear(100000000), small machine
    _refused(tmp_path, config(data, model={"layers": ["Linear(100000000)", "Linear(1)"]}),
             r"'Linear\(100000000\)' brings the model to 500,000,000 parameters: training it needs about 7.5 GiB, "
             r"more than this machine's 4.0 GiB")


def test_data_problems_are_refused_before_anything_is_written(tmp_path, data):
    no_features = tmp_path / "target_only.csv"
    no_features.write_text("id,target\n0,1\n1,2\n")
    _refused(tmp_path, config(no_features), r"target_only.csv: no feature columns", ValueError)
    _refused(tmp_path, config(tmp_path), r"is a folder, not a CSV file", ValueError)
    lines = data.read_text().splitlines()
    fields = lines[6].split(",")
    lines[6] = ",".join([fields[0], "1e39"] + fields[2:])  # finite in float64, inf in float32
    huge = tmp_path / "huge.csv"
    huge.write_text("\n".join(lines) + "\n")
    _refused(tmp_path, config(huge), r"huge.csv, line 7, column 'f0' \(field 2\): 1e\+39 overflows float32", ValueError)


def test_unreadable_config_files(tmp_path):
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff")
    with pytest.raises(ConfigError, match=r"binary.toml is not UTF-8 text"):
        load_config(binary)
    with pytest.raises(ConfigError, match=r"is a folder, not a TOML file"):
        load_config(tmp_path)
    broken = tmp_path / "broken.toml"
    broken.write_text("epochs = = 3\n")
    with pytest.raises(ConfigError, match=r"broken.toml: invalid TOML"):
        load_config(broken)
    with pytest.raises(ConfigError, match=r"does not exist"):
        load_config(tmp_path / "missing.toml")


def test_resume_checks_its_arguments_before_writing(tmp_path, data):
    run = train(config(data, epochs=2), out_dir=tmp_path, verbose=False)
    before = (run.path / "config.json").read_bytes()
    for epochs, pattern in [(-5, "must be a positive integer"), (0, "must be a positive integer"),
                            (1, "has already done 2 epochs; give at least 2"), (2.5, "must be a positive integer")]:
        with pytest.raises(ConfigError, match=pattern):
            resume(run.path, epochs=epochs, verbose=False)
        assert (run.path / "config.json").read_bytes() == before
    resume(run.path, epochs=2, verbose=False)  # nothing to train: consistent, and exits cleanly
    assert json.loads((run.path / "config.json").read_text())["epochs"] == 2
    resume(run.path, epochs=4, verbose=False)
    assert json.loads((run.path / "config.json").read_text())["epochs"] == 4 and len(run.history()) == 4


def test_resume_refuses_a_damaged_config(tmp_path, data, capsys):
    run = train(config(data, epochs=2), out_dir=tmp_path, verbose=False)
    config_path = run.path / "config.json"
    stored = json.loads(config_path.read_text())
    config_path.write_text(json.dumps({**stored, "epochs": -5}))
    with pytest.raises(ConfigError, match=r"config.json: config key 'epochs' must be an integer"):
        resume(run.path, verbose=False)
    config_path.write_text('{"epochs": ')
    assert main(["resume", str(run.path)]) == 2
    err = capsys.readouterr().err
    assert "config.json is not valid JSON" in err and "Traceback" not in err


def test_cli_errors_are_one_line_and_debug_shows_the_traceback(tmp_path, data, capsys):
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(f'epochs = 2.5\n[data]\nkind = "csv"\npath = "{data}"\n[model]\nlayers = ["Linear(1)"]\n')
    assert main(["train", str(cfg), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'epochs' must be an integer" in err and "Traceback" not in err
    assert main(["train", str(cfg), "--out", str(tmp_path / "out"), "--debug"]) == 2
    assert "Traceback (most recent call last)" in capsys.readouterr().err
    assert main(["--debug", "train", str(cfg), "--out", str(tmp_path / "out")]) == 2
    assert "Traceback (most recent call last)" in capsys.readouterr().err
    assert main(["train", str(cfg), "--set", "epochs=3", "--name", "../x", "--out", str(tmp_path / "out")]) == 2
    assert "plain folder name" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and not (tmp_path / "x").exists()
    assert main(["resume", str(tmp_path / "nowhere")]) == 2
    assert "not a relulab run directory" in capsys.readouterr().err


def test_an_unexpected_error_says_it_is_a_bug(tmp_path, data, capsys, monkeypatch):
    from relulab.train import session
    monkeypatch.setattr(session, "rebuild_job", lambda config: None)  # an AttributeError deep inside
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(f'[data]\nkind = "csv"\npath = "{data}"\n[model]\nlayers = ["Linear(1)"]\n')
    assert main(["train", str(cfg), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "AttributeError" in err and "looks like a bug" in err and "Traceback" not in err


def test_check_kwargs_knows_each_classes_signature():
    from relulab import optim
    from relulab.train.config import check_kwargs
    with pytest.raises(ConfigError, match=r"unknown key 'optimizer.momentun' for SGD; did you mean 'momentum'"):
        check_kwargs("optimizer", optim.SGD, {"momentun": 0.9})
    with pytest.raises(ConfigError, match=r"'optimizer.nesterov' must be true or false"):
        check_kwargs("optimizer", optim.SGD, {"nesterov": 1})
    assert check_kwargs("optimizer", optim.SGD, {"momentum": 0.9, "nesterov": True}) == {"momentum": 0.9,
                                                                                         "nesterov": True}


def test_arguments_for_no_scheduler_are_refused(tmp_path, data):
    with pytest.raises(ConfigError, match=r"'scheduler.T_max' is set, but scheduler.name is 'none'.*--set scheduler=none"):
        train(config(data, scheduler={"name": "none", "T_max": 3}), out_dir=tmp_path / "out", verbose=False)
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[data]\nkind = "csv"\npath = "{data}"\n[model]\nlayers = ["Linear(1)"]\n'
                   '[scheduler]\nname = "CosineAnnealingLR"\nT_max = 10\n')
    assert load_config(cfg, ["scheduler=none"])["scheduler"] == {"name": "none", "interval": "epoch"}


def test_a_test_fraction_that_leaves_no_training_digits(tmp_path):
    with pytest.raises(ConfigError, match=r"'data.test_fraction' = 0.9999 leaves 0 of \d+ digits for training"):
        train(resolve({"data": {"kind": "digits", "test_fraction": 0.9999}, "model": {"layers": ["Linear(10)"]},
                       "loss": "CrossEntropyLoss"}), out_dir=tmp_path / "out", verbose=False)
