"""An environment whose process is killed mid-episode, importable by a child process without
torch (it is rebuilt there for each episode under ``[env] runtime = "process"``)."""

from __future__ import annotations

import os
import signal

import agentgym
from agentgym.core import Feedback, LLMEnv

DYING_ID = "testworld/DyingWorld-v0"


class DyingWorld(LLMEnv):
    """Name the word ``red``; at the first action of every episode whose seed is a multiple of 3
    the environment's process kills itself (SIGKILL)."""

    family = "testworld"
    instructions = "find the secret word : red green or blue"

    def new_episode(self, options):
        return "guess"

    def reset(self, *, seed=None, options=None):
        self.dies = seed is not None and seed % 3 == 0
        return super().reset(seed=seed, options=options)

    def play(self, action: str) -> Feedback:
        if self.dies:
            os.kill(os.getpid(), signal.SIGKILL)
        found = "red" in action.split()
        return Feedback("yes" if found else "no", {"outcome": float(found)}, terminated=found, success=found)


agentgym.register(DYING_ID, DyingWorld, max_turns=2, description="an environment whose process dies (tests)")
