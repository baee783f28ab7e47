"""Coalescing: the ``reset``/``step`` calls made on the environments of one Ray worker in one
event-loop tick travel to that worker as **one** Ray call.

:meth:`RayEnvRef.areset <agentgym.ray.RayEnvRef.areset>` and :meth:`RayEnvRef.astep
<agentgym.ray.RayEnvRef.astep>` do not call the worker themselves: they queue their call with
the running loop's :class:`Coalescer` and return an asyncio future. The first call queued in a
tick schedules a flush for the loop's next tick (``loop.call_soon``), by which time every
coroutine woken in the same tick (the slots of a vector step, the episodes whose generations
arrived together) has queued its own. The flush sends each worker its calls: one call alone as
:meth:`EnvHost.call <agentgym.ray.host.EnvHost.call>`, several as one
:meth:`EnvHost.calls <agentgym.ray.host.EnvHost.calls>`, which answers when they have all
finished or, if some are slow, with the outcomes known so far; the rest are then collected with
:meth:`EnvHost.more <agentgym.ray.host.EnvHost.more>`, so a slow or hung environment holds up
no other call's outcome for long.

Each call keeps its own outcome, transparently:

* its result, or the environment's exception as Ray raises it for a plain call (``RayTaskError``
  that is also an instance of the environment's exception type, see :mod:`agentgym.ray.pool`);
* the worker's death: ``ray.exceptions.RayActorError`` for every call of the batch not
  answered yet;
* an argument Ray cannot pickle: a one-line ``TypeError`` naming the cause, for that call
  only (the others of its tick are sent);
* order: every call carries its environment's call number, taken when it is queued, so the
  worker runs one environment's calls in the order they were made, coalesced or not;
* cancellation (a caller's ``asyncio.wait_for`` timing out): the call's future is cancelled;
  a call cancelled before its flush is sent as a ``"skip"`` that only takes its turn; one
  already sent runs on (abandon the environment to stop waiting for it: ``ref.abandon()``).
  Once every future of a batch is settled or cancelled, nothing here waits on it any more
  (the worker is told to forget what is left of it).
"""

from __future__ import annotations

import asyncio
import threading
import uuid
import weakref
from dataclasses import dataclass
from typing import Any

import ray
import ray.exceptions

Entry = tuple[str, int, str, tuple]  # (key, call number, method, arguments): EnvHost.call's entry


class _CallFuture(asyncio.Future):
    """A coalesced call's future; it tells its delivery when a caller cancels it (no callback
    per future in the common case, where the delivery settles them all)."""

    def __init__(self, *, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop=loop)
        self.delivery: _Delivery | None = None

    def cancel(self, msg: Any = None) -> bool:
        cancelled = super().cancel(msg)
        if cancelled and self.delivery is not None:
            self.delivery.settled_elsewhere()
        return cancelled


class _Delivery:
    """The task that settles the futures of one batch, stopped once none is left to settle."""

    def __init__(self, calls: list[_Queued]) -> None:
        self.calls = calls
        self.task: asyncio.Task | None = None

    def settled_elsewhere(self) -> None:
        if self.task is not None and not self.task.done() and all(c.future.done() for c in self.calls):
            self.task.cancel()  # nobody waits for the rest of this Ray call


@dataclass(eq=False)
class _Queued:
    """One call waiting for its flush: where it goes, what it is, who waits for it."""

    worker: Any
    key: str
    seq: int
    method: str
    args: tuple
    future: _CallFuture

    def entry(self) -> Entry:
        if self.future.cancelled():  # nobody waits: keep the environment's turn, run nothing
            return (self.key, self.seq, "skip", ())
        return (self.key, self.seq, self.method, self.args)


