"""Benchmark metrics over trajectories: pure functions, no I/O.

Every metric takes the trajectories of one suite entry (or of a whole run, for the overall row)
and counts *every* episode: an episode cut short by an error (a timeout, an environment that
raised, a policy that failed) is a failure, and is also counted in ``errors``.

Success rate and its confidence interval
    ``p = c / n`` for ``c`` successes in ``n`` episodes, with the 95% **Wilson score interval**

        centre    = (p + z²/2n) / (1 + z²/n)
        half-width = z / (1 + z²/n) · sqrt(p(1-p)/n + z²/4n²)        (z = 1.959964)

    Unlike the normal ("Wald") interval ``p ± z·sqrt(p(1-p)/n)`` it stays inside [0, 1] and does
    not collapse to a single point when ``c = 0`` or ``c = n`` — the usual case for small
    benchmark samples.

pass@k and avg@k (per task, then averaged over tasks)
    A task is played ``n`` times (the rollout group: same environment, same seed); ``c`` of
    those rollouts succeed. pass@k is the chance that at least one of ``k`` rollouts drawn
    without replacement from the ``n`` succeeds, estimated without bias as

        pass@k = 1 - C(n-c, k) / C(n, k)        (needs n >= k; 1 when n - c < k)

    avg@k is the mean success over the task's rollouts, ``c / n``: the expected success of one
    rollout, averaged over the ``k`` tries. With the same number of rollouts for every task it
    equals the success rate; it differs when tasks were played a different number of times.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass
from typing import Any, Callable, Hashable, Iterable

from agentgym.trajectory import Trajectory

Z_95 = 1.959963984540054  # the standard normal's 97.5% quantile: a two-sided 95% interval


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (see the module docstring).

    ``(0.0, 1.0)`` when there are no trials: nothing is known.
    """
    if not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials, got {successes} of {trials}")
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    z2 = z * z
    denominator = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half_width = z / denominator * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    # At c = 0 (c = n) the lower (upper) bound is exactly 0 (1); floating point misses it by an ulp.
    low = 0.0 if successes == 0 else max(0.0, centre - half_width)
    high = 1.0 if successes == trials else min(1.0, centre + half_width)
    return low, high


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k of one task with ``c`` successes out of ``n`` rollouts."""
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got c={c}, n={n}")
    if not 1 <= k <= n:
        raise ValueError(f"pass@k needs 1 <= k <= n rollouts, got k={k}, n={n}")
    if n - c < k:  # every draw of k rollouts holds a success
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def task_key(trajectory: Trajectory) -> Hashable:
    """Which task a trajectory played: its rollout group, else its environment, seed and task."""
    if trajectory.group_id is not None:
        return ("group", trajectory.group_id)
    return ("task", trajectory.env_id, trajectory.seed, trajectory.task_id)


def task_outcomes(trajectories: Iterable[Trajectory]) -> list[tuple[int, int]]:
    """``(n, c)`` per task: rollouts played and rollouts that succeeded, in first-seen order."""
    outcomes: dict[Hashable, list[int]] = {}
    for trajectory in trajectories:
        counts = outcomes.setdefault(task_key(trajectory), [0, 0])
        counts[0] += 1
        counts[1] += bool(trajectory.success)
    return [(n, c) for n, c in outcomes.values()]


def mean_pass_at_k(trajectories: Iterable[Trajectory], k: int) -> float | None:
    """pass@k averaged over tasks; ``None`` when a task has fewer than ``k`` rollouts (or none)."""
    outcomes = task_outcomes(trajectories)
    if not outcomes or any(n < k for n, _ in outcomes):
        return None
    return statistics.fmean(pass_at_k(n, c, k) for n, c in outcomes)


def avg_at_k(trajectories: Iterable[Trajectory]) -> float | None:
    """Mean over tasks of the task's mean success over its rollouts; ``None`` without tasks."""
    outcomes = task_outcomes(trajectories)
    return statistics.fmean(c / n for n, c in outcomes) if outcomes else None


