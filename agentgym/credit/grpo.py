"""Episode-level group baselines: GRPO, Dr.GRPO and RLOO.

Each rollout ``i`` of a group of ``G`` earns ``R_i = sum_t r_t`` (``Trajectory.episode_return``)
and every one of its turns gets the same advantage:

    GRPO       A_i = (R_i - mean_G R) / (std_G R + eps)      std with ddof = 1, eps = 1e-6
    Dr.GRPO    A_i =  R_i - mean_G R                         ("mean_norm": no std division)
    RLOO       A_i =  R_i - mean_{j != i} R_j  =  (R_i - mean_G R) * G / (G - 1)

Counting rows in the statistics (``per_trajectory``)
    ``True`` (default): each rollout counts once, as above. ``False``: each *turn* counts once,
    as when every turn is a training row, so a rollout of ``T_i`` turns weighs ``T_i``:

        mean = sum_i T_i R_i / sum_i T_i
        std  = sqrt(sum_i T_i (R_i - mean)^2 / (sum_i T_i - 1))
        RLOO baseline_i = sum_{j != i} T_j R_j / sum_{j != i} T_j

    which favours long trajectories; the default removes that bias.

A group of one rollout gets advantage 0 (see :mod:`agentgym.credit.base`); so does a rollout
whose leave-one-out pool is empty, and every rollout of a group whose returns are all equal
(exactly 0, whatever ``eps``).
"""

from __future__ import annotations

from typing import Iterable, Literal, Sequence

import numpy as np

from agentgym.credit.base import (
    DEFAULT_EPS,
    SINGLETON_GROUP_ADVANTAGE,
    AdvantageEstimator,
    Advantages,
    check_eps,
    check_flag,
    checked_batch,
    group_indices,
    normalized,
    weighted_mean_std,
)
from agentgym.trajectory import Trajectory

Baseline = Literal["grpo", "mean_norm", "rloo"]


def group_relative_advantages(
    returns: Sequence[float],
    weights: Sequence[float] | None = None,
    *,
    baseline: Baseline = "grpo",
    eps: float = DEFAULT_EPS,
) -> np.ndarray:
    """One advantage per rollout of a group from its returns (formulas in the module docstring).

    ``weights`` counts each rollout in the statistics (``None``: once each): one finite number
    ``>= 0`` per return. ``ValueError`` for an unknown ``baseline`` or such ``weights``, also for
    a group of one (a typo in the baseline is not left for the first group of two to find).
    """
    if baseline not in ("grpo", "mean_norm", "rloo"):
        raise ValueError(f"unknown baseline {baseline!r}: use 'grpo', 'mean_norm' or 'rloo'")
    returns = np.asarray(returns, dtype=np.float64)
    weights = np.ones_like(returns) if weights is None else np.asarray(weights, dtype=np.float64)
    if weights.shape != returns.shape or returns.ndim != 1:
        raise ValueError(f"returns must be one number per rollout and weights one count per return, "
                         f"got shapes {returns.shape} and {weights.shape}")
    if not np.all(np.isfinite(weights) & (weights >= 0)):
        raise ValueError(f"weights must be finite numbers >= 0, got {weights.tolist()}")
    if returns.size < 2:
        return np.full(returns.shape, SINGLETON_GROUP_ADVANTAGE)
    mean, std = weighted_mean_std(returns, weights, ddof=1)
    if baseline == "rloo":
        # R_i - (S - w_i R_i) / (W - w_i) = (R_i - mean) W / (W - w_i), S = W mean: the weighted
        # mean of the other rollouts, without the sum S (exact 0 for equal returns, no overflow).
        total = float(weights.sum())
        others = total - weights
        safe = np.where(others > 0, others, 1.0)
        return np.where(others > 0, (returns - mean) * (total / safe), SINGLETON_GROUP_ADVANTAGE)
    if baseline == "mean_norm":
        return returns - mean
    return normalized(returns, mean, std, eps)  # "grpo"


def episode_advantages(
    trajectories: Sequence[Trajectory],
    *,
    baseline: Baseline,
    per_trajectory: bool = True,
    eps: float = DEFAULT_EPS,
) -> np.ndarray:
    """One group-relative advantage per trajectory, computed group by group (input order)."""
    advantages = np.zeros(len(trajectories), dtype=np.float64)
    for members in group_indices(trajectories):
        returns = [trajectories[i].episode_return for i in members]
        weights = None if per_trajectory else [len(trajectories[i].turns) for i in members]
        advantages[members] = group_relative_advantages(returns, weights, baseline=baseline, eps=eps)
    return advantages


class GroupRelativeEstimator(AdvantageEstimator):
    """Broadcasts an episode-level group-relative advantage to every turn of the rollout.

    Args:
        baseline: ``"grpo"``, ``"mean_norm"`` (Dr.GRPO) or ``"rloo"``.
        per_trajectory: count each rollout once in the group statistics (``False``: each turn).
        eps: added to the std (GRPO only).
    """

    def __init__(self, baseline: Baseline, *, per_trajectory: bool = True, eps: float = DEFAULT_EPS) -> None:
        if baseline not in ("grpo", "mean_norm", "rloo"):
            raise ValueError(f"unknown baseline {baseline!r}: use 'grpo', 'mean_norm' or 'rloo'")
        self.baseline = baseline
        self.per_trajectory = check_flag("per_trajectory", per_trajectory)
        self.eps = check_eps(eps)

    def __call__(self, trajectories: Iterable[Trajectory]) -> Advantages:
        trajectories = checked_batch(trajectories)
        episode = episode_advantages(trajectories, baseline=self.baseline,
                                     per_trajectory=self.per_trajectory, eps=self.eps)
        per_turn = [[float(value)] * len(trajectory.turns) for value, trajectory in zip(episode, trajectories)]
        return Advantages.broadcast(trajectories, per_turn)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(per_trajectory={self.per_trajectory})"


class GRPO(GroupRelativeEstimator):
    """``A_i = (R_i - mean_G R) / (std_G R + eps)``, std with ddof 1."""

    def __init__(self, *, per_trajectory: bool = True, eps: float = DEFAULT_EPS) -> None:
        super().__init__("grpo", per_trajectory=per_trajectory, eps=eps)


class DrGRPO(GroupRelativeEstimator):
    """Dr.GRPO ("mean_norm"): ``A_i = R_i - mean_G R``; no std division, so no difficulty bias."""

    def __init__(self, *, per_trajectory: bool = True) -> None:
        super().__init__("mean_norm", per_trajectory=per_trajectory)


class RLOO(GroupRelativeEstimator):
    """REINFORCE leave-one-out: ``A_i = R_i - mean_{j != i} R_j``."""

    def __init__(self, *, per_trajectory: bool = True) -> None:
        super().__init__("rloo", per_trajectory=per_trajectory)
