"""Helpers of the browser-core tests: a real web server on 127.0.0.1, a server "outside".

* :class:`Site` -- a :class:`ThreadingHTTPServer` on 127.0.0.1 serving the pages tests register
  (``site.page(path, html)``), counting requests per path, with a cache-friendly script, cookie
  endpoints, a page that answers late (``/slow?ms=300&title=t``), a 12 x 12 PNG that answers late
  (``/slow.png?ms=300``) or not until the site stops (``/hung.png``) and a small WebSocket endpoint
  (``/ws``) of its own (:func:`start_site`).
* :class:`Outside` -- a second server on a *non-loopback* address of this machine (and a UDP
  socket there): a place the browser could reach if the loopback-only policy failed. It counts
  TCP connections, requests and datagrams, so a test can say that nothing arrived.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import psutil

from agentgym.browser import BrowserPool
from agentgym.browser.processes import browser_processes
from agentgym.envs.web.page_server import PageServer

_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _png(width: int, height: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(out, format="PNG")
    return out.getvalue()


_SQUARE_PNG = _png(12, 12)


class Site:
    """Pages at ``http://127.0.0.1:<port>``; ``hits[path]`` counts the requests for each path."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[bytes, str, dict[str, str]]] = {}
        self.handlers: dict[str, Callable[[BaseHTTPRequestHandler], None]] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.lock = threading.Lock()
        self.base = ""

    def url(self, path: str) -> str:
        return self.base + path

    def page(self, path: str, html: str, *, content_type: str = "text/html; charset=utf-8",
             headers: dict[str, str] | None = None) -> str:
        """Serve ``html`` at ``path``; returns its URL."""
        self.pages[path] = (html.encode("utf-8"), content_type, dict(headers or {}))
        return self.url(path)

    def note(self, path: str, headers: dict[str, str]) -> None:
        with self.lock:
            self.hits[path] += 1
            self.requests.append((path, headers))


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # quiet
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            path = urlsplit(self.path).path
            site.note(path, dict(self.headers))
            if path in site.handlers:
                site.handlers[path](self)
                return
            if path not in site.pages:
                self._send(404, b"not found", "text/plain")
                return
            body, content_type, headers = site.pages[path]
            self._send(200, body, content_type, headers)

        do_POST = do_GET

        def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

    return Handler


def _websocket(handler: BaseHTTPRequestHandler) -> None:
    """A WebSocket that greets, echoes one text message and closes (RFC 6455, unfragmented)."""
    key = handler.headers.get("Sec-WebSocket-Key", "")
    accept = base64.b64encode(hashlib.sha1((key + _WS_GUID).encode()).digest()).decode()
    handler.send_response(101)
    handler.send_header("Upgrade", "websocket")
    handler.send_header("Connection", "Upgrade")
    handler.send_header("Sec-WebSocket-Accept", accept)
    handler.end_headers()
    handler.wfile.write(_frame(b"hello from loopback"))
    handler.wfile.flush()
    handler.connection.settimeout(5.0)
    try:
        header = handler.rfile.read(2)
        length = header[1] & 0x7F
        if length == 126:
            length = int.from_bytes(handler.rfile.read(2), "big")
        mask = handler.rfile.read(4)
        data = bytes(b ^ mask[i % 4] for i, b in enumerate(handler.rfile.read(length)))
        if header[0] & 0x0F == 1:
            handler.wfile.write(_frame(b"echo: " + data))
        handler.wfile.write(b"\x88\x02\x03\xe8")  # close, 1000
        handler.wfile.flush()
    except (OSError, IndexError):
        pass
    handler.close_connection = True


def _frame(payload: bytes) -> bytes:
    assert len(payload) < 126
    return bytes([0x81, len(payload)]) + payload


class _CountingServer(PageServer):
    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self.connections: list[tuple[str, int]] = []
        super().__init__(address, handler)

    def get_request(self):  # type: ignore[no-untyped-def]
        request = super().get_request()
        self.connections.append(request[1])
        return request


