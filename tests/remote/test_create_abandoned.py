"""A client that hangs up while its session is being made (its timeout ran out on a slow
constructor) never learns the session's id: the server closes that session at once instead of
holding a slot and an environment until the idle timeout."""

import json
import socket
import threading
import time

import httpx

import agentgym
from agentgym import Feedback, LLMEnv
from agentgym.remote import running_env_server


STARTED, RELEASE = threading.Event(), threading.Event()


class SlowToMake(LLMEnv):
    """With ``hold=True`` its constructor waits for ``RELEASE`` (a corpus to build, a browser to
    start), having set ``STARTED``."""

    instructions = "say anything"
    example_actions = ("hi",)

    def __init__(self, hold: bool = False, **kwargs):
        super().__init__(**kwargs)
        if hold:
            STARTED.set()
            RELEASE.wait(10)

    def new_episode(self, options):
        return "ready"

    def play(self, action):
        return Feedback(action)


agentgym.register("test/SlowToMake-v0", SlowToMake, max_turns=None)


def _sessions(client):
    return client.get("/metrics").json()["sessions"]


def test_a_create_whose_client_hung_up_is_closed_not_left_to_the_reaper():
    with running_env_server(idle_timeout=300) as url, httpx.Client(base_url=url, timeout=10) as client:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        body = json.dumps({"env_id": "test/SlowToMake-v0", "kwargs": {"hold": True}}).encode()
        with socket.create_connection((host, int(port))) as raw:
            raw.sendall(b"POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            assert STARTED.wait(10)  # the environment is being made
        RELEASE.set()  # the client has hung up: let the constructor finish
        deadline = time.monotonic() + 10
        while _sessions(client)["closed"] == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        sessions = _sessions(client)
        assert sessions["created"] == 1 and sessions["open"] == 0 and sessions["closed"] == 1, sessions
        assert client.get("/metrics").json()["client_disconnects"] == 1
        assert client.post("/v1/sessions", json={"env_id": "test/SlowToMake-v0"}).status_code == 201  # serves on
