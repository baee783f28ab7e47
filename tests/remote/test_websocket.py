"""The WebSocket endpoint (/v1/ws) over real sockets: messages, errors, resumption, auth, metrics."""

import asyncio
import json
import time

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from agentgym.remote import env_app, running_env_server


def _ws(url: str) -> str:
    return url.replace("http://", "ws://") + "/v1/ws"


class _Client:
    """A bare protocol client: one request, one answer (pings answered on the way)."""

    def __init__(self, ws):
        self.ws, self.next_id = ws, 0

    async def call(self, kind, **fields):
        self.next_id += 1
        await self.ws.send(json.dumps({"type": kind, "id": self.next_id, **fields}))
        while True:
            answer = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
            if answer["type"] != "ping":
                assert answer["id"] == self.next_id
                return answer


def _metrics(url):
    return httpx.get(url + "/metrics", timeout=5).json()


def test_a_websocket_session_lives_and_dies_with_its_connection(server_url):
    async def scenario():
        async with connect(_ws(server_url)) as ws:
            client = _Client(ws)
            created = await client.call("create", env_id="games/Wordle-v0", max_turns=3)
            assert created["type"] == "result" and created["result"]["max_turns"] == 3
            assert "resume_token" not in created["result"]
            sid = created["result"]["session_id"]
            assert (await client.call("step", action="crane"))["error"]["code"] == 409  # no reset yet
            reset = await client.call("reset", seed=0)
            assert reset["result"]["info"]["task_id"]
            step = (await client.call("step", action="crane"))["result"]
            assert set(step) == {"observation", "reward", "terminated", "truncated", "info"}
            assert (await client.call("spec"))["result"]["session_id"] == sid
            again = await client.call("create", env_id="games/Wordle-v0")
            assert again["error"]["code"] == 409 and "one session per connection" in again["error"]["message"]
            # a WebSocket session is not reachable over HTTP
            assert httpx.post(f"{server_url}/v1/sessions/{sid}/step", json={"action": "x"}).status_code == 404
            assert sid in _sessions(server_url)
        return sid

    sid = asyncio.run(scenario())
    _wait_until(lambda: sid not in _sessions(server_url))  # closed with its socket


def _sessions(url):
    return set(_app_of[url].state.sessions)


_app_of = {}


@pytest.fixture()
def app_url():
    app = env_app(max_sessions=8, resume_grace=0.6, heartbeat_interval=0.2, heartbeat_timeout=0.4)
    with running_env_server(app=app) as url:
        _app_of[url] = app
        yield url
        del _app_of[url]


@pytest.fixture()
def server_url(app_url):  # these tests read the app's own session table
    return app_url


def _wait_until(condition, within=10.0):
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        time.sleep(0.02)


@pytest.mark.parametrize("message, code", [
    ("not json", 422),
    ("[1, 2]", 422),
    (json.dumps({"type": "teleport", "id": 1}), 422),
    (json.dumps({"type": "step", "id": 1, "action": "x"}), 404),  # no session yet
    (json.dumps({"type": "create", "id": 1, "env_id": "os:system"}), 400),
    (json.dumps({"type": "create", "id": 1, "env_id": "games/NoSuchGame-v0"}), 404),
    (json.dumps({"type": "create", "id": 1, "env_id": "games/Wordle-v0", "kwargs": {"nope": 1}}), 400),
    (json.dumps({"type": "create", "id": 1, "env_id": "games/Wordle-v0", "resumable": "yes"}), 422),
    (json.dumps({"type": "resume", "id": 1, "session_id": "abc", "resume_token": "x"}), 404),
])
def test_bad_messages_get_error_answers_and_the_connection_lives_on(server_url, message, code):
    async def scenario():
        async with connect(_ws(server_url)) as ws:
            await ws.send(message)
            answer = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert answer["type"] == "error" and answer["error"]["code"] == code, answer
            assert answer["error"]["message"] and answer["error"]["type"]
            created = await _Client(ws).call("create", env_id="games/GuessTheNumber-v0")
            assert created["type"] == "result"  # still usable

    asyncio.run(scenario())


