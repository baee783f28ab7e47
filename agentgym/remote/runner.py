"""Running the environment server with uvicorn: in the foreground, or on a background thread.

Both refuse to listen beyond loopback (``0.0.0.0``, a LAN address, a host name) without an
``api_key`` (:func:`agentgym.serve.guards.check_exposure`), and both serve with
:func:`~agentgym.remote.server.guarded_http_protocol`, which closes connections that never
complete a request head (uvicorn alone would hold them, and their file descriptors, for ever),
and :func:`~agentgym.remote.server.read_ahead_websocket_protocol`, uvicorn's WebSocket
protocol without its pause and resume of the socket around every message. uvicorn picks its
event loop as usual: uvloop when it is installed (``pip install uvloop``), asyncio's otherwise.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import uvicorn
from fastapi import FastAPI

from agentgym.remote.server import env_app, guarded_http_protocol, read_ahead_websocket_protocol
from agentgym.serve.gc_settings import steady_gc
from agentgym.serve.guards import BodyLimit, check_app_key, check_exposure, check_port, middleware_options
from agentgym.serve.runner import serving_in_thread

UVICORN_WS_MAX_SIZE = 16 * 1024 * 1024  # uvicorn's own limit on a WebSocket message (ws_max_size)


def websocket_size_limit(app: FastAPI) -> int:
    """uvicorn's ``ws_max_size`` for ``app``: its default (16 MiB), or the app's ``max_body_bytes``
    when larger, so that every WebSocket message the app accepts reaches it (uvicorn closes the
    connection, code 1009, on a message over its limit; the app answers 413 up to it)."""
    limits = [limit for limit in middleware_options(app, BodyLimit, "max_bytes") if limit is not None]
    return max([UVICORN_WS_MAX_SIZE, *limits])


def serve_env(*, host: str = "127.0.0.1", port: int = 8000, api_key: str | None = None, log_level: str = "info",
              how_to_give_a_key: str = "api_key=...", tune_gc: bool = True, **app_options: Any) -> None:
    """Serve every registered environment until interrupted (``app_options`` go to
    :func:`~agentgym.remote.server.env_app`). Raises ``ValueError`` for a ``host`` beyond
    loopback without an ``api_key``. The process is the server's: with ``tune_gc`` (the
    default) its garbage collector is set for a steady tail latency once the app is built
    (:func:`~agentgym.serve.gc_settings.steady_gc`)."""
    check_exposure(host, api_key, how_to_give_a_key=how_to_give_a_key)
    port = check_port(port)
    app = env_app(api_key=api_key, **app_options)
    if tune_gc:
        steady_gc()
    uvicorn.run(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=10,
                http=guarded_http_protocol(), ws=read_ahead_websocket_protocol(), ws_max_size=websocket_size_limit(app))


@contextmanager
def running_env_server(*, host: str = "127.0.0.1", port: int = 0, api_key: str | None = None,
                       startup_timeout: float = 30.0, app: FastAPI | None = None, **app_options: Any) -> Iterator[str]:
    """Serve on a background thread; yields the server's root URL (``http://host:port``).

    ``port=0`` picks a free port. ``app`` serves a ready :func:`env_app` (its own key, if any;
    beyond loopback ``api_key`` must be given, and an ``api_key`` given must be the app's own:
    ``ValueError`` otherwise) instead of building one from ``app_options``. On exit the server
    shuts down gracefully (every environment closed) and its thread is joined.
    """
    check_exposure(host, api_key)
    if app is None:
        app = env_app(api_key=api_key, **app_options)
    elif app_options:
        raise ValueError(f"give either a ready app or app options, not both: {sorted(app_options)}")
    else:
        check_app_key(app, api_key)
    with serving_in_thread(app, host=host, port=port, name="environment server", startup_timeout=startup_timeout,
                           timeout_graceful_shutdown=5, http=guarded_http_protocol(),
                           ws=read_ahead_websocket_protocol(), ws_max_size=websocket_size_limit(app)) as root:
        yield root
