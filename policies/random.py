"""A random agent: the baseline every other agent must beat."""

from __future__ import annotations

import random
from typing import Any, Sequence

import gymnasium as gym

from agentgym.policies.base import Generation, Policy, Request, SamplingParams


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


class RandomPolicy(Policy):
    """The random agent behind the :class:`~agentgym.policies.base.Policy` interface: it needs
    the environment (``Request.env``) and returns text only."""

    def __init__(self, seed: int | None = None) -> None:
        self.agent = RandomAgent(seed)
        self.name = "random" if seed is None else f"random:{seed}"

    async def agenerate(self, requests: Sequence[Request], sampling: SamplingParams) -> list[Generation]:
        return [_act(self.agent, request) for request in requests]


def _act(agent: Any, request: Request) -> Generation:
    """Run an environment-aware agent on a request (an error generation if it has no env)."""
    if request.env is None:
        return Generation("", finish_reason="error", error=f"{agent.name} needs the environment (Request.env)")
    try:
        return Generation(agent(request.env, None))
    except Exception as exc:  # noqa: BLE001 - reported as this request's error
        return Generation("", finish_reason="error", error=f"{type(exc).__name__}: {exc}")
