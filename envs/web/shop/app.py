"""The shop as a real web app on loopback: the browser mode's world.

:class:`ShopApp` serves one :class:`~.site.Shop` (one ``(size, seed)``) over HTTP from a
:class:`~agentgym.envs.web.page_server.PageServer` on ``127.0.0.1`` (a free port, one thread per
request, a daemon thread serving). Shopping sessions live in the app, each a
:class:`~.site.ShopSession` under a random id (128 bits, URL-safe) that appears in its URL
path, so every episode has its own session and no episode can reach another's. The browser
environment opens a session in-process (:meth:`ShopApp.open_session`), starts the browser on
:meth:`ShopApp.session_url`, reads the purchase from the session after each action and closes
the session at the episode's end.

As on WebShop's own site, a page's address says everything it shows (its
:class:`~.site.View`), so every click is one ``GET`` of a link, the back and forward buttons
and reloads work, and opening an address shows that page (:meth:`~.site.ShopSession.restore`;
it becomes the session's current page). Routes, under ``/s/<id>``:

* ``/`` -- the current page, whatever it is (where "Buy Now" leads; an episode starts on its
  page's own address, :meth:`ShopApp.session_url`, so that the back button can return there);
* ``/search`` -- the search page; ``/search?q=...`` (the search form) searches
  (:meth:`~.site.ShopSession.search`) and shows the first results page;
* ``/results?q=...&page=n`` -- a results page;
* ``/item/<product id>?q=...&page=n&o.<group>=<value>...`` -- a product page with the options
  chosen so far (``q`` and ``page`` say where "< Prev" returns);
  ``/item/<product id>/description`` (``features``, ``reviews``) with the same parameters -- its
  sub-pages;
* ``POST /buy/<product id>?...`` (the parameters of the product page) -- "Buy Now"; answered
  ``303 See Other`` to ``/`` (the confirmation), so a reload never buys twice.

An address is read as UTF-8, its non-ASCII characters escaped (``%C3%A9``, as browsers send
them) or not (as ``curl`` sends them). A wrong address (a path of no route, an unknown session or
product) is a 404; a request the
shop refuses (a malformed parameter, a results page that does not exist, an option the product
does not offer, anything after the purchase) is a 400 showing the current page with the error;
a route asked with the wrong method is a 405 (``GET`` and ``HEAD`` for pages, ``POST`` for
buying). Bodies over :data:`MAX_BODY_BYTES` are refused (413), a ``Content-Length`` that is not a
number of bytes too (400). Responses are HTTP/1.0 (the
connection closes after each, so no handler thread waits on an idle browser connection), never
cached, and carry a Content-Security-Policy that allows no script, no external resource and
forms sent only to the app.

:func:`shared_app` is the process's app for a ``(size, seed)``: started on first use, closed at
interpreter exit (a forked child gets its own). A forked child closes its copies of every app's
listening socket as it starts (it serves none of them), so closing an app frees its port even
while children forked from its process live on. At most ``max_sessions`` sessions are kept; the
least recently used is dropped beyond that (an environment that was never closed cannot grow the
app without bound).
"""

from __future__ import annotations

import atexit
import os
import re
import secrets
import socket
import threading
import weakref
from collections import OrderedDict
from html import escape
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, urlencode, urlsplit

from agentgym.envs.web.page_server import PageServer

from .catalogue import Goal
from .html_view import render_html
from .pages import BUY, SUB_PAGES
from .site import Shop, ShopActionError, ShopSession, View, load_shop

#: The largest request body the app reads.
MAX_BODY_BYTES = 64 * 1024
#: Sessions an app keeps at most (the least recently used beyond this is dropped).
DEFAULT_MAX_SESSIONS = 10_000
#: Seconds a connection may stay silent before its handler gives up.
REQUEST_TIMEOUT_S = 15.0
#: The prefix of an option's parameter in a product page's address (``o.color=navy``).
OPTION_PREFIX = "o."

_SUB_KINDS = tuple(name.lower() for name in SUB_PAGES)
_SESSION_PATH = re.compile(r"^/s/([A-Za-z0-9_-]{16,64})(/.*)?$")
_PRODUCT_PATH = re.compile(r"^/(item|buy)/([A-Za-z0-9]{1,32})(?:/(" + "|".join(_SUB_KINDS) + r"))?$")
_SECURITY_HEADERS = (
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Content-Security-Policy",
     "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
)

