"""What every credit estimator shares: the result type, grouping, returns and statistics.

An estimator turns a batch of :class:`~agentgym.trajectory.Trajectory` objects into
:class:`Advantages`: one value per turn (``per_turn``) and, for token-level trajectories, one
array per trajectory aligned with ``Trajectory.loss_mask()`` (``token_advantages``).

Turns are the recorded :class:`~agentgym.trajectory.Turn` records and their tokens the recorded
``action_span``; nothing here infers a turn from a non-zero reward or re-tokenises text.

Groups
    Rollouts of the same task and seed share a ``group_id``. :func:`group_indices` lists the
    groups in order of first appearance; a trajectory whose ``group_id`` is ``None`` is a group
    of its own.

The group-of-one rule
    A group holding a single rollout has nothing to compare with: every group-relative
    estimator gives all of its turns advantage ``0.0`` (:data:`SINGLETON_GROUP_ADVANTAGE`).
    The same holds for any smaller pool a statistic is taken over (a step group, a stratum, a
    reward channel) when it holds fewer samples than the statistic needs, and to a pool whose
    values are all equal (no spread, no signal: exactly 0, whatever ``eps``).

Rewards are checked
    Every estimator refuses, with a ``ValueError`` naming the trajectory and the turn, a
    ``reward`` or reward component that is not a finite number (:func:`check_rewards`): one NaN
    would otherwise make a whole group's advantages NaN without a word.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from agentgym.core import is_finite_number
from agentgym.trajectory import Trajectory, Turn

SINGLETON_GROUP_ADVANTAGE = 0.0
"""The advantage of every turn of a group holding one rollout (no baseline can be formed)."""

DEFAULT_EPS = 1e-6
"""Added to a standard deviation before dividing by it (a small std then gives no huge advantage).
A pool whose values are all equal gives 0 whatever the eps, 0 included (:func:`normalized`)."""


@dataclass(frozen=True)
class Advantages:
    """Per-turn and token-level advantages of a batch, in the order the trajectories came.

    Attributes:
        per_turn: ``per_turn[i][t]`` is the advantage of turn ``t`` of trajectory ``i``.
        token_advantages: for each trajectory, an array as long as its ``token_ids``: the
            advantage of the turn on each token of that turn's ``action_span``, ``0.0`` on
            prompt and observation tokens. ``None`` for text-only trajectories.
        value_targets: for value-based estimators (GAE), the critic's regression targets on the
            same token positions (``0.0`` off the loss mask); ``None`` otherwise.
        components: named parts of ``per_turn`` (e.g. GiGPO's ``"episode"`` and ``"step"``),
            same shape, for logging and tests.
    """

    per_turn: list[list[float]]
    token_advantages: list[np.ndarray | None]
    value_targets: list[np.ndarray | None] | None = None
    components: dict[str, list[list[float]]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.per_turn)

    def tokens(self, index: int) -> np.ndarray:
        """The token advantages of trajectory ``index``; raises for a text-only trajectory."""
        array = self.token_advantages[index]
        if array is None:
            raise ValueError(f"trajectory {index} is text-only: it has per-turn advantages only")
        return array

    def flat_turns(self) -> np.ndarray:
        """Every turn's advantage, trajectory after trajectory, as one array."""
        return np.array([value for turns in self.per_turn for value in turns], dtype=np.float64)

    @classmethod
    def broadcast(
        cls,
        trajectories: Sequence[Trajectory],
        per_turn: Sequence[Sequence[float]],
        components: dict[str, list[list[float]]] | None = None,
    ) -> Advantages:
        """Spread each turn's advantage over the tokens of its ``action_span``.

        ``per_turn`` holds one row per trajectory and one value per turn of it; ``ValueError``
        naming the trajectory otherwise (text-only ones included: a row of the wrong length, or
        a missing row, would pair advantages with the wrong turns or drop trajectories), as for
        an ``action_span`` outside the trajectory's tokens.
        """
        per_turn = [[float(value) for value in turns] for turns in per_turn]
        if len(per_turn) != len(trajectories):
            raise ValueError(f"{len(per_turn)} advantage rows for {len(trajectories)} trajectories")
        tokens = []
        for index, (trajectory, values) in enumerate(zip(trajectories, per_turn)):
            if len(values) != len(trajectory.turns):
                raise ValueError(f"{trajectory.describe(index)}: {len(values)} advantages for "
                                 f"{len(trajectory.turns)} turns")
            try:
                tokens.append(broadcast_to_tokens(trajectory, values))
            except ValueError as exc:  # a damaged action_span: say which trajectory of the batch
                raise ValueError(f"{trajectory.describe(index)}, {exc}") from None
        return cls(per_turn=per_turn, token_advantages=tokens, components=components or {})


def broadcast_to_tokens(trajectory: Trajectory, per_turn: Sequence[float]) -> np.ndarray | None:
    """An array over ``trajectory.token_ids``: ``per_turn[t]`` on turn ``t``'s action span, 0
    elsewhere (so it is zero wherever ``loss_mask()`` is). ``None`` for a text-only trajectory."""
    if trajectory.token_ids is None:
        return None
    if len(per_turn) != len(trajectory.turns):
        raise ValueError(f"{len(per_turn)} advantages for {len(trajectory.turns)} turns")
    array = np.zeros(len(trajectory.token_ids), dtype=np.float64)
    for turn, value in zip(trajectory.turns, per_turn):
        start, end = generated_span(trajectory, turn)
        array[start:end] = value
    return array


def generated_span(trajectory: Trajectory, turn: Turn) -> tuple[int, int]:
    """The checked ``[start, end)`` of a turn's generated tokens; ``(0, 0)`` when it has none."""
    if turn.action_span is None:
        return 0, 0
    start, end = turn.action_span
    if not 0 <= start <= end <= len(trajectory.token_ids or ()):
        raise ValueError(f"turn {turn.index}: action_span {turn.action_span} lies outside the "
                         f"{len(trajectory.token_ids or ())} recorded tokens")
    return start, end


class AdvantageEstimator(ABC):
    """A critic-free credit estimator: trajectories in, :class:`Advantages` out.

    The batch is a list or any other iterable of trajectories (read once, :func:`checked_batch`).
    Outputs follow the input order; the result does not depend on the order of rollouts within
    a group (up to floating-point rounding).
    """

    @abstractmethod
    def __call__(self, trajectories: Iterable[Trajectory]) -> Advantages:
        """The advantages of ``trajectories``."""


def checked_batch(trajectories: Iterable[Trajectory]) -> list[Trajectory]:
    """The batch as a list, its rewards checked (:func:`check_rewards`).

    An estimator reads its batch several times (rewards, groups, returns), so any iterable is
    read into a list once first: a generator or ``filter(...)`` read in place was used up by the
    first pass, and the advantages came out empty without a word (or failed with "'generator'
    has no len()").
    """
    batch = list(trajectories)
    check_rewards(batch)
    return batch


def check_rewards(trajectories: Sequence[Trajectory]) -> None:
    """``ValueError`` naming the trajectory and turn whose ``reward`` or a reward component is
    not a finite number (NaN, ±inf, ``None``, a string), or whose turns' rewards sum past the
    largest float: one such value would make the advantages of its whole group (or batch) NaN,
    and then the loss and the weights."""
    for index, trajectory in enumerate(trajectories):
        for t, turn in enumerate(trajectory.turns):
            where = f"{trajectory.describe(index)}, turn {t}"
            if not is_finite_number(turn.reward):
                raise ValueError(f"{where}: reward {turn.reward!r} is not a finite number")
            for name, value in turn.reward_components.items():
                if not is_finite_number(value):
                    raise ValueError(f"{where}: reward component {name!r} is {value!r}, not a finite number")
        if not math.isfinite(trajectory.episode_return):
            raise ValueError(f"{trajectory.describe(index)}: its turns' rewards, each finite, sum to "
                             f"{trajectory.episode_return} (a float overflow): scale the rewards down")


def check_eps(eps: Any) -> float:
    """``eps`` as a float; ``ValueError`` unless it is a finite number ``>= 0`` (a negative one
    would flip the sign of every advantage whose pool's std is smaller)."""
    if not is_finite_number(eps) or eps < 0:
        raise ValueError(f"eps must be a finite number >= 0, got {eps!r}")
    return float(eps)


def check_weight(name: str, value: Any) -> float:
    """A weight as a float; ``ValueError`` unless it is a finite number (a NaN or infinite weight
    would make every advantage it multiplies NaN or infinite)."""
    if not is_finite_number(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def check_flag(name: str, value: Any) -> bool:
    """A switch as a bool; ``ValueError`` unless it is ``True`` or ``False`` (the string
    ``"false"`` is truthy: it would switch the setting on without a word)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r:.80}")
    return bool(value)


def check_unit(name: str, value: Any) -> float:
    """A discount or GAE lambda as a float; ``ValueError`` unless it lies in ``[0, 1]``."""
    if not is_finite_number(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


def check_keys(name: str, keys: Any, *, what: str = "a list of reward-component keys") -> tuple[str, ...]:
    """Reward-component keys as a tuple of strings; ``ValueError`` for a bare string (each
    letter would become a key), something that is not a collection (``None``, a number) or a key
    that is not a string (``Turn.reward_components`` is keyed by strings: it would never match,
    or fail unhashable when looked up)."""
    if isinstance(keys, (str, bytes)):
        raise ValueError(f"{name} must be {what}, got the string {keys!r} (write [{keys!r}])")
    try:
        keys = tuple(keys)
    except TypeError:
        raise ValueError(f"{name} must be {what}, got {keys!r:.80}") from None
    for key in keys:
        if not isinstance(key, str):
            raise ValueError(f"{name}: a reward-component key is a string, got {key!r:.80}")
    return keys


def group_indices(trajectories: Sequence[Trajectory]) -> list[list[int]]:
    """Indices of the trajectories grouped by ``group_id``, groups in order of first appearance.

    A trajectory without a ``group_id`` forms a group of its own; one whose ``group_id`` is not
    hashable (a list) raises ``ValueError`` naming it.
    """
    groups: dict[object, list[int]] = {}
    for index, trajectory in enumerate(trajectories):
        key = ("ungrouped", index) if trajectory.group_id is None else ("group", trajectory.group_id)
        try:
            groups.setdefault(key, []).append(index)
        except TypeError:
            raise ValueError(f"trajectory {index}: group_id {trajectory.group_id!r:.80} is not hashable "
                             "(use a string such as the task id and seed)") from None
    return list(groups.values())


def discounted_returns(rewards: Sequence[float], gamma: float) -> np.ndarray:
    """``R_t = sum_{k>=t} gamma^(k-t) r_k``, computed backwards as ``R_t = r_t + gamma R_{t+1}``;
    ``ValueError`` unless ``gamma`` lies in ``[0, 1]`` (:func:`check_unit`)."""
    gamma = check_unit("gamma", gamma)
    returns = np.zeros(len(rewards), dtype=np.float64)
    running = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        running = float(rewards[t]) + gamma * running
        returns[t] = running
    return returns


def weighted_mean_std(values: np.ndarray, weights: np.ndarray, ddof: int) -> tuple[float, float]:
    """Mean and standard deviation of ``values`` counted ``weights`` times each.

    ``std = sqrt(sum w (x - mean)^2 / (sum w - ddof))`` (frequency weights; with unit weights
    this is ``numpy.std(values, ddof=ddof)``). The std is ``0.0`` when ``sum w <= ddof``.

    The values are divided by a power of two near their largest magnitude first and the results
    multiplied back (exact, so ordinary inputs give the same bits), so the squares neither
    overflow for huge values (``1e200``: an infinite std made every advantage 0) nor underflow to
    0 for tiny ones.

    A pool whose counted values (weight ``> 0``) are all equal and finite has exactly that value
    as its mean and std ``0.0``: the rounded ``sum / count`` can miss it in the last bit
    (``[0.1] * 3`` gives ``0.10000000000000002``), a spread of rounding that a division by the
    std would blow up. (Infinite values give a NaN std, as they always did.)
    """
    total = float(weights.sum())
    if total <= 0:
        return 0.0, 0.0
    counted = values[weights > 0]
    if math.isfinite(counted[0]) and np.all(counted == counted[0]):
        return float(counted[0]), 0.0
    scale = _power_of_two_scale(values)
    scaled = values / scale
    mean = float((weights * scaled).sum() / total)
    if total <= ddof:
        return mean * scale, 0.0
    variance = float((weights * (scaled - mean) ** 2).sum() / (total - ddof))
    return mean * scale, variance**0.5 * scale


def _power_of_two_scale(values: np.ndarray) -> float:
    """The largest power of two ``<=`` the largest finite magnitude (1 for none or 0), so the
    scaled values lie in ``[-2, 2)``. (The power just above it, ``2^1024`` for a value of at
    least ``2^1023 = 8.99e307``, is not a float: ``ldexp`` raised ``OverflowError``.)"""
    magnitudes = np.abs(values[np.isfinite(values)]) if values.size else values
    largest = float(magnitudes.max()) if magnitudes.size else 0.0
    return math.ldexp(1.0, math.frexp(largest)[1] - 1) if largest > 0 else 1.0


def normalized(values: np.ndarray, mean: float, std: float, eps: float) -> np.ndarray:
    """``(values - mean) / (std + eps)``, and all ``0.0`` when ``std`` is 0: a pool without spread
    carries no signal (with ``eps = 0`` the division would be ``0 / 0``, NaN)."""
    values = np.asarray(values, dtype=np.float64)
    if std == 0:
        return np.full(values.shape, SINGLETON_GROUP_ADVANTAGE)
    return (values - mean) / (std + eps)


def standardize(values: Sequence[float], *, ddof: int, eps: float = DEFAULT_EPS) -> np.ndarray:
    """``(x - mean) / (std + eps)`` over one pool; a pool of fewer than two values, or of equal
    values, gives zeros (whatever ``eps``, 0 included).

    ``ddof=1`` is the sample (unbiased) std, ``ddof=0`` the population std; any other ``ddof``,
    or an ``eps`` that is not a finite number ``>= 0`` (:func:`check_eps`), is a ``ValueError``.
    """
    if isinstance(ddof, bool) or ddof not in (0, 1):
        raise ValueError(f"ddof must be 0 (population std) or 1 (sample std), got {ddof!r}")
    eps = check_eps(eps)
    array = np.asarray(values, dtype=np.float64)
    if array.size < 2:
        return np.full(array.shape, SINGLETON_GROUP_ADVANTAGE)
    mean, std = weighted_mean_std(array, np.ones_like(array), ddof)
    return normalized(array, mean, std, eps)