def test_a_resumable_session_survives_a_dropped_connection_within_its_grace(server_url):
    async def scenario():
        ws = await connect(_ws(server_url))
        client = _Client(ws)
        created = (await client.call("create", env_id="games/GuessTheNumber-v0", resumable=True))["result"]
        sid, token = created["session_id"], created["resume_token"]
        await client.call("reset", seed=0)
        first = (await client.call("step", action="10"))["result"]["info"]["turns_left"]
        await ws.close()
        await asyncio.sleep(0.2)
        assert sid in _sessions(server_url)  # held for the grace period
        async with connect(_ws(server_url)) as ws2:
            other = _Client(ws2)
            wrong = await other.call("resume", session_id=sid, resume_token=token + "x")
            assert wrong["error"]["code"] == 404
            resumed = await other.call("resume", session_id=sid, resume_token=token)
            assert resumed["result"]["session_id"] == sid
            step = (await other.call("step", action="11"))["result"]
            assert step["info"]["turns_left"] == first - 1  # the same episode went on
            async with connect(_ws(server_url)) as ws3:  # the token's owner takes it even from a live holder
                taker = _Client(ws3)
                taken = await taker.call("resume", session_id=sid, resume_token=token)
                assert taken["result"]["session_id"] == sid
                left = await other.call("step", action="12")  # the old connection holds nothing now
                assert left["error"]["code"] == 404
                step = (await taker.call("step", action="13"))["result"]
                assert step["info"]["turns_left"] == first - 2
                again = await taker.call("resume", session_id=sid, resume_token=token)
                assert again["error"]["code"] == 409  # one session per connection
        _wait_until(lambda: sid not in _sessions(server_url), within=10)  # the grace ran out
        async with connect(_ws(server_url)) as ws4:
            late = await _Client(ws4).call("resume", session_id=sid, resume_token=token)
            assert late["error"]["code"] == 404

    asyncio.run(scenario())
    metrics = _metrics(server_url)
    assert metrics["websocket"]["reconnects"] == 2 and metrics["websocket"]["resume_expired"] == 1
    assert metrics["sessions"]["created_by_transport"]["ws"] == 1
    assert metrics["sessions"]["open_by_transport"] == {"http": 0, "ws": 0}


