"""The update's peak metrics (grad_norm_max, ratio_max) show a NaN step as NaN (Python's
max(0.0, nan) is 0.0, so a step whose gradients were NaN read as a finite peak), and
save_checkpoint refuses keep_last below 1 (0 kept every checkpoint)."""

from __future__ import annotations

import math

import pytest
import torch

from agentgym.train.checkpoint import save_checkpoint
from agentgym.train.update import _MetricTotals


def test_a_nan_gradient_norm_makes_the_peak_nan_whatever_its_order():
    for norms in ([0.5, math.nan, 0.25], [math.nan, 0.5], [0.5, math.nan]):
        totals = _MetricTotals(torch.device("cpu"))
        for norm in norms:
            totals.add_step(loss=0.1, grad_norm=norm, micro_batches=1, tokens=4, capacity=4)
        assert math.isnan(totals.summary()["grad_norm_max"]), norms


def test_a_nan_ratio_makes_ratio_max_nan():
    totals = _MetricTotals(torch.device("cpu"))
    mask = torch.tensor([True, True])
    totals.add_tokens(mask, ratio=torch.tensor([1.5, 1.0]))
    totals.add_tokens(mask, ratio=torch.tensor([math.nan, 1.0]))
    totals.add_step(loss=0.1, grad_norm=0.5, micro_batches=1, tokens=4, capacity=4)
    summary = totals.summary()
    assert math.isnan(summary["ratio_max"]) and summary["grad_norm_max"] == 0.5


def test_finite_peaks_are_the_largest_values():
    totals = _MetricTotals(torch.device("cpu"))
    totals.add_tokens(torch.tensor([True, False]), ratio=torch.tensor([1.25, 9.0]))
    for norm in (0.5, 2.0, 1.0):
        totals.add_step(loss=0.1, grad_norm=norm, micro_batches=1, tokens=4, capacity=4)
    summary = totals.summary()
    assert summary["grad_norm_max"] == 2.0 and summary["ratio_max"] == 1.25


def test_save_checkpoint_refuses_keep_last_below_one(tmp_path):
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="save_checkpoint: keep_last must be (an integer|at least 1)"):
            save_checkpoint(tmp_path, 1, {}, {}, [], keep_last=bad)
    assert not (tmp_path / "checkpoints").exists()
