"""A local Hugging Face causal language model as a :class:`Policy`, token-exact.

:class:`HFPolicy` runs its own batched decode loop instead of ``model.generate`` so that it
controls exactly what a trainer later relies on (DESIGN.md, invariant 1):

- the prompt is ``Request.prompt_token_ids`` verbatim when given (the rollout engine's exact
  transcript), else the tokenizer's chat template over ``Request.messages``;
- every sampled token is kept in ``Generation.token_ids`` (end-of-turn and stop-string tokens
  included) with its log-probability under the distribution it was sampled from,
  ``log_softmax(logits / temperature)`` before nucleus truncation;
- each request samples with its own ``torch.Generator``, seeded ``Request.seed`` or else
  ``SamplingParams.seed + i`` for request ``i``, drawing one uniform number per step, so its
  sample does not depend on which requests share its batch;
- a generation ends at an EOS token (the tokenizer's or any of ``generation_config``'s:
  ``finish_reason="stop"``), right after the first stop string (``"stop"``; ``text`` ends with
  the stop string) or at ``max_tokens`` or the end of the model's context (``"length"``);
  ``text`` is the decoded tokens without special tokens;
- a request that cannot run (a prompt too long for the context, token ids outside the
  vocabulary, a failing chat template) gets a ``finish_reason="error"`` generation, and the
  rest of the batch goes on.

The loop: left-padded prefill (attention mask and position ids that skip the padding), then one
token per step through the model's KV cache (``DynamicCache``); rows that finish leave the
batch and the cache, and the loop ends when every row is done.

Multi-turn prefix caching. A turn's prompt in a token-exact rollout is the previous turn's
prompt, its sampled tokens and the observation's tokens, so the keys and values computed for the
previous turn are the start of this one's. When a row finishes, its keys and values for the
tokens it was fed (prompt and sampled tokens but the last) go to :attr:`HFPolicy.prefix_cache`
(:class:`~agentgym.policies.prefix_cache.PrefixCache`: bounded by ``prefix_cache_bytes``, least
recently stored out first); a later prompt that extends a stored sequence takes it and prefills
only its new tokens. The batch's KV cache then starts with a *cache region* (each row's reused
keys and values, right-aligned to the longest) followed by the *suffix region* (the new tokens,
right-aligned to the longest suffix): the attention mask is 0 on the padding of both regions and
the position ids count each row's real tokens, so a row sees exactly its own sequence at its own
positions. Rows that reuse nothing (a new episode, an evicted or edited history) are prefilled
as a separate group and both groups' caches are joined for decoding, so one long new prompt
does not widen the cache region of the others. A hit's result equals a full prefill's up to
float rounding (the reused keys and values were computed by other forward passes: measured
below 1e-5 in the log-probs in float32, the size of the batching noise described next); with
the same hits, runs are bit-identical. The store is dropped whenever the weights change (any
in-place update of a parameter, e.g. an optimizer step, or a replaced parameter), and prefix
caching is off for models whose cache is not one plain ``DynamicLayer`` per layer (sliding
windows, linear attention) and for subclasses with their own decode loop
(:class:`~agentgym.policies.hf_vision.HFVisionPolicy`).

Reproducibility. With greedy or seeded sampling, a request's tokens and log-probs are a
function of the request (prompt ids, seed), the ``SamplingParams``, the weights, *the batch it
is decoded in* (its batch-mates and their order: the rows sorted by prompt length, ties in the
caller's order, cut into ``max_batch_size`` chunks) and the machine: device, dtype, torch and
transformers versions and torch's thread count (``torch.get_num_threads()``). Equal in all of
these gives bit-identical results. The batch matters because a padded or wider forward pass
rounds differently — padding changes the attention's reduction lengths, and the matrix
kernels' blocking depends on the number of rows — by about 1e-5 in the log-probs on a CPU, which
now and then moves a sampled token. ``batch_invariant=True`` removes that dependence: each
request is then decoded alone (no padding, one row), so its result is the same in any batch,
at the cost of batched throughput. The rollout engine's lockstep batching
(:mod:`agentgym.rollout.batcher`) makes the batches themselves the same in every seeded run.
With the prefix cache on, a result also depends on the prefix it reused, if any (whose keys and
values came from the batches of earlier turns): the same calls in the same order reuse the same
prefixes and give bit-identical results, and under ``batch_invariant=True`` every stored
sequence was itself computed alone, so results still do not depend on the batch -- unless the
byte budget evicted a prefix that another run kept. ``prefix_cache=False`` removes the dependence.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import torch
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

from agentgym.core import is_int
from agentgym.policies.base import FinishReason, Generation, Policy, Request, SamplingParams
from agentgym.policies.prefix_cache import CachedSequence, LayerKV, PrefixCache
from agentgym.rollout.prompt_text import render_prompt
from agentgym.rollout.transcript import encode_text


@dataclass
class DecodingRow:
    """One request being decoded."""

    index: int
    prompt_ids: list[int]
    budget: int  # the most tokens it may generate: max_tokens, or less near the context's end
    generator: torch.Generator | None  # None when greedy
    token_ids: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    text: str | None = None  # set when a stop string cut it
    finish_reason: FinishReason | None = None
    cached_tokens: int = 0  # prompt tokens whose keys and values came from the prefix cache

    @property
    def done(self) -> bool:
        return self.finish_reason is not None


class HFPolicy(Policy):
    """Generate with a ``transformers`` causal LM on CPU or one GPU.

    Args:
        model: a causal LM (``AutoModelForCausalLM``); it is put in eval mode.
        tokenizer: its tokenizer; a chat template is needed for requests without
            ``prompt_token_ids``.
        device: move the model there (default: leave it where it is).
        dtype: cast the model to this dtype (default: leave it).
        max_batch_size: larger batches are split into batches of at most this many requests.
        name: a label for tables and logs (default: the model's name or path).
        batch_invariant: decode every request alone, so that its tokens and log-probs do not
            depend on the other requests of a call (see the module docstring); slower.
        prefix_cache: keep finished sequences' keys and values and reuse them for prompts that
            extend them (multi-turn prefix caching, see the module docstring).
        prefix_cache_bytes: the most bytes of keys and values kept (``None``:
            :func:`default_prefix_cache_bytes`, the larger of the parameters' bytes and a batch of
            2,048-token sequences' keys and values, on a GPU at most half its free memory at
            construction; 0 disables the cache).

    Only one batch runs at a time; concurrent :meth:`agenerate` calls wait their turn.

    :attr:`prefix_cache` (a :class:`~agentgym.policies.prefix_cache.PrefixCache`) counts hits,
    misses, tokens reused and prefilled, evictions and bytes in ``prefix_cache.stats``, with the
    cache on or off; :attr:`prefix_cache_off_reason` says why it is off (``None`` when on). A
    generation's ``metadata["cached_prompt_tokens"]`` is how many of its prompt tokens were reused.
    """

    #: In a batch mixing prompts that reuse a prefix with prompts that reuse none, prefill the two
    #: groups apart and join their caches to decode (``True``), or prefill all in one forward pass
    #: over a cache region as wide as the longest reuse and a suffix region as wide as the longest
    #: new prompt (``False``); ``benchmarks/bench_prefix_cache.py`` measures both.
    prefill_misses_apart: bool = True

    def __init__(self, model: Any, tokenizer: Any, *, device: str | torch.device | None = None,
                 dtype: torch.dtype | None = None, max_batch_size: int = 16, name: str | None = None,
                 batch_invariant: bool = False, prefix_cache: bool = True,
                 prefix_cache_bytes: int | None = None) -> None:
        if not is_int(max_batch_size) or max_batch_size < 1:
            raise ValueError(f"max_batch_size must be a positive integer, got {max_batch_size!r}")
        if prefix_cache_bytes is not None and (not is_int(prefix_cache_bytes) or prefix_cache_bytes < 0):
            raise ValueError(f"prefix_cache_bytes must be an integer >= 0 or None, got {prefix_cache_bytes!r}")
        max_batch_size = int(max_batch_size)  # NumPy's integers (a value read from a config array) too
        prefix_cache_bytes = None if prefix_cache_bytes is None else int(prefix_cache_bytes)
        self.batch_invariant = bool(batch_invariant)
        if dtype is not None:
            model = model.to(dtype=dtype)
        if device is not None:
            model = model.to(device)
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.max_batch_size = max_batch_size
        self.name = name or (getattr(model.config, "name_or_path", "") or "hf").rstrip("/").rsplit("/", 1)[-1]
        self.device = next(model.parameters()).device
        self.eos_token_ids = _eos_token_ids(model, tokenizer)
        self.context_length: int | None = getattr(model.config, "max_position_embeddings", None)
        self._vocab_size = model.get_input_embeddings().num_embeddings
        # Padding is masked out, so any id will do.
        pad = tokenizer.pad_token_id
        self._pad_token_id = pad if pad is not None else min(self.eos_token_ids, default=0)
        # Ask for the last position's logits only, where the model supports it (saves a
        # [batch, prompt, vocab] tensor at prefill).
        parameters = _forward_parameters(model)
        self._last_logits_only = {"logits_to_keep": 1} if "logits_to_keep" in parameters else {}
        self._cache_argument = cache_keyword(model)
        self._lock = threading.Lock()
        self.prefix_cache_off_reason = self._prefix_cache_off_reason(prefix_cache, prefix_cache_bytes)
        budget = 0 if self.prefix_cache_off_reason else prefix_cache_bytes
        self.prefix_cache = PrefixCache(default_prefix_cache_bytes(self.model, max_batch_size)
                                        if budget is None else budget)

    def _prefix_cache_off_reason(self, wanted: bool, max_bytes: int | None) -> str | None:
        if not wanted:
            return "prefix_cache=False"
        if max_bytes == 0:
            return "prefix_cache_bytes=0"
        if type(self)._decode is not HFPolicy._decode:
            return f"{type(self).__name__} has its own decode loop"
        layers = DynamicCache(config=self.model.config).layers
        if not layers or any(type(layer) is not DynamicLayer for layer in layers):
            kinds = sorted({type(layer).__name__ for layer in layers}) or ["none"]
            return f"the model's cache layers ({', '.join(kinds)}) are not all plain full-attention DynamicLayers"
        return None

    @classmethod
    def from_pretrained(cls, path_or_name: str, *, device: str | torch.device | None = None,
                        dtype: torch.dtype | None = None, max_batch_size: int = 16, name: str | None = None,
                        batch_invariant: bool = False, prefix_cache: bool = True,
                        prefix_cache_bytes: int | None = None, **load_kwargs: Any) -> HFPolicy:
        """Load tokenizer and model from a folder or hub name, quietly (:func:`quiet_transformers`);
        ``load_kwargs`` (``revision``, ``gguf_file``, ``local_files_only``, ...) go to both
        ``from_pretrained`` calls."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        model_kwargs = {"dtype": dtype} if dtype is not None else {}
        with quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(path_or_name, **load_kwargs)
            model = AutoModelForCausalLM.from_pretrained(path_or_name, **model_kwargs, **load_kwargs)
        return cls(model, tokenizer, device=device, max_batch_size=max_batch_size, name=name,
                   batch_invariant=batch_invariant, prefix_cache=prefix_cache, prefix_cache_bytes=prefix_cache_bytes)

    def close(self) -> None:
        """Release the prefix cache's memory (the policy stays usable: its next prompts miss)."""
        self.prefix_cache.clear()

    async def agenerate(self, requests: Sequence[Request], sampling: SamplingParams) -> list[Generation]:
        """Cancelling this coroutine (e.g. the server's client hung up) stops the decode loop at
        its next token, so abandoned requests do not hold the model."""
        cancelled = threading.Event()
        try:
            return await asyncio.to_thread(self._generate, list(requests), sampling, cancelled)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    # ------------------------------------------------------------------ batching
    def _generate(self, requests: list[Request], sampling: SamplingParams,
                  cancelled: threading.Event | None = None) -> list[Generation]:
        # One batch at a time, tokenizer included (fast tokenizers dislike concurrent use); grad
        # mode is per thread, so it is switched off here, in the worker thread.
        with self._lock, torch.inference_mode():
            return self._generate_locked(requests, sampling, cancelled or threading.Event())

    def _generate_locked(self, requests: list[Request], sampling: SamplingParams,
                         cancelled: threading.Event) -> list[Generation]:
        results: list[Generation | None] = [None] * len(requests)
        if self.prefix_cache.enabled:
            self.prefix_cache.sync_weights(weights_version(self.model))
        rows = []
        for index, request in enumerate(requests):
            try:
                rows.append(self._new_row(index, request, sampling))
            except Exception as exc:  # a bad request must not sink the batch
                results[index] = _error_generation(exc)
        # Group similar lengths to pad less (a stable sort: ties keep the caller's order).
        rows.sort(key=lambda row: len(row.prompt_ids))
        size = 1 if self.batch_invariant else self.max_batch_size
        for start in range(0, len(rows), size):
            batch = rows[start: start + size]
            try:
                self._decode(batch, sampling, cancelled)
            except Exception as exc:
                for row in batch:
                    results[row.index] = _error_generation(exc, row.prompt_ids)
                continue
            for row in batch:
                results[row.index] = self._finish(row, sampling)
        return results  # type: ignore[return-value]

    def _new_row(self, index: int, request: Request, sampling: SamplingParams) -> DecodingRow:
        prompt = self._prompt_ids(request)
        budget = sampling.max_tokens
        if self.context_length is not None:
            if len(prompt) >= self.context_length:
                raise ValueError(f"the prompt has {len(prompt)} tokens; the model's context holds "
                                 f"{self.context_length} (prompt and generation together)")
            budget = min(budget, self.context_length - len(prompt))
        generator = None
        if not sampling.greedy:
            generator = torch.Generator(device=self.device)
            if request.seed is not None:
                generator.manual_seed(request.seed)
            elif sampling.seed is not None:
                generator.manual_seed(sampling.seed + index)
            else:
                generator.seed()
        return DecodingRow(index, prompt, budget, generator)

    def _prompt_ids(self, request: Request) -> list[int]:
        if request.prompt_token_ids is not None:
            not_ids = [token for token in request.prompt_token_ids if not is_int(token)]
            if not_ids:  # int() would turn 1.5 or "12" into another prompt without a word
                raise ValueError(f"prompt token ids must be integers, got {[repr(t) for t in not_ids[:5]]}")
            prompt = [int(token) for token in request.prompt_token_ids]
            bad = [token for token in prompt if not 0 <= token < self._vocab_size]
            if bad:
                raise ValueError(f"prompt token ids outside the vocabulary (size {self._vocab_size}): {bad[:5]}")
        else:
            text = render_prompt(self.tokenizer, request.messages, request.tools)
            # The template already wrote any special tokens (BOS included) it wants; a lone
            # surrogate is encoded as U+FFFD (see encode_text).
            prompt = encode_text(self.tokenizer, text)
        if not prompt:
            raise ValueError("the prompt is empty")
        return prompt

    # ------------------------------------------------------------- decode loop
    def _decode(self, rows: list[DecodingRow], sampling: SamplingParams, cancelled: threading.Event) -> None:
        """Decode ``rows`` together until each is done, or until ``cancelled`` is set (nobody waits
        for them any more: they end as they are, ``finish_reason="length"``)."""
        if cancelled.is_set():
            for row in rows:
                row.finish_reason = "length"
            return
        logits, cache, attention_mask, position_ids = self._prefill(rows)
        active = list(rows)
        while True:
            tokens, logprobs = sample_next_tokens(logits, sampling, [row.generator for row in active])
            for row, token, logprob in zip(active, tokens.tolist(), logprobs.tolist()):
                self._append(row, token, logprob, sampling)
            keep = [i for i, row in enumerate(active) if not row.done]
            if len(keep) < len(active):  # finished rows leave the batch and the cache
                self._store_finished(cache, attention_mask, [i for i, row in enumerate(active) if row.done], active)
                if not keep:
                    return
                index = torch.tensor(keep, device=self.device)
                cache.batch_select_indices(index)
                attention_mask, position_ids, tokens = attention_mask[index], position_ids[index], tokens[index]
                active = [active[i] for i in keep]
            if cancelled.is_set():
                for row in active:
                    row.finish_reason = "length"
                return
            input_ids = tokens[:, None]
            attention_mask = torch.cat([attention_mask, attention_mask.new_ones((len(active), 1))], dim=-1)
            position_ids = position_ids[:, -1:] + 1
            logits = self._next_token_logits(input_ids, attention_mask, position_ids, cache)

    # ------------------------------------------------------------ prefix cache
    def _prefill(self, rows: list[DecodingRow]) -> tuple[torch.Tensor, DynamicCache, torch.Tensor, torch.Tensor]:
        """The first forward pass: the next-token logits of every row, the batch's KV cache and the
        attention mask and position ids to continue from. Rows that extend a sequence of the
        prefix cache reuse its keys and values and feed only their new tokens."""
        store = self.prefix_cache
        found = store.take([row.prompt_ids for row in rows]) if store.enabled else [None] * len(rows)
        for row, entry in zip(rows, found):
            # At least one token must be fed: a prompt equal to a stored sequence recomputes its last.
            row.cached_tokens = 0 if entry is None else min(len(entry), len(row.prompt_ids) - 1)
            store.record(reused=row.cached_tokens, prefilled=len(row.prompt_ids) - row.cached_tokens)
        hits = [i for i, row in enumerate(rows) if row.cached_tokens]
        misses = [i for i, row in enumerate(rows) if not row.cached_tokens]
        if not hits or not misses or not self.prefill_misses_apart:
            return self._prefill_group(rows, found)
        # Prefilled apart, a long new prompt does not widen the hits' cache region (nor their
        # cache region the new prompt's), then joined to decode as one batch.
        groups = [(indices, self._prefill_group([rows[i] for i in indices], [found[i] for i in indices]))
                  for indices in (misses, hits)]
        layers: list[list[LayerKV]] = [[] for _ in rows]
        logits = [torch.empty(0)] * len(rows)
        for indices, (group_logits, cache, mask, _) in groups:
            for j, i in enumerate(indices):
                layers[i] = _row_kv(cache, j, mask[j])
                logits[i] = group_logits[j]
        lengths = [len(row.prompt_ids) for row in rows]
        cache = self._batch_cache(layers, lengths, max(lengths))
        attention_mask = torch.zeros((len(rows), max(lengths)), dtype=torch.long, device=self.device)
        for i, length in enumerate(lengths):
            attention_mask[i, max(lengths) - length:] = 1
        position_ids = torch.tensor(lengths, device=self.device)[:, None] - 1
        return torch.stack(logits), cache, attention_mask, position_ids

    def _prefill_group(self, rows: list[DecodingRow], found: list[CachedSequence | None]
                       ) -> tuple[torch.Tensor, DynamicCache, torch.Tensor, torch.Tensor]:
        """Prefill ``rows``, each reusing its first ``row.cached_tokens`` tokens' keys and values
        from its entry of ``found``: a cache region of the longest reuse, then a suffix region of
        the longest suffix, each row right-aligned in both (module docstring)."""
        reused = max(row.cached_tokens for row in rows)
        width = max(len(row.prompt_ids) - row.cached_tokens for row in rows)
        input_ids = torch.full((len(rows), width), self._pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((len(rows), reused + width), dtype=torch.long)
        position_ids = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            n, suffix = row.cached_tokens, row.prompt_ids[row.cached_tokens:]
            input_ids[i, width - len(suffix):] = torch.tensor(suffix)
            attention_mask[i, reused - n: reused] = 1
            attention_mask[i, reused + width - len(suffix):] = 1
            # Positions count real tokens only, so a padded row sees the positions it would alone.
            position_ids[i, width - len(suffix):] = torch.arange(n, len(row.prompt_ids))
        input_ids, attention_mask, position_ids = (t.to(self.device) for t in (input_ids, attention_mask, position_ids))
        if reused:
            cache = self._batch_cache([[(k[..., :row.cached_tokens, :], v[..., :row.cached_tokens, :])
                                        for k, v in entry.layers] if row.cached_tokens else []
                                       for row, entry in zip(rows, found)],
                                      [row.cached_tokens for row in rows], reused)
        else:
            cache = DynamicCache(config=self.model.config)
        logits = self._next_token_logits(input_ids, attention_mask, position_ids, cache)
        return logits, cache, attention_mask, position_ids

    def _batch_cache(self, layers: list[list[LayerKV]], lengths: list[int], width: int) -> DynamicCache:
        """A cache of ``width`` positions holding row ``i``'s keys and values ``layers[i]`` (of
        ``lengths[i]`` tokens; an empty list for none) right-aligned, zeros elsewhere."""
        template = next(row for row in layers if row)
        joined = []
        for layer, (keys, values) in enumerate(template):
            shape = (len(layers), keys.shape[1], width, keys.shape[3])
            batch_keys = keys.new_zeros(shape)
            batch_values = values.new_zeros((*shape[:3], values.shape[3]))
            for i, (row, length) in enumerate(zip(layers, lengths)):
                if length:
                    batch_keys[i, :, width - length:] = row[layer][0][0]
                    batch_values[i, :, width - length:] = row[layer][1][0]
            joined.append((batch_keys, batch_values))
        return DynamicCache(joined, config=self.model.config)

    def _store_finished(self, cache: DynamicCache, attention_mask: torch.Tensor, finished: list[int],
                        active: list[DecodingRow]) -> None:
        """Give the prefix cache the keys and values of the finished rows ``finished`` (indices
        into ``active``, the rows of ``cache``): those of every token each was fed."""
        if not self.prefix_cache.enabled:
            return
        per_token = sum(layer.keys[0, :, 0].numel() * layer.keys.element_size()
                        + layer.values[0, :, 0].numel() * layer.values.element_size() for layer in cache.layers)
        for i in finished:
            row = active[i]
            fed = row.prompt_ids + row.token_ids[:-1]  # the last sampled token was never fed
            if not self.prefix_cache.admits(per_token * len(fed)):
                continue
            mask = attention_mask[i]
            if int(mask.sum()) != len(fed):  # never store what the cache does not hold exactly
                continue
            self.prefix_cache.put(fed, _row_kv(cache, i, mask))

    def _next_token_logits(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                           position_ids: torch.Tensor, cache: DynamicCache) -> torch.Tensor:
        output = self.model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                            use_cache=True, **{self._cache_argument: cache}, **self._last_logits_only)
        return output.logits[:, -1, :].float()

    def _append(self, row: DecodingRow, token: int, logprob: float, sampling: SamplingParams) -> None:
        """Record one sampled token and decide whether ``row`` is done."""
        row.token_ids.append(token)
        row.logprobs.append(logprob)
        if token in self.eos_token_ids:
            row.finish_reason = "stop"
            return
        if sampling.stop:
            text = self._decode_text(row.token_ids)
            ends = [text.find(stop) + len(stop) for stop in sampling.stop if stop in text]
            if ends:
                row.text = text[: min(ends)]
                row.finish_reason = "stop"
                return
        if len(row.token_ids) >= row.budget:
            row.finish_reason = "length"

    def _finish(self, row: DecodingRow, sampling: SamplingParams) -> Generation:
        text = row.text if row.text is not None else self._decode_text(row.token_ids)
        return Generation(text=text, token_ids=row.token_ids, logprobs=row.logprobs if sampling.logprobs else None,
                          prompt_token_ids=row.prompt_ids, finish_reason=row.finish_reason,
                          metadata={"cached_prompt_tokens": row.cached_tokens})

    def _decode_text(self, token_ids: list[int]) -> str:
        return self.tokenizer.decode(token_ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)


def sample_next_tokens(logits: torch.Tensor, sampling: SamplingParams,
                       generators: list[torch.Generator | None]) -> tuple[torch.Tensor, torch.Tensor]:
    """The next token of each row and its log-probability (see the module docstring).

    Sampling inverts the cumulative distribution *in vocabulary order* at one uniform number
    per row: a tiny change of the logits (another batch, another padding) then moves the pick
    only if the number falls right on a boundary, whereas a CDF in sorted order would reorder
    near-equal probabilities and change the pick wholesale.
    """
    if sampling.greedy:
        tokens = logits.argmax(dim=-1)
        return tokens, torch.log_softmax(logits, dim=-1).gather(-1, tokens[:, None]).squeeze(-1)
    # logits / temperature, shifted so each row's maximum is exactly 0 (log_softmax is unchanged).
    # The shift keeps tiny temperatures finite: logits / 1e-40 overflows to inf and its
    # log_softmax is NaN, whereas here the top logits stay 0 and the rest go to -inf -- the greedy
    # limit, log-prob 0 (-log k for a k-way tie) for the top token. The maxima are set to 0
    # explicitly, since a temperature that rounds to 0 in float32 would make them 0 / 0.
    top = logits.max(dim=-1, keepdim=True).values
    tempered = torch.where(logits == top, 0.0, (logits - top) / sampling.temperature)
    logprobs = torch.log_softmax(tempered, dim=-1)
    probs = logprobs.exp()
    if sampling.top_p < 1:
        probs = probs * _nucleus(probs, sampling.top_p)
    cdf = probs.cumsum(dim=-1)
    uniforms = torch.stack([torch.rand((), generator=g, device=logits.device) for g in generators])
    tokens = torch.searchsorted(cdf, (uniforms * cdf[:, -1])[:, None], right=True).squeeze(-1)
    # Rounding could put the target at the CDF's very end: take the last possible token, where
    # the CDF first reaches its maximum.
    tokens = torch.where(tokens < probs.shape[-1], tokens, cdf.argmax(dim=-1))
    return tokens, logprobs.gather(-1, tokens[:, None]).squeeze(-1)


def _nucleus(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    """1.0 on the smallest set of most likely tokens whose mass reaches ``top_p``, else 0.0
    (the most likely token is always in).

    Sorting a whole vocabulary costs more than a small model's forward pass on a CPU, and
    nuclei are usually small: look at the top ``k`` tokens, growing ``k`` until they hold
    ``top_p`` of every row's mass (no token past them can then be in a nucleus).
    """
    k = min(64, probs.shape[-1])
    while True:
        top, order = probs.topk(k, dim=-1)
        if k == probs.shape[-1] or bool((top.sum(dim=-1) >= top_p).all()):
            break
        k = min(8 * k, probs.shape[-1])
    in_nucleus = (top.cumsum(dim=-1) - top) < top_p
    # A top_p below float32's smallest number (1e-300) compares as 0: keep the top token anyway.
    in_nucleus[:, 0] = True
    return torch.zeros_like(probs).scatter(-1, order, in_nucleus.to(probs.dtype))


def _row_kv(cache: DynamicCache, row: int, attention_mask: torch.Tensor) -> list[LayerKV]:
    """Row ``row``'s keys and values at the positions where its ``attention_mask`` is 1, layer by
    layer, as fresh ``[1, kv_heads, tokens, head_dim]`` tensors (the batch's may then be freed)."""
    index = attention_mask.nonzero().squeeze(-1)
    return [(layer.keys[row: row + 1].index_select(2, index), layer.values[row: row + 1].index_select(2, index))
            for layer in cache.layers]


def default_prefix_cache_bytes(model: Any, max_batch_size: int = 16) -> int:
    """The default budget of the prefix cache: the larger of the bytes of ``model``'s parameters
    and the keys and values of ``max_batch_size`` sequences of 2,048 tokens (what one batch of
    such prompts holds while it decodes), on a GPU at most half of its free memory now."""
    budget = max(sum(p.numel() * p.element_size() for p in model.parameters()),
                 kv_bytes_per_token(model) * max_batch_size * 2048)
    device = next(model.parameters()).device
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        budget = min(budget, free // 2)
    return int(budget)


def kv_bytes_per_token(model: Any) -> int:
    """The bytes of keys and values one token takes in ``model``'s cache, from its config (0 when
    the config does not say: layers, key-value heads and head size)."""
    config = model.config.get_text_config(decoder=True)
    heads = getattr(config, "num_attention_heads", None)
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    head_dim = getattr(config, "head_dim", None) or (config.hidden_size // heads if heads else None)
    layers = getattr(config, "num_hidden_layers", None)
    if not (kv_heads and head_dim and layers):
        return 0
    return 2 * layers * kv_heads * head_dim * next(model.parameters()).element_size()


def weights_version(model: Any) -> int:
    """A number that changes whenever ``model``'s parameters do: an in-place update (an optimizer
    step, ``load_state_dict``, ``copy_``) bumps a tensor's version counter, and a replaced
    parameter has other storage."""
    return hash(tuple((p.data_ptr(), p._version) for p in model.parameters()))


def cache_keyword(model: Any) -> str:
    """The name of the KV-cache argument of ``model``'s forward: transformers >= 5.25 calls it
    ``cache`` (passing ``past_key_values`` there raises a FutureWarning), older ones
    ``past_key_values``."""
    return "cache" if "cache" in _forward_parameters(model) else "past_key_values"


def _forward_parameters(model: Any) -> set[str]:
    """The keyword arguments ``model``'s forward takes, looking through a wrapper that passes
    its keyword arguments on to the model it wraps (a PEFT model's ``get_base_model()``)."""
    names = set(inspect.signature(model.forward).parameters)
    base = getattr(model, "get_base_model", None)
    if callable(base):
        names |= set(inspect.signature(base().forward).parameters)
    return names


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Within the block, transformers shows no progress bars ("Loading weights", "Loading
    checkpoint shards") and logs errors only; its previous settings are restored on exit.
    For loading a model: a user's own stricter settings are kept, and a real error still shows."""
    from transformers.utils import logging as transformers_logging

    verbosity = transformers_logging.get_verbosity()
    bars = transformers_logging.is_progress_bar_enabled()
    transformers_logging.set_verbosity(max(verbosity, transformers_logging.ERROR))
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        transformers_logging.set_verbosity(verbosity)
        if bars:
            transformers_logging.enable_progress_bar()


def _eos_token_ids(model: Any, tokenizer: Any) -> frozenset[int]:
    """The tokenizer's EOS token and the model's ``generation_config.eos_token_id`` (an int or
    a list)."""
    ids = {tokenizer.eos_token_id}
    config_eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    ids.update(config_eos if isinstance(config_eos, (list, tuple)) else [config_eos])
    return frozenset(int(token) for token in ids if token is not None)


def _error_generation(exc: Exception, prompt_ids: list[int] | None = None) -> Generation:
    return Generation(text="", prompt_token_ids=prompt_ids, finish_reason="error", error=f"{type(exc).__name__}: {exc}")
