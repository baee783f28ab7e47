"""The environment server's WebSocket protocol (``/v1/ws``): :class:`WsProtocol`.

One connection holds at most one session of a :class:`~agentgym.remote.session_service.SessionService`;
the messages, heartbeats and resumption are described under "WebSocket" in
:mod:`agentgym.remote.server`. The protocol runs at the ASGI level (``receive``/``send`` of a
:class:`~agentgym.remote.ws_connection.Connection`, no framework object per message): its
messages are the server's hot path.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import time
from typing import Any, Callable

from agentgym.remote.schemas import CreateRequest, RandomActionRequest, ResetRequest, StepRequest
from agentgym.remote.session_service import ERROR_TYPES, SessionService, validate
from agentgym.remote.sessions import ApiError, Session
from agentgym.remote.ws_connection import Connection, Disconnected
from agentgym.serve.guards import foreign_origin


def step_action(data: Any) -> Any:
    """The action of a step message, checked as :class:`StepRequest` checks it (a JSON
    object with exactly ``action``, any value); the model is skipped when the shape is
    plainly right, the common case."""
    if type(data) is dict and len(data) == 1 and "action" in data:
        return data["action"]
    return validate(data, StepRequest).action


def binary_text(data: bytes, max_bytes: int) -> str:
    """A binary message's text: 413 over ``max_bytes``, 422 when it is not UTF-8 (as an HTTP
    body that is not: its bad bytes are never stepped as replacement characters)."""
    if len(data) > max_bytes:
        raise ApiError(413, f"the message is over {max_bytes} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(422, f"the message is not valid UTF-8: {exc}") from None


class WsProtocol:
    """``/v1/ws`` over ``service``: the handshake's authorisation, one task reading and answering
    messages and one sending heartbeats per connection, and the session's fate when the
    connection ends (closed, or detached for ``resume_grace`` seconds when resumable).

    Contract: :meth:`websocket_session` is the ASGI handler of one connection; it returns when
    the peer disconnected or stayed silent past ``heartbeat_interval + heartbeat_timeout``
    seconds while no call of its own ran (counted as ``heartbeat_timeouts``), never with a
    closing handshake. Every request is answered, in the order read: a ``result``, or an
    ``error`` carrying the :class:`ApiError`'s status (422 for a message that is not a JSON
    object with a known ``type``, or a binary one that is not UTF-8, 413 for one over
    ``max_message_bytes`` bytes of UTF-8, 409 for a second ``create``/``resume``, 404 for a
    request before one or a bad resume, 500 for an environment's exception); the connection
    lives on after any of them. A session whose ``create`` answer could not be sent (the client
    gone meanwhile: it never learned the session's id and token) closes with the connection,
    resumable or not.
    :attr:`connections_open` counts the connections being served now.
    """

    def __init__(self, service: SessionService, *, api_key: str | None, max_message_bytes: int,
                 resume_grace: float, heartbeat_interval: float, heartbeat_timeout: float) -> None:
        self.service = service
        self.max_message_bytes, self.resume_grace = max_message_bytes, resume_grace
        self.heartbeat_interval, self.heartbeat_timeout = heartbeat_interval, heartbeat_timeout
        self.connections_open = 0
        self._key_digest = hashlib.sha256(api_key.encode()).digest() if api_key else None

    def authorised(self, scope: dict[str, Any]) -> bool:
        """Whether the handshake carries ``Authorization: Bearer <the key>`` (always, without a
        key): the key's UTF-8 bytes, as :class:`~agentgym.serve.guards.BearerAuth` reads HTTP's."""
        if self._key_digest is None:
            return True
        header = next((value for name, value in scope.get("headers", ()) if name.lower() == b"authorization"), b"")
        scheme, _, token = header.strip().partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(
            hashlib.sha256(token.strip()).digest(), self._key_digest)

    async def websocket_session(self, scope: dict[str, Any], receive: Callable[[], Any],
                                send: Callable[[Any], Any]) -> None:
        """``/v1/ws``, at the ASGI level: its messages go to and from uvicorn without a
        framework object in between (they are the server's hot path)."""
        if (await receive())["type"] != "websocket.connect":
            return
        if not self.authorised(scope):
            await send({"type": "websocket.close", "code": 1008,
                        "reason": "this server needs an API key: 'Authorization: Bearer <key>'"})
            return
        if foreign_origin(scope) is not None:  # a web page the user visits must not drive environments
            await send({"type": "websocket.close", "code": 1008,
                        "reason": "WebSocket handshakes from web pages of other origins are refused"})
            return
        await send({"type": "websocket.accept"})
        metrics = self.service.metrics
        self.connections_open += 1
        metrics.ws_connections += 1
        connection = Connection(receive, send)
        reader = asyncio.create_task(self._serve_messages(connection), name="agentgym-ws-reader")
        heartbeat = asyncio.create_task(self._beat(connection), name="agentgym-ws-heartbeat")
        try:
            done, _ = await asyncio.wait({reader, heartbeat}, return_when=asyncio.FIRST_COMPLETED)
            if heartbeat in done and not heartbeat.cancelled() and heartbeat.exception() is None:
                metrics.heartbeat_timeouts += 1
        finally:
            for task in (reader, heartbeat):
                task.cancel()
            await asyncio.gather(reader, heartbeat, return_exceptions=True)
            self.connections_open -= 1
            await self._detach(connection.session)
        # No closing handshake: this handler ends only when the peer is gone — it disconnected
        # (nothing is left to close), or it went silent past its heartbeat. A vanished peer never
        # echoes a close frame, and uvicorn would keep its socket for its 10 s close timeout
        # waiting for one; returning without it closes the TCP connection at once.

    async def _detach(self, session: Session | None) -> None:
        """A connection's end: its session closes, or, when resumable, waits for a ``resume``."""
        if session is None or session.closed:
            return
        if session.resume_token is None:
            await self.service.close(session)
        else:
            session.attached, session.holder = False, None
            session.detached_at = time.monotonic()

    async def _beat(self, connection: Connection) -> None:
        """Ping every ``heartbeat_interval``; return when the client stayed silent too long."""
        interval, silence = self.heartbeat_interval, self.heartbeat_interval + self.heartbeat_timeout
        while True:
            await asyncio.sleep(interval)
            if connection.busy:
                connection.last_heard = time.monotonic()
            elif time.monotonic() - connection.last_heard > silence:
                # A loaded event loop may have a pong received but not read yet: let the reader
                # run before taking the client for gone.
                for _ in range(3):
                    await asyncio.sleep(0)
                if not connection.busy and time.monotonic() - connection.last_heard > silence:
                    return
            await connection.send({"type": "ping"})

    async def _serve_messages(self, connection: Connection) -> None:
        """Read, answer, repeat, until the peer disconnects."""
        # Everything the loop calls is bound here once: this loop is the server's hot path.
        receive, send, handle = connection.receive, connection.send, self._handle
        inline_active, step_inline = self.service.inline.active, self.service.step_inline
        metrics, max_bytes, monotonic, loads = self.service.metrics, self.max_message_bytes, time.monotonic, json.loads
        while True:
            message = await receive()
            if message["type"] != "websocket.receive":  # websocket.disconnect
                return
            connection.last_heard = monotonic()
            raw = message.get("text")
            request_id: Any = None
            kind: Any = None
            try:
                if raw is None:  # a binary message: UTF-8 JSON, as a text message and an HTTP body
                    raw = binary_text(message.get("bytes") or b"", max_bytes)
                elif len(raw) > max_bytes or (len(raw) * 4 > max_bytes and not raw.isascii()
                                               and len(raw.encode("utf-8", "surrogatepass")) > max_bytes):
                    # bytes, as max_bytes says: a character takes up to four (encoded only when
                    # the message could be over)
                    raise ApiError(413, f"the message is over {max_bytes} bytes")
                try:
                    data = loads(raw)
                except ValueError as exc:
                    raise ApiError(422, f"the message is not valid JSON: {exc}") from None
                except RecursionError:
                    raise ApiError(422, "the message is JSON nested too deeply to parse") from None
                if not isinstance(data, dict):
                    raise ApiError(422, "a message is a JSON object with a 'type'")
                request_id = data.pop("id", None)
                kind = data.pop("type", None)
                if kind == "pong":
                    continue
                if kind == "ping":
                    await send({"type": "pong"})
                    continue
                session = connection.session
                if (kind == "step" and session is not None and not session.closed and inline_active(session)
                        and not session.busy):
                    # The hot path, with what _handle() would check: a step of an inline session
                    # that no call holds, run to its end without yielding to the loop.
                    session.last_used = monotonic()
                    result = step_inline(session, step_action(data))
                    connection.last_heard = monotonic()
                else:
                    connection.busy = True
                    try:
                        result = await handle(connection, kind, data)
                    finally:
                        connection.busy = False
                        connection.last_heard = monotonic()
                await send({"type": "result", "id": request_id, "result": result})
            except ApiError as exc:
                metrics.error(exc.status)
                await send({"type": "error", "id": request_id, "error": {
                    "code": exc.status, "message": exc.message,
                    "type": ERROR_TYPES.get(exc.status, "invalid_request_error")}})
            except Disconnected:
                if kind == "create" and connection.session is not None:
                    # The answer, with the session's id and resume token, never reached the client:
                    # no one can resume the session, which closes with the connection.
                    connection.session.resume_token = None
                return
            except Exception as exc:  # noqa: BLE001 - an environment's bug: answered, the connection lives on
                metrics.error(500)
                await send({"type": "error", "id": request_id, "error": {
                    "code": 500, "message": f"internal error: {type(exc).__name__}: {exc}", "type": "server_error"}})

    @staticmethod
    def _held(connection: Connection) -> Session:
        """The connection's session, marked used now (404 when it holds none)."""
        session = connection.session
        if session is None or session.closed:
            raise ApiError(404, "this connection holds no session: send 'create' (or 'resume') first")
        session.last_used = time.monotonic()
        return session

    async def _handle(self, connection: Connection, kind: Any, data: dict[str, Any]) -> dict[str, Any]:
        """The answer to one request of type ``kind`` (``data``: its other fields)."""
        service, held = self.service, self._held
        if kind in ("create", "resume") and connection.session is not None and not connection.session.closed:
            raise ApiError(409, "this connection already holds a session: one session per connection")
        if kind == "create":
            return await self._create(connection, data)
        if kind == "resume":
            return self._resume(connection, data)
        if kind == "reset":
            return await service.reset(held(connection), validate(data, ResetRequest))
        if kind == "step":
            return await service.step(held(connection), StepRequest.model_construct(action=step_action(data)))
        if kind == "spec":
            return held(connection).describe()
        if kind == "random_action":
            return await service.random_action(held(connection), validate(data, RandomActionRequest))
        if kind == "render":
            return await service.render(held(connection))
        if kind == "close":
            session = held(connection)
            await service.close(session)
            connection.session = None
            return {"closed": session.id}
        raise ApiError(422, f"unknown message type {kind!r}: one of create, resume, reset, step, spec, render, "
                            "random_action, close, ping, pong")

    async def _create(self, connection: Connection, data: dict[str, Any]) -> dict[str, Any]:
        """A new session held by ``connection``; a resumable one's answer carries its token."""
        resumable = data.pop("resumable", False)
        if not isinstance(resumable, bool):
            raise ApiError(422, f"resumable must be true or false, got {resumable!r}")
        session = await self.service.create(validate(data, CreateRequest), "ws")
        session.attached, session.holder = True, connection
        connection.session = session
        answer = session.describe()
        if resumable:
            session.resume_token = secrets.token_urlsafe(24)
            answer["resume_token"] = session.resume_token
        return answer

    def _resume(self, connection: Connection, data: dict[str, Any]) -> dict[str, Any]:
        """The resumable session named in ``data``, taken by ``connection`` (from a connection
        still holding it, too: the token proves ownership); 404 for an unknown one or a wrong token."""
        session = self.service.sessions.get(str(data.get("session_id")))
        token = data.get("resume_token")
        if (session is None or session.resume_token is None or not isinstance(token, str)
                or not hmac.compare_digest(token.encode(), session.resume_token.encode())):
            raise ApiError(404, f"no resumable session {str(data.get('session_id'))[:64]!r} with this token: "
                                f"closed, past its {self.resume_grace:g} s grace, or never existed")
        if session.attached and session.holder is not None:
            session.holder.session = None  # the owner is back on a new connection: the old one lets go
        session.attached, session.holder, session.detached_at = True, connection, None
        connection.session = session
        self.service.metrics.reconnects += 1
        return {**session.describe(), "resume_token": session.resume_token}
