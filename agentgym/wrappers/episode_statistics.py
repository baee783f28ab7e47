"""Summarise each episode in ``info["episode"]`` when it ends."""

from __future__ import annotations

import time
from typing import Any

import gymnasium as gym


class EpisodeStatistics(gym.Wrapper):
    """Add ``info["episode"]`` on the step that ends an episode (terminated or truncated).

    The summary holds ``return`` (sum of rewards), ``turns``, ``success`` (from the last
    step's ``info``), ``invalid_actions`` (steps whose ``info["error"]`` was set),
    ``tool_calls`` (sum of ``info["tool_calls"]`` where a tool wrapper reports them) and
    ``seconds`` (wall time since ``reset``).
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self._begin_episode()

    def _begin_episode(self) -> None:
        self._return = 0.0
        self._turns = 0
        self._invalid = 0
        self._tool_calls = 0
        self._start = time.perf_counter()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        observation, info = self.env.reset(seed=seed, options=options)
        self._begin_episode()
        return observation, info

    def step(self, action: Any):
        result = self.env.step(action)  # indexed, not unpacked: this runs on every step
        info = result[4]
        self._return += result[1]
        self._turns += 1
        if info.get("error") is not None:
            self._invalid += 1
        if "tool_calls" in info:
            self._tool_calls += info["tool_calls"]
        if result[2] or result[3]:
            info["episode"] = {
                "return": self._return,
                "turns": self._turns,
                "success": bool(info.get("success", False)),
                "invalid_actions": self._invalid,
                "tool_calls": self._tool_calls,
                "seconds": time.perf_counter() - self._start,
            }
        return result
