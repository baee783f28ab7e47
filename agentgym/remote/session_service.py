"""What the environment server does with sessions, whatever the transport: :class:`SessionService`.

HTTP routes (:func:`~agentgym.remote.server.env_app`) and the WebSocket protocol
(:class:`~agentgym.remote.ws_protocol.WsProtocol`) both call one service: it holds the open
sessions, the ``/metrics`` counters, the inline-step policy and the worker threads, and
creates, resets, steps, renders and closes sessions. It knows nothing of either transport
beyond the name a session was made on (``"http"`` or ``"ws"``): a refusal is an
:class:`~agentgym.remote.sessions.ApiError`, which each transport writes its own way.

:func:`validate` turns a request's JSON data into its schema model (422 otherwise), for both
transports; :data:`ERROR_TYPES` names the error ``type`` each status is answered with.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Callable, Iterable, TypeVar

from gymnasium.error import ResetNeeded
from pydantic import BaseModel, ValidationError

from agentgym.core import ConfigError
from agentgym.registry import env_info
from agentgym.remote.env_threads import AbandonableCall, EnvThreads
from agentgym.remote.schemas import (
    CreateRequest,
    FrameError,
    RandomActionRequest,
    RenderResponse,
    ResetRequest,
    StepRequest,
    encode_frame,
    encode_observation,
)
from agentgym.remote.sessions import (
    ApiError,
    InlineSteps,
    Metrics,
    Session,
    check_render_mode,
    declared_render_modes,
    generator_from,
    host_arguments,
    log,
    make_stack,
)
from agentgym.trajectory import json_safe

SHUTDOWN_GRACE = 5.0  # seconds a shutdown waits for environment calls still running
# agentgym.make's own arguments that reach another machine: make(id, server=URL) opens a session
# on the server at URL, which this server would then relay every call to
MAKE_HOST_ARGUMENTS = frozenset({"server"})
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
               405: "invalid_request_error", 409: "conflict_error", 413: "invalid_request_error",
               422: "invalid_request_error", 500: "server_error", 501: "not_implemented_error",
               503: "overloaded_error"}
_Model = TypeVar("_Model", bound=BaseModel)


def validate(data: Any, model: type[_Model]) -> _Model:
    """``data`` (decoded JSON) as ``model``; :class:`ApiError` 422 naming up to five problems."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()[:5])
        raise ApiError(422, f"invalid request: {problems}") from None


