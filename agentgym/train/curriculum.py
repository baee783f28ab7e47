"""Task curricula: which tasks a training step plays, learned from what the last steps taught.

A curriculum chooses among **arms**: task distributions such as an environment's difficulty
levels (``{kwargs = {difficulty = "hard"}}``) or the environments of a suite
(``{id = "games/Wordle-v0"}``). Each step it proposes ``env.tasks_per_step`` tasks (arm, seed),
and after the step it observes the trajectories and their advantages. The learning signal of
SEC and DUMP is the **mean absolute advantage** of an arm's rollouts: tasks the policy always
solves or always fails give zero advantage (nothing to learn), tasks at the edge of its ability
give large ones.

``sec`` -- Self-Evolving Curriculum (Chen et al., 2025): a non-stationary bandit. After a step,
each arm ``j`` that was played moves its value towards its reward ``r_j`` (the mean absolute
advantage of its rollouts in that step)::

    Q_j <- alpha * r_j + (1 - alpha) * Q_j                      (TD(0), alpha = learning_rate)

and each task of the next step draws its arm from ``softmax(Q / temperature)``.

``dump`` -- Distribution-level curriculum (DUMP, Wang et al., 2025): UCB over arms on the
mean absolute advantage of an arm's last ``window`` rollouts::

    UCB_j = mean_j + c * sqrt(2 * ln(N) / n_j)                  (c = exploration)

with ``n_j`` the rollouts of arm ``j`` so far and ``N`` their total; an arm never played comes
first. Tasks are given out one by one to the arm of highest UCB, each provisionally counting
as one more play of its arm (``n_j + 1``), so a step spreads over arms of near-equal score.

``pcl`` -- Prompt Curriculum Learning (2025): among ``candidates x tasks_per_step`` random
tasks, play those whose **predicted success** is closest to ``target`` (intermediate
difficulty: the largest reward variance, ``p(1-p)``). PCL learns a value model for the
prediction; here it is an empirical-Bayes estimate, honest about what it knows: an arm's
success rate (Beta(1, 1) prior) is the prior of each of its tasks, refined by the task's own
record if that task was played before (pseudo-count ``prior_strength``)::

    p_arm  = (successes_arm + 1) / (plays_arm + 2)
    p_task = (successes_task + prior_strength * p_arm) / (plays_task + prior_strength)

Seeds are drawn without replacement within a step from ``env.train_seeds`` (so two tasks of a
step never share a seed), from a generator seeded by (run seed, step): proposals depend only on
the configuration and what was observed, and a resumed run continues them exactly
(:meth:`Curriculum.state_dict`).
"""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from agentgym.rollout import Task
from agentgym.trajectory import Trajectory


@dataclass(frozen=True)
class Arm:
    """One task distribution: an environment and its arguments."""

    env_id: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    label: str = ""

    @property
    def name(self) -> str:
        if self.label:
            return self.label
        args = ",".join(f"{k}={v}" for k, v in sorted(self.kwargs.items()))
        return f"{self.env_id}[{args}]" if args else self.env_id


