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

Limits and hygiene: a session unused for ``idle_timeout`` seconds is closed by a reaper task;
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
``websocket.reconnects``); after that the reaper closes it. The token proves ownership, so a
resume also takes the session from a connection the server still believes alive (the client
saw it drop first, or it is half-open): that old connection holds nothing from then on. A connected WebSocket session is
never closed for idleness (its heartbeat says it is alive) and is not reachable over HTTP
(404). With ``api_key``, the handshake needs the same ``Authorization`` header (otherwise the
socket is closed with code 1008 before it opens).

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
constructor, which checks them. With ``api_key`` every request needs ``Authorization: Bearer
<key>`` (:class:`~agentgym.serve.guards.BearerAuth`); :func:`~agentgym.remote.runner.serve_env`
refuses to listen beyond loopback without one.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import math
import queue
import random
import secrets
import threading
import logging
import time
import uuid
from collections import deque
from fnmatch import fnmatchcase
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, TypeVar

import gymnasium as gym
from fastapi import FastAPI
from fastapi import Request as HTTPRequest
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from gymnasium.error import ResetNeeded
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import WebSocketRoute

from agentgym.core import ConfigError
from agentgym.registry import env_info, make
from agentgym.remote.frames import server_text_frame
from agentgym.remote.schemas import (
    CreateRequest,
    FrameError,
    RandomActionRequest,
    RenderResponse,
    ResetRequest,
    SessionInfo,
    StepRequest,
    dumps,
    dumps_answer,
    encode_frame,
    encode_observation,
)
from agentgym.serve.guards import BearerAuth, BodyLimit, error_body
from agentgym.spaces import describe_space
from agentgym.trajectory import json_safe
from agentgym.wrappers.specs import WrapperSpec, build_wrappers

DEFAULT_MAX_SESSIONS = 256
DEFAULT_IDLE_TIMEOUT = 300.0
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_RESUME_GRACE = 30.0
DEFAULT_HEARTBEAT_INTERVAL = 10.0
DEFAULT_HEARTBEAT_TIMEOUT = 20.0
DEFAULT_HEAD_TIMEOUT = 10.0  # seconds a connection may take to send a request's head
LATENCY_WINDOW = 10_000  # step latencies kept for the percentiles in /metrics
DEFAULT_INLINE_BUDGET = 0.01  # seconds an inline call may hold the event loop before its env is demoted
_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
                405: "invalid_request_error", 409: "conflict_error", 413: "invalid_request_error",
                422: "invalid_request_error", 500: "server_error", 501: "not_implemented_error",
                503: "overloaded_error"}
_Model = TypeVar("_Model", bound=BaseModel)
log = logging.getLogger(__name__)


class ApiError(Exception):
    """An answer other than 2xx, raised by a handler and written by the app's error handler."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def _answer(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(content), status_code=status, media_type="application/json", headers=headers)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(error_body(status, message, _ERROR_TYPES.get(status, "invalid_request_error")),
                    status_code=status, media_type="application/json", headers=headers)


@dataclass
class Session:
    """One environment instance and its bookkeeping."""

    id: str
    env_id: str
    env: gym.Env
    max_turns: int | None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_used: float = field(default_factory=time.monotonic)
    steps: int = 0
    episodes: int = 0  # resets that succeeded
    closed: bool = False
    transport: str = "http"  # or "ws"
    resume_token: str | None = None  # set for a resumable WebSocket session
    attached: bool = False  # a WebSocket session held by a live connection
    holder: Any = None  # that connection (a _Connection), while attached
    detached_at: float | None = None  # when a resumable session's connection dropped
    inline: bool = False  # reset and step run on the event loop (see InlineSteps)

    def describe(self) -> dict[str, Any]:
        base = self.env.unwrapped
        all_tools = getattr(base, "all_tools", None)  # an LLMEnv's tools, @tool methods and toolsets' tools
        tools = [tool.schema() for tool in (all_tools() if callable(all_tools) else getattr(base, "tools", ()))]
        return SessionInfo(session_id=self.id, env_id=self.env_id, max_turns=self.max_turns,
                           instructions=str(getattr(base, "instructions", "")), tools=json_safe(tools),
                           render_modes=list(self.env.metadata.get("render_modes", [])),
                           render_mode=getattr(self.env, "render_mode", None),
                           observation_space=describe_space(self.env.observation_space)).model_dump()


def generator_from(body: RandomActionRequest) -> random.Random:
    """``random.Random(seed)``, or a generator set to the caller's state (422 when that is not
    a state ``random.Random.setstate`` takes)."""
    if body.state is None:
        return random.Random(body.seed)
    version, internal, gauss_next = body.state
    rng = random.Random()
    try:
        if not isinstance(internal, list) or not all(type(word) is int for word in internal):
            raise TypeError("the internal state is a list of integers")
        rng.setstate((version, tuple(internal), gauss_next))
    except (TypeError, ValueError, OverflowError) as exc:
        raise ApiError(422, f"state is not a random.Random state: {exc}") from None
    return rng


def declared_render_modes(env_id: str) -> list[str] | None:
    """The ``metadata["render_modes"]`` of ``env_id``'s class, read without making it (``None``
    when the entry point is a factory whose class is unknown until it runs)."""
    entry_point = gym.spec(env_id).entry_point
    creator = gym.envs.registration.load_env_creator(entry_point) if isinstance(entry_point, str) else entry_point
    metadata = getattr(creator, "metadata", None)
    if not isinstance(metadata, dict) or not isinstance(metadata.get("render_modes"), (list, tuple)):
        return None
    return [str(mode) for mode in metadata["render_modes"]]


def check_render_mode(env_id: str, render_mode: str, declared: list[str] | None) -> None:
    """Raise :class:`ApiError` 400 unless ``render_mode`` is one ``env_id`` declares (or its
    ``*_list`` collection); ``"human"`` draws on the server's screen and is always refused."""
    if render_mode == "human" or render_mode.startswith("human"):
        raise ApiError(400, f"render_mode {render_mode!r} draws on the server's own screen; ask for one that "
                            f"travels: {[m for m in declared or [] if m != 'human'] or 'none declared'}")
    if declared is None:
        return  # checked once the environment exists
    allowed = [mode for mode in declared if mode != "human"]
    allowed += [f"{mode}_list" for mode in allowed if not mode.endswith("_list") and f"{mode}_list" not in allowed]
    if render_mode not in allowed:
        raise ApiError(400, f"{env_id} cannot render as {render_mode!r}: its render modes are {allowed or 'none'}")


