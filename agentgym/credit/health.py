"""Training-health metrics of a batch, to log every step.

* ``reward_std_in_group``: the mean over groups of the population std (ddof 0) of the episode
  returns inside the group. Falling towards 0 means the rollouts of a task all end alike.
* ``zero_variance_group_fraction``: the fraction of groups whose returns are all equal (within
  ``1e-9``). Such a group carries no learning signal for a group-relative estimator; a rise is
  the first sign of RAGEN's "echo trap". A group of one rollout counts as zero-variance (its
  advantage is 0 by the group-of-one rule).
* ``advantage_mean / _std / _min / _max`` and ``advantage_zero_fraction``: over every turn's
  advantage (one value per turn, population std), when advantages are given.
* ``mean_turns``: turns per trajectory; ``mean_response_tokens``: generated tokens per
  trajectory, over the token-level trajectories only (NaN when there are none);
  ``mean_return``: the mean episode return.

Groups are formed by ``group_id`` as for the estimators (:func:`~agentgym.credit.base.group_indices`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Iterable

import numpy as np

from agentgym.credit.base import Advantages, group_indices, weighted_mean_std
from agentgym.trajectory import Trajectory

_EQUAL = 1e-9  # returns closer than this count as equal


@dataclass(frozen=True)
class TrainingHealth:
    """The health metrics of one batch (see the module docstring); NaN where undefined."""

    trajectories: int
    groups: int
    reward_std_in_group: float
    zero_variance_group_fraction: float
    mean_return: float
    mean_turns: float
    mean_response_tokens: float
    advantage_mean: float = math.nan
    advantage_std: float = math.nan
    advantage_min: float = math.nan
    advantage_max: float = math.nan
    advantage_zero_fraction: float = math.nan

    def as_dict(self, prefix: str = "health/") -> dict[str, float]:
        """The metrics as a flat dict for a logger, names prefixed."""
        return {prefix + name: float(value) for name, value in asdict(self).items()}


def training_health(trajectories: Iterable[Trajectory], advantages: Advantages | None = None) -> TrainingHealth:
    """Compute :class:`TrainingHealth` for a batch (a list or any iterable, read once) and its
    advantages, if given."""
    trajectories = list(trajectories)
    if not trajectories:
        raise ValueError("no trajectories to measure")
    returns = np.array([t.episode_return for t in trajectories], dtype=np.float64)
    groups = group_indices(trajectories)
    group_stds = [weighted_mean_std(returns[members], np.ones(len(members)), ddof=0)[1] for members in groups]
    zero_variance = [float(np.ptp(returns[members])) <= _EQUAL for members in groups]
    token_level = [t.generated_tokens for t in trajectories if t.token_ids is not None]
    health = TrainingHealth(
        trajectories=len(trajectories),
        groups=len(groups),
        reward_std_in_group=float(np.mean(group_stds)),
        zero_variance_group_fraction=float(np.mean(zero_variance)),
        mean_return=float(returns.mean()),
        mean_turns=float(np.mean([len(t.turns) for t in trajectories])),
        mean_response_tokens=float(np.mean(token_level)) if token_level else math.nan,
    )
    if advantages is None:
        return health
    if len(advantages) != len(trajectories):
        raise ValueError(f"{len(advantages)} advantage rows for {len(trajectories)} trajectories")
    values = advantages.flat_turns()
    if values.size == 0:
        return health
    return TrainingHealth(**{**asdict(health), **advantage_statistics(values)})


def advantage_statistics(turn_advantages: np.ndarray) -> dict[str, float]:
    """Mean, population std, min, max and zero fraction of every turn's advantage (non-empty)."""
    values = np.asarray(turn_advantages, dtype=np.float64)
    return {
        "advantage_mean": float(values.mean()),
        "advantage_std": float(values.std()),
        "advantage_min": float(values.min()),
        "advantage_max": float(values.max()),
        "advantage_zero_fraction": float(np.mean(values == 0.0)),
    }
