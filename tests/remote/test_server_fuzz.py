"""Hostile requests to the environment server, over real sockets: every one gets a 4xx (or, for
an action, an error observation), none a 500, and the server serves on afterwards.

The checklist, and where each item is covered:

- malformed JSON, wrong content types, random bodies on every endpoint:
  ``tests/remote/test_env_sessions.py::test_malformed_requests_get_4xx_never_500`` (HTTP) and
  ``tests/remote/test_websocket.py::test_bad_messages_get_error_answers...`` (WebSocket);
- huge bodies: a declared Content-Length and a chunked body over the limit, a WebSocket
  message over it (here);
- unknown session ids, odd and huge ones, on every session endpoint (here);
- wrong types in every field of every request, HTTP and WebSocket (here);
- concurrent close and step on one session: HTTP in
  ``tests/reliability/test_env_server.py::_concurrent_step_and_close``; a close that waits for
  a slow step in flight, WebSocket messages pipelined past a close, and a connection aborted
  mid-step (here);
- invalid UTF-8: in an HTTP body, a WebSocket binary message, a WebSocket *text* frame (the
  WebSocket layer closes that connection, 1007), a request path (here);
- deeply nested JSON, past what the parser can recurse into, in every body (here).
"""

import asyncio
import base64
import json
import os
import socket
import threading
import time

import httpx
import pytest
from websockets.asyncio.client import connect

import agentgym
from agentgym.core import Feedback, LLMEnv
from agentgym.remote import env_app, running_env_server

WORDLE = "games/Wordle-v0"
MAX_BODY = 256 * 1024
EVENTS = []  # what the slow environment saw, in order


class SlowEcho(LLMEnv):
    """Each move takes 0.3 s; records its steps and its close (to check the order)."""

    family = "test"
    instructions = "say anything"
    example_actions = ("hello",)

    def new_episode(self, options):
        return "ready"

    def play(self, action):
        EVENTS.append("step started")
        time.sleep(0.3)
        EVENTS.append("step ended")
        return Feedback(f"echo {action[:20]}")

    def close(self):
        EVENTS.append("closed")
        super().close()


agentgym.register("test/SlowEcho-v0", SlowEcho, max_turns=None)


@pytest.fixture(scope="module")
def fuzz_server():
    app = env_app(max_body_bytes=MAX_BODY, max_sessions=32)
    with running_env_server(app=app) as url:
        yield app, url
        with httpx.Client(base_url=url, timeout=10) as client:  # alive, and never answered a 500
            assert client.get("/health").json()["status"] == "ok"
            errors = client.get("/metrics").json()["errors"]
        assert "500" not in errors, errors


@pytest.fixture
def client(fuzz_server):
    with httpx.Client(base_url=fuzz_server[1], timeout=30) as http:
        yield http


def _session(client, env_id=WORDLE):
    sid = client.post("/v1/sessions", json={"env_id": env_id}).json()["session_id"]
    assert client.post(f"/v1/sessions/{sid}/reset", json={"seed": 0}).status_code == 200
    return sid


def _ws_url(url):
    return url.replace("http://", "ws://") + "/v1/ws"


def _assert_4xx(answer):
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:300])
    assert answer.json()["error"]["message"]


