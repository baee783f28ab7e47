"""Attention over packed rows whose memory stays linear in the packed length.

A micro-batch (:mod:`.batching`) is one sequence of shape ``[1, L]``: rows of lengths
``n_1 + ... + n_k = L`` laid end to end, position ids restarting at 0 at each row and no
attention mask. Token ``i`` of row ``r`` may attend to tokens ``0..i`` of row ``r`` and to
nothing else: the attention matrix is block-diagonal, each block causal::

    A = diag(C_1, ..., C_k),    C_r = the n_r x n_r causal (lower-triangular) mask

**Why the model's own path is quadratic.** transformers sees restarting position ids and, for
its ``sdpa`` and ``eager`` implementations, *materialises* ``A`` as a dense ``[1, 1, L, L]``
mask (``masking_utils.create_causal_mask``), which every layer then hands to
``scaled_dot_product_attention`` (an explicit mask rules out its flash kernel, and the
memory-efficient kernels save an ``L x L`` additive mask per layer for the backward pass;
``eager`` keeps ``heads x L x L`` probabilities per layer). At ``L = 32,768`` that is 10^9
entries per copy: on an H200 a 32k-token micro-batch of a 0.5B model used 120 GB, 2x TRL.

**Why per-row causal attention equals it exactly.** Attention is a softmax over each query's
row of scores. Under ``A`` the scores of query ``i`` in row ``r`` outside row ``r``'s block
are -inf, so their softmax weight is exactly 0 and they add nothing to the output; inside the
block the admitted keys are exactly those a causal mask over row ``r`` alone admits. So::

    softmax(Q K^T * s + log A) V  restricted to row r  ==  causal_attention(Q_r, K_r, V_r)

for every row, and the packed output is the concatenation of the rows' outputs. That is what
:func:`packed_attention_forward` computes: ``scaled_dot_product_attention(q_r, k_r, v_r,
is_causal=True)`` per row, no mask passed, so torch picks its flash or memory-efficient
kernel, whose memory is linear in ``n_r``; the whole layer is then linear in ``L``. The
rotary embeddings already see each row's own positions (restarting at 0), so every row gets
exactly the numbers it would get alone; only floating-point summation order may differ.

How the rows are found: transformers passes the ``position_ids`` to the attention function
(the same path its FlashAttention-2 varlen support relies on); a row starts wherever a
position is not its predecessor's plus one (``masking_utils.find_packed_sequence_indices``'s
rule), or, when a caller passes them, at the ``cu_seq_lens_q`` offsets. A registered mask
function (:data:`IMPLEMENTATION` in ``AttentionMaskInterface``) returns ``None`` for such a
training forward, so no ``L x L`` mask is ever built; with a padding mask or a KV cache it
builds what ``sdpa`` would and the attention delegates to transformers' ``sdpa``, so
generation under this implementation is ``sdpa``'s. Sliding-window layers (Mistral, Qwen2's
``sliding_attention``) get the band mask of a row only when that row is longer than the
window (quadratic in the row, never in ``L``). Soft-capped logits, attention sinks and
position biases are refused (``NotImplementedError``), never ignored: ``"auto"`` leaves
soft-capping models on their own attention, and a model with sinks or biases needs
``attention = "model"``.

**Which attention a forward uses** (:func:`resolve_attention`, the ``attention`` choice):
``"auto"`` swaps a text-only transformers model (one whose ``sdpa``/``eager`` attention can be
swapped) to transformers' ``flash_attention_2`` (varlen, linear) where ``flash_attn`` is
installed, the device is CUDA and the forward runs in half precision, else to
:data:`IMPLEMENTATION`; any other model (vision-language models, whose M-RoPE positions are
``[3, 1, L]``; custom modules; models already on flash or flex attention) keeps its own.
``"packed"`` insists on :data:`IMPLEMENTATION` (an error for a model it cannot serve);
``"model"`` never swaps. The swap holds only inside :func:`use_attention`, and is undone on
exit: generation, saved configs and copies of the model keep the model's own implementation.
"""

from __future__ import annotations

import contextlib
import importlib.util
import threading
from typing import Any, Iterator, Literal

import torch

AttentionChoice = Literal["auto", "packed", "model"]
ATTENTION_CHOICES: tuple[str, ...] = ("auto", "packed", "model")
IMPLEMENTATION = "agentgym_packed"
FLASH_VARLEN = "flash_attention_2"
# The model's own implementations that build a dense block-diagonal mask from packed positions.
_QUADRATIC = ("sdpa", "eager")

_segments_cache = threading.local()  # the last position ids seen and their rows (one per forward)