def test_the_server_pings_and_a_client_that_answers_stays(server_url):
    async def scenario():
        async with connect(_ws(server_url)) as ws:
            client = _Client(ws)
            await client.call("create", env_id="games/GuessTheNumber-v0")
            pings = 0
            deadline = time.monotonic() + 1.5  # over twice interval + timeout
            while time.monotonic() < deadline:
                try:
                    message = json.loads(await asyncio.wait_for(ws.recv(), 0.1))
                except asyncio.TimeoutError:
                    continue
                assert message == {"type": "ping"}
                pings += 1
                await ws.send(json.dumps({"type": "pong"}))
            assert pings >= 3
            assert (await client.call("spec"))["type"] == "result"  # not dropped

    async def client_ping():  # a client's ping is answered
        async with connect(_ws(server_url)) as ws:
            await ws.send(json.dumps({"type": "ping"}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"type": "pong"}

    asyncio.run(scenario())
    asyncio.run(client_ping())
    assert _metrics(server_url)["websocket"]["heartbeat_timeouts"] == 0


def test_a_web_pages_handshake_from_another_origin_is_refused():
    """Browsers let any web page open a WebSocket to 127.0.0.1 (no same-origin rule, no
    preflight) and send its ``Origin``: a page the user merely visits must not drive the
    keyless loopback server's environments. Clients that are not browsers send no ``Origin``;
    pages served from this machine itself are let in."""
    with running_env_server() as url:
        async def scenario():
            for origin in ("https://evil.example", "http://192.168.1.20:8080", "null"):
                with pytest.raises(InvalidStatus) as refused:
                    async with connect(_ws(url), origin=origin):
                        pass
                assert refused.value.response.status_code == 403, origin
            for origin in (None, "http://localhost:3000", "http://127.0.0.1:8888", "http://[::1]:5173"):
                async with connect(_ws(url), origin=origin) as ws:
                    created = await _Client(ws).call("create", env_id="games/GuessTheNumber-v0")
                    assert created["type"] == "result", origin

        asyncio.run(scenario())
        assert httpx.get(f"{url}/metrics").json()["sessions"]["created"] == 4


def test_a_web_pages_http_requests_from_another_origin_are_refused():
    """A page the user visits can post to 127.0.0.1 (a text/plain body needs no preflight); it
    cannot read the answer, but it could make sessions (and make the server build what their
    arguments ask for): refused with 403, and nothing is made."""
    body = b'{"env_id": "games/GuessTheNumber-v0"}'
    with running_env_server() as url, httpx.Client(base_url=url, timeout=10) as client:
        for origin in ("https://evil.example", "null"):
            answer = client.post("/v1/sessions", content=body, headers={"origin": origin, "content-type": "text/plain"})
            assert answer.status_code == 403 and "other origins" in answer.json()["error"]["message"], answer.text
        assert client.get("/metrics").json()["sessions"]["created"] == 0
        for headers in ({}, {"origin": "http://localhost:3000"}):
            assert client.post("/v1/sessions", content=body, headers=headers).status_code == 201


def test_the_handshake_needs_the_key_when_the_server_has_one():
    with running_env_server(api_key="sesame") as url:
        async def scenario():
            for headers in (None, {"Authorization": "Bearer wrong"}):
                with pytest.raises(InvalidStatus):
                    async with connect(_ws(url), additional_headers=headers):
                        pass
            async with connect(_ws(url), additional_headers={"Authorization": "Bearer sesame"}) as ws:
                created = await _Client(ws).call("create", env_id="games/GuessTheNumber-v0")
                assert created["type"] == "result"

        asyncio.run(scenario())


@pytest.mark.parametrize("compression", [None, "deflate"])
def test_answers_of_every_frame_length_arrive_whole_with_and_without_compression(server_url, compression):
    """Without permessage-deflate the server writes its text frames itself
    (``server_text_frame``: 7-, 16- and 64-bit lengths); with it, uvicorn's path compresses them."""
    async def scenario():
        async with connect(_ws(server_url), compression=compression) as ws:
            client = _Client(ws)
            for size in (10, 300, 70_000):  # an unknown type is echoed in the error: answers of each length
                kind = "k" * size
                answer = await client.call(kind)
                assert answer["error"]["code"] == 422 and repr(kind) in answer["error"]["message"]
            assert (await client.call("create", env_id="games/Wordle-v0"))["type"] == "result"
            assert (await client.call("reset", seed=1))["result"]["info"]["task_id"]
            assert set((await client.call("step", action="crane"))["result"]) >= {"observation", "reward"}
            return ws.protocol.extensions

    extensions = asyncio.run(scenario())
    assert bool(extensions) == (compression is not None)


def test_server_text_frames_are_the_bytes_websockets_writes():
    from websockets.frames import Frame, Opcode

    from agentgym.remote.frames import server_text_frame

    for size in (0, 1, 125, 126, 127, 65_535, 65_536, 70_001):
        payload = ("é" * size).encode()[:size]
        assert server_text_frame(payload) == Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[]), size


def test_client_frames_are_the_bytes_websockets_writes_with_the_same_mask(monkeypatch):
    """The asyncio client's masked frames (text at every length class; close and pong, whose
    payloads RFC 6455 limits to 125 bytes) equal what websockets writes with the same masking
    key, and a fresh key is drawn for every frame."""
    import secrets

    from websockets.frames import Frame, Opcode

    from agentgym.remote.frames import CLOSE, PONG, TEXT, client_frame

    key = b"\x12\x9a\xff\x01"
    monkeypatch.setattr(secrets, "token_bytes", lambda n: key)  # websockets' masking key source
    for opcode, theirs in ((TEXT, Opcode.TEXT), (CLOSE, Opcode.CLOSE), (PONG, Opcode.PONG)):
        for size in (0, 1, 3, 125) + ((126, 65_535, 65_536, 70_001) if opcode == TEXT else ()):
            payload = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
            expected = Frame(theirs, payload).serialize(mask=True, extensions=[])
            assert client_frame(opcode, payload, key) == expected, (opcode, size)
    keys = {client_frame(TEXT, b"abc")[2:6] for _ in range(8)}
    assert len(keys) > 1