"""Running the policy server with uvicorn: in the foreground, or on a background thread.

Both refuse to listen beyond loopback (``0.0.0.0``, a LAN address, a host name) without an
``api_key``: anyone who can reach the port could otherwise use the model.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

import uvicorn
from fastapi import FastAPI

from agentgym.policies.base import Policy
from agentgym.serve.app import create_app
from agentgym.serve.guards import check_app_key, check_exposure, check_port


def serve(policy: Policy, *, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info",
          api_key: str | None = None, **app_options: Any) -> None:
    """Serve ``policy`` until interrupted (``app_options`` go to :func:`create_app`).

    Raises ``ValueError`` for a ``host`` beyond loopback without an ``api_key``.
    """
    check_exposure(host, api_key)
    port = check_port(port)
    uvicorn.run(create_app(policy, api_key=api_key, **app_options), host=host, port=port, log_level=log_level)


@contextmanager
def running_server(app_or_policy: FastAPI | Policy, *, host: str = "127.0.0.1", port: int = 0,
                   startup_timeout: float = 30.0, api_key: str | None = None, **app_options: Any) -> Iterator[str]:
    """Serve on a background thread; yields the API root (``http://host:port/v1``).

    ``port=0`` picks a free port. The server stops, and its thread is joined, on exit. A ready
    app is served as it is (its own ``api_key``, if any; ``app_options`` beside it are a
    ``ValueError``). Beyond loopback an ``api_key`` is needed here (``ValueError`` otherwise):
    a policy's server is made with it, and a ready app must check that very key (``ValueError``
    for an app made with another key or none, which would be served without it).
    """
    check_exposure(host, api_key)
    if isinstance(app_or_policy, FastAPI):
        if app_options:
            raise ValueError(f"give either a ready app or app options, not both: {sorted(app_options)}")
        check_app_key(app_or_policy, api_key)
        app = app_or_policy
    else:
        app = create_app(app_or_policy, api_key=api_key, **app_options)
    with serving_in_thread(app, host=host, port=port, name="policy server",
                           startup_timeout=startup_timeout) as root:
        yield f"{root}/v1"


@contextmanager
def serving_in_thread(app: FastAPI, *, host: str, port: int, name: str, startup_timeout: float = 30.0,
                      **uvicorn_options: Any) -> Iterator[str]:
    """Run ``app`` with uvicorn on a daemon thread; yields ``http://host:bound_port`` once it
    listens (``RuntimeError`` naming the ``name``d server if it does not within
    ``startup_timeout``; the operating system's reason, such as the port being taken, when it
    gave one). On exit uvicorn shuts down gracefully and the thread is joined. The
    policy server and the environment server both run in tests and examples this way.
    ``ValueError`` for a ``port`` no server can listen on."""
    port = check_port(port)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on",
                                           **uvicorn_options))
    ended: list[BaseException] = []

    def run() -> None:
        try:
            server.run()
        except SystemExit as exc:  # what uvicorn does when it cannot listen
            ended.append(exc)
        except BaseException as exc:  # a crash: kept for the message, reported by threading as before
            ended.append(exc)
            raise

    thread = threading.Thread(target=run, name=f"agentgym-{name.replace(' ', '-')}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(timeout=startup_timeout)
            raise RuntimeError(f"the {name} did not start on {host}:{port}{_why_not_started(ended)}")
        time.sleep(0.01)
    bound_port = server.servers[0].sockets[0].getsockname()[1]
    authority = f"[{host}]" if ":" in host and not host.startswith("[") else host  # an IPv6 address: bracketed
    try:
        yield f"http://{authority}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=startup_timeout)


def _why_not_started(ended: list[BaseException]) -> str:
    """``": <the OSError>"`` when the server's thread ended on one (the port taken, an address
    this machine does not have: uvicorn logs it and exits), else nothing."""
    error = ended[0] if ended else None
    while error is not None and not isinstance(error, OSError):
        error = error.__cause__ or error.__context__
    return f": {error}" if error is not None else ""