def packed_attention_forward(module: torch.nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                             attention_mask: torch.Tensor | None, dropout: float = 0.0,
                             scaling: float | None = None, is_causal: bool | None = None,
                             **kwargs: Any) -> tuple[torch.Tensor, None]:
    """transformers' attention-function contract: ``query`` ``[B, H, Lq, D]``, ``key`` and
    ``value`` ``[B, H_kv, Lk, D]`` (grouped-query attention when ``H_kv < H``); returns the
    output as ``[B, Lq, H, D]`` and no attention weights. See the module docstring."""
    for name in ("softcap", "s_aux", "sinks", "position_bias"):
        if kwargs.get(name) is not None:
            raise NotImplementedError(f"packed attention does not support {name!r}: keep this model on its own "
                                      "attention (attention = 'model')")
    if attention_mask is not None or query.shape[2] != key.shape[2]:
        # A padding mask or a KV cache: what transformers' sdpa does (the mask function built its mask).
        from transformers.integrations.sdpa_attention import sdpa_attention_forward

        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      is_causal=is_causal, **kwargs)
    if is_causal is False or not getattr(module, "is_causal", True):
        raise NotImplementedError("packed attention is causal; a bidirectional layer keeps its own attention")
    batch, length = query.shape[0], query.shape[2]
    lengths = _row_lengths(kwargs.get("position_ids"), kwargs.get("cu_seq_lens_q"), batch, length)
    window = kwargs.get("sliding_window")
    outputs = []
    for b in range(batch):
        rows = zip(*(t[b:b + 1].split(lengths[b], dim=2) for t in (query, key, value)))
        outputs.append(torch.cat([_causal(q, k, v, dropout, scaling, window) for q, k, v in rows], dim=2))
    output = outputs[0] if batch == 1 else torch.cat(outputs, dim=0)
    return output.transpose(1, 2).contiguous(), None


def _causal(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, dropout: float, scaling: float | None,
            window: int | None) -> torch.Tensor:
    """Causal attention over one row (``[1, H, n, D]``), grouped-query heads shared as
    transformers' ``repeat_kv`` shares them; within a sliding window if the row is longer.

    Grouped heads go to torch as they are on a CPU (its flash kernel takes them: checked);
    elsewhere they are repeated, since torch's CUDA memory-efficient kernel does not take them
    and ``enable_gqa`` would fall back to the math kernel, quadratic in the row."""
    groups = query.shape[1] // key.shape[1]
    gqa = {}
    if groups > 1:
        if query.device.type == "cpu" and key.shape[-1] == value.shape[-1] <= 256:
            gqa = {"enable_gqa": True}
        else:
            key, value = key.repeat_interleave(groups, dim=1), value.repeat_interleave(groups, dim=1)
    n = query.shape[2]
    if window is not None and n > window:
        offsets = torch.arange(n, device=query.device)
        distance = offsets[:, None] - offsets[None, :]
        band = (distance >= 0) & (distance < window)
        return torch.nn.functional.scaled_dot_product_attention(query, key, value, attn_mask=band, dropout_p=dropout,
                                                                scale=scaling, **gqa)
    return torch.nn.functional.scaled_dot_product_attention(query, key, value, dropout_p=dropout, scale=scaling,
                                                            is_causal=True, **gqa)


def _row_lengths(position_ids: torch.Tensor | None, cu_seq_lens: torch.Tensor | None, batch: int,
                 length: int) -> list[list[int]]:
    """The lengths of the rows packed in each of the ``batch`` sequences (module docstring);
    one host read per forward (every layer gets the same position-ids tensor: cached)."""
    if cu_seq_lens is not None and batch == 1:
        return [cu_seq_lens.diff().tolist()]
    if position_ids is None:
        raise NotImplementedError("this model does not pass position_ids to its attention function, so packed rows "
                                  "cannot be told apart: keep it on its own attention (attention = 'model')")
    cached = getattr(_segments_cache, "entry", None)
    if cached is not None and cached[0] is position_ids and cached[1] == position_ids._version:
        return cached[2]
    positions = position_ids.reshape(-1, position_ids.shape[-1]).expand(batch, -1)
    if positions.shape[-1] != length:
        raise ValueError(f"position ids cover {positions.shape[-1]} tokens, the attention {length}")
    starts = torch.ones_like(positions, dtype=torch.bool)
    starts[:, 1:] = positions[:, 1:] != positions[:, :-1] + 1
    lengths = []
    for row_starts in starts.cpu():
        bounds = row_starts.nonzero().squeeze(-1).tolist() + [length]
        lengths.append([end - start for start, end in zip(bounds, bounds[1:])])
    _segments_cache.entry = (position_ids, position_ids._version, lengths)
    return lengths


def _packed_mask(*, attention_mask: torch.Tensor | None = None, q_length: int, kv_length: int, q_offset: Any = 0,
                 **kwargs: Any) -> torch.Tensor | None:
    """The mask function of :data:`IMPLEMENTATION`: none for a forward over whole sequences
    without padding (the attention finds the rows itself), else ``sdpa``'s mask."""
    if attention_mask is None and q_length == kv_length and isinstance(q_offset, int) and q_offset == 0:
        return None
    from transformers.masking_utils import sdpa_mask

    return sdpa_mask(attention_mask=attention_mask, q_length=q_length, kv_length=kv_length, q_offset=q_offset,
                     **kwargs)


