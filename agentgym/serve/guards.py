"""What stands between the network and the policy server: a bearer token and a body-size limit.

Both are plain ASGI middleware that answer before the request body is read, with OpenAI's
``{"error": {...}}`` body:

- :class:`BearerAuth` answers 401 unless ``Authorization: Bearer <key>`` carries the key
  (compared in constant time);
- :class:`BodyLimit` answers 413 for a ``Content-Length`` over the limit without reading the
  body, and stops a body sent without one (chunked) as soon as it passes the limit;
- :class:`CrashAnswer` answers 500 for an exception the app raised (a bug behind it) and keeps
  the connection open, where an ``exception_handler(Exception)`` would answer and then re-raise
  it into uvicorn, which closes the connection under a client that may already reuse it;
- :class:`OriginGuard` answers 403 to a request a web page of another origin sent
  (:func:`foreign_origin`), for servers that change state (the environment server).

:func:`check_exposure` refuses to serve beyond loopback without a key, and :func:`check_app_key`
a ready app that does not check the key it is served with.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import operator
from typing import Any, Awaitable, Callable
from urllib.parse import urlsplit

from starlette.exceptions import HTTPException

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024


def is_loopback(host: str) -> bool:
    """Whether listening on ``host`` is reachable from this machine only (``localhost``,
    ``127.0.0.0/8``, ``::1``). Anything else, ``0.0.0.0`` and ``::`` included, is not."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to any interface
        return False


def foreign_origin(scope: Scope) -> str | None:
    """The request's ``Origin`` when it names a web page not served from this machine, else
    ``None``. Browsers let any page a user visits send requests (and open WebSockets) to
    127.0.0.1, marked with the page's ``Origin``; clients that are not browsers send none."""
    header = _header(scope, b"origin")
    if header is None:
        return None
    origin = header.decode("latin-1").strip()
    try:
        host = urlsplit(origin).hostname
    except ValueError:
        host = None
    return None if host and is_loopback(host) else origin


