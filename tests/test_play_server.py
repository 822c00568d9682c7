"""relulab play's server through Starlette's TestClient: sessions with their own worker processes, limits,
validated input only, local assets, and the same numbers as the engine in this process."""
import re
import time
import warnings

import numpy as np
import pytest

from play_live import require_server  # noqa: E402

require_server(module_level=True)
with warnings.catch_warnings():  # Starlette 1.x prefers httpx2 but still drives httpx, which 0.27+ needs
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient  # noqa: E402

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import relulab  # noqa: E402
from relulab.analysis import VERDICTS  # noqa: E402
from relulab.play import datasets  # noqa: E402
from relulab.play.engine import Playground  # noqa: E402
from relulab.play.server import create_app  # noqa: E402
from relulab.play.settings import Limits, validate  # noqa: E402
from relulab.train import resolve  # noqa: E402

LIMITS = Limits(max_sessions=3, idle_timeout=60, doctor_updates=10)
SMALL = {"data": "spirals", "points": 120, "layers": 1, "width": 4, "lr": 0.1}


@pytest.fixture(scope="module")
def client():
    app = create_app(LIMITS, trusted_hosts=("127.0.0.1", "localhost"))
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


def _open(client, settings=SMALL):
    answer = client.post("/api/sessions", json={"settings": settings})
    assert answer.status_code == 201, answer.text
    sid = answer.json()["id"]
    _wait(client, sid, lambda s: "status" in s)
    return sid


def _state(client, sid):
    answer = client.get(f"/api/sessions/{sid}/state")
    assert answer.status_code == 200, answer.text
    return answer.json()