class Coalescer:
    """The calls queued on one event loop in the current tick, per worker (see the module
    docstring). Used only from its loop, while it runs (it keeps no reference to the loop, so
    that the registry of coalescers, weak on loops, lets a loop go)."""

    def __init__(self) -> None:
        self._queued: dict[Any, list[_Queued]] = {}
        self._flush_scheduled = False
        self._deliveries: set[asyncio.Task] = set()  # strong references: running tasks must not be collected

    def add(self, worker: Any, key: str, seq: int, method: str, args: tuple) -> asyncio.Future:
        """Queue ``method(*args)`` on the environment ``key`` of ``worker`` (an object whose
        ``handle`` is the worker's actor handle); the future of its result."""
        loop = asyncio.get_running_loop()
        future = _CallFuture(loop=loop)
        self._queued.setdefault(worker, []).append(_Queued(worker, key, seq, method, args, future))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        return future

    def _flush(self) -> None:
        self._flush_scheduled = False
        queued, self._queued = self._queued, {}
        for worker, calls in queued.items():
            self._send(worker, calls)

    def _send(self, worker: Any, calls: list[_Queued]) -> None:
        try:
            if len(calls) == 1:
                delivery = self._deliver_one(worker.handle.call.remote(calls[0].entry()), calls[0])
            else:
                batch = uuid.uuid4().hex
                first = worker.handle.calls.remote(batch, [c.entry() for c in calls])
                delivery = self._deliver(worker, batch, first, calls)
        except Exception as exc:  # noqa: BLE001 - an argument that cannot be pickled, or Ray is down
            if len(calls) > 1:
                for call in calls:  # alone, so that only the call at fault fails
                    self._send(worker, [call])
            else:
                self._unsendable(worker, calls[0], exc)
            return
        watch = _Delivery(calls)
        watch.task = asyncio.get_running_loop().create_task(delivery)
        self._deliveries.add(watch.task)
        watch.task.add_done_callback(self._deliveries.discard)
        for call in calls:
            call.future.delivery = watch
        watch.settled_elsewhere()  # every caller may have cancelled already

    def _unsendable(self, worker: Any, call: _Queued, exc: Exception) -> None:
        if isinstance(exc, TypeError):  # Ray could not pickle an argument: its cause, not Ray's page
            exc = unsendable_error(f"the arguments of {call.method} {call.args!r:.120}", exc)
        if not call.future.done():
            call.future.set_exception(exc)
        try:  # the call's number must still be used, or the environment's later calls would wait for it
            worker.handle.call.remote((call.key, call.seq, "skip", ()))
        except Exception:  # noqa: BLE001 - Ray is down: no later call gets through either
            pass

    async def _deliver_one(self, pending: Any, call: _Queued) -> None:
        try:
            outcome = await pending
        except Exception as exc:  # noqa: BLE001 - the worker died (RayActorError), or Ray went down
            if not call.future.done():
                call.future.set_exception(exc)
            return
        settle(call, outcome)

    async def _deliver(self, worker: Any, batch: str, pending: Any, calls: list[_Queued]) -> None:
        try:
            while True:
                outcomes, more = await pending
                for index, outcome in outcomes:
                    settle(calls[index], outcome)
                if not more:
                    return
                if all(call.future.done() for call in calls):
                    break  # the callers still waiting cancelled meanwhile
                pending = worker.handle.more.remote(batch)
        except asyncio.CancelledError:  # every caller left (see _Delivery)
            _forget(worker, batch)
            raise
        except Exception as exc:  # noqa: BLE001 - the worker died (RayActorError), or Ray went down
            for call in calls:
                if not call.future.done():
                    call.future.set_exception(exc)
            return
        _forget(worker, batch)


def unsendable_error(what: str, exc: BaseException) -> TypeError:
    """Ray's report on an argument it cannot pickle (a page long, with colour codes) as a
    one-line ``TypeError`` saying that ``what`` cannot be sent, and why."""
    cause = exc.__cause__ or exc
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    why = f"{type(cause).__name__}: {lines[0]}" if lines else type(cause).__name__
    return TypeError(f"{what} cannot be sent to a Ray worker (it must be picklable): {why}")


def _forget(worker: Any, batch: str) -> None:
    try:
        worker.handle.forget.remote(batch)
    except Exception:  # noqa: BLE001 - Ray is down: so is the worker
        pass


def settle(call: _Queued, outcome: tuple) -> None:
    """Settle ``call``'s future with an :meth:`EnvHost.call <agentgym.ray.host.EnvHost.call>`
    outcome: its result, or the exception raised as Ray raises it for a plain call."""
    if call.future.done():
        return
    if outcome[0] == "ok":
        call.future.set_result(outcome[1])
        return
    _, exc, frames = outcome
    error = ray.exceptions.RayTaskError(f"EnvHost.{call.method}", frames, exc, proctitle=f"ray::EnvHost.{call.method}",
                                        pid=getattr(call.worker, "pid", None))
    call.future.set_exception(error.as_instanceof_cause())


_LOCK = threading.Lock()
_BY_LOOP: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Coalescer] = weakref.WeakKeyDictionary()


def coalescer() -> Coalescer:
    """The running event loop's :class:`Coalescer` (``RuntimeError`` outside a running loop)."""
    loop = asyncio.get_running_loop()
    with _LOCK:
        found = _BY_LOOP.get(loop)
        if found is None:
            found = _BY_LOOP[loop] = Coalescer()
        return found