_Response = tuple[int, str, dict[str, str]]


def view_path(view: View) -> str:
    """The address of ``view`` under its session's path (see the module docstring)."""
    if view.kind == "search":
        return "/search"
    params = [("q", view.query or ""), ("page", str(view.results_page))]
    if view.kind == "results":
        return "/results?" + urlencode(params)
    params += [(OPTION_PREFIX + name, value) for name, value in view.options]
    tail = "" if view.kind == "item" else f"/{view.kind}"
    return f"/item/{view.product_id}{tail}?" + urlencode(params)


def buy_path(view: View) -> str:
    """Where the "Buy Now" form of the product page ``view`` posts."""
    return view_path(view).replace("/item/", "/buy/", 1)


def _view_of(kind: str, product_id: str | None, query_string: str) -> View:
    """The view an address names (checked further by :meth:`ShopSession.restore`)."""
    try:
        params = parse_qsl(query_string, keep_blank_values=True, max_num_fields=64)
    except ValueError:
        raise ShopActionError("the address has too many parameters") from None
    query = next((value for name, value in params if name == "q"), "")
    page_text = next((value for name, value in params if name == "page"), "1")
    if not page_text.isascii() or not page_text.isdigit() or len(page_text) > 6:
        raise ShopActionError(f"page must be a results page number, got {page_text[:20]!r}")
    options = tuple((name[len(OPTION_PREFIX):], value) for name, value in params if name.startswith(OPTION_PREFIX))
    return View(kind, query, int(page_text), product_id, options)


