"""The update API: one policy update on given rows (micro-batching, mini-batches, KL, value head)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agentgym.credit import GRPO
from agentgym.train.batching import training_rows
from agentgym.train.update import PolicyUpdater, UpdateSettings, ValueHead, score_rows
from tests.train.conftest import ROLLOUT_TEMPERATURE
from tests.train.word_world import tiny_model


def _rows(trajectories):
    rows, _ = training_rows(trajectories, GRPO()(trajectories))
    return rows


def _updated(rows, *, lr=1e-2, seed=0, sgd=False, **settings):
    model = tiny_model(0)
    optimizer = (torch.optim.SGD if sgd else torch.optim.AdamW)(model.parameters(), lr=lr)
    settings = UpdateSettings(temperature=ROLLOUT_TEMPERATURE, **settings)
    metrics = PolicyUpdater(model, optimizer, settings).update(rows, generator=torch.Generator().manual_seed(seed))
    return model, metrics


@pytest.mark.parametrize("aggregation", ["token-mean", "seq-mean-token-mean", "seq-mean-token-sum"])
def test_the_step_does_not_depend_on_how_rows_are_cut_into_micro_batches(world_rollout, aggregation):
    rows = _rows(world_rollout)
    # SGD: Adam's first step is lr * sign(gradient), which rounding noise flips on zero entries.
    one_pack, metrics_one = _updated(rows, micro_batch_tokens=100_000, aggregation=aggregation, sgd=True, lr=1.0)
    many_packs, metrics_many = _updated(rows, micro_batch_tokens=40, aggregation=aggregation, sgd=True, lr=1.0)
    assert metrics_many["micro_batches"] > metrics_one["micro_batches"] == 1
    start = tiny_model(0)
    assert not torch.allclose(next(start.parameters()), next(one_pack.parameters()))
    for a, b in zip(one_pack.parameters(), many_packs.parameters()):
        assert torch.allclose(a, b, atol=1e-6)
    assert metrics_one["loss"] == pytest.approx(metrics_many["loss"], abs=1e-6)
    assert metrics_one["grad_norm"] == pytest.approx(metrics_many["grad_norm"], rel=1e-5)


def test_aggregation_modes_give_different_steps(world_rollout):
    rows = _rows(world_rollout)
    token_mean, _ = _updated(rows, aggregation="token-mean", max_grad_norm=None, lr=1e-3)
    seq_sum, _ = _updated(rows, aggregation="seq-mean-token-sum", max_grad_norm=None, lr=1e-3)
    assert not all(torch.allclose(a, b) for a, b in zip(token_mean.parameters(), seq_sum.parameters()))


def test_an_update_moves_probability_towards_positive_advantages(world_rollout):
    rows = _rows(world_rollout)
    before, _ = score_rows(tiny_model(0), rows, temperature=ROLLOUT_TEMPERATURE, token_budget=4096)
    model, metrics = _updated(rows, epochs=2, mini_batches=2)
    after, _ = score_rows(model, rows, temperature=ROLLOUT_TEMPERATURE, token_budget=4096)
    up = [float((a - b)[torch.from_numpy(r.loss_mask & (r.advantages > 0))].mean())
          for r, a, b in zip(rows, after, before) if (r.advantages > 0).any()]
    down = [float((a - b)[torch.from_numpy(r.loss_mask & (r.advantages < 0))].mean())
            for r, a, b in zip(rows, after, before) if (r.advantages < 0).any()]
    assert up and down
    assert np.mean(up) > 0.05 and np.mean(down) < -0.05
    assert metrics["optimizer_steps"] == 4
    # The first mini-batch starts at ratio 1: the recomputed log-probs match the sampled ones.
    assert metrics["ratio_max"] > 1.0 and 0 <= metrics["clip_fraction"] <= 1


def test_kl_term_needs_reference_logprobs_and_is_zero_against_itself(world_rollout):
    rows = _rows(world_rollout)
    with pytest.raises(ValueError, match="ref_logprobs"):
        _updated(rows, kl_coef=0.1)
    reference, _ = score_rows(tiny_model(0), rows, temperature=ROLLOUT_TEMPERATURE, token_budget=4096)
    for row, ref in zip(rows, reference):
        row.ref_logprobs = ref.numpy()
    _, metrics = _updated(rows, kl_coef=0.1, kl_estimator="k3", lr=1e-9)
    assert metrics["kl"] == pytest.approx(0.0, abs=1e-6)
    _, moved = _updated(rows, kl_coef=0.1, kl_estimator="k3", lr=5e-2, epochs=3)
    assert moved["kl"] > 1e-4


def test_value_head_learns_its_targets(world_rollout):
    rows = _rows(world_rollout)
    for row in rows:
        row.value_targets = np.where(row.loss_mask, 0.75, 0.0).astype(np.float32)
    model = tiny_model(0)
    head = ValueHead(model.config.hidden_size)
    optimizer = torch.optim.AdamW([*model.parameters(), *head.parameters()], lr=1e-2)
    updater = PolicyUpdater(model, optimizer, UpdateSettings(temperature=ROLLOUT_TEMPERATURE, value_coef=1.0),
                            value_head=head)
    losses = [updater.update(rows)["value_loss"] for _ in range(15)]
    assert losses[0] == pytest.approx(0.5 * 0.75**2, rel=0.05)  # the head starts near 0
    assert losses[-1] < 0.1 * losses[0]


def test_settings_are_checked():
    with pytest.raises(ValueError, match="mini_batches"):
        UpdateSettings(mini_batches=0)
    with pytest.raises(ValueError, match="aggregation"):
        UpdateSettings(aggregation="mean")
    with pytest.raises(ValueError, match="dual_clip"):
        UpdateSettings(dual_clip=0.5)


def test_bf16_autocast_takes_nearly_the_float32_step(world_rollout):
    """The mixed-precision path (``autocast_dtype``, the trainer's bf16 on GPUs) runs here under
    CPU autocast: float32 master weights, bf16 matmuls, and a step close to the float32 one."""
    rows = _rows(world_rollout)
    exact, exact_metrics = _updated(rows, sgd=True, lr=1.0, max_grad_norm=None)
    mixed, mixed_metrics = _updated(rows, sgd=True, lr=1.0, max_grad_norm=None, autocast_dtype=torch.bfloat16)
    start = tiny_model(0)
    exact_step = torch.cat([(a - s).reshape(-1) for a, s in zip(exact.parameters(), start.parameters())])
    mixed_step = torch.cat([(b - s).reshape(-1) for b, s in zip(mixed.parameters(), start.parameters())])
    assert all(p.dtype == torch.float32 for p in mixed.parameters())
    assert not torch.equal(exact_step, mixed_step)  # bf16 really ran
    assert torch.nn.functional.cosine_similarity(exact_step, mixed_step, dim=0) > 0.999
    assert mixed_metrics["grad_norm"] == pytest.approx(exact_metrics["grad_norm"], rel=0.01)
    assert mixed_metrics["loss"] == pytest.approx(exact_metrics["loss"], abs=1e-3)
