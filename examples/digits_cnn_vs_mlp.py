"""CNN vs MLPs on 8x8 digits: test accuracy against parameter count (lecture 3: sharing saves parameters).

Trains examples/digits_cnn.toml and MLPs of several widths from examples/digits_mlp.toml (same data split,
optimizer and schedule), then prints each model's parameters and test accuracy.
    python examples/digits_cnn_vs_mlp.py
"""
import tempfile
from pathlib import Path

from relulab.nn import parameter_count
from relulab.train import evaluate_run, load_config, train
from relulab.train.builders import build_model

HERE = Path(__file__).resolve().parent


def run(config, out):
    run_dir = train(config, out_dir=out, verbose=False)
    accuracy = evaluate_run(run_dir.path)["test"]["accuracy"]
    params = parameter_count(build_model(config["model"]["layers"], (1, 8, 8) if not config["data"]["flatten"] else 64))
    return params, accuracy


def main():
    rows = []
    with tempfile.TemporaryDirectory() as out:
        rows.append(("CNN " + " ".join(load_config(HERE / "digits_cnn.toml")["model"]["layers"][:3]),)
                    + run(load_config(HERE / "digits_cnn.toml"), out))
        for width in (32, 64, 128, 256, 512, 1024):
            config = load_config(HERE / "digits_mlp.toml",
                                 [f"model.layers=['Linear({width})', 'ReLU', 'Dropout(0.1)', 'Linear(10)']"])
            rows.append((f"MLP 64-{width}-10",) + run(config, out))
    print(f"{'model':<48} {'parameters':>10} {'test accuracy':>14}")
    for name, params, acc in rows:
        print(f"{name:<48} {params:>10} {acc:>14.4f}")
    cnn_params, cnn_acc = rows[0][1], rows[0][2]
    matching = [(p, n) for n, p, a in rows[1:] if a >= cnn_acc]
    if matching:
        p, n = min(matching)
        print(f"smallest MLP at the CNN's accuracy ({cnn_acc:.4f}): {n} with {p} parameters "
              f"({p / cnn_params:.1f}x the CNN's {cnn_params})")
    else:
        print(f"no MLP tried reaches the CNN's {cnn_acc:.4f} (CNN: {cnn_params} parameters)")


if __name__ == "__main__":
    main()