class SessionService:
    """The server's sessions and what both transports do with them.

    State: :attr:`sessions` (id -> open :class:`Session`), :attr:`metrics` (the ``/metrics``
    counters), :attr:`inline` (which sessions step on the event loop), and the worker threads
    environment calls run on (:class:`EnvThreads`, ``workers`` of them). Everything here runs
    on the server's event loop; nothing is thread-safe beyond that.

    Locks: :meth:`reset`, :meth:`step`, :meth:`render`, :meth:`random_action` and :meth:`close`
    take the session's ``lock`` for their whole call, so the calls on one session are
    serialised (a ``close`` during a ``step`` waits for it); each of them but :meth:`close`
    raises 404 for a session closed meanwhile (a second ``close`` does nothing). A call whose
    caller is cancelled while its environment call runs on the threads (a WebSocket dropped by
    a client that timed out) releases the lock but leaves the session busy: the next call
    waits for the environment call to end (``Session.abandoned_call``), so two calls never run
    on one environment at once; the reaper leaves a busy session for a later round, and a
    shutdown waits for such a call only within its grace.
    :meth:`step_inline` takes no lock: its caller holds the session's lock, or knows it free
    and calls it without yielding to the loop (nothing can take the lock meanwhile).

    Refusals, as :class:`ApiError`:

    - :meth:`create`: 400 for an entry-point ``env_id``, constructor arguments or a render mode
      the environment refuses; 403 for a wrapper a remote client may not ask for or an argument
      the environment declares as reaching the server (``host_arguments``, and ``make``'s
      ``server``); 404 for an unregistered id; 503 (with ``Retry-After``) when ``max_sessions``
      are open or being made;
    - :meth:`reset`: 400 for arguments the environment refuses;
    - :meth:`step` / :meth:`step_inline`: 409 before ``reset`` or after the episode ended;
    - :meth:`render`: 409 before ``reset``; 500 for a frame that cannot be encoded;
    - :meth:`random_action`: 409 before the first ``reset``; 501 when the environment has none;
      422 for a generator state ``random.Random`` refuses;
    - :meth:`find`: 404 for an id that is not an open HTTP session.

    Any other exception is the environment's own (a bug in it): the transports answer it 500.

    Lifetime: :meth:`running` is the app's lifespan: it runs :meth:`reap` (which closes HTTP
    sessions idle for ``idle_timeout`` seconds and WebSocket sessions detached for longer than
    ``resume_grace``) and, on exit, :meth:`shutdown` (every session closed, the threads joined);
    an app served again after that starts with new threads.
    """

    def __init__(self, *, max_sessions: int, idle_timeout: float, workers: int, retry_after: int,
                 resume_grace: float, inline_envs: Iterable[str], inline_budget: float,
                 allow_host_arguments: bool = False) -> None:
        self.max_sessions, self.idle_timeout, self.resume_grace = max_sessions, idle_timeout, resume_grace
        self.allow_host_arguments = allow_host_arguments
        self.retry_after = retry_after
        self.sessions: dict[str, Session] = {}
        self.metrics = Metrics()
        self.inline = InlineSteps(inline_envs, inline_budget)
        self.workers = workers
        self.pool = EnvThreads(workers, "agentgym-env")
        self._reserved = 0  # creates under way hold a slot before their env exists

    # ------------------------------------------------------------------ lifetime
    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The reaper while the block runs; :meth:`shutdown` when it ends. The app may be served
        again after that: a new serving starts with new threads."""
        if self.pool.closed:  # served before, and shut down: its threads are gone for good
            self.pool = EnvThreads(self.workers, "agentgym-env")
        reaper = asyncio.create_task(self.reap(), name="agentgym-env-reaper")
        try:
            yield
        finally:
            reaper.cancel()
            try:
                await reaper
            except asyncio.CancelledError:
                pass
            await self.shutdown()

    async def reap(self) -> None:
        """Forever: close idle HTTP sessions and WebSocket sessions detached past their grace
        (checked every ``min(idle_timeout / 4, resume_grace / 4, 1)`` seconds); a session in a
        call (:attr:`Session.busy`, a close under way included) is left for the next round.
        Each is closed on a task of its own: an environment slow to close, or that never does,
        holds up no other. Cancelled, it cancels the closes under way (their sessions are
        forgotten; :meth:`shutdown` leaves their calls within its grace)."""
        interval = min(self.idle_timeout / 4, self.resume_grace / 4, 1.0)
        sessions, metrics = self.sessions, self.metrics
        closing: set[asyncio.Task] = set()
        try:
            while True:
                await asyncio.sleep(interval)
                now = time.monotonic()
                for session in list(sessions.values()):
                    if session.busy or session.closed:
                        continue
                    if session.transport == "ws":
                        if session.attached or now - (session.detached_at or now) <= self.resume_grace:
                            continue
                        metrics.resume_expired += 1  # counted first: no one sees it gone but uncounted
                    elif now - session.last_used > self.idle_timeout:
                        metrics.reaped += 1
                    else:
                        continue
                    # Started before the next round: its close holds the session's lock (busy) by then.
                    task = asyncio.create_task(self.close(session), name=f"agentgym-env-reap-{session.id[:8]}")
                    closing.add(task)
                    task.add_done_callback(closing.discard)
        finally:
            for task in closing:
                task.cancel()
            await asyncio.gather(*closing, return_exceptions=True)

    async def shutdown(self) -> None:
        """Close every session, then let the threads finish their queued calls and join them,
        for at most :data:`SHUTDOWN_GRACE` seconds in all: a call stuck for good (an environment
        that hangs) is logged and left to end with the process, which it must not keep running
        (its session's environment is closed when the grace is over, the call still in it).
        The sessions close side by side, so that one whose environment is slow to close (or
        never does: its close is left at the end of the grace) holds up no other."""
        deadline = time.monotonic() + SHUTDOWN_GRACE
        await asyncio.gather(*(self.close(session, deadline=deadline) for session in list(self.sessions.values())))
        # a moment for idle threads to take their stop even when the grace is spent: only a
        # thread still in a call is reported
        left = self.pool.shutdown(timeout=max(0.1, deadline - time.monotonic()))
        if left:
            log.warning("%d environment call%s still running %g s into the shutdown (%s); not waited for", len(left),
                        "" if len(left) == 1 else "s", SHUTDOWN_GRACE, ", ".join(left))

    def snapshot(self, open_connections: int) -> dict[str, Any]:
        """The ``/metrics`` body (``open_connections``: the WebSocket connections open now)."""
        return {**self.metrics.snapshot(self.sessions, self.max_sessions, open_connections),
                "inline": self.inline.snapshot()}

    # ------------------------------------------------------------------ sessions
    def find(self, session_id: str) -> Session:
        """The open HTTP session ``session_id``, marked used now (404 otherwise: a WebSocket
        session is not reachable over HTTP)."""
        session = self.sessions.get(session_id)
        if session is None or session.transport != "http":
            raise ApiError(404, f"no session {session_id[:64]!r}: it was closed, reaped after {self.idle_timeout:g} "
                                "s idle, or never existed (the server may have restarted)")
        session.last_used = time.monotonic()
        return session

    async def create(self, body: CreateRequest, transport: str) -> Session:
        """A new session of ``body.env_id`` made on the threads, registered under a new id."""
        if ":" in body.env_id:
            raise ApiError(400, f"env_id {body.env_id[:80]!r} is an entry point; this server only makes registered "
                                "ids (see `agentgym list`)")
        try:
            registered = env_info(body.env_id)
        except (KeyError, ConfigError) as exc:
            raise ApiError(404, str(exc.args[0] if exc.args else exc)) from None
        if len(self.sessions) + self._reserved >= self.max_sessions:
            self.metrics.refused += 1
            raise ApiError(503, f"the server holds its maximum of {self.max_sessions} sessions; retry later or close "
                                "one", headers={"Retry-After": str(self.retry_after)})
        self._reserved += 1  # the slot is taken with the check: the checks below wait on the threads
        try:
            session = await self._make(body, registered.max_turns, transport)
            self.sessions[session.id] = session
        finally:
            self._reserved -= 1
        self.metrics.created += 1
        self.metrics.created_by_transport[transport] += 1
        return session

    async def _make(self, body: CreateRequest, registered_max_turns: int | None, transport: str) -> Session:
        """A session of ``body.env_id``, its arguments checked and its environment made on the threads."""
        max_turns = body.max_turns if "max_turns" in body.model_fields_set else registered_max_turns
        kwargs, render_mode = await self._render_arguments(body)
        if not self.allow_host_arguments:
            await self._refuse_host_arguments(body.env_id, kwargs)
        try:
            env = await self.pool.run(make_stack, body, max_turns, kwargs)
        except PermissionError as exc:
            raise ApiError(403, str(exc)) from None
        except (ConfigError, TypeError, ValueError) as exc:
            raise ApiError(400, f"cannot make {body.env_id}: {exc}") from None
        if render_mode is not None and getattr(env, "render_mode", None) != render_mode:
            await self.pool.run(env.close)
            raise ApiError(400, f"{body.env_id} did not take render_mode {render_mode!r} (it renders as "
                                f"{getattr(env, 'render_mode', None)!r})")
        return Session(id=uuid.uuid4().hex, env_id=body.env_id, env=env, max_turns=max_turns, transport=transport,
                       inline=self.inline.eligible(body.env_id, env, bool(body.wrappers or body.outer_wrappers)))

    async def _refuse_host_arguments(self, env_id: str, kwargs: dict[str, Any]) -> None:
        """403 when ``kwargs`` sets an argument ``env_id`` declares as reaching the server's own
        machine (files, processes, network, isolation), or ``make``'s own ``server`` (a session
        relayed to a server the client names): its operator alone may set those."""
        try:
            declared = await self.pool.run(host_arguments, env_id)
        except Exception:  # noqa: BLE001 - an entry point that does not import: make() says why
            declared = frozenset()
        refused = sorted((declared | MAKE_HOST_ARGUMENTS) & set(kwargs))
        if refused:
            raise ApiError(403, f"{env_id}: {', '.join(refused)} would reach the server's own files, processes or "
                                f"network; a client may not set {'it' if len(refused) == 1 else 'them'} (the "
                                f"server's operator may allow it: serve-env --allow-host-arguments)")

    async def _render_arguments(self, body: CreateRequest) -> tuple[dict[str, Any], str | None]:
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
            declared = await self.pool.run(declared_render_modes, body.env_id)
        except Exception:  # noqa: BLE001 - an entry point that does not import: make() says why
            declared = None
        check_render_mode(body.env_id, render_mode, declared)
        return {**kwargs, "render_mode": render_mode}, render_mode

    async def close(self, session: Session, *, deadline: float | None = None) -> None:
        """Close ``session``'s env once (waiting for a call in progress, an abandoned one
        included, and for the env's ``close`` itself until ``deadline`` on the
        ``time.monotonic`` clock if given: a ``close`` still running then is left) and forget it.

        The session stays listed until its env is closed, so that :meth:`shutdown` waits for a
        close under way (the reaper's, a DELETE's) instead of missing it; it is forgotten and
        counted even when this coroutine is cancelled meanwhile (the server stopping)."""
        async with session.lock:
            if session.closed:
                return
            await self._wait_abandoned(session, deadline)
            session.closed = True
            try:
                closing = self._on_threads(session, session.env.close)
                if deadline is None:
                    await closing
                else:
                    await asyncio.wait_for(closing, max(0.0, deadline - time.monotonic()))
            except Exception:  # noqa: BLE001 - a failing close (or one past the deadline) must not keep the session
                pass
            finally:
                self.sessions.pop(session.id, None)
                self.metrics.closed += 1

    async def reset(self, session: Session, body: ResetRequest) -> dict[str, Any]:
        """The ``reset`` body: ``{"observation", "info"}``."""
        async with session.lock:
            await self._open_and_idle(session)
            try:
                if self.inline.active(session):
                    observation, info = self.inline.call(session.env_id, session.env.reset, seed=body.seed,
                                                         options=body.options)
                else:
                    observation, info = await self._on_threads(session, session.env.reset, seed=body.seed,
                                                               options=body.options)
            except (ConfigError, TypeError, ValueError) as exc:
                raise ApiError(400, f"reset refused: {exc}") from None
            session.last_used = time.monotonic()
            session.episodes += 1
        self.metrics.resets += 1
        return {"observation": encode_observation(observation), "info": json_safe(info)}

    async def step(self, session: Session, body: StepRequest) -> dict[str, Any]:
        """The ``step`` body: ``{"observation", "reward", "terminated", "truncated", "info"}``,
        stepped on the event loop for an inline session, on the threads otherwise."""
        async with session.lock:
            await self._open_and_idle(session)
            if self.inline.active(session):
                return self.step_inline(session, body.action)
            started = time.perf_counter()
            try:
                outcome = await self._on_threads(session, session.env.step, body.action)
            except ResetNeeded as exc:
                raise ApiError(409, str(exc)) from None
            return self._stepped(session, started, outcome)

    def step_inline(self, session: Session, action: Any) -> dict[str, Any]:
        """Step an inline session here, on the event loop; the caller holds its lock, or knows it
        free and runs this without yielding to the loop (nothing else can take it meanwhile)."""
        started = time.perf_counter()
        try:
            outcome = self.inline.call(session.env_id, session.env.step, action)
        except ResetNeeded as exc:
            raise ApiError(409, str(exc)) from None
        return self._stepped(session, started, outcome)

    def _stepped(self, session: Session, started: float, outcome: tuple) -> dict[str, Any]:
        observation, reward, terminated, truncated, info = outcome
        metrics = self.metrics
        metrics.step_latencies.append(time.perf_counter() - started)
        session.steps += 1
        session.last_used = time.monotonic()
        metrics.steps += 1
        return {"observation": encode_observation(observation), "reward": json_safe(float(reward)),
                "terminated": bool(terminated), "truncated": bool(truncated), "info": json_safe(info)}

    async def render(self, session: Session) -> dict[str, Any]:
        """The ``render`` body (:class:`RenderResponse`), rendered and encoded on the threads."""
        async with session.lock:
            await self._open_and_idle(session)
            try:  # PNG encoding is CPU work too: off the event loop with the render
                encoded = await self._on_threads(session, lambda: encode_frame(session.env.render()))
            except ResetNeeded as exc:
                raise ApiError(409, str(exc)) from None
            except FrameError as exc:
                raise ApiError(500, f"{session.env_id}: {exc}") from None
            session.last_used = time.monotonic()
        return RenderResponse(render_mode=getattr(session.env, "render_mode", None), frame=encoded).model_dump()

    async def random_action(self, session: Session, body: RandomActionRequest) -> dict[str, Any]:
        """The ``random_action`` body: the environment's own ``random_action(rng)``, drawn on the
        threads (and the generator's state after it when the request gave one)."""
        async with session.lock:
            await self._open_and_idle(session)
            if not session.episodes:
                raise ApiError(409, "random_action before the first reset: reset the session first")
            draw = getattr(session.env.unwrapped, "random_action", None)
            if draw is None:
                raise ApiError(501, f"{session.env_id} has no random_action")
            rng = generator_from(body)
            try:
                action = await self._on_threads(session, draw, rng)
            except NotImplementedError as exc:
                raise ApiError(501, str(exc) or f"{session.env_id} has no random_action") from None
            session.last_used = time.monotonic()
        answer = {"action": json_safe(action)}
        if body.state is not None:
            answer["state"] = json_safe(rng.getstate())
        return answer

    # ------------------------------------------------------------------ calls on the threads
    async def _on_threads(self, session: Session, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``function(*args, **kwargs)`` on the threads for ``session``, whose lock the caller
        holds. A caller cancelled while the call runs (a dropped connection's handler) leaves it
        running on the environment: ``session.abandoned_call`` marks its end, which the
        session's next call waits for (see :meth:`_wait_abandoned`)."""
        call = AbandonableCall(function, *args, **kwargs)
        try:
            return await self.pool.run(call)
        except asyncio.CancelledError:
            session.abandoned_call = call.abandon()
            raise

    async def _open_and_idle(self, session: Session) -> None:
        """404 for a closed ``session``; else wait until no abandoned call runs on its env (the
        caller holds its lock)."""
        if session.closed:
            raise ApiError(404, f"session {session.id!r} was closed")
        await self._wait_abandoned(session)

    @staticmethod
    async def _wait_abandoned(session: Session, deadline: float | None = None) -> None:
        """Wait for the end of an abandoned call on ``session``'s environment (until ``deadline``,
        on the ``time.monotonic`` clock, if given)."""
        ended = session.abandoned_call
        if ended is None:
            return
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        await asyncio.wait([ended], timeout=timeout)
        if ended.done():
            session.abandoned_call = None
