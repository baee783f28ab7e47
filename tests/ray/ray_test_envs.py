"""Environments and helpers the Ray tests share (sent to Ray's workers by value)."""

from __future__ import annotations

import os
import time
from typing import Any

from agentgym import Feedback, LLMEnv


class EnvBroke(ValueError):
    """What ``ScriptedEnv`` raises on the action ``"raise"``."""


class ScriptedEnv(LLMEnv):
    """Each action says what to do: ``"crash"`` kills the process, ``"hang"`` sleeps
    ``hang_s`` seconds (creating the file ``hang_marker`` first, if given, so a test knows the
    call is running), ``"raise"`` raises :class:`EnvBroke`; anything else counts a turn.
    The class counts, per process, the instances built and closed (until its class is sent to
    the process again: unpickling a class sent by value resets its attributes); ``events``, a
    file path, gets a line ``built`` or ``closed`` for each, whatever the process."""

    built = 0
    closed = 0

    def __init__(self, hang_s: float = 30.0, hang_marker: str | None = None, events: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hang_s = hang_s
        self.hang_marker = hang_marker
        self.events = events
        type(self).built += 1
        self._log("built")

    def _log(self, event: str) -> None:
        if self.events is not None:
            with open(self.events, "a") as log:
                log.write(event + "\n")

    def new_episode(self, options: dict[str, Any]) -> str:
        self.turn = 0
        return "ready"

    def play(self, action: str) -> Feedback:
        if action == "crash":
            os._exit(3)  # the worker's process dies mid-step
        if action == "hang":
            if self.hang_marker is not None:
                open(self.hang_marker, "w").close()
            time.sleep(self.hang_s)
        if action == "raise":
            raise EnvBroke("the environment broke on purpose")
        self.turn += 1
        return Feedback(f"turn {self.turn}", {"outcome": 0.0})

    def close(self) -> None:
        type(self).closed += 1
        self._log("closed")
        super().close()

    def pid(self) -> int:
        return os.getpid()

    def counts(self) -> tuple[int, int]:
        """``(built, closed)`` in this process."""
        return type(self).built, type(self).closed


def make_scripted_env() -> ScriptedEnv:
    return ScriptedEnv()


def make_broken_env() -> ScriptedEnv:
    raise EnvBroke("the factory broke on purpose")


def wait_until(predicate, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False
