"""An environment that raises, served over HTTP: the client gets a 500 answer and its
connection lives on, so the next call on the same ``RemoteEnv`` is answered (the docstring of
:mod:`agentgym.remote.server`: "the connection lives on")."""

import httpx
import pytest

import agentgym
from agentgym import Feedback, LLMEnv
from agentgym.remote import RemoteEnv, running_env_server


class Crashy(LLMEnv):
    """``reset(options={"crash": True})`` and the action ``"raise"`` raise (a bug in it)."""

    instructions = "say anything"
    example_actions = ("hello",)

    def new_episode(self, options):
        if options and options.get("crash"):
            raise RuntimeError("a bug in new_episode")
        return "ready"

    def play(self, action):
        if action == "raise":
            raise RuntimeError("a bug in play")
        return Feedback(f"echo {action}")


agentgym.register("test/HttpCrashy-v0", Crashy, max_turns=None)


@pytest.fixture(scope="module")
def server_url():
    with running_env_server(max_sessions=8) as url:
        yield url


def test_a_step_that_raises_leaves_the_connection_usable(server_url):
    env = RemoteEnv("test/HttpCrashy-v0", server=server_url)
    try:
        for seed in range(3):
            assert env.reset(seed=seed)[0] == "ready"
            observation, _, _, truncated, info = env.step("raise")
            assert truncated and info["remote_error"] == "server" and "500" in info["error"], info
            assert "a bug in play" in info["error"]
            observation, info = env.reset(seed=seed)  # the same kept-alive connection: answered
            assert observation == "ready", info
            assert env.step("hi")[0] == "echo hi"
    finally:
        env.close()


def test_a_reset_that_raises_leaves_the_connection_usable(server_url):
    env = RemoteEnv("test/HttpCrashy-v0", server=server_url)
    try:
        for _ in range(3):
            observation, info = env.reset(seed=0, options={"crash": True})
            assert info["remote_error"] == "server" and "a bug in new_episode" in info["error"], info
            observation, info = env.reset(seed=0)
            assert observation == "ready", info
    finally:
        env.close()


def test_the_500_answer_keeps_the_connection_open(server_url):
    with httpx.Client(base_url=server_url, timeout=10) as client:
        sid = client.post("/v1/sessions", json={"env_id": "test/HttpCrashy-v0"}).json()["session_id"]
        assert client.post(f"/v1/sessions/{sid}/reset", json={"seed": 0}).status_code == 200
        crashes = client.get("/metrics").json()["errors"].get("500", 0)
        answer = client.post(f"/v1/sessions/{sid}/step", json={"action": "raise"})
        assert answer.status_code == 500
        assert answer.json()["error"]["message"] == "internal error: RuntimeError: a bug in play"
        assert answer.headers.get("connection") != "close"
        assert client.post(f"/v1/sessions/{sid}/reset", json={"seed": 0}).status_code == 200
        assert client.get("/metrics").json()["errors"]["500"] == crashes + 1  # counted once
        client.delete(f"/v1/sessions/{sid}")
