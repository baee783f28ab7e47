"""A step answer that is not an agentgym server's (fields missing, a PNG that does not decode,
a reward that is no number) is an error observation naming it, as every server failure is,
not a KeyError out of ``step`` (glue: the transport is stubbed, the decoding is real)."""

from __future__ import annotations

import pytest

import agentgym
from agentgym import Feedback, LLMEnv
from agentgym.remote.client import RemoteEnv


class Echo(LLMEnv):
    instructions = "say anything"

    def new_episode(self, options):
        return "ready"

    def play(self, action):
        return Feedback(f"echo {action}")


agentgym.register("test/MalformedAnswerEcho-v0", Echo, max_turns=None)


@pytest.mark.parametrize("answer", [{}, {"observation": "x", "reward": "much", "terminated": False,
                                         "truncated": False, "info": {}},
                                    {"observation": {"text": "x", "image": {"$png": "not base64!"}}, "reward": 0,
                                     "terminated": False, "truncated": False, "info": {}}])
def test_a_malformed_step_answer_is_an_error_observation(server_url, answer):
    env = RemoteEnv("test/MalformedAnswerEcho-v0", server=server_url)
    try:
        env.reset(seed=0)
        real_request = env._request
        env._request = lambda method, path, body=None: answer if path.endswith("/step") else real_request(method, path, body)
        observation, reward, terminated, truncated, info = env.step("hello")
        assert observation.startswith("Environment server error: the server's answer to step is malformed")
        assert (reward, terminated, truncated, info["remote_error"]) == (0.0, False, True, "server")
    finally:
        env.close()
