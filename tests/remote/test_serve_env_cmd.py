"""``agentgym serve-env``: argument checks, and a real server process stepped by RemoteEnv."""

import asyncio
import os
import signal
import subprocess
import sys

import httpx
import pytest

import agentgym
from agentgym.cli import main
from agentgym.remote import AsyncRemoteEnv, RemoteEnv
from tests.server_startup import url_from_startup_line


def test_help_names_the_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["serve-env", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--host", "--port", "--api-key", "--max-sessions", "--idle-timeout", "--max-body-mb",
                   "--resume-grace", "--heartbeat-interval", "--heartbeat-timeout"):
        assert option in out


@pytest.mark.parametrize("argv, message", [
    (["--host", "0.0.0.0"], "refusing to serve on '0.0.0.0' without an API key"),
    (["--port", "70000"], "--port must be between 0 and 65535"),
    (["--max-sessions", "0"], "--max-sessions must be at least 1"),
    (["--idle-timeout", "0"], "--idle-timeout must be positive"),
    (["--api-key", ""], "--api-key is empty"),
    (["--resume-grace", "0"], "--resume-grace must be positive"),
    (["--heartbeat-interval", "-1"], "--heartbeat-interval must be positive"),
    (["--heartbeat-timeout", "0"], "--heartbeat-timeout must be positive"),
])
def test_bad_options_are_one_line_errors(capsys, monkeypatch, argv, message):
    monkeypatch.delenv("AGENTGYM_API_KEY", raising=False)
    assert main(["serve-env", *argv]) == 2
    assert message in capsys.readouterr().err


def test_serves_environments_until_interrupted():
    command = [sys.executable, "-m", "agentgym", "serve-env", "--port", "0", "--max-sessions", "4"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "AGENTGYM_API_KEY": "k-123"})
    try:
        url = url_from_startup_line(process, timeout=60)
        assert httpx.get(f"{url}/health").status_code == 401
        env = RemoteEnv("games/GuessTheNumber-v0", server=url, api_key="k-123")
        local = agentgym.make("games/GuessTheNumber-v0")
        assert env.reset(seed=4)[0] == local.reset(seed=4)[0]
        assert env.step("50")[:4] == local.step("50")[:4]
        env.close()

        async def over_the_websocket():  # the same key opens the WebSocket
            async with AsyncRemoteEnv("games/GuessTheNumber-v0", server=url, api_key="k-123") as remote:
                assert (await remote.areset(seed=4))[0] == local.reset(seed=4)[0]
                assert (await remote.astep("50"))[:4] == local.step("50")[:4]

        asyncio.run(over_the_websocket())
    finally:
        process.send_signal(signal.SIGINT)
        returncode = process.wait(timeout=30)
    assert returncode == 0
