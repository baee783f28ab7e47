"""Group filters, the learning-rate schedule, the entropy band, atomic checkpoints, logs."""

from __future__ import annotations

import io
import json
import random

import numpy as np
import pytest
import torch

from agentgym.train.checkpoint import load_checkpoint, resolve_checkpoint, rng_state, save_checkpoint, set_rng_state
from agentgym.train.filters import group_weights
from agentgym.train.logging import MetricsLogger
from agentgym.train.schedules import EntropyBand, lr_multiplier
from tests.credit.builders import build_trajectory


def _groups(returns_by_group: list[list[float]]):
    return [build_trajectory([r], group_id=f"g{g}") for g, returns in enumerate(returns_by_group) for r in returns]


def test_zero_variance_groups_are_kept_dropped_or_downweighted():
    batch = _groups([[1, 1], [1, 0], [0, 0]])
    assert group_weights(batch) == [1, 1, 1, 1, 1, 1]
    assert group_weights(batch, zero_variance="drop") == [0, 0, 1, 1, 0, 0]
    assert group_weights(batch, zero_variance="downweight", zero_variance_weight=0.25) == [0.25, 0.25, 1, 1, 0.25, 0.25]


def test_top_fraction_keeps_the_groups_with_the_largest_reward_variance():
    batch = _groups([[0, 0.1], [0, 1], [0, 0.5], [1, 1]])
    assert group_weights(batch, top_fraction=0.5) == [0, 0, 1, 1, 1, 1, 0, 0]
    assert group_weights(batch, top_fraction=0.25) == [0, 0, 1, 1, 0, 0, 0, 0]
    assert group_weights(batch, top_fraction=0.3) == [0, 0, 1, 1, 1, 1, 0, 0]  # ceil(1.2) = 2 groups
    with pytest.raises(ValueError, match="top_fraction"):
        group_weights(batch, top_fraction=0.0)


def test_learning_rate_schedules():
    def values(schedule, **kw):
        return [lr_multiplier(s, total_steps=10, schedule=schedule, **kw) for s in (0, 5, 10)]

    assert values("constant") == [1.0, 1.0, 1.0]
    assert values("linear") == pytest.approx([1.0, 0.5, 0.0])
    assert values("linear", min_ratio=0.2) == pytest.approx([1.0, 0.6, 0.2])
    assert values("cosine") == pytest.approx([1.0, 0.5, 0.0])
    warm = [lr_multiplier(s, total_steps=10, warmup_steps=4, schedule="linear") for s in range(6)]
    assert warm == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0, 1 - 1 / 6])
    with pytest.raises(ValueError, match="unknown schedule"):
        lr_multiplier(3, total_steps=10, schedule="step")


def test_entropy_band_pushes_the_coefficient_towards_the_band():
    band = EntropyBand(coef=0.01, width=0.2, ema=0.5, factor=2.0, max_coef=0.03)
    assert band.observe(1.0) == 0.01 and band.average == 1.0  # the first value starts the average
    assert band.observe(0.5) == 0.02      # below 0.8: explore more
    assert band.observe(0.5) == 0.03      # and more, up to max_coef
    assert band.observe(2.0) == 0.015     # above the band: explore less
    assert band.observe(band.average) == 0.015  # inside: unchanged
    copy = EntropyBand(coef=0.0, width=0.2, ema=0.5, factor=2.0, max_coef=0.03)  # the settings: configuration
    copy.load_state_dict(band.state_dict())
    assert copy == band


def test_checkpoints_are_atomic_and_pruned(tmp_path):
    for step in (1, 2, 3):
        save_checkpoint(tmp_path, step, {"model": {"w": torch.full((2,), float(step))}}, {"run": {}}, [{"step": step}],
                        keep_last=2)
    folders = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert folders == ["latest", "step-000002", "step-000003"]
    assert load_checkpoint(tmp_path).state["model"]["w"].tolist() == [3.0, 3.0]
    # A crash while writing step 4 leaves a .tmp folder: the latest checkpoint is still step 3.
    (tmp_path / "checkpoints" / "step-000004.tmp").mkdir()
    assert resolve_checkpoint(tmp_path).name == "step-000003"
    assert load_checkpoint(tmp_path / "checkpoints" / "step-000002").step == 2
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        resolve_checkpoint(tmp_path / "elsewhere")


def test_rng_states_round_trip_through_a_checkpoint(tmp_path):
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    save_checkpoint(tmp_path, 1, {"rng": rng_state()}, {}, [])
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    random.seed(2), np.random.seed(2), torch.manual_seed(2)
    set_rng_state(load_checkpoint(tmp_path).state["rng"])  # loads with weights_only=True
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected


def test_console_and_jsonl_logs(tmp_path):
    stream = io.StringIO()
    logger = MetricsLogger(tmp_path, console=True, jsonl=True, history=[{"step": 1, "reward/mean": 0.1}],
                           stream=stream)
    logger.log({"step": 2, "reward/mean": 0.25, "success/train": 0.5, "train/kl": float("nan")})
    logger.close()
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [1, 2] and lines[1]["train/kl"] == "nan"
    text = stream.getvalue()
    assert "reward" in text.splitlines()[0] and "0.250" in text and "50%" in text
