"""The playground's web server (Starlette on uvicorn): the page, its static assets, and a small JSON API.

Everything the page needs ships in ``static/`` (the page, its script and style, and Plotly's built bundle under
``static/vendor/``); the Content-Security-Policy lets the page load nothing from anywhere else.  Requests that
carry settings are validated (``settings.validate``) before a worker sees them; bodies are small JSON objects.
By default the server binds 127.0.0.1 and answers only to the loopback host names (no DNS rebinding).

API (all JSON unless noted):

- ``POST /api/sessions`` {settings} → {id, settings}; ``POST /api/sessions/{id}/close`` (what the page sends when
  it goes away) and ``DELETE /api/sessions/{id}``;
- ``POST /api/sessions/{id}/settings`` {settings} → {reset, changed};
- ``POST /api/sessions/{id}/control`` {action: start|pause|step|reset, steps};
- ``POST /api/sessions/{id}/tools/{hessian|escape|origin|doctor}`` (runs in the worker; the result appears in
  the state);
- ``POST /api/sessions/{id}/view`` {layer}: which hidden layer's units the state carries;
- ``GET /api/sessions/{id}/state``, ``…/data``, ``…/export.toml``, ``…/weights.safetensors``;
- ``GET /api/export/{name}.toml?settings…&steps=N`` and ``…/{name}.csv?settings…``: the same from a URL alone;
- ``GET /api/limits``, ``GET /api/stats`` (sessions and their workers' memory; no session ids).
"""
import asyncio
import contextlib
import json
import socket
import sys
import threading
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from . import datasets, export
from .sessions import SessionError, Sessions
from .settings import (ACTIVATIONS, DATASETS, LOSSES, OPTIMIZERS, SCHEDULES, Limits, SettingsError, defaults,
                       validate)

STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY = 64 * 1024
REAP_SECONDS = 5.0
LOOPBACK_NAMES = ("127.0.0.1", "localhost")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; "
                               "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
TOOLS = ("hessian", "escape", "origin", "doctor")
ACTIONS = ("start", "pause", "step", "reset")


def _error(message, status):
    return JSONResponse({"error": message}, status_code=status)


def _json(content, status=200):
    if isinstance(content, str):
        return Response(content, status_code=status, media_type="application/json")
    if isinstance(content, dict) and "error" in content:
        return _error(content["error"], 409 if content.get("busy") else 400)
    return JSONResponse(content, status_code=status)


