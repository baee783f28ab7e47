"""One browser, owned by one thread.

Playwright's synchronous objects belong to the thread that created them: calling a page from
another thread corrupts the driver's greenlets and breaks every other page on it. A
:class:`BrowserWorker` therefore owns a thread that starts Playwright, launches one Chromium and
runs every Playwright call for that browser. Other threads hand it functions with
:meth:`BrowserWorker.call` and wait for the result with a timeout.

A call that overruns its timeout fails with :class:`~agentgym.browser.errors.BrowserTimeout`
for its caller; if it is still running after a grace period, the worker kills its browser's
processes (found by their marker switch, see :mod:`agentgym.browser.launch`), which makes the
stuck Playwright call return with an error and frees the thread. The next
:meth:`BrowserWorker.ensure_browser` launches a new browser (a new *generation*); sessions of
the old one get :class:`~agentgym.browser.errors.BrowserCrashed`.

Playwright does not answer every call once its browser is gone: a ``new_page`` under way when
the browser is killed can wait forever, and killing the (dead) browser again does not free the
thread. So a caller whose call is still running ``HANG_GRACE_S`` after the browser disconnected
(and a timed-out call that killing the browser did not end) kills the worker's Playwright
driver: every call waiting on it then fails, the thread comes back, and the next launch starts
a new driver.

A killed driver cannot remove what it keeps in the temporary folder (each browser's profile
and artifacts folders), nor a killed Chromium its shared-memory files, so every driver gets a
temporary folder of its own (``agentgym-driver-*``, its ``TMPDIR``), which the worker removes
when it stops that driver, however it ended.
"""

from __future__ import annotations

import os
import queue
import secrets
import shutil
import tempfile
import threading
import time
from typing import Any, Callable

import psutil

from agentgym.browser.errors import BrowserError, BrowserTimeout, BrowserUnavailable, SessionClosed
from agentgym.browser.launch import launch_options, start_playwright
from agentgym.browser.processes import browser_processes, kill_process_trees

#: Seconds a call may go on after its timeout before the browser is killed to free the thread.
HANG_GRACE_S = 2.0
#: Seconds a call may wait in the queue behind others before it gives up.
QUEUE_TIMEOUT_S = 300.0


class _Call:
    """A function waiting to run on the worker's thread, and its outcome."""

    __slots__ = ("fn", "started", "done", "result", "error", "_state", "_lock")

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn
        self.started = threading.Event()
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        self._state = "queued"  # -> "running" (the worker took it) or "abandoned" (the caller left)
        self._lock = threading.Lock()

    def claim(self, state: str) -> bool:
        """Move a queued call to ``state`` ("running" or "abandoned"); false if it has moved."""
        with self._lock:
            if self._state != "queued":
                return False
            self._state = state
            return True

    def run(self) -> None:
        try:
            self.result = self.fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            self.error = exc
        finally:
            self.done.set()


