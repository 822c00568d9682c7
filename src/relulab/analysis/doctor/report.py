"""A diagnosis and how it is shown: the report text and the figure (loss curves, lr searches, model comparison)."""
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .budget import Budget
from .references import PASS_THROUGH
from .thresholds import THRESHOLDS, Thresholds


@dataclass
class Diagnosis:
    verdict: str          # one of VERDICTS
    reason: str           # why this verdict, with the numbers
    evidence: dict        # the numbers behind it
    notes: list           # findings about the curve, the learning rate and the curvature
    remedies: list        # the lecture's remedies for the verdict
    references: list = field(default_factory=list)
    history: list = field(default_factory=list, repr=False)
    budget: Budget = None                 # how the run was trained (what it used, not a default)
    title: str = "model"
    thresholds: Thresholds = THRESHOLDS
    lr_finding: object = None             # verdict.LearningRateFinding
    scan: object = None                   # lr_search.Search of the run's optimizer around the run's lr
    doctor: dict = field(default_factory=dict)  # the doctor's own training: updates, batch, seed, rows
    containment: list = field(default_factory=list)  # (activation, how, why) for the activations involved

    @property
    def lr_cause(self):
        """"diverged" | "oscillating" | "too large" | "too small to move" | None."""
        return self.lr_finding.cause if self.lr_finding is not None else None

    def report(self):
        e = self.evidence
        headline = self.verdict.upper()
        if self.verdict == "optimization" and self.lr_cause:
            headline += f" (learning rate: {self.lr_cause})"
        lines = [f"relulab diagnose: {self.title}", f"verdict: {headline}", f"  {self.reason}", ""]
        if self.budget is not None:
            lines.append(f"the run: {self.budget.describe()} (from {self.budget.source})")
        lines.append("evidence:")
        scale_text = f"  ({e['relative_train_loss']:.3g} x the reference scale {e['loss_scale']:.4g})"
        lines.append(f"  training loss           {e['train_loss']:.5g}{scale_text}")
        if "valid_loss" in e:
            lines.append(f"  validation loss         {e['valid_loss']:.5g}  ({e['valid_train_ratio']:.3g} x training)")
        labels = {"noise_variance_nn": "noise estimate (1-NN)", "hessian_minimum_ratio": "hessian minimum ratio",
                  "hessian_near_zero": "hessian near-zero count"}
        for key in ("parameters", "epochs", "lr", "gradient_norm", "hessian_minimum_ratio", "hessian_near_zero",
                    "hessian_min_eigenvalue", "hessian_max_eigenvalue", "noise_variance_nn"):
            if key in e:
                lines.append(f"  {labels.get(key, key.replace('_', ' ')):<23} {e[key]:.5g}")
        lines += self._doctor_lines()
        if self.lr_finding is not None:
            lines += ["", f"learning rate: {self.lr_finding.text}"]
        if self.notes:
            lines += ["", "notes:"] + [f"  - {n}" for n in self.notes]
        lines += ["", f"remedies ({self.verdict}):"] + [f"  - {r}" for r in self.remedies]
        return "\n".join(lines)

    def _doctor_lines(self):
        d, e = self.doctor, self.evidence
        if not self.references:
            return ["", f"reference models: none trained ({d.get('skipped', 'references=False')})."]
        rounded = f" (whole epochs: {d['trained']})" if d["trained"] != d["updates"] else ""
        lines = ["", f"the doctor's own training: each model gets its own learning-rate search, never the run's "
                     f"settings; {d['updates']} updates per candidate (--budget){rounded}, batch {d['batch_size']}, "
                     f"seed {d['seed']}, {d['fit_rows']} rows to fit and {d['holdout_rows']} held out"
                     + (" (too few rows to hold out: fit on all)." if not d["holdout_rows"] else ".")]
        if d["trained"] > d["rung"]:
            lines.append(f"  Adam over lr {d['grid']}; successive halving: every lr for {d['rung']} updates, the "
                         f"best {d['keep']} to {d['trained']}.")
        else:
            lines.append(f"  Adam over lr {d['grid']}, every lr for {d['trained']} updates.")
        lines.append(f"  {'model':<34} {'relation':<36} {'params':>7} {'best lr':>8} {'train':>9} {'held-out':>9}")
        holdout = e.get("holdout_loss", math.nan)
        lines.append(f"  {'the run (as trained)':<34} {'-':<36} {int(e['parameters']):>7} {'-':>8} "
                     f"{e.get('fit_loss', e['train_loss']):>9.4g} {_num(holdout):>9}"
                     + (" (rows it trained on)" if d["holdout_rows"] else ""))
        for r in self.references:
            lines.append(f"  {r.name:<34} {r.relation:<36} {r.parameters:>7} {r.lr:>8.0e} {r.train_loss:>9.4g} "
                         f"{_num(r.holdout_loss):>9}")
        lines.append("  lr search, training loss per lr (* = trained to the full budget, others cut at the first rung):")
        for r in self.references:
            lines.append(f"    {r.name}: {r.search.describe()}")
        if self.scan is not None:
            lines.append(f"    the run's optimizer {self.scan.optimizer} on the same architecture, around the run's "
                         f"lr: {self.scan.describe()}")
        if d.get("skipped_bigger"):
            lines.append(f"  {d['skipped_bigger']}")
        if self.containment:
            lines.append("  what \"contained\" means here (a deeper net copies a shallower one by passing values "
                         "through its extra layers; a wider one by giving extra units zero weights):")
            lines += [f"    {name}: {how}: {why}" for name, how, why in self.containment]
        return lines

    def __str__(self):
        return self.report()

    def plot(self, path):
        """Loss curves, lr searches and the models' training/held-out losses; returns the path."""
        import matplotlib
        matplotlib.use("Agg")  # files, never windows: works on machines without a display
        import matplotlib.pyplot as plt
        fig, (curves, search, bars) = plt.subplots(1, 3, figsize=(16, 4.3))
        _plot_curves(curves, self.history)
        _plot_search(search, self)
        _plot_bars(bars, self)
        headline = self.verdict + (f" (learning rate: {self.lr_cause})" if self.verdict == "optimization"
                                   and self.lr_cause else "")
        fig.suptitle(f"{self.title}: {headline}", fontsize=11)
        fig.tight_layout()
        path = Path(path)
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return path