class Curriculum(ABC):
    """Proposes each step's tasks and learns from the step (module docstring)."""

    def __init__(self, arms: Sequence[Arm], seeds: tuple[int, int], seed: int) -> None:
        if not arms:
            raise ValueError("a curriculum needs at least one arm")
        self.arms = list(arms)
        self.seeds = (int(seeds[0]), int(seeds[1]))
        self.seed = seed
        self.plays = np.zeros(len(self.arms))  # rollouts observed per arm
        self._proposed: dict[tuple[str, int], int] = {}  # (env id, seed) -> arm, for the step in flight

    # ------------------------------------------------------------------ interface
    def propose(self, step: int, count: int) -> list[Task]:
        """``count`` tasks for ``step`` (distinct seeds)."""
        rng = np.random.default_rng([self.seed, step, 7])
        arms = self._choose_arms(count, rng)
        seeds = rng.choice(self.seeds[1] - self.seeds[0], size=count, replace=False) + self.seeds[0]
        return self._tasks(arms, seeds)

    def observe(self, trajectories: Sequence[Trajectory], per_turn: Sequence[Sequence[float]]) -> dict[str, float]:
        """Learn from a step's trajectories and their per-turn advantages; returns metrics
        (``curriculum/<arm>/...``)."""
        rewards: dict[int, list[float]] = {}
        successes: dict[int, list[float]] = {}
        for trajectory, advantages in zip(trajectories, per_turn):
            arm = self._proposed.get((trajectory.env_id, trajectory.seed))
            if arm is None:
                continue
            rewards.setdefault(arm, []).append(float(np.mean(np.abs(advantages))) if len(advantages) else 0.0)
            successes.setdefault(arm, []).append(float(trajectory.success))
            self._observe_task(arm, trajectory)
        for arm, values in rewards.items():
            self.plays[arm] += len(values)
            self._learn(arm, values)
        return self.metrics()

    def metrics(self) -> dict[str, float]:
        out = {}
        for j, arm in enumerate(self.arms):
            out[f"curriculum/{arm.name}/plays"] = float(self.plays[j])
            out[f"curriculum/{arm.name}/score"] = float(self.score(j))
        return out

    @abstractmethod
    def score(self, arm: int) -> float:
        """What the curriculum currently believes of ``arm`` (for logs)."""

    def state_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "arms": [arm.name for arm in self.arms], "plays": self.plays.tolist()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Take a saved state; ``ValueError`` if another curriculum saved it (another kind, other
        arms: a [curriculum] changed on resume), whose statistics would not fit these arms."""
        self._check_fits(state)
        self.plays = np.asarray(state["plays"], dtype=float)

    @property
    def kind(self) -> str:
        """The ``curriculum.name`` of this curriculum (``sec``, ``dump``, ``pcl``)."""
        return next((name for name, cls in CURRICULA.items() if isinstance(self, cls)), type(self).__name__)

    def _check_fits(self, state: dict[str, Any]) -> None:
        # Checkpoints written before kind and arms were recorded: their keys and arm count.
        saved_kind = state.get("kind", self.kind if self.state_dict().keys() - {"kind", "arms"} <= state.keys()
                               else "another curriculum")
        saved_arms = state.get("arms") or [str(j) for j in range(len(state.get("plays", [])))]
        arms = [arm.name for arm in self.arms] if "arms" in state else [str(j) for j in range(len(self.arms))]
        if saved_kind != self.kind or saved_arms != arms:
            raise ValueError(f"the checkpoint's curriculum ({saved_kind} over arms {', '.join(saved_arms)}) does not "
                             f"fit this configuration's ({self.kind} over arms "
                             f"{', '.join(arm.name for arm in self.arms)}): resume with the [curriculum] it was "
                             "trained with")

    # ------------------------------------------------------------------ parts
    @abstractmethod
    def _choose_arms(self, count: int, rng: np.random.Generator) -> list[int]:
        """The arm of each of ``count`` tasks."""

    def _learn(self, arm: int, rewards: list[float]) -> None:
        """Update from the mean-absolute-advantage rewards of ``arm``'s rollouts this step."""

    def _observe_task(self, arm: int, trajectory: Trajectory) -> None:
        """Per-task bookkeeping (PCL)."""

    def _tasks(self, arms: Sequence[int], seeds: Sequence[int]) -> list[Task]:
        self._proposed = {}
        tasks = []
        for arm, seed in zip(arms, seeds):
            spec = self.arms[arm]
            tasks.append(Task(spec.env_id, int(seed), dict(spec.kwargs)))
            self._proposed[(spec.env_id, int(seed))] = arm
        return tasks


class SelfEvolvingCurriculum(Curriculum):
    """SEC: TD(0) values of mean absolute advantage, Boltzmann sampling (module docstring)."""

    def __init__(self, arms: Sequence[Arm], seeds: tuple[int, int], seed: int, *,
                 learning_rate: float = 0.5, temperature: float = 1.0) -> None:
        super().__init__(arms, seeds, seed)
        self.learning_rate, self.temperature = learning_rate, temperature
        self.values = np.zeros(len(self.arms))

    def probabilities(self) -> np.ndarray:
        logits = self.values / self.temperature
        weights = np.exp(logits - logits.max())
        return weights / weights.sum()

    def score(self, arm: int) -> float:
        return float(self.values[arm])

    def _choose_arms(self, count: int, rng: np.random.Generator) -> list[int]:
        return rng.choice(len(self.arms), size=count, p=self.probabilities()).tolist()

    def _learn(self, arm: int, rewards: list[float]) -> None:
        self.values[arm] = self.learning_rate * float(np.mean(rewards)) + (1 - self.learning_rate) * self.values[arm]

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "values": self.values.tolist()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.values = np.asarray(state["values"], dtype=float)


