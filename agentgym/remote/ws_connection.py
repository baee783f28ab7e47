"""One WebSocket connection of the environment server, at the ASGI level.

The server's ``/v1/ws`` endpoint talks to uvicorn through ASGI ``receive`` and ``send`` with no
framework object in between (its messages are the server's hot path):

- :class:`Connection`: the session a connection holds, when the client was last heard, whether
  a call of its own is running (the heartbeat spares a busy connection), and one writer at a
  time; :meth:`Connection.send` writes a JSON text message and raises :class:`Disconnected`
  when the peer is gone;
- :class:`AsgiEndpoint`: the ASGI app a starlette ``WebSocketRoute`` is given, calling
  ``handler(scope, receive, send)`` as it is.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, Callable

from agentgym.remote.schemas import dumps_answer

if TYPE_CHECKING:
    from agentgym.remote.sessions import Session


class Connection:
    """One WebSocket connection (its ASGI ``receive`` and ``send``): its session, its liveness,
    and one writer at a time."""

    def __init__(self, receive: Callable[[], Any], send: Callable[[Any], Any]) -> None:
        self.receive, self._send = receive, send
        self.session: Session | None = None
        self.last_heard = time.monotonic()
        self.busy = False
        self._send_lock = asyncio.Lock()

    async def send(self, message: dict[str, Any]) -> None:
        """Send ``message`` as a text message; :class:`Disconnected` when the peer is gone."""
        async with self._send_lock:
            try:
                await self._send({"type": "websocket.send", "text": dumps_answer(message)})
            except OSError as exc:  # uvicorn's ClientDisconnected
                raise Disconnected(str(exc)) from None


class Disconnected(Exception):
    """The WebSocket's peer is gone (a send found the connection closed)."""


class AsgiEndpoint:
    """An ASGI app around ``handler(scope, receive, send)`` (starlette routes a callable object
    that is not a function to it as an ASGI app, with no ``WebSocket`` object made)."""

    def __init__(self, handler: Callable[..., Any]) -> None:
        self.handler = handler

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Any], send: Callable[[Any], Any]) -> None:
        await self.handler(scope, receive, send)
