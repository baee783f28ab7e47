"""Exploratory findings (round 15) on the environment server and its clients, over real sockets."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import httpx
import pytest
from websockets.asyncio.client import connect

import agentgym
from agentgym import Feedback, LLMEnv
from agentgym.registry import is_registered
from agentgym.remote import AsyncRemoteEnv, env_app, running_env_server, session_service
from remote_echo import ECHO_ID
from tests.resource_probe import live_threads, started_since


@pytest.fixture(scope="module")
def server_url():
    with running_env_server(max_sessions=8) as url:
        yield url


def test_an_async_env_driven_from_one_event_loop_then_another_steps_at_once(server_url):
    # asyncio.run(env.areset()) then asyncio.run(env.astep(...)): the connection belonged to the
    # first loop, gone with it; the step was written on its socket, whose answer no loop read,
    # and came back after the whole timeout as a transport error.
    env = AsyncRemoteEnv(ECHO_ID, server=server_url, timeout=3.0)
    try:
        assert asyncio.run(env.areset(seed=0))[0] == "ready"
        started = time.monotonic()
        observation, _, _, truncated, info = asyncio.run(env.astep("hello"))
        assert (observation, truncated) == ("echo hello", False), info
        assert time.monotonic() - started < 2.0
        assert asyncio.run(env.astep("again"))[0] == "echo again"  # the same session, resumed
        assert env.reconnects >= 1
    finally:
        asyncio.run(env.aclose())
    assert httpx.get(server_url + "/health").json()["sessions"] == 0  # closed from the third loop


class Gated(LLMEnv):
    """Made in ``make_delay`` seconds; a step ``"wait"`` holds until :data:`RELEASE` is set."""

    instructions = "say anything"

    def __init__(self, make_delay: float = 0.0, **kwargs) -> None:
        time.sleep(make_delay)
        super().__init__(**kwargs)

    def new_episode(self, options):
        return "ready"

    def play(self, action):
        if action == "wait":
            RELEASE.wait(10)
        return Feedback(f"echo {action}")


RELEASE = threading.Event()
GATED_ID = "test/RemoteGated15-v0"
if not is_registered(GATED_ID):
    agentgym.register(GATED_ID, Gated, max_turns=None)


def _open_sessions(url: str) -> int:
    return httpx.get(url + "/health").json()["sessions"]


def _metrics(url: str) -> dict:
    return httpx.get(url + "/metrics").json()


def test_an_areset_cancelled_while_its_session_is_made_does_not_wedge_the_env(server_url):
    # asyncio.wait_for(env.areset(), t) ran out while the server made the environment: the server
    # went on and attached the session to the connection, which the client kept without knowing
    # the session, so every later areset was refused 409 ('this connection already holds a
    # session'), and the session stayed open for the resume grace after aclose.
    async def scenario():
        env = AsyncRemoteEnv(GATED_ID, server=server_url, timeout=5.0, make_delay=0.4)
        try:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(env.areset(seed=0), 0.1)
            observation, info = await env.areset(seed=0)
            assert observation == "ready", info
            assert (await env.astep("hi"))[0] == "echo hi"
        finally:
            await env.aclose()

    asyncio.run(scenario())
    deadline = time.monotonic() + 3
    while _open_sessions(server_url) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _open_sessions(server_url) == 0  # the session made for the cancelled call is closed too


def test_after_an_astep_cancelled_in_flight_areset_does_not_wait_behind_it(server_url):
    # A step cancelled by its caller (asyncio.wait_for, a task cancelled) still runs on the server
    # and holds the session and its connection; areset sent its reset behind it and waited for
    # the step to end (or its whole timeout), as after a timeout before e29db60.
    RELEASE.clear()

    async def scenario():
        env = AsyncRemoteEnv(GATED_ID, server=server_url, timeout=5.0)
        try:
            assert (await env.areset(seed=0))[0] == "ready"
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(env.astep("wait"), 0.2)
            started = time.monotonic()
            observation, info = await env.areset(seed=1)
            assert observation == "ready", info
            assert time.monotonic() - started < 2.0
            assert (await env.astep("on"))[0] == "echo on"
        finally:
            RELEASE.set()
            await env.aclose()

    try:
        asyncio.run(scenario())
    finally:
        RELEASE.set()


def test_a_resumable_session_whose_create_answer_never_reached_its_client_is_closed_at_once(server_url):
    # A WebSocket client that hung up while its resumable session was made (its own timeout ran
    # out on a slow constructor) never learned the session's id and token, so no one could
    # resume it; the server kept it, a max_sessions slot and its environment, for the whole
    # resume grace (30 s here), as an HTTP create whose client hung up was before 6ae2905.
    async def scenario():
        async with connect(server_url.replace("http://", "ws://") + "/v1/ws") as ws:
            await ws.send(json.dumps({"type": "create", "id": 1, "env_id": GATED_ID, "resumable": True,
                                      "kwargs": {"make_delay": 0.3}}))
            await asyncio.sleep(0.05)

    created = _metrics(server_url)["sessions"]["created"]
    asyncio.run(scenario())
    deadline = time.monotonic() + 3
    while _metrics(server_url)["sessions"]["created"] == created and time.monotonic() < deadline:
        time.sleep(0.02)  # the environment is being made
    assert _metrics(server_url)["sessions"]["created"] == created + 1
    while _open_sessions(server_url) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _open_sessions(server_url) == 0
    assert _metrics(server_url)["websocket"]["detached_sessions"] == 0


def test_an_env_app_served_a_second_time_makes_sessions_again():
    # The first serving's shutdown shut its worker threads down for good: served again (a ready
    # app given to running_env_server twice), /health answered 200 but every create was a 500,
    # 'the server's environment threads are shut down'.
    app = env_app(max_sessions=4)
    for serving in range(2):
        before = live_threads()
        with running_env_server(app=app) as url:
            answer = httpx.post(url + "/v1/sessions", json={"env_id": ECHO_ID})
            assert answer.status_code == 201, (serving, answer.text)
            session = answer.json()["session_id"]
            assert httpx.post(f"{url}/v1/sessions/{session}/reset", json={}).json()["observation"] == "ready"
        deadline = time.monotonic() + 2
        while started_since(before) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not started_since(before)  # each serving's threads are joined when it ends


def test_a_ready_env_app_is_served_with_an_api_key_only_when_it_checks_that_very_key():
    # running_env_server: "api_key must then be its key beyond loopback"; only its presence was
    # checked, so a keyless app was served on 0.0.0.0 to anyone, the caller's key checked by no one.
    with pytest.raises(ValueError, match="does not check the api_key given"):
        with running_env_server(app=env_app(), host="0.0.0.0", api_key="k"):
            pass
    with pytest.raises(ValueError, match="does not check the api_key given"):
        with running_env_server(app=env_app(api_key="other"), api_key="k"):
            pass


CLOSE_GATE = threading.Event()


class SlowToClose(Gated):
    """Its ``close`` waits for :data:`CLOSE_GATE` (a browser or a sandbox that will not stop)."""

    def close(self):
        CLOSE_GATE.wait(10)
        super().close()


SLOW_CLOSE_ID = "test/RemoteSlowToClose15-v0"
if not is_registered(SLOW_CLOSE_ID):
    agentgym.register(SLOW_CLOSE_ID, SlowToClose, max_turns=None)


def test_an_environment_that_will_not_close_holds_up_no_other_idle_session_from_being_reaped():
    # The reaper closed the idle sessions one after another, awaiting each: one environment whose
    # close hung stopped every later reaping, so idle sessions held their slots (and then every
    # create got 503) for as long as that close hung.
    CLOSE_GATE.clear()
    try:
        with running_env_server(idle_timeout=0.3) as url:
            assert httpx.post(url + "/v1/sessions", json={"env_id": SLOW_CLOSE_ID}).status_code == 201
            deadline = time.monotonic() + 3
            while _metrics(url)["sessions"]["reaped"] < 1 and time.monotonic() < deadline:
                time.sleep(0.05)  # the reaper is now in the close that hangs
            session = httpx.post(url + "/v1/sessions", json={"env_id": ECHO_ID}).json()["session_id"]
            while _metrics(url)["sessions"]["reaped"] < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _metrics(url)["sessions"]["reaped"] == 2
            assert httpx.get(f"{url}/v1/sessions/{session}/spec").status_code == 404
            CLOSE_GATE.set()
    finally:
        CLOSE_GATE.set()


CLOSED: list[str] = []


class RecordsClose(Gated):
    def close(self):
        CLOSED.append("closed")
        super().close()


RECORDS_CLOSE_ID = "test/RemoteRecordsClose15-v0"
if not is_registered(RECORDS_CLOSE_ID):
    agentgym.register(RECORDS_CLOSE_ID, RecordsClose, max_turns=None)


def test_a_shutdown_is_bounded_by_its_grace_when_an_environment_will_not_close(monkeypatch):
    # shutdown promises at most SHUTDOWN_GRACE seconds, a stuck call left behind; but it awaited
    # each environment's close without a bound, one after another: an environment whose close
    # hung held serve-env's stop (SIGTERM, Ctrl+C) for as long, and the sessions after it were
    # not closed meanwhile.
    monkeypatch.setattr(session_service, "SHUTDOWN_GRACE", 0.5)
    CLOSED.clear()
    CLOSE_GATE.clear()
    try:
        with running_env_server() as url:
            for env_id in (SLOW_CLOSE_ID, RECORDS_CLOSE_ID):
                assert httpx.post(url + "/v1/sessions", json={"env_id": env_id}).status_code == 201
            stopping = time.monotonic()
        assert time.monotonic() - stopping < 2.0
        assert CLOSED == ["closed"]  # the other session's environment was closed all the same
    finally:
        CLOSE_GATE.set()


def test_a_websocket_message_under_a_max_body_bytes_past_16_mib_is_taken_as_over_http():
    # max_body_bytes (serve-env --max-body-mb) is "the largest request body (or WebSocket
    # message) accepted", but uvicorn's own WebSocket limit (16 MiB) stayed: over HTTP a 16.5 MiB
    # step was taken, over the WebSocket the connection was closed (1009), the session with it.
    action = "x" * (16 * 1024 * 1024 + 512 * 1024)

    async def scenario(url):
        async with connect(url.replace("http://", "ws://") + "/v1/ws", max_size=None) as ws:
            await ws.send(json.dumps({"type": "create", "id": 1, "env_id": ECHO_ID}))
            assert json.loads(await ws.recv())["type"] == "result"
            await ws.send(json.dumps({"type": "reset", "id": 2}))
            assert json.loads(await ws.recv())["type"] == "result"
            await ws.send(json.dumps({"type": "step", "id": 3, "action": action}))
            answer = json.loads(await ws.recv())
            assert answer["type"] == "result", answer  # stepped: the environment refuses it, as locally
            assert f"{len(action)} characters" in answer["result"]["observation"]

    with running_env_server(max_body_bytes=20 * 1024 * 1024) as url:
        asyncio.run(scenario(url))
