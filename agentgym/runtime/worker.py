"""A single-thread executor whose thread never keeps the interpreter from exiting, and the
process-wide count of the calls that hung in such threads.

Environment calls meet threads here: every local :class:`~agentgym.runtime.EnvHandle` (one per
vector slot, one per rollout episode) runs its environment's calls through a :class:`SlotWorker`,
abandons a hung one with :meth:`SlotWorker.abandon`, and the callers bound the leak with
:func:`check_hung_threads`.
"""

from __future__ import annotations

import asyncio
import math
import numbers
import queue
import threading
import warnings
import weakref
from concurrent.futures import Executor, Future
from typing import Any, Callable

#: the default of ``max_abandoned_threads`` (vector envs, ``make_vec``, ``RolloutConfig``)
DEFAULT_MAX_ABANDONED_THREADS = 32


class HungEnvironmentError(RuntimeError):
    """Too many environment calls are still hung in abandoned threads (see :func:`check_hung_threads`)."""


class HungEnvironmentWarning(RuntimeWarning):
    """An environment call outlasted its timeout; its thread (and environment) was abandoned."""


class CallExited(RuntimeError):
    """A call raised an exception that is no error: ``SystemExit`` (a library's argument parser
    exits on bad input), ``KeyboardInterrupt``, another ``BaseException``. See :func:`as_error`."""


def as_error(exc: BaseException) -> Exception:
    """``exc`` if it is an ``Exception``, else a :class:`CallExited` naming it (``exc`` its cause,
    its traceback kept): what a call in a worker thread or a child process raised, as the error
    its caller gets. Raised as itself in a coroutine, a ``SystemExit`` or ``KeyboardInterrupt``
    stops the whole event loop (asyncio re-raises them out of any task), so one environment's
    call would end every episode and the program instead of failing alone. A ``StopIteration``
    becomes a ``RuntimeError`` (its cause), as in a coroutine: an asyncio future refuses it, and
    the caller awaiting the call would wait until its timeout."""
    if isinstance(exc, (StopIteration, StopAsyncIteration)):  # no asyncio future can carry one
        error: Exception = RuntimeError(f"{exc!r} was raised (a next() past the end of an iterator?)")
        error.__cause__ = exc
        return error.with_traceback(exc.__traceback__)
    if isinstance(exc, Exception):
        return exc
    error = CallExited(f"{exc!r} was raised: an exception that would end the program, passed on as an error")
    error.__cause__ = exc
    return error.with_traceback(exc.__traceback__)


