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

Where the parts live: this module is the app and its endpoints; :mod:`agentgym.remote.sessions`
holds the sessions, the ``/metrics`` counters and the inline-step policy;
:mod:`agentgym.remote.env_threads` the worker threads; :mod:`agentgym.remote.ws_connection` a
WebSocket connection at the ASGI level; :mod:`agentgym.remote.uvicorn_protocols` the uvicorn
protocol classes (importable from here too).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import time
import uuid
from contextlib import asynccontextmanager
from typing import Any, Callable, Iterable, TypeVar

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
from agentgym.registry import env_info
from agentgym.remote.env_threads import EnvThreads
from agentgym.remote.schemas import (
    CreateRequest,
    FrameError,
    RandomActionRequest,
    RenderResponse,
    ResetRequest,
    StepRequest,
    dumps,
    encode_frame,
    encode_observation,
)
from agentgym.remote.sessions import (
    LATENCY_WINDOW,  # noqa: F401 - re-exported
    ApiError,
    InlineSteps,
    Metrics,
    Session,
    check_render_mode,
    declared_render_modes,
    generator_from,
    make_stack,
)
from agentgym.remote.uvicorn_protocols import (  # re-exported: the protocols the app is served with
    DEFAULT_HEAD_TIMEOUT,  # noqa: F401 - re-exported
    guarded_http_protocol,
    read_ahead_websocket_protocol,
)
from agentgym.remote.ws_connection import AsgiEndpoint, Connection, Disconnected
from agentgym.serve.guards import BearerAuth, BodyLimit, error_body
from agentgym.trajectory import json_safe

DEFAULT_MAX_SESSIONS = 256
DEFAULT_IDLE_TIMEOUT = 300.0
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_RESUME_GRACE = 30.0
DEFAULT_HEARTBEAT_INTERVAL = 10.0
DEFAULT_HEARTBEAT_TIMEOUT = 20.0
DEFAULT_INLINE_BUDGET = 0.01  # seconds an inline call may hold the event loop before its env is demoted
_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
                405: "invalid_request_error", 409: "conflict_error", 413: "invalid_request_error",
                422: "invalid_request_error", 500: "server_error", 501: "not_implemented_error",
                503: "overloaded_error"}
_Model = TypeVar("_Model", bound=BaseModel)


def _answer(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(content), status_code=status, media_type="application/json", headers=headers)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(error_body(status, message, _ERROR_TYPES.get(status, "invalid_request_error")),
                    status_code=status, media_type="application/json", headers=headers)


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
    pool = EnvThreads(workers, "agentgym-env")
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
            env = await off_loop(make_stack, body, max_turns, kwargs)
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
        connection = Connection(receive, send)
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

    app.router.routes.append(WebSocketRoute("/v1/ws", AsgiEndpoint(websocket_session), name="websocket_session"))

    async def detach(session: Session | None) -> None:
        if session is None or session.closed:
            return
        if session.resume_token is None:
            await close_session(session)
        else:
            session.attached, session.holder = False, None
            session.detached_at = time.monotonic()

    async def beat(connection: Connection) -> None:
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

    async def serve_messages(connection: Connection) -> None:
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
            except Disconnected:
                return
            except Exception as exc:  # noqa: BLE001 - an environment's bug: answered, the connection lives on
                metrics.error(500)
                await connection.send({"type": "error", "id": request_id, "error": {
                    "code": 500, "message": f"internal error: {type(exc).__name__}: {exc}", "type": "server_error"}})

    def held(connection: Connection) -> Session:
        session = connection.session
        if session is None or session.closed:
            raise ApiError(404, "this connection holds no session: send 'create' (or 'resume') first")
        session.last_used = time.monotonic()
        return session

    async def handle(connection: Connection, kind: Any, data: dict[str, Any]) -> dict[str, Any]:
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


__all__ = ["ApiError", "InlineSteps", "Metrics", "Session", "env_app", "guarded_http_protocol",
           "read_ahead_websocket_protocol"]
