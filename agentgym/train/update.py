"""One policy update on a batch of training rows: the update API.

    updater = PolicyUpdater(model, optimizer, UpdateSettings(epochs=1, mini_batches=2))
    metrics = updater.update(rows, generator=torch.Generator().manual_seed(0))

For each of ``epochs`` passes the rows are shuffled (with ``generator``) and split into
``mini_batches`` equal parts; each part is one optimizer step (a part without loss tokens,
on every process, takes none: its gradient is 0, yet AdamW's moments and weight decay would
move the weights; the scheduler still steps, so the schedule keeps its pace). A part is
packed into micro-batches of at most ``micro_batch_tokens`` tokens (:mod:`.batching`; ``"auto"``: sized
from the device's free memory by :func:`resolve_token_budget` at the first update, and
reported as the metric ``micro_batch_tokens``) whose gradients accumulate; then the gradients
are clipped to ``max_grad_norm``, the optimizer and the scheduler step. The forward and
backward passes run under the ``attention`` choice (:mod:`.packed_attention`: by default
per-row causal attention, whose memory is linear in the packed length, where transformers'
own would build an ``L x L`` mask). Per token (mask = generated tokens, ``logp``
recomputed under the current weights at the rollout's temperature)::

    loss_t = L_clip(logp, logp_old, A)                       (:func:`.loss.clipped_policy_loss`;
                                                              -A * logp with objective "nll";
                                                              w * L_clip(logp, logp_prox, A) when
                                                              the rows carry proximal log-probs:
                                                              :func:`.loss.decoupled_policy_loss`)
           + kl_coef * KL(logp, logp_ref)                    (when kl_coef > 0; k1 or k3)
           - entropy_coef * H_t                              (with EPO's smoothing term:
                                                             - entropy_coef * (H_t - beta_k * P_t),
                                                             :func:`.loss.entropy_smoothing_penalty`)
           + value_coef * 0.5 * (V - target)^2               (PPO, clipped around V_old if set)
    loss   = sum_t w_t * loss_t

with ``w_t`` the aggregation weight of the token's row (:func:`.loss.aggregation_weights`,
from the mini-batch's token and row counts) times the row's own weight. Because the weights
come from mini-batch totals, the loss, and so the gradient, of a mini-batch is the same however
it is cut into micro-batches.

Under ``torch.distributed`` (initialised by the caller; any backend) every process passes its
own rows. The totals behind the weights are summed across processes, each process back-props
its share and the gradients are summed across processes before clipping, so every process
takes the optimizer step of the *global* mini-batch loss: the same step a single process would
take on all the rows together. Every process must call :meth:`PolicyUpdater.update` with the
same settings (the number of optimizer steps is ``epochs x mini_batches`` everywhere, even for
a process whose share of a mini-batch is empty). The returned metrics are global too.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Literal, Sequence

import torch
import torch.distributed as dist

from agentgym.train.batching import (
    CPU_TOKEN_CAP,
    GPU_TOKEN_CAP,
    MicroBatch,
    TrainingRow,
    auto_token_budget,
    bytes_per_token,
    pack_rows,
)
from agentgym.train.distributed import is_distributed
from agentgym.train.loss import (
    AGGREGATIONS,
    KL_ESTIMATORS,
    Aggregation,
    KLEstimator,
    aggregation_weights,
    clipped_policy_loss,
    decoupled_policy_loss,
    SmoothingTerm,
    entropy_from_logprobs,
    entropy_smoothing_penalty,
    kl_divergence,
)
from agentgym.train.packed_attention import ATTENTION_CHOICES, AttentionChoice, resolve_attention, use_attention

logger = logging.getLogger(__name__)
TokenBudget = int | Literal["auto"]


@dataclass(frozen=True)
class UpdateSettings:
    """How one update runs (module docstring); defaults are PPO/GRPO's usual values.

    Attributes:
        epochs: passes over the rows.
        mini_batches: optimizer steps per pass (the rows are split into this many parts).
        micro_batch_tokens: the token budget of one forward/backward pass, or ``"auto"``:
            sized from the device's free memory and the model's shape
            (:func:`resolve_token_budget`) when the first update starts.
        max_grad_norm: clip the global gradient norm to this positive number (``None``: no
            clipping; 0 would zero every gradient and a negative number flip it, so they are
            refused).
        eps_low / eps_high: the clip range ``[1 - eps_low, 1 + eps_high]`` of the ratio
            (``0 < eps_low < 1``, ``eps_high > 0``; ``inf``: no upper clip).
        dual_clip: the dual-clip constant ``c`` (> 1) for negative advantages, or ``None``.
        aggregation: ``token-mean``, ``seq-mean-token-mean`` or ``seq-mean-token-sum``.
        kl_coef: weight of the KL-to-reference loss term (rows need ``ref_logprobs``).
        kl_estimator: ``k1`` or ``k3``.
        entropy_coef: weight of the entropy bonus.
        value_coef: weight of the value loss (needs a value head and ``value_targets``).
        value_clip: clip the new value to ``V_old +- value_clip`` (a positive number; rows need
            ``old_values``).
        temperature: the rollout's sampling temperature: log-probs are recomputed from
            ``logits / temperature`` so that they match the recorded sampling log-probs.
        autocast_dtype: run forward passes under ``torch.autocast`` with this dtype (``None``:
            the model's own dtype).
        objective: ``ppo_clip`` (the policy-gradient loss above) or ``nll``: the
            advantage-weighted negative log-likelihood ``-A * logp`` of the loss tokens, i.e.
            supervised fine-tuning (behaviour cloning) when every advantage is 1; the clip
            range and the old log-probs play no part then.
        importance_cap: the cap on the behaviour weight ``exp(logp_prox - logp_old)`` of the
            decoupled objective, used for rows that carry proximal log-probs (asynchronous
            training); at least 1.
        attention: ``auto`` (packed rows attend per row, memory linear in the packed length,
            for any text model whose attention can be swapped; FlashAttention-2 varlen on a
            GPU where it is installed), ``packed`` (insist on the per-row kernel) or ``model``
            (the model's own attention: a dense ``L x L`` mask over packed rows); see
            :mod:`agentgym.train.packed_attention`.

    Every bound and coefficient is checked when the settings are made (``ValueError``), NaN
    included: a NaN clip bound or coefficient makes the loss NaN (and the weights, once its
    gradient reaches them).
    """

    epochs: int = 1
    mini_batches: int = 1
    micro_batch_tokens: TokenBudget = "auto"
    max_grad_norm: float | None = 1.0
    eps_low: float = 0.2
    eps_high: float = 0.2
    dual_clip: float | None = None
    aggregation: Aggregation = "token-mean"
    kl_coef: float = 0.0
    kl_estimator: KLEstimator = "k3"
    entropy_coef: float = 0.0
    value_coef: float = 0.5
    value_clip: float | None = None
    temperature: float = 1.0
    autocast_dtype: torch.dtype | None = None
    objective: Literal["ppo_clip", "nll"] = "ppo_clip"
    importance_cap: float = 5.0
    attention: AttentionChoice = "auto"

    def __post_init__(self) -> None:
        if self.objective not in ("ppo_clip", "nll"):
            raise ValueError(f"objective must be 'ppo_clip' or 'nll', got {self.objective!r}")
        for name in ("epochs", "mini_batches"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        check_token_budget(self.micro_batch_tokens, "micro_batch_tokens")
        check_max_grad_norm(self.max_grad_norm, "max_grad_norm")
        if self.attention not in ATTENTION_CHOICES:
            raise ValueError(f"attention must be one of {', '.join(ATTENTION_CHOICES)}, got {self.attention!r}")
        if self.aggregation not in AGGREGATIONS:
            raise ValueError(f"aggregation must be one of {', '.join(AGGREGATIONS)}, got {self.aggregation!r}")
        if self.kl_estimator not in KL_ESTIMATORS:
            raise ValueError(f"kl_estimator must be one of {', '.join(KL_ESTIMATORS)}, got {self.kl_estimator!r}")
        # Written so that NaN fails each test: a NaN bound or coefficient makes the loss NaN.
        if not (0 < self.eps_low < 1 and self.eps_high > 0):
            raise ValueError(f"need 0 < eps_low < 1 and eps_high > 0, got {self.eps_low}, {self.eps_high}")
        if self.dual_clip is not None and not self.dual_clip > 1:
            raise ValueError(f"dual_clip must be greater than 1, got {self.dual_clip}")
        if self.value_clip is not None and not self.value_clip > 0:
            raise ValueError(f"value_clip must be positive or None (no clipping), got {self.value_clip}")
        for name in ("kl_coef", "entropy_coef", "value_coef"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be a finite number, got {getattr(self, name)}")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be positive, got {self.temperature}")
        if not self.importance_cap >= 1:
            raise ValueError(f"importance_cap must be at least 1, got {self.importance_cap}")


class ValueHead(torch.nn.Module):
    """The critic for PPO: a linear map of the model's last hidden state to a scalar.

    ``values[p]`` (the value before token ``p`` is generated) is read from the hidden state at
    ``p - 1`` (see :mod:`agentgym.credit.gae`). Initialised at zero output so that the first
    advantages are plain returns.
    """

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(hidden_size, 1)
        torch.nn.init.normal_(self.linear.weight, std=1.0 / math.sqrt(hidden_size) * 0.01)
        torch.nn.init.zeros_(self.linear.bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.linear(hidden.to(self.linear.weight.dtype)).squeeze(-1)


@dataclass
class ForwardResult:
    """Per-token outputs of a packed micro-batch, each ``[L]`` (entry ``p`` scores token ``p``;
    the entry of each row's first token is 0)."""

    logprobs: torch.Tensor
    entropy: torch.Tensor | None
    values: torch.Tensor | None


def forward_micro_batch(model: Any, batch: MicroBatch, *, temperature: float, value_head: ValueHead | None = None,
                        entropy: bool = False, entropy_grad: bool = True, loss_tokens_only: bool = False,
                        autocast_dtype: torch.dtype | None = None, attention: AttentionChoice | None = "auto"
                        ) -> ForwardResult:
    """Score a packed micro-batch: log-prob of each token under ``logits / temperature`` of the
    position before it, optionally the entropy of that distribution and the value head's
    output there.

    With ``loss_tokens_only`` only the tokens on ``batch.loss_mask`` are scored (the others
    read 0): the language-model head and the log-softmax then run on those positions alone
    (``logits_to_keep``), which is what a training step needs, and saves most of the time and
    memory of the full ``[L, vocabulary]`` logits when observations and prompts dominate the
    sequence. ``entropy_grad=False`` computes the entropy without gradient (a metric only).

    A micro-batch of a vision-language policy (``batch.vision`` set) also gives the model its
    rows' images and, for M-RoPE models, their three-axis positions, and scores with the
    family's reserved image tokens excluded, as the policy sampled
    (:mod:`agentgym.policies.hf_vision`); such a model keeps its own attention under
    ``attention="auto"``.

    The model runs under ``attention`` (:func:`~agentgym.train.packed_attention.use_attention`:
    by default the packed rows attend each to itself, with memory linear in ``L``). A caller
    that back-propagates through a model with gradient checkpointing must hold the same
    choice around its ``backward()`` (the recomputed forward reads it again), as
    :class:`PolicyUpdater` does; such a caller passes ``attention=None`` (the model's attention
    as the caller set it: nothing is resolved or switched here).
    """
    device = batch.input_ids.device
    length = batch.num_tokens
    if loss_tokens_only:
        scored = batch.loss_mask.nonzero().squeeze(-1)
        scored = scored[scored > 0]
    else:
        scored = torch.arange(1, length, device=device)
    autocast = (torch.autocast(device_type=device.type, dtype=autocast_dtype) if autocast_dtype is not None
                else contextlib.nullcontext())
    position_ids, images = batch.position_ids, {}
    if batch.vision is not None:  # a vision-language model: the rows' images, and M-RoPE positions
        position_ids = batch.vision.forward_positions(batch.position_ids, batch.rope_position_ids)
        images = {name: value.to(device) for name, value in batch.vision.model_inputs(batch.images or []).items()}
    if batch.vision is not None and attention == "auto":
        attention = "model"  # M-RoPE positions and image masks: the model's own attention
    switch = (contextlib.nullcontext() if attention is None
              else use_attention(model, attention, device=device, autocast_dtype=autocast_dtype))
    with autocast, switch:
        output = model(input_ids=batch.input_ids, position_ids=position_ids, use_cache=False,
                       output_hidden_states=value_head is not None, **_keep_logits(model, scored - 1, length),
                       **images)
    logits = output.logits[0].float()
    if logits.shape[0] == length:  # a model that ignores logits_to_keep
        logits = logits[scored - 1]
    if temperature != 1.0:
        logits = logits / temperature
    if batch.vision is not None:  # tokens a vision-language policy never samples (its reserved tokens)
        logits = batch.vision.restrict_logits(logits)
    logp_all = torch.log_softmax(logits, dim=-1)
    picked = logp_all.gather(-1, batch.input_ids[0, scored][:, None]).squeeze(-1)
    logprobs = _spread(picked, scored, length)
    token_entropy = None
    if entropy:
        with contextlib.nullcontext() if entropy_grad else torch.no_grad():
            token_entropy = _spread(entropy_from_logprobs(logp_all), scored, length)
    values = None
    if value_head is not None:
        values = _spread(value_head(output.hidden_states[-1][0, scored - 1]).float(), scored, length)
    # A row's first token is predicted by nothing (in a pack, by the previous row's end): 0.
    starts = batch.position_ids[0] == 0
    logprobs, token_entropy, values = (None if t is None else t.masked_fill(starts, 0.0)
                                       for t in (logprobs, token_entropy, values))
    return ForwardResult(logprobs, token_entropy, values)


def _spread(values: torch.Tensor, positions: torch.Tensor, length: int) -> torch.Tensor:
    """A ``[length]`` tensor holding ``values`` at ``positions`` and 0 elsewhere (differentiable)."""
    return values.new_zeros(length).index_copy(0, positions, values)


def _keep_logits(model: Any, positions: torch.Tensor, length: int) -> dict[str, Any]:
    """``logits_to_keep=positions`` for models whose forward takes it (transformers' causal
    LMs; peft passes it through), nothing for the others or when every position is kept."""
    if len(positions) == length - 1:
        return {}
    forward = getattr(model, "forward", None)
    try:
        parameters = inspect.signature(forward).parameters
    except (TypeError, ValueError):
        return {}
    takes_it = "logits_to_keep" in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    return {"logits_to_keep": positions} if takes_it else {}


def check_token_budget(value: Any, name: str = "micro_batch_tokens") -> None:
    """``ValueError`` unless ``value`` is a positive integer or ``"auto"``."""
    if value == "auto" and isinstance(value, str):
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'{name} must be a positive integer or "auto", got {value!r}')


def check_max_grad_norm(value: Any, name: str = "max_grad_norm") -> None:
    """``ValueError`` unless ``value`` is ``None`` (no clipping) or a positive number:
    ``clip_grad_norm_`` scales the gradients by ``value / norm``, so 0 would zero them (nothing
    learnt) and a negative number flip them (the update would climb the loss)."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a positive number or None (no clipping), got {value!r}")


def resolve_token_budget(model: Any, budget: TokenBudget, *, attention: AttentionChoice = "auto",
                         autocast_dtype: torch.dtype | None = None, optimizer: torch.optim.Optimizer | None = None,
                         training: bool = True) -> int:
    """``budget`` itself when it is an integer; for ``"auto"``, the token budget
    :func:`~agentgym.train.batching.auto_token_budget` finds for ``model`` on its device:

    - free memory: on CUDA ``torch.cuda.mem_get_info`` plus what torch's caching allocator
      holds unused (the rollouts' freed KV caches); on a CPU the available RAM (``psutil``,
      else ``/proc/meminfo``); a device it cannot measure gets the CPU cap (4096);
    - per token: :func:`~agentgym.train.batching.bytes_per_token` from the model's config
      (its text config for a vision-language model) at the weights' element size; plus, when
      the forward keeps the model's own ``sdpa``/``eager`` attention over packed rows, the
      ``L x L`` term :func:`_bytes_per_pair`;
    - reserved (``training``): the gradients not yet allocated and, for parameters whose
      ``optimizer`` state is still empty, two moments (AdamW), each at the parameter's size.

    A model without a readable config (not a transformers model) gets the CPU cap. The choice
    is logged (debug level; :class:`PolicyUpdater` logs its run's budget at info level).
    """
    if budget != "auto":
        check_token_budget(budget)
        return budget
    parameter = next(model.parameters())
    device = parameter.device
    cap = GPU_TOKEN_CAP if device.type == "cuda" else CPU_TOKEN_CAP
    shape = _model_shape(model)
    free = _free_memory(device)
    if shape is None or free is None:
        logger.debug("micro_batch_tokens = auto: %d (%s)", CPU_TOKEN_CAP,
                     "no model config to estimate from" if shape is None else f"cannot measure {device.type} memory")
        return CPU_TOKEN_CAP
    element = parameter.element_size()
    per_token = bytes_per_token(**shape, element_size=element)
    per_pair = 0.0
    if resolve_attention(model, attention, device=device, autocast_dtype=autocast_dtype) is None:
        config = _text_config(model)
        per_pair = _bytes_per_pair(getattr(config, "_attn_implementation", None), shape["layers"],
                                   int(getattr(config, "num_attention_heads", None) or 1), element)
    reserved = 0
    if training:
        state = getattr(optimizer, "state", {})
        for p in model.parameters():
            if p.requires_grad:
                reserved += p.numel() * p.element_size() * ((p.grad is None) + 2 * (not state.get(p)))
    budget = auto_token_budget(free, bytes_per_token=per_token, bytes_per_pair=per_pair, reserved_bytes=reserved,
                               cap=cap)
    logger.debug("micro_batch_tokens = auto: %d (%s: %.1f GiB free, %.1f GiB reserved, %.2f MiB a token%s)",
                 budget, device.type, free / 2**30, reserved / 2**30, per_token / 2**20,
                 f", {per_pair:.0f} B a token pair" if per_pair else "")
    return budget


def _text_config(model: Any) -> Any:
    config = getattr(model, "config", None)
    return getattr(config, "text_config", None) or config


def _model_shape(model: Any) -> dict[str, int] | None:
    """The shape :func:`~agentgym.train.batching.bytes_per_token` needs, from a transformers
    config (``None`` when the model has none)."""
    config = _text_config(model)
    try:
        hidden, layers, vocab = (int(getattr(config, key)) for key in ("hidden_size", "num_hidden_layers",
                                                                         "vocab_size"))
    except (AttributeError, TypeError):
        return None
    heads = int(getattr(config, "num_attention_heads", None) or 1)
    head_dim = int(getattr(config, "head_dim", None) or hidden // heads)
    kv_heads = int(getattr(config, "num_key_value_heads", None) or heads)
    return {"hidden_size": hidden, "layers": layers, "vocab_size": vocab, "kv_size": kv_heads * head_dim,
            "intermediate_size": int(getattr(config, "intermediate_size", None) or 4 * hidden)}


def _bytes_per_pair(implementation: str | None, layers: int, heads: int, element: int) -> float:
    """Bytes per (query, key) pair of a forward/backward over packed rows with the model's own
    attention: ``sdpa`` keeps the boolean block-diagonal mask (1 byte) and, per layer, the
    additive mask the fused kernels take (``element`` bytes); ``eager`` keeps the additive mask
    and, per layer and head, the scores and probabilities. Other implementations: 0."""
    if implementation == "sdpa":
        return 1 + layers * element
    if implementation == "eager":
        return element + layers * heads * 2 * element
    return 0.0


def _free_memory(device: torch.device) -> float | None:
    """Bytes a micro-batch may use on ``device`` (see :func:`resolve_token_budget`)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return float(free + torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device))
    if device.type != "cpu":
        return None
    try:
        import psutil

        return float(psutil.virtual_memory().available)
    except ImportError:
        pass
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return float(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def score_rows(model: Any, rows: Sequence[TrainingRow], *, temperature: float, token_budget: TokenBudget,
               value_head: ValueHead | None = None, autocast_dtype: torch.dtype | None = None,
               loss_tokens_only: bool = False, attention: AttentionChoice = "auto"
               ) -> tuple[list[torch.Tensor], list[torch.Tensor] | None]:
    """Log-probs (and values, with a value head) of every token of every row, without
    gradient, one CPU float tensor per row aligned with its ``token_ids``: for reference
    log-probs and the critic's values at rollout time. With ``loss_tokens_only`` only the
    tokens on each row's loss mask are scored (the others read 0; see
    :func:`forward_micro_batch`). ``token_budget`` may be ``"auto"``
    (:func:`resolve_token_budget`); ``attention`` as in :class:`UpdateSettings`."""
    device = next(model.parameters()).device
    token_budget = resolve_token_budget(model, token_budget, attention=attention, autocast_dtype=autocast_dtype,
                                        training=False)
    batches, _ = pack_rows(rows, [0.0] * len(rows), token_budget)
    logprobs: dict[int, torch.Tensor] = {}
    values: dict[int, torch.Tensor] = {}
    index = {id(row): i for i, row in enumerate(rows)}
    with torch.no_grad():
        for batch in batches:
            result = forward_micro_batch(model, batch.to(device), temperature=temperature, value_head=value_head,
                                         autocast_dtype=autocast_dtype, loss_tokens_only=loss_tokens_only,
                                         attention=attention)
            start = 0
            for row in batch.rows:
                end = start + len(row)
                logprobs[index[id(row)]] = result.logprobs[start:end].cpu()
                if result.values is not None:
                    values[index[id(row)]] = result.values[start:end].cpu()
                start = end
    ordered = [logprobs[i] for i in range(len(rows))]
    return ordered, ([values[i] for i in range(len(rows))] if value_head is not None else None)


class PolicyUpdater:
    """Runs :meth:`update` (module docstring) for a model, its optimizer and its settings.

    Args:
        model: the policy (any causal LM taking ``input_ids`` and ``position_ids``; a peft
            model works; a vision-language model when the rows carry images). Put in train mode
            during the update and back in eval mode after.
        optimizer: over the trainable parameters (and the value head's, if any).
        settings: :class:`UpdateSettings`.
        scheduler: stepped after each optimizer step, if given.
        value_head: the critic, trained with the value loss when rows carry value targets.
    """

    def __init__(self, model: Any, optimizer: torch.optim.Optimizer, settings: UpdateSettings, *,
                 scheduler: Any = None, value_head: ValueHead | None = None) -> None:
        self.model = model
        self.optimizer = optimizer
        self.settings = settings
        self.scheduler = scheduler
        self.value_head = value_head
        self.parameters = [p for group in optimizer.param_groups for p in group["params"] if p.requires_grad]
        self._token_budget: int | None = None if settings.micro_batch_tokens == "auto" else settings.micro_batch_tokens

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def token_budget(self) -> int:
        """The micro-batch token budget: the settings' integer, or (``"auto"``) the one
        :func:`resolve_token_budget` chose when the first update started, kept for the run so
        that the packing does not drift with the free memory."""
        if self._token_budget is None:
            self._token_budget = resolve_token_budget(
                self.model, "auto", attention=self.settings.attention, autocast_dtype=self.settings.autocast_dtype,
                optimizer=self.optimizer)
            logger.info("micro_batch_tokens = auto: %d tokens a micro-batch for this run", self._token_budget)
        return self._token_budget

    def update(self, rows: Sequence[TrainingRow], *, generator: torch.Generator | None = None,
               entropy_coef: float | None = None, smoothing: SmoothingTerm | None = None) -> dict[str, float]:
        """Train on ``rows``; returns the update's metrics (global under distributed).

        ``entropy_coef`` overrides the settings' (an adaptive entropy band changes it step by
        step). ``smoothing``: EPO's entropy smoothing term (module docstring; it scales with the
        entropy coefficient, so it needs a positive one).
        """
        settings = self.settings
        entropy_coef = settings.entropy_coef if entropy_coef is None else entropy_coef
        if smoothing is not None and not entropy_coef:
            raise ValueError("entropy smoothing scales the entropy bonus: it needs a positive entropy_coef")
        totals = _MetricTotals(self.device)
        totals.token_budget = self.token_budget
        self.model.train()
        if self.value_head is not None:
            self.value_head.train()
        try:
            # The backward passes too: gradient checkpointing recomputes the forward in them.
            with use_attention(self.model, settings.attention, device=self.device,
                               autocast_dtype=settings.autocast_dtype):
                for _ in range(settings.epochs):
                    order = torch.randperm(len(rows), generator=generator).tolist()
                    for part in _split([rows[i] for i in order], settings.mini_batches):
                        self._optimizer_step(part, entropy_coef, totals, smoothing)
        finally:
            self.model.eval()
            if self.value_head is not None:
                self.value_head.eval()
        return totals.summary()

    # ------------------------------------------------------------------ internals
    def _optimizer_step(self, rows: list[TrainingRow], entropy_coef: float, totals: _MetricTotals,
                        smoothing: SmoothingTerm | None = None) -> None:
        settings = self.settings
        counts = [row.num_loss_tokens for row in rows]
        global_tokens, global_rows = _all_reduce_counts(sum(counts), sum(n > 0 for n in counts))
        if not global_tokens:  # no loss token on any process: the gradient is 0, yet AdamW would move
            if self.scheduler is not None:  # the weights (its moments, weight decay); the schedule keeps pace
                self.scheduler.step()
            return
        weights = aggregation_weights(counts, settings.aggregation, total_tokens=max(global_tokens, 1),
                                      total_sequences=max(global_rows, 1))
        batches, packing = pack_rows(rows, weights, self.token_budget)
        self.optimizer.zero_grad(set_to_none=False)
        loss_value = 0.0
        for batch in batches:
            loss = self._micro_batch_loss(batch.to(self.device), entropy_coef, totals, smoothing)
            loss.backward()
            loss_value += float(loss.detach())
        _all_reduce_gradients(self.parameters)
        if settings.max_grad_norm is not None:
            norm = torch.nn.utils.clip_grad_norm_(self.parameters, settings.max_grad_norm)
        else:
            norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in self.parameters]))
        self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        totals.add_step(loss_value, float(norm), packing.micro_batches, packing.tokens,
                        packing.micro_batches * packing.token_budget)

    def _micro_batch_loss(self, batch: MicroBatch, entropy_coef: float, totals: _MetricTotals,
                          smoothing: SmoothingTerm | None = None) -> torch.Tensor:
        settings = self.settings
        needs_values = self.value_head is not None and batch.value_targets is not None
        result = forward_micro_batch(self.model, batch, temperature=settings.temperature,
                                     value_head=self.value_head if needs_values else None, entropy=True,
                                     entropy_grad=bool(entropy_coef), loss_tokens_only=True,
                                     autocast_dtype=settings.autocast_dtype,
                                     attention=None)  # update() holds use_attention(settings.attention)
        mask = batch.loss_mask
        weights = batch.token_weights
        behaviour_weight = None
        anchor = batch.old_logprobs  # the policy the ratio is taken against
        if settings.objective == "nll":
            policy, clipped = -batch.advantages * result.logprobs, torch.zeros_like(mask, dtype=torch.bool)
        elif batch.proximal_logprobs is not None:
            anchor = batch.proximal_logprobs
            policy, clipped, behaviour_weight = decoupled_policy_loss(
                result.logprobs, batch.proximal_logprobs, batch.old_logprobs, batch.advantages,
                importance_cap=settings.importance_cap, eps_low=settings.eps_low, eps_high=settings.eps_high,
                dual_clip=settings.dual_clip)
        else:
            policy, clipped = clipped_policy_loss(result.logprobs, batch.old_logprobs, batch.advantages,
                                                  eps_low=settings.eps_low, eps_high=settings.eps_high,
                                                  dual_clip=settings.dual_clip)
        per_token = policy
        entropy = result.entropy
        if entropy_coef:
            per_token = per_token - entropy_coef * entropy
        penalty = None
        if smoothing is not None:
            penalty = entropy_smoothing_penalty(entropy, smoothing.average, smoothing.low_ratio, smoothing.high_ratio)
            per_token = per_token + entropy_coef * smoothing.weight * penalty
        kl = None
        if batch.ref_logprobs is not None:
            kl = kl_divergence(result.logprobs, batch.ref_logprobs, settings.kl_estimator)
            if settings.kl_coef:
                per_token = per_token + settings.kl_coef * kl
        elif settings.kl_coef:
            raise ValueError("kl_coef > 0 needs rows with ref_logprobs")
        value_loss = None
        if needs_values:
            value_loss = _value_loss(result.values, batch.value_targets, batch.old_values, settings.value_clip)
            per_token = per_token + settings.value_coef * value_loss
        loss = (per_token * weights).sum()
        with torch.no_grad():
            log_ratio = result.logprobs - anchor
            capped = None if behaviour_weight is None else (
                batch.proximal_logprobs - batch.old_logprobs > math.log(settings.importance_cap)).float()
            totals.add_tokens(mask, policy=policy, clipped=clipped.float(), entropy=entropy, kl=kl,
                              ratio=log_ratio.exp(), approx_kl=torch.exp(-log_ratio) + log_ratio - 1,
                              value_loss=value_loss, behaviour_weight=behaviour_weight, behaviour_capped=capped,
                              entropy_penalty=penalty,
                              entropy_out_of_band=None if penalty is None else (penalty > 0).float())
        return loss


