"""The remote forms of :class:`~agentgym.runtime.EnvHandle`: an environment behind an
environment server (:class:`RemoteHandle`) or in a Ray worker actor (:class:`RayHandle`).

Nothing but data crosses to them: the environment is described by an
:class:`~agentgym.runtime.EnvSpec` (its id, constructor arguments, turn budget and wrappers as
:class:`~agentgym.wrappers.WrapperSpec`), actions and results are JSON-like values.

A remote environment cannot be stopped from here, only left: a call that outlasts the timeout
is cancelled (the server session or the actor's environment is then closed, or dropped), the
handle is broken, and the next reset opens a fresh one. A server that went away or an actor
whose process died is a :class:`~agentgym.runtime.CallFailure` that says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from agentgym.info import ErrorKind
from agentgym.runtime.handle import (
    CallFailure,
    EnvCallFailed,
    EnvHandle,
    EnvSpaces,
    StepResult,
    as_reset_result,
    as_step_result,
    raise_remote_error,
)

if TYPE_CHECKING:
    from agentgym.runtime.runtimes import EnvSpec

_CLOSE_TIMEOUT = 5.0  # closing a remote environment is best effort; never wait longer
_OWN: Any = object()  # _guarded's default timeout: the handle's own


class _RemoteBase(EnvHandle):
    """What both remote forms share: the timeout, the failure bookkeeping, the rebuild."""

    async def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        """Gymnasium's ``reset``; a build first, when the handle is broken or has none, counts
        toward the reset's ``timeout`` (as in every form), its untimed preparation aside."""
        if self.closed:
            raise EnvCallFailed(CallFailure("reset on a closed environment handle"))
        timeout = self.timeout
        if self.broken or not self._opened():
            await self._discard()
            building = await self._open_within()
            if timeout is not None:
                timeout = max(timeout - building, 0.0)
        return as_reset_result(await self._guarded("reset", lambda: self._reset(seed, options), timeout))

    async def step(self, action: Any) -> StepResult:
        self._refuse_if_broken("step")
        if not self._opened():  # never built (not reset yet): nothing to step, nothing broken
            raise EnvCallFailed(CallFailure("step before reset: call reset() first (the environment is not built yet)"))
        return as_step_result(await self._guarded("step", lambda: self._step(action)))

    async def open(self) -> None:
        await self._open_within()

    async def _open_within(self) -> float:
        """Build (unless built, or closed) within the timeout; the seconds the timed build took."""
        if self._opened() or self.closed:
            return 0.0
        await self._before_open()
        started = time.monotonic()
        await self._guarded("construction", self._open)
        self.broken = False
        return time.monotonic() - started

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            await self._discard()

    async def _guarded(self, method: str, call: Callable[[], Awaitable[Any]], timeout: float | None = _OWN) -> Any:
        """``call()`` within ``timeout`` (the handle's by default: what is left of it after a
        build); a failure breaks the handle and is raised as :class:`EnvCallFailed`, a timeout
        reported against the handle's ``timeout``."""
        try:
            return await asyncio.wait_for(call(), self.timeout if timeout is _OWN else timeout)
        except asyncio.TimeoutError:
            failure = CallFailure.timed_out(method, self.timeout)
        except EnvCallFailed as failed:
            failure = failed.failure
        except Exception as exc:  # noqa: BLE001 - the environment's error, or its host's
            failure = self._failure(method, exc)
        self.broken = True
        raise EnvCallFailed(failure)

    def _failure(self, method: str, exc: BaseException) -> CallFailure:
        return CallFailure.raised(method, exc)

    # the form's own work
    def _opened(self) -> bool:
        raise NotImplementedError

    async def _before_open(self) -> None:
        """Untimed preparation of a build (nothing by default)."""

    async def _open(self) -> None:
        raise NotImplementedError

    async def _reset(self, seed: int | None, options: dict[str, Any] | None) -> Any:
        raise NotImplementedError

    async def _step(self, action: Any) -> Any:
        raise NotImplementedError

    async def _discard(self) -> None:
        """Close the remote environment, best effort and briefly; forget it."""
        raise NotImplementedError


