"""The environment server: any registered environment, served over HTTP to many clients.

:func:`env_app` builds the FastAPI app. Each client opens a *session* (one environment
instance) and steps it::

    POST   /v1/sessions                 {"env_id", "kwargs"?, "max_turns"?, "wrappers"?, "outer_wrappers"?,
                                         "render_mode"?} -> 201 SessionInfo
    POST   /v1/sessions/{id}/reset      {"seed"?, "options"?}     -> {"observation", "info"}
    POST   /v1/sessions/{id}/step       {"action"}                -> {"observation", "reward",
                                                                      "terminated", "truncated", "info"}
    GET    /v1/sessions/{id}/spec       -> SessionInfo
    GET    /v1/sessions/{id}/render     -> {"render_mode", "frame"}  (RenderResponse)
    POST   /v1/sessions/{id}/random_action {"seed"}              -> {"action"}
    DELETE /v1/sessions/{id}            -> 200 {"closed": id}
    GET    /health                      -> {"status": "ok", "sessions": n}
    GET    /metrics                     -> sessions, steps, errors, step latency percentiles
    WS     /v1/ws                       one session per connection (below)

Bodies are described in :mod:`agentgym.remote.schemas`. Errors use the policy server's body,
``{"error": {"message", "type", "param", "code"}}``:

- 400: an argument the environment refuses (an unknown constructor argument, a negative seed,
  a ``render_mode`` it does not declare in ``metadata["render_modes"]``, or ``"human"``, which
  would draw on the server's own screen);
- 401: no or a wrong bearer token (when the server has a key);
- 404: an unknown ``env_id`` or session id (a session closed, or reaped for idleness);
- 409: ``step`` before ``reset`` or after the episode ended;
- 413: a body over ``max_body_bytes``; 422: a body that is not JSON (invalid UTF-8 included,
  or nested too deeply to parse) or not the schema;
- 503 with ``Retry-After``: ``max_sessions`` sessions are open — the create is refused at
  once, never queued;
- 500: only when an environment itself raises (a bug in it: environments turn bad actions
  into error observations); 501: ``random_action`` of an environment that has none.

Limits and hygiene: a session unused for ``idle_timeout`` seconds is closed by a reaper task,
and one whose HTTP client hung up before the create was answered is closed at once;
calls on one session are serialised (a ``close`` during a ``step`` waits for it); environments
run on the server's own thread pool, never on the event loop — except the ``reset`` and
``step`` of environments opted in as cheap (below); on shutdown every environment is closed
and the pool joined.

Inline steps (opt-in): handing a call to a worker thread and back costs more than a cheap
environment's whole step (a game's move is tens of microseconds). The ``reset`` and ``step`` of
a session run on the event loop itself when its environment is opted in, by the operator
(``env_app(inline_envs=["games/*"])``: ids or ``fnmatch`` patterns) or by its class
(``cheap_steps = True`` on the environment's class: it declares that its ``reset`` and
``step`` are quick, pure computation that never blocks), and the session was created without
client-requested wrappers, and its environment has no async hooks. Everything else (creating,
closing, rendering, random actions, every other environment) stays on the threads. The guard:
every inline call is timed, and an environment id with 3 of its last 50 inline calls over
``inline_budget`` seconds (default 10 ms) is demoted, for every session, to the threads
(``/metrics``: ``inline``). That catches an environment that is merely slow after a few
stalls; it cannot rescue one that blocks for good (its first call holds the loop) — so only
environments that never wait on anything may be opted in. Errors are handled as on the
threads (an environment that raises gets a 500 answer; the connection lives on).

WebSocket (``/v1/ws``): one connection holds at most one session. Every message is a JSON
object with a ``type`` and, for requests, an ``id`` the answer repeats:

- requests: ``{"type": "create", "env_id", "kwargs"?, "max_turns"?, "render_mode"?,
  "resumable"?}``, ``{"type": "resume", "session_id", "resume_token"}``, ``{"type": "reset",
  "seed"?, "options"?}``, ``{"type": "step", "action"}``, ``{"type": "spec"}``, ``{"type":
  "render"}``, ``{"type": "random_action", "seed"}``, ``{"type": "close"}``;
- answers: ``{"type": "result", "id", "result": <the HTTP endpoint's body>}`` or ``{"type":
  "error", "id", "error": {"code": <the HTTP status>, "message", "type"}}`` (409 for a second
  create or resume on one connection, 404 for a resume of an unknown session or with a wrong
  token);
- heartbeats: the server sends ``{"type": "ping"}`` every ``heartbeat_interval`` seconds; any
  message from the client (``{"type": "pong"}`` is the answer to a ping) proves it alive. A
  client silent for ``heartbeat_interval + heartbeat_timeout`` seconds while no call of its own
  is running (a half-open connection: the client vanished without closing) is disconnected
  at once (its TCP connection closed, without a closing handshake it would never answer) and
  counted in ``/metrics`` (``websocket.heartbeat_timeouts``). A client may send ``{"type":
  "ping"}`` too; it is answered ``{"type": "pong"}``.

The session closes with its connection, unless it was created with ``"resumable": true``: its
answer then carries a ``resume_token``, and for ``resume_grace`` seconds after the connection
drops a new connection may take the session back with ``resume`` (counted as
``websocket.reconnects``); after that the reaper closes it (a session whose ``create`` answer
could not be sent, its client gone meanwhile, closes at once: no one holds its token). The token
proves ownership, so a resume also takes the session from a connection the server still believes
alive (the client saw it drop first, or it is half-open): that old connection holds nothing from
then on. A connected WebSocket session is never closed for idleness (its heartbeat says it is
alive) and is not reachable over HTTP (404). With ``api_key``, the handshake needs the same
``Authorization`` header (otherwise the socket is closed with code 1008 before it opens). A
handshake whose ``Origin`` names a web page not served from this machine is refused the same way
(403): browsers let any page the user visits open a WebSocket to 127.0.0.1, and this transport's
answers, unlike HTTP's, are readable there; clients that are not browsers send no ``Origin``. An
HTTP request from such a page gets 403 too (a page can post to 127.0.0.1 without reading the
answer: it could make sessions).

Rendering: a session created with a ``render_mode`` answers ``render`` with what its
environment's ``render()`` gives, encoded by :func:`~agentgym.remote.schemas.encode_frame`:
text for ``"ansi"``, ``{"$png": ...}`` for an ``"rgb_array"`` image (never a pickled object),
``null`` without a render mode, a list for the ``*_list`` modes. A ``render()`` that gives
anything else is the environment's bug (500, the connection and the session live on).

Connections that never make a request: heartbeats guard an open WebSocket, and uvicorn closes
an idle keep-alive connection, but uvicorn (0.55, h11) holds a connection that sends nothing,
or only part of a request's head (a WebSocket upgrade or an HTTP request cut short, then
silence), for as long as the peer keeps it open: one file descriptor each, never freed. Serve
the app with ``http=guarded_http_protocol()`` (a uvicorn ``Config`` option) to close such a
connection ``head_timeout`` seconds after it connected or last sent part of a head.

Random actions: ``random_action`` answers the environment's own ``random_action(rng)`` (a
random, usually legal move, what random baselines and ``agentgym.testing``'s random agent
play) drawn with ``random.Random(seed)``, after a ``reset`` (409 before); 501 when the
environment has none (it raised ``NotImplementedError``). The oracle's move is never served:
it would reveal the hidden answer.

Security: the app never executes code or reads files named by a client. ``env_id`` must be a
registered id (``module:Class`` entry points are refused); ``kwargs`` go to that environment's
constructor, which checks them, except the arguments it declares as reaching this machine
(``LLMEnv.host_arguments``: files and folders it reads, servers it asks, its sandbox's isolation
and limits) and ``agentgym.make``'s own ``server`` (a session this server would open on another
and relay to), which get 403 unless the app is made with ``allow_host_arguments=True``
(``serve-env --allow-host-arguments``): that operator trusts its clients. With ``api_key``
every request needs ``Authorization: Bearer <key>`` (:class:`~agentgym.serve.guards.BearerAuth`);
:func:`~agentgym.remote.runner.serve_env` refuses to listen beyond loopback without one.

Where the parts live: this module is the app: its arguments, error handlers, middleware and
HTTP routes; :mod:`agentgym.remote.session_service` what both transports do with sessions
(:class:`~agentgym.remote.session_service.SessionService`: the open sessions, create, reset,
step, render, close, the reaper); :mod:`agentgym.remote.ws_protocol` the WebSocket protocol
(:class:`~agentgym.remote.ws_protocol.WsProtocol`: handshake, message loop, heartbeats,
resumption); :mod:`agentgym.remote.sessions` a session, the ``/metrics`` counters and the
inline-step policy; :mod:`agentgym.remote.env_threads` the worker threads;
:mod:`agentgym.remote.ws_connection` a WebSocket connection at the ASGI level;
:mod:`agentgym.remote.uvicorn_protocols` the uvicorn protocol classes (importable from here too).
"""

