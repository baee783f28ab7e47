"""The sync RemoteEnv when its server restarts, dies or hangs: an error observation (truncated,
never a raise, never past the client's timeout), then ``reset`` works again once a server is
back on the same port.

The killed and hung servers are real processes (SIGKILL, SIGSTOP); the restarted one runs in
this process on the port the first one had.
"""

import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

import agentgym
from agentgym.remote import RemoteEnv, RemoteEnvError, running_env_server

WORDLE = "games/Wordle-v0"
CORE = ("reward_components", "error", "success")

_SERVER = """
import sys
import uvicorn
from agentgym.remote import env_app
uvicorn.run(env_app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve_in_a_process(port: int) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-c", _SERVER, str(port)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
            return child
        except httpx.TransportError:
            assert child.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)


def _stop(child: subprocess.Popen) -> None:
    if child.poll() is None:
        child.send_signal(signal.SIGCONT)
        child.kill()
    child.wait(timeout=10)


def _is_error_observation(result, kind: str | tuple) -> str:
    observation, reward, terminated, truncated, info = result
    assert observation.startswith("Environment server error: ") and info["error"] in observation
    assert (reward, terminated, truncated, info["success"]) == (0.0, False, True, False)
    assert info["remote_error"] in ((kind,) if isinstance(kind, str) else kind), info
    return info["error"]


def test_a_server_restarted_on_the_same_port_between_steps():
    port = _free_port()
    local = agentgym.make(WORDLE)
    with running_env_server(port=port) as url:
        env = RemoteEnv(WORDLE, server=url, timeout=5, connect_timeout=1, retries=2, backoff=0.05)
        env.reset(seed=0)
        assert env.step("crane")[4]["error"] is None
        first_session = env.session_id
    # The server is gone (gracefully: its sessions closed) and a new one listens on the port.
    with running_env_server(port=port) as again:
        assert again == url
        message = _is_error_observation(env.step("slate"), "session_lost")
        assert "404" in message and "restarted" in message
        _is_error_observation(env.step("slate"), "session_lost")  # still over until a reset
        observation, info = env.reset(seed=0)  # a new session on the new server
        assert "remote_error" not in info and env.session_id != first_session
        assert observation == local.reset(seed=0)[0]
        for action in ("crane", "slate"):
            got, expected = env.step(action), local.step(action)
            assert got[:4] == expected[:4] and all(got[4][key] == expected[4][key] for key in CORE)
        env.close()
    local.close()


def test_a_server_killed_mid_episode_then_started_again():
    port = _free_port()
    child = _serve_in_a_process(port)
    try:
        env = RemoteEnv(WORDLE, server=f"http://127.0.0.1:{port}", timeout=5, connect_timeout=1, retries=1,
                        backoff=0.05)
        env.reset(seed=1)
        assert env.step("crane")[4]["error"] is None
        child.kill()  # SIGKILL: no graceful shutdown, its sockets reset by the kernel
        child.wait(timeout=10)
        started = time.monotonic()
        _is_error_observation(env.step("slate"), ("transport", "unreachable"))
        observation, info = env.reset(seed=1)
        assert observation.startswith("Environment server error") and info["remote_error"] == "unreachable"
        assert info["task_id"] is None
        assert time.monotonic() - started < 5  # refused at once, retried briefly: no hang
        child = _serve_in_a_process(port)  # back on the same port
        observation, info = env.reset(seed=1)
        assert "remote_error" not in info and info["task_id"]
        assert env.step("crane")[4]["error"] is None
        env.close()
    finally:
        _stop(child)


def test_a_hung_server_gives_an_error_observation_within_the_timeout():
    port = _free_port()
    child = _serve_in_a_process(port)
    timeout = 1.0
    try:
        env = RemoteEnv(WORDLE, server=f"http://127.0.0.1:{port}", timeout=timeout, connect_timeout=1, retries=0)
        env.reset(seed=2)
        child.send_signal(signal.SIGSTOP)  # alive to the kernel (connections accepted), silent to us
        started = time.monotonic()
        message = _is_error_observation(env.step("crane"), "transport")
        waited = time.monotonic() - started
        assert timeout * 0.9 <= waited < timeout + 2, waited
        assert "Timeout" in message
        started = time.monotonic()
        observation, info = env.reset(seed=2)
        assert info["remote_error"] == "transport" and time.monotonic() - started < timeout + 2
        with pytest.raises(RemoteEnvError, match="Timeout"):
            RemoteEnv(WORDLE, server=f"http://127.0.0.1:{port}", timeout=timeout, connect_timeout=1, retries=0)
        child.send_signal(signal.SIGCONT)  # it wakes up: the same client goes on
        observation, info = env.reset(seed=2)
        assert "remote_error" not in info and env.step("crane")[4]["error"] is None
        env.close()
    finally:
        _stop(child)
