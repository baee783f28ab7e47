"""A browser session: one fresh context and its page, for one episode.

A :class:`BrowserSession` is made by :meth:`agentgym.browser.BrowserPool.open_session`. Its
context is new (no cookies, storage or cache from earlier sessions), guarded by the loopback-only
network policy (:mod:`agentgym.browser.network`), and has the element-id script installed
(:mod:`agentgym.browser.scripts`). Every use of its Playwright objects goes through
:meth:`BrowserSession.run`, which runs a function on the browser's own thread.
"""

from __future__ import annotations

import itertools
import threading
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from agentgym.browser.errors import BrowserCrashed, BrowserError, BrowserTimeout, SessionClosed
from agentgym.browser.network import guard_context
from agentgym.browser.scripts import INIT_SCRIPT

if TYPE_CHECKING:
    from agentgym.browser.worker import BrowserWorker

T = TypeVar("T")

_session_ids = itertools.count(1)

#: Default viewport (CSS pixels) of a session's page; screenshots have this size.
DEFAULT_VIEWPORT = (1280, 720)
#: Seconds one action may take by default. Playwright spends them waiting for the element to
#: become actionable (uncovered, still, enabled, inside the page), so this is also what an
#: action on an element that never becomes clickable costs, and every other page of the same
#: browser waits that long with it (one thread runs all of a browser's Playwright calls, see
#: :mod:`agentgym.browser.worker`): short, so that an untrained agent's mistakes cost little, yet well
#: above what animations and a loaded machine need (BrowserGym waits 0.5 s).
#: ``benchmarks/bench_web_action_timeout.py``: a random agent on the 31 ``click-*`` MiniWoB
#: tasks ran 3.5x faster at 2 s than at 5 s with the same outcome in every episode, and the 60
#: scripted oracles stayed at 100% down to 0.5 s.
DEFAULT_ACTION_TIMEOUT = 2.0
#: The most tabs the agent may open with ``new_tab()`` (pages' own popups are not counted against it).
MAX_TABS = 10


