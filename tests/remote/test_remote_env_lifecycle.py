"""``RemoteEnv`` after ``close()``: closing twice is a no-op, a step answers the error
observation, and ``reset`` opens a new session -- as a local environment resets after
``close`` and as ``AsyncRemoteEnv.areset`` does after ``aclose``."""

import httpx

from agentgym.remote import RemoteEnv


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