class DistributionUCBCurriculum(Curriculum):
    """DUMP: UCB on the windowed mean absolute advantage (module docstring)."""

    def __init__(self, arms: Sequence[Arm], seeds: tuple[int, int], seed: int, *,
                 exploration: float = 1.0, window: int = 64) -> None:
        super().__init__(arms, seeds, seed)
        self.exploration, self.window = exploration, window
        self.recent: list[deque[float]] = [deque(maxlen=window) for _ in self.arms]

    def ucb(self, plays: np.ndarray | None = None) -> np.ndarray:
        plays = self.plays if plays is None else plays
        total = plays.sum()
        means = np.array([np.mean(r) if r else 0.0 for r in self.recent])
        with np.errstate(divide="ignore", invalid="ignore"):
            bonus = self.exploration * np.sqrt(2 * math.log(max(total, 1.0)) / plays)
        return np.where(plays > 0, means + bonus, np.inf)

    def score(self, arm: int) -> float:
        return float(self.ucb()[arm])

    def _choose_arms(self, count: int, rng: np.random.Generator) -> list[int]:
        plays = self.plays.copy()
        chosen = []
        for _ in range(count):
            scores = self.ucb(plays)
            best = np.flatnonzero(scores == scores.max())
            arm = int(rng.choice(best))
            chosen.append(arm)
            plays[arm] += 1  # provisional: the next task sees this one counted
        return chosen

    def _learn(self, arm: int, rewards: list[float]) -> None:
        self.recent[arm].extend(rewards)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "recent": [list(r) for r in self.recent]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.recent = [deque(r, maxlen=self.window) for r in state["recent"]]


class PromptCurriculum(Curriculum):
    """PCL: tasks of predicted success closest to ``target`` among random candidates
    (module docstring)."""

    def __init__(self, arms: Sequence[Arm], seeds: tuple[int, int], seed: int, *,
                 candidates: int = 4, target: float = 0.5, prior_strength: float = 2.0) -> None:
        super().__init__(arms, seeds, seed)
        self.candidates, self.target, self.prior_strength = candidates, target, prior_strength
        self.arm_successes = np.zeros(len(self.arms))
        self.arm_rollouts = np.zeros(len(self.arms))
        self.task_record: dict[str, list[float]] = {}  # task key -> [successes, plays]

    def predicted_success(self, arm: int, seed: int) -> float:
        prior = (self.arm_successes[arm] + 1) / (self.arm_rollouts[arm] + 2)
        successes, plays = self.task_record.get(self._key(arm, seed), (0.0, 0.0))
        return float((successes + self.prior_strength * prior) / (plays + self.prior_strength))

    def score(self, arm: int) -> float:
        return float((self.arm_successes[arm] + 1) / (self.arm_rollouts[arm] + 2))

    def propose(self, step: int, count: int) -> list[Task]:
        rng = np.random.default_rng([self.seed, step, 7])
        pool = min(self.candidates * count, self.seeds[1] - self.seeds[0])
        arms = rng.integers(len(self.arms), size=pool)
        seeds = rng.choice(self.seeds[1] - self.seeds[0], size=pool, replace=False) + self.seeds[0]
        gaps = np.array([abs(self.predicted_success(int(a), int(s)) - self.target) for a, s in zip(arms, seeds)])
        order = np.lexsort((rng.random(pool), gaps))[:count]  # the closest to the target, ties at random
        return self._tasks([int(arms[i]) for i in order], [int(seeds[i]) for i in order])

    def _choose_arms(self, count: int, rng: np.random.Generator) -> list[int]:  # propose() is overridden
        raise NotImplementedError

    def _observe_task(self, arm: int, trajectory: Trajectory) -> None:
        self.arm_successes[arm] += trajectory.success
        self.arm_rollouts[arm] += 1
        record = self.task_record.setdefault(self._key(arm, int(trajectory.seed)), [0.0, 0.0])
        record[0] += trajectory.success
        record[1] += 1

    def _key(self, arm: int, seed: int) -> str:
        return f"{arm}:{seed}"

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "arm_successes": self.arm_successes.tolist(),
                "arm_rollouts": self.arm_rollouts.tolist(), "task_record": json.loads(json.dumps(self.task_record))}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.arm_successes = np.asarray(state["arm_successes"], dtype=float)
        self.arm_rollouts = np.asarray(state["arm_rollouts"], dtype=float)
        self.task_record = {key: list(value) for key, value in state["task_record"].items()}


CURRICULA = {"sec": SelfEvolvingCurriculum, "dump": DistributionUCBCurriculum, "pcl": PromptCurriculum}


def build_curriculum(section: Any, env: Any, seed: int) -> Curriculum | None:
    """The curriculum a ``[curriculum]`` section names (``None`` for ``name = "none"``); arms
    default to the ``[env]`` section's environment alone."""
    if section.name == "none":
        return None
    arms = [Arm(arm.get("id", env.id), {**env.kwargs, **arm.get("kwargs", {})}, arm.get("label", ""))
            for arm in section.arms] or [Arm(env.id, dict(env.kwargs))]
    seeds = (env.train_seeds[0], env.train_seeds[1])
    if section.name == "sec":
        return SelfEvolvingCurriculum(arms, seeds, seed, learning_rate=section.learning_rate,
                                      temperature=section.temperature)
    if section.name == "dump":
        return DistributionUCBCurriculum(arms, seeds, seed, exploration=section.exploration, window=section.window)
    return PromptCurriculum(arms, seeds, seed, candidates=section.candidates, target=section.target,
                            prior_strength=section.prior_strength)
