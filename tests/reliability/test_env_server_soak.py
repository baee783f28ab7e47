"""Soak: 2,000 environment-server sessions opened, stepped and dropped in every way, then the
server holds nothing — no session, no connection, no thread or descriptor more than before —
and its memory did not grow.

The server runs in a child process started here (``uvicorn`` serving :func:`env_app` with
:func:`guarded_http_protocol`), so that its RSS, threads and file descriptors are its own and
are measured with psutil from outside, not mixed with the clients'. The clients run in this
process on one event loop (bounded concurrency), plus two client *processes* killed with
SIGKILL while they step.

The ways a session (or a connection) ends, each counted in the server's ``/metrics``:

- closed properly: ``DELETE`` over HTTP, or ``close`` over the WebSocket;
- abandoned: an HTTP session never closed — the idle reaper (``idle_timeout``) closes it;
- client killed: a child process holding HTTP and WebSocket sessions gets SIGKILL mid-step —
  its HTTP sessions are reaped, its WebSocket sessions close with their sockets (the
  resumable ones once their ``resume_grace`` ran out);
- WebSocket dropped without a close frame (the TCP connection aborted): a plain session closes
  at once, a resumable one is not resumed and expires after its grace;
- half-open: a raw socket completes the WebSocket upgrade, creates a session, then goes silent
  (never answers a ping, never closes) — the heartbeat detects it and frees the session;
- connections that never make a request: silence from the start, an HTTP request head cut
  short, a WebSocket upgrade cut short — the head deadline closes them (uvicorn alone would
  hold each for ever).

Why a warm-up: the first sessions grow the server for good reasons that are not leaks — the
environment thread pool starts its threads, the game modules and their data load,
pydantic/FastAPI build their validators and caches — and the allocator's arenas grow to the
peak of what is alive at once (sessions not yet reaped, connections not yet closed), memory
CPython keeps once it has it. So the warm-up (380 sessions) runs the same mix in the same
proportions, in the same shuffled order, with the same killed clients, at the same
concurrency: it reaches the soak's peak. The baseline (threads, fds, RSS) is taken after it;
the 2,000 sessions that follow must then leave threads and fds at that baseline and grow RSS by
less than 10% — what still grows is what accumulates, a leak.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

import httpx
import psutil
import pytest

from agentgym.remote import AsyncRemoteEnv

GAME = "games/GuessTheNumber-v0"
# Short enough to drain within seconds, long enough that a loaded server (2 cores shared by the
# server, these clients and the killed ones: requests can wait 2 s in its queue) never takes a
# live client for an idle or a silent one.
IDLE_TIMEOUT, RESUME_GRACE, HEARTBEAT_INTERVAL, HEARTBEAT_TIMEOUT, HEAD_TIMEOUT = 4.0, 1.0, 0.5, 2.0, 2.0
CONCURRENCY = 32

_SERVER = f"""
import socket, sys
import uvicorn
from agentgym.remote.server import env_app, guarded_http_protocol
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(1024)
app = env_app(max_sessions=1024, idle_timeout={IDLE_TIMEOUT}, resume_grace={RESUME_GRACE},
              heartbeat_interval={HEARTBEAT_INTERVAL}, heartbeat_timeout={HEARTBEAT_TIMEOUT}, workers=4)
config = uvicorn.Config(app, http=guarded_http_protocol({HEAD_TIMEOUT}), log_level="warning", lifespan="on",
                        timeout_graceful_shutdown=5)
print(listener.getsockname()[1], flush=True)
uvicorn.Server(config).run(sockets=[listener])
"""

_KILLED_CLIENT = f"""
import asyncio, sys
import httpx
from agentgym.remote import AsyncRemoteEnv
async def main(url, n_http, n_ws):
    http = httpx.AsyncClient(base_url=url, timeout=30, limits=httpx.Limits(keepalive_expiry=1.0))
    sids = []
    for index in range(n_http):
        sid = (await http.post("/v1/sessions", json={{"env_id": "{GAME}"}})).json()["session_id"]
        await http.post(f"/v1/sessions/{{sid}}/reset", json={{"seed": index}})
        sids.append(sid)
    envs = [AsyncRemoteEnv("{GAME}", server=url, resumable=index % 2 == 0) for index in range(n_ws)]
    for index, env in enumerate(envs):
        await env.areset(seed=index)
    print("ready", flush=True)
    while True:  # stepping when the SIGKILL comes
        for index, sid in enumerate(sids):
            await http.post(f"/v1/sessions/{{sid}}/step", json={{"action": str(index % 20 + 1)}})
        for env in envs:
            await env.astep("7")
        await asyncio.sleep(0.05)
asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
"""


@dataclass(frozen=True)
class Mix:
    """How many sessions (and session-less connections) end each way."""

    http_closed: int
    http_abandoned: int
    ws_closed: int
    ws_dropped_resumable: int
    ws_dropped_plain: int
    ws_half_open: int
    killed_clients: int
    killed_http_each: int
    killed_ws_each: int  # half of them resumable
    silent_connections: int
    partial_http_heads: int
    partial_ws_upgrades: int

    @property
    def sessions(self) -> int:
        return (self.http_closed + self.http_abandoned + self.ws_closed + self.ws_dropped_resumable
                + self.ws_dropped_plain + self.ws_half_open
                + self.killed_clients * (self.killed_http_each + self.killed_ws_each))

    @property
    def reaped(self) -> int:
        return self.http_abandoned + self.killed_clients * self.killed_http_each

    @property
    def resume_expired(self) -> int:
        return self.ws_dropped_resumable + self.killed_clients * ((self.killed_ws_each + 1) // 2)


SOAK = Mix(http_closed=600, http_abandoned=400, ws_closed=300, ws_dropped_resumable=300, ws_dropped_plain=100,
           ws_half_open=100, killed_clients=2, killed_http_each=50, killed_ws_each=50,
           silent_connections=20, partial_http_heads=50, partial_ws_upgrades=50)
WARM_UP = Mix(http_closed=60, http_abandoned=40, ws_closed=30, ws_dropped_resumable=30, ws_dropped_plain=10,
              ws_half_open=10, killed_clients=2, killed_http_each=50, killed_ws_each=50,
              silent_connections=2, partial_http_heads=5, partial_ws_upgrades=5)
assert WARM_UP.sessions == 380 and SOAK.sessions == 2000


@dataclass(frozen=True)
class Usage:
    rss: int
    threads: int
    fds: int

    @classmethod
    def of(cls, process: psutil.Process) -> "Usage":
        return cls(process.memory_info().rss, process.num_threads(), process.num_fds())

    def __str__(self) -> str:
        return f"RSS {self.rss / 2**20:.1f} MiB, {self.threads} threads, {self.fds} fds"


# ---------------------------------------------------------------------- the ways to end
async def _http_session(client: httpx.AsyncClient, seed: int, close: bool) -> None:
    created = await client.post("/v1/sessions", json={"env_id": GAME})
    assert created.status_code == 201, created.text
    sid = created.json()["session_id"]
    reset = await client.post(f"/v1/sessions/{sid}/reset", json={"seed": seed})
    assert reset.status_code == 200, reset.text
    step = await client.post(f"/v1/sessions/{sid}/step", json={"action": "10"})
    assert step.status_code == 200, step.text
    if close:
        closed = await client.delete(f"/v1/sessions/{sid}")
        assert closed.status_code == 200, closed.text


async def _ws_session(url: str, seed: int, how: str) -> None:
    env = AsyncRemoteEnv(GAME, server=url, resumable=how == "dropped_resumable", timeout=30)
    observation, info = await env.areset(seed=seed)
    assert info.get("remote_error") is None, observation
    info = (await env.astep("10"))[4]
    assert info.get("remote_error") is None, info
    if how == "closed":
        await env.aclose()
        return
    env._ws.transport.abort()  # the network drops it: no close frame, and the client never comes back
    env.session_id = env.resume_token = None
    await env._drop_connection()


def _upgrade_request(port: int) -> bytes:
    key = base64.b64encode(os.urandom(16))
    return (b"GET /v1/ws HTTP/1.1\r\nHost: 127.0.0.1:" + str(port).encode() + b"\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")


def _masked_text_frame(payload: bytes) -> bytes:
    assert len(payload) < 126
    mask = os.urandom(4)
    return bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


@dataclass(frozen=True)
class Stalled:
    """A connection this side keeps open and never writes to again."""

    kind: str
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter


async def _half_open_websocket(port: int) -> Stalled:
    """Upgrade, create a session, read its answer, then go silent (the socket is kept open)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(_upgrade_request(port))
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head[:80]
    writer.write(_masked_text_frame(json.dumps({"type": "create", "id": 1, "env_id": GAME}).encode()))
    seen = b""
    while b"session_id" not in seen:
        chunk = await reader.read(4096)
        assert chunk, "the server closed before answering the create"
        seen += chunk
    return Stalled("half-open WebSocket", reader, writer)


