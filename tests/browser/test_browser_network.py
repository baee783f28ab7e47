"""The loopback-only network policy, in a real Chromium.

The judge is not the route table but what happens: the page's own ``fetch`` rejects, its image
fails, its WebSocket never opens, and a server on a non-loopback address of this machine (which
the browser could reach if the policy failed: see ``outside`` in conftest) sees no connection,
no request and no datagram. Chromium's own error code (``ERR_BLOCKED_BY_CLIENT``) shows the
request was refused by the policy rather than by a missing network.
"""

from __future__ import annotations

import json
import time

import pytest

from agentgym.browser.action_parser import parse_actions
from agentgym.browser.actions import execute
from agentgym.browser.network import allowed_url
from agentgym.browser.observe import observe

from .browser_helpers import wait_until

ALLOWED = [
    "http://127.0.0.1:8000/page.html",
    "https://127.0.0.1/",
    "http://127.4.5.6:1/",
    "http://localhost:3000/a?b=c#d",
    "HTTP://LOCALHOST./",
    "http://[::1]:8080/",
    "ws://127.0.0.1:9000/socket",
    "wss://localhost/socket",
    "data:text/html,<p>hi</p>",
    "blob:http://127.0.0.1:8000/6c1b3a4e-0000-0000-0000-000000000000",
    "about:blank",
    "about:blank#frame",
]

REFUSED = [
    "http://8.8.8.8/",
    "https://example.com/",
    "http://10.0.0.1/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://0.0.0.0:8000/",
    "http://localhost.evil.example/",
    "http://127.0.0.1.nip.io/",
    "http://[::ffff:8.8.8.8]/",
    "http://evil.example\\@127.0.0.1/",     # the browser's host is evil.example
    "http://127.0.0.1@evil.example/",
    "http://user:pass@127.0.0.1/",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "ftp://127.0.0.1/",
    "chrome://settings",
    "about:config",
    "view-source:http://127.0.0.1/",
    "//127.0.0.1/",
    "127.0.0.1",
    "",
    None,
    12,
]


@pytest.mark.parametrize("url", ALLOWED)
def test_allowed_urls(url):
    assert allowed_url(url)


@pytest.mark.parametrize("url", REFUSED, ids=[repr(u) for u in REFUSED])
def test_refused_urls(url):
    assert not allowed_url(url)


def _outside_url(outside, path: str) -> str:
    return outside.url(path) if outside is not None else f"http://192.0.2.1{path}"


def _open(session, url: str) -> list[tuple[str, str]]:
    """Load ``url`` in the session's page; returns the (growing) list of failed requests."""
    failures: list[tuple[str, str]] = []

    def load(page):
        page.on("requestfailed", lambda request: failures.append((request.url, request.failure or "")))
        page.goto(url, wait_until="load")

    session.run(load)
    return failures


def _pump_until(session, predicate, timeout: float = 5.0) -> bool:
    """Let the browser's thread run (Playwright delivers events only while it does) until
    ``predicate()`` holds or ``timeout`` seconds passed."""
    return wait_until(lambda: session.run(lambda page: page.wait_for_timeout(50)) or predicate(), timeout)


def _blocked(failures, url: str) -> bool:
    return any(u.startswith(url) and "ERR_BLOCKED_BY_CLIENT" in why for u, why in failures)


