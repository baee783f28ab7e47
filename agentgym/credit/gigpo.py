"""GiGPO: an episode-level group advantage plus a step-level advantage over anchor states.

For the rollouts ``i`` of one group, with turn rewards ``r_t`` and penalty rewards ``p_t``
(the components named in ``penalty_keys``, e.g. the environment's ``"invalid"``):

1. Discounted turn returns of the task rewards, then the penalty on that turn only::

       R_t = sum_{k>=t} gamma^(k-t) (r_k - p_k)  +  p_t

2. Episode advantage ``A^E_i`` from ``sum_t (r_t - p_t)`` as in GRPO
   (:func:`~agentgym.credit.grpo.group_relative_advantages`: ``"grpo"`` or ``"mean_norm"``).
3. Step groups: the turns of the group whose *anchor* (the raw environment state, without
   history) is the same. The anchor defaults to ``Turn.observation`` (what the environment
   showed before the action); pass ``anchor=callable(turn)`` for another key. With
   ``similarity_threshold`` set, anchors whose ``difflib.SequenceMatcher`` ratio is ``>=`` the
   threshold are merged (connected components, so the grouping does not depend on order).
4. Step advantage ``A^S = (R_t - mean_step_group R) / F`` with ``F = std (ddof 1) + eps`` or
   ``F = 1``; a step group of one turn, or of equal returns, gets 0.
5. ``A = A^E + w * A^S``.

``normalize_by_std`` picks ``F`` for both levels (std: GRPO; no std: "mean_norm"). The result's
``components`` hold ``"episode"`` and ``"step"``. A group of one rollout gets 0 everywhere.
"""

from __future__ import annotations

from difflib import SequenceMatcher
from typing import Callable, Hashable, Iterable, Sequence

import numpy as np

from agentgym.core import is_finite_number
from agentgym.credit.base import (
    DEFAULT_EPS,
    SINGLETON_GROUP_ADVANTAGE,
    AdvantageEstimator,
    Advantages,
    check_eps,
    check_flag,
    check_keys,
    check_unit,
    check_weight,
    checked_batch,
    discounted_returns,
    group_indices,
    normalized,
    weighted_mean_std,
)
from agentgym.credit.grpo import group_relative_advantages
from agentgym.subsequence import lcs_length
from agentgym.trajectory import Trajectory, Turn

TurnRef = tuple[int, int]  # (trajectory index in the batch, turn index)


def raw_observation(turn: Turn) -> str:
    """The default anchor: the environment's observation before the action (no history)."""
    return turn.observation


