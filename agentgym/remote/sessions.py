"""The environment server's sessions: what one is, how its environment is made, and the server's
counters and inline-step policy -- the parts the
:class:`~agentgym.remote.session_service.SessionService` holds, with no transport in it (no
HTTP, no WebSocket, no event loop calls).

- :class:`Session`: one environment instance and its bookkeeping (turns, episodes, the
  transport it was made on, a WebSocket session's resume token and holder);
  :meth:`Session.describe` is the ``SessionInfo`` body both transports answer.
- :func:`make_stack`: a session's environment, ``make`` plus the wrappers a create request
  names as data; a wrapper that is not ``remote_safe`` raises ``PermissionError`` and nothing is
  left open.
- :func:`declared_render_modes` / :func:`check_render_mode`: a requested ``render_mode``
  checked against what the environment's class declares, before it is made;
  :func:`generator_from`: the ``random.Random`` a ``random_action`` request asks for.
- :class:`Metrics`: the counters and step-latency window served as ``/metrics``.
- :class:`InlineSteps`: which sessions run ``reset`` and ``step`` on the event loop, and the
  guard that demotes an environment id whose inline calls run over budget (the policy is
  described under "Inline steps" in :mod:`agentgym.remote.server`).

A refusal is an :class:`ApiError` (an HTTP status and a message): the app writes it as an error
body over HTTP and as an ``error`` message over the WebSocket.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections import deque
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Callable, Iterable

import gymnasium as gym

from agentgym.registry import make
from agentgym.remote.schemas import CreateRequest, RandomActionRequest, SessionInfo
from agentgym.runtime.worker import as_error
from agentgym.spaces import describe_space
from agentgym.trajectory import json_safe
from agentgym.wrappers.specs import WrapperSpec, build_wrappers

LATENCY_WINDOW = 10_000  # step latencies kept for the percentiles in /metrics
# The demotion warning is the server's: logged under its name, as operators filter it.
log = logging.getLogger("agentgym.remote.server")


class ApiError(Exception):
    """An answer other than 2xx, raised by a handler and written by the app's error handler."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


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
    holder: Any = None  # that connection (a ws_connection.Connection), while attached
    detached_at: float | None = None  # when a resumable session's connection dropped
    inline: bool = False  # reset and step run on the event loop (see InlineSteps)
    #: The end of an environment call whose caller stopped waiting (a dropped connection's
    #: handler was cancelled) while it ran in its thread: the session's next call waits for it.
    abandoned_call: asyncio.Future | None = None

    @property
    def busy(self) -> bool:
        """A call holds the session, or an abandoned call still runs on its environment."""
        return self.lock.locked() or (self.abandoned_call is not None and not self.abandoned_call.done())

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


def _creator(env_id: str) -> Any:
    """The class or factory ``env_id`` is registered with, imported but not called."""
    entry_point = gym.spec(env_id).entry_point
    return gym.envs.registration.load_env_creator(entry_point) if isinstance(entry_point, str) else entry_point


def declared_render_modes(env_id: str) -> list[str] | None:
    """The ``metadata["render_modes"]`` of ``env_id``'s class, read without making it (``None``
    when the entry point is a factory whose class is unknown until it runs)."""
    metadata = getattr(_creator(env_id), "metadata", None)
    if not isinstance(metadata, dict) or not isinstance(metadata.get("render_modes"), (list, tuple)):
        return None
    return [str(mode) for mode in metadata["render_modes"]]


def host_arguments(env_id: str) -> frozenset[str]:
    """The ``host_arguments`` ``env_id``'s class or factory declares (see
    :attr:`agentgym.core.LLMEnv.host_arguments`), read without making it."""
    declared = getattr(_creator(env_id), "host_arguments", None)
    return frozenset(declared) if isinstance(declared, (set, frozenset, tuple, list)) else frozenset()


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
        except Exception:
            raise
        except BaseException as exc:  # a SystemExit raised on the loop would stop the server: a 500 instead
            raise as_error(exc) from exc
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


def make_stack(body: CreateRequest, max_turns: int | None, kwargs: dict[str, Any]) -> Any:
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
