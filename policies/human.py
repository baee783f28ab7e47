"""A person at the terminal."""

from __future__ import annotations

from typing import Any, Callable, TextIO

import gymnasium as gym


class HumanAgent:
    """Shows each observation and reads the action from a prompt.

    Args:
        read: the input function (``input`` by default; tests pass a scripted one).
        out: where observations are written.
    """

    name = "human"

    def __init__(self, read: Callable[[str], str] = input, out: TextIO | None = None) -> None:
        self._read = read
        self._out = out

    def __call__(self, env: gym.Env, observation: Any) -> str:
        text = observation["text"] if isinstance(observation, dict) else observation
        print(f"\n{text}", file=self._out)
        return self._read("> ")
