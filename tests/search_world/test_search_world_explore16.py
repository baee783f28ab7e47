"""Exploratory round 16: search worlds, their corpus cache, questions and the document store,
at the edges of their documented contracts."""
from __future__ import annotations

import json
from collections.abc import Set
import time

import numpy as np
import pytest

from agentgym.retrieval.base import DocumentNotFound
from agentgym.retrieval.docstore import DocStore
from agentgym.retrieval.snippets import best_snippet
from envs.search.corpus import build_corpus
from envs.search.questions import generate_questions
from envs.search.world import World


@pytest.mark.parametrize("meta_change", [{"digest": None}, {"digest": 7}, "drop digest"])
def test_a_store_whose_meta_lacks_its_digest_is_a_value_error_holding_no_file(tmp_path, resources, meta_change):
    DocStore.build([{"id": "a", "title": "A", "text": "alpha"}], tmp_path / "s").close()
    meta_path = tmp_path / "s" / "docstore.json"
    meta = json.loads(meta_path.read_text())
    if meta_change == "drop digest":
        del meta["digest"]
    else:
        meta.update(meta_change)
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="digest"):  # was KeyError('digest'), or a store whose digest is None
        DocStore.open(tmp_path / "s")
    resources.assert_released(timeout=1.0)  # texts.bin was opened before the failure and never closed


@pytest.mark.parametrize("text, query", [
    ("这是一个很长的句子" * 60 + "，Python，" + "后面还有很多很多的文字" * 60 + "。", "python"),  # no spaces at all
    ("See https://example.org/" + "a1b2c3" * 200 + "/Lighthouse/keepers for the lighthouse records.", "lighthouse"),
])
def test_a_long_sentence_without_a_space_before_its_query_word_is_still_cut_around_it(text, query):
    snippet = best_snippet(text, query, 100)
    assert len(snippet) <= 100
    assert query in snippet.lower()  # it was the sentence's first 100 characters, the word far after them


@pytest.mark.parametrize("blank", [" ", " \t", "\u3000"])
def test_a_long_run_of_whitespace_takes_no_seconds(blank):
    # scraped pages hold runs of padding; the sentence splitter's regex tried its newline
    # alternative from every position of such a run (40,000 spaces: 4.5 s, 80,000: 16 s)
    text = "The keeper lit the lamp," + blank * (40_000 // len(blank)) + "the lighthouse stood on the rock."
    started = time.perf_counter()
    snippet = best_snippet(text, "lighthouse", 300)
    assert time.perf_counter() - started < 1.0
    assert snippet == "The keeper lit the lamp, the lighthouse stood on the rock."


def test_build_corpus_checks_size_and_seed_as_world_does_even_when_cached(tmp_path):
    build_corpus(60, 0, tmp_path)
    for size, seed, error in (("60", 0, TypeError), (60, "0", ValueError), ("abc", 0, TypeError)):
        with pytest.raises(error):  # '60' found the cached corpus of 60 while '61' was a TypeError
            build_corpus(size, seed, tmp_path)
    assert build_corpus(np.int64(60), np.int64(0), tmp_path).manifest["size"] == 60  # numpy's ints, as World


def test_generate_questions_takes_numpy_counts_as_it_takes_numpy_seeds():
    world = World(60, 0)
    assert generate_questions(world, np.int64(3), np.int64(1)) == generate_questions(world, 3, 1)
    with pytest.raises(ValueError, match="n must be"):
        generate_questions(world, np.int64(-1))


def test_an_unknown_id_of_50_kb_is_named_not_echoed_whole(tmp_path):
    with DocStore.build([{"id": "a", "title": "A", "text": "alpha"}], tmp_path / "s") as store:
        with pytest.raises(DocumentNotFound) as missing:
            store.document("z" * 50_000)  # an agent's or a client's id, echoed into a 404 answer's body
    message = str(missing.value)
    assert "'zzzz" in message and len(message) < 200  # it was 50,022 characters


class _KindsSet(Set):
    """A set of kinds that iterates in the order given (a str set's order varies with PYTHONHASHSEED)."""

    def __init__(self, *kinds: str) -> None:
        self._kinds = kinds

    def __contains__(self, kind: object) -> bool:
        return kind in self._kinds

    def __iter__(self):
        return iter(self._kinds)

    def __len__(self) -> int:
        return len(self._kinds)


def test_a_set_of_kinds_draws_the_same_questions_in_every_process():
    world = World(300, 1)
    in_kinds_order = generate_questions(world, 20, 0, kinds=("single", "bridge", "comparison"))
    # {'single', 'bridge', 'comparison'} iterated in another order in each process (PYTHONHASHSEED):
    # the kind drawn for an index changed, and so did the questions of one (world, seed)
    for order in (("comparison", "bridge", "single"), ("bridge", "single", "comparison")):
        assert generate_questions(world, 20, 0, kinds=_KindsSet(*order)) == in_kinds_order
    assert generate_questions(world, 20, 0, kinds={"single", "bridge", "comparison"}) == in_kinds_order