def mean_and_stderr(values: list[float]) -> tuple[float | None, float | None]:
    """The mean and its standard error ``s / sqrt(n)`` (``s`` the sample standard deviation,
    ``n - 1`` in its denominator); ``None`` where undefined (no values; one value for the error;
    both when a value is not a finite number: a NaN or infinite reward, which a trajectory can
    hold, leaves no mean to show, and would be written to ``results.json`` as a token JSON does
    not have); so is one that overflows (returns near the largest float: their sum, or the
    squares of their deviations, are not finite numbers)."""
    if not values or not all(math.isfinite(value) for value in values):
        return None, None
    try:
        mean = statistics.fmean(values)
    except OverflowError:  # fsum's intermediate sum left the floats
        return None, None
    if len(values) < 2:
        return mean, None
    try:
        return mean, statistics.stdev(values) / math.sqrt(len(values))
    except OverflowError:
        return mean, None


def invalid_action_rate(trajectories: Iterable[Trajectory]) -> float | None:
    """Turns whose action was invalid (``Turn.error`` set) over all turns; ``None`` with no turns."""
    turns = [turn for trajectory in trajectories for turn in trajectory.turns]
    return sum(turn.error is not None for turn in turns) / len(turns) if turns else None


def mean_generated_tokens(trajectories: list[Trajectory]) -> float | None:
    """Tokens the policy generated per episode; ``None`` when no episode recorded tokens (a
    text-only policy such as the oracle, or a hosted API without token ids)."""
    if not any(trajectory.token_ids is not None for trajectory in trajectories):
        return None
    return statistics.fmean(trajectory.generated_tokens for trajectory in trajectories)


def episode_seconds(trajectory: Trajectory) -> float:
    """Time spent in the episode: its environment steps plus the policy's generations."""
    return sum(turn.seconds + turn.generation_seconds for turn in trajectory.turns)


@dataclass(frozen=True)
class Metrics:
    """The summary of a set of episodes (one suite entry, or the whole run).

    ``None`` marks a value that is undefined for these episodes (see the functions above).
    ``mean_seconds`` is the mean :func:`episode_seconds`; episodes run concurrently, so their
    sum exceeds the run's wall-clock time (in the rollout statistics).
    """

    label: str
    episodes: int
    tasks: int
    successes: int
    success_rate: float | None
    success_ci: tuple[float, float]
    mean_return: float | None
    return_stderr: float | None
    k: int
    pass_at_k: float | None
    avg_at_k: float | None
    mean_turns: float | None
    mean_generated_tokens: float | None
    invalid_rate: float | None
    errors: int
    mean_seconds: float | None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["success_ci"] = list(self.success_ci)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Metrics:
        """The row :meth:`to_dict` wrote; a ``TypeError`` naming the field if one is missing,
        unknown or not of its type (a label that is no text, a count that is no integer, a
        rate that is no number: a damaged ``results.json``)."""
        if not isinstance(data, dict):
            raise TypeError(f"a metrics row is {type(data).__name__}, not an object")
        for name, value in data.items():
            if name in _COUNT_FIELDS and not (isinstance(value, int) and not isinstance(value, bool)):
                raise TypeError(f"metrics field {name!r} must be an integer, got {value!r:.80}")
            if name in _NUMBER_FIELDS and value is not None and not _is_number(value):
                raise TypeError(f"metrics field {name!r} must be a number or null, got {value!r:.80}")
        if not isinstance(data.get("label"), str):
            raise TypeError(f"metrics field 'label' must be text, got {data.get('label')!r:.80}")
        interval = data.get("success_ci")
        if not (isinstance(interval, (list, tuple)) and len(interval) == 2 and all(map(_is_number, interval))):
            raise TypeError(f"metrics field 'success_ci' must be two numbers, got {interval!r:.80}")
        return cls(**{**data, "success_ci": tuple(interval)})


