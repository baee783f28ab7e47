"""``EnvHost``: one worker actor of a :class:`~agentgym.ray.RayEnvPool`, hosting many environments.

A host keeps environments under string keys (the pool chooses them). Every hosted environment
has its own :class:`~agentgym.runtime.worker.SlotWorker`, a daemon thread that builds it and runs
all its calls, so an environment bound to its creating thread works and a hung environment
blocks nobody else on the same worker. The actor itself is an asyncio actor: a call waits on
its environment's thread without holding a thread of the actor, so a thousand calls can be in
flight (``max_concurrency``) and a hung one costs only the environment's own thread.

What crosses the actor boundary is plain data: observations as the environment returns them,
rewards as ``float``, the end flags as ``bool``, and ``info`` through
:func:`~agentgym.trajectory.json_safe`. An exception an environment raises is raised by the
actor method, so the caller sees it as its own type (Ray's ``RayTaskError(<type>)``, a subclass
of both, where the type can be subclassed).

:meth:`EnvHost.batch` runs calls on many environments of this worker at once, each in its own
thread, within one time limit, and reports each call's outcome as data; it is what makes one
Ray call per worker enough for a whole vector step.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import Future
from traceback import format_exception
from typing import Any, Callable

from agentgym.trajectory import json_safe

from agentgym.runtime.worker import SlotWorker, hung_thread_count

_TRACEBACK_FRAMES = 6  # the innermost frames say where an environment broke; the rest is noise

#: what :meth:`EnvHost.batch` accepts, and what each runs in the environment's thread
BATCH_METHODS = ("reset", "rebuild", "step", "close")


class EnvNotHostedError(LookupError):
    """No environment lives under this key on this worker (closed, abandoned or never opened)."""


class EnvAbandonedError(RuntimeError):
    """The environment was abandoned (``RayEnvRef.abandon``) while this call waited on it."""


# ------------------------------------------------------------- run in an environment's thread
def build_env(factory: Callable[[], Any]) -> Any:
    return factory()


def reset_env(env: Any, seed: int | None, options: dict[str, Any] | None) -> tuple[Any, dict[str, Any]]:
    observation, info = env.reset(seed=seed, options=options)
    return observation, json_safe(dict(info))


def step_env(env: Any, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
    observation, reward, terminated, truncated, info = env.step(action)
    return observation, float(reward), bool(terminated), bool(truncated), json_safe(dict(info))


def rebuild_env(failed_env: Any, factory: Callable[[], Any], seed: int | None,
                options: dict[str, Any] | None) -> tuple[Any, Any, dict[str, Any]]:
    """Close a failed environment (if any), build a fresh one and reset it: ``(env, obs, info)``."""
    if failed_env is not None:
        close_quietly(failed_env)
    env = factory()
    return (env, *reset_env(env, seed, options))


def apply_fn(env: Any, fn: Callable[[Any], Any]) -> Any:
    return fn(env)


def close_env(env: Any) -> None:
    env.close()


def close_quietly(env: Any) -> None:
    try:
        env.close()
    except Exception:  # noqa: BLE001 - it failed or is being dropped; its close failing changes nothing
        pass


def _close_late_env(future: Future) -> None:
    """A build that was abandoned finished after all: close what it built (in its own thread)."""
    if not future.cancelled() and future.exception() is None:
        result = future.result()
        close_quietly(result[0] if isinstance(result, tuple) else result)


def _unless_abandoned(hosted: _Hosted, fn: Callable[..., Any], *args: Any) -> Any:
    """A call queued behind a hung one must not run on the environment once it is abandoned."""
    if hosted.abandoned:
        raise EnvAbandonedError(f"the environment under key {hosted.key!r} was abandoned before this call ran")
    return fn(*args)


def waiter_for(future: Future) -> asyncio.Future:
    """An asyncio future settled with ``future``'s outcome. Unlike ``asyncio.wrap_future``,
    cancelling it leaves ``future`` alone (a call queued in a thread is not silently dropped)."""
    loop = asyncio.get_running_loop()
    waiter = loop.create_future()

    def settle(_: Future) -> None:
        if waiter.done():
            return
        if future.cancelled():
            waiter.cancel()
        elif future.exception() is not None:
            waiter.set_exception(future.exception())
        else:
            waiter.set_result(future.result())

    def on_done(_: Future) -> None:
        try:
            loop.call_soon_threadsafe(settle, future)
        except RuntimeError:  # the loop is closed: the worker is shutting down, nobody waits
            pass

    future.add_done_callback(on_done)
    return waiter


class _Hosted:
    """One hosted environment: its factory, its thread, and the calls waiting on it."""

    __slots__ = ("key", "factory", "worker", "env", "waiters", "abandoned", "last", "next_seq", "turns")

    def __init__(self, key: str, factory: Callable[[], Any]) -> None:
        self.key = key
        self.factory = factory
        self.worker: SlotWorker | None = None  # started by the first submit
        self.env: Any = None  # None until built, and after a call hung (never touched again)
        self.waiters: set[asyncio.Future] = set()
        self.abandoned = False
        self.last: Future | None = None  # the latest call submitted to the thread
        self.next_seq = 0  # the number of the next call (RayEnvRef numbers its calls) to queue
        self.turns: dict[int, asyncio.Future] = {}  # calls that arrived before their turn

    def next_turn(self) -> None:
        """The call numbered ``next_seq`` is queued: let the next one go."""
        self.next_seq += 1
        turn = self.turns.pop(self.next_seq, None)
        if turn is not None and not turn.done():
            turn.set_result(None)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Run ``fn(*args)`` in the environment's thread (a fresh one if the last was abandoned)."""
        if self.worker is None:
            self.worker = SlotWorker(f"agentgym-ray-env-{self.key[:8]}")
        self.last = self.worker.submit(_unless_abandoned, self, fn, *args)
        return self.last

    @property
    def busy(self) -> bool:
        """A call is running in the environment's thread (or queued behind one that is)."""
        return self.worker is not None and self.worker.busy

    def abandon_thread(self) -> None:
        """The running call outlasted its time: leave the thread to it (counted in
        ``hung_thread_count``) and never use the environment again. Its ``close`` is queued
        behind the hung call, and a hung build's result is closed when (if) it returns."""
        worker, self.worker = self.worker, None
        env, self.env = self.env, None
        if worker is None:
            return
        if worker.busy:
            if env is not None:
                worker.submit(close_quietly, env)
            elif self.last is not None:
                self.last.add_done_callback(_close_late_env)
            worker.abandon()
        else:
            if env is not None:
                worker.submit(close_quietly, env)
            worker.shutdown(wait=False)

    def release(self, *, close_env: bool = False) -> None:
        """Drop the environment for good: its thread ends after the calls already queued (which
        no longer run) or, if a call is running, is abandoned as in :meth:`abandon_thread`; the
        environment is closed in it if ``close_env`` or a call was running; every call waiting
        on it raises :class:`EnvAbandonedError`."""
        self.abandoned = True
        if self.busy or close_env:
            self.abandon_thread()
        elif self.worker is not None:
            self.worker.shutdown(wait=False)
            self.worker = None
        for waiter in list(self.waiters):
            waiter.cancel()