async def _stalled_connection(port: int, sent: bytes) -> Stalled:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    if sent:
        writer.write(sent)
        await writer.drain()
    return Stalled(f"stalled after {sent[:40]!r}", reader, writer)


async def _closed_by_the_server(stalled: Stalled, within: float) -> None:
    """Read (pings, a close frame) until the server closes the connection; fail past ``within``."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(within):
            while await stalled.reader.read(65536):
                pass
    except TimeoutError:
        raise AssertionError(f"the server kept a {stalled.kind} connection open for {within:g} s") from None
    finally:
        stalled.writer.close()
    return time.monotonic() - started


def _start_killed_client(url: str, mix: Mix) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", _KILLED_CLIENT, url, str(mix.killed_http_each),
                             str(mix.killed_ws_each)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


async def _kill_when_stepping(child: subprocess.Popen) -> None:
    line = await asyncio.to_thread(child.stdout.readline)
    if line.strip() != "ready":
        child.kill()
        raise AssertionError(f"the client to be killed did not start: {line!r}\n{child.stderr.read()[-5000:]}")
    await asyncio.sleep(0.3)  # in its stepping loop
    child.send_signal(signal.SIGKILL)
    await asyncio.to_thread(child.wait, 10)


async def _run_mix(url: str, port: int, mix: Mix, seed_base: int) -> None:
    """Every session and connection of ``mix``, concurrently (at most ``CONCURRENCY`` clients
    at a time), the killed clients alongside."""
    children = [_start_killed_client(url, mix) for _ in range(mix.killed_clients)]
    try:
        limit = asyncio.Semaphore(CONCURRENCY)
        # keepalive_expiry under uvicorn's 5 s timeout_keep_alive: a pooled connection is never
        # reused just as the server closes it (httpx would raise ReadError for that race).
        limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY,
                              keepalive_expiry=1.0)
        async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as http:
            async def bounded(make):
                async with limit:
                    return await make()

            jobs = ([lambda i=i: _http_session(http, seed_base + i, True) for i in range(mix.http_closed)]
                    + [lambda i=i: _http_session(http, seed_base + i, False) for i in range(mix.http_abandoned)]
                    + [lambda i=i: _ws_session(url, seed_base + i, "closed") for i in range(mix.ws_closed)]
                    + [lambda i=i: _ws_session(url, seed_base + i, "dropped_resumable")
                       for i in range(mix.ws_dropped_resumable)]
                    + [lambda i=i: _ws_session(url, seed_base + i, "dropped_plain") for i in range(mix.ws_dropped_plain)]
                    + [lambda: _half_open_websocket(port) for _ in range(mix.ws_half_open)]
                    + [lambda: _stalled_connection(port, b"") for _ in range(mix.silent_connections)]
                    + [lambda: _stalled_connection(port, b"POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Le")
                       for _ in range(mix.partial_http_heads)]
                    + [lambda: _stalled_connection(port, _upgrade_request(port)[:60])
                       for _ in range(mix.partial_ws_upgrades)])
            order = list(range(len(jobs)))
            random.Random(len(jobs)).shuffle(order)  # every kind spread over the run
            results = await asyncio.gather(*(bounded(jobs[index]) for index in order),
                                           *(_kill_when_stepping(child) for child in children))
        silent = [result for result in results if isinstance(result, Stalled)]
        assert len(silent) == mix.ws_half_open + mix.silent_connections + mix.partial_http_heads + mix.partial_ws_upgrades
        bound = max(HEARTBEAT_INTERVAL + HEARTBEAT_TIMEOUT, HEAD_TIMEOUT) + 5.0
        await asyncio.gather(*(_closed_by_the_server(stalled, bound) for stalled in silent))
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
            child.stdout.close()
            child.stderr.close()


def _metrics(url: str) -> dict:
    with httpx.Client(base_url=url, timeout=10) as client:
        return client.get("/metrics").json()


def _drained(url: str, within: float = 15.0) -> dict:
    deadline = time.monotonic() + within
    while True:
        metrics = _metrics(url)
        if metrics["sessions"]["open"] == 0 and metrics["websocket"]["connections_open"] == 0:
            return metrics
        assert time.monotonic() < deadline, f"the server still holds sessions: {metrics}"
        time.sleep(0.1)


def _settled(process: psutil.Process, baseline: Usage | None, within: float = 10.0) -> Usage:
    """The server's usage once its connections have wound down: back at ``baseline`` (threads
    and fds), or, with no baseline, steady for half a second."""
    deadline = time.monotonic() + within
    previous = None
    while True:
        time.sleep(0.25)
        usage = Usage.of(process)
        if baseline is None:
            if previous is not None and (usage.threads, usage.fds) == (previous.threads, previous.fds):
                return usage
        elif usage.threads <= baseline.threads and usage.fds <= baseline.fds:
            return usage
        if time.monotonic() > deadline:
            return usage
        previous = usage


@pytest.fixture
def server_process(tmp_path):
    log = open(tmp_path / "server.log", "w+")  # a file, not a pipe nobody reads: logging never blocks it
    child = subprocess.Popen([sys.executable, "-c", _SERVER], stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        port = int(child.stdout.readline())
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "/health", timeout=2)
                break
            except httpx.TransportError:
                assert child.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()
                time.sleep(0.05)
        yield child, url, port
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        child.stdout.close()
        log.close()
        server_log = (tmp_path / "server.log").read_text()
        if server_log.strip():
            print(f"server log:\n{server_log[-5000:]}")


def test_2000_sessions_dropped_every_way_leave_the_server_as_it_was(server_process, resources):
    child, url, port = server_process
    process = psutil.Process(child.pid)
    started = time.monotonic()
    at_start = Usage.of(process)

    asyncio.run(_run_mix(url, port, WARM_UP, seed_base=0))
    _drained(url)
    baseline = _settled(process, None)
    warmed = time.monotonic()

    asyncio.run(_run_mix(url, port, SOAK, seed_base=10_000))
    metrics = _drained(url)
    after = _settled(process, baseline)
    finished = time.monotonic()

    total = WARM_UP.sessions + SOAK.sessions
    sessions, websocket = metrics["sessions"], metrics["websocket"]
    summary = (f"soak: {SOAK.sessions} sessions after a {WARM_UP.sessions}-session warm-up in "
               f"{finished - warmed:.1f} s ({finished - started:.1f} s in all); server at start: {at_start}; "
               f"after warm-up: {baseline}; after the soak: {after}; RSS growth "
               f"{100 * (after.rss - baseline.rss) / baseline.rss:+.1f}%")
    print("\n" + summary)
    assert child.poll() is None, "the server died"
    assert sessions["open"] == 0 and websocket["connections_open"] == 0 and websocket["detached_sessions"] == 0
    assert sessions["created"] == total and sessions["closed"] == total, sessions
    assert sessions["refused"] == 0, sessions
    assert sessions["reaped"] == WARM_UP.reaped + SOAK.reaped, sessions
    assert websocket["resume_expired"] == WARM_UP.resume_expired + SOAK.resume_expired, websocket
    assert websocket["heartbeat_timeouts"] == WARM_UP.ws_half_open + SOAK.ws_half_open, websocket
    assert websocket["reconnects"] == 0
    assert "500" not in metrics["errors"], metrics["errors"]
    assert after.threads <= baseline.threads, summary
    assert after.fds <= baseline.fds, summary
    assert after.rss < 1.10 * baseline.rss, summary
    resources.assert_released()
