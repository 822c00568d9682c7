"""A bounded load test on loopback: 20 concurrent sessions on one `relulab play` server, each training while a
client polls it as its page would; the update rate, the poll latency and the memory are measured and printed.

Bounded: 20 sessions (the server's limit), 4 s of training, 127.0.0.1 only.  What must hold, fixed before any
measurement: every session trains (no starvation: at least 2 updates/s each), none exceeds its update rate, a
21st session is refused, every worker stays under its memory limit, and closing the sessions ends the workers.
"""
import concurrent.futures
import os
import statistics
import threading
import time

from play_live import live_server, require_server

from relulab.play.settings import Limits

SESSIONS = 20
SECONDS = 3.0
POLL = 0.2                 # a page polls its state 5 times a second while training
SPEED = 50                 # each session asks for 50 updates/s
MIN_RATE = 2.0             # updates/s every session must reach
LIMITS = Limits(max_sessions=SESSIONS, max_steps_per_second=SPEED, memory_mb=256)
SETTINGS = {"data": "spirals", "points": 400, "layers": 2, "width": 8, "lr": 0.1, "speed": SPEED}


def _session(base, index, ready):
    """One page: open a session, wait for the others (``ready``), train for ``SECONDS`` while polling, pause."""
    import httpx
    with httpx.Client(base_url=base, timeout=30) as http:
        created = http.post("/api/sessions", json={"settings": {**SETTINGS, "seed": index}})
        assert created.status_code == 201, created.text
        sid = created.json()["id"]
        while "status" not in http.get(f"/api/sessions/{sid}/state").json():
            time.sleep(0.05)
        ready.wait()  # all 20 train at the same time
        http.post(f"/api/sessions/{sid}/control", json={"action": "start"})
        latencies, first = [], None
        end = time.monotonic() + SECONDS
        while time.monotonic() < end:
            asked = time.monotonic()
            state = http.get(f"/api/sessions/{sid}/state").json()
            latencies.append(time.monotonic() - asked)
            if first is None:
                first = (asked, state["status"]["step"])
            last = (asked, state["status"]["step"])
            time.sleep(POLL)
        http.post(f"/api/sessions/{sid}/control", json={"action": "pause"})
        return sid, (last[1] - first[1]) / (last[0] - first[0]), latencies


def test_twenty_sessions_share_the_server(tmp_path):
    require_server()
    import httpx
    begun = time.monotonic()
    with live_server(LIMITS) as (base, app):
        serving = time.monotonic()
        ready = threading.Barrier(SESSIONS + 1)
        with concurrent.futures.ThreadPoolExecutor(SESSIONS) as pool:
            futures = [pool.submit(_session, base, i, ready) for i in range(SESSIONS)]
            ready.wait(timeout=120)
            opened = time.monotonic()
            results = [f.result() for f in futures]
        with httpx.Client(base_url=base, timeout=30) as http:
            refused = http.post("/api/sessions", json={"settings": SETTINGS})
            stats = http.get("/api/stats").json()
            with concurrent.futures.ThreadPoolExecutor(SESSIONS) as pool:  # as 20 pages closing
                list(pool.map(lambda r: httpx.post(f"{base}/api/sessions/{r[0]}/close", timeout=30), results))
            after = http.get("/api/stats").json()
        closed = time.monotonic()

    rates = [rate for _, rate, _ in results]
    latencies = sorted(t for _, _, ts in results for t in ts)
    workers = stats["workers"]
    rss = [w["rss"] / 1024 for w in workers]
    pss = [w.get("pss", w["rss"]) / 1024 for w in workers]
    server_pss = stats["server"].get("pss", stats["server"]["rss"]) / 1024
    print(f"\nplay load test: {SESSIONS} sessions on 127.0.0.1 for {SECONDS:g} s, each asking {SPEED} updates/s, "
          f"polled every {POLL:g} s")
    print(f"  updates/s per session: min {min(rates):.1f}, median {statistics.median(rates):.1f}, "
          f"max {max(rates):.1f}; all sessions together {sum(rates):.0f}")
    print(f"  state poll latency: median {1000 * statistics.median(latencies):.0f} ms, "
          f"p95 {1000 * latencies[int(0.95 * (len(latencies) - 1))]:.0f} ms, max {1000 * latencies[-1]:.0f} ms "
          f"({len(latencies)} polls)")
    print(f"  memory: worker RSS median {statistics.median(rss):.0f} MB (max {max(rss):.0f}); proportional "
          f"(PSS) total {sum(pss) + server_pss:.0f} MB for {len(workers)} workers and the server "
          f"({server_pss:.0f} MB)")

    print(f"  (server start {serving - begun:.1f} s; 20 sessions opened in {opened - serving:.1f} s; trained, "
          f"polled and closed in {closed - opened:.1f} s)")
    assert refused.status_code == 503
    assert stats["sessions"] == SESSIONS and len(workers) == SESSIONS and all(w["alive"] for w in workers)
    assert min(rates) >= MIN_RATE, rates
    assert max(rates) <= SPEED * 1.1, rates
    assert max(rss) < LIMITS.memory_mb + 200  # the limit bounds what a worker adds to its ~50 MB at start
    assert after["sessions"] == 0 and after["workers"] == []
    assert not any(os.path.exists(f"/proc/{w['pid']}") for w in workers)  # closing ended every worker