class Metrics:
    """Counters and a window of step latencies, served as ``/metrics``."""

    def __init__(self) -> None:
        self.created = self.closed = self.reaped = self.refused = 0
        self.steps = self.resets = 0
        self.created_by_transport = {"http": 0, "ws": 0}
        self.ws_connections = self.reconnects = self.heartbeat_timeouts = self.resume_expired = 0
        self.client_disconnects = 0  # HTTP requests whose client hung up before the body was read
        self.errors: dict[str, int] = {}
        self.step_latencies: deque[float] = deque(maxlen=LATENCY_WINDOW)

    def error(self, status: int) -> None:
        self.errors[str(status)] = self.errors.get(str(status), 0) + 1

    def snapshot(self, sessions: dict[str, Session], max_sessions: int, open_connections: int) -> dict[str, Any]:
        open_sessions = len(sessions)
        by_transport = {"http": 0, "ws": 0}
        detached = 0
        for session in list(sessions.values()):
            by_transport[session.transport] = by_transport.get(session.transport, 0) + 1
            detached += session.transport == "ws" and not session.attached
        ordered = sorted(self.step_latencies)

        def percentile(q: float) -> float | None:
            if not ordered:
                return None
            return round(1000 * ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)], 3)

        return {"sessions": {"open": open_sessions, "max": max_sessions, "created": self.created,
                             "closed": self.closed, "reaped": self.reaped, "refused": self.refused,
                             "open_by_transport": by_transport, "created_by_transport": dict(self.created_by_transport)},
                "websocket": {"connections_open": open_connections, "connections": self.ws_connections,
                              "detached_sessions": detached, "reconnects": self.reconnects,
                              "heartbeat_timeouts": self.heartbeat_timeouts, "resume_expired": self.resume_expired},
                "steps": self.steps, "resets": self.resets, "errors": dict(self.errors),
                "client_disconnects": self.client_disconnects,
                "step_latency_ms": {"count": len(ordered), "p50": percentile(0.5), "p90": percentile(0.9),
                                    "p99": percentile(0.99), "max": percentile(1.0)}}



