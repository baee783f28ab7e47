"""Exploratory findings on the environment server: an environment that raises SystemExit (a
library's argument parser exits on bad input) or KeyboardInterrupt is a bug of that environment,
answered 500 in the server's error body with the connection kept, as any exception it raises,
on the worker threads and inline on the event loop, over HTTP and WebSocket."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest

import agentgym
from agentgym import Feedback, LLMEnv
from agentgym.remote import AsyncRemoteEnv, running_env_server


class Exits(LLMEnv):
    """The action ``"exit"`` raises SystemExit(2), ``"interrupt"`` KeyboardInterrupt."""

    instructions = "say anything"
    example_actions = ("hello",)

    def new_episode(self, options):
        return "ready"

    def play(self, action):
        if action == "exit":
            raise SystemExit(2)
        if action == "interrupt":
            raise KeyboardInterrupt
        return Feedback(f"echo {action}")


class Blocks(Exits):
    """The action ``"block"`` waits until :data:`RELEASE` is set (an environment call that hangs)."""

    def play(self, action):
        if action == "block":
            RELEASE.wait(30)
        return super().play(action)


RELEASE = threading.Event()


class InlineExits(Exits):
    cheap_steps = True  # stepped on the server's event loop


agentgym.register("test/ExploreExits-v0", Exits, max_turns=None)
agentgym.register("test/ExploreInlineExits-v0", InlineExits, max_turns=None)
agentgym.register("test/ExploreBlocks-v0", Blocks, max_turns=None)


@pytest.fixture(scope="module")
def server_url():
    with running_env_server(max_sessions=8) as url:
        yield url


@pytest.mark.parametrize("env_id", ["test/ExploreExits-v0", "test/ExploreInlineExits-v0"])
def test_systemexit_in_an_environment_is_a_500_with_the_connection_kept(server_url, env_id):
    with httpx.Client(base_url=server_url, timeout=10) as client:
        sid = client.post("/v1/sessions", json={"env_id": env_id}).json()["session_id"]
        for action in ("exit", "interrupt"):
            assert client.post(f"/v1/sessions/{sid}/reset", json={"seed": 0}).status_code == 200
            answer = client.post(f"/v1/sessions/{sid}/step", json={"action": action})
            assert answer.status_code == 500 and answer.headers.get("connection") != "close"
            message = answer.json()["error"]["message"]  # the server's JSON error body, not uvicorn's text
            assert message.startswith("internal error: CallExited:") and ("SystemExit(2)" in message or
                                                                          "KeyboardInterrupt" in message)
        assert client.post(f"/v1/sessions/{sid}/reset", json={"seed": 0}).status_code == 200
        assert client.post(f"/v1/sessions/{sid}/step", json={"action": "hi"}).json()["observation"] == "echo hi"
        client.delete(f"/v1/sessions/{sid}")


def test_systemexit_inline_over_websocket_is_an_error_answer_and_the_server_lives_on(server_url):
    async def main():
        async with AsyncRemoteEnv("test/ExploreInlineExits-v0", server=server_url) as env:
            await env.areset(seed=0)
            failed = await env.astep("exit")
            await env.areset(seed=0)
            return failed, await env.astep("hi")

    (_, _, _, truncated, info), after = asyncio.run(main())
    assert truncated and "SystemExit(2)" in info["error"] and after[0] == "echo hi"
    assert httpx.get(f"{server_url}/health", timeout=5).json()["status"] == "ok"


def test_reset_options_json_cannot_carry_are_a_config_error_naming_them(server_url):
    from agentgym.core import ConfigError
    from agentgym.remote import RemoteEnv

    env = RemoteEnv("test/ExploreExits-v0", server=server_url)
    try:
        for options in ({"when": object()}, {"ratio": float("nan")}):
            with pytest.raises(ConfigError, match=r"RemoteEnv.reset: options .*JSON"):
                env.reset(seed=0, options=options)  # raised TypeError / ValueError from the JSON encoder
        assert env.reset(seed=0)[0] == "ready"
    finally:
        env.close()

    async def main():
        async with AsyncRemoteEnv("test/ExploreExits-v0", server=server_url) as remote:
            with pytest.raises(ConfigError, match=r"AsyncRemoteEnv.areset: options .*JSON"):
                await remote.areset(seed=0, options={"when": object()})  # was an error observation
            return await remote.areset(seed=0)

    assert asyncio.run(main())[0] == "ready"


def test_a_client_cannot_make_the_server_open_sessions_on_a_server_it_names(server_url):
    # agentgym.make(id, server=URL) makes a RemoteEnv: through kwargs a client made this server
    # connect to any URL (another server on its loopback, an internal address) and relay to it.
    with httpx.Client(base_url=server_url, timeout=10) as client:
        before = client.get("/health").json()["sessions"]
        answer = client.post("/v1/sessions", json={"env_id": "test/ExploreExits-v0", "kwargs": {"server": server_url}})
        assert answer.status_code == 403, answer.text
        message = answer.json()["error"]["message"]
        assert "server would reach" in message and "--allow-host-arguments" in message
        assert client.get("/health").json()["sessions"] == before  # no session made here, nested or not


def _ipv6_loopback() -> bool:
    import socket

    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_a_server_on_the_ipv6_loopback_yields_a_url_clients_can_use():
    from agentgym.remote import RemoteEnv

    with running_env_server(host="::1") as url:  # was http://::1:PORT, which no client can parse
        assert url.startswith("http://[::1]:")
        assert httpx.get(f"{url}/health", timeout=5).json()["status"] == "ok"
        env = RemoteEnv("test/ExploreExits-v0", server=url)
        assert env.reset(seed=0)[0] == "ready"
        env.close()


def test_a_server_url_httpx_cannot_parse_is_a_config_error_naming_it():
    from agentgym.core import ConfigError
    from agentgym.remote import RemoteEnv

    with pytest.raises(ConfigError, match=r"server 'http://::1:8001' is not a URL"):  # was httpx.InvalidURL
        RemoteEnv("test/ExploreExits-v0", server="http://::1:8001")


def test_after_a_step_that_timed_out_reset_opens_a_new_session_instead_of_waiting_on_the_busy_one(server_url):
    from agentgym.remote import RemoteEnv

    env = RemoteEnv("test/ExploreBlocks-v0", server=server_url, timeout=0.5)
    try:
        assert env.reset(seed=0)[0] == "ready"
        stuck = env.session_id
        *_, truncated, info = env.step("block")  # the server's step hangs: the client gives up
        assert truncated and info["remote_error"] == "transport"
        observation, info = env.reset(seed=0)  # timed out too, for ever: the old session is still stepping
        assert observation == "ready", info
        assert env.session_id != stuck and env.step("hi")[0] == "echo hi"
    finally:
        RELEASE.set()
        env.close()
