"""Summarise each episode in ``info["episode"]`` when it ends."""

from __future__ import annotations

import time
from typing import Any

import gymnasium as gym


class EpisodeStatistics(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Add ``info["episode"]`` on the step that ends an episode (terminated or truncated).

    The summary holds ``return`` (sum of rewards), ``turns``, ``success`` (from the last
    step's ``info``), ``invalid_actions`` (steps whose ``info["error"]`` was set),
    ``tool_calls`` (``info["tool_calls_in_episode"]`` of the last step, which
    :class:`~agentgym.wrappers.ToolCalling` keeps; read once, at the end, to keep steps cheap),
    ``tools`` (ToolCalling's calls, errors and seconds by tool, when it runs inside) and
    ``seconds`` (wall time since ``reset``). Keys an inner wrapper already put in
    ``info["episode"]`` are kept. Inside a :class:`TurnLimit` the step it truncates is
    summarised too (it calls :meth:`episode_truncated`).
    """

    def __init__(self, env: gym.Env) -> None:
        gym.utils.RecordConstructorArgs.__init__(self)
        super().__init__(env)
        self._return, self._turns, self._invalid, self._start = 0.0, 0, 0, time.perf_counter()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        result = self.env.reset(seed=seed, options=options)
        self._return, self._turns, self._invalid, self._start = 0.0, 0, 0, time.perf_counter()
        return result

    def step(self, action: Any):
        result = self.env.step(action)  # indexed, not unpacked: this runs on every step
        info = result[4]
        self._return += result[1]
        self._turns += 1
        if info.get("error"):  # None, or the (non-empty) reason the action was invalid
            self._invalid += 1
        if result[2] or result[3]:
            self._summarise(info)
        return result

    def episode_truncated(self, info: dict[str, Any]) -> None:
        """Summarise the episode in ``info`` now: a :class:`TurnLimit` outside this wrapper calls
        it on the step it truncated (this wrapper saw that step as an ordinary one)."""
        self._summarise(info)

    def _summarise(self, info: dict[str, Any]) -> None:
        inner = info.get("episode")
        info["episode"] = {
            **(inner if isinstance(inner, dict) else {}),  # what inner wrappers summarised (tools)
            "return": self._return,
            "turns": self._turns,
            "success": bool(info.get("success", False)),
            "invalid_actions": self._invalid,
            "tool_calls": info.get("tool_calls_in_episode", 0),
            "seconds": time.perf_counter() - self._start,
        }
        if "tool_stats" in info:  # ToolCalling's per-tool totals, also when a TurnLimit ended the episode
            info["episode"]["tools"] = info["tool_stats"]
