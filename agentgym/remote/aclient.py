"""``AsyncRemoteEnv``: the asyncio client of the environment server, over its WebSocket.

::

    async with AsyncRemoteEnv("games/Wordle-v0", server="http://127.0.0.1:8000") as env:
        observation, info = await env.areset(seed=0)
        observation, reward, terminated, truncated, info = await env.astep("crane")

Why a WebSocket and not HTTP: one connection per session, no per-step request overhead, and
the server sees at once (or by its heartbeat) when a client is gone and frees its session.
Many environments can run from one event loop (each has its own connection); one
environment's calls are serialised. The connection is this module's
:class:`WebSocketConnection` (RFC 6455, the parts this client uses): each answer goes from the
socket's callback straight to the call awaiting it, with no reader task or queue between them.

The failure contract is :class:`~agentgym.remote.client.RemoteEnv`'s:

- ``open`` (or the first ``areset``, or ``async with``) opens the connection and the session;
  ``open`` raises :class:`~agentgym.remote.client.RemoteEnvError` when it cannot. Connecting
  is retried ``retries`` times (pause ``backoff * 2**attempt``); it has ``connect_timeout``.
- Every call has ``timeout`` seconds. ``astep`` never raises and never hangs past that: when
  the server cannot be reached, answers an error, or lost the session, it returns the error
  observation ``"Environment server error: <why>"``, reward ``0.0``, ``terminated=False``,
  ``truncated=True`` and ``info = {"reward_components": {}, "error": <why>, "success": False,
  "remote_error": <kind>}``, kind one of ``"unreachable"``, ``"transport"`` (a timeout or a
  connection dropped while the call was in flight: the server may have carried it out),
  ``"session_lost"`` (404) or ``"server"``.
- Resumption (``resumable=True``, the default): the session is created resumable, and when the
  connection is found dropped *before* a call is sent, the client reconnects and takes the
  same session back (``resume``) within the server's grace period, then sends the call — the
  episode goes on. When the session is gone, ``areset`` opens a new one; ``astep`` answers
  ``session_lost``. After a call that timed out, lost its connection in flight or was
  cancelled by its caller (``asyncio.wait_for``, a task cancelled; the server may still be
  running it: a hung step holds the session), ``areset`` asks the server to close that session,
  without waiting, and opens a new one, as ``RemoteEnv.reset`` does. A create cancelled so (an
  ``areset`` or ``open`` cut short while the server makes the environment) is followed by a
  ``close`` on its connection: the session is closed once made, and the next call opens another.
- A bad argument (a negative seed, options that are not a dict or hold a value JSON cannot
  carry) raises :class:`~agentgym.core.ConfigError`. ``aclose`` closes the session and the
  connection and never raises.
- One env may be driven from one event loop after another (an ``asyncio.run`` per call): a
  connection whose loop is not the running one is shut down, and the session resumed (or,
  when not resumable, lost as with any dropped connection) on a new connection.
- ``arender()`` (with ``render_mode=...`` given to the constructor) returns what the server's
  environment renders: text, a uint8 array decoded from PNG, a list for the ``*_list`` modes,
  ``None`` without a render mode; it raises :class:`~agentgym.remote.client.RemoteEnvError`
  when the server cannot answer (a frame has no error observation to stand in for it).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
import os
import socket
import ssl
from json.encoder import encode_basestring_ascii as _ascii_string
from typing import Any, Callable, Sequence
from urllib.parse import urlsplit

from agentgym.core import ConfigError
from agentgym.remote.client import (
    RemoteEnvError,
    _Failure,
    check_client_options,
    check_reset_arguments,
    created_session,
    drawn_action,
    generator_as_data,
    rendered_frame,
    reset_outcome,
    step_outcome,
    wrappers_as_data,
)
from agentgym.remote.frames import client_frame
from agentgym.remote.schemas import dumps
from agentgym.spaces import space_from_description

_UNSET: Any = object()
_ACCEPT_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455, section 1.3
_CONTINUATION, _TEXT, _BINARY, _CLOSE, _PING, _PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_MAX_HEAD_BYTES = 64 * 1024  # the server's handshake answer
_PONG_MESSAGE = b'{"type":"pong"}'


class HandshakeError(Exception):
    """The server did not accept the WebSocket handshake (an HTTP status, or not a WebSocket)."""


class WebSocketConnection(asyncio.Protocol):
    """The client side of one WebSocket connection (RFC 6455), as this client uses it.

    Each message that arrives is parsed as JSON and handed to ``on_message`` at once, from the
    transport's callback: no reader task and no queue between the socket and the call awaiting
    the answer (the websockets library's connection spends several times this one's CPU per
    message on those, and the benchmark's client shares the machine with the server). What it
    does: the opening handshake (101 and the ``Sec-WebSocket-Accept`` digest checked), masked
    text frames out, text or binary messages in (fragmented or not), pings answered with
    pongs, the closing handshake either way. No extension (no compression) and no subprotocol
    are offered, and any frame that breaks the protocol (a masked frame from the server, a
    reserved bit or opcode) ends the connection (close code 1002). The callbacks get the
    connection first: ``on_message(connection, message)``, and ``on_lost(connection, reason)``
    once, when the connection ends for any reason.
    Use :meth:`open`; :meth:`send` writes one text message; :meth:`close` closes. The
    connection lives on the event loop it was opened on (:attr:`loop`): only that loop reads
    its answers.
    """

    def __init__(self, on_message: Callable[[Any, Any], None], on_lost: Callable[[Any, str], None]) -> None:
        loop = asyncio.get_running_loop()
        self.loop = loop  # the only loop that reads this connection's socket
        self.transport: asyncio.Transport | None = None
        self.open = False  # the handshake is done and no close was sent or received
        self._on_message, self._on_lost = on_message, on_lost
        self._opened: asyncio.Future = loop.create_future()
        self._lost: asyncio.Future = loop.create_future()
        self._key = ""
        self._head = bytearray()  # the server's handshake answer, until it is whole
        self._buffer = bytearray()  # frame bytes not parsed yet
        self._fragments: list[bytes] = []  # a fragmented message's parts so far
        self._close_sent = False
        self._lost_reason: str | None = None

    @classmethod
    async def open(cls, url: str, *, headers: dict[str, str] | None, on_message: Callable[[Any, Any], None],
                   on_lost: Callable[[Any, str], None]) -> "WebSocketConnection":
        """Connect to ``url`` (``ws://`` or ``wss://``) and complete the handshake; raises
        ``OSError`` when the TCP connection fails and :class:`HandshakeError` when the server
        refuses the upgrade. Bound it with a timeout: a cancelled open closes its socket."""
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ValueError(f"not a WebSocket URL: {url!r}")
        secure = parts.scheme == "wss"
        port = parts.port or (443 if secure else 80)
        loop = asyncio.get_running_loop()
        transport, connection = await loop.create_connection(
            lambda: cls(on_message, on_lost), parts.hostname, port,
            ssl=ssl.create_default_context() if secure else None)
        try:
            host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
            default_port = parts.port is None or parts.port == (443 if secure else 80)
            connection._request_upgrade(f"{host}" if default_port else f"{host}:{port}",
                                        (parts.path or "/") + (f"?{parts.query}" if parts.query else ""), headers)
            await connection._opened
        except BaseException:
            transport.abort()
            raise
        return connection

    # ------------------------------------------------------------------ the handshake
    def _request_upgrade(self, host: str, target: str, headers: dict[str, str] | None) -> None:
        self._key = base64.b64encode(os.urandom(16)).decode("ascii")
        lines = [f"GET {target} HTTP/1.1", f"Host: {host}", "Upgrade: websocket", "Connection: Upgrade",
                 f"Sec-WebSocket-Key: {self._key}", "Sec-WebSocket-Version: 13"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        # UTF-8: ASCII as it is, and a header value beyond it (an API key) as the server reads it
        self.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8"))

    def _take_head(self, data: bytes) -> bytes | None:
        """Collect the server's answer to the upgrade; once whole, check it and return the bytes
        after it (frames already sent), or ``None`` while it is incomplete."""
        self._head += data
        end = self._head.find(b"\r\n\r\n")
        if end < 0:
            if len(self._head) > _MAX_HEAD_BYTES:
                raise HandshakeError(f"the server's answer to the upgrade is over {_MAX_HEAD_BYTES} bytes")
            return None
        head, rest = bytes(self._head[:end]).decode("latin-1"), bytes(self._head[end + 4:])
        self._head = bytearray()
        status_line, *header_lines = head.split("\r\n")
        fields = status_line.split(" ", 2)
        if len(fields) < 2 or not fields[0].startswith("HTTP/") or not fields[1].isdigit():
            raise HandshakeError(f"the server's answer is not HTTP: {status_line[:100]!r}")
        if fields[1] != "101":
            raise HandshakeError(f"server rejected WebSocket connection: HTTP {fields[1]}")
        found: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            found[name.strip().lower()] = value.strip()
        expected = base64.b64encode(hashlib.sha1(self._key.encode("ascii") + _ACCEPT_GUID).digest()).decode()
        if (found.get("upgrade", "").lower() != "websocket"
                or "upgrade" not in [token.strip() for token in found.get("connection", "").lower().split(",")]):
            raise HandshakeError("the server's 101 answer does not upgrade to a WebSocket")
        if found.get("sec-websocket-accept") != expected:
            raise HandshakeError("the server's Sec-WebSocket-Accept does not match the key sent")
        if found.get("sec-websocket-extensions") or found.get("sec-websocket-protocol"):
            raise HandshakeError("the server chose an extension or a subprotocol that was not offered")
        return rest

    # ------------------------------------------------------------------ asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            if not self._opened.done():
                rest = self._take_head(data)
                if rest is None:
                    return
                self.open = True
                self._opened.set_result(None)
                if not rest:
                    return
                data = rest
            self._parse(data)
        except Exception as exc:  # noqa: BLE001 - a broken answer or frame ends this connection
            self._fail(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        reason = "the connection closed" if exc is None else f"the connection dropped: {type(exc).__name__}: {exc}"
        if not self._opened.done():
            self._opened.set_exception(ConnectionResetError(f"{reason} before the WebSocket handshake ended"))
        self._lose(reason)
        if not self._lost.done():
            self._lost.set_result(None)

    # ------------------------------------------------------------------ frames
    def _parse(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        while len(buffer) >= 2:
            first, second = buffer[0], buffer[1]
            length, start = second & 0x7F, 2
            if length == 126:
                if len(buffer) < 4:
                    return
                length, start = int.from_bytes(buffer[2:4], "big"), 4
            elif length == 127:
                if len(buffer) < 10:
                    return
                length, start = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) < start + length:
                return
            if second & 0x80 or first & 0x70:
                raise ProtocolError("the server sent a masked frame or set a reserved bit")
            payload = bytes(buffer[start:start + length])
            del buffer[:start + length]
            self._frame(first & 0x0F, bool(first & 0x80), payload)
            if not self.open:
                return

    def _frame(self, opcode: int, final: bool, payload: bytes) -> None:
        if opcode in (_TEXT, _BINARY, _CONTINUATION):
            if (opcode == _CONTINUATION) != bool(self._fragments):
                raise ProtocolError("a continuation frame without a message begun, or a new message inside one")
            if not final:
                self._fragments.append(payload)
                return
            if self._fragments:
                payload, self._fragments = b"".join(self._fragments) + payload, []
            self._on_message(self, json.loads(payload.decode("utf-8", "surrogatepass")))
        elif opcode == _PING:
            self._write(_PONG, payload)
        elif opcode == _CLOSE:
            code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            self.open = False
            if self._close_sent:  # the server's answer to our close
                self._lose("the connection closed")
            else:
                self._write(_CLOSE, payload[:2])
                self._close_sent = True
                self._lose(f"the server closed the connection (code {code})")
            self.transport.close()
        elif opcode != _PONG:
            raise ProtocolError(f"the server sent a frame with the reserved opcode {opcode:#x}")

    def _write(self, opcode: int, payload: bytes) -> None:
        """One final, masked frame (RFC 6455: a client masks every frame it sends)."""
        self.transport.write(client_frame(opcode, payload))

    def send(self, message: bytes) -> None:
        """Write one text message (UTF-8 bytes); ``ConnectionError`` when the connection is closed."""
        if not self.open or self.transport.is_closing():
            raise ConnectionError("the connection is closed")
        self._write(_TEXT, message)

    # ------------------------------------------------------------------ the end
    def _lose(self, reason: str) -> None:
        if self._lost_reason is None:
            self._lost_reason = reason
            on_lost, self._on_lost, self._on_message = self._on_lost, _ignore, _ignore
            on_lost(self, reason)

    def _fail(self, exc: Exception) -> None:
        if not self._opened.done():
            self._opened.set_exception(exc)
        elif self.open and not self._close_sent:
            self._write(_CLOSE, (1002).to_bytes(2, "big"))
            self._close_sent = True
        self.open = False
        self._lose(f"the connection broke: {type(exc).__name__}: {exc}")
        self.transport.close()

    def detach(self) -> None:
        """Stop handing messages and the connection's end to the callbacks."""
        self._on_message = self._on_lost = _ignore
        self._lost_reason = self._lost_reason or "detached"

    async def close(self, timeout: float = 1.0) -> None:
        """Send a close frame, wait up to ``timeout`` seconds for the server's, then close the
        socket (at once when the connection is already gone). Called from another event loop
        than :attr:`loop` (which may have ended, as each ``asyncio.run`` ends its own), it shuts
        the socket down both ways instead: the server sees the peer gone at once, and the
        descriptor is freed with the transport."""
        if self.transport is None:
            return
        if self.loop is not asyncio.get_running_loop():
            self.open = False
            self._lose("the connection's event loop is another one")
            try:
                self.transport.get_extra_info("socket").shutdown(socket.SHUT_RDWR)
            except (AttributeError, OSError):  # no socket any more, or already shut down
                pass
            return
        if self.open and not self._close_sent and not self.transport.is_closing():
            self._write(_CLOSE, (1000).to_bytes(2, "big"))
            self._close_sent = True
            try:
                await asyncio.wait_for(asyncio.shield(self._lost), timeout)
            except asyncio.TimeoutError:
                pass
        self.open = False
        self._lose("the connection closed")
        if not self._lost.done() and not self.transport.is_closing():
            self.transport.abort()


class ProtocolError(Exception):
    """A frame from the server that breaks RFC 6455."""


def _ignore(*_: Any) -> None:
    pass


class AsyncRemoteEnv:
    """A session of ``env_id`` on the environment server at ``server``, driven with asyncio.

    Args:
        env_id: a registered id on the server.
        server: the server's root URL (``http://`` or ``ws://``, ``https://`` or ``wss://``; a
            trailing ``/v1`` is accepted); one that is no such URL raises
            :class:`~agentgym.core.ConfigError`.
        api_key: sent as ``Authorization: Bearer <key>`` (UTF-8) in the handshake.
        max_turns: the turn budget (absent: the registered one; ``None``: none).
        timeout: seconds a call may take; ``connect_timeout`` to connect.
        retries, backoff: connection retries and the first pause between them (doubling).
        resumable: ask the server to keep the session through a dropped connection.
        render_mode: one of the environment's ``metadata["render_modes"]`` (see ``arender``).
        wrappers / outer_wrappers: wrappers the server puts inside / outside the turn budget,
            as data (:class:`~agentgym.wrappers.WrapperSpec`, a name, or ``{"name", "kwargs"}``).
        **kwargs: the environment's constructor arguments (JSON values).
    """

    def __init__(self, env_id: str, *, server: str, api_key: str | None = None, max_turns: int | None = _UNSET,
                 timeout: float = 30.0, connect_timeout: float = 5.0, retries: int = 2, backoff: float = 0.1,
                 resumable: bool = True, render_mode: str | None = None, wrappers: Sequence[Any] = (),
                 outer_wrappers: Sequence[Any] = (), **kwargs: Any) -> None:
        check_client_options("AsyncRemoteEnv", timeout=timeout, connect_timeout=connect_timeout, retries=retries,
                             backoff=backoff, kwargs=kwargs)
        root = server.rstrip("/")
        root = root[: -len("/v1")] if root.endswith("/v1") else root
        self.server = root
        self.url = websocket_url(root)
        self.env_id = env_id
        self.timeout, self.connect_timeout, self.retries, self.backoff = timeout, connect_timeout, retries, backoff
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else None
        self._create: dict[str, Any] = {"type": "create", "env_id": env_id, "kwargs": kwargs, "resumable": resumable,
                                        **wrappers_as_data(wrappers, outer_wrappers)}
        if max_turns is not _UNSET:
            self._create["max_turns"] = max_turns
        if render_mode is not None:
            self._create["render_mode"] = render_mode
        self.render_mode = render_mode
        self.session_id: str | None = None
        self.resume_token: str | None = None
        self.spec_info: dict[str, Any] = {}
        self.reconnects = 0
        self._ws: WebSocketConnection | None = None
        self._pending: dict[int, asyncio.Future] = {}
        self._ids = itertools.count(1)
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self._session_in_doubt = False  # a call on it timed out or lost its connection

    # ------------------------------------------------------------------ transport
    async def _connect(self, retries: int | None = None) -> None:
        retries = self.retries if retries is None else retries
        for attempt in range(retries + 1):
            try:
                self._ws = await asyncio.wait_for(WebSocketConnection.open(
                    self.url, headers=self._headers, on_message=self._deliver, on_lost=self._connection_lost),
                    self.connect_timeout)
                return
            except (OSError, asyncio.TimeoutError) as exc:
                if attempt == retries:
                    raise _Failure("unreachable", f"cannot connect to {self.url}: {exc or type(exc).__name__}") from None
                await asyncio.sleep(self.backoff * 2**attempt)
            except Exception as exc:  # noqa: BLE001 - a refused handshake (401/403, not a server of ours)
                raise _Failure("server", f"the WebSocket handshake with {self.url} failed: {exc}") from None

    def _deliver(self, ws: "WebSocketConnection", message: Any) -> None:
        """A message from ``ws``: a ping is answered; an answer goes to the call awaiting it (an
        error without an id, to the one call in flight)."""
        if ws is not self._ws:
            return
        if type(message) is not dict:
            raise ProtocolError(f"a message is a JSON object, got {type(message).__name__}")
        if message.get("type") == "ping":
            ws.send(_PONG_MESSAGE)
            return
        request_id = message.get("id")
        if request_id is None and message.get("type") == "error" and len(self._pending) == 1:
            # The server refused a message before reading its id (over its size limit, not
            # JSON): the refusal answers the one call in flight (this env's calls are serialised).
            request_id = next(iter(self._pending))
        future = self._pending.pop(request_id, None)
        if future is not None and not future.done():
            future.set_result(message)

    def _connection_lost(self, ws: "WebSocketConnection", reason: str) -> None:
        """``ws`` ended: every call in flight on it fails (the server may have carried it out)."""
        if ws is not self._ws:
            return
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(_Failure("transport", f"{reason} ({self.url})"))

    def _connected(self) -> bool:
        """A connection is open, on the running event loop (one opened by an ``asyncio.run``
        that has returned is left: no loop reads its answers any more)."""
        ws = self._ws
        return ws is not None and ws.open and ws.loop is asyncio.get_running_loop()

    async def _drop_connection(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            ws.detach()
            try:
                await ws.close(1.0)
            except Exception:  # noqa: BLE001 - best effort
                pass
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(_Failure("transport", f"the connection was dropped ({self.url})"))

    async def _send(self, message: dict[str, Any]) -> dict[str, Any]:
        request_id = next(self._ids)
        try:  # encoded once, before anything is sent: a value JSON cannot carry leaves the connection as it is
            action = message.get("action")
            if type(action) is str and len(message) == 2 and message["type"] == "step":
                # A text action (nearly every step): the bytes dumps would write, without its
                # general machinery.
                data = b'{"type":"step","action":%s,"id":%d}' % (_ascii_string(action).encode("ascii"), request_id)
            else:
                data = dumps({**message, "id": request_id})
        except (TypeError, ValueError) as exc:
            what = "the action" if message.get("type") == "step" else f"the {message.get('type')} request"
            raise _Failure("server", f"{what} cannot be sent as JSON: {exc}") from None
        ws = self._ws
        future = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        timer = future.get_loop().call_later(self.timeout, _expire, future)
        try:
            ws.send(data)
            answer = await future
        except _Failure:  # the connection was lost with the call in flight
            self._session_in_doubt = True  # the server may be running it still, the session busy
            raise
        except asyncio.CancelledError:  # the caller stopped waiting (wait_for, a task cancelled)
            # The server carries the call out still. A create's session, held by this connection
            # and unknown here, is closed once made (the server reads a connection's messages in
            # order; the connection stays usable); after any other call the session is in doubt,
            # as after a timeout.
            if message.get("type") != "create":
                self._session_in_doubt = True
            else:
                try:
                    ws.send(dumps({"type": "close", "id": next(self._ids)}))
                except (AttributeError, ConnectionError):  # no connection any more: the server closes it
                    pass
            raise
        except Exception as exc:  # noqa: BLE001 - the connection broke while sending
            self._session_in_doubt = True
            raise _Failure("transport", f"{type(exc).__name__} talking to {self.url}: {exc}") from None
        finally:
            timer.cancel()
            self._pending.pop(request_id, None)
        if answer is None:  # no answer within the timeout
            self._session_in_doubt = True
            await self._drop_connection()  # a late answer must not be taken for the next call's
            raise _Failure("transport", f"no answer from {self.url} within {self.timeout:g} s")
        if answer.get("type") == "error":
            error = answer.get("error", {})
            code = error.get("code")
            kind = "session_lost" if code == 404 else "server"
            raise _Failure(kind, f"error {code}: {error.get('message')}", code)
        return answer.get("result")  # missing: the caller finds its answer malformed

    async def _ensure_session(self, *, may_create: bool) -> None:
        """A live connection holding this env's session: resumed if possible, else (when
        ``may_create``) a new one."""
        if self._connected() and self.session_id is not None:
            return
        if not self._connected():
            await self._drop_connection()
            await self._connect()
            if self.session_id is not None and self.resume_token is not None:
                try:
                    self.spec_info = await self._send({"type": "resume", "session_id": self.session_id,
                                                       "resume_token": self.resume_token})
                    self.reconnects += 1
                    return
                except _Failure as failure:
                    if failure.kind != "session_lost":
                        raise
            self.session_id = None
        if not may_create:
            raise _Failure("session_lost", "the server no longer holds this session: reset() to open a new one")
        self.spec_info = created_session(await self._send(self._create))
        self._session_in_doubt = False
        self.session_id = self.spec_info["session_id"]
        self.resume_token = self.spec_info.get("resume_token")
        self.observation_space = space_from_description(self.spec_info.get("observation_space"))

    async def _abandon_session(self, retries: int | None = None) -> None:
        """Give up this env's session, whose last call timed out or lost its connection (the
        server may still be running it: a hung step holds the session for good). A resumable
        one is resumed on a new connection and asked to close, which the server does once that
        call ends, without waiting for it (best effort: its reaper closes it otherwise); a
        session that is not resumable closed with its connection. Then it is forgotten.
        ``retries``: connection retries (default: the env's)."""
        session_id, token = self.session_id, self.resume_token
        self.session_id = self.resume_token = None
        await self._drop_connection()
        if session_id is not None and token is not None:
            try:
                await self._connect(retries)
                await self._send({"type": "resume", "session_id": session_id, "resume_token": token})
                self._ws.send(dumps({"type": "close", "id": next(self._ids)}))
            except (_Failure, ConnectionError):
                pass
            await self._drop_connection()
        self._session_in_doubt = False

    def _guard(self) -> asyncio.Lock:
        """The lock serialising this env's calls, one per event loop (an asyncio lock belongs to
        the loop it was first contended on)."""
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock

    # ------------------------------------------------------------------ the API
    async def open(self) -> "AsyncRemoteEnv":
        """Connect and open the session; raises :class:`RemoteEnvError` when that fails."""
        async with self._guard():
            try:
                await self._ensure_session(may_create=True)
            except _Failure as failure:
                await self._drop_connection()
                raise RemoteEnvError(f"cannot open a session of {self.env_id} on {self.server}: "
                                     f"{failure.message}") from None
        return self

    async def __aenter__(self) -> "AsyncRemoteEnv":
        return await self.open()

    async def __aexit__(self, *_: Any) -> None:
        await self.aclose()

    @staticmethod
    def _error_info(failure: _Failure) -> dict[str, Any]:
        return {"reward_components": {}, "error": failure.message, "success": False, "remote_error": failure.kind}

    async def areset(self, *, seed: int | None = None,
                     options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        check_reset_arguments("AsyncRemoteEnv.areset", seed, options)
        message = {"type": "reset", "seed": seed, "options": options}
        async with self._guard():
            try:
                try:
                    if self._session_in_doubt:  # its last call may still run there (a hung step): start afresh
                        await self._abandon_session()
                    await self._ensure_session(may_create=True)
                    answer = await self._send(message)
                except _Failure as failure:
                    if failure.kind not in ("session_lost", "transport", "unreachable"):
                        raise
                    await self._drop_connection()  # start over once: resume, or a new session
                    if failure.kind == "session_lost":
                        self.session_id = None
                    elif self._session_in_doubt:
                        await self._abandon_session()
                    await self._ensure_session(may_create=True)
                    answer = await self._send(message)
                return reset_outcome(answer)
            except _Failure as failure:
                if failure.kind == "server" and failure.status == 400:
                    raise ConfigError(f"AsyncRemoteEnv.areset: {failure.message}") from None
                return f"Environment server error: {failure.message}", {**self._error_info(failure), "task_id": None}

    async def astep(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        async with self._guard():
            try:
                if self.session_id is None:
                    raise _Failure("session_lost", "no session on the server: areset() after the last failure")
                if not self._connected():
                    await self._ensure_session(may_create=False)
                return step_outcome(await self._send({"type": "step", "action": action}))
            except _Failure as failure:
                return f"Environment server error: {failure.message}", 0.0, False, True, self._error_info(failure)

    async def aspec(self) -> dict[str, Any]:
        """The session's description (``SessionInfo``); raises :class:`RemoteEnvError` on failure."""
        async with self._guard():
            try:
                await self._ensure_session(may_create=True)
                return await self._send({"type": "spec"})
            except _Failure as failure:
                raise RemoteEnvError(failure.message) from None

    async def arender(self) -> Any:
        """What the server's environment renders (see the module docstring)."""
        if self.render_mode is None:
            return None
        async with self._guard():
            try:
                if self.session_id is None:
                    raise _Failure("session_lost", "no session on the server: areset() first")
                await self._ensure_session(may_create=False)
                return rendered_frame(await self._send({"type": "render"}))
            except _Failure as failure:
                raise RemoteEnvError(f"cannot render {self.env_id} on {self.server}: {failure.message}") from None

    async def arandom_action(self, rng: Any) -> str:
        """The server's environment's ``random_action(rng)``, ``rng`` moved on as locally;
        ``NotImplementedError`` when it has none, :class:`RemoteEnvError` when the server cannot
        answer (see :meth:`RemoteEnv.random_action <agentgym.remote.client.RemoteEnv.random_action>`)."""
        async with self._guard():
            try:
                if self.session_id is None:
                    raise _Failure("session_lost", "no session on the server: areset() first")
                await self._ensure_session(may_create=False)
                answer = await self._send({"type": "random_action", **generator_as_data(rng)})
                return drawn_action(rng, answer)
            except _Failure as failure:
                if failure.status == 501:
                    raise NotImplementedError(failure.message) from None
                raise RemoteEnvError(f"random_action of {self.env_id} on {self.server}: {failure.message}") from None

    async def aclose(self) -> None:
        """Close the session (best effort, one short call) and the connection; never raises.
        With the connection gone, a resumable session (which the server keeps for its resume
        grace) is resumed on a new one (one connection attempt, at most 2 s) and asked to close."""
        async with self._guard():
            timeouts = self.timeout, self.connect_timeout
            self.timeout, self.connect_timeout = min(self.timeout, 2.0), min(self.connect_timeout, 2.0)
            try:
                if self.session_id is not None and self._connected():
                    await self._send({"type": "close"})
                elif self.session_id is not None and self.resume_token is not None:
                    await self._abandon_session(retries=0)
            except Exception:  # noqa: BLE001 - the server closes it with the connection anyway
                pass
            finally:
                self.timeout, self.connect_timeout = timeouts
            self.session_id = self.resume_token = None
            self._session_in_doubt = False
            await self._drop_connection()


def websocket_url(root: str) -> str:
    """The ``/v1/ws`` URL of the server at ``root`` (``http(s)://`` or ``ws(s)://``, in any case);
    :class:`~agentgym.core.ConfigError` naming ``root`` when it is no such URL (no scheme or
    another, no host, a port that is no number or out of range, an IPv6 address without brackets)."""
    try:
        parts = urlsplit(root)
        parts.port  # noqa: B018 - raises for a port that is no number
        valid = parts.scheme.lower() in _SCHEMES and bool(parts.hostname)
    except ValueError:
        valid = False
    if not valid:
        raise ConfigError(f"AsyncRemoteEnv: server {root!r} is not an http://, https://, ws:// or wss:// URL: e.g. "
                          "http://127.0.0.1:8001, or http://[::1]:8001")
    return _SCHEMES[parts.scheme.lower()] + root[len(parts.scheme):] + "/v1/ws"


_SCHEMES = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}  # the server's scheme -> its WebSocket's


def _expire(future: asyncio.Future) -> None:
    """A call's timer: ``None`` is the answer of a call that got none in time."""
    if not future.done():
        future.set_result(None)


__all__ = ["AsyncRemoteEnv", "HandshakeError", "WebSocketConnection"]
