"""A pool of browsers that hands out fresh sessions and never leaks a process.

:class:`BrowserPool` owns up to ``max_browsers`` :class:`~agentgym.browser.worker.BrowserWorker`
threads, each with one Chromium, launched when first needed. :meth:`BrowserPool.open_session`
gives a new :class:`~agentgym.browser.session.BrowserSession` (a fresh context and page) on the
least-loaded browser, relaunching a browser that died. :meth:`BrowserPool.close` closes every
browser and joins every thread; an ``atexit`` hook closes the pools still open at interpreter
exit. :func:`shared_pool` is the process-wide pool environments use when given none.
"""

from __future__ import annotations

import atexit
import os
import queue
import threading
from typing import Any

from agentgym.core import ConfigError, check_flag, check_int, check_number
from agentgym.browser.errors import BrowserError, SessionClosed
from agentgym.browser.session import DEFAULT_ACTION_TIMEOUT, DEFAULT_VIEWPORT, BrowserSession
from agentgym.browser.worker import BrowserWorker

#: Pools not closed yet (closed by the atexit hook at the latest).
_live_pools: set[BrowserPool] = set()
_registry_lock = threading.Lock()
_pool_ids = iter(range(1, 1 << 62))


class BrowserPool:
    """Up to ``max_browsers`` Chromium browsers, each on a thread of its own.

    Thread-safe: any thread may open sessions and use them at the same time. Sessions are spread
    over the browsers: an idle browser first, then a new browser while fewer than
    ``max_browsers`` run, then the browser with the fewest open sessions. One browser holds
    any number of sessions (their calls take turns on its thread).

    Args:
        max_browsers: the most browsers running at once (at least 1).
        headless: run Chromium without a window.
        launch_timeout: seconds allowed to start one browser.
        webgl: give pages WebGL (SwiftShader in each browser's GPU process, ~11 MB more per
            browser); off by default, no environment here needs it.

    Raises:
        ConfigError: an argument is of the wrong type or out of range.
    """

    def __init__(self, max_browsers: int = 2, *, headless: bool = True, launch_timeout: float = 30.0,
                 webgl: bool = False) -> None:
        self.max_browsers = check_int("BrowserPool", "max_browsers", max_browsers, minimum=1)
        self.headless = check_flag("BrowserPool", "headless", headless)
        self.webgl = check_flag("BrowserPool", "webgl", webgl)
        self.launch_timeout = check_number("BrowserPool", "launch_timeout", launch_timeout, minimum=0.1)
        self.id = next(_pool_ids)
        self._owner_pid = os.getpid()
        self._workers: list[BrowserWorker] = []
        self._load: dict[BrowserWorker, int] = {}
        self._sessions: set[BrowserSession] = set()
        self._abandoned: queue.SimpleQueue[BrowserSession] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        with _registry_lock:
            _live_pools.add(self)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def browsers(self) -> list[BrowserWorker]:
        """The workers started so far (one browser each)."""
        with self._lock:
            return list(self._workers)

    @property
    def open_sessions(self) -> int:
        """How many sessions are open."""
        with self._lock:
            return len(self._sessions)

    def open_session(self, *, timeout: float | None = None, viewport: tuple[int, int] = DEFAULT_VIEWPORT,
                     action_timeout: float = DEFAULT_ACTION_TIMEOUT, load_timeout: float = 15.0) -> BrowserSession:
        """A new session: a fresh browser context (no cookies, storage or cache of earlier
        sessions) and its page, network limited to loopback.

        Args:
            timeout: seconds allowed to get the session, including launching (or relaunching)
                the browser; default ``launch_timeout + 10``.
            viewport: ``(width, height)`` of the page.
            action_timeout: Playwright's default timeout for actions on this page (seconds; see
                :data:`~agentgym.browser.session.DEFAULT_ACTION_TIMEOUT`).
            load_timeout: Playwright's default timeout for navigations (seconds); also the
                session's default :meth:`~BrowserSession.run` timeout.

        Raises:
            ConfigError: a bad argument.
            SessionClosed: the pool is closed.
            BrowserUnavailable: Chromium could not be started.
            BrowserTimeout: the session was not ready in time.
        """
        limit = self.launch_timeout + 10.0 if timeout is None else check_number(
            "BrowserPool.open_session", "timeout", timeout, minimum=0.1)
        width, height = check_viewport("BrowserPool.open_session", viewport)
        action_timeout = check_number("BrowserPool.open_session", "action_timeout", action_timeout, minimum=0.01)
        load_timeout = check_number("BrowserPool.open_session", "load_timeout", load_timeout, minimum=0.01)
        worker = self._reserve_worker()
        session = BrowserSession(worker, viewport=(width, height), call_timeout=load_timeout,
                                 on_close=self._forget)
        try:
            worker.call(lambda: session.open_here(action_timeout=action_timeout, load_timeout=load_timeout),
                        limit)
        except BaseException:
            # A call that timed out may still make the context later: close it when it does.
            worker.post(session._close_here)
            self._release_worker(worker)
            raise
        with self._lock:
            closed = self._closed
            if not closed:
                self._sessions.add(session)
        if closed:
            session._on_close = None
            session.close()
            self._release_worker(worker)
            raise SessionClosed("the browser pool was closed while the session opened")
        self._close_abandoned()
        return session

    def abandon(self, session: BrowserSession) -> None:
        """Have ``session`` closed when this pool next opens a session: its owner was dropped
        without closing it (an environment garbage-collected in the middle of an episode). Takes
        no lock and waits for nothing, so a finalizer may call it on any thread."""
        self._abandoned.put(session)

    def close(self, timeout: float = 15.0) -> None:
        """Close every session and browser and join every thread (idempotent). No Chromium or
        Playwright driver process of this pool survives it."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            workers = list(self._workers)
            self._sessions.clear()
        with _registry_lock:
            _live_pools.discard(self)
        if os.getpid() != self._owner_pid:
            return  # a forked child: the threads and browsers belong to the parent
        for worker in workers:
            worker.close(timeout)

    def __copy__(self) -> BrowserPool:
        return self  # a pool is a handle to running browsers: copies share them

    def __deepcopy__(self, memo: dict[int, Any]) -> BrowserPool:
        return self  # (Gymnasium's env checker deep-copies make()'s arguments)

    def __enter__(self) -> BrowserPool:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self._workers)}/{self.max_browsers} browsers"
        return f"<BrowserPool {self.id} ({state}, {self.open_sessions} sessions)>"

    # ------------------------------------------------------------------ helpers
    def _reserve_worker(self) -> BrowserWorker:
        with self._lock:
            if self._closed:
                raise SessionClosed("the browser pool is closed")
            idle = [w for w in self._workers if self._load[w] == 0]
            if idle:
                worker = idle[0]
            elif len(self._workers) < self.max_browsers:
                worker = BrowserWorker(f"agentgym-browser-{self.id}.{len(self._workers) + 1}",
                                       headless=self.headless, launch_timeout=self.launch_timeout,
                                       webgl=self.webgl)
                self._workers.append(worker)
                self._load[worker] = 0
            else:
                worker = min(self._workers, key=lambda w: self._load[w])
            self._load[worker] += 1
            return worker

    def _release_worker(self, worker: BrowserWorker) -> None:
        with self._lock:
            if worker in self._load:
                self._load[worker] = max(0, self._load[worker] - 1)

    def _close_abandoned(self) -> None:
        """Close the sessions given to :meth:`abandon` so far (their browsers' contexts and pages)."""
        while True:
            try:
                session = self._abandoned.get_nowait()
            except queue.Empty:
                return
            session.close()

    def _forget(self, session: BrowserSession) -> None:
        with self._lock:
            known = session in self._sessions
            self._sessions.discard(session)
        if known:
            self._release_worker(session.worker)


def check_viewport(owner: str, viewport: Any) -> tuple[int, int]:
    """``viewport`` as ``(width, height)``, each 100..8192 pixels.

    Raises:
        ConfigError: naming ``owner``, for anything else.
    """
    if (not isinstance(viewport, (tuple, list)) or len(viewport) != 2
            or any(isinstance(v, bool) or not isinstance(v, int) or not 100 <= v <= 8192 for v in viewport)):
        raise ConfigError(f"{owner}: viewport must be (width, height) in pixels, each 100..8192, got {viewport!r}")
    return int(viewport[0]), int(viewport[1])


_shared: BrowserPool | None = None
_shared_lock = threading.Lock()


def default_pool_size() -> int:
    """``AGENTGYM_BROWSERS`` if set (a positive integer), else ``min(4, cpu count)``.

    Raises:
        ConfigError: ``AGENTGYM_BROWSERS`` is not a positive integer.
    """
    raw = os.environ.get("AGENTGYM_BROWSERS", "").strip()
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            raise ConfigError(f"AGENTGYM_BROWSERS must be a positive integer, got {raw!r}")
        return int(raw)
    return max(1, min(4, os.cpu_count() or 1))


def shared_pool() -> BrowserPool:
    """The process-wide pool (made on first use with :func:`default_pool_size` browsers;
    remade after it was closed, and in a forked child, which must not use its parent's)."""
    global _shared
    with _shared_lock:
        pool = _shared
        if pool is None or pool.closed or pool._owner_pid != os.getpid():
            pool = _shared = BrowserPool(default_pool_size())
        return pool


def close_shared_pool() -> None:
    """Close the process-wide pool if one is open (its browsers and threads end; the next
    :func:`shared_pool` makes a new one)."""
    with _shared_lock:
        pool = _shared
    if pool is not None and not pool.closed and pool._owner_pid == os.getpid():
        pool.close()


def close_all_pools() -> None:
    """Close every pool of this process that is still open (the ``atexit`` hook). A second
    Ctrl-C while they close (a ``KeyboardInterrupt`` here) stops the waiting: every browser and
    driver of these pools is killed at once and the hook returns quietly."""
    with _registry_lock:
        pools = list(_live_pools)
    for pool in pools:
        try:
            pool.close()
        except BrowserError:
            pass
        except KeyboardInterrupt:
            _kill_every_browser(pools)
            return


def _kill_every_browser(pools: list[BrowserPool]) -> None:
    for pool in pools:
        for worker in pool.browsers:
            worker.kill_browser()
            worker.kill_driver()


atexit.register(close_all_pools)