def register() -> None:
    """Register :data:`IMPLEMENTATION` with transformers' attention and mask interfaces
    (idempotent)."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface

    AttentionInterface.register(IMPLEMENTATION, packed_attention_forward)
    AttentionMaskInterface.register(IMPLEMENTATION, _packed_mask)


# ------------------------------------------------------------------------ choosing and switching
def _transformers_models(model: Any) -> list[Any]:
    """The transformers models inside ``model`` (itself, a peft wrapper's base, a value-head
    wrapper's backbone...), one per distinct config."""
    try:
        from transformers import PreTrainedModel
    except ImportError:  # pragma: no cover - transformers is a dependency
        return []
    if not isinstance(model, torch.nn.Module):
        return []
    found, configs = [], set()
    for module in model.modules():
        if isinstance(module, PreTrainedModel) and id(module.config) not in configs:
            configs.add(id(module.config))
            found.append(module)
    return found


def packing_obstacle(model: Any) -> str | None:
    """Why :data:`IMPLEMENTATION` cannot serve ``model`` (a sentence), or ``None`` if it can."""
    models = _transformers_models(model)
    if not models:
        return f"{type(model).__name__} is not a transformers model (its attention cannot be swapped)"
    for inner in models:
        config = inner.config
        name = type(inner).__name__
        if any(getattr(config, key, None) is not None for key in getattr(config, "sub_configs", {})):
            return f"{name} is a multimodal model (its positions and masks are its own)"
        if not inner._can_set_attn_implementation():
            return f"{name} does not use transformers' attention interface"
        if getattr(config, "attn_logit_softcapping", None) is not None:
            return f"{name} soft-caps its attention logits"
    return None


def resolve_attention(model: Any, choice: str, *, device: torch.device | str | None = None,
                      autocast_dtype: torch.dtype | None = None) -> str | None:
    """The attention implementation a training forward of ``model`` should switch to under
    ``choice`` (module docstring), or ``None`` to leave the model's own."""
    if choice not in ATTENTION_CHOICES:
        raise ValueError(f"attention must be one of {', '.join(ATTENTION_CHOICES)}, got {choice!r}")
    if choice == "model":
        return None
    obstacle = packing_obstacle(model)
    if obstacle is not None:
        if choice == "packed":
            raise ValueError(f"attention = 'packed' cannot serve this model: {obstacle}; use 'auto' or 'model'")
        return None
    models = _transformers_models(model)
    current = {inner.config._attn_implementation for inner in models}
    if choice == "auto" and not current <= set(_QUADRATIC):
        return None  # already on a kernel that reads the rows itself (flash, flex) or a custom one
    if choice == "auto" and _flash_varlen_usable(model, models, device, autocast_dtype):
        return FLASH_VARLEN
    register()
    return IMPLEMENTATION


def _flash_varlen_usable(model: Any, models: list[Any], device: torch.device | str | None,
                         autocast_dtype: torch.dtype | None) -> bool:
    """FlashAttention-2 (varlen over the packed rows): CUDA, ``flash_attn`` installed in a
    version transformers takes, a model class that supports it, and half precision (flash_attn
    has no float32 kernel)."""
    if device is None:
        parameter = next(model.parameters(), None)
        device = parameter.device if parameter is not None else "cpu"
    if torch.device(device).type != "cuda" or importlib.util.find_spec("flash_attn") is None:
        return False
    from transformers.utils import is_flash_attn_2_available

    if not is_flash_attn_2_available():
        return False
    if not all(getattr(type(inner), "_supports_flash_attn", False) for inner in models):
        return False
    weights = next(model.parameters()).dtype
    return (autocast_dtype or weights) in (torch.float16, torch.bfloat16)


@contextlib.contextmanager
def use_attention(model: Any, choice: str, *, device: torch.device | str | None = None,
                  autocast_dtype: torch.dtype | None = None) -> Iterator[str | None]:
    """Run the body with ``model``'s attention switched as :func:`resolve_attention` says (the
    implementation's name is yielded, ``None`` when nothing switched); restored on exit.
    Keep the backward pass inside too when gradient checkpointing recomputes the forward."""
    implementation = resolve_attention(model, choice, device=device, autocast_dtype=autocast_dtype)
    if implementation is None:
        yield None
        return
    configs = [inner.config for inner in _transformers_models(model)]
    previous = [config._attn_implementation for config in configs]
    for config in configs:
        config._attn_implementation = implementation
    try:
        yield implementation
    finally:
        for config, name in zip(configs, previous):
            config._attn_implementation = name
