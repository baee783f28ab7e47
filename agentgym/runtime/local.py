"""The local forms of :class:`~agentgym.runtime.EnvHandle`: an environment in a thread of its
own or on the event loop (:class:`LocalHandle`), or in a child process (:class:`ProcessHandle`).

Every call to the environment runs in the handle's :class:`~agentgym.runtime.SlotWorker`, one
dedicated daemon thread, so an environment bound to the thread that built it (a browser driven
through a synchronous API) always sees that thread, and a hung call blocks only its own
environment. With ``coroutines=True`` an environment that has its own ``areset``/``astep``
coroutines (an :class:`~agentgym.core.LLMEnv` with async hooks, an ``AsyncRemoteEnv``) is reset
and stepped on the running event loop instead, and a call that outlasts the timeout is
cancelled, which leaves nothing behind; building and closing still run in the thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from concurrent.futures import Future
from typing import Any, Awaitable, Callable

from agentgym.core import LLMEnv
from agentgym.runtime.handle import (
    CallFailure,
    EnvCallFailed,
    EnvFactory,
    EnvHandle,
    StepResult,
    as_reset_result,
    as_step_result,
    checked_env,
    raise_remote_error,
)
from agentgym.runtime.process_env import ProcessEnv, ProcessEnvDied
from agentgym.runtime.worker import SlotWorker, as_error

#: how long a close beside a hung call may take when the handle has no timeout
_CLOSE_TIMEOUT = 30.0
_KILLED_CALL_GRACE_S = 5.0  # a call waiting on a killed child process ends at once; bound it anyway


class LocalHandle(EnvHandle):
    """An environment built by ``factory`` and run in a thread of its own (see the module docstring).

    Args:
        factory: a zero-argument callable returning the environment; called again to replace
            an environment that failed.
        timeout: seconds each call (building included) may take.
        coroutines: reset and step an environment with its own ``areset``/``astep`` on the
            event loop.
        name: the thread's name (shows in ``py-spy`` dumps and thread listings).
    """

    def __init__(self, factory: EnvFactory, *, timeout: float | None = None, coroutines: bool = False,
                 name: str = "agentgym-env") -> None:
        super().__init__(timeout)
        self.factory = factory
        self.coroutines = coroutines
        self.name = name
        self.worker = SlotWorker(name)
        #: the environment (``None`` before it is built, and once a hung one was abandoned)
        self.env: Any = None
        #: the thread closing an LLMEnv beside its hung call, and that close's outcome
        self._beside_hung_close: tuple[threading.Thread, Future] | None = None

    # ------------------------------------------------------------ the handle's contract
    async def open(self) -> None:
        if self.env is None and not self.closed:
            await self._guarded("construction", self._build_env)

    async def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        if self.closed:
            raise EnvCallFailed(CallFailure("reset on a closed environment handle"))
        return await self._guarded("reset", self._reset, seed, options)

    async def step(self, action: Any) -> StepResult:
        self._refuse_if_broken("step")
        if self.env is None:  # never built (not reset yet): nothing to step, nothing broken
            raise EnvCallFailed(CallFailure("step before reset: call reset() first (the environment is not built yet)"))
        return await self._guarded("step", self._step, action)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            await self._close()
        except asyncio.CancelledError:
            # Cancelled while the environment closes (a rollout cancelled from outside): the
            # close already handed to the environment's thread goes on, and the thread ends
            # after it, instead of waiting for calls that will never come.
            self._release(wait=False)
            raise

    async def _close(self) -> None:
        error: BaseException | None = None
        if self.worker.busy:  # a call is still running (cancelled from outside): it is hung
            self._end_hung_call()
        elif self.env is not None:
            env, self.env = self.env, None
            closing = self.worker.submit(_close_quietly if self.broken else _close, env)
            try:
                await asyncio.wait_for(asyncio.wrap_future(closing), self.timeout)
            except asyncio.TimeoutError:
                self.env = env
                self._end_hung_call()
            except Exception as exc:  # noqa: BLE001 - re-raised once everything is released
                error = exc
        if self._beside_hung_close is not None:
            closing_thread, closed = self._beside_hung_close
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.wrap_future(closed), self.timeout or _CLOSE_TIMEOUT)
            if closed.done():
                closing_thread.join()
        self._release()
        if error is not None:
            raise error

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Run ``fn(env, *args)`` in the environment's thread (no timeout, no isolation: for
        attribute access such as Gymnasium's vector ``call``/``get_attr``)."""
        return self.worker.submit(fn, self.env, *args)

    # ------------------------------------------------------------ work in the environment's context
    async def _build_env(self, progress: list[str]) -> None:
        old, self.env = self.env, None
        self.env = await self._in_thread(_replace_env, old, self._make, progress)
        self.broken = False

    async def _reset(self, progress: list[str], seed: int | None, options: dict[str, Any] | None):
        if self.broken or self.env is None:
            await self._build_env(progress)
        env = self.env
        if self.coroutines and _has_own_coroutine(env, "areset"):
            observation, info = as_reset_result(await _as_error_on_loop(env.areset(seed=seed, options=options)))
        else:
            observation, info = as_reset_result(await self._in_thread(_reset_env, env, seed, options))
        raise_remote_error("reset", info)  # a RemoteEnv run here: its lost session is a failure
        return observation, info

    async def _step(self, progress: list[str], action: Any) -> StepResult:
        env = self.env
        if self.coroutines and _has_own_coroutine(env, "astep"):
            result = as_step_result(await _as_error_on_loop(env.astep(action)))
        else:
            result = as_step_result(await self._in_thread(_step_env, env, action))
        raise_remote_error("step", result.info)
        return result

    async def _in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        if fn is not _replace_env:  # resets and steps: the hot path, one loop wake-up per burst of results
            return await self.worker.submit_to_loop(fn, *args)
        future = self.worker.submit(fn, *args)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:  # a construction that finishes late: close what it built
            future.add_done_callback(_close_late_env)
            raise

    def _make(self) -> Any:
        """Build the environment (in the environment's thread); a factory that returns no
        environment is a ``TypeError`` naming it (:func:`~agentgym.runtime.handle.checked_env`)."""
        return checked_env(self.factory(), self.factory)

    # ------------------------------------------------------------ failures
    async def _guarded(self, method: str, body: Callable[..., Any], *args: Any) -> Any:
        """``body(progress, *args)`` within the timeout; a failure breaks the handle and is
        raised as :class:`EnvCallFailed`. ``progress`` gets ``"built"`` once a (re)build is
        done, so a timed-out reset that was still building reports the construction."""
        progress: list[str] = []
        rebuilding = self.broken or self.env is None
        try:
            return await asyncio.wait_for(body(progress, *args), self.timeout)
        except asyncio.TimeoutError:
            failure = self._timed_out(method if not (rebuilding and "built" not in progress) else "construction")
        except EnvCallFailed as failed:  # a remote environment's lost session (raise_remote_error)
            failure = failed.failure
        except Exception as exc:  # noqa: BLE001 - one environment's bug is its own
            failure = CallFailure.raised(method, exc)
        self.broken = True
        raise EnvCallFailed(failure)

    def _timed_out(self, method: str) -> CallFailure:
        if not self.worker.busy:  # a cancelled coroutine on the loop: nothing is left running
            return CallFailure.timed_out(method, self.timeout)
        ended = self._end_hung_call()
        return CallFailure.timed_out(method, self.timeout, hung=ended == "abandoned", killed=ended == "killed")

    def _end_hung_call(self) -> str:
        """End the call hung in the environment's thread the only way a thread allows: leave
        it (a daemon, counted in ``hung_thread_count``) with the environment's ``close`` queued
        behind it, close an :class:`~agentgym.core.LLMEnv` inside at once from a fresh thread,
        and give the handle a new thread. Returns ``"abandoned"``."""
        env, self.env = self.env, None
        if env is not None:
            with contextlib.suppress(RuntimeError):
                self.worker.submit(_close_quietly, env)  # runs when (if) the hung call returns
            unwrapped = getattr(env, "unwrapped", None)
            if isinstance(unwrapped, LLMEnv):
                self._beside_hung_close = _close_beside_hung_call(unwrapped)
        self.worker.abandon()
        self.abandoned += 1
        self.worker = SlotWorker(self.name)
        return "abandoned"

    def _release(self, wait: bool = True) -> None:
        """End the handle's thread after the calls it holds, joining it if ``wait`` and idle; an
        abandoned one ends by itself if its call returns."""
        self.worker.shutdown(wait=wait and not self.worker.busy)