def _serve(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name=f"test-http-{server.server_address[1]}", daemon=True)
    thread.start()
    return thread


def start_site() -> tuple[Site, Callable[[], None]]:
    """A running :class:`Site` and the function that stops it."""
    site = Site()
    site.handlers["/ws"] = _websocket

    def cached_script(handler: BaseHTTPRequestHandler) -> None:
        handler._send(200, b"window.cachedLoads = (window.cachedLoads || 0) + 1;", "text/javascript",
                      {"Cache-Control": "public, max-age=3600"})

    def set_cookie(handler: BaseHTTPRequestHandler) -> None:
        handler._send(200, b"<p>cookie set</p>", "text/html", {"Set-Cookie": "visit=first; Path=/; Max-Age=3600"})

    def echo_cookie(handler: BaseHTTPRequestHandler) -> None:
        handler._send(200, (handler.headers.get("Cookie") or "").encode(), "text/plain")

    def slow_page(handler: BaseHTTPRequestHandler) -> None:
        query = parse_qs(urlsplit(handler.path).query)
        time.sleep(float(query.get("ms", ["300"])[0]) / 1000.0)
        title = query.get("title", ["slow"])[0]
        handler._send(200, f"<title>{title}</title><p>{title} page</p>".encode(), "text/html")

    stopping = threading.Event()

    def slow_image(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(float(parse_qs(urlsplit(handler.path).query).get("ms", ["300"])[0]) / 1000.0)
        handler._send(200, _SQUARE_PNG, "image/png")

    def hung_image(handler: BaseHTTPRequestHandler) -> None:
        stopping.wait(60.0)
        handler.close_connection = True

    site.handlers.update({"/cached.js": cached_script, "/set-cookie": set_cookie, "/echo-cookie": echo_cookie,
                          "/slow": slow_page, "/slow.png": slow_image, "/hung.png": hung_image})
    server = _CountingServer(("127.0.0.1", 0), _handler(site))
    site.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = _serve(server)

    def stop() -> None:
        stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(5)

    return site, stop



class Outside:
    """A server on a non-loopback address of this machine; what arrives there got out."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.site = Site()
        self.server = _CountingServer((host, 0), _handler(self.site))
        self.port = self.server.server_address[1]
        self.site.base = f"http://{host}:{self.port}"
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind((host, 0))
        self.udp.settimeout(0.1)
        self.udp_port = self.udp.getsockname()[1]
        self.datagrams: list[tuple[str, int]] = []
        self._stop = threading.Event()
        self._threads = [_serve(self.server), threading.Thread(target=self._read_udp, daemon=True)]
        self._threads[1].start()

    def url(self, path: str = "/") -> str:
        return self.site.url(path)

    def arrivals(self) -> dict[str, int]:
        """What reached this host so far: TCP connections, HTTP requests, UDP datagrams."""
        return {"tcp": len(self.server.connections), "http": sum(self.site.hits.values()),
                "udp": len(self.datagrams)}

    def _read_udp(self) -> None:
        while not self._stop.is_set():
            try:
                _, sender = self.udp.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            self.datagrams.append(sender)

    def close(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()
        self.udp.close()
        for thread in self._threads:
            thread.join(5)


def non_loopback_ipv4() -> str | None:
    """An IPv4 address of this machine that is not loopback (``None`` if it has none)."""
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family == socket.AF_INET and not address.address.startswith("127."):
                try:
                    with socket.socket() as probe:
                        probe.bind((address.address, 0))
                except OSError:
                    continue
                return address.address
    return None


def wait_until(predicate: Callable[[], object], timeout: float = 5.0, interval: float = 0.02) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds passed; its last truth."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return bool(predicate())
        time.sleep(interval)


#: A form page for the observation and action tests. ``window.log`` records what happened
#: (clicks, hovers, keys, submissions); ``window.xss`` would be set by injected script.
FORM_PAGE = """<!doctype html>
<html><head><title>Order form</title>
<style>.gone { display: none } body { margin: 8px } #tall { height: 3000px }</style>
<script>window.secretScript = "SCRIPT-BODY-TEXT"; window.log = [];</script>
</head><body>
<h1>Order form</h1>
<p>Fill in the form below.</p>
<form id="order" onsubmit="event.preventDefault(); log.push('submit:' + new FormData(this).get('name'));
      document.getElementById('status').textContent = 'Submitted ' + new FormData(this).get('name');">
  <label for="name">Name</label> <input id="name" name="name" value="Ada"
    onkeydown="log.push('key:' + event.key)">
  <label>Password <input type="password" id="pw" value="secret"></label>
  <label><input type="checkbox" id="agree" checked> Agree to terms</label>
  <label><input type="checkbox" id="news"> Newsletter</label>
  <fieldset><legend>Colour</legend>
    <label><input type="radio" name="colour" value="red" id="red"> Red</label>
    <label><input type="radio" name="colour" value="blue" id="blue" checked> Blue</label>
  </fieldset>
  <label for="size">Size</label>
  <select id="size" onchange="log.push('size:' + this.value)">
    <option value="s">Small</option><option value="m" selected>Medium</option><option value="l">Large</option>
  </select>
  <textarea id="notes" aria-label="Notes">first line</textarea>
  <button type="submit" id="submit">Submit</button>
  <button type="button" id="disabled" disabled>Disabled one</button>
</form>
<button id="counter" onclick="this.dataset.n = (+this.dataset.n || 0) + 1; this.textContent = 'Clicked ' + this.dataset.n"
        ondblclick="log.push('dblclick')">Click me</button>
<span id="hover" onmouseenter="log.push('hover')" tabindex="0">Hover target</span>
<a href="/form/next.html">Next page</a>
<p id="status">Not submitted</p>
<div class="gone">Hidden by class</div>
<div style="visibility:hidden">Hidden by visibility <span style="visibility:visible">Visible inside hidden</span></div>
<div aria-hidden="true">Hidden from the tree</div>
<div style="opacity:0">Transparent text <button id="ghost">Ghost button</button></div>
<p hidden>Hidden attribute</p>
<input type="hidden" id="token" value="HIDDEN-TOKEN">
<iframe title="Embedded" srcdoc="<p>Inside the frame</p>" width="200" height="40"></iframe>
<div id="host"></div>
<div id="tall"></div>
<p id="bottom">The bottom of the page</p>
<script>
  const root = document.getElementById("host").attachShadow({mode: "open"});
  root.innerHTML = '<button id="shadow" onclick="log.push(\\'shadow\\')">Shadow button</button>';
  document.getElementById("notes").focus();
  document.addEventListener("click", (e) => log.push("click:" + e.clientX + "," + e.clientY + ":" + (e.target.id || e.target.tagName)));
  document.addEventListener("keydown", (e) => { if (e.target === document.body) log.push("bodykey:" + e.key); });
</script>
</body></html>
"""

NEXT_PAGE = "<!doctype html><title>Next</title><h1>The next page</h1><a href='/form/page.html'>Back to the form</a>"


def line_of(text: str, needle: str) -> str:
    """The line of an observation's tree text that contains ``needle`` (exactly one)."""
    lines = [line for line in text.splitlines() if needle in line]
    assert len(lines) == 1, f"{len(lines)} lines hold {needle!r}:\n{text}"
    return lines[0].strip()


def bid_of(text: str, needle: str) -> str:
    """The element id on the tree line that contains ``needle``."""
    line = line_of(text, needle)
    assert line.startswith("["), line
    return line[1:line.index("]")]


@contextlib.contextmanager
def checked_pool(browsers: int) -> Iterator[BrowserPool]:
    """A :class:`BrowserPool` of ``browsers`` browsers for the ``with`` block; closing it at the
    end must leave none of its browser processes behind (asserted)."""
    pool = BrowserPool(browsers)
    yield pool
    markers = [worker.marker for worker in pool.browsers if worker.marker]
    pool.close()
    assert all(not browser_processes(marker) for marker in markers), "a browser outlived pool.close()"
