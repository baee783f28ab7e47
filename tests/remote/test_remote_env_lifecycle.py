"""``RemoteEnv`` after ``close()``: closing twice is a no-op, a step answers the error
observation, and ``reset`` opens a new session -- as a local environment resets after
``close`` and as ``AsyncRemoteEnv.areset`` does after ``aclose``."""

import httpx
import pytest

from agentgym.core import ConfigError
from agentgym.remote import AsyncRemoteEnv, RemoteEnv


def test_close_twice_then_reset_opens_a_new_session(server_url):
    env = RemoteEnv("games/Wordle-v0", server=server_url)
    first, _ = env.reset(seed=0)
    old_session = env.session_id
    env.close()
    env.close()  # twice: nothing to do
    observation, reward, terminated, truncated, info = env.step("crane")
    assert truncated and info["remote_error"] == "session_lost" and "reset()" in info["error"]
    observation, info = env.reset(seed=0)  # a new session, not the closed client's RuntimeError
    try:
        assert observation == first and info["task_id"]
        assert env.session_id not in (None, old_session)
        assert env.step("crane")[4]["error"] is None
    finally:
        env.close()
    assert httpx.get(f"{server_url}/v1/sessions/{old_session}/spec").status_code == 404


@pytest.mark.parametrize("client", [RemoteEnv, AsyncRemoteEnv])
@pytest.mark.parametrize("options, named", [
    ({"retries": -1}, "retries"), ({"retries": 1.5}, "retries"), ({"retries": True}, "retries"),
    ({"timeout": -1}, "timeout"), ({"timeout": 0}, "timeout"), ({"timeout": "3"}, "timeout"),
    ({"connect_timeout": float("nan")}, "connect_timeout"), ({"backoff": -0.1}, "backoff"),
    ({"difficulty": object()}, "difficulty"), ({"difficulty": float("nan")}, "difficulty"),
])
def test_bad_client_options_are_a_config_error_naming_them(server_url, client, options, named):
    """A caller's bad option is refused up front, naming it -- not an UnboundLocalError from the
    retry loop, httpx's 'Timeout value out of range' or json's 'not JSON serializable'."""
    with pytest.raises(ConfigError, match=named):
        client("games/Wordle-v0", server=server_url, **options)