def containment_notes(activations):
    """(activation, how, why) for each activation name, from ``PASS_THROUGH``."""
    return [(name, *PASS_THROUGH[name]) for name in dict.fromkeys(activations) if name in PASS_THROUGH]


def _num(value):
    return f"{value:.4g}" if value is not None and not (isinstance(value, float) and math.isnan(value)) else "-"


def _plot_curves(ax, history):
    epochs = [r.get("epoch", i + 1) for i, r in enumerate(history)]
    for key, label in (("train_loss", "training"), ("valid_loss", "validation")):
        values = [r.get(key) for r in history]
        if any(v is not None for v in values):
            ax.plot(epochs, [math.nan if v is None else v for v in values], label=label)
    if not history:
        ax.text(0.5, 0.5, "no training history", ha="center", va="center", transform=ax.transAxes)
    else:
        values = [r.get(k) for r in history for k in ("train_loss", "valid_loss") if r.get(k) is not None]
        if values and all(np.isfinite(v) and v > 0 for v in values):
            ax.set_yscale("log")
        ax.legend()
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title("the run's loss curves")


def _plot_search(ax, diagnosis):
    searches = [(r.name, "Adam", r.search) for r in diagnosis.references]
    if diagnosis.scan is not None:
        searches.append(("the run's architecture", diagnosis.scan.optimizer, diagnosis.scan))
    if not searches:
        ax.text(0.5, 0.5, "no lr search", ha="center", va="center", transform=ax.transAxes)
        return
    finite = []
    for name, optimizer, search in searches:
        lrs = [c.lr for c in search.candidates]
        losses = [c.train_loss if math.isfinite(c.train_loss) else math.nan for c in search.candidates]
        line, = ax.plot(lrs, losses, marker="o", linestyle="--" if search is diagnosis.scan else "-",
                        label=f"{name} ({optimizer})")
        done = [(c.lr, c.train_loss) for c in search.candidates if c.finished and math.isfinite(c.train_loss)]
        if done:
            ax.scatter(*zip(*done), s=60, facecolors="none", edgecolors=line.get_color())
        finite += [v for v in losses if math.isfinite(v) and v > 0]
    ax.set_xscale("log")
    if finite:
        ax.set_yscale("log")
    if diagnosis.budget is not None and diagnosis.budget.lr is not None:
        ax.axvline(diagnosis.budget.lr, color="k", linestyle=":", linewidth=1, label=f"the run's lr ({diagnosis.budget.lr:g})")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss (fit rows)")
    ax.set_title("each model's own lr search (circled: trained to the full budget)", fontsize=9)
    ax.legend(fontsize=7)


def _plot_bars(ax, diagnosis):
    e = diagnosis.evidence
    names = ["the run"] + [r.name for r in diagnosis.references]
    train = [e.get("fit_loss", e["train_loss"])] + [r.train_loss for r in diagnosis.references]
    held = [e.get("holdout_loss", math.nan)] + [r.holdout_loss for r in diagnosis.references]
    positions = np.arange(len(names))
    ax.bar(positions - 0.2, [v if np.isfinite(v) else 0.0 for v in train], width=0.4, label="training rows")
    if any(np.isfinite(v) for v in held):
        ax.bar(positions + 0.2, [v if np.isfinite(v) else 0.0 for v in held], width=0.4, label="held-out rows")
    if "valid_loss" in e:
        ax.axhline(e["valid_loss"], color="tab:orange", linestyle="-.", linewidth=1, label="the run's validation loss")
    ax.set_xticks(positions)
    ax.set_xticklabels(names, rotation=20, ha="right", fontsize=7)
    ax.axhline(e["loss_scale"], color="k", linestyle="--", linewidth=1, label="reference scale")
    if "noise_variance_nn" in e:
        ax.axhline(e["noise_variance_nn"], color="tab:green", linestyle=":", linewidth=1, label="noise estimate (1-NN)")
    shown = [v for v in train + held + [e["loss_scale"]] if np.isfinite(v)]
    if shown and min(shown) > 0:
        ax.set_yscale("log")  # the scale line would otherwise flatten the bars that matter
    ax.set_ylabel("loss")
    ax.set_title("the run vs the doctor's models, each at its own best lr", fontsize=9)
    ax.legend(fontsize=7)
