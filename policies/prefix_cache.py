"""A bounded store of per-sequence KV caches, for multi-turn prefix reuse in :class:`~agentgym.policies.hf.HFPolicy`.

In a token-exact rollout every turn's prompt is the previous turn's prompt, the tokens the
policy sampled and the observation's tokens (:mod:`agentgym.rollout.transcript`). So when a
generation ends, the keys and values the model computed for the tokens it was fed -- the prompt
and every sampled token but the last, which was never fed back -- are the start of the next
turn's KV cache. :class:`PrefixCache` keeps them, one entry per finished sequence, and hands an
entry back to a later prompt that extends its token sequence; the policy then prefills only the
new tokens.

Contract:

- An entry is keyed by its token sequence: its length and hash, with the token ids kept and
  compared, so a hash collision is never a false hit. The hashes of all of a prompt's prefixes
  come from one pass over it (:func:`prefix_hashes`), so looking a prompt up costs its length
  plus one probe per stored length, however many entries are stored (a prompt that matches
  none, after a context budget rewrote the history, is no slower to look up than one that
  does).
- The keys and values belong to the weights that computed them: :meth:`PrefixCache.sync_weights`
  drops every entry when the weights' version changes.
- :meth:`PrefixCache.take` finds, for each prompt, the *longest* stored sequence that is a
  prefix of it (the prompt itself included: its last token is then recomputed, since a forward
  pass needs at least one new token). A matched entry leaves the store (the episode's next turn
  stores the longer sequence in its place); prompts of one call that match the same entry all get
  it.
- Memory is bounded: :meth:`PrefixCache.put` evicts least recently stored entries until the
  store's tensors take at most ``max_bytes``; an entry larger than ``max_bytes`` is not stored.
  An evicted sequence is simply recomputed later (a miss), never wrong.
- ``max_bytes=0`` disables the store: nothing is kept, every prompt misses, and the counters
  still count (so the tokens a policy prefilled are reported either way).
- All methods are thread-safe.

The store holds tensors on the model's device; their layout (one ``(keys, values)`` pair per
layer, each ``[1, kv_heads, length, head_dim]``) is the policy's business.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
import torch

#: One layer's keys and values for one sequence, each ``[1, kv_heads, length, head_dim]``.
LayerKV = tuple[torch.Tensor, torch.Tensor]


@dataclass
class PrefixCacheStats:
    """Counters since the store was made (or :meth:`PrefixCache.reset_stats`).

    Attributes:
        hits: prompts that reused a stored prefix.
        misses: prompts prefilled from scratch (no stored prefix, the store disabled, or the
            prefix evicted).
        tokens_reused: prompt tokens whose keys and values came from the store.
        tokens_prefilled: prompt tokens fed through the model at prefill.
        evictions: entries dropped to stay within the byte budget.
        rejected: sequences not stored because they alone exceed the budget.
        invalidations: times the whole store was dropped because the weights changed.
        bytes: the bytes of tensors stored now; never above ``max_bytes``.
        peak_bytes: the most ``bytes`` has been.
        entries: entries stored now.
    """

    hits: int = 0
    misses: int = 0
    tokens_reused: int = 0
    tokens_prefilled: int = 0
    evictions: int = 0
    rejected: int = 0
    invalidations: int = 0
    bytes: int = 0
    peak_bytes: int = 0
    entries: int = 0

    @property
    def reused_fraction(self) -> float:
        """The share of prompt tokens that were not prefilled (0.0 before any prompt)."""
        total = self.tokens_reused + self.tokens_prefilled
        return self.tokens_reused / total if total else 0.0

    def as_dict(self) -> dict[str, float]:
        return {**asdict(self), "reused_fraction": self.reused_fraction}


@dataclass(frozen=True)
class CachedSequence:
    """The keys and values of one token sequence, layer by layer."""

    token_ids: tuple[int, ...]
    layers: tuple[LayerKV, ...]
    nbytes: int

    def __len__(self) -> int:
        return len(self.token_ids)


# Constants of SplitMix64's finaliser, which mixes each (token, position) pair into 64 bits.
_GOLDEN, _MIX1, _MIX2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def prefix_hashes(token_ids: Sequence[int]) -> list[int]:
    """``hashes[n]``, the hash of ``token_ids[:n]``, for every ``n`` from 0 to ``len(token_ids)``,
    in one vectorised pass: the sum, modulo 2**64, of each token mixed with its position (a
    prefix's hash is a running sum, so every prefix's comes at once)."""
    return _prefix_hash_array(token_ids).tolist()


def _prefix_hash_array(token_ids: Sequence[int]) -> np.ndarray:
    """:func:`prefix_hashes` as an array."""
    x = np.asarray(token_ids, dtype=np.int64).astype(np.uint64) * _GOLDEN
    x += np.arange(1, len(x) + 1, dtype=np.uint64) * _MIX1
    x ^= x >> np.uint64(30)
    x *= _MIX1
    x ^= x >> np.uint64(27)
    x *= _MIX2
    x ^= x >> np.uint64(31)
    hashes = np.zeros(len(x) + 1, dtype=np.uint64)
    np.cumsum(x, out=hashes[1:])
    return hashes


def sequence_key(token_ids: Sequence[int]) -> tuple[int, int]:
    """An entry's key: its length and hash (:func:`prefix_hashes`; the ids themselves are compared
    on a match)."""
    return len(token_ids), int(_prefix_hash_array(token_ids)[-1])


def kv_bytes(layers: Sequence[LayerKV]) -> int:
    """The bytes the tensors of ``layers`` take."""
    return sum(t.numel() * t.element_size() for pair in layers for t in pair)


class PrefixCache:
    """Least-recently-stored KV caches of token sequences under a byte budget (module docstring).

    Args:
        max_bytes: the most bytes of stored tensors; 0 disables the store.
    """

    def __init__(self, max_bytes: int) -> None:
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
            raise ValueError(f"prefix cache max_bytes must be an integer >= 0, got {max_bytes!r}")
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[int, int], CachedSequence] = OrderedDict()
        self._lengths: Counter[int] = Counter()  # stored lengths, to look prefixes up by length
        self._stats = PrefixCacheStats()
        self._weights_version: object = None
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    @property
    def stats(self) -> PrefixCacheStats:
        """A snapshot of the counters."""
        with self._lock:
            return PrefixCacheStats(**asdict(self._stats))

    def reset_stats(self) -> None:
        """Zero the counters (``bytes``, ``peak_bytes`` and ``entries`` restart from what is stored)."""
        with self._lock:
            self._stats = PrefixCacheStats(bytes=self._stats.bytes, peak_bytes=self._stats.bytes,
                                           entries=len(self._entries))

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def admits(self, nbytes: int) -> bool:
        """Whether an entry of ``nbytes`` would be stored: the store is on and the entry fits the
        budget. Lets a caller skip copying tensors that :meth:`put` would refuse; a refusal of a
        non-empty entry by an enabled store is counted in ``rejected``, as :meth:`put` would."""
        if not self.enabled or nbytes <= 0:
            return False
        if nbytes > self.max_bytes:
            with self._lock:
                self._stats.rejected += 1
            return False
        return True

    # ---------------------------------------------------------------- lookup
    def take(self, prompts: Sequence[Sequence[int]]) -> list[CachedSequence | None]:
        """For each prompt, the longest stored sequence that is a prefix of it (or equals it), else
        ``None``; every matched entry leaves the store. Counts nothing: the caller decides how
        much of a match it uses and reports it with :meth:`record`."""
        with self._lock:
            if not self._entries:
                return [None] * len(prompts)
            lengths = sorted(self._lengths, reverse=True)
            found = [self._longest_prefix(list(prompt), lengths) for prompt in prompts]
            matched = {}
            for key in found:
                if key is not None and key not in matched:
                    matched[key] = self._entries[key]
            for key in matched:
                self._remove(key)
            return [None if key is None else matched[key] for key in found]

    def _longest_prefix(self, prompt: list[int], lengths: list[int]) -> tuple[int, int] | None:
        """The key of the longest entry whose tokens start ``prompt`` (``lengths``: the stored
        lengths, longest first); only an entry whose key matches has its ids compared."""
        candidates = [length for length in lengths if length <= len(prompt)]
        if not candidates:
            return None
        for key in zip(candidates, _prefix_hash_array(prompt)[candidates].tolist()):
            entry = self._entries.get(key)
            if entry is not None and entry.token_ids == tuple(prompt[:key[0]]):
                return key
        return None

    def sync_weights(self, version: object) -> bool:
        """Drop every entry if ``version`` (any value that changes when the model's weights do)
        differs from the one seen last: stored keys and values belong to the weights that made
        them. Returns whether the store was cleared."""
        with self._lock:
            changed = self._weights_version is not None and version != self._weights_version
            self._weights_version = version
            if changed and self._entries:
                for key in list(self._entries):
                    self._remove(key)
                self._stats.invalidations += 1
                return True
            return False

    def record(self, *, reused: int, prefilled: int) -> None:
        """Count one prompt: ``reused`` tokens came from the store (0: a miss), ``prefilled`` were fed."""
        with self._lock:
            if reused > 0:
                self._stats.hits += 1
            else:
                self._stats.misses += 1
            self._stats.tokens_reused += reused
            self._stats.tokens_prefilled += prefilled

    # --------------------------------------------------------------- storing
    def put(self, token_ids: Sequence[int], layers: Sequence[LayerKV]) -> bool:
        """Store the keys and values ``layers`` of ``token_ids`` (replacing an entry of the same
        sequence), evicting the least recently stored entries to stay within the budget. Returns
        whether it was stored (``False``: the store is off, the sequence is empty, or it alone
        exceeds the budget)."""
        ids = tuple(int(token) for token in token_ids)
        entry = CachedSequence(ids, tuple(layers), kv_bytes(layers))
        with self._lock:
            if not ids or not self.enabled:
                return False
            if entry.nbytes > self.max_bytes:
                self._stats.rejected += 1
                return False
            key = sequence_key(ids)
            if key in self._entries:
                self._remove(key)
            while self._entries and self._stats.bytes + entry.nbytes > self.max_bytes:
                self._remove(next(iter(self._entries)))
                self._stats.evictions += 1
            self._entries[key] = entry
            self._lengths[len(ids)] += 1
            self._stats.bytes += entry.nbytes
            self._stats.peak_bytes = max(self._stats.peak_bytes, self._stats.bytes)
            self._stats.entries = len(self._entries)
            return True

    def clear(self) -> None:
        """Drop every entry (e.g. after the model's weights changed: stored keys and values are
        those of the old weights)."""
        with self._lock:
            for key in list(self._entries):
                self._remove(key)

    def _remove(self, key: tuple[int, int]) -> None:
        entry = self._entries.pop(key)
        self._lengths[len(entry)] -= 1
        if not self._lengths[len(entry)]:
            del self._lengths[len(entry)]
        self._stats.bytes -= entry.nbytes
        self._stats.entries = len(self._entries)