# ---------------------------------------------------------------------- deep nesting
def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [50, 800, 5_000, 100_000])
def test_deeply_nested_json_is_refused_or_handled_never_a_500(client, fuzz_server, depth):
    sid = _session(client)
    deep = _nested(depth)
    bodies = [("/v1/sessions", deep), ("/v1/sessions", '{"env_id": "%s", "kwargs": {"x": %s}}' % (WORDLE, deep)),
              (f"/v1/sessions/{sid}/reset", '{"options": {"o": %s}}' % deep),
              (f"/v1/sessions/{sid}/step", '{"action": %s}' % deep)]
    for path, body in bodies:
        answer = client.post(path, content=body.encode(), headers={"content-type": "application/json"})
        assert answer.status_code < 500, (depth, path, answer.text[:300])
        if depth >= 5_000:  # past the parser's recursion: refused before anything runs
            assert answer.status_code == 422 and "nested too deeply" in answer.json()["error"]["message"]
        elif path.endswith("/step"):  # parsed: the environment refuses a non-text action itself
            assert answer.status_code == 200 and "must be text" in answer.json()["info"]["error"]

    async def over_the_websocket():
        async with connect(_ws_url(fuzz_server[1]), max_size=None) as ws:
            await ws.send('{"type": "create", "id": 1, "env_id": "%s", "kwargs": {"x": %s}}' % (WORDLE, deep))
            answer = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert answer["type"] == "error" and answer["error"]["code"] in (400, 422), answer
            await ws.send(json.dumps({"type": "create", "id": 2, "env_id": WORDLE}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "result"  # it lives on

    asyncio.run(over_the_websocket())
    client.delete(f"/v1/sessions/{sid}")


# ---------------------------------------------------------------------- huge bodies
def test_bodies_over_the_limit_are_413_declared_or_chunked(client, fuzz_server):
    declared = client.post("/v1/sessions", content=b"x" * (MAX_BODY + 1))
    assert declared.status_code == 413

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(MAX_BODY // 4096 + 2):
            yield b'{"a": "' + b"y" * 4096

    sid = _session(client)
    chunked = client.post(f"/v1/sessions/{sid}/step", content=chunks())
    assert chunked.status_code == 413 and "at most" in chunked.json()["error"]["message"]
    big_action = client.post(f"/v1/sessions/{sid}/step", json={"action": "a" * (MAX_BODY // 2)})
    assert big_action.status_code == 200  # under the limit: the environment's own limit answers
    assert "characters long" in big_action.json()["info"]["error"]

    async def over_the_websocket():
        async with connect(_ws_url(fuzz_server[1]), max_size=None) as ws:
            await ws.send(json.dumps({"type": "create", "id": 1, "env_id": WORDLE, "kwargs": {"x": "z" * MAX_BODY}}))
            answer = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert answer["type"] == "error" and answer["error"]["code"] == 413
            await ws.send(json.dumps({"type": "create", "id": 2, "env_id": WORDLE}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "result"

    asyncio.run(over_the_websocket())
    client.delete(f"/v1/sessions/{sid}")


# ---------------------------------------------------------------------- unknown session ids
@pytest.mark.parametrize("session_id", ["0" * 32, "nope", "x" * 10_000, "%2e%2e%2f%2e%2e%2fetc", "%F0%9F%99%82",
                                        "..", "%00", "a%20b", "%ff%fe"])
def test_unknown_session_ids_are_404_on_every_endpoint(client, session_id):
    for method, suffix, body in (("GET", "/spec", None), ("GET", "/render", None), ("POST", "/reset", {}),
                                 ("POST", "/step", {"action": "crane"}), ("DELETE", "", None)):
        answer = client.request(method, f"/v1/sessions/{session_id}{suffix}", json=body)
        _assert_4xx(answer)
        assert answer.status_code in (404, 405), (method, suffix, answer.status_code)


# ---------------------------------------------------------------------- wrong types
WRONG = [None, True, 0, -1, 1.5, "", "text", [], [1, "a"], {}, {"nested": {"deeper": [None]}}, 10**30]


def test_a_wrong_type_in_any_field_is_a_4xx_or_an_error_observation(client, fuzz_server):
    sid = _session(client)
    fields = {"/v1/sessions": ["env_id", "kwargs", "max_turns", "render_mode", "wrappers", "outer_wrappers"],
              f"/v1/sessions/{sid}/reset": ["seed", "options"],
              f"/v1/sessions/{sid}/step": ["action"]}
    for path, names in fields.items():
        for name in names:
            for value in WRONG:
                body = {"env_id": WORDLE, name: value} if path == "/v1/sessions" else {name: value}
                answer = client.post(path, json=body)
                assert answer.status_code < 500, (path, name, value, answer.text[:300])
                if answer.status_code == 201:
                    client.delete(f"/v1/sessions/{answer.json()['session_id']}")
                elif path.endswith("/reset"):  # refused exactly when a local reset refuses it
                    assert (answer.status_code == 200) == _local_reset_takes(name, value), (name, value, answer.text)
                elif path.endswith("/step"):
                    assert answer.status_code in (200, 409), answer.text[:300]
                    if answer.status_code == 200 and not isinstance(value, str):
                        assert "must be text" in answer.json()["info"]["error"]
                    if answer.status_code == 200 and answer.json()["terminated"] or answer.status_code == 409:
                        client.post(f"/v1/sessions/{sid}/reset", json={"seed": 0})
                else:
                    _assert_4xx(answer)

    async def over_the_websocket():
        async with connect(_ws_url(fuzz_server[1])) as ws:
            for kind in ("create", "reset", "step", "resume", "render", "spec", "close"):
                for value in WRONG:
                    for field in ("env_id", "seed", "options", "action", "session_id", "resume_token", "resumable"):
                        await ws.send(json.dumps({"type": kind, "id": 7, field: value}))
                        answer = json.loads(await asyncio.wait_for(ws.recv(), 10))
                        assert answer["type"] in ("result", "error"), answer
                        if answer["type"] == "error":
                            assert 400 <= answer["error"]["code"] < 500, (kind, field, value, answer)
                        elif kind == "create":  # a valid create slipped through: release it
                            await ws.send(json.dumps({"type": "close", "id": 8}))
                            await ws.recv()
            for message in (json.dumps({"type": None, "id": 1}), json.dumps({"type": 5, "id": [1]}), '"just text"',
                            "null", "1e400", json.dumps({"id": 1})):
                await ws.send(message)
                answer = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert answer["type"] == "error" and answer["error"]["code"] == 422, (message, answer)

    asyncio.run(over_the_websocket())
    client.delete(f"/v1/sessions/{sid}")


def _local_reset_takes(name, value) -> bool:
    local = agentgym.make(WORDLE)
    try:
        local.reset(**{name: value})
        return True
    except Exception:  # noqa: BLE001 - ConfigError, TypeError...: refused
        return False
    finally:
        local.close()


# ---------------------------------------------------------------------- invalid UTF-8
def _raw_websocket(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(b"GET /v1/ws HTTP/1.1\r\nHost: " + host.encode() + b"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Key: " + base64.b64encode(os.urandom(16)) + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 101"), head[:100]
    return sock


def _frame(opcode: int, payload: bytes) -> bytes:
    assert len(payload) < 126
    mask = os.urandom(4)
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def test_invalid_utf8_anywhere_is_refused_never_a_500(client, fuzz_server):
    app, url = fuzz_server
    sid = _session(client)
    for body in (b'{"action": "\xff\xfe"}', b"\xc3\x28", b"\xef\xbb\xbf{}", b'{"action": "a\x80"}'):
        answer = client.post(f"/v1/sessions/{sid}/step", content=body)
        _assert_4xx(answer)
    # A surrogate encoded as bytes is what the escaped "\ud800" is (Python's JSON decoder passes
    # surrogates): the same lone-surrogate action, answered by the environment, as locally.
    encoded = client.post(f"/v1/sessions/{sid}/step", content=b'{"action": "\xed\xa0\x80"}').json()
    escaped = client.post(f"/v1/sessions/{sid}/step", content=b'{"action": "\\ud800"}').json()
    assert encoded["info"]["error"] and encoded["info"]["error"] == escaped["info"]["error"]
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:  # raw bytes in the request path
        sock.sendall(b"GET /v1/sessions/\xff\xfe/spec HTTP/1.1\r\nHost: x\r\n\r\n")
        status = sock.recv(4096).split(b"\r\n", 1)[0]
        assert status.split()[1].startswith(b"4"), status

    async def binary_message():  # a binary message is decoded with replacement: not JSON, a 422
        async with connect(_ws_url(url)) as ws:
            await ws.send(b'{"type": "create", "id": 1, "env_id": "\xff\xfe"}')
            answer = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert answer["type"] == "error" and answer["error"]["code"] in (404, 422), answer

    asyncio.run(binary_message())
    sessions_before = len(app.state.sessions)
    with _raw_websocket(url) as sock:  # a text frame that is not UTF-8: the WebSocket layer closes it (1007)
        sock.sendall(_frame(0x1, json.dumps({"type": "create", "id": 1, "env_id": WORDLE}).encode()))
        answer = b""
        while b"session_id" not in answer:
            answer += sock.recv(4096)
        assert len(app.state.sessions) == sessions_before + 1
        sock.sendall(_frame(0x1, b'{"type": "step", "id": 2, "action": "\xff"}'))
        closing = b""
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            closing += chunk
        assert b"\x03\xef" in closing  # close code 1007: invalid frame payload data
    deadline = time.monotonic() + 5
    while len(app.state.sessions) != sessions_before:  # its session closed with it
        assert time.monotonic() < deadline
        time.sleep(0.02)
    client.delete(f"/v1/sessions/{sid}")


# ---------------------------------------------------------------------- concurrent close and step
def test_a_close_waits_for_the_step_in_flight_then_the_session_is_gone(client):
    sid = _session(client, "test/SlowEcho-v0")
    EVENTS.clear()
    results = {}
    stepper = threading.Thread(target=lambda: results.setdefault(
        "step", client.post(f"/v1/sessions/{sid}/step", json={"action": "first"})))
    stepper.start()
    deadline = time.monotonic() + 5
    while "step started" not in EVENTS:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    closed = client.delete(f"/v1/sessions/{sid}")
    stepper.join()
    assert closed.status_code == 200 and results["step"].status_code == 200
    assert results["step"].json()["observation"] == "echo first"
    assert EVENTS == ["step started", "step ended", "closed"]  # never closed under a running step
    assert client.post(f"/v1/sessions/{sid}/step", json={"action": "late"}).status_code == 404


def test_websocket_messages_pipelined_past_a_close_and_an_abort_mid_step(fuzz_server):
    app, url = fuzz_server

    async def pipelined():
        async with connect(_ws_url(url)) as ws:
            for message in ({"type": "create", "id": 1, "env_id": "test/SlowEcho-v0"}, {"type": "reset", "id": 2},
                            {"type": "step", "id": 3, "action": "a"}, {"type": "close", "id": 4},
                            {"type": "step", "id": 5, "action": "b"}, {"type": "render", "id": 6}):
                await ws.send(json.dumps(message))  # all sent before any answer
            answers = [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(6)]
            assert [a["id"] for a in answers] == [1, 2, 3, 4, 5, 6]
            assert [a["type"] for a in answers] == ["result"] * 4 + ["error"] * 2
            assert answers[4]["error"]["code"] == answers[5]["error"]["code"] == 404

    async def aborted_mid_step():
        ws = await connect(_ws_url(url))
        await ws.send(json.dumps({"type": "create", "id": 1, "env_id": "test/SlowEcho-v0"}))
        sid = json.loads(await ws.recv())["result"]["session_id"]
        await ws.send(json.dumps({"type": "reset", "id": 2}))
        await ws.recv()
        EVENTS.clear()
        await ws.send(json.dumps({"type": "step", "id": 3, "action": "x"}))
        while "step started" not in EVENTS:
            await asyncio.sleep(0.01)
        ws.transport.abort()  # gone while its step runs
        await asyncio.wait_for(ws.wait_closed(), 5)
        deadline = time.monotonic() + 5
        while sid in app.state.sessions:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        assert EVENTS == ["step started", "step ended", "closed"]

    closed_before = app.state.metrics.closed
    asyncio.run(pipelined())
    asyncio.run(aborted_mid_step())
    assert app.state.metrics.closed == closed_before + 2


def test_a_client_that_hangs_up_mid_body_is_counted_apart_not_as_a_server_error(server_url):
    import socket
    import time
    from urllib.parse import urlparse

    import httpx

    address = urlparse(server_url)
    before = httpx.get(server_url + "/metrics").json()
    for _ in range(3):  # a body announced at 200 bytes, 10 sent, then the connection closed
        with socket.create_connection((address.hostname, address.port)) as raw:
            raw.sendall(b"POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        b"Content-Length: 200\r\n\r\n{\"env_id\":")
    deadline = time.monotonic() + 10
    after = before
    while time.monotonic() < deadline and after["client_disconnects"] < before["client_disconnects"] + 3:
        time.sleep(0.05)
        after = httpx.get(server_url + "/metrics").json()
    assert after["client_disconnects"] == before["client_disconnects"] + 3
    assert after["errors"].get("500", 0) == before["errors"].get("500", 0)
    assert after["sessions"]["created"] == before["sessions"]["created"]