from __future__ import annotations

import json
import logging
from typing import Any, Iterable, TypeVar

from fastapi import FastAPI
from fastapi import Request as HTTPRequest
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import WebSocketRoute

from agentgym.core import check_api_key
from agentgym.remote.schemas import CreateRequest, RandomActionRequest, ResetRequest, StepRequest, dumps
from agentgym.remote.session_service import ERROR_TYPES as _ERROR_TYPES
from agentgym.remote.session_service import SessionService, validate
from agentgym.remote.sessions import (  # all but ApiError re-exported
    LATENCY_WINDOW,
    ApiError,
    InlineSteps,
    Metrics,
    Session,
)
from agentgym.remote.uvicorn_protocols import (  # re-exported: the protocols the app is served with
    DEFAULT_HEAD_TIMEOUT,
    guarded_http_protocol,
    read_ahead_websocket_protocol,
)
from agentgym.remote.ws_connection import AsgiEndpoint
from agentgym.remote.ws_protocol import WsProtocol
from agentgym.serve.guards import BearerAuth, BodyLimit, CrashAnswer, OriginGuard, error_body

DEFAULT_MAX_SESSIONS = 256
DEFAULT_IDLE_TIMEOUT = 300.0
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_RESUME_GRACE = 30.0
DEFAULT_HEARTBEAT_INTERVAL = 10.0
DEFAULT_HEARTBEAT_TIMEOUT = 20.0
DEFAULT_INLINE_BUDGET = 0.01  # seconds an inline call may hold the event loop before its env is demoted
_Model = TypeVar("_Model", bound=BaseModel)
log = logging.getLogger("agentgym.remote.server")


