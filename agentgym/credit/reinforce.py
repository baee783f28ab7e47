"""REINFORCE with batch return normalisation (ReBN, REINFORCE++ style).

No critic and no groups: each turn's discounted return is normalised over the whole batch::

    R_t = sum_{k>=t} gamma^(k-t) r_k
    A_t = (R_t - mean_batch R) / (std_batch R + eps)                       eps = 1e-6

``normalize_over`` says what one sample of the batch statistics is:

* ``"tokens"`` (REINFORCE++): every generated token, carrying its turn's return, so a turn of
  ``n`` tokens counts ``n`` times. Needs token-level trajectories.
* ``"turns"`` (ReBN over turns): every turn once; works for text-only trajectories too.

``unbiased_std=True`` divides by ``N - 1`` (sample std), ``False`` by ``N`` (population std).
Since the normalisation is affine, every token of a turn shares the turn's advantage. A batch
with fewer than two samples, or whose samples all carry the same return, gets 0 (also on turns
that count 0 times, such as a turn without generated tokens).
"""

from __future__ import annotations

from typing import Iterable, Literal

import numpy as np

from agentgym.credit.base import (
    DEFAULT_EPS,
    SINGLETON_GROUP_ADVANTAGE,
    AdvantageEstimator,
    Advantages,
    check_eps,
    check_flag,
    check_unit,
    checked_batch,
    discounted_returns,
    normalized,
    weighted_mean_std,
)
from agentgym.trajectory import Trajectory, Turn


class ReinforceBatchNorm(AdvantageEstimator):
    """Discounted turn returns normalised over the batch (formulas in the module docstring).

    Args:
        gamma: discount across turns.
        normalize_over: ``"tokens"`` (REINFORCE++) or ``"turns"`` (ReBN).
        unbiased_std: sample std (ddof 1) if true, population std (ddof 0) if false.
        eps: added to the std.
    """

    def __init__(
        self,
        *,
        gamma: float = 1.0,
        normalize_over: Literal["tokens", "turns"] = "tokens",
        unbiased_std: bool = True,
        eps: float = DEFAULT_EPS,
    ) -> None:
        if normalize_over not in ("tokens", "turns"):
            raise ValueError(f"normalize_over must be 'tokens' or 'turns', got {normalize_over!r}")
        self.gamma = check_unit("gamma", gamma)
        self.normalize_over = normalize_over
        self.ddof = 1 if check_flag("unbiased_std", unbiased_std) else 0
        self.eps = check_eps(eps)

    def __call__(self, trajectories: Iterable[Trajectory]) -> Advantages:
        trajectories = checked_batch(trajectories)
        returns = [discounted_returns([turn.reward for turn in t.turns], self.gamma) for t in trajectories]
        flat = np.concatenate(returns) if returns else np.zeros(0)
        counts = np.array([self._count(index, trajectory, turn) for index, trajectory in enumerate(trajectories)
                           for turn in trajectory.turns], dtype=np.float64)
        if counts.sum() < 2:
            normalised = np.full(flat.shape, SINGLETON_GROUP_ADVANTAGE)
        else:
            mean, std = weighted_mean_std(flat, counts, self.ddof)
            normalised = normalized(flat, mean, std, self.eps)
        per_turn, start = [], 0
        for trajectory in trajectories:
            per_turn.append(normalised[start:start + len(trajectory.turns)].tolist())
            start += len(trajectory.turns)
        return Advantages.broadcast(trajectories, per_turn,
                                    components={"return": [r.tolist() for r in returns]})

    def _count(self, index: int, trajectory: Trajectory, turn: Turn) -> int:
        if self.normalize_over == "turns":
            return 1
        if trajectory.token_ids is None:
            raise ValueError(f"trajectory {index} is text-only: normalise over 'turns' instead of 'tokens'")
        return turn.num_generated_tokens