class InlineSteps:
    """Which sessions run ``reset`` and ``step`` on the event loop, and the guard on those calls.

    A session is inline when its environment id matches one of ``patterns`` (``fnmatch``, e.g.
    ``"games/*"``) or its environment's class declares ``cheap_steps = True``, unless the
    client asked for wrappers (code the declaration does not cover), the environment has async
    hooks (its synchronous calls refuse to run inside a loop), or the id was demoted.

    :meth:`call` runs and times a call. An environment id is demoted when ``STRIKES`` of its
    last ``WINDOW`` inline calls took longer than ``budget`` seconds: from then on every session
    of it runs on the threads. One stall alone does not demote: on a loaded machine the loop
    thread itself is sometimes preempted, or collects garbage, in the middle of a quick call; an
    environment that is really slow or blocks is over budget call after call.
    """

    STRIKES = 3
    WINDOW = 50

    def __init__(self, patterns: Iterable[str], budget: float) -> None:
        if isinstance(patterns, str):
            raise ValueError(f"inline_envs is a list of env ids or patterns, not one string: [{patterns!r}]")
        self.patterns = list(patterns)
        if not all(isinstance(pattern, str) and pattern for pattern in self.patterns):
            raise ValueError(f"inline_envs must be non-empty strings (env ids or fnmatch patterns), got "
                             f"{self.patterns!r}")
        if not budget > 0:
            raise ValueError(f"inline_budget must be positive, got {budget}")
        self.budget = budget
        self.calls = self.over_budget = 0
        self._calls_of: dict[str, int] = {}  # env id -> its inline calls so far
        self._strikes: dict[str, deque[int]] = {}  # env id -> the numbers of its last calls over budget
        self.demoted: dict[str, float] = {}  # env id -> the duration (s) of the call that demoted it

    def eligible(self, env_id: str, env: gym.Env, client_wrappers: bool) -> bool:
        """Whether a new session of ``env_id`` (``env``: its wrapped environment) runs inline."""
        if client_wrappers or env_id in self.demoted:
            return False
        base_class = type(env.unwrapped)
        has_async_hooks = getattr(base_class, "has_async_hooks", None)
        if callable(has_async_hooks) and has_async_hooks():
            return False
        return (getattr(base_class, "cheap_steps", False) is True
                or any(fnmatchcase(env_id, pattern) for pattern in self.patterns))

    def active(self, session: Session) -> bool:
        return session.inline and session.env_id not in self.demoted

    def call(self, env_id: str, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``function(*args, **kwargs)`` here, on the event loop, timed against the budget."""
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            elapsed = time.perf_counter() - started
            self.calls += 1
            number = self._calls_of[env_id] = self._calls_of.get(env_id, 0) + 1
            if elapsed > self.budget:
                self._strike(env_id, number, elapsed)

    def _strike(self, env_id: str, number: int, elapsed: float) -> None:
        self.over_budget += 1
        strikes = self._strikes.setdefault(env_id, deque(maxlen=self.STRIKES))
        strikes.append(number)
        if len(strikes) == self.STRIKES and number - strikes[0] < self.WINDOW and env_id not in self.demoted:
            self.demoted[env_id] = elapsed
            log.warning("%s: %d of its last %d inline calls held the event loop longer than %.1f ms (the last "
                        "%.1f ms); its reset and step run on the worker threads from now on", env_id, self.STRIKES,
                        self.WINDOW, 1000 * self.budget, 1000 * elapsed)

    def snapshot(self) -> dict[str, Any]:
        return {"envs": list(self.patterns), "budget_ms": round(1000 * self.budget, 3), "calls": self.calls,
                "over_budget": self.over_budget,
                "demoted": {env_id: round(1000 * took, 3) for env_id, took in self.demoted.items()}}

def env_app(*, api_key: str | None = None, max_sessions: int = DEFAULT_MAX_SESSIONS,
            idle_timeout: float = DEFAULT_IDLE_TIMEOUT, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
            workers: int = 8, retry_after: int = 1, resume_grace: float = DEFAULT_RESUME_GRACE,
            heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL,
            heartbeat_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT, inline_envs: Iterable[str] = (),
            inline_budget: float = DEFAULT_INLINE_BUDGET) -> FastAPI:
    """A FastAPI app serving every registered environment (see the module docstring).

    Args:
        api_key: when set, every request needs ``Authorization: Bearer <api_key>`` (401 otherwise).
        max_sessions: the most sessions open at once; one more create gets 503 + ``Retry-After``.
        idle_timeout: seconds after its last call when a session is closed by the reaper
            (checked every ``min(idle_timeout / 4, resume_grace / 4, 1)`` seconds).
        max_body_bytes: the largest request body (or WebSocket message) accepted (413 otherwise;
            default 1 MiB).
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
    """
    if api_key is not None and not api_key:
        raise ValueError("api_key is empty: give a non-empty key, or None for no authentication")
    if max_sessions < 1 or workers < 1:
        raise ValueError(f"max_sessions and workers must be >= 1, got {max_sessions} and {workers}")
    for name, value in (("idle_timeout", idle_timeout), ("resume_grace", resume_grace),
                        ("heartbeat_interval", heartbeat_interval), ("heartbeat_timeout", heartbeat_timeout)):
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {value}")
    sessions: dict[str, Session] = {}
    metrics = Metrics()
    state = {"reserved": 0, "connections": 0}  # creates under way hold a slot before their env exists
    pool = _EnvThreads(workers, "agentgym-env")
    inline = InlineSteps(inline_envs, inline_budget)
    key_digest = hashlib.sha256(api_key.encode()).digest() if api_key else None

    async def off_loop(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await pool.run(function, *args, **kwargs)

    async def close_session(session: Session) -> None:
        """Close ``session``'s env once (waiting for a call in progress) and forget it."""
        async with session.lock:
            if session.closed:
                return
            session.closed = True
            sessions.pop(session.id, None)
            try:
                await off_loop(session.env.close)
            except Exception:  # noqa: BLE001 - a failing close must not keep the session
                pass
            metrics.closed += 1

    async def reap() -> None:
        interval = min(idle_timeout / 4, resume_grace / 4, 1.0)
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            for session in list(sessions.values()):
                if session.lock.locked():
                    continue
                if session.transport == "ws":
                    if not session.attached and now - (session.detached_at or now) > resume_grace:
                        metrics.resume_expired += 1  # counted first: no one sees it gone but uncounted
                        await close_session(session)
                elif now - session.last_used > idle_timeout:
                    metrics.reaped += 1
                    await close_session(session)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        reaper = asyncio.create_task(reap(), name="agentgym-env-reaper")
        try:
            yield
        finally:
            reaper.cancel()
            try:
                await reaper
            except asyncio.CancelledError:
                pass
            for session in list(sessions.values()):
                await close_session(session)
            pool.shutdown()

    app = FastAPI(title="agentgym environment server", version="1", lifespan=lifespan)
    app.router.redirect_slashes = False
    app.state.sessions = sessions
    app.state.metrics = metrics
    app.state.inline = inline

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

    @app.exception_handler(Exception)
    async def crash(_, exc: Exception) -> Response:
        metrics.error(500)
        return _error(500, f"internal error: {type(exc).__name__}: {exc}")

    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    if api_key:
        app.add_middleware(BearerAuth, api_key=api_key)  # added last: runs first (HTTP only)

    def validate(data: Any, model: type[_Model]) -> _Model:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()[:5])
            raise ApiError(422, f"invalid request: {problems}") from None

    def step_action(data: Any) -> Any:
        """The action of a step message, checked as :class:`StepRequest` checks it (a JSON
        object with exactly ``action``, any value); the model is skipped when the shape is
        plainly right, the common case."""
        if type(data) is dict and len(data) == 1 and "action" in data:
            return data["action"]
        return validate(data, StepRequest).action

    async def parse(request: HTTPRequest, model: type[_Model]) -> _Model:
        body = await request.body()
        try:
            data = json.loads(body or b"{}")
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(422, f"the request body is not valid JSON: {exc}") from None
        except RecursionError:
            raise ApiError(422, "the request body is JSON nested too deeply to parse") from None
        return validate(data, model)

    def find(session_id: str) -> Session:
        session = sessions.get(session_id)
        if session is None or session.transport != "http":
            raise ApiError(404, f"no session {session_id[:64]!r}: it was closed, reaped after {idle_timeout:g} s "
                                "idle, or never existed (the server may have restarted)")
        session.last_used = time.monotonic()
        return session

    # ------------------------------------------------------------------ what both transports do
    async def open_session(body: CreateRequest, transport: str) -> Session:
        if ":" in body.env_id:
            raise ApiError(400, f"env_id {body.env_id[:80]!r} is an entry point; this server only makes registered "
                                "ids (see `agentgym list`)")
        try:
            registered = env_info(body.env_id)
        except (KeyError, ConfigError) as exc:
            raise ApiError(404, str(exc.args[0] if exc.args else exc)) from None
        if len(sessions) + state["reserved"] >= max_sessions:
            metrics.refused += 1
            raise ApiError(503, f"the server holds its maximum of {max_sessions} sessions; retry later or close one",
                           headers={"Retry-After": str(retry_after)})
        max_turns = body.max_turns if "max_turns" in body.model_fields_set else registered.max_turns
        kwargs, render_mode = await render_arguments(body)
        state["reserved"] += 1
        try:
            env = await off_loop(_make_stack, body, max_turns, kwargs)
        except PermissionError as exc:
            raise ApiError(403, str(exc)) from None
        except (ConfigError, TypeError, ValueError) as exc:
            raise ApiError(400, f"cannot make {body.env_id}: {exc}") from None
        finally:
            state["reserved"] -= 1
        if render_mode is not None and getattr(env, "render_mode", None) != render_mode:
            await off_loop(env.close)
            raise ApiError(400, f"{body.env_id} did not take render_mode {render_mode!r} (it renders as "
                                f"{getattr(env, 'render_mode', None)!r})")
        session = Session(id=uuid.uuid4().hex, env_id=body.env_id, env=env, max_turns=max_turns, transport=transport,
                          inline=inline.eligible(body.env_id, env, bool(body.wrappers or body.outer_wrappers)))
        sessions[session.id] = session
        metrics.created += 1
        metrics.created_by_transport[transport] += 1
        return session

    async def render_arguments(body: CreateRequest) -> tuple[dict[str, Any], str | None]:
        """The constructor's arguments with the checked render mode (the field, or one given
        in ``kwargs`` the way a local ``make`` takes it)."""
        kwargs = dict(body.kwargs)
        render_mode = kwargs.pop("render_mode", None)
        if body.render_mode is not None:
            if render_mode is not None:
                raise ApiError(400, "render_mode is given twice (as a field and in kwargs): give it once")
            render_mode = body.render_mode
        if render_mode is None:
            return kwargs, None
        if not isinstance(render_mode, str):
            raise ApiError(400, f"render_mode must be a string such as 'ansi', got {render_mode!r}"[:300])
        try:
            declared = await off_loop(declared_render_modes, body.env_id)
        except Exception:  # noqa: BLE001 - an entry point that does not import: make() says why
            declared = None
        check_render_mode(body.env_id, render_mode, declared)
        return {**kwargs, "render_mode": render_mode}, render_mode

    async def render_session(session: Session) -> dict[str, Any]:
        async with session.lock:
            if session.closed:
                raise ApiError(404, f"session {session.id!r} was closed")
            try:  # PNG encoding is CPU work too: off the event loop with the render
                encoded = await off_loop(lambda: encode_frame(session.env.render()))
            except ResetNeeded as exc:
                raise ApiError(409, str(exc)) from None
            except FrameError as exc:
                raise ApiError(500, f"{session.env_id}: {exc}") from None
            session.last_used = time.monotonic()
        return RenderResponse(render_mode=getattr(session.env, "render_mode", None), frame=encoded).model_dump()

    async def random_action_of(session: Session, body: RandomActionRequest) -> dict[str, Any]:
        async with session.lock:
            if session.closed:
                raise ApiError(404, f"session {session.id!r} was closed")
            if not session.episodes:
                raise ApiError(409, "random_action before the first reset: reset the session first")
            draw = getattr(session.env.unwrapped, "random_action", None)
            if draw is None:
                raise ApiError(501, f"{session.env_id} has no random_action")
            rng = generator_from(body)
            try:
                action = await off_loop(draw, rng)
            except NotImplementedError as exc:
                raise ApiError(501, str(exc) or f"{session.env_id} has no random_action") from None
            session.last_used = time.monotonic()
        answer = {"action": json_safe(action)}
        if body.state is not None:
            answer["state"] = json_safe(rng.getstate())
        return answer

    async def reset_session(session: Session, body: ResetRequest) -> dict[str, Any]:
        async with session.lock:
            if session.closed:
                raise ApiError(404, f"session {session.id!r} was closed")
            try:
                if inline.active(session):
                    observation, info = inline.call(session.env_id, session.env.reset, seed=body.seed,
                                                    options=body.options)
                else:
                    observation, info = await off_loop(session.env.reset, seed=body.seed, options=body.options)
            except (ConfigError, TypeError, ValueError) as exc:
                raise ApiError(400, f"reset refused: {exc}") from None
            session.last_used = time.monotonic()
            session.episodes += 1
        metrics.resets += 1
        return {"observation": encode_observation(observation), "info": json_safe(info)}

    def step_inline(session: Session, action: Any) -> dict[str, Any]:
        """Step an inline session here, on the event loop; the caller holds its lock, or knows it
        free and runs this without yielding to the loop (nothing else can take it meanwhile)."""
        started = time.perf_counter()
        try:
            outcome = inline.call(session.env_id, session.env.step, action)
        except ResetNeeded as exc:
            raise ApiError(409, str(exc)) from None
        return stepped(session, started, outcome)

    def stepped(session: Session, started: float, outcome: tuple) -> dict[str, Any]:
        observation, reward, terminated, truncated, info = outcome
        metrics.step_latencies.append(time.perf_counter() - started)
        session.steps += 1
        session.last_used = time.monotonic()
        metrics.steps += 1
        return {"observation": encode_observation(observation), "reward": json_safe(float(reward)),
                "terminated": bool(terminated), "truncated": bool(truncated), "info": json_safe(info)}

    async def step_session(session: Session, body: StepRequest) -> dict[str, Any]:
        async with session.lock:
            if session.closed:
                raise ApiError(404, f"session {session.id!r} was closed")
            if inline.active(session):
                return step_inline(session, body.action)
            started = time.perf_counter()
            try:
                outcome = await off_loop(session.env.step, body.action)
            except ResetNeeded as exc:
                raise ApiError(409, str(exc)) from None
            return stepped(session, started, outcome)

    # ------------------------------------------------------------------ HTTP
    @app.get("/health")
    async def health() -> Response:
        return _answer({"status": "ok", "sessions": len(sessions)})

    @app.get("/metrics")
    async def get_metrics() -> Response:
        return _answer({**metrics.snapshot(sessions, max_sessions, state["connections"]), "inline": inline.snapshot()})

    @app.post("/v1/sessions")
    async def create(request: HTTPRequest) -> Response:
        session = await open_session(await parse(request, CreateRequest), "http")
        return _answer(session.describe(), 201)

    @app.get("/v1/sessions/{session_id}/spec")
    async def spec(session_id: str) -> Response:
        return _answer(find(session_id).describe())

    @app.post("/v1/sessions/{session_id}/reset")
    async def reset(session_id: str, request: HTTPRequest) -> Response:
        body = await parse(request, ResetRequest)
        return _answer(await reset_session(find(session_id), body))

    @app.post("/v1/sessions/{session_id}/step")
    async def step(session_id: str, request: HTTPRequest) -> Response:
        body = await parse(request, StepRequest)
        return _answer(await step_session(find(session_id), body))

    @app.post("/v1/sessions/{session_id}/random_action")
    async def random_action(session_id: str, request: HTTPRequest) -> Response:
        body = await parse(request, RandomActionRequest)
        return _answer(await random_action_of(find(session_id), body))

    @app.get("/v1/sessions/{session_id}/render")
    async def render(session_id: str) -> Response:
        return _answer(await render_session(find(session_id)))

    @app.delete("/v1/sessions/{session_id}")
    async def delete(session_id: str) -> Response:
        await close_session(find(session_id))
        return _answer({"closed": session_id})

    # ------------------------------------------------------------------ WebSocket
    def authorised(scope: dict[str, Any]) -> bool:
        if key_digest is None:
            return True
        header = next((value for name, value in scope.get("headers", ()) if name.lower() == b"authorization"), b"")
        scheme, _, token = header.decode("latin-1").strip().partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            hashlib.sha256(token.strip().encode()).digest(), key_digest)

    async def websocket_session(scope: dict[str, Any], receive: Callable[[], Any], send: Callable[[Any], Any]) -> None:
        """``/v1/ws``, at the ASGI level: its messages go to and from uvicorn without a
        framework object in between (they are the server's hot path)."""
        if (await receive())["type"] != "websocket.connect":
            return
        if not authorised(scope):
            await send({"type": "websocket.close", "code": 1008,
                        "reason": "this server needs an API key: 'Authorization: Bearer <key>'"})
            return
        await send({"type": "websocket.accept"})
        state["connections"] += 1
        metrics.ws_connections += 1
        connection = _Connection(receive, send)
        reader = asyncio.create_task(serve_messages(connection), name="agentgym-ws-reader")
        heartbeat = asyncio.create_task(beat(connection), name="agentgym-ws-heartbeat")
        try:
            done, _ = await asyncio.wait({reader, heartbeat}, return_when=asyncio.FIRST_COMPLETED)
            if heartbeat in done and not heartbeat.cancelled() and heartbeat.exception() is None:
                metrics.heartbeat_timeouts += 1
        finally:
            for task in (reader, heartbeat):
                task.cancel()
            await asyncio.gather(reader, heartbeat, return_exceptions=True)
            state["connections"] -= 1
            await detach(connection.session)
        # No closing handshake: this handler ends only when the peer is gone — it disconnected
        # (nothing is left to close), or it went silent past its heartbeat. A vanished peer never
        # echoes a close frame, and uvicorn would keep its socket for its 10 s close timeout
        # waiting for one; returning without it closes the TCP connection at once.

    app.router.routes.append(WebSocketRoute("/v1/ws", _AsgiEndpoint(websocket_session), name="websocket_session"))

    async def detach(session: Session | None) -> None:
        if session is None or session.closed:
            return
        if session.resume_token is None:
            await close_session(session)
        else:
            session.attached, session.holder = False, None
            session.detached_at = time.monotonic()

    async def beat(connection: _Connection) -> None:
        """Ping every ``heartbeat_interval``; return when the client stayed silent too long."""
        while True:
            await asyncio.sleep(heartbeat_interval)
            if connection.busy:
                connection.last_heard = time.monotonic()
            elif time.monotonic() - connection.last_heard > heartbeat_interval + heartbeat_timeout:
                # A loaded event loop may have a pong received but not read yet: let the reader
                # run before taking the client for gone.
                for _ in range(3):
                    await asyncio.sleep(0)
                if not connection.busy and time.monotonic() - connection.last_heard > (
                        heartbeat_interval + heartbeat_timeout):
                    return
            await connection.send({"type": "ping"})

    async def serve_messages(connection: _Connection) -> None:
        receive = connection.receive
        while True:
            message = await receive()
            if message["type"] != "websocket.receive":  # websocket.disconnect
                return
            connection.last_heard = time.monotonic()
            raw = message.get("text")
            if raw is None:
                raw = (message.get("bytes") or b"").decode("utf-8", "replace")
            request_id: Any = None
            try:
                if len(raw) > max_body_bytes:
                    raise ApiError(413, f"the message is over {max_body_bytes} bytes")
                try:
                    data = json.loads(raw)
                except ValueError as exc:
                    raise ApiError(422, f"the message is not valid JSON: {exc}") from None
                except RecursionError:
                    raise ApiError(422, "the message is JSON nested too deeply to parse") from None
                if not isinstance(data, dict):
                    raise ApiError(422, "a message is a JSON object with a 'type'")
                request_id = data.pop("id", None)
                kind = data.pop("type", None)
                if kind == "pong":
                    continue
                if kind == "ping":
                    await connection.send({"type": "pong"})
                    continue
                session = connection.session
                if (kind == "step" and session is not None and not session.closed and inline.active(session)
                        and not session.lock.locked()):
                    # The hot path, with what handle() would check: a step of an inline session
                    # whose lock is free, run to its end without yielding to the loop.
                    session.last_used = time.monotonic()
                    result = step_inline(session, step_action(data))
                    connection.last_heard = time.monotonic()
                else:
                    connection.busy = True
                    try:
                        result = await handle(connection, kind, data)
                    finally:
                        connection.busy = False
                        connection.last_heard = time.monotonic()
                await connection.send({"type": "result", "id": request_id, "result": result})
            except ApiError as exc:
                metrics.error(exc.status)
                await connection.send({"type": "error", "id": request_id, "error": {
                    "code": exc.status, "message": exc.message,
                    "type": _ERROR_TYPES.get(exc.status, "invalid_request_error")}})
            except _Disconnected:
                return
            except Exception as exc:  # noqa: BLE001 - an environment's bug: answered, the connection lives on
                metrics.error(500)
                await connection.send({"type": "error", "id": request_id, "error": {
                    "code": 500, "message": f"internal error: {type(exc).__name__}: {exc}", "type": "server_error"}})

    def held(connection: _Connection) -> Session:
        session = connection.session
        if session is None or session.closed:
            raise ApiError(404, "this connection holds no session: send 'create' (or 'resume') first")
        session.last_used = time.monotonic()
        return session

    async def handle(connection: _Connection, kind: Any, data: dict[str, Any]) -> dict[str, Any]:
        if kind in ("create", "resume") and connection.session is not None and not connection.session.closed:
            raise ApiError(409, "this connection already holds a session: one session per connection")
        if kind == "create":
            resumable = data.pop("resumable", False)
            if not isinstance(resumable, bool):
                raise ApiError(422, f"resumable must be true or false, got {resumable!r}")
            session = await open_session(validate(data, CreateRequest), "ws")
            session.attached, session.holder = True, connection
            connection.session = session
            answer = session.describe()
            if resumable:
                session.resume_token = secrets.token_urlsafe(24)
                answer["resume_token"] = session.resume_token
            return answer
        if kind == "resume":
            session = sessions.get(str(data.get("session_id")))
            token = data.get("resume_token")
            if (session is None or session.resume_token is None or not isinstance(token, str)
                    or not hmac.compare_digest(token.encode(), session.resume_token.encode())):
                raise ApiError(404, f"no resumable session {str(data.get('session_id'))[:64]!r} with this token: "
                                    f"closed, past its {resume_grace:g} s grace, or never existed")
            if session.attached and session.holder is not None:
                session.holder.session = None  # the owner is back on a new connection: the old one lets go
            session.attached, session.holder, session.detached_at = True, connection, None
            connection.session = session
            metrics.reconnects += 1
            return {**session.describe(), "resume_token": session.resume_token}
        if kind == "reset":
            return await reset_session(held(connection), validate(data, ResetRequest))
        if kind == "step":
            return await step_session(held(connection), StepRequest.model_construct(action=step_action(data)))
        if kind == "spec":
            return held(connection).describe()
        if kind == "random_action":
            return await random_action_of(held(connection), validate(data, RandomActionRequest))
        if kind == "render":
            return await render_session(held(connection))
        if kind == "close":
            session = held(connection)
            await close_session(session)
            connection.session = None
            return {"closed": session.id}
        raise ApiError(422, f"unknown message type {kind!r}: one of create, resume, reset, step, spec, render, "
                            "random_action, close, ping, pong")

    return app


