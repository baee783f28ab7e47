"""Turn-level rewards from several channels (MT-GRPO style).

A *channel* is a key of ``Turn.reward_components`` (e.g. ``"turn"`` for a per-turn tool or
format reward, ``"outcome"`` for the final answer). Within one group:

1. z-score each channel over every value it has in the group (all turns of all rollouts that
   carry that key; a turn without the key takes no part)::

       z_c = (x_c - mean_group x_c) / (std_group x_c + eps)      std with ddof = 1, eps = 1e-6

2. combine per turn with the channel weights: ``c_t = sum_c w_c z_c(t)`` (0 on a turn with none
   of the channels);
3. the advantage of turn ``t`` is the discounted return of the combined signal::

       A_t = sum_{k>=t} gamma^(k-t) c_k

So with a turn reward on the first turn and an outcome on the last, the first turn is credited
with both, the last with the outcome only. A channel with fewer than two values in a group
normalises to 0, and a group of one rollout gets 0 everywhere.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import numpy as np

from agentgym.credit.base import (
    DEFAULT_EPS,
    AdvantageEstimator,
    Advantages,
    check_eps,
    check_keys,
    check_unit,
    check_weight,
    checked_batch,
    discounted_returns,
    group_indices,
    standardize,
)
from agentgym.trajectory import Trajectory


class MultiChannelGRPO(AdvantageEstimator):
    """MT-GRPO advantages from per-channel z-scores (formulas in the module docstring).

    Args:
        channels: the reward-component keys to use, or a mapping key -> weight ``w_c``
            (a plain sequence weighs every channel 1).
        gamma: discount of the combined turn signal (1: undiscounted, as in MT-GRPO).
        ddof: delta degrees of freedom of the per-channel std (1: sample std).
        eps: added to the std.
    """

    def __init__(
        self,
        channels: Sequence[str] | Mapping[str, float],
        *,
        gamma: float = 1.0,
        ddof: int = 1,
        eps: float = DEFAULT_EPS,
    ) -> None:
        if isinstance(ddof, bool) or ddof not in (0, 1):
            raise ValueError(f"ddof must be 0 (population std) or 1 (sample std), got {ddof!r}")
        keys = check_keys("channels", channels, what="a list of reward-component keys or a mapping key -> weight")
        weights = dict(channels) if isinstance(channels, Mapping) else {key: 1.0 for key in keys}
        if not weights:
            raise ValueError("name at least one reward channel")
        self.channel_weights = {key: check_weight(f"the weight of channel {key!r}", weight)
                                for key, weight in weights.items()}
        self.gamma = check_unit("gamma", gamma)
        self.ddof = int(ddof)
        self.eps = check_eps(eps)

    def __call__(self, trajectories: Iterable[Trajectory]) -> Advantages:
        trajectories = checked_batch(trajectories)
        combined = [np.zeros(len(t.turns), dtype=np.float64) for t in trajectories]
        for members in group_indices(trajectories):
            if len(members) < 2:
                continue  # group-of-one rule
            for channel, weight in self.channel_weights.items():
                places = [(i, t) for i in members for t, turn in enumerate(trajectories[i].turns)
                          if channel in turn.reward_components]
                values = [trajectories[i].turns[t].reward_components[channel] for i, t in places]
                for (i, t), z in zip(places, standardize(values, ddof=self.ddof, eps=self.eps)):
                    combined[i][t] += weight * z
        per_turn = [discounted_returns(signal, self.gamma).tolist() for signal in combined]
        return Advantages.broadcast(trajectories, per_turn,
                                    components={"combined_reward": [signal.tolist() for signal in combined]})