class RemoteHandle(_RemoteBase):
    """An environment in a session of an environment server, over one WebSocket
    (:class:`~agentgym.remote.AsyncRemoteEnv`); the server builds ``spec`` (wrappers as data).

    The client reconnects on a dropped connection and resumes its session; when that fails
    (the server is gone, the session expired) it answers an error result, which this handle
    raises as a :class:`~agentgym.runtime.CallFailure` naming the cause.
    """

    def __init__(self, spec: EnvSpec, *, server: str, api_key: str | None = None,
                 timeout: float | None = None) -> None:
        super().__init__(timeout)
        self.spec = spec
        self.server = server
        self.api_key = api_key
        self.env: Any = None

    def _opened(self) -> bool:
        return self.env is not None

    async def _open(self) -> None:
        from agentgym.remote.aclient import AsyncRemoteEnv

        turns = {} if self.spec.max_turns is None else {"max_turns": self.spec.max_turns}
        env = AsyncRemoteEnv(self.spec.env_id, server=self.server, api_key=self.api_key,
                             wrappers=self.spec.wrappers, outer_wrappers=self.spec.outer,
                             timeout=self.timeout or 30.0, **turns, **self.spec.kwargs)
        await env.open()
        self.env = env

    async def _reset(self, seed: int | None, options: dict[str, Any] | None) -> Any:
        observation, info = await self.env.areset(seed=seed, options=options)
        raise_remote_error("reset", info)
        return observation, info

    async def _step(self, action: Any) -> Any:
        result = await self.env.astep(action)
        raise_remote_error("step", result[4])
        return result

    async def _discard(self) -> None:
        env, self.env = self.env, None
        if env is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(env.aclose(), _CLOSE_TIMEOUT)

    def _failure(self, method: str, exc: BaseException) -> CallFailure:
        from agentgym.remote.aclient import RemoteEnvError

        if isinstance(exc, RemoteEnvError):
            return CallFailure.lost(method, str(exc))
        return CallFailure.raised(method, exc)


#: seconds a Ray worker may take to answer once one of its calls timed out, before it is
#: taken for frozen (or its node for unreachable), killed and replaced
DEFAULT_WORKER_GRACE_S = 10.0


@dataclass(frozen=True)
class RayCallFailure(CallFailure):
    """A :class:`~agentgym.runtime.CallFailure` with what Ray adds to ``info()``.

    Attributes:
        ray_error: the Ray exception's class name, when the worker died or did not answer
            (``info["ray_error"]``).
        hung_threads: after a timeout, how many calls are now hung in that worker's abandoned
            threads, this one included (``info["hung_threads"]``).
    """

    ray_error: str | None = None
    hung_threads: int | None = None

    def info(self) -> dict[str, Any]:
        info = super().info()
        if self.ray_error is not None:
            info["ray_error"] = self.ray_error
        if self.hung_threads is not None:
            info["hung_threads"] = self.hung_threads
        return info


