"""The ranking is bm25s's Lucene BM25, and the pruned top-k equals exhaustive scoring exactly."""

from __future__ import annotations

import random

import bm25s
import numpy as np
import pytest

from agentgym.retrieval import bm25 as bm25_module
from agentgym.retrieval.bm25 import BM25Index, top_k
from agentgym.retrieval.snippets import tokenize


def _queries(index, n, seed):
    """Random queries mixing rare and common words, with repeats and unknown words."""
    rng = random.Random(seed)
    words = sorted(index._vocabulary)
    common = ["year", "born", "city", "person", "founded", "population", "accounts"]
    out = []
    for _ in range(n):
        q = rng.sample(words, rng.randint(1, 4)) + rng.sample(common, rng.randint(0, 3))
        if rng.random() < 0.2:
            q.append(q[0])  # a repeated token counts twice
        if rng.random() < 0.2:
            q.append("qqqunknownqqq")
        rng.shuffle(q)
        out.append(" ".join(q))
    return out + ["year", "born year", "year year city", "person"]


def test_pruned_top_k_is_bit_identical_to_dense_scoring(index):
    postings = index._postings
    for query in _queries(index, 150, seed=1):
        terms = index._term_ids(query)
        for k in (1, 3, 10, 100):
            rows, scores = top_k(postings, terms, k)
            dense_rows, dense_scores = bm25_module._dense_top_k(postings, terms, k)
            assert rows.tolist() == dense_rows.tolist(), (query, k)
            assert scores.tobytes() == dense_scores.tobytes(), (query, k)


def test_scores_match_a_bm25s_index_of_the_same_tokens(corpus, index):
    docs = list(corpus.iter_documents())
    reference = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
    reference.index([tokenize(d["title"] + "\n" + d["text"]) for d in docs], show_progress=False)
    row_of = {d["id"]: i for i, d in enumerate(docs)}
    for query in _queries(index, 60, seed=2):
        tokens = [t for t in tokenize(query) if t in reference.vocab_dict]
        expected = reference.get_scores(tokens)
        hits = index.search(query, 10)
        assert hits
        got = np.array([h.score for h in hits])
        np.testing.assert_allclose(got, expected[[row_of[h.doc_id] for h in hits]], rtol=1e-5)
        kth_best = np.sort(expected)[-len(hits)]
        assert got.min() >= kth_best * (1 - 1e-5)  # nothing better was left out


def test_bm25s_itself_loads_the_index(index_path, index):
    plain = bm25s.BM25.load(index_path / "bm25s", mmap=True)
    for query in ("Hans Fifife", "Pefifilen population", "Giki Daba Society founded"):
        tokens = [t for t in tokenize(query) if t in plain.vocab_dict]
        docs, scores = plain.retrieve([tokens], k=3, show_progress=False)
        hits = index.search(query, 3)
        assert [h.doc_id for h in hits] == [index._store.ids[int(r)] for r in docs[0]]
        np.testing.assert_allclose(scores[0], [h.score for h in hits], rtol=1e-6)


@pytest.mark.parametrize("k1, b", [(1.2, 0.0), (0.9, 1.0)])
def test_parameters_change_the_scores(corpus, tmp_path, k1, b):
    docs = list(corpus.iter_documents())[:300]
    with BM25Index.build(docs, tmp_path / "p", k1=k1, b=b) as idx:
        reference = bm25s.BM25(k1=k1, b=b, method="lucene")
        reference.index([tokenize(d["title"] + "\n" + d["text"]) for d in docs], show_progress=False)
        hit = idx.search("Hans Fifife year", 1)[0]
        tokens = [t for t in tokenize("Hans Fifife year") if t in reference.vocab_dict]
        row = [d["id"] for d in docs].index(hit.doc_id)
        assert hit.score == pytest.approx(float(reference.get_scores(tokens)[row]), rel=1e-5)
        assert idx.manifest["k1"] == k1 and idx.manifest["b"] == b
