"""Exploratory findings (round 10) on the environment server and its clients, over real sockets."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import httpx
import psutil
import pytest
from fastapi import FastAPI
from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

import agentgym
from agentgym.core import ConfigError
from agentgym.remote import AsyncRemoteEnv, RemoteEnv, launch_env_servers, running_env_server
from agentgym.remote.client import RemoteEnvError
from agentgym.remote.docker_launcher import CONTAINER_PORT, ContainerPool
from agentgym.serve.runner import serving_in_thread
from remote_echo import ECHO_ID, Echo


@pytest.fixture(scope="module")
def server_url():
    with running_env_server(max_sessions=8, max_body_bytes=1000) as url:
        yield url


async def _answer(ws, message):
    await ws.send(message)
    while True:
        answer = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if answer["type"] != "ping":
            return answer


async def _ready(ws):
    assert (await _answer(ws, json.dumps({"type": "create", "id": 1, "env_id": ECHO_ID})))["type"] \
        == "result"
    assert (await _answer(ws, json.dumps({"type": "reset", "id": 2, "seed": 0})))["type"] == "result"


def test_a_binary_message_that_is_not_utf8_is_refused_not_stepped_with_replacement_characters(server_url):
    # HTTP answers 422 to a body that is not UTF-8; the WebSocket stepped the action with its
    # bad bytes turned into U+FFFD, an action the client never sent.
    async def scenario():
        async with connect(server_url.replace("http://", "ws://") + "/v1/ws") as ws:
            await _ready(ws)
            answer = await _answer(ws, b'{"type":"step","action":"a\xff\xfeb","id":3}')
            assert answer["type"] == "error" and answer["error"]["code"] == 422, answer
            assert "UTF-8" in answer["error"]["message"]
            stepped = await _answer(ws, json.dumps({"type": "step", "id": 4, "action": "still here"}))
            assert stepped["result"]["observation"] == "echo still here"  # the connection lives on

    asyncio.run(scenario())


@pytest.mark.parametrize("binary", [False, True])
def test_a_message_over_max_body_bytes_in_utf8_is_refused_even_when_its_characters_are_fewer(server_url, binary):
    # max_body_bytes counts bytes; the WebSocket counted characters, so 600 'é' (1,200 bytes)
    # passed a 1,000-byte limit.
    async def scenario():
        async with connect(server_url.replace("http://", "ws://") + "/v1/ws") as ws:
            await _ready(ws)
            text = json.dumps({"type": "step", "id": 3, "action": "é" * 600}, ensure_ascii=False)
            answer = await _answer(ws, text.encode() if binary else text)
            assert answer["type"] == "error" and answer["error"]["code"] == 413, answer
            under = json.dumps({"type": "step", "id": 4, "action": "é" * 400}, ensure_ascii=False)
            assert (await _answer(ws, under.encode() if binary else under))["type"] == "result"

    asyncio.run(scenario())


@pytest.mark.parametrize("port", [70000, -1, "8000", 80.0, True])
def test_launch_env_servers_refuses_a_port_no_server_can_listen_on_before_starting_anything(port):
    # 70000 was bound as 70000 % 65536 (a server on port 4464, the pool's URL saying so), '8000'
    # as port 8000, -1 raised socket.gaierror.
    children = psutil.Process().children(recursive=True)
    try:
        pool = launch_env_servers(1, ports=[port], startup_timeout=30)
    except ValueError as exc:
        assert "port must be an integer from 0 to 65535" in str(exc) and repr(port) in str(exc)
    else:
        pool.close()
        pytest.fail(f"ports=[{port!r}] was accepted: {pool.urls}")
    assert psutil.Process().children(recursive=True) == children


@pytest.mark.parametrize("url", ["http://::1:8000", "http://127.0.0.1:notaport", "http://127.0.0.1:99999",
                                 "ftp://127.0.0.1:8000", "127.0.0.1:8000", "http://", "http://[::1"])
def test_async_remote_env_refuses_a_server_url_it_cannot_use_up_front_naming_it(url):
    # RemoteEnv raises ConfigError for a server httpx cannot parse; AsyncRemoteEnv took any and
    # every open failed as 'the WebSocket handshake ... failed' (no handshake was ever tried).
    with pytest.raises(ConfigError, match="AsyncRemoteEnv: server .* is not"):
        AsyncRemoteEnv(ECHO_ID, server=url)


def test_async_remote_env_takes_a_scheme_in_capitals_as_remote_env_does(server_url):
    # 'HTTP://127.0.0.1:PORT' reaches the server over HTTP; the async client sent it to the
    # WebSocket opener unchanged, which refused it as 'not a WebSocket URL'.
    async def scenario():
        async with AsyncRemoteEnv(ECHO_ID, server=server_url.replace("http://", "HTTP://")) as env:
            observation, _ = await env.areset(seed=0)
            assert observation == "ready"

    asyncio.run(scenario())


CREATED = {"session_id": "s", "env_id": "foreign", "max_turns": None, "instructions": "", "tools": [],
           "render_modes": []}


class _ForeignServer:
    """A WebSocket server that speaks the protocol's envelope but answers ``step`` and ``reset``
    with whatever it is given (glue: a server that is not agentgym's, or a broken one)."""

    def __init__(self):
        self.answers = {"create": CREATED, "reset": {"observation": "ready", "info": {}}, "step": {}}

    async def handler(self, ws):
        async for raw in ws:
            message = json.loads(raw)
            kind = message["type"]
            result = self.answers.get(kind, {})
            await ws.send(json.dumps({"type": "result", "id": message["id"], "result": result}))


MALFORMED = [{}, {"observation": "x", "reward": "much", "terminated": False, "truncated": False, "info": {}},
             {"observation": {"text": "x", "image": {"$png": "not base64!"}}, "reward": 0, "terminated": False,
              "truncated": False, "info": {}},
             {"observation": "x", "reward": 0, "terminated": False, "truncated": False, "info": ["not", "a dict"]}]


@pytest.mark.parametrize("answer", MALFORMED)
def test_a_malformed_answer_to_astep_is_an_error_observation_not_an_exception(answer):
    # astep never raises (the failure contract RemoteEnv.step keeps for such an answer); it
    # raised KeyError, ValueError or binascii.Error out of the caller's rollout.
    foreign = _ForeignServer()
    foreign.answers["step"] = answer

    async def scenario():
        async with serve(foreign.handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            async with AsyncRemoteEnv("foreign", server=f"http://127.0.0.1:{port}") as env:
                assert (await env.areset(seed=0))[0] == "ready"
                observation, reward, terminated, truncated, info = await env.astep("hello")
                assert observation.startswith("Environment server error: the server's answer to step is malformed")
                assert (reward, terminated, truncated, info["remote_error"]) == (0.0, False, True, "server")

    asyncio.run(scenario())


@pytest.mark.parametrize("answer", [{}, {"observation": {"image": {"$png": "not base64!"}}, "info": {}},
                                    {"observation": "x", "info": None}])
def test_a_malformed_answer_to_areset_is_an_error_observation_not_an_exception(answer):
    foreign = _ForeignServer()
    foreign.answers["reset"] = answer

    async def scenario():
        async with serve(foreign.handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            async with AsyncRemoteEnv("foreign", server=f"http://127.0.0.1:{port}") as env:
                observation, info = await env.areset(seed=0)
                assert observation.startswith("Environment server error: the server's answer to reset is malformed")
                assert info["remote_error"] == "server" and info["task_id"] is None

    asyncio.run(scenario())


def _foreign_http_app(answers):
    """An HTTP server that answers a create and a reset with whatever ``answers`` holds (glue: a
    server that is not agentgym's behind the URL, or a broken one)."""
    app = FastAPI()

    @app.post("/v1/sessions", status_code=201)
    async def create():
        return answers["create"]

    @app.post("/v1/sessions/{session_id}/reset")
    async def reset(session_id: str):
        return answers["reset"]

    @app.delete("/v1/sessions/{session_id}")
    async def delete(session_id: str):
        return {"closed": session_id}

    return app



@pytest.mark.parametrize("answer", [{}, {"observation": {"image": {"$png": "not base64!"}}, "info": {}},
                                    {"observation": "x", "info": None}])
def test_a_malformed_answer_to_remote_env_reset_is_an_error_observation_not_an_exception(answer):
    # reset's contract: a failure is the error observation, never an exception; a reset answer
    # without its fields raised KeyError, a bad PNG binascii.Error, and info null came back as None.
    with serving_in_thread(_foreign_http_app({"create": CREATED, "reset": answer}), host="127.0.0.1", port=0,
                           name="foreign server") as url:
        env = RemoteEnv("foreign", server=url)
        try:
            observation, info = env.reset(seed=0)
            assert observation.startswith("Environment server error: the server's answer to reset is malformed")
            assert info["remote_error"] == "server" and info["task_id"] is None
        finally:
            env.close()



@pytest.mark.parametrize("answer", [{}, ["not", "a session"]])
def test_a_malformed_answer_to_the_create_is_a_remote_env_error_naming_it(answer):
    # The constructor raises RemoteEnvError when it cannot open the session; a create answer
    # without a session id raised KeyError (TypeError for a list).
    with serving_in_thread(_foreign_http_app({"create": answer, "reset": {}}), host="127.0.0.1", port=0,
                           name="foreign server") as url:
        with pytest.raises(RemoteEnvError, match="the server's answer to create is malformed"):
            RemoteEnv("foreign", server=url)


@pytest.mark.parametrize("answer", [{}, ["not", "a session"]])
def test_a_malformed_answer_to_the_create_is_a_remote_env_error_from_async_open(answer):
    # open raises RemoteEnvError when it cannot open the session; it raised KeyError or TypeError.
    foreign = _ForeignServer()
    foreign.answers["create"] = answer

    async def scenario():
        async with serve(foreign.handler, "127.0.0.1", 0) as server:
            env = AsyncRemoteEnv("foreign", server=f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
            with pytest.raises(RemoteEnvError, match="the server's answer to create is malformed"):
                await env.open()
            await env.aclose()

    asyncio.run(scenario())


class Blocks(Echo):
    """The action ``"block"`` waits until :data:`RELEASE` is set (an environment call that hangs)."""

    def play(self, action):
        if action == "block":
            RELEASE.wait(20)
        return super().play(action)


RELEASE = threading.Event()
agentgym.register("test/Explore10Blocks-v0", Blocks, max_turns=None)


def test_after_an_astep_that_timed_out_areset_opens_a_new_session_instead_of_waiting_on_the_busy_one():
    # RemoteEnv's contract, which AsyncRemoteEnv shares: after a call that timed out, reset opens
    # a new session (the server may still run the call: a hung step holds the session). The async
    # client resumed the same session, and every areset timed out behind the hung step.
    RELEASE.clear()
    with running_env_server(max_sessions=8) as url:
        async def scenario():
            env = AsyncRemoteEnv("test/Explore10Blocks-v0", server=url, timeout=0.5)
            try:
                await env.areset(seed=0)
                first = env.session_id
                assert (await env.astep("block"))[4]["remote_error"] == "transport"
                observation, info = await env.areset(seed=1)
                assert observation == "ready" and "remote_error" not in info
                assert env.session_id != first
                assert (await env.astep("hello"))[0] == "echo hello"
            finally:
                RELEASE.set()
                await env.aclose()

        try:
            asyncio.run(scenario())
        finally:
            RELEASE.set()
        # the abandoned session was closed once its step ended (asked to close, not left for the reaper)
        deadline = time.monotonic() + 5
        while httpx.get(url + "/metrics", timeout=5).json()["sessions"]["open"]:
            assert time.monotonic() < deadline, "the abandoned session is still open"
            time.sleep(0.05)


def test_a_container_pool_published_on_an_ipv6_host_has_urls_clients_can_use():
    # ContainerPool(host="::1") built http://::1:PORT, which httpx refuses (InvalidURL out of the
    # start-up wait): no pool could start on an IPv6 address. A real server on [::1] stands in
    # for the container's published port; the container object is glue (Docker's, as reported).
    with running_env_server(host="::1") as served:
        port = int(served.rsplit(":", 1)[1])

        class PublishedContainer:
            name, status = "agentgym-env-test-0", "running"
            attrs = {"NetworkSettings": {"Ports": {f"{CONTAINER_PORT}/tcp": [{"HostIp": "::1",
                                                                           "HostPort": str(port)}]}}}

            def reload(self):
                pass

            def logs(self, tail):
                return b""

        pool = ContainerPool.__new__(ContainerPool)  # no Docker engine: its start-up wait alone
        pool.host, pool.api_key = "::1", "key"
        url = pool._wait_started(0, PublishedContainer(), timeout=5)
        assert url == f"http://[::1]:{port}" == served
        env = RemoteEnv(ECHO_ID, server=url)
        try:
            assert env.reset(seed=0)[0] == "ready"
        finally:
            env.close()


@pytest.mark.parametrize("n", [2.0, "2", True, 0])
def test_launch_env_servers_refuses_a_count_that_is_no_positive_int_naming_it(n):
    # n=2.0 raised "can't multiply sequence by non-int of type 'float'", n='2' "'<' not supported
    # between instances of 'str' and 'int'", and n=True started one server.
    children = psutil.Process().children(recursive=True)
    try:
        pool = launch_env_servers(n, startup_timeout=30)
    except ValueError as exc:
        assert f"n must be an int >= 1, got {n!r}" in str(exc)
    else:
        pool.close()
        pytest.fail(f"n={n!r} was accepted: {pool.urls}")
    assert psutil.Process().children(recursive=True) == children


@pytest.mark.parametrize("n", [2.0, "2", True, 0])
def test_the_container_pool_refuses_a_count_that_is_no_positive_int_before_asking_docker(n):
    with pytest.raises(ValueError, match=f"n must be an int >= 1, got {n!r}"):
        ContainerPool(n, image="agentgym:test")


@pytest.mark.parametrize("port", [70000, -1, "8000", 80.0, True])
def test_the_container_pool_refuses_a_port_no_server_can_listen_on_before_asking_docker(port):
    # Such ports went to Docker (with no engine: 'no Docker engine is reachable' instead of the port's fault).
    with pytest.raises(ValueError, match="port must be an integer from 0 to 65535"):
        ContainerPool(1, image="agentgym:test", ports=[port])


@pytest.mark.parametrize("key", ["clé-secrète", "ключ"])
def test_a_server_key_beyond_ascii_is_taken_by_both_clients_over_both_transports(key):
    # env_app takes any non-empty key; RemoteEnv raised UnicodeEncodeError from its constructor
    # for one beyond ASCII, AsyncRemoteEnv failed its handshake beyond Latin-1, and the server
    # read the key as UTF-8 over HTTP but as Latin-1 in the WebSocket handshake.
    with running_env_server(api_key=key) as url:
        env = RemoteEnv(ECHO_ID, server=url, api_key=key)
        try:
            assert env.reset(seed=0)[0] == "ready"
        finally:
            env.close()
        with pytest.raises(RemoteEnvError, match="401"):
            RemoteEnv(ECHO_ID, server=url, api_key=key + "x")

        async def scenario():
            async with AsyncRemoteEnv(ECHO_ID, server=url, api_key=key) as async_env:
                assert (await async_env.areset(seed=0))[0] == "ready"
            with pytest.raises(RemoteEnvError, match="handshake"):
                await AsyncRemoteEnv(ECHO_ID, server=url, api_key=key + "x").open()

        asyncio.run(scenario())


def test_aclose_after_the_connection_dropped_closes_the_resumable_session_on_the_server():
    # aclose closes the session (RemoteEnv.close deletes it whatever happened before); with the
    # connection gone (here: a step that timed out) it only forgot it, and the server kept the
    # resumable session, a max_sessions slot, for its resume grace (30 s) after the step ended.
    RELEASE.clear()
    with running_env_server(max_sessions=8, resume_grace=30.0) as url:
        async def scenario():
            env = AsyncRemoteEnv("test/Explore10Blocks-v0", server=url, timeout=0.5)
            try:
                await env.areset(seed=0)
                assert (await env.astep("block"))[4]["remote_error"] == "transport"
            finally:
                await env.aclose()
                RELEASE.set()

        try:
            asyncio.run(scenario())
        finally:
            RELEASE.set()
        deadline = time.monotonic() + 5
        while httpx.get(url + "/metrics", timeout=5).json()["sessions"]["open"]:
            assert time.monotonic() < deadline, "the session is still open on the server"
            time.sleep(0.05)
