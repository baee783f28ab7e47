"""A random agent: the baseline every other agent must beat."""

from __future__ import annotations

import random
from typing import Any, Sequence

import gymnasium as gym

from agentgym.core import is_int
from agentgym.policies.base import Generation, Policy, Request, SamplingParams


class RandomAgent:
    """Plays ``env.unwrapped.random_action`` — a random, usually legal move — from its own RNG.

    Args:
        seed: seeds the agent's generator, an integer (a NumPy one too) or ``None``; the same
            seed on the same episode replays it.

    Raises:
        ValueError: ``seed`` is not an integer (``"7"`` would seed another game than ``7``).
    """

    name = "random"

    def __init__(self, seed: int | None = None) -> None:
        self.rng = random.Random(checked_seed("RandomAgent", seed))

    def __call__(self, env: gym.Env, observation: Any) -> str:
        return env.unwrapped.random_action(self.rng)


class RandomPolicy(Policy):
    """The random agent behind the :class:`~agentgym.policies.base.Policy` interface: it plays
    the environment's ``random_action`` hint (``Request.hints``), drawn in the environment's
    thread with a generator seeded from ``seed``, the task, the rollout and the turn — so a
    seeded rollout replays whichever episodes share its batches."""

    env_hints = ("random_action",)
    batch_invariant = True

    def __init__(self, seed: int | None = None) -> None:
        self.hint_seed = checked_seed("RandomPolicy", seed)
        self.name = "random" if seed is None else f"random:{self.hint_seed}"

    async def agenerate(self, requests: Sequence[Request], sampling: SamplingParams) -> list[Generation]:
        return [play_hint(self.name, "random_action", request) for request in requests]


def checked_seed(owner: str, seed: Any) -> int | None:
    """``seed`` as a plain ``int`` (or ``None``); anything but an integer is a ``ValueError``."""
    if seed is not None and not is_int(seed):
        raise ValueError(f"{owner}: seed must be an integer or None, got {seed!r}")
    return None if seed is None else int(seed)


def play_hint(policy: str, hint: str, request: Request) -> Generation:
    """The generation playing ``request.hints[hint]``, or an error generation saying why there
    is none (the environment could not give it, gave something other than an action's text,
    e.g. ``7`` or ``None``, or the request came without hints)."""
    hints = request.hints or {}
    action = hints.get(hint)
    if isinstance(action, str):
        return Generation(action)
    if hint in hints:
        return Generation("", finish_reason="error",
                          error=f"{policy}: the environment's {hint!r} hint is {type(action).__name__} "
                                f"({action!r:.80}), not the text of an action")
    reason = (hints.get("errors") or {}).get(hint)
    if reason is None:
        reason = (f"{policy} needs the environment's {hint!r} hint in Request.hints "
                  f"(the rollout engine asks for it; got {'no hints' if request.hints is None else sorted(hints)})")
    return Generation("", finish_reason="error", error=str(reason))
