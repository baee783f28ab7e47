"""A step answer that is not an agentgym server's (fields missing, a PNG that does not decode,
a reward that is no number) is an error observation naming it, as every server failure is,
not a KeyError out of ``step`` (glue: the transport is stubbed, the decoding is real)."""

from __future__ import annotations

import pytest

from agentgym.remote.client import RemoteEnv
from remote_echo import ECHO_ID


@pytest.mark.parametrize("answer", [{}, {"observation": "x", "reward": "much", "terminated": False,
                                         "truncated": False, "info": {}},
                                    {"observation": {"text": "x", "image": {"$png": "not base64!"}}, "reward": 0,
                                     "terminated": False, "truncated": False, "info": {}}])
def test_a_malformed_step_answer_is_an_error_observation(server_url, answer):
    env = RemoteEnv(ECHO_ID, server=server_url)
    try:
        env.reset(seed=0)
        real_request = env._request
        env._request = lambda method, path, body=None: answer if path.endswith("/step") else real_request(method, path, body)
        observation, reward, terminated, truncated, info = env.step("hello")
        assert observation.startswith("Environment server error: the server's answer to step is malformed")
        assert (reward, terminated, truncated, info["remote_error"]) == (0.0, False, True, "server")
    finally:
        env.close()