class BrowserWorker:
    """A thread that owns one Playwright driver and one Chromium.

    The thread starts with the first :meth:`call`; the browser is launched by
    :meth:`ensure_browser` (the pool calls it when it opens a session), and relaunched by it when
    the previous one died. ``generation`` counts launches: a session remembers the generation it
    was made in, and a browser of another generation is not its browser.

    Args:
        name: the thread's name (shows in thread dumps and leak reports).
        headless: run Chromium without a window.
        launch_timeout: seconds allowed for starting Playwright and Chromium.
        webgl: launch Chromium with WebGL (SwiftShader; see :mod:`agentgym.browser.launch`).
    """

    def __init__(self, name: str, *, headless: bool = True, launch_timeout: float = 30.0,
                 webgl: bool = False) -> None:
        self.name = name
        self.headless = headless
        self.webgl = webgl
        self.launch_timeout = launch_timeout
        self.generation = 0
        self.marker = ""
        self._queue: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        # Owned by the worker's thread:
        self._playwright: Any = None
        self._driver_temp: str | None = None  # the driver's TMPDIR, removed with it
        self._browser: Any = None
        self._disconnected = False
        # Read by callers: when the running call started, when the browser disconnected (None
        # while it is connected or being launched), the driver process (pid, start time).
        self._call_started = 0.0
        self._lost: float | None = None
        self._driver: tuple[int, float] | None = None

    # ------------------------------------------------------------------ any thread
    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def on_worker_thread(self) -> bool:
        """The caller is this worker's thread."""
        return self._thread is not None and threading.current_thread() is self._thread

    def call(self, fn: Callable[[], Any], timeout: float, *,
             on_timeout: Callable[[], None] | None = None) -> Any:
        """Run ``fn()`` on the worker's thread and return its result (or raise its exception).

        ``timeout`` counts from the moment ``fn`` starts (waiting behind other calls is bounded
        separately by ``QUEUE_TIMEOUT_S``). When it passes, ``on_timeout`` runs (in the caller's
        thread) and :class:`BrowserTimeout` is raised; if ``fn`` is still running
        ``HANG_GRACE_S`` later, the browser is killed first so that the thread comes back.
        Called from the worker's own thread, ``fn`` runs at once (no deadlock).
        """
        if self.on_worker_thread:
            return fn()
        item = _Call(fn)
        with self._lock:
            if self._closed:
                raise SessionClosed(f"{self.name} is closed")
            self._start_thread()
            self._queue.put(item)
        if not item.started.wait(QUEUE_TIMEOUT_S) and item.claim("abandoned"):
            raise BrowserTimeout(f"{self.name} stayed busy for {QUEUE_TIMEOUT_S:.0f} s")
        if not self._wait(item, timeout):
            if on_timeout is not None:
                on_timeout()
            if not item.done.wait(HANG_GRACE_S):
                self.kill_browser()
                if not item.done.wait(HANG_GRACE_S):
                    self.kill_driver()  # the call waits on a browser that is gone
                    item.done.wait(10.0)
            raise BrowserTimeout(f"the browser call did not finish within {timeout:g} s")
        if item.error is not None:
            raise item.error
        return item.result

    def post(self, fn: Callable[[], Any]) -> None:
        """Queue ``fn()`` on the worker's thread without waiting (clean-up work); its errors are
        ignored. Does nothing once the worker is closed."""
        with self._lock:
            if self._closed or self._thread is None:
                return
            self._queue.put(_Call(fn))

    def browser_pids(self) -> list[int]:
        """Process ids of this worker's current Chromium (its main process first), found by
        its marker switch; ``[]`` when none runs."""
        if not self.marker:
            return []
        return [p.pid for p in browser_processes(self.marker)]

    def kill_browser(self) -> None:
        """Kill this worker's Chromium processes (from any thread). Calls in progress fail,
        the browser counts as crashed, and :meth:`ensure_browser` launches a new one."""
        if self.marker:
            kill_process_trees(browser_processes(self.marker))

    def kill_driver(self) -> None:
        """Kill this worker's Playwright driver (from any thread): the calls waiting on it fail
        and the next launch starts a new driver. Only the process recorded at launch is killed."""
        driver = self._driver
        if driver is None:
            return
        try:
            process = psutil.Process(driver[0])
            if process.create_time() == driver[1]:
                kill_process_trees([process])
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            pass

    def _driver_alive(self) -> bool:
        """The driver recorded at the last launch still runs (``True`` when none is recorded)."""
        driver = self._driver
        if driver is None:
            return True
        try:
            process = psutil.Process(driver[0])
            return process.create_time() == driver[1] and process.status() != psutil.STATUS_ZOMBIE
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            return False

    def _wait(self, item: _Call, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for ``item`` to finish; kill the driver when the call
        is stuck on a browser that disconnected ``HANG_GRACE_S`` ago (see the module docstring)."""
        deadline = time.monotonic() + timeout
        while not item.done.wait(min(0.25, max(0.0, deadline - time.monotonic()))):
            if time.monotonic() >= deadline:
                return False
            lost = self._lost
            if lost is not None and time.monotonic() - max(lost, self._call_started) > HANG_GRACE_S:
                self.kill_driver()
                return item.done.wait(10.0)
        return True

    def close(self, timeout: float = 15.0) -> None:
        """Close the browser, stop Playwright and join the thread (idempotent). A thread that
        does not come back in ``timeout`` seconds gets its browser killed and is joined again."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
            if thread is not None:
                self._queue.put(_Call(self._shut_down))
                self._queue.put(None)
        if thread is None or thread is threading.current_thread():
            return
        thread.join(timeout)
        if thread.is_alive():
            self.kill_browser()
            thread.join(timeout)

    # -------------------------------------------------------- the worker's thread
    def ensure_browser(self) -> int:
        """(On the worker's thread.) Launch Chromium if none runs or the last one died; return
        the generation of the running browser."""
        if self._browser is not None and self.browser_alive():
            return self.generation
        self._discard_browser()
        self._lost = None  # a launch may take long: it is not a call stuck on the lost browser
        if self._playwright is not None and not self._driver_alive():
            self._stop_playwright()  # killed to free a stuck call (see kill_driver)
        if self._playwright is None:
            self._start_playwright()
        # <launching pid>-<random>-<generation>: unique, and ``ps`` tells whose browser it is.
        self.marker = f"{os.getpid()}-{secrets.token_hex(6)}-{self.generation + 1}"
        options = launch_options(headless=self.headless, marker=self.marker, timeout_s=self.launch_timeout,
                                 webgl=self.webgl)
        try:
            browser = self._playwright.chromium.launch(**options)
        except BrowserError:
            raise
        except Exception as exc:  # noqa: BLE001 - the driver may be gone too: restart it once
            self._stop_playwright()
            try:
                self._start_playwright()
                browser = self._playwright.chromium.launch(**options)
            except Exception as again:  # noqa: BLE001
                self._stop_playwright()
                raise BrowserUnavailable(f"Chromium failed to start: {again}") from exc
        self._disconnected = False
        self._lost = None
        browser.on("disconnected", self._note_disconnected)
        self._browser = browser
        self.generation += 1
        self._driver = _parent_of(self.browser_pids())
        return self.generation

    @property
    def browser(self) -> Any:
        """(On the worker's thread.) The running Playwright ``Browser``."""
        return self._browser

    def browser_alive(self, *, check_process: bool = True) -> bool:
        """(On the worker's thread.) The browser is connected and (``check_process``, a psutil
        look-up of a few milliseconds) its main process runs."""
        browser = self._browser
        if browser is None or self._disconnected:
            return False
        try:
            if not browser.is_connected():
                return False
        except Exception:  # noqa: BLE001 - a dead driver
            return False
        return not check_process or bool(self.browser_pids())

    def _note_disconnected(self, *_: Any) -> None:
        self._disconnected = True
        self._lost = time.monotonic()

    def _start_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
            self._thread.start()

    def _serve(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if not item.claim("running"):
                continue
            self._call_started = time.monotonic()
            item.started.set()
            item.run()

    def _discard_browser(self) -> None:
        browser, self._browser = self._browser, None
        if browser is not None:
            try:
                browser.close()
            except Exception:  # noqa: BLE001 - already dead
                pass
            self.kill_browser()  # whatever close left behind

    def _start_playwright(self) -> None:
        folder = tempfile.mkdtemp(prefix="agentgym-driver-")
        try:
            self._playwright = start_playwright(temp_dir=folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        self._driver_temp = folder

    def _stop_playwright(self) -> None:
        playwright, self._playwright = self._playwright, None
        if playwright is not None:
            try:
                playwright.stop()
            except Exception:  # noqa: BLE001 - a dead driver
                pass
        folder, self._driver_temp = self._driver_temp, None
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    def _shut_down(self) -> None:
        self._discard_browser()
        self._stop_playwright()
        # Give a killed driver's reaper a moment, so no zombie outlives the thread.
        deadline = time.monotonic() + 1.0
        while self.browser_pids() and time.monotonic() < deadline:
            time.sleep(0.02)


def _parent_of(pids: list[int]) -> tuple[int, float] | None:
    """(pid, start time) of the parent of the first of ``pids`` (a browser's main process: its
    parent is the Playwright driver), or ``None``."""
    try:
        parent = psutil.Process(pids[0]).parent() if pids else None
        return None if parent is None else (parent.pid, parent.create_time())
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None


__all__ = ["BrowserWorker", "HANG_GRACE_S", "QUEUE_TIMEOUT_S"]