PROBES = """async ([outside, outsideWs, local, localWs, stunPort, stunHost]) => {
  const settle = (ms) => new Promise((done) => setTimeout(done, ms));
  const result = {};
  const fetchOf = (url) => fetch(url).then(async (r) => "ok:" + await r.text(), (e) => "rejected:" + e.name);
  result.fetchOutside = await fetchOf(outside + "/fetch");
  result.fetchLocal = await fetchOf(local);
  result.fetchDns = await fetchOf("http://agentgym-no-such-host.example/");
  const image = (url) => new Promise((done) => {
    const img = new Image();
    img.onload = () => done("loaded"); img.onerror = () => done("error");
    img.src = url; document.body.appendChild(img);
  });
  result.imagePublic = await image("http://8.8.8.8/pixel.png");
  result.imageOutside = await image(outside + "/pixel.png");
  const socket = (url) => new Promise((done) => {
    const events = [];
    let ws;
    try { ws = new WebSocket(url); } catch (e) { done(["throw:" + e.name]); return; }
    ws.onopen = () => { events.push("open"); ws.send("ping"); };
    ws.onmessage = (e) => events.push("message:" + e.data);
    ws.onerror = () => events.push("error");
    ws.onclose = () => { events.push("close"); done(events); };
    setTimeout(() => done(events.concat("timeout")), 3000);
  });
  result.wsOutside = await socket(outsideWs);
  result.wsLocal = await socket(localWs);
  result.beacon = navigator.sendBeacon(outside + "/beacon", "x");
  const link = (rel, href) => { const l = document.createElement("link"); l.rel = rel; l.href = href; document.head.appendChild(l); };
  link("preconnect", outside);
  link("dns-prefetch", outside);
  link("prefetch", outside + "/prefetch");
  const frame = document.createElement("iframe");
  frame.src = outside + "/frame"; document.body.appendChild(frame);
  result.workerFetch = await new Promise((done) => {
    const code = "fetch(" + JSON.stringify(outside + "/worker") + ").then(() => postMessage('ok'), () => postMessage('rejected'))";
    const worker = new Worker(URL.createObjectURL(new Blob([code])));
    worker.onmessage = (e) => done(e.data);
    setTimeout(() => done("timeout"), 3000);
  });
  result.workerSocket = await new Promise((done) => {
    const code = "const ws = new WebSocket(" + JSON.stringify(outsideWs) + ");" +
      "ws.onopen = () => postMessage('open'); ws.onerror = () => postMessage('error');";
    const worker = new Worker(URL.createObjectURL(new Blob([code])));
    worker.onmessage = (e) => done(e.data);
    setTimeout(() => done("timeout"), 3000);
  });
  const source = new EventSource(outside + "/events");
  result.eventSource = await new Promise((done) => {
    source.onopen = () => done("open"); source.onerror = () => done("error");
    setTimeout(() => done("timeout"), 3000);
  });
  source.close();
  const peer = new RTCPeerConnection({iceServers: [{urls: "stun:" + stunHost + ":" + stunPort}]});
  peer.createDataChannel("leak");
  await peer.setLocalDescription(await peer.createOffer());
  await settle(1500);  // ICE gathering would have sent its STUN requests by now
  peer.close();
  return result;
}"""


def test_nothing_leaves_the_machine_but_loopback_works(session, site, outside):
    start = site.page("/net/start.html", "<title>net</title><p>network probes</p>")
    site.page("/net/data.txt", "local data", content_type="text/plain")
    failures = _open(session, start)
    before = outside.arrivals() if outside is not None else None
    out = _outside_url(outside, "")
    out_ws = out.replace("http://", "ws://") + "/ws"
    stun_host, stun_port = (outside.host, outside.udp_port) if outside is not None else ("192.0.2.1", 3478)
    result = session.run(lambda page: page.evaluate(
        PROBES, [out, out_ws, site.url("/net/data.txt"), site.url("/ws").replace("http://", "ws://"),
                 stun_port, stun_host]), 30)
    time.sleep(0.5)  # let anything late (a preconnect, a retransmitted STUN packet) arrive

    assert result["fetchOutside"] == "rejected:TypeError"
    assert result["fetchDns"] == "rejected:TypeError"
    assert result["fetchLocal"] == "ok:local data"
    assert result["imagePublic"] == "error" and result["imageOutside"] == "error"
    assert "open" not in result["wsOutside"], result["wsOutside"]
    assert result["wsLocal"][:3] == ["open", "message:hello from loopback", "message:echo: ping"], result["wsLocal"]
    assert result["workerFetch"] == "rejected"
    assert result["workerSocket"] != "open" and result["eventSource"] == "error"
    assert _blocked(failures, out + "/fetch") and _blocked(failures, "http://8.8.8.8/pixel.png")
    if outside is not None:
        assert outside.arrivals() == before, f"reached the outside host: {outside.arrivals()} (before: {before})"


