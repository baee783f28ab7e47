"""From trajectories and advantages to packed micro-batches of training tokens.

One trajectory is one training row: its whole token sequence (prompt, every turn's action and
observation), with the loss on the tokens the policy generated (``Trajectory.loss_mask()``)
and, on those tokens, the sampling log-probs recorded at rollout time (the "old" log-probs),
the advantages and, when used, reference log-probs and value targets. All per-token arrays are
aligned with ``token_ids``: entry ``p`` belongs to the prediction of token ``p`` (made from the
positions before it).

Only token-exact trajectories can be trained on (DESIGN.md, invariant 1): a trajectory without
token ids, with a broken prefix, whose turns' action spans lie outside its tokens (a damaged
record) or start it (nothing predicts a first token), or whose turns lack their sampling
log-probs (or hold one that is not finite: a ``-inf`` or NaN a sampler recorded) is refused by
:func:`training_rows` — with :class:`NotTrainable` (``on_untrainable="error"``) or counted in the
returned :class:`RowReport` (``"skip"``); never silently.

Packing (:func:`pack_rows`)
    Rows are packed into micro-batches of at most ``token_budget`` tokens by first-fit
    decreasing (longest rows first, each into the first micro-batch with room). A micro-batch
    is one sequence: its rows concatenated, with position ids restarting at 0 for each row
    and no attention mask, which transformers reads as packed sequences and turns into a
    block-diagonal causal mask (each row attends only to itself; flash attention uses the
    boundaries directly). There is no padding at all; the only waste is budget a micro-batch
    leaves unused, reported as :attr:`PackingStats.fill` (tokens / (micro-batches x budget)).
    A row longer than the budget gets a micro-batch of its own (``oversize_rows``). Packed rows
    stay apart without that mask under :mod:`.packed_attention` (per-row causal attention,
    memory linear in the packed length), which the update uses by default.

The token budget (:func:`auto_token_budget`)
    ``micro_batch_tokens = "auto"`` sizes a micro-batch from the memory a device has free and
    what one token of a forward/backward pass keeps (:func:`bytes_per_token`)::

        budget = round_down(safety * (free - reserved) / bytes_per_token, 256)   in [256, cap]

    with ``reserved`` the gradients and AdamW moments the step may still allocate (3 x the
    trainable parameters' bytes), ``safety = 0.5`` (allocator fragmentation, kernel workspaces
    and what the estimate leaves out) and the cap 4096 on a CPU (a larger pass is no faster
    there, and RAM is shared with the rollouts) or 65,536 on a GPU. Where attention is
    quadratic (the model's own mask over packed rows) the term ``bytes_per_pair * L^2`` joins
    and the budget solves ``a L + b L^2 = safety * (free - reserved)``.

Images (vision-language policies)
    With ``training_rows(..., vision=family)`` (a :class:`~agentgym.policies.hf_vision.VisionFamily`
    over the policy's processor) a row also carries its images: the image parts of the
    trajectory's messages, in order, as many as the token sequence holds (its image tokens must
    be exactly the tokens those images fill, else the trajectory is not trainable), each
    processed as the policy processed it at rollout time; and, for M-RoPE models (Qwen-VL), its
    ``[3, L]`` rotary positions. A micro-batch carries its rows' images in row order and their
    rotary positions concatenated; :func:`~agentgym.train.update.forward_micro_batch` gives them
    to the model, so the recomputed log-probs are those of the rollout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

import numpy as np
import torch

from agentgym.credit.base import Advantages
from agentgym.trajectory import Trajectory


class NotTrainable(ValueError):
    """A trajectory the trainer cannot learn from token by token."""


@dataclass
class TrainingRow:
    """One trajectory, ready to train on (see the module docstring).

    Attributes:
        token_ids: the whole token sequence.
        loss_mask: 1 on generated tokens, else 0.
        old_logprobs: sampling log-probs on the mask (0 elsewhere).
        advantages: advantages on the mask (0 elsewhere).
        ref_logprobs: reference-policy log-probs on the mask, when a KL term needs them.
        value_targets: the critic's regression targets (PPO), on the mask.
        old_values: the critic's values at rollout time (for value clipping), on the mask.
        weight: multiplies this row's loss (group down-weighting).
        source: the index of the trajectory in its batch.
        images: the images of the sequence, in the order of their tokens
            (:class:`~agentgym.policies.hf_vision.ImageInputs`; vision-language policies only).
        rope_positions: ``[3, L]`` M-RoPE positions (Qwen-VL), else ``None``.
        vision: the :class:`~agentgym.policies.hf_vision.VisionFamily` that made ``images``.
        proximal_logprobs: asynchronous training: the learner's log-probs before the update, on
            the mask (the decoupled objective, :func:`~agentgym.train.loss.decoupled_policy_loss`,
            then weighs each token by ``exp(proximal - old)``); ``None`` in synchronous training.
    """

    token_ids: np.ndarray
    loss_mask: np.ndarray
    old_logprobs: np.ndarray
    advantages: np.ndarray
    ref_logprobs: np.ndarray | None = None
    value_targets: np.ndarray | None = None
    old_values: np.ndarray | None = None
    weight: float = 1.0
    source: int = -1
    images: list[Any] | None = None
    rope_positions: np.ndarray | None = None
    vision: Any = None
    proximal_logprobs: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.token_ids)

    @property
    def num_loss_tokens(self) -> int:
        return int(self.loss_mask.sum())


@dataclass
class RowReport:
    """Which trajectories became rows and why the others did not."""

    kept: list[int] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)


def check_trainable(trajectory: Trajectory, vision: Any = None) -> str | None:
    """Why ``trajectory`` cannot be trained on token by token, or ``None`` if it can: it needs
    token ids, every turn an action span within them (after the first token, which nothing
    predicts) and a finite sampling log-prob per generated token; with ``vision``, its images
    must also match its image tokens (:func:`sequence_images`)."""
    if trajectory.error:  # first: an episode cut short has no tokens or turns, for this reason
        return f"episode failed: {trajectory.error}"
    if trajectory.token_ids is None:
        return "text-only trajectory (no token ids)"
    if trajectory.token_mismatches:
        return f"not token-exact ({trajectory.token_mismatches} broken prefix(es))"
    if not trajectory.turns:
        return "no turns"
    for turn in trajectory.turns:
        if turn.action_span is None:
            return f"turn {turn.index} has no action span"
        start, end = turn.action_span
        if not 0 <= start <= end <= len(trajectory.token_ids):  # a damaged record: tokens cut off
            return (f"turn {turn.index}: action_span {tuple(turn.action_span)} lies outside the "
                    f"{len(trajectory.token_ids)} recorded tokens")
        if start == 0 < end:
            return f"turn {turn.index}: its first token is generated; nothing predicts it"
        if turn.logprobs is None or len(turn.logprobs) != end - start:
            return f"turn {turn.index} lacks its sampling log-probs"
        finite = np.isfinite(np.asarray(turn.logprobs, dtype=np.float64))
        if not finite.all():  # exp(logp - logp_old) would be inf or NaN, and so the gradient
            token = int(np.argmin(finite))
            return (f"turn {turn.index} has a sampling log-prob that is not finite "
                    f"({turn.logprobs[token]} at its token {token})")
    if vision is not None:
        try:
            sequence_images(trajectory, vision)
        except (ValueError, OSError) as exc:  # OSError: a stored image that cannot be read
            return f"its images do not match its tokens: {exc}"
    return None


def training_rows(
    trajectories: Sequence[Trajectory],
    advantages: Advantages,
    *,
    on_untrainable: Literal["error", "skip"] = "skip",
    vision: Any = None,
) -> tuple[list[TrainingRow], RowReport]:
    """One :class:`TrainingRow` per trainable trajectory (module docstring); with ``vision``
    (a :class:`~agentgym.policies.hf_vision.VisionFamily`), rows carry their images."""
    if len(advantages) != len(trajectories):
        raise ValueError(f"{len(advantages)} advantage rows for {len(trajectories)} trajectories")
    rows, report = [], RowReport()
    for index, trajectory in enumerate(trajectories):
        reason = check_trainable(trajectory, vision)
        if reason is not None:
            if on_untrainable == "error":
                raise NotTrainable(f"trajectory {index} ({trajectory.group_id}): {reason}")
            report.skipped[index] = reason
            continue
        token_ids = np.asarray(trajectory.token_ids, dtype=np.int64)
        mask = np.asarray(trajectory.loss_mask(), dtype=bool)
        old = np.zeros(len(token_ids), dtype=np.float32)
        for turn in trajectory.turns:
            start, end = turn.action_span
            old[start:end] = turn.logprobs
        token_advantages = np.where(mask, advantages.tokens(index), 0.0).astype(np.float32)
        targets = None
        if advantages.value_targets is not None and advantages.value_targets[index] is not None:
            targets = np.where(mask, advantages.value_targets[index], 0.0).astype(np.float32)
        images, rope = sequence_images(trajectory, vision) if vision is not None else (None, None)
        rows.append(TrainingRow(token_ids, mask, old, token_advantages, value_targets=targets, source=index,
                                images=images, rope_positions=rope, vision=vision))
        report.kept.append(index)
    return rows, report


def assign_advantages(rows: Sequence[TrainingRow], advantages: Advantages) -> None:
    """Put ``advantages`` into rows built earlier (each row's ``source`` is its trajectory's
    index): the step builds its rows once, before the estimator runs (the KL reference and the
    critic read them), and fills in the advantages and value targets afterwards."""
    for row in rows:
        row.advantages = np.where(row.loss_mask, advantages.tokens(row.source), 0.0).astype(np.float32)
        targets = advantages.value_targets[row.source] if advantages.value_targets is not None else None
        row.value_targets = None if targets is None else np.where(row.loss_mask, targets, 0.0).astype(np.float32)


def sequence_images(trajectory: Trajectory, vision: Any) -> tuple[list[Any], np.ndarray | None]:
    """The images of ``trajectory``'s token sequence (processed by ``vision``) and, for M-RoPE
    families, its ``[3, L]`` positions: the first image parts of its messages that fill exactly
    the sequence's image tokens (the messages may end with an observation the policy never
    read). ``ValueError`` when no such prefix exists."""
    from agentgym.rollout.transcript import message_images

    token_ids = trajectory.token_ids
    needed = sum(1 for token in token_ids if token == vision.image_token_id)
    images, filled = [], 0
    for image in message_images(trajectory.messages):
        if filled >= needed:
            break
        encoded = vision.encode_image(image)
        images.append(encoded)
        filled += encoded.num_tokens
    vision.check_tokens(token_ids, images)
    return images, (vision.rope_positions(token_ids, images) if vision.rope else None)


@dataclass
class MicroBatch:
    """Rows packed into one sequence (module docstring); tensors on the CPU, shape ``[1, L]``
    for model inputs and ``[L]`` for per-token values (entry ``p`` scores token ``p``).
    ``images`` are the rows' images in row order, ``rope_position_ids`` their M-RoPE positions
    (``[3, 1, L]``) and ``vision`` their family (``None`` without images);
    ``proximal_logprobs`` those of the rows (asynchronous training), else ``None``."""

    rows: list[TrainingRow]
    input_ids: torch.Tensor
    position_ids: torch.Tensor
    loss_mask: torch.Tensor
    old_logprobs: torch.Tensor
    advantages: torch.Tensor
    token_weights: torch.Tensor
    ref_logprobs: torch.Tensor | None
    value_targets: torch.Tensor | None
    old_values: torch.Tensor | None
    images: list[Any] | None = None
    rope_position_ids: torch.Tensor | None = None
    vision: Any = None
    proximal_logprobs: torch.Tensor | None = None

    @property
    def num_tokens(self) -> int:
        return int(self.input_ids.shape[1])

    def to(self, device: torch.device | str) -> MicroBatch:
        moved = {name: (value.to(device) if isinstance(value, torch.Tensor) else value)
                 for name, value in vars(self).items()}
        return MicroBatch(**moved)


@dataclass(frozen=True)
class PackingStats:
    """How well a set of rows packed: ``fill`` = tokens / (micro-batches x budget)."""

    micro_batches: int
    tokens: int
    token_budget: int
    oversize_rows: int

    @property
    def fill(self) -> float:
        capacity = self.micro_batches * self.token_budget
        return self.tokens / capacity if capacity else 1.0


def first_fit_decreasing(lengths: Sequence[int], budget: int) -> list[list[int]]:
    """Indices of ``lengths`` grouped into bins whose sums stay within ``budget`` (an item
    longer than the budget gets a bin of its own). Longest first, each into the first bin with
    room; bins come out in order of creation, items in a bin in order of insertion."""
    if budget < 1:
        raise ValueError(f"the token budget must be positive, got {budget}")
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    bins: list[list[int]] = []
    room: list[int] = []
    for i in order:
        for b, free in enumerate(room):
            if lengths[i] <= free:
                bins[b].append(i)
                room[b] -= lengths[i]
                break
        else:
            bins.append([i])
            room.append(budget - lengths[i])
    return bins


def pack_rows(rows: Sequence[TrainingRow], token_weights: Sequence[float], token_budget: int
              ) -> tuple[list[MicroBatch], PackingStats]:
    """Pack ``rows`` (``token_weights[i]``: the loss weight of each masked token of row ``i``)
    into micro-batches; see the module docstring."""
    if len(token_weights) != len(rows):
        raise ValueError(f"{len(token_weights)} weights for {len(rows)} rows")
    bins = first_fit_decreasing([len(row) for row in rows], token_budget)
    batches = [_concatenate([rows[i] for i in members], [token_weights[i] for i in members]) for members in bins]
    stats = PackingStats(len(batches), sum(len(row) for row in rows), token_budget,
                         sum(len(row) > token_budget for row in rows))
    return batches, stats


def _concatenate(rows: list[TrainingRow], weights: list[float]) -> MicroBatch:
    def cat(name: str, dtype: torch.dtype) -> torch.Tensor:
        return torch.from_numpy(np.concatenate([getattr(row, name) for row in rows])).to(dtype)

    def optional(name: str) -> torch.Tensor | None:
        present = [getattr(row, name) is not None for row in rows]
        if not any(present):
            return None
        if not all(present):
            raise ValueError(f"some rows of a micro-batch have {name} and some do not")
        return cat(name, torch.float32)

    ids = cat("token_ids", torch.long)
    positions = torch.from_numpy(np.concatenate([np.arange(len(row)) for row in rows])).long()
    token_weights = torch.from_numpy(np.concatenate(
        [np.where(row.loss_mask, weight * row.weight, 0.0) for row, weight in zip(rows, weights)])).float()
    vision = next((row.vision for row in rows if row.vision is not None), None)
    images = [image for row in rows for image in (row.images or [])] if vision is not None else None
    rope = None
    if any(row.rope_positions is not None for row in rows):
        # A row without images has text positions on all three axes.
        rope = torch.from_numpy(np.concatenate(
            [row.rope_positions if row.rope_positions is not None else np.tile(np.arange(len(row)), (3, 1))
             for row in rows], axis=1)).long()[:, None]
    return MicroBatch(rows=rows, input_ids=ids[None], position_ids=positions[None],
                      loss_mask=cat("loss_mask", torch.bool),
                      old_logprobs=cat("old_logprobs", torch.float32), advantages=cat("advantages", torch.float32),
                      token_weights=token_weights, ref_logprobs=optional("ref_logprobs"),
                      value_targets=optional("value_targets"), old_values=optional("old_values"),
                      images=images, rope_position_ids=rope, vision=vision,
                      proximal_logprobs=optional("proximal_logprobs"))


# ----------------------------------------------------------------------------- the token budget
CPU_TOKEN_CAP = 4096
GPU_TOKEN_CAP = 65_536
BUDGET_SAFETY = 0.5
BUDGET_STEP = 256
LOGIT_COPIES = 6


def bytes_per_token(*, hidden_size: int, intermediate_size: int, layers: int, vocab_size: int, kv_size: int,
                    element_size: int) -> int:
    """What one token of a training forward/backward pass keeps, in bytes (an estimate; see
    :func:`auto_token_budget`).

    Per decoder layer (a Llama-family block: RMSNorm, attention with rotary embeddings,
    SwiGLU MLP), the tensors autograd saves for the backward pass, in elements per token:
    the attention half keeps its norm's input and output (2h), the query and key and their
    rotated halves for the rotary products (2h + 2kv), the attention's inputs and output
    (h + 2kv + h) and the output projection's input (h): ``7h + 4kv``; the MLP half keeps its
    norm's input and output (2h) and gate, up, activated gate and product (4I). So
    ``9h + 4kv + 4I`` per layer, at ``element_size`` bytes (give the weights' size: under
    autocast the norms keep float32 copies, which this covers). The head
    keeps float32 logits and their log-softmax, softmax and the entropy's product, plus their
    gradients in the backward pass: ``6 V`` float32 values per scored token (counted for every
    token: a pass may score all of them). ``kv`` is the key/value width ``kv_heads x head_dim``.

    Checked against one measurement: SmolLM2-135M (h 576, kv 192, I 1536, 30 layers,
    V 49,152, float32) gives 2.63 MB a token, 21.5 GB at 8192 tokens plus 2.2 GB of weights and
    AdamW state: the 24 GB that run ran out of.
    """
    per_layer = 9 * hidden_size + 4 * kv_size + 4 * intermediate_size
    return layers * per_layer * element_size + LOGIT_COPIES * vocab_size * 4


def auto_token_budget(free_bytes: float, *, bytes_per_token: float, bytes_per_pair: float = 0.0,
                      reserved_bytes: float = 0.0, cap: int, safety: float = BUDGET_SAFETY,
                      step: int = BUDGET_STEP) -> int:
    """The largest micro-batch length ``L`` (a multiple of ``step``, at least ``step``, at
    most ``cap``) with ``bytes_per_token * L + bytes_per_pair * L^2 <= safety * (free_bytes -
    reserved_bytes)`` (module docstring). A pure function: the caller measures the memory."""
    if bytes_per_token <= 0 or bytes_per_pair < 0 or not 0 < safety <= 1 or cap < step:
        raise ValueError(f"need bytes_per_token > 0, bytes_per_pair >= 0, 0 < safety <= 1 and cap >= step, got "
                         f"{bytes_per_token}, {bytes_per_pair}, {safety}, {cap} < {step}")
    usable = max(0.0, safety * (free_bytes - reserved_bytes))
    if bytes_per_pair:  # the positive root of b L^2 + a L - usable = 0
        a, b = bytes_per_token, bytes_per_pair
        length = (math.sqrt(a * a + 4 * b * usable) - a) / (2 * b)
    else:
        length = usable / bytes_per_token
    return int(min(cap, max(step, math.floor(length / step) * step)))
