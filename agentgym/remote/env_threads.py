"""The environment server's worker threads (:class:`EnvThreads`): environment calls run on
them, off the event loop, and are answered on it.

One instance serves one app: its threads (daemons) start at the first call; calls from the loop
that made that first call are answered in batches, one loop wake-up for all that finished while
the loop was busy; a call from another loop is answered on that loop, one wake-up each. After
:meth:`EnvThreads.shutdown`, ``run`` raises ``RuntimeError``; a thread stuck in a call past
shutdown's ``timeout`` is left behind (a daemon), so a stuck environment cannot keep the
server from stopping.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections import deque
from typing import Any, Callable

from agentgym.runtime.worker import as_error


class EnvThreads:
    """The server's threads for environment calls: ``workers`` of them, started at the first call.

    ``await threads.run(function, *args, **kwargs)`` runs the call on one of them and answers on
    the event loop. It replaces ``loop.run_in_executor`` on a ``ThreadPoolExecutor``, which cost
    the server ~60 µs of CPU per step at 64 WebSocket sessions (``benchmarks/bench_openenv.py``;
    py-spy: ~20% of the event loop's time in the executor's futures, their ``Condition``
    objects and one loop wake-up per call): here a call is one asyncio future, and the calls
    that finish while the loop is busy are answered with one wake-up. As with the executor, a
    call whose caller was cancelled before it started is skipped, an exception reaches the
    caller (a ``SystemExit`` as :class:`~agentgym.runtime.worker.CallExited`), and
    :meth:`shutdown` lets the queued calls finish and joins the threads.
    """

    def __init__(self, workers: int, name: str) -> None:
        self._workers, self._name = workers, name
        self._calls: queue.SimpleQueue = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._finished: deque = deque()  # (future, outcome) waiting for the loop to take them
        self._lock = threading.Lock()
        self._wake_pending = False  # a _deliver is scheduled on the loop and has not run yet
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        """Whether :meth:`shutdown` ran: ``run`` raises from then on."""
        return self._closed

    def run(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> asyncio.Future:
        if self._closed:
            raise RuntimeError("the server's environment threads are shut down")
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        if not self._threads:
            for index in range(self._workers):
                thread = threading.Thread(target=self._work, name=f"{self._name}_{index}", daemon=True)
                thread.start()
                self._threads.append(thread)
        future = loop.create_future()
        self._calls.put((loop, future, function, args, kwargs))
        return future

    def _work(self) -> None:
        while (call := self._calls.get()) is not None:
            loop, future, function, args, kwargs = call
            if future.cancelled():
                continue
            try:
                outcome = (function(*args, **kwargs), None)
            except BaseException as exc:  # noqa: BLE001 - the caller's to handle, as with an executor
                outcome = (None, as_error(exc))  # a SystemExit must fail its request, not the server's loop
            try:
                if loop is not self._loop:  # another loop than the server's: answered on its own
                    loop.call_soon_threadsafe(_settle, future, outcome)
                    continue
                with self._lock:
                    self._finished.append((future, outcome))
                    if self._wake_pending:
                        continue
                    self._wake_pending = True
                loop.call_soon_threadsafe(self._deliver)
            except RuntimeError:  # the loop is closed: no one waits for the answer any more
                pass

    def _deliver(self) -> None:
        with self._lock:
            finished, self._finished = self._finished, deque()
            self._wake_pending = False
        for future, outcome in finished:
            _settle(future, outcome)

    def shutdown(self, timeout: float | None = None) -> list[str]:
        """Let the threads finish the calls already queued, then stop and join them, waiting at
        most ``timeout`` seconds in all (``None``: for ever). Returns the names of the threads
        still in a call then: daemons, left to end with the process."""
        self._closed = True
        for _ in self._threads:
            self._calls.put(None)
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        left = [thread.name for thread in self._threads if thread.is_alive()]
        self._threads.clear()
        return left


class AbandonableCall:
    """A call for :meth:`EnvThreads.run` whose end can still be awaited after its caller stopped
    waiting for it.

    ``await threads.run(call)`` runs ``function(*args, **kwargs)``. When the caller is cancelled
    meanwhile, :meth:`abandon` says what became of the call, under a lock the thread takes too,
    so both agree: ``None`` if it had not started (it never will), else a future of the loop's
    that is done once the call has returned or raised in its thread (at once if it already has).
    The thread signals the loop only for an abandoned call: one that is answered costs no more
    than a plain call.
    """

    __slots__ = ("_function", "_args", "_kwargs", "_lock", "_state", "_ended")

    def __init__(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self._function, self._args, self._kwargs = function, args, kwargs
        self._lock = threading.Lock()
        self._state = "queued"  # -> "running" -> "ended"; or "dropped" (abandoned before it started)
        self._ended: tuple[asyncio.AbstractEventLoop, asyncio.Future] | None = None

    def __call__(self) -> Any:
        with self._lock:
            if self._state == "dropped":
                return None
            self._state = "running"
        try:
            return self._function(*self._args, **self._kwargs)
        finally:
            with self._lock:
                self._state, ended = "ended", self._ended
            if ended is not None:
                loop, future = ended
                try:
                    loop.call_soon_threadsafe(_settle, future, (None, None))
                except RuntimeError:  # the loop is closed: no one waits any more
                    pass

    def abandon(self) -> asyncio.Future | None:
        """Called on the event loop once the caller stopped waiting (see the class)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._state == "queued":
                self._state = "dropped"
                return None
            future = loop.create_future()
            if self._state == "ended":
                future.set_result(None)
            else:
                self._ended = (loop, future)
            return future


def _settle(future: asyncio.Future, outcome: tuple[Any, BaseException | None]) -> None:
    if not future.done():  # a cancelled caller's future stays cancelled
        result, error = outcome
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)
