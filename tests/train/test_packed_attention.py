"""Packed attention (agentgym.train.packed_attention): exact per-row causal attention over packed
rows, memory linear in the packed length, and the attention choice applied to updates only.

Tolerances (float32, unit roundoff eps = 6e-8). A packed row and the same row alone go through
the very same per-row attention on the same numbers; what differs is the order in which the
linear layers and the weight gradients sum: a dot product of length n rounds by at most
about n * eps of the sum of its terms' magnitudes, ~4e-6 relative at the hidden width 64, and
a weight gradient sums over every token of the micro-batch (~100 here). So log-probs (of size
~3) are compared at 1e-5 and gradients at 1e-4 of their largest entry. A row that attended
to the rows before it moves its log-probs by ~0.1 or more (checked below), four orders of
magnitude above these tolerances.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from agentgym.train.batching import TrainingRow, pack_rows
from agentgym.train.packed_attention import (
    IMPLEMENTATION,
    packed_attention_forward,
    packing_obstacle,
    resolve_attention,
    use_attention,
)
from agentgym.train.update import PolicyUpdater, UpdateSettings, forward_micro_batch
from tests.train.word_world import tiny_model, word_tokenizer

TEMPERATURE = 0.7


def _rows(lengths, seed=0, vocab=None):
    """Rows of random tokens; every token after the first is a loss token, with a random
    advantage (so the loss reaches every row's log-probs)."""
    rng = np.random.default_rng(seed)
    vocab = vocab or len(word_tokenizer())
    rows = []
    for n in lengths:
        mask = np.ones(n, dtype=bool)
        mask[0] = False
        rows.append(TrainingRow(token_ids=rng.integers(3, vocab, n), loss_mask=mask,
                                old_logprobs=np.zeros(n, np.float32),
                                advantages=np.where(mask, rng.normal(size=n), 0.0).astype(np.float32)))
    return rows


def _scored(model, rows, attention):
    """Per-token log-probs of ``rows`` packed in one micro-batch (in the pack's row order,
    longest first), and the gradient of ``sum(advantage * logp)`` (concatenated over the
    parameters)."""
    model.zero_grad(set_to_none=True)
    batch = pack_rows(rows, [1.0] * len(rows), 10_000)[0][0]
    with use_attention(model, attention):
        result = forward_micro_batch(model, batch, temperature=TEMPERATURE, attention=attention)
        (result.logprobs * batch.advantages).sum().backward()
    grads = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
    model.zero_grad(set_to_none=True)
    return result.logprobs.detach(), grads


def test_packed_rows_score_and_train_exactly_as_each_row_alone_and_as_the_dense_mask():
    model = tiny_model(0, hidden_size=64)  # 4 heads over 2 key/value heads: grouped-query attention
    rows = _rows([31, 23, 12, 7, 3])  # longest first: the order packing puts them in
    packed, packed_grads = _scored(model, rows, "packed")
    alone = [_scored(model, [row], "model") for row in rows]
    alone_logprobs = torch.cat([logprobs for logprobs, _ in alone])
    alone_grads = torch.stack([grads for _, grads in alone]).sum(0)
    dense, dense_grads = _scored(model, rows, "model")  # transformers' block-diagonal L x L mask

    scale = alone_grads.abs().max()
    assert torch.allclose(packed, alone_logprobs, rtol=0, atol=1e-5)
    assert torch.allclose(packed_grads, alone_grads, rtol=0, atol=1e-4 * scale)
    assert torch.allclose(packed, dense, rtol=0, atol=1e-5)
    assert torch.allclose(packed_grads, dense_grads, rtol=0, atol=1e-4 * scale)
    # The tolerance tells rows apart: one sequence holding every row (each attending to the
    # rows before it) scores the later rows very differently.
    joined = TrainingRow(np.concatenate([r.token_ids for r in rows]), np.concatenate([r.loss_mask for r in rows]),
                         np.zeros(sum(map(len, rows)), np.float32), np.zeros(sum(map(len, rows)), np.float32))
    leaky, _ = _scored(model, [joined], "model")
    assert (leaky - alone_logprobs)[len(rows[0]):].abs().max() > 0.05


def _reference_attention(query, key, value, lengths, scaling, window=None):
    """softmax(Q K^T * s + log A) V with the dense block-diagonal causal mask A, in float64."""
    q, k, v = (t.double() for t in (query, key, value))
    groups = q.shape[1] // k.shape[1]
    k, v = k.repeat_interleave(groups, dim=1), v.repeat_interleave(groups, dim=1)
    row = torch.repeat_interleave(torch.arange(len(lengths)), torch.tensor(lengths))
    position = torch.cat([torch.arange(n) for n in lengths])
    allowed = (row[:, None] == row[None, :]) & (position[:, None] >= position[None, :])
    if window is not None:
        allowed &= position[:, None] - position[None, :] < window
    scores = (q @ k.transpose(-1, -2)) * scaling
    scores = scores.masked_fill(~allowed, float("-inf"))
    return (scores.softmax(-1) @ v).transpose(1, 2)


@pytest.mark.parametrize("head_dim, window", [(16, None), (320, None), (16, 5)])
def test_the_attention_function_is_the_block_diagonal_causal_attention(head_dim, window):
    """Grouped-query heads (fused, and repeated where the fused kernels stop: head_dim > 256),
    the scaling, a sliding window shorter than a row."""
    torch.manual_seed(0)
    lengths = [4, 9, 1, 6]
    length = sum(lengths)
    query, key, value = torch.randn(1, 4, length, head_dim), torch.randn(1, 2, length, head_dim), \
        torch.randn(1, 2, length, head_dim)
    positions = torch.cat([torch.arange(n) for n in lengths])[None]
    module = torch.nn.Module()
    output, weights = packed_attention_forward(module, query, key, value, None, scaling=0.3, position_ids=positions,
                                               sliding_window=window)
    assert weights is None and output.shape == (1, length, 4, head_dim)
    expected = _reference_attention(query, key, value, lengths, 0.3, window)
    assert torch.allclose(output.double(), expected, atol=1e-5)
    # The same rows given as cumulative lengths (a caller's flash-attention kwargs).
    cumulative = torch.tensor([0, 4, 13, 14, 20], dtype=torch.int32)
    again, _ = packed_attention_forward(module, query, key, value, None, scaling=0.3, cu_seq_lens_q=cumulative,
                                        position_ids=None, sliding_window=window)
    assert torch.equal(again, output)


def test_features_it_cannot_honour_are_refused_not_ignored():
    q = torch.randn(1, 2, 4, 8)
    positions = torch.arange(4)[None]
    with pytest.raises(NotImplementedError, match="softcap"):
        packed_attention_forward(torch.nn.Module(), q, q, q, None, softcap=30.0, position_ids=positions)
    with pytest.raises(NotImplementedError, match="position_ids"):
        packed_attention_forward(torch.nn.Module(), q, q, q, None)


class _LargestTensor(TorchDispatchMode):
    """Records the largest tensor any operation creates (elements and shape)."""

    def __init__(self):
        super().__init__()
        self.numel, self.shape = 0, ()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for tensor in tree_flatten(out)[0]:
            if isinstance(tensor, torch.Tensor) and tensor.numel() > self.numel:
                self.numel, self.shape = tensor.numel(), tuple(tensor.shape)
        return out


def _largest_tensor(model, rows, attention):
    batch = pack_rows(rows, [1.0] * len(rows), 100_000)[0][0]
    with use_attention(model, attention), _LargestTensor() as largest:
        result = forward_micro_batch(model, batch, temperature=1.0, attention=attention, loss_tokens_only=True)
        (result.logprobs * batch.advantages).sum().backward()
    model.zero_grad(set_to_none=True)
    return largest


def test_packed_attention_memory_grows_linearly_where_the_dense_mask_grows_quadratically():
    """Forward and backward of 4 and then 16 rows of 64 tokens (L = 256, then 1024): with the
    packed kernel the largest tensor grows 4x with L; with the model's own attention an
    L x L tensor appears (the mask), 16x larger at 4x the length."""
    model = tiny_model(0, hidden_size=32)
    short, long = _rows([64] * 4, seed=1), _rows([64] * 16, seed=2)
    packed = [_largest_tensor(model, rows, "packed") for rows in (short, long)]
    dense = [_largest_tensor(model, rows, "model") for rows in (short, long)]
    assert packed[1].numel <= 4 * packed[0].numel
    assert packed[1].numel < 1024 * 1024 // 8  # nothing near L x L
    assert dense[0].shape[-2:] == (256, 256) and dense[1].shape[-2:] == (1024, 1024)
    assert dense[1].numel == 16 * dense[0].numel


def test_the_choice_resolves_by_model_and_switches_only_inside_the_update():
    model = tiny_model(0)
    assert resolve_attention(model, "auto") == IMPLEMENTATION  # CPU: no flash-attention
    assert resolve_attention(model, "model") is None
    with pytest.raises(ValueError, match="attention must be one of"):
        resolve_attention(model, "fast")
    linear = torch.nn.Linear(2, 2)
    assert "not a transformers model" in packing_obstacle(linear)
    assert resolve_attention(linear, "auto") is None
    with pytest.raises(ValueError, match="cannot serve this model"):
        resolve_attention(linear, "packed")

    seen = []
    layer = model.model.layers[0].self_attn
    hook = layer.register_forward_pre_hook(lambda module, args: seen.append(module.config._attn_implementation))
    rows = _rows([5, 9])
    PolicyUpdater(model, torch.optim.SGD(model.parameters(), lr=0.1), UpdateSettings()).update(rows)
    hook.remove()
    assert seen == [IMPLEMENTATION] and model.config._attn_implementation == "sdpa"


def test_gradient_checkpointing_recomputes_under_the_same_attention():
    """The update holds the choice around its backward passes too, where a checkpointed model
    recomputes its forward: the step is the one without checkpointing."""
    rows = _rows([31, 23, 12])
    models = [tiny_model(0, hidden_size=64), tiny_model(0, hidden_size=64)]
    models[1].activation_checkpointing_enable()
    for model in models:
        PolicyUpdater(model, torch.optim.SGD(model.parameters(), lr=1.0), UpdateSettings(attention="packed")).update(rows)
    assert models[1].is_activation_checkpointing
    for a, b in zip(*(model.parameters() for model in models)):
        assert torch.allclose(a, b, rtol=0, atol=1e-6)
    assert not torch.equal(next(models[0].parameters()), next(tiny_model(0, hidden_size=64).parameters()))


def test_generation_under_the_packed_implementation_is_sdpa_generation():
    """Left-padded batched greedy decoding with a KV cache gives the same tokens with the
    implementation switched on (its mask function hands padding and caches to sdpa)."""
    model = tiny_model(0, hidden_size=64, initializer_range=0.2)
    pad = word_tokenizer().pad_token_id
    ids = torch.tensor([[pad, pad, 5, 6, 7], [8, 9, 10, 11, 12]])
    mask = (ids != pad).long()
    settings = dict(attention_mask=mask, max_new_tokens=6, do_sample=False, pad_token_id=pad)
    plain = model.generate(ids, **settings)
    with use_attention(model, "packed"):
        switched = model.generate(ids, **settings)
    assert torch.equal(plain, switched)


def test_a_trainer_step_and_an_sft_epoch_run_on_the_default_and_match_the_models_own_attention(tmp_path):
    from agentgym.policies.scripted import ScriptedPolicy
    from agentgym.train.config import TrainConfig
    from agentgym.train.sft import SFTSettings, demonstrations, fine_tune
    from agentgym.train.trainer import Trainer
    from tests.train.conftest import learner, world_config
    from tests.train.word_world import ENV_ID

    assert (TrainConfig().batching.attention, TrainConfig().batching.micro_batch_tokens) == ("auto", "auto")
    steps = {}
    for attention in ("auto", "model"):
        config = world_config(tmp_path / attention, run={"steps": 1}, batching={"attention": attention})
        steps[attention] = Trainer(config, **learner()).train()[0]
    assert steps["auto"]["train/micro_batch_tokens"] == 4096  # the CPU cap: a tiny model needs little memory
    for key in ("train/loss", "train/policy_loss", "train/grad_norm", "train/entropy"):
        assert steps["auto"][key] == pytest.approx(steps["model"][key], rel=1e-4, abs=1e-6), key

    demos = demonstrations(word_tokenizer(), ENV_ID, range(8), agent=ScriptedPolicy(["red", "green", "blue"]),
                           system_prompt="")
    epochs = {attention: fine_tune(tiny_model(0), demos, SFTSettings(epochs=1, lr=3e-3, rows_per_step=4,
                                                                   attention=attention))[0]
              for attention in ("auto", "model")}
    assert epochs["auto"]["micro_batch_tokens"] == 4096
    assert epochs["auto"]["nll"] == pytest.approx(epochs["model"]["nll"], rel=1e-5)
    assert epochs["auto"]["grad_norm"] == pytest.approx(epochs["model"]["grad_norm"], rel=1e-4)