class ShopApp:
    """The shop's web app for ``shop``, serving from a daemon thread until :meth:`close`.

    Args:
        shop: the catalogue and search engine every session shares.
        host: the address to listen on (loopback).
        port: the port; ``0`` picks a free one.
        max_sessions: the most sessions kept at once.
    """

    def __init__(self, shop: Shop, host: str = "127.0.0.1", port: int = 0,
                 max_sessions: int = DEFAULT_MAX_SESSIONS) -> None:
        if isinstance(max_sessions, bool) or not isinstance(max_sessions, int) or max_sessions < 1:
            raise ValueError(f"max_sessions must be a positive integer, got {max_sessions!r}")
        self.shop = shop
        self.max_sessions = max_sessions
        self._sessions: OrderedDict[str, ShopSession] = OrderedDict()
        self._lock = threading.Lock()
        #: The connections being handled, with their handler threads (:meth:`close` ends them).
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._httpd = PageServer((host, port), _handler_for(self))
        self.host, self.port = self._httpd.server_address[:2]
        self.url = f"http://{self.host}:{self.port}"
        self._owner_pid = os.getpid()
        self._closed = False
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name=f"shop-http-{self.port}", daemon=True)
        self._thread.start()
        _every_app.add(self)

    # ------------------------------------------------------------------ sessions
    def open_session(self, goal: Goal) -> str:
        """A new session for ``goal``; returns its id."""
        session = ShopSession(self.shop, goal)
        session_id = secrets.token_urlsafe(16)
        with self._lock:
            self._sessions[session_id] = session
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)
        return session_id

    def get_session(self, session_id: str) -> ShopSession | None:
        """The session of ``session_id``, or ``None`` (unknown, closed or dropped)."""
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None:
                self._sessions.move_to_end(session_id)
            return session

    def close_session(self, session_id: str) -> None:
        """Forget a session (idempotent); its addresses then answer 404."""
        with self._lock:
            self._sessions.pop(session_id, None)

    @property
    def open_sessions(self) -> int:
        with self._lock:
            return len(self._sessions)

    def session_url(self, session_id: str) -> str:
        """The address of the session's current page: its own address (``/search`` for a new
        session), which the back button can return to once the agent moved on; ``/`` once
        bought (the confirmation) and for a session that does not exist (a 404)."""
        base = f"{self.url}/s/{session_id}"
        session = self.get_session(session_id)
        if session is None:
            return base + "/"
        with session.lock:
            return base + ("/" if session.done else view_path(session.view))

    # ------------------------------------------------------------------ lifecycle
    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Stop serving, free the port, end the connections still open (their handler threads
        end with them: a request sent on one after this is not answered) and forget every
        session (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if os.getpid() == self._owner_pid:  # a forked child has no serving thread to stop
            self._httpd.shutdown()
            self._thread.join(timeout=10.0)
        self._httpd.server_close()
        with self._lock:
            self._sessions.clear()
            connections = list(self._connections.items())
        for connection, _ in connections:
            _hang_up(connection)
        for _, thread in connections:
            if thread is not threading.current_thread():
                thread.join(timeout=2.0)

    def _track(self, connection: socket.socket) -> bool:
        """Note a connection its handler starts on; ``False`` (and hung up) once closed."""
        with self._lock:
            if not self._closed:
                self._connections[connection] = threading.current_thread()
                return True
        _hang_up(connection)
        return False

    def _untrack(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.pop(connection, None)

    def __enter__(self) -> ShopApp:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def render_session(session: ShopSession, session_id: str, error: str | None = None) -> str:
    """The session's current page as HTML, its links pointing at the pages they lead to."""
    base = f"/s/{session_id}"
    with session.lock:
        page = session.page(error)
        hrefs = {c.label: base + view_path(session.view_after(c)) for c in page.clickables() if c.label != BUY}
        buy = base + buy_path(session.view) if page.kind == "item" else None
    return render_html(page, base, hrefs, buy)


def _handler_for(app: ShopApp) -> type[BaseHTTPRequestHandler]:
    return type("ShopRequestHandler", (_ShopHandler,), {"app": app})


class _ShopHandler(BaseHTTPRequestHandler):
    """Answers the routes of the module docstring for ``self.app``."""

    app: ShopApp
    protocol_version = "HTTP/1.0"
    server_version = "agentgym-shop/1"
    sys_version = ""
    timeout = REQUEST_TIMEOUT_S

    def setup(self) -> None:
        super().setup()
        self.app._track(self.connection)  # a connection of a closed app is hung up: nothing is read

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.app._untrack(self.connection)

    def do_GET(self) -> None:  # noqa: N802 (BaseHTTPRequestHandler's names)
        self._answer(self._route("GET"))

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(self._route("HEAD"), body=False)

    def do_POST(self) -> None:  # noqa: N802
        self._answer(self._route("POST"))

    def _other_method(self) -> None:
        self._answer(self._route(self.command))

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _other_method

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's signature)
        pass

    # ------------------------------------------------------------------ routing
    def _route(self, method: str) -> _Response:
        try:
            return self._route_or_raise(method)
        except Exception as exc:  # noqa: BLE001 - a bug answers 500 instead of dropping the connection
            return _error_page(HTTPStatus.INTERNAL_SERVER_ERROR, f"the shop failed: {type(exc).__name__}")

    def _route_or_raise(self, method: str) -> _Response:
        # http.server reads the request line as Latin-1; an address sent with raw (unescaped)
        # UTF-8, as curl sends "?q=café", is read as the UTF-8 its bytes are (bytes that are not
        # UTF-8 become U+FFFD, as escaped ones do)
        address = urlsplit(self.path.encode("latin-1", "replace").decode("utf-8", "replace"))
        match = _SESSION_PATH.match(address.path)
        if match is None:
            return _error_page(HTTPStatus.NOT_FOUND, "there is no page at this address")
        session_id, rest = match.group(1), match.group(2) or "/"
        product = _PRODUCT_PATH.match(rest)
        if product is not None and product.group(1) == "buy" and product.group(3):
            product = None  # one buys from the product page, not from a sub-page
        if rest not in ("/", "/search", "/results") and product is None:
            return _error_page(HTTPStatus.NOT_FOUND, "there is no page at this address")
        allowed = "POST" if product is not None and product.group(1) == "buy" else "GET, HEAD"
        if method not in allowed.split(", "):
            status, html, _ = _error_page(HTTPStatus.METHOD_NOT_ALLOWED, f"use {allowed} at this address")
            return status, html, {"Allow": allowed}
        session = self.app.get_session(session_id)
        if session is None:
            return _error_page(HTTPStatus.NOT_FOUND, "this shopping session does not exist (it has ended)")
        if product is not None and product.group(2) not in self.app.shop.catalogue.by_id:
            return _error_page(HTTPStatus.NOT_FOUND, f"there is no product {product.group(2)}")
        if method == "POST":
            refused = self._discard_body()
            if refused is not None:
                return refused
        with session.lock:
            try:
                if rest == "/":
                    pass
                elif rest == "/search":
                    self._search(session, address.query)
                elif rest == "/results":
                    session.restore(_view_of("results", None, address.query))
                else:
                    kind = "item" if product.group(1) == "buy" else product.group(3) or "item"
                    session.restore(_view_of(kind, product.group(2), address.query))
                    if product.group(1) == "buy":
                        session.click(BUY)
                        return HTTPStatus.SEE_OTHER, "", {"Location": f"/s/{session_id}/"}
            except ShopActionError as exc:
                return HTTPStatus.BAD_REQUEST, render_session(session, session_id, str(exc)), {}
            return HTTPStatus.OK, render_session(session, session_id), {}

    @staticmethod
    def _search(session: ShopSession, query_string: str) -> None:
        """The search page, or (with ``q``; the first one when repeated, as a results address
        reads it) a search from it."""
        try:
            params = parse_qsl(query_string, keep_blank_values=True, max_num_fields=64)
        except ValueError:
            raise ShopActionError("the address has too many parameters") from None
        session.restore(View())
        query = next((value for name, value in params if name == "q"), None)
        if query is not None:
            session.search(query)

    def _discard_body(self) -> _Response | None:
        """Read (and ignore: buying takes its parameters from the address) a request body of at
        most :data:`MAX_BODY_BYTES`; else the refusal: 400 for a ``Content-Length`` that is not a
        number of bytes (decimal digits), 413 for a larger body."""
        length_text = self.headers.get("Content-Length", "0").strip()
        if not (length_text.isascii() and length_text.isdigit()):
            return _error_page(HTTPStatus.BAD_REQUEST,
                               f"the Content-Length header must be a number of bytes, got {length_text[:20]!r}")
        length = int(length_text)
        if length > MAX_BODY_BYTES:
            return _error_page(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"the request body is over {MAX_BODY_BYTES} bytes")
        if length:
            self.rfile.read(length)
        return None

    def _answer(self, response: _Response, body: bool = True) -> None:
        status, html, headers = response
        data = html.encode("utf-8")
        try:
            self.send_response(status)
            if data:
                self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (*_SECURITY_HEADERS, *headers.items()):
                self.send_header(name, value)
            self.end_headers()
            if body and data:
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client left; nothing to answer
            pass


def _hang_up(connection: socket.socket) -> None:
    """End a connection both ways (a handler blocked reading it reads the end)."""
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:  # already closed or reset
        pass


def _error_page(status: HTTPStatus, message: str) -> _Response:
    title = f"{status.value} {status.phrase}"
    html = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title></head>'
            f"<body><h1>{escape(title)}</h1><p>{escape(message)}</p></body></html>")
    return status.value, html, {}


# ---------------------------------------------------------------------- the process's apps
_shared: dict[tuple[int, int], ShopApp] = {}
_shared_lock = threading.Lock()
#: Every app of this process (forked children close their copies of the listening sockets).
_every_app: weakref.WeakSet[ShopApp] = weakref.WeakSet()


def shared_app(size: int, seed: int) -> ShopApp:
    """The process's app for the shop of ``(size, seed)`` (started on first use)."""
    key = (size, seed)
    with _shared_lock:
        app = _shared.get(key)
        if app is None or app.closed or app._owner_pid != os.getpid():
            app = ShopApp(load_shop(size, seed))
            _shared[key] = app
        return app


def close_shared_apps() -> None:
    """Close every app :func:`shared_app` started in this process (run at interpreter exit)."""
    with _shared_lock:
        apps = [app for app in _shared.values() if app._owner_pid == os.getpid()]
        _shared.clear()
    for app in apps:
        app.close()


def _close_inherited_sockets() -> None:
    """In a forked child: close the copies of the parent's listening sockets (and of the
    connections its handlers serve). The child serves none of them (no serving thread came
    along); a copy left open would keep the parent's port bound and accepting connections that
    nobody answers after the parent closed its app. Closes the copies only (a shutdown would end
    the parent's connections too) and takes no lock (one held by another thread of the parent
    at the fork stays held in the child)."""
    global _shared_lock
    _shared_lock = threading.Lock()
    for app in list(_every_app):
        if not app._closed:
            app._closed = True
            app._httpd.server_close()
            for connection in list(app._connections):
                connection.close()
            app._connections.clear()
    _every_app.clear()
    _shared.clear()


atexit.register(close_shared_apps)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_inherited_sockets)

__all__ = ["DEFAULT_MAX_SESSIONS", "MAX_BODY_BYTES", "OPTION_PREFIX", "ShopApp", "buy_path", "close_shared_apps",
           "render_session", "shared_app", "view_path"]
