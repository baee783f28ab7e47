"""``PageServer`` (the web family's loopback HTTP server): a browser hanging up mid-answer is
routine and prints nothing; any other error of a request is still reported."""

from __future__ import annotations

import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler

import pytest

from agentgym.envs.web.page_server import PageServer


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path == "/boom":
            raise RuntimeError("the handler's own error")
        self.server.started.set()
        self.send_response(200)
        self.send_header("Content-Length", str(64 << 20))
        self.end_headers()
        for _ in range(64):  # far more than the socket buffers hold: the client is gone by then
            self.wfile.write(b"x" * (1 << 20))


class _Watched(PageServer):
    def __init__(self) -> None:
        self.started = threading.Event()
        self.errors_handled = threading.Event()
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request, client_address):  # noqa: D102
        try:
            super().handle_error(request, client_address)
        finally:
            self.errors_handled.set()


@pytest.fixture
def server():
    server = _Watched()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def _get(server: PageServer, path: str) -> socket.socket:
    sock = socket.create_connection(server.server_address[:2], timeout=10)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    return sock


def test_a_client_hanging_up_mid_answer_prints_nothing(server, capfd):
    sock = _get(server, "/big")
    assert server.started.wait(10)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # a reset, as a closed tab
    sock.close()
    assert server.errors_handled.wait(10), "the write to the closed connection never failed"
    assert capfd.readouterr().err == ""


def test_other_errors_are_still_reported(server, capfd):
    with _get(server, "/boom") as sock:
        assert server.errors_handled.wait(10)
        sock.recv(1)
    err = capfd.readouterr().err
    assert "RuntimeError: the handler's own error" in err and "Traceback" in err