class _EnvThreads:
    """The server's threads for environment calls: ``workers`` of them, started at the first call.

    ``await threads.run(function, *args, **kwargs)`` runs the call on one of them and answers on
    the event loop. It replaces ``loop.run_in_executor`` on a ``ThreadPoolExecutor``, which cost
    the server ~60 µs of CPU per step at 64 WebSocket sessions (``benchmarks/bench_openenv.py``;
    py-spy: ~20% of the event loop's time in the executor's futures, their ``Condition``
    objects and one loop wake-up per call): here a call is one asyncio future, and the calls
    that finish while the loop is busy are answered with one wake-up. As with the executor, a
    call whose caller was cancelled before it started is skipped, an exception reaches the
    caller, and :meth:`shutdown` lets the queued calls finish and joins the threads.
    """

    def __init__(self, workers: int, name: str) -> None:
        self._workers, self._name = workers, name
        self._calls: queue.SimpleQueue = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._finished: deque = deque()  # (future, outcome) waiting for the loop to take them
        self._lock = threading.Lock()
        self._wake_pending = False  # a _deliver is scheduled on the loop and has not run yet
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    def run(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> asyncio.Future:
        if self._closed:
            raise RuntimeError("the server's environment threads are shut down")
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        if not self._threads:
            for index in range(self._workers):
                thread = threading.Thread(target=self._work, name=f"{self._name}_{index}", daemon=True)
                thread.start()
                self._threads.append(thread)
        future = loop.create_future()
        self._calls.put((loop, future, function, args, kwargs))
        return future

    def _work(self) -> None:
        while (call := self._calls.get()) is not None:
            loop, future, function, args, kwargs = call
            if future.cancelled():
                continue
            try:
                outcome = (function(*args, **kwargs), None)
            except BaseException as exc:  # noqa: BLE001 - the caller's to handle, as with an executor
                outcome = (None, exc)
            try:
                if loop is not self._loop:  # another loop than the server's: answered on its own
                    loop.call_soon_threadsafe(_settle, future, outcome)
                    continue
                with self._lock:
                    self._finished.append((future, outcome))
                    if self._wake_pending:
                        continue
                    self._wake_pending = True
                loop.call_soon_threadsafe(self._deliver)
            except RuntimeError:  # the loop is closed: no one waits for the answer any more
                pass

    def _deliver(self) -> None:
        with self._lock:
            finished, self._finished = self._finished, deque()
            self._wake_pending = False
        for future, outcome in finished:
            _settle(future, outcome)

    def shutdown(self) -> None:
        """Let the threads finish the calls already queued, then stop and join them."""
        self._closed = True
        for _ in self._threads:
            self._calls.put(None)
        for thread in self._threads:
            thread.join()
        self._threads.clear()


def _settle(future: asyncio.Future, outcome: tuple[Any, BaseException | None]) -> None:
    if not future.done():  # a cancelled caller's future stays cancelled
        result, error = outcome
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)