class GiGPO(AdvantageEstimator):
    """Group-in-Group Policy Optimisation advantages (formulas in the module docstring).

    Args:
        gamma: discount of the step-level returns.
        step_weight: ``w``, the weight of the step advantage (a finite number).
        normalize_by_std: divide by the std (ddof 1, + ``eps``) at both levels, or by 1.
        anchor: a function of a turn giving its state key; defaults to :func:`raw_observation`.
        similarity_threshold: if set, a number in ``(0, 1]``: merge anchors (which must then be
            strings) whose similarity ratio is at least this.
        penalty_keys: reward components that are per-turn penalties, kept out of the
            discounting and of the episode return (a list of strings; a bare string, ``None``
            or a key that is not a string is refused).
        eps: added to the std.
    """

    def __init__(
        self,
        *,
        gamma: float = 0.95,
        step_weight: float = 1.0,
        normalize_by_std: bool = True,
        anchor: Callable[[Turn], Hashable] = raw_observation,
        similarity_threshold: float | None = None,
        penalty_keys: Sequence[str] = ("invalid",),
        eps: float = DEFAULT_EPS,
    ) -> None:
        if similarity_threshold is not None and not (is_finite_number(similarity_threshold)
                                                     and 0.0 < similarity_threshold <= 1.0):
            raise ValueError(f"similarity_threshold must be a number in (0, 1] (or None), "
                             f"got {similarity_threshold!r}")
        if not callable(anchor):
            raise ValueError(f"anchor must be a function of a turn returning its state key, got {anchor!r:.80}")
        self.gamma = check_unit("gamma", gamma)
        self.step_weight = check_weight("step_weight", step_weight)
        self.normalize_by_std = check_flag("normalize_by_std", normalize_by_std)
        self.anchor = anchor
        self.similarity_threshold = similarity_threshold
        self.penalty_keys = check_keys("penalty_keys", penalty_keys,
                                       what="a list of reward-component keys (() for none)")
        self.eps = check_eps(eps)

    def __call__(self, trajectories: Iterable[Trajectory]) -> Advantages:
        trajectories = checked_batch(trajectories)
        returns = [self.turn_returns(trajectory) for trajectory in trajectories]
        episode = [[0.0] * len(t.turns) for t in trajectories]
        step = [[0.0] * len(t.turns) for t in trajectories]
        baseline = "grpo" if self.normalize_by_std else "mean_norm"
        for members in group_indices(trajectories):
            if len(members) < 2:
                continue  # group-of-one rule: everything stays 0
            task_returns = [self._task_rewards(trajectories[i]).sum() for i in members]
            for i, value in zip(members, group_relative_advantages(task_returns, baseline=baseline, eps=self.eps)):
                episode[i] = [float(value)] * len(trajectories[i].turns)
            for step_group in self.step_groups(trajectories, members):
                for (i, t), value in zip(step_group, self._step_advantages([returns[i][t] for i, t in step_group])):
                    step[i][t] = float(value)
        per_turn = [[e + self.step_weight * s for e, s in zip(es, ss)] for es, ss in zip(episode, step)]
        return Advantages.broadcast(trajectories, per_turn, components={"episode": episode, "step": step})

    def turn_returns(self, trajectory: Trajectory) -> np.ndarray:
        """``R_t``: discounted task-reward returns, each turn's own penalty added after discounting."""
        return discounted_returns(self._task_rewards(trajectory), self.gamma) + self._penalties(trajectory)

    def step_groups(self, trajectories: Sequence[Trajectory], members: Sequence[int]) -> list[list[TurnRef]]:
        """The turns of one group gathered by anchor state (merged by similarity if set);
        ``ValueError`` naming the trajectory and turn whose anchor is not hashable, ``TypeError``
        naming it when ``similarity_threshold`` is set and the anchor is not a string."""
        by_anchor: dict[Hashable, list[TurnRef]] = {}
        for i in members:
            for t, turn in enumerate(trajectories[i].turns):
                key = self.anchor(turn)
                if self.similarity_threshold is not None and not isinstance(key, str):
                    raise TypeError(f"{trajectories[i].describe(i)}, turn {t}: the anchor {key!r:.80} is not a "
                                     "string (similarity_threshold compares anchors as text: the anchor function "
                                     "must return strings)")
                try:
                    by_anchor.setdefault(key, []).append((i, t))
                except TypeError:
                    raise ValueError(f"{trajectories[i].describe(i)}, turn {t}: the anchor {key!r:.80} is not "
                                     "hashable (the anchor function must return a string or another hashable key)"
                                     ) from None
        if self.similarity_threshold is None:
            return list(by_anchor.values())
        merged: dict[Hashable, list[TurnRef]] = {}
        for key, root in _similar_components(list(by_anchor), self.similarity_threshold).items():
            merged.setdefault(root, []).extend(by_anchor[key])
        return list(merged.values())

    def _step_advantages(self, step_returns: list[float]) -> np.ndarray:
        values = np.asarray(step_returns, dtype=np.float64)
        if values.size < 2:
            return np.full(values.shape, SINGLETON_GROUP_ADVANTAGE)
        mean, std = weighted_mean_std(values, np.ones_like(values), ddof=1)
        return normalized(values, mean, std, self.eps) if self.normalize_by_std else values - mean

    def _penalties(self, trajectory: Trajectory) -> np.ndarray:
        return np.array([sum(turn.reward_components.get(key, 0.0) for key in self.penalty_keys)
                         for turn in trajectory.turns], dtype=np.float64)

    def _task_rewards(self, trajectory: Trajectory) -> np.ndarray:
        rewards = np.array([turn.reward for turn in trajectory.turns], dtype=np.float64)
        return rewards - self._penalties(trajectory)


def _similar_components(anchors: list[Hashable], threshold: float) -> dict[Hashable, Hashable]:
    """Map each anchor to a representative of its component under "ratio >= threshold".

    Single linkage over all pairs, so the result does not depend on the order of ``anchors``.
    Each pair is compared in sorted order because ``SequenceMatcher.ratio`` is not exactly
    symmetric; ``autojunk`` is off so long observations are compared character for character.

    ``ratio()`` is quadratic in the text (tens of milliseconds a pair at 500 characters), so it
    is computed only for pairs that pass three upper bounds of it: the two quick ratios and
    ``2 * LCS / (len(a) + len(b))`` (the matching blocks are a common subsequence), which
    rejects states made of the same characters in other places (boards, grids) at bit-parallel
    speed. The bounds never reject a pair whose ratio reaches the threshold.
    """
    if not all(isinstance(anchor, str) for anchor in anchors):
        raise TypeError("similarity mode compares text: the anchor function must return strings")
    ordered = sorted(anchors)  # type: ignore[type-var]
    parent = {anchor: anchor for anchor in ordered}

    def root(anchor: Hashable) -> Hashable:
        while parent[anchor] != anchor:
            parent[anchor] = parent[parent[anchor]]
            anchor = parent[anchor]
        return anchor

    for a_index, a in enumerate(ordered):
        for b in ordered[a_index + 1:]:
            if root(a) == root(b):
                continue
            matcher = SequenceMatcher(None, a, b, autojunk=False)
            # Upper bounds of ratio() first, cheapest first.
            if matcher.real_quick_ratio() >= threshold and matcher.quick_ratio() >= threshold \
                    and 2.0 * lcs_length(a, b) / (len(a) + len(b)) >= threshold and matcher.ratio() >= threshold:
                parent[root(b)] = root(a)
    return {anchor: root(anchor) for anchor in ordered}