def _wait(client, sid, condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        state = _state(client, sid)
        if condition(state):
            return state
        assert time.monotonic() < deadline, f"timed out; last state: {str(state)[:400]}"
        time.sleep(0.05)


def _session(client, sid):
    return client.app.state.sessions.get(sid)


def test_page_and_every_asset_are_served_from_here(client):
    page = client.get("/")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(a.startswith("/static/") for a in assets), assets
    for asset in assets:
        answer = client.get(asset)
        assert answer.status_code == 200, asset
        assert "http://" not in answer.text.replace("http://www.w3.org/2000/svg", "") or "plotly" in asset
        assert "https://" not in answer.text or "plotly" in asset
    assert "window.Plotly" in client.get("/static/vendor/plotly-cartesian.min.js").text
    assert "MIT License" in client.get("/static/vendor/LICENSE-plotly.txt").text


def test_only_loopback_host_names_are_answered(client):
    assert client.get("/", headers={"host": "evil.example"}).status_code == 400
    assert client.get("/api/limits", headers={"host": "localhost:8765"}).status_code == 200


def test_a_session_trains_in_its_own_worker_and_closing_frees_it(client):
    sid = _open(client)
    process = _session(client, sid).process
    assert process.is_alive() and process.pid != __import__("os").getpid()
    assert client.post(f"/api/sessions/{sid}/control", json={"action": "step", "steps": 5}).json()["step"] == 5
    assert _wait(client, sid, lambda s: s["status"]["step"] == 5)["running"] is False
    client.post(f"/api/sessions/{sid}/control", json={"action": "start"})
    state = _wait(client, sid, lambda s: s["status"]["step"] >= 40)
    assert state["running"] and len(state["curve"]["step"]) >= 2
    client.post(f"/api/sessions/{sid}/control", json={"action": "pause"})
    paused = _wait(client, sid, lambda s: not s["running"])["status"]["step"]
    time.sleep(0.3)
    assert _state(client, sid)["status"]["step"] == paused
    client.post(f"/api/sessions/{sid}/control", json={"action": "reset"})
    reset = _wait(client, sid, lambda s: s["status"]["step"] == 0)
    assert reset["curve"]["train"] == state["curve"]["train"][:1]  # the same seeded start
    data = client.get(f"/api/sessions/{sid}/data").json()
    assert len(data["train"]["x"]) == state["status"]["train_rows"]
    assert client.delete(f"/api/sessions/{sid}").json() == {"closed": True}
    process.join(5)
    assert not process.is_alive()
    assert client.get(f"/api/sessions/{sid}/state").status_code == 404
    assert client.post(f"/api/sessions/{sid}/close").json() == {"closed": False}


def test_the_workers_numbers_are_the_engines(client):
    """A worker's run is deterministic: its Hessian after 30 updates is the in-process engine's, bit for bit."""
    sid = _open(client)
    client.post(f"/api/sessions/{sid}/control", json={"action": "step", "steps": 30})
    assert client.post(f"/api/sessions/{sid}/tools/hessian").json() == {"started": "hessian"}
    shown = _wait(client, sid, lambda s: s["hessian"] is not None and s["busy"] is None)["hessian"]
    here = Playground(validate(SMALL, LIMITS), LIMITS)
    here.step(30)
    expected = here.hessian()
    assert shown["eigenvalues"] == expected["eigenvalues"] and shown["kind"] == expected["kind"]
    assert shown["minimum_ratio"] == expected["minimum_ratio"] and shown["step"] == 30
    client.post(f"/api/sessions/{sid}/close")


def test_tools_run_in_the_worker_and_the_page_never_waits(client):
    sid = _open(client, {**SMALL, "data": "gaussians"})
    client.post(f"/api/sessions/{sid}/control", json={"action": "step", "steps": 10})
    started = time.monotonic()
    assert client.post(f"/api/sessions/{sid}/tools/doctor").json() == {"started": "doctor"}
    busy = client.post(f"/api/sessions/{sid}/control", json={"action": "start"})
    assert time.monotonic() - started < 2.0  # answered at once, whether or not the doctor has finished
    if busy.status_code == 409:
        assert "doctor" in busy.json()["error"]
    state = _wait(client, sid, lambda s: s["doctor"] is not None and s["busy"] is None)
    assert state["doctor"]["verdict"] in VERDICTS and "relulab diagnose" in state["doctor"]["report"]
    client.post(f"/api/sessions/{sid}/tools/origin")
    client.post(f"/api/sessions/{sid}/tools/hessian")
    assert _wait(client, sid, lambda s: s["hessian"] is not None and not s["busy"])["hessian"]["kind"] == "saddle"
    client.post(f"/api/sessions/{sid}/tools/escape")
    escaped = _wait(client, sid, lambda s: s["escape"] is not None and not s["busy"])["escape"]
    assert escaped["lowered"] and escaped["loss_after"] < escaped["start_loss"]
    client.post(f"/api/sessions/{sid}/close")


@pytest.mark.parametrize("body, words", [
    ({"settings": {"lrr": 0.1}}, ["unknown setting 'lrr'", "did you mean 'lr'"]),
    ({"settings": {"width": 1000}}, ["'width'"]),
    ({"settings": {"layers": 6, "width": 32}}, ["parameters", "at most 5,000"]),
    ({"settings": {"data": "sin"}}, ["cross_entropy"]),
    ({"settings": "lr=0.1"}, ["object"]),
])
def test_bad_settings_are_refused_before_any_worker_starts(client, body, words):
    before = len(client.app.state.sessions)
    answer = client.post("/api/sessions", json=body)
    assert answer.status_code == 400
    for word in words:
        assert word in answer.json()["error"]
    assert len(client.app.state.sessions) == before


def test_bad_requests_to_a_session(client):
    sid = _open(client)
    url = f"/api/sessions/{sid}"
    cases = [
        (client.post(url + "/control", json={"action": "exec"}), "'action'"),
        (client.post(url + "/control", json={"action": "step", "steps": 10 ** 6}), "'steps'"),
        (client.post(url + "/tools/__import__"), "no tool"),
        (client.post(url + "/view", json={"layer": "1"}), "'layer'"),
        (client.post(url + "/settings", json={"settings": {"optimizer": "lbfgs"}}), "'optimizer'"),
        (client.post(url + "/settings", content=b"{not json", headers={"content-type": "application/json"}),
         "not JSON"),
        (client.post(url + "/settings", content=b"[1]", headers={"content-type": "application/json"}), "object"),
        (client.post(url + "/settings", content=b" " * 70_000, headers={"content-type": "application/json"}),
         "at most"),
    ]
    for answer, word in cases:
        assert answer.status_code == 400 and word in answer.json()["error"], answer.text
    assert client.get("/api/sessions/not-a-session/state").status_code == 404
    assert _state(client, sid)["error"] is None  # the worker saw none of it
    client.post(url + "/close")


def test_the_session_limit_is_enforced(client):
    open_ids = [_open(client) for _ in range(LIMITS.max_sessions)]
    answer = client.post("/api/sessions", json={"settings": SMALL})
    assert answer.status_code == 503 and "full" in answer.json()["error"]
    client.post(f"/api/sessions/{open_ids.pop()}/close")
    open_ids.append(_open(client))  # a closed session's place is free again
    stats = client.get("/api/stats").json()
    assert stats["sessions"] == LIMITS.max_sessions and all(w["alive"] for w in stats["workers"])
    assert not any(sid in str(stats) for sid in open_ids)  # ids are capabilities: never listed
    for sid in open_ids:
        client.post(f"/api/sessions/{sid}/close")
    assert client.get("/api/stats").json()["sessions"] == 0


def test_workers_are_bounded_in_memory_and_priority(client):
    sid = _open(client)
    pid = _session(client, sid).process.pid
    limits = open(f"/proc/{pid}/limits").read()
    address_space = re.search(r"Max address space\s+(\S+)", limits).group(1)
    assert address_space.isdigit()
    with open(f"/proc/{pid}/statm") as handle:
        used = int(handle.read().split()[0]) * 4096
    assert int(address_space) - used <= LIMITS.memory_mb * 2 ** 20
    niceness = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[16])
    assert niceness >= 5
    client.post(f"/api/sessions/{sid}/close")