def _value_loss(values: torch.Tensor, targets: torch.Tensor, old_values: torch.Tensor | None,
                clip: float | None) -> torch.Tensor:
    """``0.5 (V - target)^2``, or with clipping ``0.5 max((V - t)^2, (V_old + clip(V - V_old) - t)^2)``."""
    loss = (values - targets) ** 2
    if clip is not None:
        if old_values is None:
            raise ValueError("value_clip needs rows with old_values")
        clipped = old_values + torch.clamp(values - old_values, -clip, clip)
        loss = torch.maximum(loss, (clipped - targets) ** 2)
    return 0.5 * loss


def _split(items: list[TrainingRow], parts: int) -> Iterator[list[TrainingRow]]:
    """``parts`` consecutive slices of near-equal size (some empty when items are few)."""
    size, extra = divmod(len(items), parts)
    start = 0
    for k in range(parts):
        end = start + size + (k < extra)
        yield items[start:end]
        start = end


def _all_reduce_counts(tokens: int, rows: int) -> tuple[int, int]:
    if not is_distributed():
        return tokens, rows
    counts = torch.tensor([tokens, rows], dtype=torch.float64)
    dist.all_reduce(counts)
    return int(counts[0]), int(counts[1])


def _all_reduce_gradients(parameters: list[torch.nn.Parameter]) -> None:
    """Sum the gradients across processes in one flat buffer (the loss is already globally
    normalised, so the sum is the global gradient)."""
    for p in parameters:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    if not is_distributed():
        return
    grads = [p.grad for p in parameters]
    flat = torch.cat([g.reshape(-1).float() for g in grads])
    dist.all_reduce(flat)
    start = 0
    for g in grads:
        g.copy_(flat[start:start + g.numel()].view_as(g))
        start += g.numel()


