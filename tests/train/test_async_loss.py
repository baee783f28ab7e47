"""The decoupled PPO objective of asynchronous training: hand-computed values, and the
synchronous objective unchanged (proximal == behaviour gives the PPO-clip loss and update bit for bit)."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from agentgym.credit import GRPO
from agentgym.train.batching import training_rows
from agentgym.train.loss import clipped_policy_loss, decoupled_policy_loss
from agentgym.train.update import PolicyUpdater, UpdateSettings, score_rows
from tests.train.conftest import ROLLOUT_TEMPERATURE
from tests.train.word_world import tiny_model


def _log(values):
    return torch.tensor([math.log(v) for v in values], dtype=torch.float64)


def test_the_decoupled_loss_matches_the_hand_computed_cases():
    # Per token: ratio r = exp(l - p), behaviour weight w = exp(p - b), eps = 0.2, cap 5.
    behaviour = torch.zeros(4, dtype=torch.float64)
    proximal = _log([2.0, 0.5, 10.0, 2.0])     # w = 2, 0.5, 10 -> capped at 5, 2
    new = proximal + _log([1.5, 0.5, 1.0, 1.1])  # r = 1.5, 0.5, 1, 1.1
    new.requires_grad_(True)
    advantages = torch.tensor([1.0, -1.0, 1.0, 1.0], dtype=torch.float64)
    loss, clipped, weight = decoupled_policy_loss(new, proximal, behaviour, advantages, importance_cap=5.0)
    # 2 * max(-1.5, -1.2); 0.5 * max(0.5, 0.8); 5 * max(-1, -1); 2 * max(-1.1, -1.1)
    assert loss.tolist() == pytest.approx([-2.4, 0.4, -5.0, -2.2], abs=1e-12)
    assert weight.tolist() == pytest.approx([2.0, 0.5, 5.0, 2.0], abs=1e-12)
    assert clipped.tolist() == [True, True, False, False]
    loss.sum().backward()
    # d/dl of -A * w * exp(l - p): zero where clipped, -w * r where not; the weight is a constant.
    assert new.grad.tolist() == pytest.approx([0.0, 0.0, -5.0, -2.2], abs=1e-12)
    capped, _, weight = decoupled_policy_loss(new.detach(), proximal, behaviour, advantages, importance_cap=1.5)
    assert capped[0].item() == pytest.approx(-1.8, abs=1e-12) and weight.max().item() == 1.5
    with pytest.raises(ValueError, match="importance_cap must be at least 1"):
        decoupled_policy_loss(new, proximal, behaviour, advantages, importance_cap=0.9)


@pytest.mark.parametrize("dual_clip", [None, 3.0])
def test_with_proximal_equal_to_behaviour_the_loss_is_ppo_clip_bit_for_bit(dual_clip):
    generator = torch.Generator().manual_seed(0)
    old = -torch.rand(500, generator=generator) * 3
    new = old + torch.randn(500, generator=generator) * 0.5
    advantages = torch.randn(500, generator=generator)
    expected, expected_clipped = clipped_policy_loss(new, old, advantages, eps_low=0.2, eps_high=0.28,
                                                     dual_clip=dual_clip)
    loss, clipped, weight = decoupled_policy_loss(new, old.clone(), old, advantages, importance_cap=5.0, eps_low=0.2,
                                                  eps_high=0.28, dual_clip=dual_clip)
    assert torch.equal(weight, torch.ones(500))
    assert torch.equal(loss, expected) and torch.equal(clipped, expected_clipped)


def test_an_update_with_proximal_equal_to_behaviour_is_the_synchronous_update(world_rollout):
    rows, _ = training_rows(world_rollout, GRPO()(world_rollout))
    stale = copy.deepcopy(rows)
    for row in stale:
        row.proximal_logprobs = row.old_logprobs.copy()
    models, reports = [], []
    for batch in (rows, stale):
        model = tiny_model(0)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
        updater = PolicyUpdater(model, optimizer, UpdateSettings(temperature=ROLLOUT_TEMPERATURE, epochs=2,
                                                                mini_batches=2, micro_batch_tokens=64))
        reports.append(updater.update(batch, generator=torch.Generator().manual_seed(0)))
        models.append(model)
    assert not torch.equal(next(tiny_model(0).parameters()), next(models[0].parameters()))  # it moved
    for a, b in zip(models[0].parameters(), models[1].parameters()):
        assert torch.equal(a, b)
    assert reports[0]["loss"] == reports[1]["loss"] and reports[0]["ratio_mean"] == reports[1]["ratio_mean"]
    assert "behaviour_weight" not in reports[0] and reports[1]["behaviour_weight"] == 1.0
    assert reports[1]["behaviour_capped"] == 0.0


def test_an_update_weighs_tokens_by_the_behaviour_ratio(world_rollout):
    """Rows sampled by an older policy: proximal log-probs from the current weights, different
    from the sampling ones; the update reports the weights and the capped fraction, and its
    ratio is taken against the proximal policy (1 on the first mini-batch of the first epoch)."""
    rows, _ = training_rows(world_rollout, GRPO()(world_rollout))
    learner = tiny_model(4, initializer_range=0.2)  # not the model that sampled (tiny_model(0))
    proximal, _ = score_rows(learner, rows, temperature=ROLLOUT_TEMPERATURE, token_budget=4096)
    for row, logprobs in zip(rows, proximal):
        row.proximal_logprobs = (logprobs.numpy() * row.loss_mask).astype("float32")
    optimizer = torch.optim.SGD(learner.parameters(), lr=0.0)  # no step: every ratio stays exp(l - p) = 1
    report = PolicyUpdater(learner, optimizer, UpdateSettings(temperature=ROLLOUT_TEMPERATURE, importance_cap=2.0)
                           ).update(rows, generator=torch.Generator().manual_seed(0))
    assert report["ratio_mean"] == pytest.approx(1.0, abs=1e-5)
    assert report["behaviour_weight"] != pytest.approx(1.0, abs=1e-3)
    assert 0.0 < report["behaviour_capped"] < 1.0
