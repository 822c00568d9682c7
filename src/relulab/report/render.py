"""Shared formatting for the reports: numbers at 4 significant digits, verdict counts, and tables as Markdown
or HTML."""
import html
import math
import re

from .fonts import CSS_FONT_STACK

VERDICT_ORDER = ("reproduced", "partly reproduced", "not reproduced")
VERDICT_CLASS = {"reproduced": "ok", "partly reproduced": "part", "not reproduced": "no"}


def fmt(value):
    """A table cell: floats at 4 significant digits, everything else as text."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return str(value)


def counts(verdicts):
    """{verdict: how many}, in VERDICT_ORDER (zeros kept), for an iterable of verdict strings."""
    verdicts = list(verdicts)
    return {v: sum(1 for x in verdicts if x == v) for v in VERDICT_ORDER}


def counts_text(verdicts):
    return ", ".join(f"{n} {v}" for v, n in counts(verdicts).items())


def _keys(rows):
    keys = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    return keys


_SPREAD = re.compile(r"[-+\d.e]+ ± [-+\d.e]+")


def _is_summary(row):
    # Summary rows carry "mean ± std" cells (stats.spread_row); per-seed rows carry numbers.
    return any(isinstance(v, str) and _SPREAD.fullmatch(v) for v in row.values())


def _md_cell(value):
    return fmt(value).replace("|", "\\|").replace("\n", " ")


def table_md(rows):
    if not rows:
        return ""
    keys = _keys(rows)
    lines = ["| " + " | ".join(_md_cell(k) for k in keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(_md_cell(r.get(k, "")) for k in keys) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def table_html(rows, raw=()):
    """An HTML table of ``rows`` (dicts); columns named in ``raw`` hold trusted HTML (links, verdict badges)."""
    if not rows:
        return ""
    keys = _keys(rows)
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in keys)

    def cell(row, key):
        value = row.get(key, "")
        text = value if key in raw else html.escape(fmt(value))
        align = " class=num" if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
        return f"<td{align}>{text}</td>"

    body = "".join(f"<tr{' class=summary' if _is_summary(r) else ''}>" + "".join(cell(r, k) for k in keys)
                   + "</tr>" for r in rows)
    return f"<div class=scroll><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"


def badge(verdict):
    return f'<span class="verdict {VERDICT_CLASS.get(verdict, "no")}">{html.escape(verdict)}</span>'


STYLE = f"""body{{font-family:{CSS_FONT_STACK};max-width:64rem;margin:2rem auto;padding:0 1rem;line-height:1.45;
color:#1d1d1f}}
h1{{font-size:1.7rem}}h2{{font-size:1.3rem;margin-top:.2rem}}h3{{font-size:1.02rem;margin:.9rem 0 .3rem}}
.scroll{{overflow-x:auto}}
table{{border-collapse:collapse;margin:.4rem 0;font-size:.92rem}}
td,th{{border:1px solid #cfcfd4;padding:.2rem .5rem;text-align:left;vertical-align:top}}
th{{background:#f2f2f5}}td.num{{text-align:right;font-variant-numeric:tabular-nums}}
tr.summary td{{font-weight:600;background:#fafafa}}
.verdict{{font-weight:700;padding:.05rem .45rem;border-radius:.3rem;white-space:nowrap}}
.ok{{color:#0f5a22;background:#e3f4e6}}.part{{color:#704800;background:#fdf0d2}}.no{{color:#8c1d13;background:#fbe3e0}}
.counts span{{margin-right:1rem}}
section{{border-top:1px solid #ddd;margin-top:1.8rem;padding-top:.4rem}}
.claim{{font-style:italic}}.muted{{color:#5d5d66;font-size:.9rem}}
figure{{margin:.6rem 0}}img{{max-width:100%;height:auto;border:1px solid #eee}}
details{{margin:.4rem 0}}summary{{cursor:pointer;color:#33558a}}
code{{font-size:.9em}}"""


def page(title, body):
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<meta name=viewport content='width=device-width,initial-scale=1'><title>{html.escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>{body}</body></html>")
