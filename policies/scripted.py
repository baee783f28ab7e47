"""Scripted agents: an environment's oracle, or a fixed list of actions."""

from __future__ import annotations

from typing import Any, Iterable

import gymnasium as gym


class OracleAgent:
    """Plays ``env.unwrapped.oracle_action()``: the environment's own solver, an upper bound."""

    name = "oracle"

    def __call__(self, env: gym.Env, observation: Any) -> str:
        return env.unwrapped.oracle_action()


class ScriptedAgent:
    """Plays the given actions in order, then keeps repeating ``then`` (default: empty)."""

    name = "scripted"

    def __init__(self, actions: Iterable[str], then: str = "") -> None:
        self._actions = iter(list(actions))
        self._then = then

    def __call__(self, env: gym.Env, observation: Any) -> str:
        return next(self._actions, self._then)
