"""``relulab play``: a browser playground on the real engine, with lecture 2's tools one click away.

- ``settings``: what a page may ask for (checked values only) and the server's ``Limits``;
- ``datasets``: circles, xor, spirals, Gaussians, the red curve, sin(x), the views series;
- ``export``: the settings as the ``relulab train`` config the session trains from (TOML, with the data CSV);
- ``engine``: one session's run, update by update, and the tools (Hessian, escape, θ = 0, doctor, L(b, w));
- ``worker``: the process a session runs in (bounded memory, priority and update rate);
- ``sessions``: the server's sessions, one worker each; ``server``: the Starlette app and ``serve``.

``static/`` holds the page; ``static/vendor/`` Plotly's built cartesian bundle (MIT, see its LICENSE file).
"""
from .settings import Limits, SettingsError, validate


def serve(*args, **kwargs):
    """Run the playground's server (see ``server.serve``); needs the ``play`` extra (Starlette, uvicorn)."""
    from .server import serve as run
    return run(*args, **kwargs)


__all__ = ["Limits", "SettingsError", "serve", "validate"]
