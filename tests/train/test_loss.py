"""ALGORITHMS.md §7: PPO clip (asymmetric, dual clip), KL k1/k3, entropy, aggregation modes."""

from __future__ import annotations

import math

import pytest
import torch

from agentgym.train.loss import (
    aggregate,
    aggregation_weights,
    clipped_policy_loss,
    entropy_from_logits,
    kl_divergence,
)


def _loss(advantage: float, ratio: float, **kwargs) -> tuple[float, bool]:
    loss, clipped = clipped_policy_loss(torch.tensor([math.log(ratio)]), torch.tensor([0.0]),
                                        torch.tensor([advantage]), **kwargs)
    return float(loss), bool(clipped)


@pytest.mark.parametrize(("advantage", "ratio", "dual_clip", "expected", "clipped"), [
    (+1.0, 1.5, 3.0, -1.2, True),    # positive advantage: the ratio is capped at 1 + eps
    (-1.0, 0.5, 3.0, 0.8, True),     # negative advantage: the ratio is floored at 1 - eps
    (-1.0, 5.0, 3.0, 3.0, True),     # dual clip bounds the loss at -A * c
    (-1.0, 5.0, None, 5.0, False),   # ... and without it the loss grows with the ratio
    (+1.0, 1.1, 3.0, -1.1, False),   # inside the clip range: the plain surrogate
])
def test_ppo_clip_cases(advantage, ratio, dual_clip, expected, clipped):
    value, was_clipped = _loss(advantage, ratio, eps_low=0.2, eps_high=0.2, dual_clip=dual_clip)
    assert value == pytest.approx(expected, abs=1e-3)
    assert was_clipped is clipped


def test_asymmetric_clip_uses_eps_high_above_and_eps_low_below():
    assert _loss(+1.0, 1.5, eps_low=0.2, eps_high=0.28)[0] == pytest.approx(-1.28, abs=1e-4)
    assert _loss(-1.0, 0.5, eps_low=0.1, eps_high=0.28)[0] == pytest.approx(0.9, abs=1e-4)


def test_clipped_tokens_get_no_gradient_and_others_do():
    logprobs = torch.tensor([math.log(1.5), math.log(1.1)], requires_grad=True)
    loss, _ = clipped_policy_loss(logprobs, torch.zeros(2), torch.ones(2))
    loss.sum().backward()
    assert logprobs.grad[0] == 0.0
    assert logprobs.grad[1] == pytest.approx(-1.1)


def test_dual_clip_must_exceed_one():
    with pytest.raises(ValueError, match="greater than 1"):
        _loss(-1.0, 2.0, dual_clip=1.0)


def test_kl_estimators():
    logp, ref = torch.tensor([-1.0, -2.0]), torch.tensor([-1.5, -1.0])
    assert kl_divergence(logp, ref, "k1").tolist() == pytest.approx([0.5, -1.0])
    delta = ref - logp
    expected = (torch.exp(delta) - delta - 1).tolist()
    assert kl_divergence(logp, ref, "k3").tolist() == pytest.approx(expected)
    assert all(value >= 0 for value in kl_divergence(logp, ref, "k3").tolist())
    assert kl_divergence(logp, logp, "k3").tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="unknown KL estimator"):
        kl_divergence(logp, ref, "k2")


def test_entropy_of_uniform_and_peaked_distributions():
    uniform = entropy_from_logits(torch.zeros(1, 4))
    assert float(uniform) == pytest.approx(math.log(4))
    peaked = entropy_from_logits(torch.tensor([[100.0, 0.0, 0.0]]))
    assert float(peaked) == pytest.approx(0.0, abs=1e-6)


VALUES = torch.tensor([[1.0, 2.0, 3.0, 0.0], [4.0, 0.0, 0.0, 0.0]])
MASK = torch.tensor([[1, 1, 1, 0], [1, 0, 0, 0]])


@pytest.mark.parametrize(("mode", "expected"), [
    ("token-mean", (1 + 2 + 3 + 4) / 4),
    ("seq-mean-token-mean", ((1 + 2 + 3) / 3 + 4 / 1) / 2),
    ("seq-mean-token-sum", ((1 + 2 + 3) + 4) / 2),
])
def test_aggregation_modes(mode, expected):
    assert float(aggregate(VALUES, MASK, mode)) == pytest.approx(expected)


def test_masked_values_do_not_count():
    polluted = VALUES.clone()
    polluted[0, 3] = 1000.0
    assert float(aggregate(polluted, MASK, "token-mean")) == pytest.approx(2.5)


def test_weights_from_global_totals_make_parts_add_up_to_the_whole():
    counts = [3, 1, 2, 5]
    sums = [6.0, 4.0, 1.0, 10.0]
    for mode in ("token-mean", "seq-mean-token-mean", "seq-mean-token-sum"):
        whole = sum(w * s for w, s in zip(aggregation_weights(counts, mode), sums))
        parts = 0.0
        for members in ([0, 3], [1, 2]):
            weights = aggregation_weights([counts[i] for i in members], mode, total_tokens=11, total_sequences=4)
            parts += sum(w * sums[i] for w, i in zip(weights, members))
        assert parts == pytest.approx(whole), mode


def test_a_sequence_without_loss_tokens_weighs_nothing():
    assert aggregation_weights([2, 0], "seq-mean-token-sum") == [1.0, 0.0]
    with pytest.raises(ValueError, match="unknown aggregation"):
        aggregation_weights([1], "sum")
