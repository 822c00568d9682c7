"""Write one lab's report: report.html (figures embedded as base64, no external files), report.md (figures
linked from figures/), and results.json (every number).  Wall-clock fields are kept apart under "timing" so
that the rest is identical for a given seed."""
import base64
import html
import json
from pathlib import Path

from ..serialization import write_atomic


def _plain(value):
    """JSON-safe numbers: NumPy scalars and arrays become Python floats/lists, NaN/inf become strings."""
    import numpy as np
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return str(value)
    return value


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _table_md(rows):
    if not rows:
        return ""
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(_fmt(r.get(k, "")) for k in keys) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _table_html(rows):
    if not rows:
        return ""
    keys = list(rows[0])
    head = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(r.get(k, '')))}</td>" for k in keys) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_STYLE = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:right}
.ok{color:#176f2c;font-weight:bold}.part{color:#8a5a00;font-weight:bold}.no{color:#a3261b;font-weight:bold}img{max-width:100%}
section{border-top:1px solid #ddd;margin-top:1.5rem}.claim{font-style:italic}"""


def write_report(out_dir, lab_title, outcomes, seed, quick):
    """Write the three files into ``out_dir``; returns the path of report.html."""
    out_dir = Path(out_dir)
    results = {"lab": lab_title, "seed": seed, "quick": quick, "experiments": {}, "timing": {}}
    md = [f"# {lab_title}\n", f"seed {seed}{' (quick mode)' if quick else ''}\n"]
    parts = [f"<h1>{html.escape(lab_title)}</h1><p>seed {seed}{' (quick mode)' if quick else ''}</p>"]
    summary = []
    for exp, res, seconds in outcomes:
        results["experiments"][exp.key] = _plain({
            "title": exp.title, "claim": exp.claim, "method": res.method, "verdict": res.verdict,
            "because": res.because, "numbers": res.numbers, "table": res.table, "figures": res.figures,
            "seeds": res.seeds, "settings": res.settings,
            "controls": [{"name": c.name, "description": c.description, "verdict": c.verdict,
                          "because": c.because, "numbers": c.numbers} for c in res.controls]})
        results["timing"][exp.key] = round(seconds, 2)
        summary.append(f"- **{exp.title}**: {res.verdict}")
        md += [f"\n## {exp.title}\n", f"*Claim.* {exp.claim}\n", f"*What was run.* {res.method}\n",
               _table_md(res.table)]
        md += [f"![{name}](figures/{name})\n" for name in res.figures]
        md.append(f"**Verdict: {res.verdict}.** {res.because}\n")
        figures = "".join(
            f'<img alt="{html.escape(name)}" src="data:image/png;base64,'
            f'{base64.b64encode((out_dir / "figures" / name).read_bytes()).decode()}">' for name in res.figures)
        css = {"reproduced": "ok", "partly reproduced": "part"}.get(res.verdict, "no")
        parts.append(f"<section><h2>{html.escape(exp.title)}</h2><p class=claim>Claim: {html.escape(exp.claim)}</p>"
                     f"<p>What was run: {html.escape(res.method)}</p>{_table_html(res.table)}{figures}"
                     f"<p><span class={css}>Verdict: {res.verdict}.</span> {html.escape(res.because)}</p></section>")
    md[2:2] = ["\n## Summary\n"] + [s + "\n" for s in summary]
    write_atomic(out_dir / "results.json", json.dumps(results, indent=2, sort_keys=True) + "\n")
    write_atomic(out_dir / "report.md", "\n".join(md))
    page = (f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(lab_title)}</title>"
            f"<style>{_STYLE}</style></head><body>{''.join(parts)}</body></html>")
    write_atomic(out_dir / "report.html", page)
    return out_dir / "report.html"
