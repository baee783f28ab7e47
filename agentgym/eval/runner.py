"""Evaluate an environment-aware agent on a suite: one episode per (environment, seed)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any, Callable

import gymnasium as gym
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

import agentgym
from agentgym.episode import Episode, run_episode
from agentgym.suites import Suite, SuiteEntry, get_suite


@dataclass
class EnvResult:
    """The episodes an agent played on one suite entry, and their summary statistics."""

    entry: SuiteEntry
    episodes: list[Episode] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.entry.label

    @property
    def success_rate(self) -> float:
        return statistics.fmean(e.success for e in self.episodes)

    @property
    def mean_return(self) -> float:
        return statistics.fmean(e.total_return for e in self.episodes)

    @property
    def mean_turns(self) -> float:
        return statistics.fmean(e.turns for e in self.episodes)

    @property
    def invalid_rate(self) -> float:
        turns = sum(e.turns for e in self.episodes)
        return sum(e.invalid_actions for e in self.episodes) / turns if turns else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "env": self.label,
            "episodes": len(self.episodes),
            "success_rate": self.success_rate,
            "mean_return": self.mean_return,
            "mean_turns": self.mean_turns,
            "invalid_rate": self.invalid_rate,
        }


def evaluate(
    suite: Suite | str,
    agent: Callable[[gym.Env, Any], str],
    *,
    tasks: int | None = None,
    progress: bool = True,
) -> list[EnvResult]:
    """Play ``agent`` on every entry of ``suite`` (its first ``tasks`` seeds if given).

    Environments are made with :func:`agentgym.make`, so each episode ends at the registered
    turn budget at the latest. A live progress bar shows the running success rate.
    """
    suite = get_suite(suite) if isinstance(suite, str) else suite
    if tasks is not None and tasks < 1:
        raise ValueError(f"tasks must be a positive number, got {tasks}")
    plan = [(entry, entry.seeds[:tasks] if tasks else entry.seeds) for entry in suite.entries]
    results = [EnvResult(entry) for entry, _ in plan]
    total = sum(len(seeds) for _, seeds in plan)
    wins = played = 0
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("success {task.fields[rate]:.0%}"), TimeElapsedColumn(),
        disable=not progress, transient=True,
    ) as bar:
        task = bar.add_task(suite.name, total=total, rate=0.0)
        for result, (entry, seeds) in zip(results, plan):
            env = agentgym.make(entry.env_id, **entry.kwargs)
            try:
                for seed in seeds:
                    episode = run_episode(env, agent, seed=seed)
                    result.episodes.append(episode)
                    played += 1
                    wins += episode.success
                    bar.update(task, advance=1, rate=wins / played,
                               description=f"{suite.name} {entry.label}")
            finally:
                env.close()
    return results
