"""Playing one episode with an agent that sees the environment.

The agents here act through ``act(env, observation) -> action``: scripted oracles, random
agents and people at a terminal need the environment itself, not just the conversation.
(Language-model policies, which see only messages, go through the rollout engine.)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import gymnasium as gym


class EnvAgent(Protocol):
    """Anything that picks the next action from the environment and its last observation."""

    def __call__(self, env: gym.Env, observation: Any) -> str: ...


@dataclass
class Episode:
    """The transcript of one episode."""

    observations: list[Any]
    actions: list[str] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    infos: list[dict[str, Any]] = field(default_factory=list)
    terminated: bool = False
    truncated: bool = False
    seconds: float = 0.0

    @property
    def success(self) -> bool:
        return bool(self.infos[-1].get("success", False)) if self.actions else False

    @property
    def total_return(self) -> float:
        return float(sum(self.rewards))

    @property
    def turns(self) -> int:
        return len(self.actions)

    @property
    def invalid_actions(self) -> int:
        return sum(info.get("error") is not None for info in self.infos[1:])


def run_episode(
    env: gym.Env,
    act: EnvAgent | Callable[[gym.Env, Any], str],
    *,
    seed: int | None = None,
    options: dict[str, Any] | None = None,
    max_steps: int = 10_000,
) -> Episode:
    """Reset ``env`` and play until it terminates, truncates, or ``max_steps`` actions pass."""
    start = time.perf_counter()
    observation, info = env.reset(seed=seed, options=options)
    episode = Episode([observation], infos=[info])
    for _ in range(max_steps):
        action = act(env, observation)
        observation, reward, terminated, truncated, info = env.step(action)
        episode.actions.append(action)
        episode.observations.append(observation)
        episode.rewards.append(float(reward))
        episode.infos.append(info)
        if terminated or truncated:
            episode.terminated, episode.truncated = bool(terminated), bool(truncated)
            break
    episode.seconds = time.perf_counter() - start
    return episode
