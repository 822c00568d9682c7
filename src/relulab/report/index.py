"""``lab-report/index.html`` (and index.md): one line per lab report found under the folder, with its verdict
counts, so a single lab's run updates the index without dropping the others."""
import html
import json
from pathlib import Path

from ..serialization import write_atomic
from .render import counts, page, table_html, table_md


def _lab_results(root, names):
    """[(name, results dict or None, problem)] for each lab folder under ``root``: ``names`` first, in order,
    then any other folder holding a results.json."""
    found = [p.parent.name for p in sorted(root.glob("*/results.json"))]
    order = list(names) + [n for n in found if n not in names]
    labs = []
    for name in order:
        path = root / name / "results.json"
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data.get("experiments"), dict):
                raise ValueError("no experiments")
            labs.append((name, data, None))
        except (ValueError, OSError, AttributeError) as e:
            labs.append((name, None, f"unreadable results.json ({e})"))
    return labs


def write_index(root, names=()):
    """Write ``root``/index.html and index.md linking every lab report under ``root``; returns index.html."""
    root = Path(root)
    rows_html, rows_md, total = [], [], []
    labs = _lab_results(root, names)
    for name, data, problem in labs:
        if data is None:
            rows_html.append({"lab": html.escape(name), "title": html.escape(problem)})
            rows_md.append({"lab": name, "title": problem})
            continue
        verdicts = [e.get("verdict") for e in data["experiments"].values()]
        total += verdicts
        tally = counts(verdicts)
        mode = "quick" if data.get("quick") else "full"
        rows_html.append({"lab": f"<a href='{html.escape(name)}/report.html'>{html.escape(name)}</a>",
                          "title": html.escape(str(data.get("lab", ""))), "mode": mode,
                          "seed": data.get("seed", ""), "experiments": len(verdicts),
                          **tally})
        rows_md.append({"lab": f"[{name}]({name}/report.md)", "title": data.get("lab", ""), "mode": mode,
                        "seed": data.get("seed", ""), "experiments": len(verdicts), **tally})
    tally = counts(total)
    line = f"{len(total)} experiments: " + ", ".join(f"{n} {v}" for v, n in tally.items())
    # The labs' one statement of where their random numbers come from, when every report found gives the same.
    stated = {data.get("randomness", "") for _, data, _ in labs if data is not None}
    randomness = stated.pop() if len(stated) == 1 else ""
    body = (f"<h1>relulab labs</h1><p>Lecture claims of Hung-yi Lee's ML 2022 (lectures 1–3), each run as an "
            f"experiment with seeds, a criterion fixed before the run and negative controls.</p>"
            + (f"<p class=muted>Randomness: {html.escape(randomness)}</p>" if randomness else "")
            + f"<p class=counts>{html.escape(line)}</p>"
            + table_html(rows_html, raw=("lab", "title")))
    md_randomness = f"*Randomness.* {randomness}\n\n" if randomness else ""
    write_atomic(root / "index.md", f"# relulab labs\n\n{md_randomness}{line}\n\n{table_md(rows_md)}")
    write_atomic(root / "index.html", page("relulab labs", body))
    return root / "index.html"