def test_navigating_the_page_away_is_blocked(session, site, outside):
    start = site.page("/net/nav.html", "<title>nav</title><p>stay here</p>")
    if outside is not None:
        outside.site.page("/away.html", "<title>away</title><p>OUTSIDE CONTENT</p>")
    failures = _open(session, start)
    before = outside.arrivals() if outside is not None else None
    away = _outside_url(outside, "/away.html")
    session.run(lambda page: page.evaluate("(url) => { window.location.href = url; }", away))
    assert _pump_until(session, lambda: _blocked(failures, away)), failures
    text = observe(session)["text"]
    assert "OUTSIDE CONTENT" not in text
    popup = session.run(lambda page: page.evaluate("(url) => !!window.open(url)", away))
    time.sleep(0.3)
    assert "OUTSIDE CONTENT" not in observe(session)["text"], popup
    if outside is not None:
        time.sleep(0.3)
        assert outside.arrivals() == before


REFUSED_GOTO = [
    "javascript:window.__pwned = 1",
    "JavaScript:window.__pwned=1",
    "  javascript:window.__pwned=1",
    "file:///etc/passwd",
    "FILE:///etc/passwd",
    "view-source:{site}/net/goto.html",
    "data:text/html,<script>window.__pwned=1</script>",
    "chrome://version",
    "about:config",
    "http://evil.example\\@127.0.0.1/",
    "{outside}/goto.html",
    "http://8.8.8.8/",
]


def test_goto_refuses_everything_but_loopback(session, site, outside):
    start = site.page("/net/goto.html", "<title>goto</title><p>the start</p>")
    _open(session, start)
    before = outside.arrivals() if outside is not None else None
    for url in REFUSED_GOTO:
        url = url.format(site=site.base, outside=_outside_url(outside, ""))
        (action,) = parse_actions(f"goto({url!r})")
        outcome = execute(session, action)
        assert outcome.error is not None and "is not allowed" in outcome.error, (url, outcome)
        state = session.run(lambda page: page.evaluate("() => [location.href, document.body.innerText, window.__pwned]"))
        assert state == [start, "the start", None], url
    if outside is not None:
        assert outside.arrivals() == before


def test_goto_follows_loopback_links(session, site):
    site.page("/net/first.html", "<title>first</title><p>one</p>")
    site.page("/net/second.html", "<title>second</title><p>two</p>")
    _open(session, site.url("/net/first.html"))
    for target, title in [("/net/second.html", "second"), ("first.html", "first"),
                          (site.url("/net/second.html").replace("127.0.0.1", "localhost"), "second")]:
        outcome = execute(session, parse_actions(f"goto({target!r})")[0])
        assert outcome.ok, outcome.error
        assert observe(session)["title"] == title


def test_allowed_url_is_the_route_rule(session, site):
    # The same decision in the browser: a page on 127.0.0.1 fetching other loopback spellings.
    site.page("/net/cors.txt", "shared", content_type="text/plain", headers={"Access-Control-Allow-Origin": "*"})
    _open(session, site.page("/net/rule.html", "<p>rule</p>"))
    port = site.base.rsplit(":", 1)[1]
    urls = [f"http://localhost:{port}/net/cors.txt", f"http://127.0.0.1:{port}/net/cors.txt"]
    got = session.run(lambda page: page.evaluate(
        "async (urls) => Promise.all(urls.map((u) => fetch(u).then((r) => r.text(), (e) => 'rejected')))", urls))
    assert got == ["shared", "shared"], json.dumps(got)


def test_the_dead_end_proxy_refuses_every_connection_and_no_one_else_can_take_its_port():
    """The address every browser sends non-loopback traffic to: the same for the whole process,
    a connection to it is refused at once, and its port cannot be bound by anyone else (the
    descriptor holding it stays open for the process's life)."""
    import socket

    from agentgym.browser.launch import dead_end_proxy

    address = dead_end_proxy()
    assert address == dead_end_proxy() and address.startswith("http://127.0.0.1:")
    port = int(address.rsplit(":", 1)[1])
    with socket.socket() as client, pytest.raises(ConnectionRefusedError):
        client.connect(("127.0.0.1", port))
    with socket.socket() as other, pytest.raises(OSError):
        other.bind(("127.0.0.1", port))