class RayHandle(_RemoteBase):
    """An environment in a Ray worker actor of a :class:`~agentgym.ray.RayEnvPool`; the actor
    builds ``spec`` (an :class:`~agentgym.runtime.EnvSpec`, or any picklable zero-argument
    factory; pickled, so its wrappers must be picklable, or data).

    Resets and steps are *coalesced* (:mod:`agentgym.ray.coalesce`): the calls that RayHandles
    on one event loop make on one worker's environments in the same tick travel as one Ray
    call, each keeping its own outcome and this handle's ``timeout``.

    Failures, as :class:`RayCallFailure`:

    * the environment raised: ``"step raised <Type>: <message>"``, with the worker-side
      traceback and the exception itself;
    * the worker's process died (``ray.exceptions.RayActorError``): a failure that says so, for
      every call of this worker's environments; the pool starts a replacement worker;
    * a call outlasted ``timeout``: the environment is abandoned on its worker at once (a
      call still running stays in its thread there, ``info["hung_threads"]`` counts them);
      if the worker does not even confirm that within ``worker_grace`` seconds it is taken
      for frozen or unreachable, killed and replaced (``info["env_killed"]``), which fails
      every environment it hosted.

    The next reset builds a fresh environment, on the pool's least-loaded live worker.
    """

    def __init__(self, spec: EnvSpec | Callable[[], Any], *, pool: Any, timeout: float | None = None,
                 worker_grace: float = DEFAULT_WORKER_GRACE_S) -> None:
        super().__init__(timeout)
        self.spec = spec
        self.pool = pool
        self.worker_grace = worker_grace
        self.ref: Any = None
        self._interrupted = False  # a call was cancelled from outside: the environment may be busy

    def spaces(self) -> EnvSpaces | None:
        ref = self.ref
        if ref is None:
            return None
        return EnvSpaces(ref.observation_space, ref.action_space, dict(ref.metadata), ref.render_mode)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """``fn(env, *args)`` in the environment's thread on its worker (``fn`` and ``args``
        must be picklable; the result too)."""
        if self.ref is None:
            raise RuntimeError("the environment is not built (a failed one is rebuilt at the next reset)")
        return self.ref.apply(functools.partial(_call_with_args, fn, args)).future()

    def _opened(self) -> bool:
        return self.ref is not None

    async def _before_open(self) -> None:
        await self.pool.wait_started_async()  # a replacement worker's start-up is not the build's time

    async def _open(self) -> None:
        self.ref = await self.pool.open_async(self.spec)  # cancelled by the timeout: the build is abandoned
        self._interrupted = False

    # plain functions returning the coalesced call's future: awaited by ``asyncio.wait_for``
    # directly, with no task of its own per call
    def _reset(self, seed: int | None, options: dict[str, Any] | None) -> Awaitable[Any]:  # type: ignore[override]
        return self.ref.areset(seed, options)

    def _step(self, action: Any) -> Awaitable[Any]:  # type: ignore[override]
        return self.ref.astep(action)

    async def _guarded(self, method: str, call: Callable[[], Awaitable[Any]], timeout: float | None = _OWN) -> Any:
        try:
            return await super()._guarded(method, call, timeout)
        except asyncio.CancelledError:
            self._interrupted = True
            raise
        except EnvCallFailed as failed:
            if failed.failure.kind is ErrorKind.TIMEOUT and self.ref is not None:
                raise EnvCallFailed(await self._abandon_after_timeout(failed.failure)) from None
            raise

    async def _abandon_after_timeout(self, timed_out: CallFailure) -> RayCallFailure:
        ref, self.ref = self.ref, None
        hung_threads = await ref.abandon_and_wait(self.worker_grace)
        if hung_threads is not None:
            return RayCallFailure(timed_out.error, ErrorKind.TIMEOUT, hung_threads=hung_threads)
        if not self.pool.restart_worker(ref):  # replaced already: it had died
            return RayCallFailure(f"{timed_out.error}; its Ray worker (pid {ref.worker_pid}) is gone",
                                  ErrorKind.TIMEOUT, ray_error="RayActorError")
        return RayCallFailure(f"{timed_out.error}; its Ray worker (pid {ref.worker_pid}) did not answer within "
                              f"{self.worker_grace} s more (frozen, dead or unreachable): it was killed and replaced",
                              ErrorKind.TIMEOUT, killed=True, ray_error="GetTimeoutError")

    async def _discard(self) -> None:
        ref, self.ref = self.ref, None
        if ref is None:
            return
        if self._interrupted:
            ref.abandon()  # a cancelled call may still be running: drop it without waiting
            return
        try:
            await asyncio.wait_for(ref.close(), _CLOSE_TIMEOUT)
        except Exception:  # noqa: BLE001 - dead, hung or failing: dropped either way
            pass

    def _failure(self, method: str, exc: BaseException) -> CallFailure:
        from ray.exceptions import RayActorError, RayTaskError

        if isinstance(exc, RayActorError):
            pid = "?"
            if self.ref is not None:
                pid = self.ref.worker_pid
                self.pool.worker_failed(self.ref)  # replaced now, not when the monitor notices
            why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return RayCallFailure(f"{method} failed: the Ray worker actor died (pid {pid}, "
                                  f"{type(exc).__name__}: {why}); a replacement worker was started",
                                  ErrorKind.ENV_ERROR, ray_error=type(exc).__name__)
        if isinstance(exc, RayTaskError) and isinstance(getattr(exc, "cause", None), BaseException):
            cause = exc.cause  # the environment's own exception, raised in its worker
            frames = getattr(exc, "traceback_str", None) or str(exc)  # a dual-type instance has only its text
            return CallFailure(f"{method} raised {type(cause).__name__}: {cause}", ErrorKind.ENV_ERROR, frames,
                               exception=cause)
        return CallFailure.raised(method, exc)


def _call_with_args(fn: Callable[..., Any], args: tuple, env: Any) -> Any:
    return fn(env, *args)
