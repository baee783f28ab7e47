"""The curriculum: propose tasks whose outcome the current agent is least sure of.

:class:`TaskGenerator` keeps, per task, the outcomes of the episodes played on it (fed in
groups: ``observe(trajectories)`` after each rollout, keyed by ``Trajectory.task_id``, which a
:class:`~agentgym.synthetic.env.SyntheticEnv` sets to the task's :attr:`CurriculumTask.key`) and
measures how uncertain they are::

    H(task) = - sum_b p_b log2 p_b

over the bins ``b`` of the outcome: with ``measure="success"`` (default) the two bins failed /
succeeded (the binary success entropy, 1 bit when half the group succeeds, 0 when all or
none do); with ``measure="return"`` the episode return binned at ``bins`` (edges, ascending).
A task needs ``min_episodes`` outcomes before it is measured.

:meth:`TaskGenerator.update` then builds the **pool** the environment draws from, in order:

1. the tasks with ``H >= min_entropy``, most uncertain first (ties by key), at most
   ``pool_size - explore`` of them;
2. ``variations`` variations of each of them (as room allows). What a variation is depends on
   the task:

   * with a ``rewriter`` policy, a **text variation**: the policy rewrites the task's first
     observation into a different task of the same kind (same rules, other details). Only an
     experience model can play it, as the real environment cannot: the environment is reset
     on the parent's seed (instructions, tools), the rewritten text replaces the first
     observation, and the parent's hidden answer is not shown to the experience model;
   * otherwise, or when rewriting fails, a **seed variation** (the "seed neighbourhood" of a
     generated environment): the same generator settings with a seed derived from the
     parent's, ``(parent_seed * 1_000_003 + generation * 101 + j) mod span`` (or the next
     seed up, wrapping, when that one's task is the parent or already in the pool). A generated
     environment's seeds carry no distance, so a sibling is another draw of the same
     generator: variations give the curriculum more tasks like the ones at the frontier
     without replaying the same one;
3. fresh seeds from ``seeds`` (drawn with the generator's own seeded ``random.Random``) up to
   ``pool_size``; at least ``explore`` of them, so new tasks keep being measured.

:meth:`task_for` maps an episode's seed to a pool entry (``seed mod pool size``), so the
episodes of one GRPO group (one seed) play one task while the pool stays unchanged. Everything
is deterministic given ``seed`` and the outcomes observed.
"""

from __future__ import annotations

import math
import random
import threading
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from agentgym.core import ConfigError, check_int, check_number
from agentgym.locked_state import PicklesWithoutLock
from agentgym.synthetic.experience import call_policy
from agentgym.trajectory import Trajectory

if TYPE_CHECKING:
    from agentgym.policies.base import Policy, SamplingParams

MEASURES = ("success", "return")
REWRITE_RULES = (
    "You write training tasks for an agent. Rewrite the task below into a different task of the "
    "same kind: keep its rules, format and difficulty, change its details (names, numbers, "
    "targets). Reply with the new task text only."
)


@dataclass(frozen=True)
class CurriculumTask:
    """One task of the pool.

    Attributes:
        key: its identity for the statistics (``"<env_id>#<seed>"``; a text variation adds
            ``"~r<n>"``); a synthetic environment reports it as ``task_id``.
        seed: the real environment's seed.
        rewrite: the rewritten first observation of a text variation (``None``: the real one).
        parent: the key of the task it varies (``None`` for a fresh one).
    """

    key: str
    seed: int
    rewrite: str | None = None
    parent: str | None = None


def outcome_entropy(values: Sequence[float], bins: Sequence[float]) -> float:
    """The entropy in bits of ``values`` binned at the edges ``bins`` (module docstring)."""
    if not values:
        return 0.0
    counts = Counter(sum(value >= edge for edge in bins) for value in values)
    total = len(values)
    return float(-sum(c / total * math.log2(c / total) for c in counts.values()))


