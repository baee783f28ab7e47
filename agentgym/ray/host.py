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

:meth:`EnvHost.calls` runs the calls a driver made on many environments of this worker in the
same event-loop tick (coalesced by :class:`~agentgym.ray.RayEnvRef`), each in its environment's
thread, and answers with their outcomes as data once they are all known — or, when some are
slow, with those known so far (the rest follow with :meth:`EnvHost.more`) — so one Ray call per
worker carries a whole vector step while a slow or hung environment delays nobody else's result.
"""

from __future__ import annotations

import asyncio
import os
import time
from concurrent.futures import Future
from traceback import format_exception
from typing import Any, Callable

from agentgym.trajectory import json_safe

from agentgym.runtime.worker import SlotWorker, hung_thread_count

_TRACEBACK_FRAMES = 6  # the innermost frames say where an environment broke; the rest is noise

#: how long a finished call of :meth:`EnvHost.calls` waits for the calls of its batch still
#: running before its outcome is sent, so that results arriving close together travel
#: together: a quarter of the time the batch has run so far, and at least 2 ms
COALESCE_HOLD_S = 0.002
COALESCE_HOLD_FRACTION = 0.25
_MAX_REMEMBERED = 10_000  # names remembered for a call that may never come (the oldest are forgotten)


class EnvNotHostedError(LookupError):
    """No environment lives under this key on this worker (closed, abandoned or never opened)."""


class EnvAbandonedError(RuntimeError):
    """The environment was abandoned (``RayEnvRef.abandon``) while this call waited on it."""


class UnsendableEnvError(RuntimeError):
    """An environment raised an exception that cannot be pickled; its type and message."""


# ------------------------------------------------------------- run in an environment's thread
def build_env(factory: Callable[[], Any]) -> Any:
    return factory()


def reset_env(env: Any, seed: int | None, options: dict[str, Any] | None) -> tuple[Any, dict[str, Any]]:
    observation, info = env.reset(seed=seed, options=options)
    return observation, json_safe(dict(info))


def step_env(env: Any, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
    observation, reward, terminated, truncated, info = env.step(action)
    return observation, float(reward), bool(terminated), bool(truncated), json_safe(dict(info))


def apply_fn(env: Any, fn: Callable[[Any], Any]) -> Any:
    return fn(env)


def close_env(env: Any) -> None:
    env.close()


def skip_call(env: Any) -> None:
    """Stands in for a call that was cancelled or could not be sent: takes its turn, does nothing."""


#: the methods :meth:`EnvHost.call` and :meth:`EnvHost.calls` run, by name
CALL_METHODS: dict[str, Callable[..., Any]] = {"reset": reset_env, "step": step_env, "skip": skip_call}


def close_quietly(env: Any) -> None:
    try:
        env.close()
    except Exception:  # noqa: BLE001 - it failed or is being dropped; its close failing changes nothing
        pass


def _close_late_env(future: Future) -> None:
    """A build that was abandoned finished after all: close what it built (in its own thread)."""
    if not future.cancelled() and future.exception() is None:
        close_quietly(future.result())


def _unless_abandoned(hosted: _Hosted, fn: Callable[..., Any], *args: Any) -> Any:
    """A call queued behind a hung one must not run on the environment once it is abandoned."""
    if hosted.abandoned:
        raise EnvAbandonedError(f"the environment under key {hosted.key!r} was abandoned before this call ran")
    return fn(*args)


def raised_outcome(exc: BaseException) -> tuple[str, BaseException, str]:
    """``("raised", exception, innermost frames as text)``, with an exception the caller can
    unpickle (the environment's own, else an :class:`UnsendableEnvError` saying what it was)."""
    from ray import cloudpickle  # how Ray sends it; imported here: this module stays plain

    frames = "".join(format_exception(type(exc), exc, exc.__traceback__, limit=-_TRACEBACK_FRAMES))
    try:
        cloudpickle.loads(cloudpickle.dumps(exc))
    except Exception:  # noqa: BLE001 - any failure to round-trip means it cannot be sent
        exc = UnsendableEnvError(f"{type(exc).__name__}: {exc}")
    exc.__traceback__ = None  # the frames travel as text; the objects in them must not
    return ("raised", exc, frames)


def _remember(names: dict[str, None], name: str) -> None:
    names[name] = None
    if len(names) > _MAX_REMEMBERED:
        del names[next(iter(names))]  # the oldest


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
        self._coalesced = 0  # Ray calls of call()/calls() received (one per worker and tick)
        self._collects = 0  # Ray calls of more() received
        self._tombstones: dict[str, None] = {}  # keys abandoned before their open arrived
        self._unfinished: dict[str, tuple[dict[asyncio.Future, int], float]] = {}  # batches calls() left running
        self._forgotten: dict[str, None] = {}  # batches forgotten while a more() was answering

    # ------------------------------------------------------------------ the worker
    def pid(self) -> int:
        return os.getpid()

    async def watch(self) -> None:
        """Never returns while the worker lives: the pool waits on it to learn of its death."""
        await self._stopped.wait()

    def stats(self) -> dict[str, Any]:
        """``pid``, ``envs`` (hosted now), ``hung_threads`` (calls still hung in abandoned threads)
        ``batches`` (the Ray calls of :meth:`call` and :meth:`calls` so far: one per worker
        for all the calls a driver made in one event-loop tick) and ``collects`` (the Ray calls
        of :meth:`more`, for outcomes that were not ready with the others), ``unfinished``
        (batches with outcomes still to collect)."""
        return {"pid": os.getpid(), "envs": len(self._envs), "hung_threads": hung_thread_count(),
                "batches": self._coalesced, "collects": self._collects, "unfinished": len(self._unfinished)}

    # ------------------------------------------------------------------ one environment
    async def open(self, key: str, factory: Callable[[], Any]) -> dict[str, Any]:
        """Build ``factory()`` in a new thread under ``key``; its pid, spaces, metadata and
        render mode. A key abandoned before its open arrived (Ray does not order calls to an
        asyncio actor) is refused with :class:`EnvAbandonedError`."""
        if key in self._envs:
            raise ValueError(f"an environment is already hosted under key {key!r}")
        if key in self._tombstones:
            del self._tombstones[key]
            raise EnvAbandonedError(f"the environment under key {key!r} was abandoned before it was opened")
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
                "action_space": env.action_space, "metadata": dict(getattr(env, "metadata", None) or {}),
                "render_mode": getattr(env, "render_mode", None)}

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

    async def abandon(self, key: str) -> int:
        """Drop ``key`` at once: a call still running is left in its thread (counted as hung),
        calls waiting on it raise :class:`EnvAbandonedError`; an idle environment is closed in
        its thread. An unknown key is remembered, so that an open of it arriving later is
        refused. Returns how many calls are now hung in this worker's abandoned threads."""
        hosted = self._envs.pop(key, None)
        if hosted is None:
            _remember(self._tombstones, key)
        else:
            hosted.release(close_env=True)
        return hung_thread_count()

    # ------------------------------------------------------------------ coalesced calls
    async def call(self, entry: tuple[str, int | None, str, tuple]) -> tuple:
        """Run one call ``(key, seq, method, args)`` — ``method`` one of ``"reset"`` (args
        ``(seed, options)``), ``"step"`` (``(action,)``) or ``"skip"`` (``()``: only takes the
        turn ``seq``) — in its environment's thread, after the calls numbered before it, and
        return its outcome as data (never raises for the environment):

        * ``("ok", result)``: reset ``(observation, info)``, step the 5-tuple, skip ``None``;
        * ``("raised", exception, traceback)``: the call raised ``exception`` (the
          environment's own, or :class:`EnvNotHostedError` / :class:`EnvAbandonedError`;
          :class:`UnsendableEnvError` in place of one that cannot be pickled), ``traceback``
          its innermost frames as text.
        """
        self._coalesced += 1
        return await self._outcome(*entry)

    async def calls(self, batch: str, entries: list[tuple[str, int | None, str, tuple]]) -> tuple[list, bool]:
        """Run many :meth:`call` entries at once (each in its environment's thread, in its
        turn) and answer with the outcomes known so far: ``(outcomes, more)``, ``outcomes`` a
        list of ``(index in entries, outcome)``.

        It answers once every call has finished, or — once one has — when the others have not
        finished with it within a quarter of the time the batch has run so far
        (:data:`COALESCE_HOLD_FRACTION`, at least :data:`COALESCE_HOLD_S`), so a slow or hung
        environment delays no other's outcome for long. ``more`` then says that calls are still
        running: :meth:`more` with the same ``batch`` (a unique name the caller gives) answers
        the next of them the same way, :meth:`forget` drops them (they run on)."""
        self._coalesced += 1
        running = {asyncio.ensure_future(self._outcome(*entry)): n for n, entry in enumerate(entries)}
        return await self._some_outcomes(batch, running, time.monotonic())

    async def more(self, batch: str) -> tuple[list, bool]:
        """The next outcomes of ``batch`` (see :meth:`calls`); ``([], False)`` for a batch with
        nothing left (answered in full, or forgotten)."""
        self._collects += 1
        left = self._unfinished.pop(batch, None)
        if left is None:
            return [], False
        return await self._some_outcomes(batch, *left)

    def forget(self, batch: str) -> None:
        """Drop the outcomes ``batch`` has still to answer (the caller no longer waits for them);
        its calls run on. A :meth:`more` waiting on it answers, then drops the rest."""
        if self._unfinished.pop(batch, None) is None:
            _remember(self._forgotten, batch)

    async def _some_outcomes(self, batch: str, running: dict[asyncio.Future, int],
                             started: float) -> tuple[list, bool]:
        pending = set(running)
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        if pending:
            hold = max(COALESCE_HOLD_S, COALESCE_HOLD_FRACTION * (time.monotonic() - started))
            more, pending = await asyncio.wait(pending, timeout=hold)
            done |= more
        if pending:
            if batch in self._forgotten:
                del self._forgotten[batch]
            else:
                self._unfinished[batch] = ({task: running[task] for task in pending}, started)
        return [(running[task], task.result()) for task in done], bool(pending)

    async def _outcome(self, key: str, seq: int | None, method: str, args: tuple) -> tuple:
        try:
            fn = CALL_METHODS[method]
        except KeyError:
            return raised_outcome(ValueError(f"method must be one of {sorted(CALL_METHODS)}, got {method!r}"))
        try:
            return ("ok", await self._call(self._get(key), seq, fn, *args))
        except Exception as exc:  # noqa: BLE001 - reported as data: it is this call's outcome only
            return raised_outcome(exc)

    # ------------------------------------------------------------------ helpers
    def _get(self, key: str) -> _Hosted:
        hosted = self._envs.get(key)
        if hosted is None:
            raise EnvNotHostedError(f"no environment under key {key!r} on this worker (pid {os.getpid()}): "
                                    "it was closed or abandoned, or never opened")
        if hosted.env is None:
            raise EnvNotHostedError(f"the environment under key {key!r} is not built (its build hung or failed)")
        return hosted

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
