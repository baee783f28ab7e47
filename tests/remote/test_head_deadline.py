"""guarded_http_protocol: connections that never complete a request head are closed.

uvicorn (h11) holds a connection that sends nothing, or part of a request head, for as long as
the peer keeps it open; the guarded protocol closes it ``head_timeout`` seconds after it
connected or began a head. Everything that did complete a head — a request being answered, a
slow body upload, a WebSocket — is left alone.
"""

import asyncio
import json
import socket
import time

import httpx
import pytest
from websockets.asyncio.client import connect

from agentgym.remote import env_app
from agentgym.remote.server import guarded_http_protocol
from agentgym.serve.runner import serving_in_thread

HEAD_TIMEOUT = 0.5


@pytest.fixture(scope="module")
def guarded_url():
    with serving_in_thread(env_app(), host="127.0.0.1", port=0, name="guarded environment server",
                           http=guarded_http_protocol(HEAD_TIMEOUT)) as url:
        yield url


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def _seconds_until_closed(sock: socket.socket) -> float:
    started = time.monotonic()
    while sock.recv(65536):
        pass
    return time.monotonic() - started


@pytest.mark.parametrize("sent", [
    b"",                                                                   # silence from the start
    b"POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Le",                 # an HTTP head cut short
    b"GET /v1/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Up",  # an upgrade cut short
])
def test_a_connection_that_never_completes_a_head_is_closed(guarded_url, sent):
    with _connect(guarded_url) as sock:
        sock.sendall(sent)
        waited = _seconds_until_closed(sock)
    assert HEAD_TIMEOUT * 0.8 <= waited < HEAD_TIMEOUT + 3


def test_a_later_head_cut_short_on_a_kept_alive_connection_is_closed_too(guarded_url):
    with _connect(guarded_url) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while not answer.endswith(b"}"):
            answer += sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 200")
        time.sleep(HEAD_TIMEOUT * 1.5)  # an idle kept-alive connection is uvicorn's (5 s), not the deadline's
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 200"), answer
        sock.sendall(b"GET /hea")
        assert _seconds_until_closed(sock) < HEAD_TIMEOUT + 3


def test_requests_slow_bodies_and_websockets_outlive_the_deadline(guarded_url):
    with _connect(guarded_url) as sock:  # a head on time, then a body trickling in past the deadline
        body = json.dumps({"env_id": "games/Wordle-v0"}).encode()
        sock.sendall(b"POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
        for index in range(3):
            time.sleep(HEAD_TIMEOUT / 2)
            sock.sendall(body[index * len(body) // 3:(index + 1) * len(body) // 3])
        answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 201"), answer[:200]

    async def websocket_past_the_deadline():
        async with connect(guarded_url.replace("http://", "ws://") + "/v1/ws") as ws:
            await asyncio.sleep(HEAD_TIMEOUT * 3)
            await ws.send(json.dumps({"type": "create", "id": 1, "env_id": "games/GuessTheNumber-v0"}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "result"

    asyncio.run(websocket_past_the_deadline())
    with httpx.Client(base_url=guarded_url, timeout=10) as client:  # and ordinary clients never notice
        for _ in range(3):
            assert client.get("/health").status_code == 200
            time.sleep(HEAD_TIMEOUT * 0.7)


def test_the_deadline_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        guarded_http_protocol(0)
