"""Schedules that change during training: the learning rate and the entropy coefficient.

Learning rate (:func:`lr_multiplier`), per optimizer step ``s`` of ``S``, with ``W`` warm-up
steps and a final ratio ``m``::

    s < W          (s + 1) / W                                    (linear warm-up)
    constant       1
    linear         1 - (1 - m) * p                 p = (s - W) / max(1, S - W), in [0, 1]
    cosine         m + (1 - m) * (1 + cos(pi * p)) / 2

Entropy band (:class:`EntropyBand`, EPO-style): a running average ``H_avg`` of the policy
entropy (exponential, decay ``ema``; the first measurement starts it). After each step with
entropy ``H``: below ``(1 - width) * H_avg`` the coefficient is multiplied by ``factor`` (more
exploration), above ``(1 + width) * H_avg`` divided by it, and clamped to ``[min, max]``.

EPO's entropy smoothing (:class:`EntropySmoothing`; the per-token penalty is
:func:`~agentgym.train.loss.entropy_smoothing_penalty`): the history ``H_bar`` is the plain
mean of the past steps' entropies (none before the first step: no penalty then), and the
penalty's weight at step ``k`` of ``K`` is ``beta_k = lambda_smooth * w(p)``, ``p = k / K``,
with EPO's adaptive phase weighting (its reference code's schedule; ``m`` = 0.8, ``a`` = 2,
``b`` = 3)::

    p <= 1/2     w = 1 - (1 - m) * (1 - exp(-a * 2p))        (exploration: 1 easing to ~0.83)
    p >  1/2     w = m * exp(-b * (2p - 1))                   (exploitation: 0.8 down to ~0.04)

Case: w(0) = 1, w(1/4) = 1 - 0.2 * (1 - e^-1) = 0.8736, w(3/4) = 0.8 * e^-1.5 = 0.1785.
Early in the run the band holds entropy firmly (premature collapse is what sparse rewards
invite); late, the policy is left free to sharpen. (The paper's second version describes the
weighting as moving towards stronger stabilisation; the code's schedule is the one here.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from agentgym.train.loss import SmoothingTerm


def lr_multiplier(step: int, *, total_steps: int, warmup_steps: int = 0, schedule: str = "constant",
                  min_ratio: float = 0.0) -> float:
    """The learning-rate factor at optimizer step ``step`` (formulas in the module docstring).
    Raises ``ValueError`` for an unknown ``schedule`` at any step, the warm-up's included."""
    if schedule not in ("constant", "linear", "cosine"):
        raise ValueError(f"unknown schedule {schedule!r}: use 'constant', 'linear' or 'cosine'")
    if warmup_steps and step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    progress = min(1.0, max(0.0, (step - warmup_steps) / max(1, total_steps - warmup_steps)))
    if schedule == "linear":
        return 1.0 - (1.0 - min_ratio) * progress
    return min_ratio + (1.0 - min_ratio) * (1.0 + math.cos(math.pi * progress)) / 2.0


@dataclass
class EntropyBand:
    """The adaptive entropy coefficient (module docstring); its state, the coefficient and the
    average (not the settings, which come from the configuration), goes into checkpoints."""

    coef: float
    width: float = 0.2
    ema: float = 0.9
    factor: float = 1.5
    min_coef: float = 0.0
    max_coef: float = 0.1
    average: float | None = None

    def observe(self, entropy: float) -> float:
        """Update with the step's entropy; returns the coefficient for the next step."""
        if self.average is None:
            self.average = entropy
            return self.coef
        if entropy < (1 - self.width) * self.average:
            self.coef *= self.factor
        elif entropy > (1 + self.width) * self.average:
            self.coef /= self.factor
        self.coef = min(self.max_coef, max(self.min_coef, self.coef))
        self.average = self.ema * self.average + (1 - self.ema) * entropy
        return self.coef

    def state_dict(self) -> dict[str, Any]:
        return {"coef": self.coef, "average": self.average}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Take a saved coefficient (within this band's ``[min_coef, max_coef]``: a run resumed
        with other bounds) and average; the settings older checkpoints saved with them are
        ignored, so those given on resume are the ones that act."""
        self.coef = min(self.max_coef, max(self.min_coef, float(state["coef"])))
        self.average = None if state.get("average") is None else float(state["average"])


def epo_phase_weight(progress: float, *, middle: float = 0.8, early_rate: float = 2.0,
                     late_rate: float = 3.0) -> float:
    """EPO's phase weight ``w(p)`` at training progress ``p`` in ``[0, 1]`` (module docstring;
    clamped to that range)."""
    p = min(1.0, max(0.0, progress))
    if p <= 0.5:
        return 1.0 - (1.0 - middle) * (1.0 - math.exp(-early_rate * 2 * p))
    return middle * math.exp(-late_rate * (2 * p - 1))


@dataclass
class EntropySmoothing:
    """EPO's entropy smoothing regulariser (module docstring): the entropy history and the
    penalty's weight; its state goes into checkpoints."""

    coef: float = 1.0
    low_ratio: float = 0.8
    high_ratio: float = 1.2
    phase_weighting: bool = True
    total: float = 0.0
    steps: int = 0

    @property
    def average(self) -> float | None:
        """``H_bar``: the mean of the entropies observed so far (``None`` before any)."""
        return self.total / self.steps if self.steps else None

    def weight(self, step: int, total_steps: int) -> float:
        """``beta_k`` at step ``step`` (from 0) of ``total_steps``."""
        phase = epo_phase_weight(step / max(1, total_steps)) if self.phase_weighting else 1.0
        return self.coef * phase

    def term(self, step: int, total_steps: int) -> SmoothingTerm | None:
        """What the update needs for step ``step``; ``None`` while there is no history."""
        average = self.average
        if average is None:
            return None
        return SmoothingTerm(average, self.low_ratio, self.high_ratio, self.weight(step, total_steps))

    def observe(self, entropy: float) -> None:
        """Add the step's mean token entropy to the history."""
        self.total += float(entropy)
        self.steps += 1

    def state_dict(self) -> dict[str, Any]:
        return {"total": self.total, "steps": self.steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.total, self.steps = float(state["total"]), int(state["steps"])
