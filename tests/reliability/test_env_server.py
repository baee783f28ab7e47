"""The environment server under many sessions opened, stepped and dropped in different ways.

Bounded: 60 sessions, loopback only. Afterwards the server holds no session, every
environment it made is closed, no response was a 500, and this process is back to its
threads and file descriptors.
"""

import asyncio
import base64
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx

from agentgym.remote import AsyncRemoteEnv, RemoteEnv, env_app, running_env_server
from agentgym.testing import hostile_actions

SESSIONS = 60


def test_sessions_dropped_every_way_leak_nothing(resources):
    app = env_app(max_sessions=16, idle_timeout=0.3)
    rng = random.Random(0)
    with running_env_server(app=app) as url:
        abandoned = []
        for index in range(SESSIONS):
            env = RemoteEnv(rng.choice(["games/Wordle-v0", "games/TicTacToe-v0", "games/Sokoban-v0"]), server=url)
            env.reset(seed=index)
            for action in hostile_actions(5, seed=index):
                assert env.step(action)[4].get("remote_error") is None
            way = index % 3
            if way == 0:
                env.close()  # closed properly
            elif way == 1:
                abandoned.append(env)  # left open: the reaper or the shutdown closes it
            else:
                env._http.close()  # the client goes away without a word
            if len(abandoned) > 4:
                abandoned.pop(0)._http.close()
        _concurrent_step_and_close(url)
        with httpx.Client(base_url=url) as client:
            metrics = client.get("/metrics").json()
        assert "500" not in metrics["errors"] and metrics["sessions"]["created"] == SESSIONS + 1
        assert metrics["sessions"]["refused"] == 0  # the reaper kept room under max_sessions
    assert not app.state.sessions
    closed = app.state.metrics.closed
    assert closed == SESSIONS + 1, f"{closed} of {SESSIONS + 1} environments closed"
    for env in abandoned:
        env.close()
    resources.assert_released()


def _concurrent_step_and_close(url: str) -> None:
    """One session stepped by 4 threads while another deletes it: only 200, 404 or 409 (a game
    over before the delete), never a 500."""
    with httpx.Client(base_url=url, timeout=10) as client:
        sid = client.post("/v1/sessions", json={"env_id": "games/2048-v0"}).json()["session_id"]
        client.post(f"/v1/sessions/{sid}/reset", json={"seed": 0})
        statuses = []

        def stepper():  # until the session is gone (bounded)
            for _ in range(500):
                statuses.append(client.post(f"/v1/sessions/{sid}/step", json={"action": "left"}).status_code)
                if statuses[-1] == 404:
                    return

        threads = [threading.Thread(target=stepper) for _ in range(4)]
        for thread in threads:
            thread.start()
        statuses.append(client.delete(f"/v1/sessions/{sid}").status_code)
        for thread in threads:
            thread.join()
        assert set(statuses) <= {200, 404, 409} and 404 in statuses, sorted(set(statuses))


# ---------------------------------------------------------------------- WebSocket liveness
def _silent_websocket(url: str, create: dict) -> socket.socket:
    """A raw TCP connection that completes the WebSocket handshake, sends one create, reads
    its answer, and then goes silent: it never answers a ping nor closes (a half-open peer)."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    key = base64.b64encode(os.urandom(16))
    sock.sendall(b"GET /v1/ws HTTP/1.1\r\nHost: " + host.encode() + b"\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 101"), head[:100]
    payload = json.dumps(create).encode()
    mask = os.urandom(4)
    assert len(payload) < 126
    sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
    answer = head.split(b"\r\n\r\n", 1)[1]
    while b"session_id" not in answer:
        answer += sock.recv(4096)
    return sock


def _wait_for(condition, within: float) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < within, "not within the bound"
        time.sleep(0.02)
    return time.monotonic() - started


def test_half_open_websockets_are_detected_and_their_sessions_freed(resources):
    """Silent peers (3 plain, 2 resumable) lose their sessions within interval + timeout (+ the
    grace for resumable ones), counted as heartbeat timeouts; a live client meanwhile keeps its."""
    app = env_app(heartbeat_interval=0.2, heartbeat_timeout=0.4, resume_grace=0.5)
    with running_env_server(app=app) as url:
        silent = [_silent_websocket(url, {"type": "create", "id": 1, "env_id": "games/GuessTheNumber-v0",
                                          "resumable": index >= 3}) for index in range(5)]

        async def live_client_through_it():
            async with AsyncRemoteEnv("games/GuessTheNumber-v0", server=url) as env:
                await env.areset(seed=0)
                assert len(app.state.sessions) == 6
                await asyncio.to_thread(_wait_for, lambda: len(app.state.sessions) == 1, 10)
                assert list(app.state.sessions) == [env.session_id]
                await asyncio.sleep(1.0)  # past interval + timeout again: the live one stays
                assert list(app.state.sessions) == [env.session_id]
                assert (await env.astep("10"))[4]["error"] is None

        asyncio.run(live_client_through_it())
        snapshot = app.state.metrics.snapshot(app.state.sessions, 1, 0)
        assert snapshot["websocket"]["heartbeat_timeouts"] == 5
        assert snapshot["websocket"]["resume_expired"] == 2 and snapshot["websocket"]["reconnects"] == 0
        for sock in silent:  # and their sockets are closed at once, not after a closing handshake's timeout
            sock.settimeout(5)
            while sock.recv(65536):
                pass
            sock.close()
    assert not app.state.sessions and app.state.metrics.closed == 6
    resources.assert_released()


_KILLED_CLIENT = """
import asyncio, sys, time
from agentgym.remote import AsyncRemoteEnv
async def main():
    env = AsyncRemoteEnv("games/Wordle-v0", server=sys.argv[1], resumable=sys.argv[2] == "1")
    await env.areset(seed=0)
    await env.astep("crane")
    print(env.session_id, flush=True)
    await asyncio.sleep(60)
asyncio.run(main())
"""


def test_a_client_killed_with_sigkill_frees_its_session(resources):
    app = env_app(heartbeat_interval=0.2, heartbeat_timeout=0.4, resume_grace=0.5)
    with running_env_server(app=app) as url:
        for resumable in ("0", "1"):
            child = subprocess.Popen([sys.executable, "-c", _KILLED_CLIENT, url, resumable], stdout=subprocess.PIPE,
                                     text=True)
            try:
                session_id = child.stdout.readline().strip()
                assert session_id in app.state.sessions
                child.send_signal(signal.SIGKILL)
                child.wait(timeout=10)
                _wait_for(lambda: session_id not in app.state.sessions, 10)
            finally:
                if child.poll() is None:
                    child.kill()
                    child.wait()
                child.stdout.close()
        assert app.state.metrics.resume_expired == 1  # the resumable one outlived its socket, then expired
    assert app.state.metrics.closed == 2
    resources.assert_released()
