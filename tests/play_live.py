"""A live ``relulab play`` server on 127.0.0.1 (uvicorn in a thread, any free port) for the browser and load
tests, and the rule for their optional dependencies: skipped locally when absent, a failure under CI=true."""
import contextlib
import os
import threading
import time

import pytest

CHROMIUM = "/usr/bin/chromium"


def require(what, available):
    if not available:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{what} is required under CI=true (.ci/run installs it)")
        pytest.skip(f"{what} is not installed")


def require_server(module_level=False):
    """The play extra (Starlette, uvicorn) and httpx: skip without them locally, fail under CI=true."""
    try:
        import uvicorn  # noqa: F401
        import httpx  # noqa: F401
        import starlette  # noqa: F401
    except ImportError as e:
        what = f"the play extra's {e.name} (pip install -e '.[test]')"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{what} is required under CI=true", pytrace=False)
        pytest.skip(f"{what} is not installed", allow_module_level=module_level)


@contextlib.contextmanager
def live_server(limits):
    """Yields (base URL, app) of a server bound to 127.0.0.1 only; stops it and every session afterwards."""
    import uvicorn
    from relulab.play.server import LOOPBACK_NAMES, bind, create_app
    sock = bind("127.0.0.1", 0)
    app = create_app(limits, trusted_hosts=LOOPBACK_NAMES)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the play server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", app
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()
