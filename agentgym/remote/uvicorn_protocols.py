"""uvicorn protocol classes for the environment server (``http=`` and ``ws=`` of uvicorn's
``Config``), each made by a factory that imports uvicorn only when called.

- :func:`guarded_http_protocol`: uvicorn's h11 HTTP protocol with a deadline on request heads,
  so that a connection that never sends a complete head is closed instead of held for ever.
- :func:`read_ahead_websocket_protocol`: uvicorn's sans-I/O WebSocket protocol that keeps
  reading while fewer than ``max_queued`` messages wait for the app, and writes a plain text
  answer as one hand-made frame (:func:`~agentgym.remote.frames.server_text_frame`).

Neither changes what the app receives or what a peer that completes its requests sees: the first
only closes connections whose head never completes; the second changes when the socket is read,
and its hand-made frame holds the bytes uvicorn's ``websockets`` would write.
"""

from __future__ import annotations

import asyncio
from typing import Any

from agentgym.remote.frames import server_text_frame

DEFAULT_HEAD_TIMEOUT = 10.0  # seconds a connection may take to send a request's head


def guarded_http_protocol(head_timeout: float = DEFAULT_HEAD_TIMEOUT) -> type[asyncio.Protocol]:
    """uvicorn's h11 HTTP protocol, plus a deadline on request heads (pass it as ``http=``).

    A connection that has not sent a complete request head ``head_timeout`` seconds after it
    connected, or after it began a later request's head on a kept-alive connection, is closed
    (see the module docstring: uvicorn would hold it for ever). The deadline is on the head
    only: a request being answered, a body being uploaded, an idle kept-alive connection
    (uvicorn's ``timeout_keep_alive``) and an upgraded WebSocket (its heartbeat) are not
    touched by it.
    """
    if not head_timeout > 0:
        raise ValueError(f"head_timeout must be positive, got {head_timeout}")
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeadTimeoutH11Protocol(H11Protocol):
        _head_deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm_head_deadline()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:  # the head is complete: a request runs, or an upgrade
                self._disarm_head_deadline()
            elif self.conn.trailing_data[0] and self._head_deadline is None:  # a later request's head begun
                self._arm_head_deadline()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm_head_deadline()
            super().connection_lost(exc)

        def _arm_head_deadline(self) -> None:
            self._head_deadline = self.loop.call_later(head_timeout, self._head_timed_out)

        def _disarm_head_deadline(self) -> None:
            if self._head_deadline is not None:
                self._head_deadline.cancel()
                self._head_deadline = None

        def _head_timed_out(self) -> None:
            self._head_deadline = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()

    HeadTimeoutH11Protocol.__name__ = HeadTimeoutH11Protocol.__qualname__ = "HeadTimeoutH11Protocol"
    return HeadTimeoutH11Protocol


def read_ahead_websocket_protocol(max_queued: int = 2) -> type[asyncio.Protocol]:
    """uvicorn's sans-I/O WebSocket protocol, reading on while fewer than ``max_queued`` messages
    wait for the app (pass it as ``ws=``).

    uvicorn's own stops reading the socket after every message and starts again when the app
    takes it: two ``epoll_ctl`` calls and their bookkeeping per message, paid on every step
    even when one request at a time is in flight (a client awaiting each answer, as ours
    does). This one pauses only when ``max_queued`` messages are waiting (a client pipelining
    requests faster than the app answers), and resumes, as uvicorn's does, when the app has
    taken them all: at most ``max_queued`` messages (each up to uvicorn's ``ws_max_size``) are
    held per connection.
    """
    if type(max_queued) is not int or max_queued < 1:
        raise ValueError(f"max_queued must be a positive integer, got {max_queued!r}")
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
    from websockets.protocol import State

    class ReadAheadWebSocketProtocol(WebSocketsSansIOProtocol):
        async def send(self, message: dict[str, Any]) -> None:
            """A text message on an open connection with no extension is written as one
            unmasked final frame, here (:func:`server_text_frame`); everything else (the
            handshake, bytes, a close, a connection with permessage-deflate or not open)
            goes through uvicorn's ``send``."""
            conn = self.conn
            text = message.get("text") if message["type"] == "websocket.send" else None
            if (text is not None and message.get("bytes") is None and self.handshake_complete
                    and self.initial_response is None and not conn.extensions):
                await self.writable.wait()
                if (not self.disconnected and not self.close_sent and conn.state is State.OPEN
                        and not conn.expect_continuation_frame):
                    queued = conn.data_to_send()  # whatever the connection still holds goes first
                    frame = server_text_frame(text.encode())
                    self.transport.write(b"".join(queued) + frame if queued else frame)
                    return
            await super().send(message)

        def send_receive_event_to_app(self) -> None:
            read_paused = self.read_paused
            self.read_paused = True  # uvicorn's method pauses unless paused: it sees itself paused
            try:
                super().send_receive_event_to_app()
            finally:
                self.read_paused = read_paused
            if not self.read_paused and self.queue.qsize() >= max_queued and not self.transport.is_closing():
                self.read_paused = True
                self.transport.pause_reading()

    ReadAheadWebSocketProtocol.__name__ = ReadAheadWebSocketProtocol.__qualname__ = "ReadAheadWebSocketProtocol"
    return ReadAheadWebSocketProtocol
