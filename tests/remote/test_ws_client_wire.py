"""The client's own WebSocket connection (agentgym.remote.aclient.WebSocketConnection), over
real loopback sockets: against an independent implementation (the websockets library's
server: fragmented and large messages, pings, closing handshakes both ways), against raw
servers that break the protocol (refused or forged handshakes, masked frames, frames cut in
pieces), and AsyncRemoteEnv's use of it (timeouts, keys, nothing left open)."""

import asyncio
import base64
import hashlib
import json

import pytest
from websockets.asyncio.server import serve

import agentgym
from agentgym.core import Feedback, LLMEnv
from agentgym.remote import AsyncRemoteEnv, RemoteEnvError, env_app, running_env_server
from agentgym.remote.aclient import HandshakeError, WebSocketConnection
from tests.resource_probe import ResourceProbe


GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Collector:
    """The callbacks of one connection: messages in a queue, the end's reason in a future."""

    def __init__(self):
        self.messages: asyncio.Queue = asyncio.Queue()
        self.lost: asyncio.Future = asyncio.get_running_loop().create_future()

    def on_message(self, connection, message):
        self.messages.put_nowait(message)

    def on_lost(self, connection, reason):
        assert not self.lost.done(), "on_lost is called once"
        self.lost.set_result(reason)

    async def open(self, url, headers=None):
        return await asyncio.wait_for(WebSocketConnection.open(url, headers=headers, on_message=self.on_message,
                                                               on_lost=self.on_lost), 5)

    async def next(self):
        return await asyncio.wait_for(self.messages.get(), 5)


# ---------------------------------------------------------------------- against websockets' server
async def _library_server(handler):
    return await serve(handler, "127.0.0.1", 0, compression=None, max_size=None)


def _url(server):
    return f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1/ws"


def test_messages_both_ways_at_every_frame_length_and_fragmented():
    async def handler(ws):
        async for text in ws:
            request = json.loads(text)
            if request["op"] == "echo_length":  # the server saw the client's (masked) frame whole
                await ws.send(json.dumps({"length": len(request["pad"]), "auth": ws.request.headers.get("Authorization")}))
            elif request["op"] == "big":  # 16-bit and 64-bit length frames
                await ws.send(json.dumps({"pad": "x" * request["size"]}))
            elif request["op"] == "fragments":  # one message in three frames
                await ws.send(['{"part', 's": [1,', ' 2, 3]}'])
            elif request["op"] == "binary":
                await ws.send(b'{"binary": true}')
            elif request["op"] == "unicode":
                await ws.send(json.dumps({"text": "中文 é \U0001F600"}, ensure_ascii=False))

    async def scenario():
        server = await _library_server(handler)
        collector = Collector()
        connection = await collector.open(_url(server), headers={"Authorization": "Bearer k"})
        for size in (0, 1, 100, 125, 126, 127, 65_535, 65_536, 300_000):
            overhead = len(json.dumps({"op": "echo_length", "pad": ""}))
            padding = "y" * max(0, size - overhead)
            connection.send(json.dumps({"op": "echo_length", "pad": padding}).encode())
            answer = await collector.next()
            assert answer["length"] == len(padding)
            assert answer["auth"] == "Bearer k"
        for size in (10, 200, 70_000, 1_000_000):
            connection.send(json.dumps({"op": "big", "size": size}).encode())
            assert len((await collector.next())["pad"]) == size
        connection.send(b'{"op": "fragments"}')
        assert await collector.next() == {"parts": [1, 2, 3]}
        connection.send(b'{"op": "binary"}')
        assert await collector.next() == {"binary": True}
        connection.send(b'{"op": "unicode"}')
        assert await collector.next() == {"text": "中文 é \U0001F600"}
        await connection.close()
        assert await collector.lost == "the connection closed"
        assert not connection.open
        with pytest.raises(ConnectionError):
            connection.send(b"{}")
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())


def test_pings_are_answered_and_a_close_from_the_server_ends_the_connection():
    async def handler(ws):
        await ws.recv()
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 5)  # the client answered the ping
        await ws.send('{"pong_seen": true}')
        await ws.close(code=4001, reason="bye")

    async def scenario():
        server = await _library_server(handler)
        collector = Collector()
        connection = await collector.open(_url(server))
        connection.send(b"{}")
        assert await collector.next() == {"pong_seen": True}
        assert await asyncio.wait_for(collector.lost, 5) == "the server closed the connection (code 4001)"
        assert not connection.open
        await connection.close()  # already closed: returns at once
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())


