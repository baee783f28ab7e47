"""How likely a causal LM finds an answer right after each of many prefixes of one sequence.

For a token sequence ``x``, context lengths (boundaries) ``b_1..b_K`` and a block ``s + a``
(answer stub tokens ``s``, then answer tokens ``a_1..a_L``), compute for every boundary

    v_k = (1/L) * sum_j log p(a_j | x[:b_k], s, a_<j)

the mean log-probability of the answer tokens only, teacher-forced behind the prefix and the
stub. :func:`answer_log_probs_brute_force` does the obvious thing, one forward pass per prefix.
:func:`answer_log_probs` gets the same numbers at about the cost of one forward pass over ``x``
because the prefixes are nested:

1. **Prefix pass.** ``x[:P]``, ``P = max_k b_k - 1``, goes through the model once, filling a
   KV cache; no logits are needed (only the last position's is computed where the model takes
   ``logits_to_keep``).
2. **Block pass.** One copy of ``[x[b_k - 1]] + s + a[:-1]`` per boundary, all copies side by
   side in one short query, with position ids continuing from ``b_k - 1`` and a 4D attention
   mask: a copy sees the cache up to ``b_k - 1`` and itself causally, never the other copies.
   Re-feeding the boundary's last token ``x[b_k - 1]`` makes the copy's first logits predict
   the first stub (or answer) token, so an empty stub needs no special case and the prefix
   pass needs no logits. The logits predicting ``a`` give ``v_k``.

Sequences are batched (right-padded: causal attention never looks at the padding to the right
of a token, so the prefix pass needs no mask; the block mask hides the padding).

Which models: any Hugging Face causal LM whose layers are attention. Rotary or learned
positions both work (positions are passed explicitly). Sliding-window layers get the window in
their block mask (one mask per layer kind for models that mix kinds, as ``config.layer_types``
says) and the cache keeps every position. A custom 4D mask is honoured by the ``eager`` and
``sdpa`` attention implementations; for any other (FlashAttention, flex attention, a custom
kernel) the block pass temporarily switches the model to ``sdpa`` and back, while the prefix
pass keeps the model's own kernel (the switch is visible to other threads using the model
meanwhile). Layers that carry state along the sequence (convolutions, linear attention,
state-space layers) cannot be forked by a mask, ALiBi models (Bloom, MPT, Falcon with
``alibi``) derive their positions from a 2D attention mask, which the block pass cannot give,
and GPT-Neo's local layers window by cache slot, not by position: such models are scored by
brute force, with a warning.

Both functions run under ``torch.inference_mode`` with the model in eval mode (its previous
mode is restored) and compute log-softmax in float32 (float64 for a float64 model).
"""

from __future__ import annotations

import inspect
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import torch
from transformers import DynamicCache

from agentgym.policies.hf import cache_keyword

# Attention implementations that apply an additive 4D mask as given.
_MASK_AWARE_ATTENTION = ("eager", "sdpa")
# Layer kinds (``config.layer_types``) whose only link between positions is masked attention.
_ATTENTION_LAYERS = {"full_attention", "sliding_attention"}


@dataclass(frozen=True)
class AnswerQuery:
    """Score ``block_ids``' last ``answer_length`` tokens after ``token_ids[:b]`` for each ``b``.

    Attributes:
        token_ids: the sequence (only ``token_ids[:max(boundaries)]`` is read).
        boundaries: context lengths, each in ``[1, len(token_ids)]``, in any order.
        block_ids: the stub tokens followed by the answer tokens.
        answer_length: how many tokens at the end of ``block_ids`` are the answer (>= 1).
    """

    token_ids: Sequence[int]
    boundaries: Sequence[int]
    block_ids: Sequence[int]
    answer_length: int

    def __post_init__(self) -> None:
        if not 1 <= self.answer_length <= len(self.block_ids):
            raise ValueError(f"answer_length must be in [1, {len(self.block_ids)}], got {self.answer_length}")
        bad = [b for b in self.boundaries if not 1 <= b <= len(self.token_ids)]
        if bad:
            raise ValueError(f"boundaries must be in [1, {len(self.token_ids)}], got {bad}")

    @property
    def block_length(self) -> int:
        return len(self.block_ids)