def test_idle_sessions_are_closed():
    app = create_app(Limits(idle_timeout=0.5))
    with TestClient(app) as client:
        sid = _open(client)
        process = _session(client, sid).process
        time.sleep(0.7)
        assert app.state.sessions.reap() == [sid]
        assert not process.is_alive()
        assert client.get(f"/api/sessions/{sid}/state").status_code == 404


def test_exports_over_http(client, tmp_path):
    sid = _open(client)
    client.post(f"/api/sessions/{sid}/control", json={"action": "step", "steps": 12})
    toml = client.get(f"/api/sessions/{sid}/play-spirals.toml")
    assert toml.status_code == 200 and 'filename="play-spirals.toml"' in toml.headers["content-disposition"]
    config = resolve(tomllib.loads(toml.text))
    assert config["epochs"] == 4  # 84 training rows, 3 updates per epoch: 12 updates are 4 epochs
    query = "&".join(f"{k}={v}" for k, v in SMALL.items())
    assert client.get(f"/api/export/play-spirals.toml?{query}&steps=12").text == toml.text
    csv = client.get(f"/api/export/play-spirals.csv?{query}")
    assert csv.text == datasets.csv_text(validate(SMALL))
    assert client.get(f"/api/export/x.csv?{query}&lr=-1").status_code == 400
    weights = client.get(f"/api/sessions/{sid}/weights.safetensors")
    (tmp_path / "w.safetensors").write_bytes(weights.content)
    state = relulab.load(tmp_path / "w.safetensors")
    assert set(state) == {"0.weight", "0.bias", "2.weight", "2.bias"} and np.isfinite(state["0.weight"].numpy()).all()
    client.post(f"/api/sessions/{sid}/close")
