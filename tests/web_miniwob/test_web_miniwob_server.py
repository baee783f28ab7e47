"""The loopback server of the MiniWoB++ pages, over real sockets: files under the wheel's html
folder by GET and HEAD, nothing outside it, no listings, no other methods."""

from __future__ import annotations

import http.client
import socket

import pytest

from agentgym.envs.web.miniwob.server import MiniWoBServer, html_root, shared_server


@pytest.fixture(scope="module")
def server():
    with MiniWoBServer() as server:
        yield server


def request(server: MiniWoBServer, method: str, path: str) -> tuple[int, http.client.HTTPMessage, bytes]:
    """Status, headers (case-insensitive) and body of one request."""
    connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response.status, response.msg, response.read()
    finally:
        connection.close()


def raw_request(server: MiniWoBServer, line: str) -> bytes:
    """Send a request line exactly as written (no client-side normalisation of the path)."""
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(line.encode("latin-1") + b"\r\nHost: x\r\n\r\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_a_task_page_and_its_scripts_are_served_as_utf8(server):
    assert server.host == "127.0.0.1" and server.base_url == f"http://127.0.0.1:{server.port}/"
    status, headers, body = request(server, "GET", "/miniwob/click-button.html")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert body == (html_root() / "miniwob" / "click-button.html").read_bytes()
    status, headers, body = request(server, "GET", "/core/core.js")
    assert status == 200 and b"startEpisodeReal" in body and "charset=utf-8" in headers["Content-Type"]
    status, headers, body = request(server, "HEAD", "/miniwob/click-button.html")
    assert status == 200 and body == b""
    assert server.task_url("click-button") == f"{server.base_url}miniwob/click-button.html"


@pytest.mark.parametrize("path", [
    "/../../../../../../etc/passwd",
    "/miniwob/../../../../../../etc/passwd",
    "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/miniwob/..\\..\\..\\..\\..\\etc\\passwd",
    "//etc/passwd",
])
def test_no_path_reaches_outside_the_html_folder(server, path):
    reply = raw_request(server, f"GET {path} HTTP/1.0")
    assert reply.startswith(b"HTTP/1.0 404"), reply[:200]
    assert b"root:" not in reply


def test_folders_are_not_listed(server):
    for path in ("/", "/miniwob/", "/core"):
        status, _, body = request(server, "GET", path)
        assert status in (301, 404), (path, status)
        assert b"click-button.html" not in body


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"])
def test_methods_other_than_get_and_head_are_refused(server, method):
    status, _, body = request(server, method, "/miniwob/click-button.html")
    assert status == 501
    assert b"genProblem" not in body


def test_task_url_accepts_only_task_names(server):
    for bad in ("../core/core", "no-such-task", "miniwob/click-button", ".hidden", "", 7, "a\\b"):
        with pytest.raises(ValueError, match="no MiniWoB"):
            server.task_url(bad)


def test_the_server_listens_on_loopback_only_and_close_frees_the_port():
    server = MiniWoBServer()
    port = server.port
    assert request(server, "GET", "/miniwob/click-test.html")[0] == 200
    server.close()
    server.close()  # idempotent
    assert server.closed and "closed" in repr(server)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_the_shared_server_is_one_per_process():
    assert shared_server() is shared_server()
    assert not shared_server().closed
