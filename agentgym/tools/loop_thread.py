"""An event loop that runs in a daemon thread of its own, for the coroutines of async toolsets.

Synchronous code (a ``ToolCalling`` step, ``env.close()`` from a rollout's thread) hands it
coroutines and waits for them, from any thread, at the same time: a call hung on a session
and the ``aclose`` that ends the session run side by side on the one loop the session is bound
to. The loop runs between calls too, so a client's background tasks (an MCP session's reader)
keep going.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any, Coroutine

from agentgym.tools.invoke import ToolTimeout

#: Seconds waited past a call's own timeout for the loop to answer (a loop blocked by a coroutine
#: that never awaits cannot cancel it).
GRACE_SECONDS = 5.0
#: Seconds ``stop`` gives the loop's unfinished tasks to unwind, and the thread to end.
STOP_SECONDS = 5.0


class LoopThread:
    """``run(coroutine)`` on an event loop running in its own daemon thread; ``stop()`` ends it.

    Args:
        name: the thread's name (shows in thread dumps and leak reports).
    """

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._stop_lock = threading.Lock()
        self._stop_requested = False
        started = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(started,), name=name, daemon=True)
        self._thread.start()
        started.wait()

    def _serve(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(started.set)
        try:
            self.loop.run_forever()
        finally:
            try:
                pending = [task for task in asyncio.all_tasks(self.loop) if not task.done()]
                for task in pending:
                    task.cancel()
                if pending:
                    self.loop.run_until_complete(asyncio.wait(pending, timeout=STOP_SECONDS))
                self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            finally:
                self.loop.close()

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self.loop.is_closed()

    def run(self, coroutine: Coroutine[Any, Any, Any], timeout: float | None = None) -> Any:
        """Run ``coroutine`` on the loop and return its result (or raise its error). With
        ``timeout`` (the coroutine bounds itself) the wait ends :data:`GRACE_SECONDS` later
        at the latest, with :class:`~agentgym.tools.invoke.ToolTimeout`."""
        if threading.current_thread() is self._thread:
            coroutine.close()
            raise RuntimeError("a toolset coroutine called the synchronous API from the toolset loop itself "
                               "(it would wait for itself): await the async API instead")
        if not self.running:
            coroutine.close()
            raise RuntimeError("the toolset loop has stopped (the environment was closed)")
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result(None if timeout is None else timeout + GRACE_SECONDS)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise ToolTimeout(timeout) from None

    def stop(self) -> None:
        """Cancel what still runs on the loop, close it and end the thread (idempotent). A
        coroutine that blocks the loop without awaiting keeps the thread alive until it returns."""
        with self._stop_lock:  # one stop request: a second one would stop the thread's final clean-up loop
            first, self._stop_requested = not self._stop_requested, True
        if first and self._thread.is_alive() and not self.loop.is_closed():
            try:
                self.loop.call_soon_threadsafe(self.loop.stop)
            except RuntimeError:  # closed meanwhile
                pass
        if threading.current_thread() is not self._thread:
            self._thread.join(STOP_SECONDS + 1.0)