def answer_log_probs(model: Any, queries: Sequence[AnswerQuery], *, batch_size: int = 8) -> list[list[float]]:
    """``v_k`` for each boundary of each query (same order), two forward passes per batch of
    ``batch_size`` queries; see the module docstring.

    A model with layers that are not attention (``config.layer_types`` naming convolutions,
    linear attention or state-space layers) carries state through the sequence that no mask can
    fork: it is scored by brute force, one unpadded sequence at a time, with a warning. An ALiBi
    model reads its positions from a 2D mask, not from position ids, and GPT-Neo's local layers
    window by cache slot (:func:`_unforkable_positions`): they are scored by brute force
    ``batch_size`` prefixes at a time (left padding under a 2D mask), with a warning.
    """
    _check_batch_size(batch_size)
    layer_kinds = set(getattr(model.config, "layer_types", None) or ()) - _ATTENTION_LAYERS
    if layer_kinds:
        warnings.warn(f"{type(model).__name__} has {sorted(layer_kinds)} layers, whose state cannot be "
                      "forked by attention masks: scoring one forward pass per context", stacklevel=2)
        return answer_log_probs_brute_force(model, queries, batch_size=1)
    unforkable = _unforkable_positions(model.config)
    if unforkable:
        warnings.warn(f"{type(model).__name__} {unforkable}: scoring one forward pass per context", stacklevel=2)
        return answer_log_probs_brute_force(model, queries, batch_size=batch_size)
    results: list[list[float]] = [[] for _ in queries]
    # Similar lengths share a batch, so less padding is computed.
    order = sorted(range(len(queries)), key=lambda i: max(queries[i].boundaries, default=0))
    order = [i for i in order if queries[i].boundaries]
    with _scoring_mode(model):
        for start in range(0, len(order), batch_size):
            chunk = order[start: start + batch_size]
            for i, values in zip(chunk, _score_batch(model, [queries[i] for i in chunk])):
                results[i] = values
    return results


def answer_log_probs_brute_force(model: Any, queries: Sequence[AnswerQuery], *,
                                 batch_size: int = 8) -> list[list[float]]:
    """``v_k`` computed the naive way: one forward pass over ``token_ids[:b] + block_ids`` for
    every boundary ``b`` (the reference the efficient path is tested and benchmarked against).

    Prefixes are batched ``batch_size`` at a time, left-padded with an attention mask and
    position ids that skip the padding, so the answers line up at the end and only their
    logits are computed (``batch_size=1`` pads nothing, for models whose convolution or
    recurrent layers would read the padding).
    """
    _check_batch_size(batch_size)
    rows = [(i, k) for i, query in enumerate(queries) for k in range(len(query.boundaries))]
    rows.sort(key=lambda row: queries[row[0]].boundaries[row[1]])
    results = [[0.0] * len(query.boundaries) for query in queries]
    device = _device(model)
    with _scoring_mode(model):
        for start in range(0, len(rows), batch_size):
            chunk = rows[start: start + batch_size]
            sequences = [list(queries[i].token_ids[: queries[i].boundaries[k]]) + list(queries[i].block_ids)
                         for i, k in chunk]
            width = max(map(len, sequences))
            input_ids = torch.zeros((len(chunk), width), dtype=torch.long)
            attention_mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for r, sequence in enumerate(sequences):
                input_ids[r, width - len(sequence):] = torch.tensor(sequence)
                attention_mask[r, width - len(sequence):] = 1
            position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
            # An answer of L tokens is predicted by the L positions before the last one.
            kept = max(queries[i].answer_length for i, _ in chunk) + 1
            logits = model(input_ids=input_ids.to(device), attention_mask=attention_mask.to(device),
                           position_ids=position_ids.to(device), **_logits_to_keep(model, kept)).logits[:, -kept:]
            log_probs = torch.log_softmax(_at_least_float32(logits), dim=-1)
            for r, (i, k) in enumerate(chunk):
                answer = torch.tensor(list(queries[i].block_ids[-queries[i].answer_length:]), device=device)
                picked = log_probs[r, kept - 1 - len(answer): kept - 1].gather(-1, answer[:, None])
                results[i][k] = float(picked.mean())
    return results