class ProcessHandle(LocalHandle):
    """A :class:`LocalHandle` whose environment lives in a child process
    (:class:`~agentgym.runtime.ProcessEnv`; ``factory`` must be picklable): a call that
    outlasts the timeout kills that process, which ends the call at once, so nothing is
    abandoned; a fresh process is started at the next reset.

    Args:
        start_method: the ``multiprocessing`` start method (``"spawn"`` by default).
    """

    def __init__(self, factory: EnvFactory, *, timeout: float | None = None, start_method: str = "spawn",
                 name: str = "agentgym-env") -> None:
        super().__init__(factory, timeout=timeout, name=name)
        self.start_method = start_method
        #: the latest child process this handle started
        self.process: ProcessEnv | None = None
        self._process_lock = threading.Lock()
        self._killing = False

    def _make(self) -> ProcessEnv:
        env = ProcessEnv(self.factory, start_method=self.start_method, name=f"{self.name}-process")
        with self._process_lock:
            if self._killing:
                raise ProcessEnvDied(f"{env.name}: timed out before its process started")
            self.process = env  # before it starts, so that a timeout can kill it while it builds
        try:
            return env.start()
        except BaseException:
            env.kill()
            raise

    def _end_hung_call(self) -> str:
        if self.kill_process():
            self.env = None
            return "killed"
        return super()._end_hung_call()

    def kill_process(self) -> bool:
        """Kill the child process and wait for the call that was waiting on it to end; returns
        whether the handle's thread is free again. While it waits no new process may start: a
        rebuild on its way to start one fails instead of leaving a process nobody owns."""
        with self._process_lock:
            self._killing = True
            process, self.process = self.process, None
        try:
            if process is not None:
                process.kill()
            deadline = time.monotonic() + _KILLED_CALL_GRACE_S
            while self.worker.busy and time.monotonic() < deadline:
                time.sleep(0.005)
            return not self.worker.busy
        finally:
            with self._process_lock:
                self._killing = False

    def _release(self, wait: bool = True) -> None:
        super()._release(wait)
        if self.process is not None:  # e.g. built late, after its construction timed out
            self.process.kill()
            self.process = None


