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
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from agentgym.runtime.handle import (
    CallFailure,
    EnvCallFailed,
    EnvHandle,
    StepResult,
    as_reset_result,
    as_step_result,
)

if TYPE_CHECKING:
    from agentgym.runtime.runtimes import EnvSpec

_CLOSE_TIMEOUT = 5.0  # closing a remote environment is best effort; never wait longer


class _RemoteBase(EnvHandle):
    """What both remote forms share: the timeout, the failure bookkeeping, the rebuild."""

    async def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        if self.closed:
            raise EnvCallFailed(CallFailure("reset on a closed environment handle"))
        if self.broken or not self._opened():
            await self._discard()
            await self.open()
        return as_reset_result(await self._guarded("reset", lambda: self._reset(seed, options)))

    async def step(self, action: Any) -> StepResult:
        self._refuse_if_broken("step")
        return as_step_result(await self._guarded("step", lambda: self._step(action)))

    async def open(self) -> None:
        if not self._opened() and not self.closed:
            await self._guarded("construction", self._open)
            self.broken = False

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            await self._discard()

    async def _guarded(self, method: str, call: Callable[[], Awaitable[Any]]) -> Any:
        try:
            return await asyncio.wait_for(call(), self.timeout)
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
        _raise_remote_error("reset", info)
        return observation, info

    async def _step(self, action: Any) -> Any:
        result = await self.env.astep(action)
        _raise_remote_error("step", result[4])
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


def _raise_remote_error(method: str, info: dict[str, Any]) -> None:
    """The client answers a lost server or session with an error result: make it a failure."""
    if "remote_error" in info:
        raise EnvCallFailed(CallFailure.lost(method, f"environment server: {info.get('error')}"))


class RayHandle(_RemoteBase):
    """An environment in a Ray worker actor of a :class:`~agentgym.ray.RayEnvPool`; the actor
    builds ``spec`` (pickled: its wrappers must be picklable, or data).

    A worker whose process died (``ray.exceptions.RayActorError``) is a failure that says so;
    the pool starts a replacement, on which the next reset builds a fresh environment.
    """

    def __init__(self, spec: EnvSpec, *, pool: Any, timeout: float | None = None) -> None:
        super().__init__(timeout)
        self.spec = spec
        self.pool = pool
        self.ref: Any = None

    def _opened(self) -> bool:
        return self.ref is not None

    async def _open(self) -> None:
        loop = asyncio.get_running_loop()
        opening = functools.partial(self.pool.open, self.spec, timeout=self.timeout)
        self.ref = await loop.run_in_executor(None, opening)  # builds the environment in its worker

    async def _reset(self, seed: int | None, options: dict[str, Any] | None) -> Any:
        return await self.ref.reset(seed=seed, options=options)

    async def _step(self, action: Any) -> Any:
        return await self.ref.step(action)

    async def _discard(self) -> None:
        ref, self.ref = self.ref, None
        if ref is None:
            return
        if self.broken:
            ref.abandon()  # it may be hung: drop it without waiting
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ref.close(), _CLOSE_TIMEOUT)

    def _failure(self, method: str, exc: BaseException) -> CallFailure:
        from ray.exceptions import RayActorError, RayTaskError

        if isinstance(exc, RayActorError):
            why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return CallFailure.lost(method, f"the Ray worker actor died ({type(exc).__name__}: {why})")
        if isinstance(exc, RayTaskError) and isinstance(getattr(exc, "cause", None), BaseException):
            return CallFailure.raised(method, exc.cause)  # the environment's own exception
        return CallFailure.raised(method, exc)