class OriginGuard:
    """Answer 403 to an HTTP request from a web page of another origin (:func:`foreign_origin`):
    a page the user visits can post to a keyless loopback server (a ``text/plain`` body needs no
    preflight) though it cannot read the answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (origin := foreign_origin(scope)) is not None:
            await send_error(send, 403, f"requests from web pages of other origins are refused (Origin {origin[:100]})",
                             error_type="permission_error", headers=((b"connection", b"close"),))
            return
        await self.app(scope, receive, send)


def check_exposure(host: str, api_key: str | None, *, how_to_give_a_key: str = "api_key=...") -> None:
    """Raise ``ValueError`` when ``host`` listens beyond loopback and no API key is set."""
    if api_key is not None and not api_key:
        raise ValueError("the API key is empty: give a non-empty key, or none to serve on loopback only")
    if not api_key and not is_loopback(host):
        raise ValueError(f"refusing to serve on {host!r} without an API key: that interface is reachable from other "
                         f"machines. Give a key with {how_to_give_a_key} (clients send it as "
                         f"'Authorization: Bearer <key>', OpenAI clients as api_key), or listen on 127.0.0.1")


def middleware_options(app: Any, cls: type, name: str) -> list[Any]:
    """The ``name`` argument each middleware of class ``cls`` was added to ``app`` with
    (Starlette's ``user_middleware``), in the order added; ``None`` where it was not given."""
    return [middleware.kwargs.get(name) for middleware in getattr(app, "user_middleware", ())
            if getattr(middleware, "cls", None) is cls]


def check_app_key(app: Any, api_key: str | None) -> None:
    """For a ready app served with ``api_key`` (the runners' ``app`` argument): ``ValueError``
    unless the app checks that very key (its :class:`BearerAuth`'s). The key given to a runner
    is what lets it serve beyond loopback (:func:`check_exposure`): an app made without it, or
    with another, would be served keyless, or with a key its caller does not know."""
    if api_key is None:
        return
    keys = middleware_options(app, BearerAuth, "api_key")
    if api_key not in keys:
        raise ValueError("the ready app does not check the api_key given (it was made with "
                         f"{'another key' if keys else 'no key'}): make the app with api_key=... and give the same key "
                         "here, or give the options to build the app instead of the app")


def check_port(port: Any) -> int:
    """``port`` as an ``int`` when it is one a server can listen on (0 to 65535; 0 picks a free
    port), else ``ValueError`` (uvicorn would fail later, in its thread, with a resolver error)."""
    if not isinstance(port, bool):
        try:
            number = operator.index(port)  # ints, numpy integers; not floats or strings
        except TypeError:
            number = None
        if number is not None and 0 <= number <= 65535:
            return number
    raise ValueError(f"port must be an integer from 0 to 65535 (0 picks a free port), got {port!r}")


def error_body(status: int, message: str, error_type: str = "invalid_request_error",
               param: str | None = None) -> bytes:
    """OpenAI's error body, as the rest of the server writes it."""
    return json.dumps({"error": {"message": message, "type": error_type, "param": param, "code": status}}).encode()


async def send_error(send: Send, status: int, message: str, *, error_type: str = "invalid_request_error",
                     headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    body = error_body(status, message, error_type)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value
    return None


class BearerAuth:
    """Answer 401 to any HTTP request without ``Authorization: Bearer <api_key>``.

    The key is compared by SHA-256 digest with :func:`hmac.compare_digest`, so the time taken
    tells nothing about the key, its length included.
    """

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        if not api_key:
            raise ValueError("BearerAuth needs a non-empty api_key")
        self.app = app
        self._digest = hashlib.sha256(api_key.encode()).digest()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = _header(scope, b"authorization")
        scheme, _, token = (header or b"").strip().partition(b" ")
        if header is None or scheme.lower() != b"bearer":
            await send_error(send, 401, "this server needs an API key: send it as 'Authorization: Bearer <key>'",
                             error_type="authentication_error", headers=((b"www-authenticate", b"Bearer"),))
            return
        if not hmac.compare_digest(hashlib.sha256(token.strip()).digest(), self._digest):
            await send_error(send, 401, "the API key is not valid", error_type="authentication_error",
                             headers=((b"www-authenticate", b'Bearer error="invalid_token"'),))
            return
        await self.app(scope, receive, send)


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413.

    A declared ``Content-Length`` over the limit is answered at once, the body unread, and the
    connection closed (so the rest of the body is never read either). A body without one is
    counted as it arrives and refused when it passes the limit, before the app parses it.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be >= 1, got {max_bytes}")
        self.app = app
        self.max_bytes = max_bytes

    def too_large(self, size: str) -> str:
        return f"the request body is {size}; this server accepts at most {self.max_bytes} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                length = -1
            if length < 0:
                await send_error(send, 400, f"Content-Length {declared[:40].decode('latin-1')!r} is not a size",
                                 headers=((b"connection", b"close"),))
                return
            if length > self.max_bytes:
                await send_error(send, 413, self.too_large(f"{length} bytes"), headers=((b"connection", b"close"),))
                return
        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Raised inside the app's body read: FastAPI passes HTTPExceptions through
                    # to the server's error handler, which answers 413.
                    raise HTTPException(413, self.too_large(f"over {self.max_bytes} bytes"))
            return message

        await self.app(scope, counted_receive, send)


class CrashAnswer:
    """Answer 500 (``internal error: <type>: <message>``) to an HTTP request whose app raised,
    log the traceback to ``logger``, and call ``on_crash(exc)`` (a counter); the connection lives on.
    ``error_type`` is the error body's ``type``.

    Put it innermost (the first ``add_middleware``): the app's own exception handlers answer
    what they handle, and this answers the rest. Starlette's ``exception_handler(Exception)``
    answers too, but re-raises the exception to the server, and uvicorn then closes a keep-alive
    connection the client may already have sent its next request on (that request is lost:
    ``Connection reset by peer``). An exception after the answer started is re-raised (nothing
    can be answered any more).
    """

    def __init__(self, app: ASGIApp, logger: logging.Logger, on_crash: Callable[[Exception], None] | None = None,
                 error_type: str = "server_error") -> None:
        self.app, self.logger, self.on_crash, self.error_type = app, logger, on_crash, error_type

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except Exception as exc:  # noqa: BLE001 - a bug behind the app: answered, logged, counted
            if started:
                raise
            self.logger.error("%s %s raised", scope.get("method"), scope.get("path"), exc_info=exc)
            if self.on_crash is not None:
                self.on_crash(exc)
            await send_error(send, 500, f"internal error: {type(exc).__name__}: {exc}", error_type=self.error_type)