# ---------------------------------------------------------------------- efficient path
def _score_batch(model: Any, queries: list[AnswerQuery]) -> list[list[float]]:
    device = _device(model)
    prefix_lengths = [max(query.boundaries) - 1 for query in queries]
    width = max(prefix_lengths)
    cache = DynamicCache()  # full-length layers: a sliding-window cache would drop prefix tokens
    if width > 0:
        prefix = torch.zeros((len(queries), width), dtype=torch.long)
        for row, (query, length) in enumerate(zip(queries, prefix_lengths)):
            prefix[row, :length] = torch.tensor(list(query.token_ids[:length]))
        model(input_ids=prefix.to(device), use_cache=True, **{cache_keyword(model): cache}, **_logits_to_keep(model, 1))

    input_ids, position_ids, mask, targets = _block_inputs(queries, width, _dtype(model))
    masks = _layer_masks(model.config, mask, position_ids, width)
    with _attention_accepting_masks(model):
        logits = model(input_ids=input_ids.to(device), position_ids=position_ids.to(device),
                       attention_mask=_to(masks, device), use_cache=True, **{cache_keyword(model): cache}).logits
    values = []
    for row, (query, (positions, answer)) in enumerate(zip(queries, targets)):
        log_probs = torch.log_softmax(_at_least_float32(logits[row, positions]), dim=-1)
        picked = log_probs.gather(-1, answer.to(device)[:, None]).view(len(query.boundaries), query.answer_length)
        values.append(picked.mean(dim=-1).tolist())
    return values


def _block_inputs(queries: list[AnswerQuery], prefix_width: int, dtype: torch.dtype):
    """Token ids, position ids and the additive 4D mask of the block pass, and for each query
    the rows whose logits predict its answer tokens with those tokens."""
    length = max(query.block_length * len(query.boundaries) for query in queries)
    blocked = torch.finfo(dtype).min
    input_ids = torch.zeros((len(queries), length), dtype=torch.long)
    position_ids = torch.zeros((len(queries), length), dtype=torch.long)
    mask = torch.full((len(queries), 1, length, prefix_width + length), blocked, dtype=dtype)
    targets = []
    for row, query in enumerate(queries):
        m, answer = query.block_length, list(query.block_ids[-query.answer_length:])
        causal = torch.full((m, m), blocked, dtype=dtype).triu(diagonal=1)
        feed = torch.tensor(list(query.block_ids[:-1]))
        positions = []
        for k, boundary in enumerate(query.boundaries):
            start = k * m
            input_ids[row, start] = int(query.token_ids[boundary - 1])
            input_ids[row, start + 1: start + m] = feed
            position_ids[row, start: start + m] = torch.arange(boundary - 1, boundary - 1 + m)
            mask[row, 0, start: start + m, : boundary - 1] = 0
            mask[row, 0, start: start + m, prefix_width + start: prefix_width + start + m] = causal
            positions.extend(range(start + m - query.answer_length, start + m))
        used = m * len(query.boundaries)
        # Padding rows attend to themselves only: a fully masked row would make NaNs.
        padding = torch.arange(used, length)
        mask[row, 0, padding, prefix_width + padding] = 0
        targets.append((torch.tensor(positions), torch.tensor(answer * len(query.boundaries))))
    return input_ids, position_ids, mask, targets