async def _body(request):
    """The request's JSON object, at most ``MAX_BODY`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise SettingsError(f"the request body must be at most {MAX_BODY} bytes")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise SettingsError(f"the request body must be at most {MAX_BODY} bytes")
    if not raw:
        return {}
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise SettingsError("the request body is not JSON") from None
    if not isinstance(body, dict):
        raise SettingsError("the request body must be a JSON object")
    return body


def _handled(endpoint):
    """Bad input → 400 with its message; session problems → their status; never a traceback to the page."""
    async def wrapper(request):
        try:
            return await endpoint(request)
        except SettingsError as e:
            return _error(str(e), 400)
        except SessionError as e:
            return _error(str(e), e.status)
    return wrapper


def create_app(limits=Limits(), trusted_hosts=None, on_ready=None):
    """The ASGI app.  ``trusted_hosts``: the Host names to answer (None: any).  ``on_ready()``: called once the
    fork server is warm (``serve`` prints the URL then)."""
    sessions = Sessions(limits)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await run_in_threadpool(sessions.warm_up)
        reaper = asyncio.create_task(_reap(sessions))
        if on_ready is not None:
            on_ready()
        try:
            yield
        finally:
            reaper.cancel()
            await run_in_threadpool(sessions.close_all)

    async def index(request):
        return FileResponse(STATIC / "index.html")

    async def limits_view(request):
        return _json({"limits": limits.as_dict(), "defaults": defaults(limits),
                      "choices": {"data": DATASETS, "activation": ACTIVATIONS, "loss": LOSSES,
                                  "optimizer": OPTIMIZERS, "schedule": SCHEDULES}})

    async def create(request):
        body = await _body(request)
        settings = validate(body.get("settings", {}), limits)
        session = await run_in_threadpool(sessions.create, settings)
        return _json({"id": session.id, "settings": settings}, status=201)

    def session_of(request):
        return sessions.get(request.path_params["sid"])

    async def call(request, name, *args):
        session = session_of(request)
        return await run_in_threadpool(session.call, name, *args)

    async def configure(request):
        body = await _body(request)
        settings = validate(body.get("settings", {}), limits)
        return _json(await call(request, "configure", settings))

    async def control(request):
        body = await _body(request)
        action = body.get("action")
        if action not in ACTIONS:
            raise SettingsError(f"'action' must be one of {', '.join(ACTIONS)}, got {action!r}")
        steps = body.get("steps", 1)
        if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= limits.max_steps_per_second:
            raise SettingsError(f"'steps' must be a whole number from 1 to {limits.max_steps_per_second} "
                                f"(the server's steps per second), got {steps!r}")
        return _json(await call(request, "control", action, steps))

    async def tool(request):
        name = request.path_params["tool"]
        if name not in TOOLS:
            raise SettingsError(f"no tool {name!r}; the tools are {', '.join(TOOLS)}")
        return _json(await call(request, name))

    async def view(request):
        body = await _body(request)
        layer = body.get("layer")
        if isinstance(layer, bool) or not isinstance(layer, int) or not 1 <= layer <= limits.max_layers:
            raise SettingsError(f"'layer' must be a whole number from 1 to {limits.max_layers}, got {layer!r}")
        return _json(await call(request, "view", layer))

    async def state(request):
        return _json(await call(request, "state"))

    async def data(request):
        return _json(await call(request, "data"))

    async def weights(request):
        payload = await call(request, "weights")
        if isinstance(payload, dict):
            return _json(payload)
        return Response(payload, media_type="application/octet-stream",
                        headers={"Content-Disposition": 'attachment; filename="play-weights.safetensors"'})

    async def session_export(request):
        payload = await call(request, "export")
        if "error" in payload:
            return _json(payload)
        return _attachment(payload["toml"], request.path_params["name"] + ".toml", "application/toml")

    async def close(request):
        closed = await run_in_threadpool(sessions.close, request.path_params["sid"])
        return _json({"closed": closed})

    async def stateless_export(request):
        query = dict(request.query_params)
        steps = query.pop("steps", "0")
        if not steps.isdigit():
            raise SettingsError(f"'steps' must be a whole number of updates, got {steps!r}")
        settings = validate(query, limits)
        text = await run_in_threadpool(export.toml_text, settings, int(steps))
        return _attachment(text, request.path_params["name"] + ".toml", "application/toml")

    async def stateless_csv(request):
        settings = validate(dict(request.query_params), limits)
        if settings["data"] == "views":
            raise SettingsError("the views series needs no CSV: its config loads it with data.kind = 'views'")
        return _attachment(datasets.csv_text(settings), request.path_params["name"] + ".csv", "text/csv")

    async def stats(request):
        return _json(await run_in_threadpool(sessions.stats))

    sid = "/api/sessions/{sid:str}"
    routes = [
        Route("/", index),
        Route("/api/limits", _handled(limits_view)),
        Route("/api/stats", _handled(stats)),
        Route("/api/sessions", _handled(create), methods=["POST"]),
        Route(sid, _handled(close), methods=["DELETE"]),
        Route(sid + "/close", _handled(close), methods=["POST"]),
        Route(sid + "/settings", _handled(configure), methods=["POST"]),
        Route(sid + "/control", _handled(control), methods=["POST"]),
        Route(sid + "/tools/{tool:str}", _handled(tool), methods=["POST"]),
        Route(sid + "/view", _handled(view), methods=["POST"]),
        Route(sid + "/state", _handled(state)),
        Route(sid + "/data", _handled(data)),
        Route(sid + "/weights.safetensors", _handled(weights)),
        Route(sid + "/{name:str}.toml", _handled(session_export)),
        Route("/api/export/{name:str}.toml", _handled(stateless_export)),
        Route("/api/export/{name:str}.csv", _handled(stateless_csv)),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [Middleware(_SecurityHeaders)]
    if trusted_hosts is not None:
        middleware.insert(0, Middleware(TrustedHostMiddleware, allowed_hosts=list(trusted_hosts)))
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.sessions = sessions
    return app


def _attachment(text, filename, media_type):
    safe = "".join(c for c in filename if c.isalnum() or c in "-_.") or "play"
    return Response(text, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{safe}"'})


class _SecurityHeaders:
    """The security headers on every response, the static files' included; API answers are never cached."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        extra = dict(SECURITY_HEADERS)
        if scope["path"].startswith("/api/"):
            extra["Cache-Control"] = "no-store"
        added = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()]

        async def sending(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": list(message.get("headers", [])) + added}
            await send(message)
        return await self.app(scope, receive, sending)


async def _reap(sessions):
    while True:
        await asyncio.sleep(REAP_SECONDS)
        await run_in_threadpool(sessions.reap)


def is_loopback(host):
    return host in LOOPBACK_NAMES or host.startswith("127.") or host == "::1"


def bind(host, port):
    """A listening socket (port 0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


def serve(host="127.0.0.1", port=8765, open_browser=False, limits=Limits(), announce=print):
    """Run the playground until Ctrl-C.  Prints the URL once the server is ready."""
    import uvicorn
    sock = bind(host, port)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{sock.getsockname()[1]}/"

    def ready():
        announce(f"relulab play: {url}  (Ctrl-C to stop; {limits.max_sessions} sessions at most)")
        if not is_loopback(host):
            announce(f"relulab play: listening on {host}: anyone who can reach this address can use the playground")
        if open_browser:
            import webbrowser
            threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
        sys.stdout.flush()

    trusted = (*LOOPBACK_NAMES, host) if is_loopback(host) else None
    app = create_app(limits, trusted_hosts=trusted, on_ready=ready)
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])
    return 0