class _Connection:
    """One WebSocket connection (its ASGI ``receive`` and ``send``): its session, its liveness,
    and one writer at a time."""

    def __init__(self, receive: Callable[[], Any], send: Callable[[Any], Any]) -> None:
        self.receive, self._send = receive, send
        self.session: Session | None = None
        self.last_heard = time.monotonic()
        self.busy = False
        self._send_lock = asyncio.Lock()

    async def send(self, message: dict[str, Any]) -> None:
        """Send ``message`` as a text message; :class:`_Disconnected` when the peer is gone."""
        async with self._send_lock:
            try:
                await self._send({"type": "websocket.send", "text": dumps_answer(message)})
            except OSError as exc:  # uvicorn's ClientDisconnected
                raise _Disconnected(str(exc)) from None


class _Disconnected(Exception):
    """The WebSocket's peer is gone (a send found the connection closed)."""


class _AsgiEndpoint:
    """An ASGI app around ``handler(scope, receive, send)`` (starlette routes a callable object
    that is not a function to it as an ASGI app, with no ``WebSocket`` object made)."""

    def __init__(self, handler: Callable[..., Any]) -> None:
        self.handler = handler

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Any], send: Callable[[Any], Any]) -> None:
        await self.handler(scope, receive, send)


def guarded_http_protocol(head_timeout: float = DEFAULT_HEAD_TIMEOUT) -> type[asyncio.Protocol]:
    """uvicorn's h11 HTTP protocol, plus a deadline on request heads (pass it as ``http=``).

    A connection that has not sent a complete request head ``head_timeout`` seconds after it
    connected, or after it began a later request's head on a kept-alive connection, is closed
    (see the module docstring: uvicorn would hold it for ever). The deadline is on the head
    only: a request being answered, a body being uploaded, an idle kept-alive connection
    (uvicorn's ``timeout_keep_alive``) and an upgraded WebSocket (its heartbeat) are not
    touched by it.
    """
    if not head_timeout > 0:
        raise ValueError(f"head_timeout must be positive, got {head_timeout}")
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeadTimeoutH11Protocol(H11Protocol):
        _head_deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm_head_deadline()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:  # the head is complete: a request runs, or an upgrade
                self._disarm_head_deadline()
            elif self.conn.trailing_data[0] and self._head_deadline is None:  # a later request's head begun
                self._arm_head_deadline()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm_head_deadline()
            super().connection_lost(exc)

        def _arm_head_deadline(self) -> None:
            self._head_deadline = self.loop.call_later(head_timeout, self._head_timed_out)

        def _disarm_head_deadline(self) -> None:
            if self._head_deadline is not None:
                self._head_deadline.cancel()
                self._head_deadline = None

        def _head_timed_out(self) -> None:
            self._head_deadline = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()

    HeadTimeoutH11Protocol.__name__ = HeadTimeoutH11Protocol.__qualname__ = "HeadTimeoutH11Protocol"
    return HeadTimeoutH11Protocol