def _layer_masks(config: Any, mask: torch.Tensor, position_ids: torch.Tensor,
                 prefix_width: int) -> torch.Tensor | dict[str, torch.Tensor]:
    """The block mask in the form the model's layers take it. Sliding-window layers also hide
    keys ``sliding_window`` or more positions behind the query (transformers' convention); a
    model mixing layer kinds (``config.layer_types``) takes one mask per kind."""
    window = getattr(config, "sliding_window", None)
    layer_types = getattr(config, "layer_types", None)
    if layer_types:
        sliding = "sliding_attention" in layer_types
    else:  # one kind of layer: sliding when the config has a window in use
        sliding = bool(getattr(config, "use_sliding_window", True))
    if not window or not sliding:
        return mask
    key_positions = torch.cat([torch.arange(prefix_width).expand(len(mask), -1), position_ids], dim=1)
    too_far = key_positions[:, None, None, :] <= position_ids[:, None, :, None] - window
    windowed = mask.masked_fill(too_far, torch.finfo(mask.dtype).min)
    if layer_types:
        return {kind: windowed if kind == "sliding_attention" else mask for kind in set(layer_types)}
    return windowed


# --------------------------------------------------------------------------- helpers
def _to(masks: torch.Tensor | dict[str, torch.Tensor], device: torch.device):
    if isinstance(masks, dict):
        return {kind: mask.to(device) for kind, mask in masks.items()}
    return masks.to(device)


@contextmanager
def _scoring_mode(model: Any) -> Iterator[None]:
    """Eval mode and no autograd, restoring the model's training flag afterwards."""
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            yield
    finally:
        model.train(was_training)


@contextmanager
def _attention_accepting_masks(model: Any) -> Iterator[None]:
    """Run with an attention implementation that applies custom 4D masks (``sdpa`` unless the
    model already uses ``eager`` or ``sdpa``)."""
    current = model.config._attn_implementation
    if current in _MASK_AWARE_ATTENTION:
        yield
        return
    model.set_attn_implementation("sdpa")
    try:
        yield
    finally:
        model.set_attn_implementation(current)


def _unforkable_positions(config: Any) -> str | None:
    """Why the block pass cannot place its copies, or ``None`` when it can:

    * ALiBi positions are biases built from the attention mask (Bloom always; Falcon's ``alibi``,
      MPT's ``attn_config.alibi``): the position ids would be ignored, and the 4D mask refused
      (Bloom, Falcon) or read wrong (MPT, in silence);
    * GPT-Neo's ``local`` layers keep the keys within ``window_size`` cache slots of the query,
      whatever the position ids say: a copy placed after the whole prefix would lose its context.
    """
    if (getattr(config, "model_type", None) == "bloom" or getattr(config, "alibi", False) is True
            or getattr(getattr(config, "attn_config", None), "alibi", False) is True):
        return "takes its ALiBi positions from a 2D attention mask, not from position ids"
    layers = getattr(config, "attention_layers", None)
    if isinstance(layers, (list, tuple)) and "local" in layers:
        return "has local attention layers whose window counts cache slots, not positions"
    return None


def _logits_to_keep(model: Any, count: int) -> dict[str, int]:
    """``{"logits_to_keep": count}`` where the model's forward takes it, else nothing (all
    logits are computed and the caller's slicing still works)."""
    accepts = "logits_to_keep" in inspect.signature(model.forward).parameters
    return {"logits_to_keep": count} if accepts else {}


def _device(model: Any) -> torch.device:
    return next(model.parameters()).device


def _dtype(model: Any) -> torch.dtype:
    return next(model.parameters()).dtype


def _at_least_float32(logits: torch.Tensor) -> torch.Tensor:
    return logits if logits.dtype == torch.float64 else logits.float()


def _check_batch_size(batch_size: int) -> None:
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