class EnvHost:
    """The worker actor: environments under string keys, each in its own thread.

    Use it through :class:`~agentgym.ray.RayEnvPool`; it stays a plain class (the pool wraps it
    with ``ray.remote``) so its contract can be read here.
    """

    def __init__(self) -> None:
        self._envs: dict[str, _Hosted] = {}
        self._stopped = asyncio.Event()
        self._batches = 0  # batch calls answered (one per vector step and worker)

    # ------------------------------------------------------------------ the worker
    def pid(self) -> int:
        return os.getpid()

    async def watch(self) -> None:
        """Never returns while the worker lives: the pool waits on it to learn of its death."""
        await self._stopped.wait()

    def stats(self) -> dict[str, Any]:
        """``pid``, ``envs`` (hosted now), ``hung_threads`` (calls still hung in abandoned threads)
        and ``batches`` (:meth:`batch` calls so far)."""
        return {"pid": os.getpid(), "envs": len(self._envs), "hung_threads": hung_thread_count(),
                "batches": self._batches}

    # ------------------------------------------------------------------ one environment
    async def open(self, key: str, factory: Callable[[], Any]) -> dict[str, Any]:
        """Build ``factory()`` in a new thread under ``key``; its pid, spaces and metadata."""
        if key in self._envs:
            raise ValueError(f"an environment is already hosted under key {key!r}")
        hosted = _Hosted(key, factory)
        self._envs[key] = hosted
        try:
            hosted.env = await self._run(hosted, hosted.submit(build_env, factory))
        except BaseException:
            if self._envs.get(key) is hosted:
                del self._envs[key]
                hosted.release()
            raise
        env = hosted.env
        return {"pid": os.getpid(), "observation_space": env.observation_space,
                "action_space": env.action_space, "metadata": dict(getattr(env, "metadata", None) or {})}

    async def reset(self, key: str, seed: int | None = None, options: dict[str, Any] | None = None,
                    seq: int | None = None):
        return await self._call(self._get(key), seq, reset_env, seed, options)

    async def step(self, key: str, action: Any, seq: int | None = None):
        return await self._call(self._get(key), seq, step_env, action)

    async def apply(self, key: str, fn: Callable[[Any], Any], seq: int | None = None) -> Any:
        return await self._call(self._get(key), seq, apply_fn, fn)

    async def close(self, key: str, seq: int | None = None) -> None:
        """Close the environment in its thread (after the calls queued before), then drop it."""
        hosted = self._get(key)
        try:
            await self._call(hosted, seq, close_env)
        finally:
            if self._envs.get(key) is hosted:
                del self._envs[key]
                hosted.release()

    async def abandon(self, key: str) -> bool:
        """Drop ``key`` at once: a call still running is left in its thread (counted as hung),
        calls waiting on it raise :class:`EnvAbandonedError`; an idle environment is closed in
        its thread. Returns whether a call was left hung; unknown keys are ignored."""
        hosted = self._envs.pop(key, None)
        if hosted is None:
            return False
        hung = hosted.busy
        hosted.release(close_env=True)
        return hung

    # ------------------------------------------------------------------ many at once
    async def batch(self, calls: list[tuple[str, str, Any]], timeout: float | None) -> list[tuple]:
        """Run ``calls`` — ``(key, method, argument)`` with ``method`` one of ``"reset"``
        (argument ``(seed, options)``), ``"rebuild"`` (the same: close the environment if any,
        build a fresh one from its factory, reset it), ``"step"`` (the action) or ``"close"``
        (``None``; the key is dropped) — each in its environment's thread, all at once, and
        wait at most ``timeout`` seconds in all.

        Returns one outcome per call, in order, as plain data:

        * ``("ok", result)``: reset/rebuild ``(observation, info)``, step the 5-tuple,
          close ``None``;
        * ``("raised", "<Type>: <message>", traceback)``: the environment raised; it stays
          hosted, to be rebuilt;
        * ``("timeout", hung_threads)``: the call outlasted ``timeout``; its thread and
          environment are abandoned (``hung_threads`` counts this worker's hung calls now) and
          the next ``"rebuild"`` builds afresh in a new thread;
        * ``("missing", why)``: nothing is hosted under the key.
        """
        self._batches += 1
        outcomes: list[tuple | None] = [None] * len(calls)
        running: dict[asyncio.Future, tuple[int, _Hosted, str]] = {}
        for n, (key, method, argument) in enumerate(calls):
            if method not in BATCH_METHODS:
                raise ValueError(f"batch method must be one of {BATCH_METHODS}, got {method!r}")
            hosted = self._envs.get(key)
            if hosted is None or (hosted.env is None and method != "rebuild"):
                outcomes[n] = ("missing", f"no environment under key {key!r} on this worker "
                                          "(closed, abandoned, hung or never built)")
                continue
            if method == "rebuild":
                future = hosted.submit(rebuild_env, hosted.env, hosted.factory, *argument)
                hosted.env = None  # whatever happens next, the failed environment is not used again
            elif method == "reset":
                future = hosted.submit(reset_env, hosted.env, *argument)
            elif method == "step":
                future = hosted.submit(step_env, hosted.env, argument)
            else:
                future = hosted.submit(hosted.env.close)
            running[waiter_for(future)] = (n, hosted, method)
        done: set[asyncio.Future] = set()
        if running:
            done, _ = await asyncio.wait(running, timeout=timeout)
        for waiter, (n, hosted, method) in running.items():
            if waiter not in done:
                waiter.cancel()  # a call still queued behind another never runs
                hosted.abandon_thread()
                if method == "close":
                    self._drop(hosted)
                outcomes[n] = ("timeout", hung_thread_count())
                continue
            exc = waiter.exception()
            if method == "close":
                self._drop(hosted)
            if exc is not None:
                frames = format_exception(type(exc), exc, exc.__traceback__, limit=-_TRACEBACK_FRAMES)
                outcomes[n] = ("raised", f"{type(exc).__name__}: {exc}", "".join(frames))
            elif method == "rebuild":
                hosted.env, observation, info = waiter.result()
                outcomes[n] = ("ok", (observation, info))
            else:
                outcomes[n] = ("ok", waiter.result())
        return outcomes  # type: ignore[return-value]

    # ------------------------------------------------------------------ helpers
    def _get(self, key: str) -> _Hosted:
        hosted = self._envs.get(key)
        if hosted is None:
            raise EnvNotHostedError(f"no environment under key {key!r} on this worker (pid {os.getpid()}): "
                                    "it was closed or abandoned, or never opened")
        if hosted.env is None:
            raise EnvNotHostedError(f"the environment under key {key!r} is not built (its build hung or failed)")
        return hosted

    def _drop(self, hosted: _Hosted) -> None:
        if self._envs.get(hosted.key) is hosted:
            del self._envs[hosted.key]
        hosted.release()

    async def _call(self, hosted: _Hosted, seq: int | None, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(env, *args)`` in the environment's thread, after the calls numbered before
        ``seq`` were queued there (``None``: at once), and wait for its result."""
        if seq is not None and seq != hosted.next_seq:
            await self._wait_turn(hosted, seq)
        try:
            if hosted.env is None:
                raise EnvNotHostedError(f"the environment under key {hosted.key!r} is gone (a call on it hung)")
            future = hosted.submit(fn, hosted.env, *args)
        finally:
            if seq is not None:
                hosted.next_turn()
        return await self._run(hosted, future)

    async def _wait_turn(self, hosted: _Hosted, seq: int) -> None:
        if seq < hosted.next_seq:
            raise ValueError(f"call number {seq} on key {hosted.key!r} was used already")
        turn = asyncio.get_running_loop().create_future()
        hosted.turns[seq] = turn
        await self._run(hosted, turn)

    async def _run(self, hosted: _Hosted, future: Future | asyncio.Future) -> Any:
        """Wait for ``future``; abandoning the environment wakes the wait with EnvAbandonedError."""
        waiter = waiter_for(future) if isinstance(future, Future) else future
        hosted.waiters.add(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if hosted.abandoned:
                raise EnvAbandonedError(f"the environment under key {hosted.key!r} was abandoned "
                                        "while this call waited on it") from None
            raise
        finally:
            hosted.waiters.discard(waiter)
