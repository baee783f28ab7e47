"""A single-thread executor whose thread never keeps the interpreter from exiting."""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Executor, Future
from typing import Any, Callable


class SlotWorker(Executor):
    """Runs the calls submitted to it one after another in one dedicated daemon thread.

    Every call to one sub-environment goes through its own worker, so

    * an environment that is not thread-safe, or is bound to the thread that created it (a
      browser driven through a synchronous API), always sees the same thread;
    * a hung call blocks only its own environment.

    Why not ``ThreadPoolExecutor(max_workers=1)``: its threads are joined when the interpreter
    exits, so one environment hung for good would keep the whole process from ever exiting.
    This worker's thread is a daemon: :meth:`shutdown` with ``wait=False`` *abandons* a hung
    call (its thread ends by itself if the call ever returns) and the process can still exit.
    """

    def __init__(self, name: str) -> None:
        self._calls: queue.SimpleQueue[tuple[Future, Callable[..., Any], tuple, dict] | None]
        self._calls = queue.SimpleQueue()
        self._last: Future | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        if self._closed:
            raise RuntimeError(f"{self._thread.name}: cannot submit calls after shutdown()")
        future: Future = Future()
        self._calls.put((future, fn, args, kwargs))
        self._last = future
        return future

    @property
    def busy(self) -> bool:
        """A submitted call has not finished (it is running, or waiting behind one that is)."""
        return self._last is not None and not self._last.done()

    def shutdown(self, wait: bool = True) -> None:  # type: ignore[override]
        """Stop after the calls already submitted; ``wait`` joins the thread."""
        if not self._closed:
            self._closed = True
            self._calls.put(None)
        if wait:
            self._thread.join()

    def _run(self) -> None:
        while (item := self._calls.get()) is not None:
            future, fn, args, kwargs = item
            del item  # drop references (to the environment) as soon as the call is done
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on the future
                future.set_exception(exc)
            del future, fn, args, kwargs
