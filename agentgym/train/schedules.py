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
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any


def lr_multiplier(step: int, *, total_steps: int, warmup_steps: int = 0, schedule: str = "constant",
                  min_ratio: float = 0.0) -> float:
    """The learning-rate factor at optimizer step ``step`` (formulas in the module docstring)."""
    if warmup_steps and step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    progress = min(1.0, max(0.0, (step - warmup_steps) / max(1, total_steps - warmup_steps)))
    if schedule == "linear":
        return 1.0 - (1.0 - min_ratio) * progress
    if schedule == "cosine":
        return min_ratio + (1.0 - min_ratio) * (1.0 + math.cos(math.pi * progress)) / 2.0
    raise ValueError(f"unknown schedule {schedule!r}: use 'constant', 'linear' or 'cosine'")


@dataclass
class EntropyBand:
    """The adaptive entropy coefficient (module docstring); its state goes into checkpoints."""

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
        return asdict(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            setattr(self, key, value)