# ---------------------------------------------------------------------- against raw servers
async def _raw_server(answer):
    """A TCP server that reads the upgrade request and runs ``answer(key, reader, writer)``."""
    async def handle(reader, writer):
        head = await reader.readuntil(b"\r\n\r\n")
        key = [line.split(b":", 1)[1].strip() for line in head.split(b"\r\n") if line.lower().startswith(b"sec-websocket-key")][0]
        try:
            await answer(key, reader, writer)
        finally:
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def _accept(key):
    return base64.b64encode(hashlib.sha1(key + GUID).digest())


def _upgrade(key, accept=None):
    return (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + (accept or _accept(key)) + b"\r\n\r\n")


@pytest.mark.parametrize("answer, message", [
    (lambda key: b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", "HTTP 403"),
    (lambda key: _upgrade(key, accept=base64.b64encode(b"0" * 20)), "Sec-WebSocket-Accept does not match"),
    (lambda key: b"SSH-2.0-OpenSSH_9.2\r\n\r\n", "not HTTP"),
    (lambda key: _upgrade(key)[:-2] + b"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n", "not offered"),
    (lambda key: b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n",
     "does not upgrade to a WebSocket"),
])
def test_refused_or_forged_handshakes_raise(answer, message):
    async def scenario():
        async def reply(key, reader, writer):
            writer.write(answer(key))
            await writer.drain()
            await reader.read()  # until the client hangs up

        server = await _raw_server(reply)
        with pytest.raises(HandshakeError, match=message):
            await Collector().open(f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1/ws")
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())


def test_frames_cut_in_pieces_are_put_back_together_and_a_masked_frame_ends_the_connection():

    async def scenario():
        closing = asyncio.get_running_loop().create_future()

        async def reply(key, reader, writer):
            payload = json.dumps({"n": 1, "pad": "z" * 300}).encode()  # a 16-bit length frame
            frames = _upgrade(key) + bytes((0x81, 126)) + len(payload).to_bytes(2, "big") + payload
            frames += bytes((0x89, 4)) + b"ping"  # a ping between two messages
            frames += bytes((0x81, 7)) + b'{"n":2}'
            for index in range(len(frames)):  # one byte per write: every cut a frame can have
                writer.write(frames[index:index + 1])
                await writer.drain()
                await asyncio.sleep(0)
            pong = await reader.readexactly(2 + 4 + 4)
            assert pong[0] == 0x8A and pong[1] == 0x80 | 4  # a masked pong with the ping's payload
            mask = pong[2:6]
            assert bytes(b ^ mask[i % 4] for i, b in enumerate(pong[6:])) == b"ping"
            writer.write(bytes((0x81, 0x80 | 2)) + b"abcd" + b"xx")  # masked: a server must not mask
            await writer.drain()
            close = await reader.readexactly(2 + 4 + 2)
            mask = close[2:6]
            closing.set_result((close[0], bytes(b ^ mask[i % 4] for i, b in enumerate(close[6:]))))
            await reader.read()

        server = await _raw_server(reply)
        collector = Collector()
        connection = await collector.open(f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/")
        assert (await collector.next())["n"] == 1
        assert await collector.next() == {"n": 2}
        reason = await asyncio.wait_for(collector.lost, 5)
        assert reason.startswith("the connection broke: ProtocolError") and not connection.open
        opcode, code = await asyncio.wait_for(closing, 5)
        assert opcode == 0x88 and int.from_bytes(code, "big") == 1002
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())


def test_a_server_gone_without_a_close_frame_ends_the_connection():
    async def scenario():
        async def reply(key, reader, writer):
            writer.write(_upgrade(key))
            await writer.drain()
            await reader.read(1)  # the client's first frame, then the server vanishes

        server = await _raw_server(reply)
        collector = Collector()
        connection = await collector.open(f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/")
        connection.send(b"{}")
        assert await asyncio.wait_for(collector.lost, 5) == "the connection closed"
        assert not connection.open
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())


# ---------------------------------------------------------------------- AsyncRemoteEnv on it
class Sleepy(LLMEnv):
    """Each move sleeps as many seconds as the action says."""

    family = "test"
    instructions = "a number of seconds"
    example_actions = ("0",)

    def new_episode(self, options):
        return "ready"

    def play(self, action):
        import time

        time.sleep(float(action))
        return Feedback(f"slept {action}")


agentgym.register("test/WireSleepy-v0", Sleepy, max_turns=None)


class Echo(LLMEnv):
    """Answers each action with the action itself."""

    family = "test"
    instructions = "anything"
    example_actions = ("hi",)

    def new_episode(self, options):
        return "ready"

    def play(self, action):
        return Feedback(action)


agentgym.register("test/WireEcho-v0", Echo, max_turns=None)


def test_actions_cross_unchanged_whatever_text_they_hold():
    actions = ["7", "é 中文 \U0001F600", "\ud800 lone", 'a "quote", a \\ and \x00\x1f', "", "x" * 70_000,
               "\u2028\u2029"]
    with running_env_server() as url:
        async def scenario():
            async with AsyncRemoteEnv("test/WireEcho-v0", server=url, max_action_chars=100_000) as env:
                await env.areset(seed=0)
                for action in actions:
                    observation, _, _, _, info = await env.astep(action)
                    assert observation == action and info["error"] is None, action[:20]
                observation, _, _, truncated, info = await env.astep(["not", "text"])  # the env refuses it
                assert info["error"] and "remote_error" not in info
                observation, _, _, truncated, info = await env.astep(float("nan"))  # JSON cannot carry it
                assert truncated and info["remote_error"] == "server" and "cannot be sent as JSON" in info["error"]
                assert (await env.astep("still here"))[0] == "still here"  # the session lives on

        asyncio.run(scenario())


def test_a_message_over_the_servers_limit_is_answered_at_once_not_after_the_timeout():
    """The server refuses a message over ``max_body_bytes`` (413) before reading its id, so its
    answer carries ``"id": null``: it answers the call in flight (one at a time per env), which
    returns the 413 as an error observation instead of waiting its whole timeout."""
    with running_env_server(max_body_bytes=2_000) as url:
        async def scenario():
            async with AsyncRemoteEnv("test/WireEcho-v0", server=url, timeout=20) as env:
                await env.areset(seed=0)
                observation, _, terminated, truncated, info = await env.astep("x" * 5_000)
                assert truncated and not terminated and info["remote_error"] == "server", info
                assert "413" in info["error"] and "over 2000 bytes" in info["error"], info
                assert (await env.astep("small"))[0] == "small"  # the same connection and session go on
                assert env.reconnects == 0

        asyncio.run(scenario())


def test_a_call_past_its_timeout_is_a_transport_error_and_the_session_goes_on():
    with running_env_server() as url:
        async def scenario():
            async with AsyncRemoteEnv("test/WireSleepy-v0", server=url, timeout=0.3) as env:
                await env.areset(seed=0)
                loop = asyncio.get_running_loop()
                started = loop.time()
                observation, reward, terminated, truncated, info = await env.astep("1.0")
                assert loop.time() - started < 0.9 and info["remote_error"] == "transport"
                assert "within 0.3 s" in info["error"] and truncated and not terminated
                assert not env._connected()  # dropped: a late answer must not be read as the next one
                await asyncio.sleep(0.8)  # the server finishes the slow step
                assert (await env.astep("0"))[0] == "slept 0"  # reconnected, the same session resumed
                assert env.reconnects == 1

        asyncio.run(scenario())


def test_keys_and_nothing_left_open():
    probe = ResourceProbe()
    app = env_app(api_key="sesame", max_sessions=16)
    with running_env_server(app=app) as url:
        async def scenario():
            with pytest.raises(RemoteEnvError, match="handshake .* failed: server rejected WebSocket connection: HTTP 403"):
                await AsyncRemoteEnv("games/GuessTheNumber-v0", server=url, api_key="wrong").open()
            envs = [AsyncRemoteEnv("games/GuessTheNumber-v0", server=url, api_key="sesame") for _ in range(8)]
            for index, env in enumerate(envs):
                assert (await env.areset(seed=index))[1]["task_id"]
                assert (await env.astep("10"))[4]["error"] is None
            await envs[0]._ws.close()  # dropped between two steps: resumed by the next call
            assert (await envs[0].astep("11"))[4]["error"] is None
            await asyncio.gather(*(env.aclose() for env in envs))

        asyncio.run(scenario())
        assert not app.state.sessions
    probe.assert_released()