class SlotWorker(Executor):
    """Runs the calls submitted to it one after another in one dedicated daemon thread.

    Every call to one sub-environment goes through its own worker, so

    * an environment that is not thread-safe, or is bound to the thread that created it (a
      browser driven through a synchronous API), always sees the same thread;
    * a hung call blocks only its own environment.

    Why not ``ThreadPoolExecutor(max_workers=1)``: its threads are joined when the interpreter
    exits, so one environment hung for good would keep the whole process from ever exiting.
    This worker's thread is a daemon: :meth:`abandon` leaves a hung call running (its thread
    ends by itself if the call ever returns), counts it in :func:`hung_thread_count`, and the
    process can still exit.

    A call's exception reaches whoever waits on its future; one that is no error (a
    ``SystemExit``) arrives as :class:`CallExited` (:func:`as_error`).
    """

    def __init__(self, name: str) -> None:
        self._calls: queue.SimpleQueue[tuple[Future, Callable[..., Any], tuple, dict] | None]
        self._calls = queue.SimpleQueue()
        self._unfinished = 0  # calls submitted and not yet finished (or skipped, if cancelled)
        self._count_lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def name(self) -> str:
        return self._thread.name

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        self._enqueue(future, fn, args, kwargs)
        return future

    def submit_to_loop(self, fn: Callable[..., Any], /, *args: Any) -> asyncio.Future:
        """Run ``fn(*args)`` in this worker's thread and return an asyncio future of the running
        loop for its result: :func:`asyncio.wrap_future` of :meth:`submit`, but the results of
        calls that finish together wake the loop once (:class:`_LoopDelivery`), not once each.
        Cancelling the future before the call starts skips the call; after, the call runs on."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._enqueue(_LoopDelivery(future, _deliveries(loop)), fn, args, {})
        return future

    def _enqueue(self, future: Any, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        if self._closed:
            raise RuntimeError(f"{self._thread.name}: cannot submit calls after shutdown()")
        with self._count_lock:
            self._unfinished += 1
        self._calls.put((future, fn, args, kwargs))

    @property
    def busy(self) -> bool:
        """A submitted call has not finished: it is running, or waiting behind one that is
        (counted until the thread has run it, or skipped it because it was cancelled, so a
        cancelled call waiting in the queue does not hide the one still running)."""
        with self._count_lock:
            return self._unfinished > 0

    def shutdown(self, wait: bool = True) -> None:  # type: ignore[override]
        """Stop after the calls already submitted; ``wait`` joins the thread."""
        if not self._closed:
            self._closed = True
            self._calls.put(None)
        if wait:
            self._thread.join()

    def abandon(self) -> bool:
        """Stop taking calls without waiting. If a call is still running (hung), its thread is
        left to it and counted in :func:`hung_thread_count` until it ends; returns whether so."""
        hung = self.busy
        self.shutdown(wait=False)
        if hung:
            _HUNG.add(self._thread)
        return hung

    def _run(self) -> None:
        while (item := self._calls.get()) is not None:
            future, fn, args, kwargs = item
            del item  # drop references (to the environment) as soon as the call is done
            if not future.set_running_or_notify_cancel():
                self._finished()
                continue
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on the future
                self._finished()  # before the waiter wakes: it may ask whether the thread is busy
                future.set_exception(as_error(exc))
            else:
                self._finished()
                future.set_result(result)
            del future, fn, args, kwargs
            result = None

    def _finished(self) -> None:
        with self._count_lock:
            self._unfinished -= 1


class _Deliveries:
    """Results computed in worker threads, handed to one event loop: the first result of a burst
    schedules one drain on the loop (``call_soon_threadsafe``, a wake-up of the loop's selector);
    results arriving before it runs join it.

    The loop is held weakly: this table is the value of a weak-key dictionary keyed by the loop,
    so a strong reference would keep every loop that ever received a result (each
    ``asyncio.run``) alive for the life of the process, and a loop nobody closed would never be
    closed by its collection (its selector's descriptors leaked)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = weakref.ref(loop)
        self._pending: list[tuple[asyncio.Future, bool, Any]] = []
        self._lock = threading.Lock()

    def deliver(self, future: asyncio.Future, ok: bool, value: Any) -> None:
        with self._lock:
            self._pending.append((future, ok, value))
            first = len(self._pending) == 1
        if not first:
            return
        loop = self._loop()
        try:
            if loop is None:
                raise RuntimeError("the loop was collected")
            loop.call_soon_threadsafe(self._drain)
        except RuntimeError:  # the loop was closed or collected: nobody waits any more
            with self._lock:
                self._pending.clear()  # its futures would keep the closed loop alive

    def _drain(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for future, ok, value in pending:
            if future.done():  # cancelled meanwhile (a timeout)
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)


_DELIVERIES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Deliveries] = weakref.WeakKeyDictionary()
_DELIVERIES_LOCK = threading.Lock()


def _deliveries(loop: asyncio.AbstractEventLoop) -> _Deliveries:
    with _DELIVERIES_LOCK:
        deliveries = _DELIVERIES.get(loop)
        if deliveries is None:
            deliveries = _DELIVERIES[loop] = _Deliveries(loop)
        return deliveries


class _LoopDelivery:
    """The slice of :class:`concurrent.futures.Future` that :meth:`SlotWorker._run` uses, for a
    call whose result goes to an asyncio future through :class:`_Deliveries`."""

    __slots__ = ("future", "deliveries")

    def __init__(self, future: asyncio.Future, deliveries: _Deliveries) -> None:
        self.future, self.deliveries = future, deliveries

    def set_running_or_notify_cancel(self) -> bool:
        return not self.future.cancelled()  # a racy read is fine: a late cancel only drops the result

    def set_result(self, value: Any) -> None:
        self.deliveries.deliver(self.future, True, value)

    def set_exception(self, exc: BaseException) -> None:
        self.deliveries.deliver(self.future, False, exc)


class _HungThreads:
    """The abandoned threads of this process whose call has not returned yet."""

    def __init__(self) -> None:
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()

    def add(self, thread: threading.Thread) -> None:
        with self._lock:
            self._threads.add(thread)

    def count(self) -> int:
        with self._lock:
            self._threads = {t for t in self._threads if t.is_alive()}
            return len(self._threads)


_HUNG = _HungThreads()


def hung_thread_count() -> int:
    """How many environment calls in this process are still running in abandoned threads
    (each holds a thread and its environment until the call returns, if ever)."""
    return _HUNG.count()


#: what :func:`check_hung_threads` suggests by default
USE_PROCESS_ISOLATION = 'use isolation="process" (a hung environment is killed) or fix the environment'


def check_hung_threads(max_abandoned_threads: int, remedy: str = USE_PROCESS_ISOLATION) -> int:
    """Raise :class:`HungEnvironmentError` when more than ``max_abandoned_threads`` calls are
    still hung in abandoned threads; otherwise return how many are."""
    hung = hung_thread_count()
    if hung > max_abandoned_threads:
        raise HungEnvironmentError(
            f"{hung} environment steps are still hung in abandoned threads (more than "
            f"max_abandoned_threads={max_abandoned_threads}); each holds a thread and its "
            f"environment for as long as the call runs, so a long run would leak without bound: "
            f"{remedy}"
        )
    return hung


def warn_abandoned(what: str, max_abandoned_threads: int) -> None:
    """Warn that a call outlasted its timeout and its thread was abandoned."""
    warnings.warn(
        f"{what} outlasted its timeout and was abandoned in its thread "
        f"({hung_thread_count()} calls now hung in this process; past "
        f"max_abandoned_threads={max_abandoned_threads} this becomes an error)",
        HungEnvironmentWarning,
        stacklevel=3,
    )


def checked_timeout(name: str, value: Any, *, allow_none: bool = True) -> float | None:
    """``value`` as seconds: a finite positive number (``None`` if allowed), else ValueError."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
        math.isfinite(value) and value > 0
    ):
        none = " or None" if allow_none else ""
        raise ValueError(f"{name} must be a finite positive number of seconds{none}, got {value!r}")
    return float(value)


def checked_count(name: str, value: Any, *, minimum: int = 1, allow_none: bool = False) -> int | None:
    """``value`` as an ``int`` of at least ``minimum`` (not a bool or a float), else ValueError."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        none = " or None" if allow_none else ""
        raise ValueError(f"{name} must be {kind}{none}, got {value!r}")
    return int(value)
