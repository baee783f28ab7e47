"""PrefixCache, the store alone: longest-prefix lookup verified by token ids, entries consumed on
use, least-recently-stored eviction under a byte budget that is never exceeded, invalidation on
new weights, thread safety."""

from __future__ import annotations

import random
import threading

import numpy as np
import pytest
import torch

from agentgym.policies import prefix_cache as prefix_cache_module
from agentgym.policies.prefix_cache import PrefixCache, kv_bytes

LAYERS, HEADS, HEAD_DIM = 2, 2, 4
TOKEN_BYTES = 2 * LAYERS * HEADS * HEAD_DIM * 4  # keys and values, float32


def kv(ids: list[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Fake keys and values whose entries encode (layer, token id), so a test can tell whose they are."""
    tokens = torch.tensor(ids, dtype=torch.float32)[None, None, :, None]
    return [(tokens.expand(1, HEADS, len(ids), HEAD_DIM) + 1000 * layer,
             -tokens.expand(1, HEADS, len(ids), HEAD_DIM) - 1000 * layer) for layer in range(LAYERS)]


def test_the_longest_stored_prefix_wins_and_leaves_the_store():
    store = PrefixCache(1 << 20)
    for ids in ([1, 2], [1, 2, 3, 4], [1, 2, 3, 4, 5, 6, 7], [9, 9, 9]):
        assert store.put(ids, kv(ids))
    assert store.stats.bytes == 16 * TOKEN_BYTES and len(store) == 4
    found = store.take([[1, 2, 3, 4, 5, 8], [7, 7], [1, 2, 3, 4, 5, 6, 7, 8]])
    assert found[0].token_ids == (1, 2, 3, 4)  # [1..7] does not start the first prompt
    assert found[1] is None
    assert found[2].token_ids == (1, 2, 3, 4, 5, 6, 7)
    assert torch.equal(found[0].layers[1][0][0, 0, :, 0], torch.tensor([1001.0, 1002.0, 1003.0, 1004.0]))
    assert len(store) == 2 and store.stats.bytes == 5 * TOKEN_BYTES  # [1, 2] and [9, 9, 9] stay
    assert store.take([[1, 2, 3, 4, 5]])[0].token_ids == (1, 2)  # the longer one was consumed


def test_a_prompt_equal_to_a_stored_sequence_matches_it_and_prompts_of_one_call_share_an_entry():
    store = PrefixCache(1 << 20)
    store.put([5, 6, 7], kv([5, 6, 7]))
    first, second, third = store.take([[5, 6, 7], [5, 6, 7, 8], [5, 6]])
    assert first is second and first.token_ids == (5, 6, 7)
    assert third is None  # shorter than every stored sequence
    assert len(store) == 0 and store.stats.bytes == 0


def test_hash_collisions_never_give_a_wrong_prefix(monkeypatch):
    # Every sequence of a length collides: the token ids decide.
    monkeypatch.setattr(prefix_cache_module, "_prefix_hash_array", lambda ids: np.zeros(len(ids) + 1, np.uint64))
    store = PrefixCache(1 << 20)
    store.put([1, 2, 3], kv([1, 2, 3]))
    store.put([4, 5], kv([4, 5]))
    assert store.take([[1, 2, 4, 4], [4, 6, 1]]) == [None, None]
    assert store.take([[4, 5, 6]])[0].token_ids == (4, 5)
    # Same key, other ids: the newer replaces the older (never both under one key).
    store.put([7, 8, 9], kv([7, 8, 9]))
    assert store.take([[1, 2, 3, 0]]) == [None] and len(store) == 1


def test_eviction_keeps_the_bytes_within_the_budget_least_recently_stored_first():
    budget = 10 * TOKEN_BYTES
    store = PrefixCache(budget)
    assert store.put([1] * 4, kv([1] * 4)) and store.put([2] * 4, kv([2] * 4))
    assert store.put([3] * 4, kv([3] * 4))  # 12 tokens > 10: [1]*4 goes
    stats = store.stats
    assert (stats.evictions, stats.entries, stats.bytes) == (1, 2, 8 * TOKEN_BYTES)
    assert store.take([[1] * 5]) == [None] and store.take([[2] * 5])[0] is not None
    assert not store.put([4] * 11, kv([4] * 11))  # alone over the budget: refused, nothing evicted
    assert store.stats.rejected == 1 and store.stats.entries == 1
    assert not store.admits(11 * TOKEN_BYTES) and store.admits(10 * TOKEN_BYTES)
    assert store.stats.rejected == 2
    rng = random.Random(0)
    for _ in range(300):
        ids = [rng.randrange(50) for _ in range(rng.randrange(1, 10))]
        if rng.random() < 0.7:
            store.put(ids, kv(ids))
        else:
            store.take([ids + [1]])
        stats = store.stats
        assert stats.bytes <= budget and stats.peak_bytes <= budget
        assert stats.bytes == sum(kv_bytes(entry.layers) for entry in store._entries.values())


def test_a_disabled_store_keeps_nothing_but_counts():
    store = PrefixCache(0)
    assert not store.enabled and not store.put([1, 2], kv([1, 2])) and not store.admits(TOKEN_BYTES)
    assert store.take([[1, 2, 3]]) == [None]
    store.record(reused=0, prefilled=3)
    store.record(reused=5, prefilled=2)
    stats = store.stats
    assert (stats.hits, stats.misses, stats.tokens_reused, stats.tokens_prefilled) == (1, 1, 5, 5)
    assert stats.reused_fraction == 0.5 and stats.as_dict()["reused_fraction"] == 0.5
    store.reset_stats()
    assert store.stats.misses == 0
    with pytest.raises(ValueError, match="max_bytes"):
        PrefixCache(-1)


def test_new_weights_drop_every_entry():
    store = PrefixCache(1 << 20)
    assert not store.sync_weights("v1")
    store.put([1, 2], kv([1, 2]))
    assert not store.sync_weights("v1") and len(store) == 1
    assert store.sync_weights("v2") and len(store) == 0
    assert store.stats.invalidations == 1 and store.stats.bytes == 0


def test_concurrent_puts_and_takes_keep_the_store_consistent():
    budget = 40 * TOKEN_BYTES
    store = PrefixCache(budget)
    errors = []

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(200):
                ids = [seed] + [rng.randrange(4) for _ in range(rng.randrange(1, 8))]
                store.put(ids, kv(ids))
                for entry in store.take([ids + [9]]):
                    assert entry is None or list(entry.token_ids) == ids[: len(entry)]
        except AssertionError as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    stats = store.stats
    assert stats.peak_bytes <= budget
    assert stats.bytes == sum(kv_bytes(entry.layers) for entry in store._entries.values())
    assert stats.entries == len(store)
