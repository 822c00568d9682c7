"""Lab reports: the summary, per-experiment sections, controls, the index, the terminal table, CJK fonts."""
import json

import pytest

from relulab.labs import Control, Experiment, Result
from relulab.report import read_results, verdict_table, write_index, write_report
from relulab.report.fonts import CSS_FONT_STACK, installed_cjk_font, use_cjk_font


def _outcomes(tmp_path):
    (tmp_path / "figures").mkdir(parents=True, exist_ok=True)
    (tmp_path / "figures" / "b-fig.png").write_bytes(b"\x89PNG fake")
    control = Control("identical arms", "both arms the same net", "not reproduced", "0 of 3 seeds win")
    a = Result("ran A", {"gap": 0.25}, "partly reproduced", "the train part held, the test part failed",
               table=[{"seed": 11, "gap": 0.25}, {"seed": "mean ± std", "gap": "0.25 ± 0"}], seeds=[11, 12, 13],
               settings="lr by validation loss <per arm>", controls=[control])
    b = Result("ran B", {"x": 1.0}, "reproduced", "3 of 3 seeds", seeds=[1, 2, 3], settings="fixed a priori",
               figures=["b-fig.png"])
    return [(Experiment("a", "Experiment A", "A claim, 中文也行.", None), a, 1.5),
            (Experiment("b", "Experiment B", "B claim", None), b, 0.25)]


def test_report_has_summary_sections_and_controls(tmp_path):
    page = write_report(tmp_path, "Lab <T>", _outcomes(tmp_path), seed=0, quick=True).read_text(encoding="utf-8")
    summary, sections = page.split("<section", 1)
    assert "2 experiments" in summary and "href='#a'" in summary and "href='#b'" in summary
    assert summary.index("Experiment A") < summary.index("Experiment B")  # the lab's order
    assert "partly reproduced" in summary and "1 of 1 not reproduced" in summary
    assert "Lab &lt;T&gt;" in page and "lr by validation loss &lt;per arm&gt;" in page  # escaped
    for text in ("Claim: A claim, 中文也行.", "Settings (how chosen)", "Seeds: 3 (11, 12, 13)", "identical arms",
                 "the test part failed", "class=summary", "data:image/png;base64,"):
        assert text in sections, text
    assert '"Noto Sans CJK SC"' in page and "sans-serif" in CSS_FONT_STACK


def test_markdown_and_json_carry_the_same_facts(tmp_path):
    write_report(tmp_path, "Lab", _outcomes(tmp_path), seed=4, quick=False)
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    results = read_results(tmp_path)
    assert results["order"] == ["a", "b"] and results["summary"]["partly reproduced"] == 1
    a = results["experiments"]["a"]
    assert a["verdict"] == "partly reproduced" and a["seeds"] == [11, 12, 13]
    assert a["settings"] == "lr by validation loss <per arm>" and a["controls"][0]["name"] == "identical arms"
    for text in ("**Verdict: partly reproduced.**", "lr by validation loss <per arm>", "3 (11, 12, 13)",
                 "identical arms", "[Experiment A](#a)", "figures/b-fig.png"):
        assert text in md, text


def test_missing_figure_is_refused_before_writing(tmp_path):
    outcomes = _outcomes(tmp_path)
    outcomes[1][1].figures.append("gone.png")
    with pytest.raises(FileNotFoundError, match="'b' names missing figures"):
        write_report(tmp_path, "Lab", outcomes, seed=0, quick=True)
    assert not (tmp_path / "results.json").exists()


def test_index_links_every_lab_and_keeps_others(tmp_path):
    write_report(tmp_path / "one", "Lab one", _outcomes(tmp_path / "one"), seed=0, quick=True)
    write_index(tmp_path, ["one", "two"])
    write_report(tmp_path / "two", "Lab two", _outcomes(tmp_path / "two")[1:], seed=0, quick=False)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "results.json").write_text("{not json")
    page = write_index(tmp_path, ["two", "one"]).read_text(encoding="utf-8")
    assert page.index("one/report.html") > page.index("two/report.html") > 0  # both, in the given order
    assert "unreadable results.json" in page and "3 experiments" in page
    assert "[one](one/report.md)" in (tmp_path / "index.md").read_text(encoding="utf-8")


def test_terminal_table(tmp_path):
    write_report(tmp_path, "Lab", _outcomes(tmp_path), seed=0, quick=True)
    lines = verdict_table(read_results(tmp_path)).splitlines()
    assert lines[0] == "Lab (quick)"
    assert lines[3].startswith("Experiment A") and "partly reproduced" in lines[3] and "1/1" in lines[3]
    assert "1.5s" in lines[3] and "0/0" in lines[4]
    assert lines[-1].startswith("2 experiments: 1 reproduced, 1 partly reproduced, 0 not reproduced")


def test_cjk_font_is_used_when_installed():
    import matplotlib
    family = use_cjk_font()
    assert family == installed_cjk_font()
    if family is not None:
        assert family in matplotlib.rcParams["font.family"]


def test_only_spread_rows_are_summary_rows():
    from relulab.report.render import table_html
    html = table_html([{"a": "0.25 ± 0.01"}, {"a": "passed on 3/5 seeds (0.2 ± 0.1 mean)"}, {"a": 1.0}])
    assert html.count("class=summary") == 1
