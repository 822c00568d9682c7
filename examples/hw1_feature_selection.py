"""How examples/hw1_covid.toml's feature list was chosen: L1 ranking, then k by 5-fold CV (all in relulab).

1. Fit a linear model with an L1 penalty (lecture 2's regularisation; the L1 pushes weak features to ~0) on all
   116 standardised features of covid.train.csv, full batch, and rank the features by |w|.
2. For each k, 5-fold CV (shuffled, seed 0) of a plain linear model on the top-k features; keep the best k.
   Ridge-like baseline for comparison: all features, L2 weight decay.

The ranking uses the whole training file, so the CV numbers carry a small selection optimism; covid.test.csv is
never looked at.   Run:  python examples/hw1_feature_selection.py
"""
from pathlib import Path

import numpy as np

import relulab as rl
from relulab import nn
from relulab.data import CSVDataset, Standardizer
from relulab.train import cross_validate, load_config

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "hw1_covid.toml"


def rank_features(path, l1=0.006, epochs=2000, seed=0):
    ds = CSVDataset(path)
    x = Standardizer().fit_transform(ds.features).astype(np.float32)
    y = ds.targets
    rl.manual_seed(seed)
    model = nn.Linear(x.shape[1], 1)
    opt = rl.optim.Adam(model.parameters(), lr=0.05)
    sched = rl.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    xt, yt = rl.tensor(x), rl.tensor(y)
    for _ in range(epochs):
        loss = nn.functional.mse_loss(model(xt), yt) + l1 * model.weight.abs().sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    weights = np.abs(model.weight.detach().numpy()[0])
    order = np.argsort(-weights)
    return [ds.feature_names[i] for i in order], weights[order]


def main():
    base = load_config(CONFIG)
    path = base["data"]["path"]  # load_config resolves it against the config file
    names, weights = rank_features(path)
    print("top features by |w| under L1:", ", ".join(f"{n} ({w:.3f})" for n, w in zip(names[:20], weights[:20])))
    results = {}
    for k in (4, 8, 12, 16, 20, 24, 32, 48, len(names)):
        config = load_config(CONFIG, [f"data.path='{path}'"])
        config["data"]["columns"] = names[:k]
        mean, std, _ = cross_validate(config, folds=5, verbose=False)
        results[k] = mean
        print(f"top {k:>3} features: 5-fold CV MSE {mean:.4f} ± {std:.4f}", flush=True)
    ridge = load_config(CONFIG, [f"data.path='{path}'", "data.columns='all'", "optimizer.weight_decay=1e-3"])
    mean, std, _ = cross_validate(ridge, folds=5, verbose=False)
    print(f"all features, L2 (ridge-like): 5-fold CV MSE {mean:.4f} ± {std:.4f}")
    best = min(results, key=results.get)
    print(f"best k = {best}: {names[:best]}")


if __name__ == "__main__":
    main()
