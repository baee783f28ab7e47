"""Group filters: which groups of a batch train, and with what weight (ALGORITHMS.md §8).

A group whose rollouts all earned the same return carries no signal for a group-relative
estimator (its advantages are 0); when such groups dominate a batch, the useful groups' share
of a token-mean loss shrinks (RAGEN's "echo trap" starts there). Two remedies, applied per group:

* ``zero_variance``: ``keep`` (weight 1), ``drop`` (weight 0: the group's rows are left out,
  as in DAPO's dynamic sampling) or ``downweight`` (weight ``zero_variance_weight``);
* ``top_fraction``: keep only the ``ceil(top_fraction * groups)`` groups with the largest
  return variance (population variance; ties keep the earlier group); the others get 0.

Returns equal within ``1e-9`` count as equal.
"""

from __future__ import annotations

import math
from typing import Literal, Sequence

import numpy as np

from agentgym.credit.base import group_indices
from agentgym.trajectory import Trajectory

_EQUAL = 1e-9
ZERO_VARIANCE_MODES: tuple[str, ...] = ("keep", "drop", "downweight")


def group_weights(
    trajectories: Sequence[Trajectory],
    *,
    zero_variance: Literal["keep", "drop", "downweight"] = "keep",
    zero_variance_weight: float = 0.1,
    top_fraction: float = 1.0,
) -> list[float]:
    """One weight per trajectory (the weight of its group); 0 means leave it out.

    ``ValueError`` for a ``zero_variance`` other than ``keep``, ``drop`` and ``downweight`` (a
    mistyped mode is not taken for any of them), a ``zero_variance_weight`` that is not a finite
    number >= 0, or a ``top_fraction`` outside ``(0, 1]``."""
    if zero_variance not in ZERO_VARIANCE_MODES:
        raise ValueError(f"zero_variance must be one of {', '.join(ZERO_VARIANCE_MODES)}, got {zero_variance!r}")
    if not (math.isfinite(zero_variance_weight) and zero_variance_weight >= 0):
        raise ValueError(f"zero_variance_weight must be a finite number >= 0, got {zero_variance_weight}")
    if not 0 < top_fraction <= 1:
        raise ValueError(f"top_fraction must be in (0, 1], got {top_fraction}")
    groups = group_indices(trajectories)
    returns = np.array([t.episode_return for t in trajectories], dtype=np.float64)
    variances = [float(returns[members].var()) for members in groups]
    weights = np.ones(len(trajectories), dtype=np.float64)
    for members, variance in zip(groups, variances):
        if float(np.ptp(returns[members])) <= _EQUAL and zero_variance != "keep":
            weights[members] = 0.0 if zero_variance == "drop" else zero_variance_weight
    if top_fraction < 1:
        keep = math.ceil(top_fraction * len(groups))
        ranked = sorted(range(len(groups)), key=lambda g: (-variances[g], g))
        for g in ranked[keep:]:
            weights[groups[g]] = 0.0
    return weights.tolist()
