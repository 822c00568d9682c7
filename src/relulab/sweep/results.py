"""A sweep's results: results.csv and results.md (one row per trial), the best trial, and the metric plotted
against each swept key."""
import csv
import io
import math
from pathlib import Path

from ..serialization import write_atomic


def best_trial(records, mode):
    """The finished trial with the best mean validation score (``mode`` 'min' or 'max'), or None."""
    done = [r for r in records if r.status == "ok" and r.scores and math.isfinite(r.mean)]
    if not done:
        return None
    return (min if mode == "min" else max)(done, key=lambda r: r.mean)


def _cell(value):
    if isinstance(value, float):
        return f"{value:.5g}"
    return str(value)


def rows(records, keys):
    out = []
    for r in sorted(records, key=lambda r: r.index):
        out.append({"trial": r.trial, **{k: r.params.get(k, "") for k in keys}, "metric": r.metric,
                    "mean": r.mean, "std": r.std, "scores": len(r.scores), "seconds": round(r.seconds, 2),
                    "status": r.status, "error": r.error})
    return out


def write_results(directory, records, keys, mode, command=""):
    """results.csv, results.md and metric-vs-key figures; returns the best record (or None)."""
    directory = Path(directory)
    table = rows(records, keys)
    fields = ["trial", *keys, "metric", "mean", "std", "scores", "seconds", "status", "error"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    write_atomic(directory / "results.csv", buffer.getvalue())
    best = best_trial(records, mode)
    write_atomic(directory / "results.md", _markdown(table, fields, best, mode, command))
    if keys and any(r.status == "ok" for r in records):
        _plot(directory, records, keys, best)
    return best


def describe_best(best, mode):
    if best is None:
        return "no trial finished, so there is no best trial"
    params = ", ".join(f"{k}={v}" for k, v in best.params.items()) or "(the base config)"
    word = "lowest" if mode == "min" else "highest"
    return (f"best trial: {best.trial} ({params}): {best.metric} {best.mean:.5g} ± {best.std:.3g} over "
            f"{len(best.scores)} score(s), the {word} mean validation score (chosen on validation data, never "
            "on the test set)")


def _markdown(table, fields, best, mode, command):
    shown = [f for f in fields if f != "error"]
    lines = ["# Sweep results", ""]
    if command:
        lines += [f"`{command}`", ""]
    lines += ["| " + " | ".join(shown) + " |", "|" + "---|" * len(shown)]
    for row in table:
        lines.append("| " + " | ".join(_cell(row[f]) for f in shown) + " |")
    failed = [row for row in table if row["status"] == "failed"]
    if failed:
        lines += ["", "Failed trials:"] + [f"- {row['trial']}: {row['error']}" for row in failed]
    lines += ["", describe_best(best, mode) + "."]
    return "\n".join(lines) + "\n"


def _plot(directory, records, keys, best):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    done = [r for r in records if r.status == "ok" and r.scores]
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.6), squeeze=False)
    for ax, key in zip(axes[0], keys):
        values = [r.params.get(key) for r in done]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        if numeric:
            xs = values
            positive = all(v > 0 for v in values)
            if positive and max(values) / min(values) > 20:
                ax.set_xscale("log")
        else:
            labels = sorted({str(v) for v in values})
            xs = [labels.index(str(v)) for v in values]
            ax.set_xticks(range(len(labels)))
            ax.set_xticklabels(labels, rotation=20, ha="right", fontsize=8)
        ax.errorbar(xs, [r.mean for r in done], yerr=[r.std for r in done], fmt="o", capsize=3, color="tab:blue")
        if best is not None:
            bx = best.params.get(key)
            ax.plot([bx if numeric else labels.index(str(bx))], [best.mean], "*", color="tab:red", markersize=14,
                    label="best")
            ax.legend(fontsize=8, loc="best")
        ax.set_xlabel(key)
        ax.set_ylabel(f"{done[0].metric} (mean ± std)")
    fig.suptitle("validation metric per trial", fontsize=10)
    fig.tight_layout()
    write_atomic(directory / "metric-vs-keys.png", _png(fig))
    plt.close(fig)


def _png(fig):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()