# ----------------------------------------------------------- work done in the environment's thread
# These functions never touch a handle: a call that was abandoned may finish at any later time.
def _step_env(env: Any, action: Any) -> Any:
    return env.step(action)


def _reset_env(env: Any, seed: int | None, options: dict[str, Any] | None) -> Any:
    return env.reset(seed=seed, options=options)


def _replace_env(failed_env: Any, make: EnvFactory, progress: list[str]) -> Any:
    """Close a failed environment (``None`` if there is none) and build a fresh one; appends
    ``"built"`` to ``progress`` once built."""
    if failed_env is not None:
        _close_quietly(failed_env)
    env = make()
    progress.append("built")
    return env


def _close(env: Any) -> None:
    env.close()


def _close_quietly(env: Any) -> None:
    """``env.close()``, whatever it raises: it failed already, or nobody waits for it."""
    with contextlib.suppress(Exception):
        env.close()


def _close_late_env(future: Future) -> None:
    """Close what a construction that timed out built after all (runs in its abandoned thread)."""
    if not future.cancelled() and future.exception() is None:
        _close_quietly(future.result())


def _close_beside_hung_call(env: LLMEnv) -> tuple[threading.Thread, Future]:
    """``env.close()`` in a fresh daemon thread (its own thread is hung, e.g. in ``play``):
    :meth:`LLMEnv.close` is safe beside a running call and releases the episode's resources."""
    done: Future = Future()

    def close() -> None:
        if not done.set_running_or_notify_cancel():
            return
        try:
            env.close()
            done.set_result(None)
        except BaseException as exc:  # noqa: BLE001 - reported through the future
            done.set_exception(exc)

    thread = threading.Thread(target=close, name=f"agentgym-close-{type(env).__name__}", daemon=True)
    thread.start()
    return thread, done


async def _as_error_on_loop(call: Awaitable[Any]) -> Any:
    """``await call``, a ``SystemExit`` or other exception that is no error passed on as an error
    (:func:`~agentgym.runtime.worker.as_error`): raised as itself, it would stop the event loop."""
    try:
        return await call
    except (Exception, asyncio.CancelledError):
        raise
    except BaseException as exc:
        raise as_error(exc) from exc


def _has_own_coroutine(env: Any, method: str) -> bool:
    """``env``'s ``method`` is a real coroutine: implemented by the class itself, or LLMEnv's
    for an environment with async hooks (which then awaits them), not LLMEnv's
    run-in-a-thread default."""
    if isinstance(env, LLMEnv) and env.has_async_hooks():
        return True
    implementation = getattr(type(env), method, None)
    return implementation is not None and implementation is not getattr(LLMEnv, method)
