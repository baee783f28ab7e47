"""Training rows from trajectories, refusal of untrainable ones, packing without padding."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from agentgym.credit import GRPO
from agentgym.train.batching import (
    NotTrainable,
    first_fit_decreasing,
    pack_rows,
    training_rows,
)
from agentgym.train.update import forward_micro_batch, score_rows
from tests.train.conftest import ROLLOUT_TEMPERATURE
from tests.train.word_world import tiny_model


def test_rows_carry_mask_old_logprobs_and_advantages(world_rollout):
    advantages = GRPO()(world_rollout)
    rows, report = training_rows(world_rollout, advantages)
    assert report.kept == list(range(len(world_rollout))) and not report.skipped
    for row, trajectory in zip(rows, world_rollout):
        assert row.token_ids.tolist() == trajectory.token_ids
        assert row.loss_mask.tolist() == [bool(m) for m in trajectory.loss_mask()]
        for turn in trajectory.turns:
            start, end = turn.action_span
            assert row.old_logprobs[start:end].tolist() == pytest.approx(turn.logprobs)
        assert np.all(row.old_logprobs[~row.loss_mask] == 0) and np.all(row.advantages[~row.loss_mask] == 0)
        assert row.advantages[row.loss_mask] == pytest.approx(advantages.tokens(row.source)[row.loss_mask])


@pytest.mark.parametrize(("damage", "reason"), [
    (lambda t: setattr(t, "token_ids", None), "text-only"),
    (lambda t: setattr(t, "token_mismatches", 1), "not token-exact"),
    (lambda t: setattr(t.turns[0], "logprobs", None), "log-probs"),
    (lambda t: setattr(t, "error", "environment raised"), "episode failed"),
])
def test_untrainable_trajectories_are_refused_or_counted(world_rollout, damage, reason):
    batch = copy.deepcopy(world_rollout[:3])
    advantages = GRPO()(batch)
    damage(batch[1])
    with pytest.raises(NotTrainable, match=reason):
        training_rows(batch, advantages, on_untrainable="error")
    rows, report = training_rows(batch, advantages, on_untrainable="skip")
    assert [row.source for row in rows] == [0, 2]
    assert list(report.skipped) == [1] and reason in report.skipped[1]


def test_first_fit_decreasing_respects_the_budget():
    lengths = [7, 3, 5, 2, 2, 6, 1, 12]
    bins = first_fit_decreasing(lengths, 10)
    assert sorted(i for b in bins for i in b) == list(range(len(lengths)))
    assert all(sum(lengths[i] for i in b) <= 10 for b in bins if len(b) > 1)
    assert bins[0] == [7]  # the oversize item is alone, and first (longest first)
    # 38 tokens: 12 alone, then 26 in bins of 10 -> 3 more bins is optimal.
    assert len(bins) == 4


def test_packing_has_no_padding_and_restarts_positions(world_rollout):
    rows, _ = training_rows(world_rollout, GRPO()(world_rollout))
    budget = 3 * max(len(row) for row in rows)
    batches, stats = pack_rows(rows, [1.0] * len(rows), budget)
    assert stats.tokens == sum(len(row) for row in rows) == sum(b.num_tokens for b in batches)
    assert stats.fill == pytest.approx(stats.tokens / (len(batches) * budget))
    assert len(batches) <= -(-len(rows) // 2)  # at least two rows per pack on average
    for batch in batches:
        assert batch.num_tokens <= budget
        expected = np.concatenate([np.arange(len(row)) for row in batch.rows])
        assert batch.position_ids[0].tolist() == expected.tolist()
        assert batch.input_ids[0].tolist() == np.concatenate([row.token_ids for row in batch.rows]).tolist()


def test_packed_forward_matches_each_row_alone_and_the_sampling_logprobs(world_rollout):
    """Packing must not let rows see each other, and log-probs recomputed at the rollout's
    temperature must be the ones recorded while sampling (ratio 1 before any update)."""
    model = tiny_model(0)
    rows, _ = training_rows(world_rollout, GRPO()(world_rollout))
    batches, _ = pack_rows(rows, [1.0] * len(rows), 10_000)
    assert len(batches) == 1 and len(batches[0].rows) == len(rows)
    with torch.no_grad():
        packed = forward_micro_batch(model, batches[0], temperature=ROLLOUT_TEMPERATURE, entropy=True)
        start = 0
        for row in batches[0].rows:
            ids = torch.from_numpy(row.token_ids)[None]
            logits = model(input_ids=ids).logits[0, :-1] / ROLLOUT_TEMPERATURE
            alone = torch.log_softmax(logits, -1).gather(-1, ids[0, 1:, None]).squeeze(-1)
            mine = packed.logprobs[start + 1: start + len(row)]
            assert torch.allclose(mine, alone, atol=1e-5)
            mask = torch.from_numpy(row.loss_mask)
            recorded = torch.from_numpy(row.old_logprobs)[mask]
            assert torch.allclose(packed.logprobs[start: start + len(row)][mask], recorded, atol=1e-4)
            start += len(row)


def test_score_rows_returns_one_array_per_row_in_order(world_rollout):
    model = tiny_model(0)
    rows, _ = training_rows(world_rollout, GRPO()(world_rollout))
    small, _ = score_rows(model, rows, temperature=1.0, token_budget=40)
    large, _ = score_rows(model, rows, temperature=1.0, token_budget=100_000)
    for row, a, b in zip(rows, small, large):
        assert a.shape == (len(row),)
        assert torch.allclose(a, b, atol=1e-5)


def test_scoring_only_the_loss_tokens_matches_the_full_forward_and_its_gradient(world_rollout):
    """The training step keeps logits only where the loss is (``logits_to_keep``): same
    log-probs, entropies and gradients on the mask as the full forward, exactly 0 elsewhere."""
    rows, _ = training_rows(world_rollout, GRPO()(world_rollout))
    batch = pack_rows(rows, [1.0] * len(rows), 10_000)[0][0]
    mask = batch.loss_mask
    assert 0 < int(mask.sum()) < batch.num_tokens - 1
    results, grads = [], []
    for only in (False, True):
        model = tiny_model(0)
        result = forward_micro_batch(model, batch, temperature=ROLLOUT_TEMPERATURE, entropy=True,
                                     loss_tokens_only=only)
        ((result.logprobs + result.entropy) * mask).sum().backward()
        results.append(result)
        grads.append(torch.cat([p.grad.reshape(-1) for p in model.parameters() if p.grad is not None]))
    full, kept = results
    assert torch.allclose(kept.logprobs[mask], full.logprobs[mask], atol=1e-5)
    assert torch.allclose(kept.entropy[mask], full.entropy[mask], atol=1e-5)
    assert torch.all(kept.logprobs[~mask] == 0) and torch.all(kept.entropy[~mask] == 0)
    assert torch.allclose(grads[0], grads[1], atol=1e-5)