class BrowserSession:
    """One episode's browser context and page, on one :class:`~agentgym.browser.worker.BrowserWorker`.

    The session's *active* page is the tab the agent sees and acts on: the newest tab unless
    :meth:`activate_here` chose another (``tab_focus``); a tab that opens (a popup, ``new_tab``)
    becomes active, and when the active tab closes the newest remaining one takes its place (a
    blank tab is opened when none is left).

    Use :meth:`run` to do anything with the page; :meth:`close` (idempotent, any thread)
    closes the context. After the browser died every :meth:`run` raises
    :class:`BrowserCrashed`; after a call timed out the session is discarded and every
    :meth:`run` raises :class:`BrowserTimeout`.

    Attributes:
        id: a number unique in this process.
        viewport: ``(width, height)`` of the page in CSS pixels.
        call_timeout: default seconds for :meth:`run`.
    """

    def __init__(self, worker: BrowserWorker, *, viewport: tuple[int, int], call_timeout: float,
                 on_close: Callable[[BrowserSession], None] | None = None) -> None:
        self.id = next(_session_ids)
        self.worker = worker
        self.viewport = viewport
        self.call_timeout = call_timeout
        self.generation = 0
        self._on_close = on_close
        self._context: Any = None
        self._active: Any = None
        self._crashed_pages: set[int] = set()
        # id(page) -> the navigation request of its main frame still waiting for its server's answer.
        self._navigations: dict[int, Any] = {}
        self._broken: BrowserError | None = None
        self._closed = False
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ any thread
    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def usable(self) -> bool:
        """Not closed, not discarded after a timeout, and its browser has not been replaced."""
        return not self._closed and self._broken is None and self.generation == self.worker.generation

    def run(self, fn: Callable[[Any], T], timeout: float | None = None) -> T:
        """Run ``fn(page)`` on the browser's thread and return its result.

        ``page`` is the session's active Playwright page (the newest open tab). Errors of ``fn``
        propagate unchanged, except that a dead browser or page becomes :class:`BrowserCrashed`.

        Raises:
            BrowserTimeout: ``fn`` ran longer than ``timeout`` (default ``call_timeout``) seconds;
                the session is discarded.
            BrowserCrashed: the browser or the page died.
            SessionClosed: the session was closed.
        """
        self._check_usable()
        limit = self.call_timeout if timeout is None else timeout
        return self.worker.call(lambda: self._run_here(fn), limit, on_timeout=self._discard_after_timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Close the context (idempotent, from any thread). A session whose browser is stuck
        has its context closed later, when the thread is free."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            if self._broken is not None or self.worker.closed:
                self.worker.post(self._close_here)
            else:
                try:
                    self.worker.call(self._close_here, timeout)
                except BrowserError:
                    pass
        finally:
            if self._on_close is not None:
                self._on_close(self)

    # -------------------------------------------------------- the worker's thread
    def open_here(self, *, action_timeout: float, load_timeout: float) -> None:
        """(On the worker's thread.) Launch the browser if needed and create the context and
        its page. A browser that dies meanwhile is :class:`BrowserCrashed`."""
        self.generation = self.worker.ensure_browser()
        try:
            self._open_context(action_timeout, load_timeout)
        except BrowserError:
            raise
        except Exception as exc:
            if not self.worker.browser_alive():
                raise BrowserCrashed(f"the browser died while the session opened: {first_line(exc)}") from exc
            raise

    def _open_context(self, action_timeout: float, load_timeout: float) -> None:
        width, height = self.viewport
        context = self.worker.browser.new_context(
            viewport={"width": width, "height": height},
            device_scale_factor=1,
            service_workers="block",
            accept_downloads=False,
        )
        try:
            context.set_default_timeout(action_timeout * 1000.0)
            context.set_default_navigation_timeout(load_timeout * 1000.0)
            guard_context(context)
            context.add_init_script(INIT_SCRIPT)
            context.on("page", self._watch_page)
            page = context.new_page()
            self._watch_page(page)
        except BaseException:
            try:
                context.close()
            except Exception:  # noqa: BLE001 - the first error is the one to report
                pass
            raise
        self._context = context

    def page_here(self) -> Any:
        """(On the worker's thread.) The active page (see the class docstring); a blank page is
        opened if the agent's pages all closed."""
        if self._active is not None and not self._active.is_closed():
            return self._active
        pages = self.pages_here()
        self._active = pages[-1] if pages else self._context.new_page()
        return self._active

    def pages_here(self) -> list[Any]:
        """(On the worker's thread.) The open tabs, oldest first."""
        return [p for p in self._context.pages if not p.is_closed()]

    def activate_here(self, page: Any) -> None:
        """(On the worker's thread.) Make ``page``, one of :meth:`pages_here`, the active page."""
        self._active = page

    def navigation_pending_here(self, page: Any) -> bool:
        """(On the worker's thread.) A navigation of ``page`` waits for its server to answer, as
        far as the events received so far tell (Playwright evaluates nothing in the page until
        the new document arrives)."""
        return id(page) in self._navigations

    def forget_navigation_here(self, page: Any) -> None:
        """(On the worker's thread.) ``page``'s navigation is over (its loading was stopped)."""
        self._navigations.pop(id(page), None)

    def _watch_page(self, page: Any) -> None:
        page.on("crash", lambda crashed: self._crashed_pages.add(id(crashed)))
        page.on("request", lambda request: self._note_request(page, request))
        page.on("response", lambda response: self._note_answer(page, response.request))
        page.on("requestfailed", lambda request: self._note_answer(page, request))
        page.on("close", self.forget_navigation_here)
        self._active = page  # a new tab (a popup, new_tab()) is the one shown

    def _note_request(self, page: Any, request: Any) -> None:
        try:
            if request.is_navigation_request() and request.frame == page.main_frame:
                self._navigations[id(page)] = request
        except Exception:  # noqa: BLE001 - a request of no frame (a worker's) is no navigation
            pass

    def _note_answer(self, page: Any, request: Any) -> None:
        if self._navigations.get(id(page)) is request:
            del self._navigations[id(page)]

    def _run_here(self, fn: Callable[[Any], T]) -> T:
        self._check_usable()
        if not self.worker.browser_alive(check_process=False):
            raise BrowserCrashed("the browser of this session died")
        page = None
        try:
            page = self.page_here()  # may open a page: a dead browser fails here too
            return fn(page)
        except BrowserError:
            raise
        except Exception as exc:
            if not self.worker.browser_alive():
                raise BrowserCrashed(f"the browser of this session died: {first_line(exc)}") from exc
            if page is not None and id(page) in self._crashed_pages:
                raise BrowserCrashed(f"the page crashed: {first_line(exc)}") from exc
            raise

    def _close_here(self) -> None:
        context, self._context = self._context, None
        self._active = None
        if context is not None and self.generation == self.worker.generation:
            try:
                context.close()
            except Exception:  # noqa: BLE001 - a dead browser has nothing left to close
                pass

    # ------------------------------------------------------------------ helpers
    def _check_usable(self) -> None:
        if self._closed:
            raise SessionClosed(f"browser session {self.id} is closed")
        if self._broken is not None:
            raise type(self._broken)(str(self._broken))
        if self.generation != self.worker.generation:
            raise BrowserCrashed(f"the browser of session {self.id} died and was replaced")

    def _discard_after_timeout(self) -> None:
        self._broken = BrowserTimeout(f"browser session {self.id} was discarded after a call timed out")

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("broken" if self._broken else "open")
        return f"<BrowserSession {self.id} on {self.worker.name} ({state})>"


def first_line(exc: BaseException) -> str:
    """The first line of ``exc``'s message (Playwright's messages go on with a call log)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
