"""An environment that echoes each action (``echo <action>``), registered as :data:`ECHO_ID`
for the remote tests that need any environment behind a server."""

import agentgym
from agentgym.registry import is_registered
from agentgym import Feedback, LLMEnv

ECHO_ID = "test/RemoteEcho-v0"


class Echo(LLMEnv):
    instructions = "say anything"

    def new_episode(self, options):
        return "ready"

    def play(self, action):
        return Feedback(f"echo {action}")


if not is_registered(ECHO_ID):
    agentgym.register(ECHO_ID, Echo, max_turns=None)