def _peak(current: float, value: float) -> float:
    """The larger of the two, NaN if either is (Python's ``max(0.0, nan)`` is 0.0: a step whose
    gradients were NaN would show a finite ``grad_norm_max``)."""
    return math.nan if math.isnan(current) or math.isnan(value) else max(current, value)


class _MetricTotals:
    """Sums behind the update's metrics; summed across processes at the end."""

    _TOKEN_KEYS = ("policy", "clipped", "entropy", "kl", "ratio", "approx_kl", "value_loss", "behaviour_weight",
                   "behaviour_capped", "entropy_penalty", "entropy_out_of_band")

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.sums = {key: 0.0 for key in self._TOKEN_KEYS}
        self.counts = {key: 0.0 for key in self._TOKEN_KEYS}
        self.ratio_max = 0.0
        self.steps = 0
        self.loss = 0.0
        self.grad_norm = 0.0
        self.grad_norm_max = 0.0
        self.micro_batches = 0
        self.tokens = 0
        self.capacity = 0
        self.token_budget = 0

    def add_tokens(self, mask: torch.Tensor, **values: torch.Tensor | None) -> None:
        for key, value in values.items():
            if value is None:
                continue
            self.sums[key] += float(value[mask].sum())
            self.counts[key] += float(mask.sum())
        if mask.any():
            self.ratio_max = _peak(self.ratio_max, float(values["ratio"][mask].max()))

    def add_step(self, loss: float, grad_norm: float, micro_batches: int, tokens: int, capacity: int) -> None:
        self.steps += 1
        self.loss += loss
        self.grad_norm += grad_norm
        self.grad_norm_max = _peak(self.grad_norm_max, grad_norm)
        self.micro_batches += micro_batches
        self.tokens += tokens
        self.capacity += capacity

    def summary(self) -> dict[str, float]:
        keys = list(self._TOKEN_KEYS)
        local = [self.sums[k] for k in keys] + [self.counts[k] for k in keys] + [
            self.loss, float(self.micro_batches), float(self.tokens), float(self.capacity)]
        ratio_max = self.ratio_max
        if is_distributed():
            summed = torch.tensor(local, dtype=torch.float64)
            dist.all_reduce(summed)
            local = summed.tolist()
            peak = torch.tensor([ratio_max], dtype=torch.float64)
            dist.all_reduce(peak, op=dist.ReduceOp.MAX)
            ratio_max = float(peak)
        sums, counts = local[: len(keys)], local[len(keys): 2 * len(keys)]
        loss, micro_batches, tokens, capacity = local[2 * len(keys):]
        metrics = {}
        names = {"policy": "policy_loss", "clipped": "clip_fraction", "entropy": "entropy", "kl": "kl",
                 "ratio": "ratio_mean", "approx_kl": "approx_kl", "value_loss": "value_loss",
                 "behaviour_weight": "behaviour_weight", "behaviour_capped": "behaviour_capped",
                 "entropy_penalty": "entropy_penalty", "entropy_out_of_band": "entropy_out_of_band"}
        for key, total, count in zip(keys, sums, counts):
            if count > 0:
                metrics[names[key]] = total / count
        steps = max(self.steps, 1)
        metrics.update({
            "ratio_max": ratio_max,
            "loss": loss / steps,
            "grad_norm": self.grad_norm / steps,
            "grad_norm_max": self.grad_norm_max,
            "optimizer_steps": float(self.steps),
            "micro_batches": micro_batches,
            "train_tokens": tokens,
            "pack_fill": tokens / capacity if capacity else 1.0,
            "micro_batch_tokens": float(self.token_budget),
        })
        return metrics