def read_ahead_websocket_protocol(max_queued: int = 2) -> type[asyncio.Protocol]:
    """uvicorn's sans-I/O WebSocket protocol, reading on while fewer than ``max_queued`` messages
    wait for the app (pass it as ``ws=``).

    uvicorn's own stops reading the socket after every message and starts again when the app
    takes it: two ``epoll_ctl`` calls and their bookkeeping per message, paid on every step
    even when one request at a time is in flight (a client awaiting each answer, as ours
    does). This one pauses only when ``max_queued`` messages are waiting (a client pipelining
    requests faster than the app answers), and resumes, as uvicorn's does, when the app has
    taken them all: at most ``max_queued`` messages (each up to uvicorn's ``ws_max_size``) are
    held per connection.
    """
    if type(max_queued) is not int or max_queued < 1:
        raise ValueError(f"max_queued must be a positive integer, got {max_queued!r}")
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
    from websockets.protocol import State

    class ReadAheadWebSocketProtocol(WebSocketsSansIOProtocol):
        async def send(self, message: dict[str, Any]) -> None:
            """A text message on an open connection with no extension is written as one
            unmasked final frame, here (:func:`server_text_frame`); everything else (the
            handshake, bytes, a close, a connection with permessage-deflate or not open)
            goes through uvicorn's ``send``."""
            conn = self.conn
            text = message.get("text") if message["type"] == "websocket.send" else None
            if (text is not None and message.get("bytes") is None and self.handshake_complete
                    and self.initial_response is None and not conn.extensions):
                await self.writable.wait()
                if (not self.disconnected and not self.close_sent and conn.state is State.OPEN
                        and not conn.expect_continuation_frame):
                    queued = conn.data_to_send()  # whatever the connection still holds goes first
                    frame = server_text_frame(text.encode())
                    self.transport.write(b"".join(queued) + frame if queued else frame)
                    return
            await super().send(message)

        def send_receive_event_to_app(self) -> None:
            read_paused = self.read_paused
            self.read_paused = True  # uvicorn's method pauses unless paused: it sees itself paused
            try:
                super().send_receive_event_to_app()
            finally:
                self.read_paused = read_paused
            if not self.read_paused and self.queue.qsize() >= max_queued and not self.transport.is_closing():
                self.read_paused = True
                self.transport.pause_reading()

    ReadAheadWebSocketProtocol.__name__ = ReadAheadWebSocketProtocol.__qualname__ = "ReadAheadWebSocketProtocol"
    return ReadAheadWebSocketProtocol


__all__ = ["ApiError", "InlineSteps", "Metrics", "Session", "env_app", "guarded_http_protocol",
           "read_ahead_websocket_protocol"]


def _make_stack(body: CreateRequest, max_turns: int | None, kwargs: dict[str, Any]) -> Any:
    """``make(env_id, wrappers=..., max_turns=..., **kwargs)`` wrapped by the outer wrappers,
    all named in ``body`` as data; wrappers a client may not ask for raise ``PermissionError``."""
    inner = [WrapperSpec.from_data(w.model_dump()) for w in body.wrappers]
    outer = [WrapperSpec.from_data(w.model_dump()) for w in body.outer_wrappers]
    for spec in (*inner, *outer):
        if not spec.remote_safe:
            raise PermissionError(f"wrapper {spec.name!r} cannot be requested by a remote client")
    env = make(body.env_id, wrappers=inner, max_turns=max_turns, **kwargs)
    try:
        return build_wrappers(env, outer, remote=True)
    except BaseException:
        env.close()
        raise
