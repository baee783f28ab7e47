"""EPO's entropy smoothing: the band penalty, the phase weighting, the history, the loss term and
the [loss.epo] configuration (hand-computed values)."""

from __future__ import annotations

import math

import pytest
import torch

from agentgym.credit import GRPO
from agentgym.train.batching import training_rows
from agentgym.train.config import ConfigError, TrainConfig
from agentgym.train.loss import SmoothingTerm, entropy_smoothing_penalty
from agentgym.train.schedules import EntropySmoothing, epo_phase_weight
from agentgym.train.trainer import Trainer
from agentgym.train.update import PolicyUpdater, UpdateSettings
from tests.train.conftest import ROLLOUT_TEMPERATURE, learner, world_config
from tests.train.word_world import tiny_model


def test_the_penalty_is_the_distance_outside_the_band():
    # H_bar = 1, band [0.5, 1.5]: 0.2 -> 0.3 below; 0.5, 1.0, 1.5 inside -> 0; 2.0 -> 0.5 above.
    entropy = torch.tensor([0.2, 0.5, 1.0, 1.5, 2.0])
    assert entropy_smoothing_penalty(entropy, 1.0, 0.5, 1.5).tolist() == pytest.approx([0.3, 0, 0, 0, 0.5])
    # It pushes entropy back into the band: below it the gradient of the penalty is -1, above +1.
    entropy.requires_grad_(True)
    entropy_smoothing_penalty(entropy, 1.0, 0.5, 1.5).sum().backward()
    assert entropy.grad.tolist() == [-1.0, 0.0, 0.0, 0.0, 1.0]
    with pytest.raises(ValueError, match="low_ratio < high_ratio"):
        entropy_smoothing_penalty(entropy, 1.0, 1.5, 0.5)


def test_the_phase_weight_eases_then_falls():
    assert epo_phase_weight(0.0) == 1.0
    assert epo_phase_weight(0.25) == pytest.approx(1 - 0.2 * (1 - math.exp(-1)))  # 0.8736
    assert epo_phase_weight(0.5) == pytest.approx(1 - 0.2 * (1 - math.exp(-2)))   # 0.8271, end of phase one
    assert epo_phase_weight(0.75) == pytest.approx(0.8 * math.exp(-1.5))          # 0.1785
    assert epo_phase_weight(1.0) == pytest.approx(0.8 * math.exp(-3))             # 0.0398
    assert epo_phase_weight(2.0) == epo_phase_weight(1.0) and epo_phase_weight(-1.0) == 1.0


def test_the_history_is_the_mean_of_past_steps_and_weights_follow_the_phase():
    smoothing = EntropySmoothing(coef=2.0, low_ratio=0.5, high_ratio=1.5)
    assert smoothing.average is None and smoothing.term(0, 4) is None  # no history: no penalty
    smoothing.observe(1.0)
    smoothing.observe(2.0)
    term = smoothing.term(1, 4)  # step 1 of 4: p = 1/4
    assert term == SmoothingTerm(1.5, 0.5, 1.5, pytest.approx(2.0 * (1 - 0.2 * (1 - math.exp(-1)))))
    assert EntropySmoothing(coef=2.0, phase_weighting=False).weight(3, 4) == 2.0
    restored = EntropySmoothing(coef=2.0, low_ratio=0.5, high_ratio=1.5)
    restored.load_state_dict(smoothing.state_dict())
    assert restored.average == 1.5 and restored.term(1, 4) == term


def test_the_update_adds_the_weighted_penalty_to_the_loss(world_rollout):
    rows, _ = training_rows(world_rollout, GRPO()(world_rollout))

    def update(smoothing):
        model = tiny_model(0)
        updater = PolicyUpdater(model, torch.optim.SGD(model.parameters(), lr=0.0),
                                UpdateSettings(temperature=ROLLOUT_TEMPERATURE, entropy_coef=0.1))
        return updater.update(rows, generator=torch.Generator().manual_seed(0), smoothing=smoothing)

    plain = update(None)
    # A band [0, 1e-3] below every token's entropy: P_t = H_t - 1e-3 on every token, so the
    # token-mean loss grows by entropy_coef * weight * (mean H - 1e-3).
    smoothed = update(SmoothingTerm(average=1e-3, low_ratio=0.0, high_ratio=1.0, weight=3.0))
    assert smoothed["entropy_out_of_band"] == 1.0
    assert smoothed["entropy_penalty"] == pytest.approx(plain["entropy"] - 1e-3, rel=1e-5)
    assert smoothed["loss"] - plain["loss"] == pytest.approx(0.1 * 3.0 * (plain["entropy"] - 1e-3), rel=1e-4)
    # A band around the entropy itself: nothing out of it, the loss unchanged.
    inside = update(SmoothingTerm(average=plain["entropy"], low_ratio=0.0, high_ratio=100.0, weight=3.0))
    assert inside["entropy_out_of_band"] == 0.0 and inside["loss"] == pytest.approx(plain["loss"], abs=1e-7)
    with pytest.raises(ValueError, match="positive entropy_coef"):
        model = tiny_model(0)
        PolicyUpdater(model, torch.optim.SGD(model.parameters(), lr=0.0), UpdateSettings()).update(
            rows, smoothing=SmoothingTerm(1.0, 0.5, 1.5, 1.0))


def test_the_trainer_builds_the_history_and_checkpoints_it(tmp_path):
    config = world_config(tmp_path, run={"steps": 2}, loss={"entropy_coef": 0.01, "epo": {"enabled": True}})
    trainer = Trainer(config, **learner())
    first = trainer.train_step()
    assert first["loss/epo_weight"] == 0.0 and "train/entropy_penalty" not in first  # no history yet
    second = trainer.train_step()
    assert second["loss/epo_entropy_average"] == pytest.approx(first["train/entropy"])
    assert second["loss/epo_weight"] == pytest.approx(epo_phase_weight(0.5))  # step 1 of 2, smooth_coef 1
    assert 0.0 <= second["train/entropy_out_of_band"] <= 1.0
    resumed = Trainer.resume(trainer.save_checkpoint(), **learner())
    assert resumed.entropy_smoothing.state_dict() == trainer.entropy_smoothing.state_dict()


@pytest.mark.parametrize("loss, message", [
    ({"epo": {"enabled": True}}, "positive loss.entropy_coef"),
    ({"entropy_coef": 0.01, "epo": {"low_ratio": 1.2, "high_ratio": 0.8}}, "low_ratio < high_ratio"),
    ({"entropy_coef": 0.01, "epo": {"smooth_coef": -1.0}}, "smooth_coef"),
])
def test_bad_epo_settings_are_refused(loss, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig.from_dict({"loss": loss})
