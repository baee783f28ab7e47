"""Exploratory round 14: the prefix store met the way a busy rollout meets it (many episodes,
long histories, prompts that no longer extend anything)."""

from __future__ import annotations

import random
from collections.abc import Sequence

import torch

from agentgym.policies.prefix_cache import PrefixCache, sequence_key

KV = [(torch.zeros(1, 1, 1, 1), torch.zeros(1, 1, 1, 1))]  # only the token ids matter here


class CountedPrompt(Sequence):
    """A prompt that counts the token ids read from it."""

    def __init__(self, ids: list[int]) -> None:
        self.ids, self.reads = ids, 0

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index):
        item = self.ids[index]
        self.reads += len(item) if isinstance(index, slice) else 1
        return item


def test_looking_up_a_long_prompt_reads_it_once_however_many_lengths_are_stored():
    """Every turn after a context budget dropped history misses: the store copied and hashed the
    prompt's head once per stored length (256 episodes of ~3,000 tokens and as many missing
    prompts: 9 s under the store's lock and the policy's); the documented cost is the prompt's
    length plus one probe per stored length."""
    rng = random.Random(0)
    system = [rng.randrange(500) for _ in range(50)]
    store = PrefixCache(1 << 30)
    episodes = [system + [rng.randrange(500) for _ in range(100 + 7 * i)] for i in range(60)]
    for ids in episodes:
        assert store.put(ids, KV)
    missing = CountedPrompt(system + [rng.randrange(500, 600) for _ in range(600)])
    hit = CountedPrompt(episodes[40] + [1, 2, 3])
    found = store.take([missing, hit])
    assert found[0] is None and found[1].token_ids == tuple(episodes[40])
    assert missing.reads <= 2 * len(missing), missing.reads
    assert hit.reads <= 2 * len(hit), hit.reads


def test_prefix_hashes_are_the_keys_of_the_prefixes_and_the_longest_stored_prefix_wins():
    from agentgym.policies.prefix_cache import prefix_hashes

    ids = [random.Random(1).randrange(50_000) for _ in range(300)]
    hashes = prefix_hashes(ids)
    assert len(hashes) == len(ids) + 1 and len(set(hashes)) == len(hashes)
    assert all(sequence_key(ids[:n]) == (n, hashes[n]) for n in (0, 1, 2, 150, 300))
    assert sequence_key(tuple(ids)) == sequence_key(ids)
    store = PrefixCache(1 << 20)
    for n in (10, 100, 200):
        assert store.put(ids[:n], KV)
    assert store.put(ids[:150] + [7] * 100, KV)  # shares 150 tokens with ids, then parts
    found = store.take([ids[:250], ids[:199], ids[:5], [ids[0] + 1] + ids[1:250], ids[:150] + [7] * 120])
    assert [None if entry is None else len(entry) for entry in found] == [200, 100, None, None, 250]
    assert len(store) == 1 and store.take([ids])[0].token_ids == tuple(ids[:10])
