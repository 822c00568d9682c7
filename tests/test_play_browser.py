"""relulab play end to end in a real browser: Playwright driving Debian's chromium (never a downloaded build).

One student's session, in order: load a link, train on spirals until the loss falls, switch the optimizer,
pause, read the Hessian panel and check it against relulab.analysis for the same state (rebuilt from the page's
own downloads: the TOML, the data CSV and the weights), export a config that `relulab train` accepts, go to
θ = 0 and escape that saddle, then open a link to a 2-parameter model and see L(b, w) with the path.
(The doctor runs through the same worker in test_play_server.)
Screenshots go to $RELULAB_TEST_ARTIFACTS (default: a pytest temporary folder), named in the test's output.
"""
import os
import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest

from play_live import CHROMIUM, live_server, require, require_server

import relulab
from relulab import analysis as A
from relulab.cli import main
from relulab.play.settings import Limits
from relulab.train import load_config
from relulab.train.session import rebuild_job

LIMITS = Limits(max_sessions=4, doctor_updates=20, max_steps_per_second=200)
LINK = "?data=spirals&points=400&layers=2&width=8&lr=0.1&batch=32&speed=200&seed=0"
LOSS_FALLS = 0.85  # "the loss falls": the training loss reaches 85 % of its value at step 0


@pytest.fixture(scope="module")
def browser():
    require_server()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require("playwright (pip install playwright; never `playwright install`)", False)
    require(f"Debian's chromium at {CHROMIUM}", os.path.exists(CHROMIUM))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    folder = Path(os.environ.get("RELULAB_TEST_ARTIFACTS") or tmp_path_factory.mktemp("play-screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nplay screenshots: {folder}")
    return folder


def _number(page, selector):
    return float(page.locator(selector).inner_text())


def _value(page, selector):
    return page.locator(selector).get_attribute("data-value")


def _download(page, selector, folder):
    with page.expect_download() as info:
        page.click(selector)
    path = folder / info.value.suggested_filename
    info.value.save_as(path)
    return path


def test_a_students_session(browser, artifacts, tmp_path):
    started, phases = time.monotonic(), []
    mark = lambda name: phases.append(f"{name} {time.monotonic() - started:.1f}s")  # noqa: E731
    with live_server(LIMITS) as (base, app):
        context = browser.new_context(viewport={"width": 1400, "height": 1300}, accept_downloads=True)
        page = context.new_page()
        requests, errors = [], []
        page.on("request", lambda r: requests.append(r.url))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

        # ---- the link sets the page up; train on spirals until the loss falls
        page.goto(base + "/" + LINK)
        page.wait_for_selector("#btn-run:not([disabled])")
        page.wait_for_selector("#st-train")
        assert page.input_value("#data") == "spirals" and page.input_value("#width") == "8"
        start_loss = _number(page, "#st-train")
        page.click("#btn-run")
        page.wait_for_function(
            "target => Number(document.getElementById('st-train').textContent) <= target",
            arg=LOSS_FALLS * start_loss, timeout=60_000)
        page.screenshot(path=artifacts / "01-spirals-training.png", full_page=True)
        mark("trained")

        # ---- switch the optimizer mid-run: the weights and the step count carry on
        before = int(page.inner_text("#st-step"))
        page.select_option("#optimizer", "momentum")
        page.wait_for_function("() => window.location.search.includes('optimizer=momentum')")
        switch = page.wait_for_function(
            "() => app.last.settings.optimizer === 'momentum' && app.last.status.switches[0]").json_value()
        assert switch["what"] == "optimizer adam → momentum" and switch["step"] >= before  # not restarted
        page.wait_for_function("s => app.last.status.step > s + 20", arg=switch["step"])
        mark("switched")

        # ---- pause: the Hessian panel, then the same numbers from relulab.analysis
        page.click("#btn-run")
        page.wait_for_function("() => !document.getElementById('hessian-result').hidden && "
                               "document.getElementById('h-step').dataset.value === "
                               "document.getElementById('st-step').textContent")
        page.click("#btn-export")
        page.wait_for_selector("#export-result:not([hidden])")
        toml = _download(page, "#link-toml", tmp_path)
        _download(page, "#link-csv", tmp_path)
        weights = _download(page, "#link-weights", tmp_path)
        job = rebuild_job(load_config(toml))
        job.model.load_state_dict(relulab.load(weights))
        x, y = job.loaders["train"].dataset.tensors
        point = A.classify(job.model, job.loss_fn, (x, y))
        assert _value(page, "#h-kind") == point.kind
        assert [int(_value(page, f"#h-{k}")) for k in ("positive", "negative", "zero", "params")] == \
            [point.positive, point.negative, point.near_zero, point.eigenvalues.size]
        assert float(_value(page, "#h-ratio")) == point.minimum_ratio
        assert float(_value(page, "#h-min")) == pytest.approx(point.eigenvalues[0], rel=1e-9)
        assert float(_value(page, "#h-max")) == pytest.approx(point.eigenvalues[-1], rel=1e-9)
        assert float(_value(page, "#h-grad")) == pytest.approx(point.gradient_norm, rel=1e-9)
        assert float(_value(page, "#h-loss")) == pytest.approx(point.loss, rel=1e-12)
        page.screenshot(path=artifacts / "02-paused-hessian.png", full_page=True)
        mark("hessian")

        # ---- `relulab train` accepts the export (two epochs of it, to keep the test short)
        assert main(["train", str(toml), "--out", str(tmp_path / "runs"), "--set", "epochs=2"]) == 0
        mark("relulab-train")

        # ---- θ = 0 of a one-hidden-layer net is a saddle: escape it along the negative eigenvector
        page.fill("#layers", "1")
        page.dispatch_event("#layers", "change")
        page.wait_for_function("() => window.location.search.includes('layers=1')")
        page.wait_for_function("() => app.last && app.last.status.parameters === 33")
        page.click("#btn-origin")
        page.click("#btn-hessian")
        page.wait_for_function("() => app.last.hessian && !app.last.busy")
        assert _value(page, "#h-kind") == "saddle" and float(_value(page, "#h-grad")) < 1e-12
        page.click("#btn-escape")
        page.wait_for_selector("#escape-result:not([hidden])")
        text = page.locator("#escape-text")
        before_loss, after_loss = float(text.get_attribute("data-before")), float(text.get_attribute("data-after"))
        query = urlparse(page.url).query
        origin_toml = tmp_path / "origin" / "play-spirals.toml"
        origin_toml.parent.mkdir()
        origin_toml.write_bytes(page.request.get(f"{base}/api/export/play-spirals.toml?{query}").body())
        (origin_toml.parent / "play-spirals.csv").write_bytes(
            page.request.get(f"{base}/api/export/play-spirals.csv?{query}").body())
        job = rebuild_job(load_config(origin_toml))
        job.model.load_state_dict({k: v * 0 for k, v in job.model.state_dict().items()})
        x, y = job.loaders["train"].dataset.tensors
        theirs = A.escape_saddle(job.model, job.loss_fn, (x, y))
        assert theirs.lowered and after_loss < before_loss
        assert before_loss == pytest.approx(theirs.start_loss, rel=1e-12)
        assert after_loss == pytest.approx(theirs.losses.min(), rel=1e-5)  # θ kept in float32 on the page
        assert float(text.get_attribute("data-eta")) == theirs.step_sizes[np.argmin(theirs.losses)]
        page.screenshot(path=artifacts / "03-escaped-saddle.png", full_page=True)
        mark("escaped")

        # ---- a link reproduces a setup: a 2-parameter model on the views series, with L(b, w) and its path
        settings = {"data": "views", "layers": "0", "loss": "mse", "optimizer": "sgd", "lr": "0.1", "speed": "200"}
        page.goto(base + "/?" + "&".join(f"{k}={v}" for k, v in settings.items()))
        page.wait_for_selector("#btn-run:not([disabled])")
        shown = page.evaluate("() => app.settings")
        assert all(str(shown[k]) == v for k, v in settings.items())
        assert {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()} == \
            {k: str(v) for k, v in shown.items()}  # and the URL now holds every setting
        page.wait_for_selector("#surface-panel:not([hidden])")
        page.click("#btn-run")
        page.wait_for_function("() => app.last.surface && app.last.surface.path.w.length > 30")
        page.click("#btn-run")
        page.wait_for_function("() => !app.last.running && !app.last.busy && app.last.hessian")
        assert _value(page, "#h-kind") == "local minimum"  # MSE of y = b + w·x is convex
        page.screenshot(path=artifacts / "04-views-error-surface.png", full_page=True)
        mark("surface")

        sid = page.evaluate("() => app.sid")
        page.close()  # pagehide: the page closes its session, which ends its worker
        deadline = time.monotonic() + 10
        while any(s == sid for s in list(app.state.sessions._sessions)):
            assert time.monotonic() < deadline, "closing the page did not close its session"
            time.sleep(0.1)
        context.close()

    print("phases: " + ", ".join(phases))
    assert not errors, errors
    outside = [u for u in requests if not (u.startswith(base + "/") or u.startswith("blob:") or u.startswith("data:"))]
    assert not outside, f"the page loaded from elsewhere: {outside[:5]}"
    assert any(re.search(r"/static/vendor/plotly-cartesian\.min\.js$", u) for u in requests)
