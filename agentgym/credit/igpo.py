"""IGPO: information-gain turn rewards and the outcome, normalised per group, then discounted.

Every non-final turn ``t`` of a rollout carries an information-gain reward ``IG_t`` (how much
the policy's belief in the ground-truth answer rose during the turn), read from
``turn.reward_components["info_gain"]`` (written by the information-gain reward provider). The
final turn carries the outcome ``O`` instead (and no IG: a value there is ignored). Where the
outcome comes from is the ``outcome`` setting:

* ``"component"`` (default): the final turn's ``reward_components[outcome_key]``
  (``"outcome"``, the key environments use for the task result);
* ``"success"``: ``1.0`` if ``Trajectory.success`` else ``0.0``;
* ``"reward"``: the final turn's total ``reward``.

Within one group (population std, eps = 1e-6)::

    separate (the paper's choice):
        IG~ = (IG - mean(all IG of the group)) / (std(all IG of the group) + eps)
        O~  = (O  - mean(all O of the group))  / (std(all O of the group)  + eps)
    joint:
        one pool holding every IG and every O of the group, standardised together

    A_t = sum_{k>=t} gamma^(k-t) r~_k      r~ = IG~ on non-final turns, O~ on the final turn

Turns are the recorded turns: a turn whose IG is exactly 0 is still a turn. Normalisation comes
first, then discounting. A missing ``info_gain`` on a non-final turn (or a missing outcome
component) raises ``ValueError``, since a silent 0 would be a wrong reward; for a trajectory the
provider skipped (``on_missing="skip"``), the error gives the reason it recorded. A group of one
rollout gets 0 everywhere.
"""

from __future__ import annotations

from typing import Iterable, Literal

import numpy as np

from agentgym.credit.base import (
    DEFAULT_EPS,
    AdvantageEstimator,
    Advantages,
    check_eps,
    check_unit,
    checked_batch,
    discounted_returns,
    group_indices,
    standardize,
)
from agentgym.trajectory import Trajectory

INFO_GAIN_KEY = "info_gain"
SKIPPED_KEY = "info_gain_skipped"
"""``Trajectory.metadata`` key where the information-gain reward provider says why it left a
trajectory unscored (``on_missing="skip"``)."""


class IGPO(AdvantageEstimator):
    """Information-gain policy optimisation advantages (formulas in the module docstring).

    Args:
        normalization: ``"separate"`` (IG and outcome pools) or ``"joint"`` (one pool).
        gamma: discount of the normalised turn rewards (1 in the paper).
        outcome: where the final turn's outcome comes from: ``"component"``, ``"success"`` or
            ``"reward"``.
        outcome_key: the reward component holding the outcome (``outcome="component"``).
        info_gain_key: the reward component holding ``IG_t``. Both keys are non-empty strings
            (``Turn.reward_components`` is keyed by strings), checked here, before any rollout.
        eps: added to the std.
    """

    def __init__(
        self,
        *,
        normalization: Literal["separate", "joint"] = "separate",
        gamma: float = 1.0,
        outcome: Literal["component", "success", "reward"] = "component",
        outcome_key: str = "outcome",
        info_gain_key: str = INFO_GAIN_KEY,
        eps: float = DEFAULT_EPS,
    ) -> None:
        if normalization not in ("separate", "joint"):
            raise ValueError(f"normalization must be 'separate' or 'joint', got {normalization!r}")
        if outcome not in ("component", "success", "reward"):
            raise ValueError(f"outcome must be 'component', 'success' or 'reward', got {outcome!r}")
        for name, key in (("outcome_key", outcome_key), ("info_gain_key", info_gain_key)):
            if not isinstance(key, str) or not key:
                raise ValueError(f"{name} must name a reward component (a non-empty string), got {key!r:.80}")
        self.normalization = normalization
        self.gamma = check_unit("gamma", gamma)
        self.outcome = outcome
        self.outcome_key = outcome_key
        self.info_gain_key = info_gain_key
        self.eps = check_eps(eps)

    def __call__(self, trajectories: Iterable[Trajectory]) -> Advantages:
        trajectories = checked_batch(trajectories)
        normalised = [np.zeros(len(t.turns), dtype=np.float64) for t in trajectories]
        for members in group_indices(trajectories):
            if len(members) < 2:
                continue  # group-of-one rule
            ig_places = [(i, t) for i in members for t in range(len(trajectories[i].turns) - 1)]
            ig_values = [self._info_gain(trajectories[i], t, i) for i, t in ig_places]
            outcome_places = [(i, len(trajectories[i].turns) - 1) for i in members if trajectories[i].turns]
            outcome_values = [self.outcome_of(trajectories[i], i) for i, _ in outcome_places]
            if self.normalization == "separate":
                scored = [*zip(ig_places, standardize(ig_values, ddof=0, eps=self.eps)),
                          *zip(outcome_places, standardize(outcome_values, ddof=0, eps=self.eps))]
            else:
                scored = list(zip(ig_places + outcome_places,
                                  standardize(ig_values + outcome_values, ddof=0, eps=self.eps)))
            for (i, t), value in scored:
                normalised[i][t] = value
        per_turn = [discounted_returns(rewards, self.gamma).tolist() for rewards in normalised]
        return Advantages.broadcast(trajectories, per_turn,
                                    components={"normalised_reward": [r.tolist() for r in normalised]})

    def outcome_of(self, trajectory: Trajectory, index: int = 0) -> float:
        """The outcome reward ``O`` of a trajectory, per the ``outcome`` setting."""
        if self.outcome == "success":
            return 1.0 if trajectory.success else 0.0
        final = trajectory.turns[-1]
        if self.outcome == "reward":
            return float(final.reward)
        if self.outcome_key not in final.reward_components:
            raise ValueError(f"trajectory {index}: the final turn has no {self.outcome_key!r} reward component "
                             "(use outcome='success' or 'reward', or set outcome_key)")
        return float(final.reward_components[self.outcome_key])

    def _info_gain(self, trajectory: Trajectory, turn: int, index: int) -> float:
        components = trajectory.turns[turn].reward_components
        if self.info_gain_key not in components:
            skipped = trajectory.metadata.get(SKIPPED_KEY)
            why = ("run the information-gain reward provider first" if skipped is None else
                   f"the information-gain reward provider skipped this trajectory: {skipped}; "
                   "IGPO needs every trajectory scored, so leave such trajectories out of the batch")
            raise ValueError(f"{trajectory.describe(index)}, turn {turn}: no {self.info_gain_key!r} "
                             f"reward component ({why})")
        return float(components[self.info_gain_key])