#: The fields of :class:`Metrics` that count (integers) and those that measure (numbers or ``None``).
_COUNT_FIELDS = ("episodes", "tasks", "successes", "k", "errors")
_NUMBER_FIELDS = ("success_rate", "mean_return", "return_stderr", "pass_at_k", "avg_at_k", "mean_turns",
                  "mean_generated_tokens", "invalid_rate", "mean_seconds")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def summarize(trajectories: list[Trajectory], label: str, k: int | None = None) -> Metrics:
    """Every metric of the module over ``trajectories``.

    ``k`` defaults to the fewest rollouts any task had, so pass@k is always defined.
    """
    outcomes = task_outcomes(trajectories)
    if k is None:
        k = min((n for n, _ in outcomes), default=1)
    successes = sum(bool(t.success) for t in trajectories)
    mean_return, return_stderr = mean_and_stderr([t.episode_return for t in trajectories])
    return Metrics(
        label=label,
        episodes=len(trajectories),
        tasks=len(outcomes),
        successes=successes,
        success_rate=successes / len(trajectories) if trajectories else None,
        success_ci=wilson_interval(successes, len(trajectories)),
        mean_return=mean_return,
        return_stderr=return_stderr,
        k=k,
        pass_at_k=mean_pass_at_k(trajectories, k),
        avg_at_k=avg_at_k(trajectories),
        mean_turns=statistics.fmean(len(t.turns) for t in trajectories) if trajectories else None,
        mean_generated_tokens=mean_generated_tokens(trajectories),
        invalid_rate=invalid_action_rate(trajectories),
        errors=sum(t.error is not None for t in trajectories),
        mean_seconds=statistics.fmean(episode_seconds(t) for t in trajectories) if trajectories else None,
    )


def group_by(trajectories: Iterable[Trajectory], key: Callable[[Trajectory], str]) -> dict[str, list[Trajectory]]:
    """Trajectories grouped by ``key`` (e.g. the suite entry's label), in first-seen order."""
    groups: dict[str, list[Trajectory]] = {}
    for trajectory in trajectories:
        groups.setdefault(key(trajectory), []).append(trajectory)
    return groups


@dataclass(frozen=True)
class FailureSummary:
    """The episodes cut short by an error (counted as failures), and the first cause.

    ``first_error`` is the error of the failed episode that started first (its ``created_at``,
    the first given of those that started together; its first :data:`MAX_ERROR_CHARS`
    characters when longer): the same episode whatever the order the episodes are given in
    (an evaluation's, by task; ``trajectories.jsonl``'s, by end) and the report's ``first error``
    sample;
    ``first_error_episodes`` counts the episodes whose error is exactly the same text,
    ``causes`` the distinct error texts.
    """

    failed: int
    episodes: int
    first_error: str
    first_error_episodes: int
    causes: int

    @property
    def all_failed(self) -> bool:
        return self.failed == self.episodes

    def describe(self) -> str:
        """One sentence for the terminal, e.g. ``every episode failed (4 of 4); first error
        (shared by all of them): policy error: ...``, or ``1 of 12 episodes failed: ...``."""
        head = (f"every episode failed ({self.failed} of {self.episodes})" if self.all_failed
                else f"{self.failed} of {self.episodes} episodes failed")
        if self.failed == 1:  # "shared by all of them" would be one episode's error
            return f"{head}: {self.first_error}"
        shared = ("shared by all of them" if self.first_error_episodes == self.failed
                  else f"shared by {self.first_error_episodes} of them; {self.causes} different errors in all")
        return f"{head}; first error ({shared}): {self.first_error}"


def failure_summary(trajectories: Iterable[Trajectory]) -> FailureSummary | None:
    """How many episodes ended with an error and the first error's text (see
    :class:`FailureSummary`); ``None`` if none did."""
    trajectories = list(trajectories)
    failed = [t for t in trajectories if t.error is not None]
    if not failed:
        return None
    errors = [t.error for t in failed]
    first = min(failed, key=lambda t: t.created_at).error  # min keeps the first given of equals
    return FailureSummary(failed=len(errors), episodes=len(trajectories), first_error=_shown_error(first),
                          first_error_episodes=errors.count(first), causes=len(set(errors)))


#: The most of an error a summary quotes (the terminal's warning line, the reports): a policy's
#: or an environment's exception may carry a whole page.
MAX_ERROR_CHARS = 1000


def _shown_error(error: str) -> str:
    """``error``, or its first :data:`MAX_ERROR_CHARS` characters and how long it was (the
    trajectory keeps the whole text)."""
    if len(error) <= MAX_ERROR_CHARS:
        return error
    return f"{error[:MAX_ERROR_CHARS]}… ({len(error):,} characters; the trajectory holds them all)"
