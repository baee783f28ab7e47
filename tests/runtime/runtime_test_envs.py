"""Environments for the runtime tests, importable by child processes (spawn) and Ray workers."""

from __future__ import annotations

import os
import signal
import time

import agentgym
from agentgym import Feedback, LLMEnv


class Countdown(LLMEnv):
    """Say anything; the episode ends with success after ``turns`` actions. Special actions:
    ``"hang"`` sleeps ``hang_s`` seconds, ``"die"`` kills this process with SIGKILL, ``"raise"``
    raises. ``seed`` 13 dies on its second step (a crash mid-rollout, without a policy's help)."""

    instructions = "Say anything."

    def __init__(self, turns: int = 3, hang_s: float = 60.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.turns, self.hang_s = turns, hang_s
        self.closed = False

    def new_episode(self, options):
        self.turn = 0
        self.pid = os.getpid()
        return f"start in {self.pid}"

    def play(self, action):
        self.turn += 1
        if action == "hang":
            time.sleep(self.hang_s)
        if action == "die" or (self.task_seed == 13 and self.turn == 2):
            os.kill(os.getpid(), signal.SIGKILL)
        if action == "raise":
            raise RuntimeError("the environment broke")
        done = self.turn >= self.turns
        return Feedback(f"turn {self.turn} in {os.getpid()}", {"outcome": float(done)}, terminated=done, success=done)

    @property
    def task_seed(self) -> int | None:
        return getattr(self, "_seed", None)

    def reset(self, *, seed=None, options=None):
        self._seed = seed
        return super().reset(seed=seed, options=options)

    def close(self) -> None:
        self.closed = True
        super().close()


agentgym.register("testing/Countdown-v0", Countdown, max_turns=10)
