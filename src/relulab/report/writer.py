"""Write one lab's report: report.html (figures embedded as base64, no external files), report.md (figures
linked from figures/), and results.json (every number).  All three carry the same facts per experiment:
verdict and reason, seeds, settings and how they were chosen, the per-seed table, and the negative controls; the
header says once where the lab's random numbers come from.
Wall-clock fields are kept apart under "timing" so that the rest is identical for a given seed."""
import base64
import html
import json
from pathlib import Path

from ..serialization import write_atomic
from .render import badge, counts, counts_text, page, table_html, table_md


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


def _entry(exp, res):
    return _plain({
        "title": exp.title, "claim": exp.claim, "method": res.method, "verdict": res.verdict,
        "because": res.because, "numbers": res.numbers, "table": res.table, "figures": res.figures,
        "seeds": res.seeds, "settings": res.settings,
        "controls": [{"name": c.name, "description": c.description, "verdict": c.verdict, "because": c.because,
                      "numbers": c.numbers} for c in res.controls]})


def _controls_rows(controls):
    return [{"control": c["name"], "what was changed": c["description"], "verdict": c["verdict"],
             "because": c["because"]} for c in controls]


def _seeds_text(seeds):
    return f"{len(seeds)} ({', '.join(map(str, seeds))})" if seeds else "—"


def _controls_summary(controls):
    if not controls:
        return "none"
    passed = sum(c["verdict"] == "not reproduced" for c in controls)
    return f"{passed} of {len(controls)} not reproduced"


def _markdown(results):
    title, exps = results["lab"], results["experiments"]
    md = [f"# {title}\n", f"lab seed {results['seed']}{' (quick mode)' if results['quick'] else ''}\n",
          *([f"*Randomness.* {results['randomness']}\n"] if results.get("randomness") else []),
          "## Summary\n", f"{len(exps)} experiments: {counts_text(e['verdict'] for e in exps.values())}.\n",
          table_md([{"experiment": f"[{e['title']}](#{key})", "verdict": e["verdict"], "seeds": len(e["seeds"]),
                     "negative controls": _controls_summary(e["controls"])} for key, e in exps.items()])]
    for key, e in exps.items():
        md += [f'\n<a id="{key}"></a>\n## {e["title"]}\n', f"*Claim.* {e['claim']}\n",
               f"*What was run.* {e['method']}\n",
               f"*Settings (how chosen).* {e['settings'] or 'not stated'}\n",
               f"*Seeds.* {_seeds_text(e['seeds'])}\n", table_md(e["table"]),
               f"**Verdict: {e['verdict']}.** {e['because']}\n"]
        if e["controls"]:
            md += ["**Negative controls** (the same criterion where the claim must not hold):\n",
                   table_md(_controls_rows(e["controls"]))]
        md += [f"![{name}](figures/{name})\n" for name in e["figures"]]
    return "\n".join(md)


def _html(results, out_dir):
    title, exps = results["lab"], results["experiments"]
    esc = html.escape
    tally = counts(e["verdict"] for e in exps.values())
    parts = [f"<h1>{esc(title)}</h1><p class=muted>lab seed {results['seed']}"
             f"{' (quick mode: fewer seeds, smaller sizes)' if results['quick'] else ''} · "
             f"<a href='../index.html'>all labs</a></p>",
             f"<p class=muted>Randomness: {esc(results['randomness'])}</p>" if results.get("randomness") else "",
             "<h2>Summary</h2><p class=counts>" + f"{len(exps)} experiments: "
             + "".join(f"<span>{badge(v)} {n}</span>" for v, n in tally.items()) + "</p>",
             table_html([{"experiment": f"<a href='#{esc(key)}'>{esc(e['title'])}</a>", "verdict": badge(e["verdict"]),
                          "seeds": len(e["seeds"]), "negative controls": _controls_summary(e["controls"])}
                         for key, e in exps.items()], raw=("experiment", "verdict"))]
    for key, e in exps.items():
        figures = "".join(
            f'<figure><img alt="{esc(name)}" src="data:image/png;base64,'
            f'{base64.b64encode((out_dir / "figures" / name).read_bytes()).decode()}"></figure>'
            for name in e["figures"])
        controls = ""
        if e["controls"]:
            rows = _controls_rows(e["controls"])
            for row in rows:
                row["verdict"] = badge(row["verdict"])
            controls = ("<h3>Negative controls</h3><p class=muted>The same criterion, run where the claim must not "
                        "hold; each must come out “not reproduced”.</p>" + table_html(rows, raw=("verdict",)))
        numbers = json.dumps(e["numbers"], indent=1, ensure_ascii=False, sort_keys=True)
        parts.append(
            f"<section id='{esc(key)}'><h2>{esc(e['title'])}</h2>"
            f"<p class=claim>Claim: {esc(e['claim'])}</p>"
            f"<h3>Method</h3><p>{esc(e['method'])}</p>"
            f"<h3>Settings (how chosen)</h3><p>{esc(e['settings'] or 'not stated')}</p>"
            f"<h3>Per-seed results</h3><p class=muted>Seeds: {esc(_seeds_text(e['seeds']))}</p>"
            f"{table_html(e['table'])}"
            f"<h3>Verdict</h3><p>{badge(e['verdict'])} {esc(e['because'])}</p>{controls}{figures}"
            f"<details><summary>all numbers</summary><pre>{esc(numbers)}</pre></details></section>")
    return page(title, "".join(parts))


def write_report(out_dir, lab_title, outcomes, seed, quick, randomness=""):
    """Write results.json, report.md and report.html into ``out_dir`` (each atomically); returns report.html.
    ``randomness`` says where the lab's random numbers come from (shown in the header)."""
    out_dir = Path(out_dir)
    experiments = {exp.key: _entry(exp, res) for exp, res, _ in outcomes}
    for key, e in experiments.items():  # validate before writing anything
        missing = [name for name in e["figures"] if not (out_dir / "figures" / name).is_file()]
        if missing:
            raise FileNotFoundError(f"report of {lab_title!r}: experiment {key!r} names missing figures {missing}")
    results = {"lab": lab_title, "seed": seed, "quick": quick, "randomness": randomness, "experiments": experiments,
               "order": list(experiments),  # the lab's order (the JSON's keys are sorted)
               "summary": counts(e["verdict"] for e in experiments.values()),
               "timing": {exp.key: round(seconds, 2) for exp, _, seconds in outcomes}}
    page_html = _html(results, out_dir)
    write_atomic(out_dir / "results.json", json.dumps(results, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    write_atomic(out_dir / "report.md", _markdown(results))
    write_atomic(out_dir / "report.html", page_html)
    return out_dir / "report.html"