def _answer(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(content), status_code=status, media_type="application/json", headers=headers)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(error_body(status, message, _ERROR_TYPES.get(status, "invalid_request_error")),
                    status_code=status, media_type="application/json", headers=headers)


async def _parse(request: HTTPRequest, model: type[_Model]) -> _Model:
    """An HTTP request's JSON body (``{}`` when empty) as ``model``; :class:`ApiError` 422 otherwise."""
    body = await request.body()
    try:
        data = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(422, f"the request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise ApiError(422, "the request body is JSON nested too deeply to parse") from None
    return validate(data, model)


def env_app(*, api_key: str | None = None, max_sessions: int = DEFAULT_MAX_SESSIONS,
            idle_timeout: float = DEFAULT_IDLE_TIMEOUT, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
            workers: int = 8, retry_after: int = 1, resume_grace: float = DEFAULT_RESUME_GRACE,
            heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL,
            heartbeat_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT, inline_envs: Iterable[str] = (),
            inline_budget: float = DEFAULT_INLINE_BUDGET, allow_host_arguments: bool = False) -> FastAPI:
    """A FastAPI app serving every registered environment (see the module docstring).

    Args:
        api_key: when set, every request needs ``Authorization: Bearer <api_key>`` (401 otherwise);
            a key no header can carry (a line break, a space at either end) is a ``ValueError``.
        max_sessions: the most sessions open at once; one more create gets 503 + ``Retry-After``.
        idle_timeout: seconds after its last call when a session is closed by the reaper
            (checked every ``min(idle_timeout / 4, resume_grace / 4, 1)`` seconds).
        max_body_bytes: the largest request body (or WebSocket message) accepted (413 otherwise;
            default 1 MiB). The runners (``serve_env``, ``running_env_server``, the launcher) raise
            uvicorn's own WebSocket limit (16 MiB, over which it closes the connection) to it.
        workers: threads that run environment calls.
        retry_after: the ``Retry-After`` seconds of a 503.
        resume_grace: seconds a resumable WebSocket session outlives its connection.
        heartbeat_interval: seconds between the server's WebSocket pings.
        heartbeat_timeout: seconds of silence past a ping after which a WebSocket client is
            taken for gone.
        inline_envs: env ids or ``fnmatch`` patterns (``"games/*"``) whose ``reset`` and ``step``
            run on the event loop (see "Inline steps" in the module docstring); opt in only
            environments whose steps are quick and never block. Classes declaring
            ``cheap_steps = True`` are inline without being named here.
        inline_budget: seconds an inline call may take before its environment id is demoted
            to the worker threads.
        allow_host_arguments: let clients set the constructor arguments an environment
            declares as reaching this machine (``host_arguments``: files and folders it reads,
            servers it asks, its sandbox's isolation and limits, browser pools); refused with
            403 otherwise.
    """
    if api_key is not None and not api_key:
        raise ValueError("api_key is empty: give a non-empty key, or None for no authentication")
    check_api_key(api_key)  # a key no client can send: 401 to every client
    if max_sessions < 1 or workers < 1:
        raise ValueError(f"max_sessions and workers must be >= 1, got {max_sessions} and {workers}")
    for name, value in (("idle_timeout", idle_timeout), ("resume_grace", resume_grace),
                        ("heartbeat_interval", heartbeat_interval), ("heartbeat_timeout", heartbeat_timeout)):
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {value}")
    service = SessionService(max_sessions=max_sessions, idle_timeout=idle_timeout, workers=workers,
                             retry_after=retry_after, resume_grace=resume_grace, inline_envs=inline_envs,
                             inline_budget=inline_budget, allow_host_arguments=allow_host_arguments)
    websocket = WsProtocol(service, api_key=api_key, max_message_bytes=max_body_bytes, resume_grace=resume_grace,
                           heartbeat_interval=heartbeat_interval, heartbeat_timeout=heartbeat_timeout)
    metrics, find = service.metrics, service.find

    app = FastAPI(title="agentgym environment server", version="1", lifespan=lambda _: service.running())
    app.router.redirect_slashes = False
    app.state.sessions = service.sessions
    app.state.metrics = metrics
    app.state.inline = service.inline
    app.state.service = service

    @app.exception_handler(ApiError)
    async def api_error(_, exc: ApiError) -> Response:
        metrics.error(exc.status)
        return _error(exc.status, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_, exc: RequestValidationError) -> Response:
        metrics.error(422)
        return _error(422, f"invalid request: {exc.errors()[:3]}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_, exc: StarletteHTTPException) -> Response:
        metrics.error(exc.status_code)
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(ClientDisconnect)
    async def client_gone(_, exc: ClientDisconnect) -> Response:
        # The client hung up while its request was read: no one to answer and nothing done
        # (no session made, no step taken). Counted apart; not a server error.
        metrics.client_disconnects += 1
        return Response(status_code=499)

    # An environment's bug: answered 500 with the connection kept (an exception_handler(Exception)
    # would re-raise it into uvicorn, which drops the connection under the client's next request).
    app.add_middleware(CrashAnswer, logger=log, on_crash=lambda _: metrics.error(500))
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.add_middleware(OriginGuard)  # a web page the user visits must not make sessions
    if api_key:
        app.add_middleware(BearerAuth, api_key=api_key)  # added last: runs first (HTTP only)

    # ------------------------------------------------------------------ HTTP
    @app.get("/health")
    async def health() -> Response:
        return _answer({"status": "ok", "sessions": len(service.sessions)})

    @app.get("/metrics")
    async def get_metrics() -> Response:
        return _answer(service.snapshot(websocket.connections_open))

    @app.post("/v1/sessions")
    async def create(request: HTTPRequest) -> Response:
        session = await service.create(await _parse(request, CreateRequest), "http")
        if await request.is_disconnected():
            # The client hung up while the environment was made (its timeout ran out): no one
            # will ever know this session's id, so it is closed now, not held until the reaper's.
            metrics.client_disconnects += 1
            await service.close(session)
            return Response(status_code=499)
        return _answer(session.describe(), 201)

    @app.get("/v1/sessions/{session_id}/spec")
    async def spec(session_id: str) -> Response:
        return _answer(find(session_id).describe())

    @app.post("/v1/sessions/{session_id}/reset")
    async def reset(session_id: str, request: HTTPRequest) -> Response:
        body = await _parse(request, ResetRequest)
        return _answer(await service.reset(find(session_id), body))

    @app.post("/v1/sessions/{session_id}/step")
    async def step(session_id: str, request: HTTPRequest) -> Response:
        body = await _parse(request, StepRequest)
        return _answer(await service.step(find(session_id), body))

    @app.post("/v1/sessions/{session_id}/random_action")
    async def random_action(session_id: str, request: HTTPRequest) -> Response:
        body = await _parse(request, RandomActionRequest)
        return _answer(await service.random_action(find(session_id), body))

    @app.get("/v1/sessions/{session_id}/render")
    async def render(session_id: str) -> Response:
        return _answer(await service.render(find(session_id)))

    @app.delete("/v1/sessions/{session_id}")
    async def delete(session_id: str) -> Response:
        await service.close(find(session_id))
        return _answer({"closed": session_id})

    # ------------------------------------------------------------------ WebSocket
    app.router.routes.append(WebSocketRoute("/v1/ws", AsgiEndpoint(websocket.websocket_session),
                                            name="websocket_session"))
    return app


__all__ = ["DEFAULT_HEAD_TIMEOUT", "LATENCY_WINDOW", "ApiError", "InlineSteps", "Metrics", "Session", "SessionService",
           "WsProtocol", "env_app", "guarded_http_protocol", "read_ahead_websocket_protocol"]
