"""Stratified GRPO: normalise among structurally similar rollouts, blend with the group.

Rollouts of one task can differ in structure (one search call or five, an early answer or a long
exploration) and then in reward for reasons the policy's choice inside that structure did not
cause. Stratified advantage normalisation compares each rollout with its *stratum*: the rollouts
of its group with the same structural key (by default the number of turns, i.e. of actions or
tool calls). For rollout ``i`` in stratum ``k`` of its group ``G``, with ``R = episode_return``:

    A_strat_i  = (R_i - mean_k R) / (std_k R + eps)
    A_global_i = (R_i - mean_G R) / (std_G R + eps)
    A_i        = alpha * A_strat_i + (1 - alpha) * A_global_i

std with ddof = 1, eps = 1e-6; with ``normalize_by_std=False`` both divisions are dropped.
A small stratum gives a noisy (and a stratum of one a zero) stratified estimate; the blend with
the group-wide estimate keeps such rollouts learning. ``alpha = 1`` is pure stratification,
``alpha = 0`` plain GRPO. Every turn of a rollout gets its ``A_i``; a group of one gets 0.
"""

from __future__ import annotations

from typing import Callable, Hashable, Iterable, Sequence

import numpy as np

from agentgym.credit.base import (
    DEFAULT_EPS,
    AdvantageEstimator,
    Advantages,
    check_eps,
    check_flag,
    check_unit,
    checked_batch,
    group_indices,
)
from agentgym.credit.grpo import group_relative_advantages
from agentgym.trajectory import Trajectory


def turn_count(trajectory: Trajectory) -> int:
    """The default stratum: how many actions (turns, tool calls) the rollout took."""
    return len(trajectory.turns)


class StratifiedGRPO(AdvantageEstimator):
    """Stratified advantage normalisation blended with the group estimate (see module docstring).

    Args:
        alpha: weight of the stratified estimate in the blend, in ``[0, 1]``.
        stratum: a function of a trajectory giving its structural key; defaults to
            :func:`turn_count`.
        normalize_by_std: divide by the std (ddof 1, + ``eps``) or not.
        eps: added to the std.
    """

    def __init__(
        self,
        *,
        alpha: float = 0.5,
        stratum: Callable[[Trajectory], Hashable] = turn_count,
        normalize_by_std: bool = True,
        eps: float = DEFAULT_EPS,
    ) -> None:
        self.alpha = check_unit("alpha", alpha)
        if not callable(stratum):
            raise ValueError(f"stratum must be a function of a trajectory returning its structural key, "
                             f"got {stratum!r:.80}")
        self.stratum = stratum
        self.baseline = "grpo" if check_flag("normalize_by_std", normalize_by_std) else "mean_norm"
        self.eps = check_eps(eps)

    def __call__(self, trajectories: Iterable[Trajectory]) -> Advantages:
        trajectories = checked_batch(trajectories)
        stratified = np.zeros(len(trajectories), dtype=np.float64)
        global_ = np.zeros(len(trajectories), dtype=np.float64)
        for members in group_indices(trajectories):
            global_[members] = self._relative(trajectories, members)
            for stratum_members in self._strata(trajectories, members):
                stratified[stratum_members] = self._relative(trajectories, stratum_members)
        blended = self.alpha * stratified + (1.0 - self.alpha) * global_

        def spread(values: np.ndarray) -> list[list[float]]:
            return [[float(value)] * len(t.turns) for value, t in zip(values, trajectories)]

        return Advantages.broadcast(trajectories, spread(blended),
                                    components={"stratified": spread(stratified), "global": spread(global_)})

    def _strata(self, trajectories: Sequence[Trajectory], members: list[int]) -> list[list[int]]:
        """The members of one group gathered by stratum; ``ValueError`` naming the trajectory
        whose stratum key is not hashable."""
        strata: dict[Hashable, list[int]] = {}
        for i in members:
            key = self.stratum(trajectories[i])
            try:
                strata.setdefault(key, []).append(i)
            except TypeError:
                raise ValueError(f"{trajectories[i].describe(i)}: the stratum {key!r:.80} is not hashable "
                                 "(the stratum function must return a hashable key such as an int)") from None
        return list(strata.values())

    def _relative(self, trajectories: Sequence[Trajectory], members: list[int]) -> np.ndarray:
        returns = [trajectories[i].episode_return for i in members]
        return group_relative_advantages(returns, baseline=self.baseline, eps=self.eps)