class TaskGenerator(PicklesWithoutLock):
    """The curriculum of a synthetic environment (see the module docstring).

    Args:
        env_id: the real environment (keys start with it).
        seeds: ``(start, stop)`` or ``range(start, stop)``: fresh tasks' seeds; a pool is
            of distinct tasks whenever the range holds ``pool_size`` seeds or more.
        pool_size: tasks in the pool.
        min_entropy: bits a task needs to count as a frontier task.
        variations: variations per frontier task.
        explore: fresh tasks each pool holds at least.
        measure: ``"success"`` or ``"return"``.
        bins: the return's bin edges (``measure="return"``).
        min_episodes: outcomes a task needs before it is measured.
        rewriter: a policy that writes text variations (``None``: seed variations only).
        sampling: the rewriter's sampling (default: temperature 1, 256 tokens, no log-probs).
        timeout: seconds one rewrite may take.
        seed: seeds every draw.
    """

    def __init__(self, env_id: str, *, seeds: Sequence[int] = (0, 1_000_000), pool_size: int = 16,
                 min_entropy: float = 0.5, variations: int = 2, explore: int = 4, measure: str = "success",
                 bins: Sequence[float] = (0.5,), min_episodes: int = 2, rewriter: Policy | None = None,
                 sampling: SamplingParams | None = None, timeout: float = 120.0, seed: int = 0) -> None:
        owner = type(self).__name__
        if not isinstance(env_id, str) or not env_id:
            raise ConfigError(f"{owner}: env_id must be an environment id, got {env_id!r}")
        self.env_id = env_id
        if isinstance(seeds, range):  # every seed of it: a step would skip some
            if seeds.step != 1:
                raise ConfigError(f"{owner}: seeds must be a range with step 1 or (start, stop), got {seeds!r}")
            seeds = (seeds.start, seeds.stop)
        if (not isinstance(seeds, (tuple, list)) or len(seeds) != 2
                or any(isinstance(s, bool) or not isinstance(s, int) for s in seeds)):
            raise ConfigError(f"{owner}: seeds must be (start, stop) integers, got {seeds!r}")
        start, stop = seeds
        if not 0 <= start < stop:
            raise ConfigError(f"{owner}: seeds must satisfy 0 <= start < stop, got {seeds!r}")
        self.seeds = (start, stop)
        self.pool_size = check_int(owner, "pool_size", pool_size, minimum=1)
        self.min_entropy = check_number(owner, "min_entropy", min_entropy, minimum=0.0)
        self.variations = check_int(owner, "variations", variations, minimum=0)
        self.explore = check_int(owner, "explore", explore, minimum=0)
        if self.explore > self.pool_size:
            raise ConfigError(f"{owner}: explore ({explore}) must be at most pool_size ({pool_size})")
        if measure not in MEASURES:
            raise ConfigError(f"{owner}: measure must be one of {', '.join(MEASURES)}, got {measure!r}")
        self.measure = measure
        self.bins = tuple(check_number(owner, "bins", edge) for edge in (bins if measure == "return" else (0.5,)))
        if list(self.bins) != sorted(self.bins) or not self.bins:
            raise ConfigError(f"{owner}: bins must be ascending edges, got {bins!r}")
        self.min_episodes = check_int(owner, "min_episodes", min_episodes, minimum=1)
        self.rewriter = rewriter
        if rewriter is not None:
            from agentgym.policies.base import Policy, SamplingParams

            if not isinstance(rewriter, Policy):
                raise ConfigError(f"{owner}: rewriter must be an agentgym Policy or None, got {type(rewriter).__name__}")
            sampling = sampling or SamplingParams(max_tokens=256, temperature=1.0, logprobs=False)
        self.sampling = sampling
        self.timeout = check_number(owner, "timeout", timeout, minimum=0.001)
        self.seed = check_int(owner, "seed", seed)
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self._outcomes: dict[str, list[float]] = {}
        self._tasks: dict[str, CurriculumTask] = {}
        self._texts: dict[str, str] = {}  # key -> first observation, for rewriting
        self.generation = 0
        self._pool: tuple[CurriculumTask, ...] = ()
        self._fill([])

    # ------------------------------------------------------------------ statistics
    def observe(self, trajectories: Iterable[Trajectory]) -> int:
        """Record the outcome of each trajectory under its ``task_id``; returns how many."""
        count = 0
        for trajectory in trajectories:
            if trajectory.task_id is None or trajectory.error is not None:
                continue  # a failed episode says nothing about the task
            value = float(trajectory.success) if self.measure == "success" else trajectory.episode_return
            self.record(trajectory.task_id, [value])
            if trajectory.turns:
                with self._lock:
                    self._texts.setdefault(trajectory.task_id, trajectory.turns[0].observation)
            count += 1
        return count

    def record(self, key: str, outcomes: Sequence[float]) -> None:
        """Add outcomes (successes as 0/1, or returns) of the task ``key``."""
        values = [float(v) for v in outcomes]
        if any(not math.isfinite(v) for v in values):
            raise ConfigError(f"TaskGenerator.record: outcomes must be finite numbers, got {outcomes!r}")
        with self._lock:
            self._outcomes.setdefault(str(key), []).extend(values)

    def entropy(self, key: str) -> float | None:
        """The task's outcome entropy in bits, or ``None`` before ``min_episodes`` outcomes."""
        with self._lock:
            values = list(self._outcomes.get(str(key), ()))  # as record() stores it
        return outcome_entropy(values, self.bins) if len(values) >= self.min_episodes else None

    def frontier(self) -> list[tuple[str, float]]:
        """The measured tasks with ``H >= min_entropy``, most uncertain first (ties by key)."""
        with self._lock:
            keys = list(self._outcomes)
        measured = [(key, self.entropy(key)) for key in keys]
        found = [(key, h) for key, h in measured if h is not None and h >= self.min_entropy]
        return sorted(found, key=lambda item: (-item[1], item[0]))

    # ------------------------------------------------------------------ the pool
    @property
    def pool(self) -> tuple[CurriculumTask, ...]:
        return self._pool

    def task_for(self, seed: int) -> CurriculumTask:
        """The pool's task for an episode seed (``seed mod pool size``)."""
        pool = self._pool
        return pool[int(seed) % len(pool)]

    def remember(self, task: CurriculumTask, first_observation: str) -> None:
        """Note a task's first observation (what a rewrite starts from); the environment calls it."""
        with self._lock:
            self._texts.setdefault(task.key, first_observation)

    def update(self) -> tuple[CurriculumTask, ...]:
        """Rebuild the pool from the outcomes so far (module docstring) and return it."""
        self.generation += 1
        frontier = self.frontier()[: self.pool_size - self.explore]
        chosen: list[CurriculumTask] = []
        for key, _ in frontier:
            task = self._tasks.get(key) or self._task_of_key(key)
            if task is not None:
                chosen.append(task)
        varied: list[CurriculumTask] = []
        taken = {task.key for task in chosen}
        for task in chosen:
            for j in range(self.variations):
                if len(chosen) + len(varied) >= self.pool_size - self.explore:
                    break
                varied.append(self._vary(task, j, taken))
                taken.add(varied[-1].key)
        self._fill(chosen + varied)
        return self._pool

    def _fill(self, tasks: list[CurriculumTask]) -> None:
        start, stop = self.seeds
        taken = {task.key for task in tasks}
        while len(tasks) < self.pool_size:
            seed = self._rng.randrange(start, stop)
            task = CurriculumTask(f"{self.env_id}#{seed}", seed)
            if task.key in taken and stop - start >= self.pool_size:  # room for every task once
                continue
            taken.add(task.key)
            tasks.append(task)
        for task in tasks:
            self._tasks.setdefault(task.key, task)
        self._pool = tuple(tasks)

    def _task_of_key(self, key: str) -> CurriculumTask | None:
        """A task named by a key this generator did not make (``"<env_id>#<seed>"``)."""
        prefix = f"{self.env_id}#"
        if key.startswith(prefix) and key[len(prefix):].isdigit():
            return CurriculumTask(key, int(key[len(prefix):]))
        return None

    def _vary(self, task: CurriculumTask, j: int, taken: set[str]) -> CurriculumTask:
        """Variation ``j`` of ``task`` (module docstring); a seed variation skips the keys in
        ``taken`` (the frontier and the variations so far) while the seed range has others."""
        if self.rewriter is not None:
            text = task.rewrite or self._texts.get(task.key)
            if text:
                rewrite = self._rewrite(text, j)
                if rewrite:
                    return CurriculumTask(f"{task.key}~r{self.generation}.{j}", task.seed, rewrite, task.key)
        start, stop = self.seeds
        span = stop - start
        offset = (task.seed * 1_000_003 + self.generation * 101 + j) % span
        for _ in range(min(span, len(taken) + 1)):  # the next seed up, wrapping, if that task is taken
            if f"{self.env_id}#{start + offset}" not in taken:
                break
            offset = (offset + 1) % span
        return CurriculumTask(f"{self.env_id}#{start + offset}", start + offset, None, task.key)

    def _rewrite(self, text: str, j: int) -> str | None:
        from agentgym.policies.base import Request

        request = Request([{"role": "system", "content": REWRITE_RULES},
                           {"role": "user", "content": f"Task:\n{text}"}],
                          seed=(self.seed * 1_000_003 + self.generation * 101 + j) % (2**31 - 1))
        generations, failure = call_policy(self.rewriter, request, self.sampling, self.timeout)
        if failure is not None or getattr(generations[0], "error", None):
            return None
        rewrite = getattr(generations[0], "text", "")
        rewrite = rewrite.strip() if isinstance(rewrite, str) else ""
        return rewrite[:4_000] or None

    def state(self) -> dict[str, Any]:
        """The statistics and the pool, JSON-ready (for logs)."""
        return {"generation": self.generation,
                "pool": [task.key for task in self._pool],
                "frontier": [[key, round(h, 4)] for key, h in self.frontier()]}
