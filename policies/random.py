"""A random agent: the baseline every other agent must beat."""

from __future__ import annotations

import random
from typing import Any

import gymnasium as gym


class RandomAgent:
    """Plays ``env.unwrapped.random_action`` — a random, usually legal move — from its own RNG.

    Args:
        seed: seeds the agent's generator; the same seed on the same episode replays it.
    """

    name = "random"

    def __init__(self, seed: int | None = None) -> None:
        self.rng = random.Random(seed)

    def __call__(self, env: gym.Env, observation: Any) -> str:
        return env.unwrapped.random_action(self.rng)
