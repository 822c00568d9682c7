"""The verdict table printed at the end of ``relulab lab``."""
import json
from pathlib import Path

from .render import counts_text


def read_results(lab_dir):
    """The results.json of a lab's report folder, as a dict."""
    return json.loads((Path(lab_dir) / "results.json").read_text(encoding="utf-8"))


def _cut(text, width):
    return text if len(text) <= width else text[:width - 1] + "…"


def verdict_table(results, width=44):
    """Lines of a plain-text table for one lab's results dict: experiment, verdict, seeds, controls, seconds."""
    exps = results["experiments"]
    timing = results.get("timing", {})
    head = f"{'experiment':<{width}}  {'verdict':<17}  {'seeds':>5}  {'controls':>8}  {'time':>6}"
    lines = [f"{results['lab']}{' (quick)' if results.get('quick') else ''}", head, "-" * len(head)]
    for key in results.get("order", list(exps)):
        e = exps[key]
        controls = e.get("controls", [])
        passed = f"{sum(c['verdict'] == 'not reproduced' for c in controls)}/{len(controls)}"
        seconds = f"{timing[key]:.1f}s" if key in timing else ""
        lines.append(f"{_cut(e['title'], width):<{width}}  {e['verdict']:<17}  {len(e.get('seeds', [])):>5}  "
                     f"{passed:>8}  {seconds:>6}")
    lines.append(f"{len(exps)} experiments: {counts_text(e['verdict'] for e in exps.values())} "
                 "(controls: negative controls that came out “not reproduced”, as they must)")
    return "\n".join(lines)
