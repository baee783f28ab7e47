"""Fixtures of the retrieval server tests: a real BM25 index over a generated corpus, served on
loopback (the ``resources`` probe comes from ``tests/conftest.py``)."""

from __future__ import annotations

import pytest


CORPUS_SIZE = 500
CORPUS_SEED = 11


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from agentgym.envs.search.corpus import build_corpus

    return build_corpus(CORPUS_SIZE, CORPUS_SEED, tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def index(corpus, tmp_path_factory):
    """A real BM25Index over the generated corpus (closed after the module)."""
    from agentgym.retrieval.bm25 import BM25Index

    built = BM25Index.build(corpus.iter_documents(), tmp_path_factory.mktemp("bm25") / "index")
    yield built
    built.close()


@pytest.fixture(scope="module")
def documents(corpus):
    """The corpus's documents as dicts, by id."""
    return {doc["id"]: doc for doc in corpus.iter_documents()}


@pytest.fixture(scope="module")
def server(index):
    """The index served on loopback for the whole module; yields the server handle."""
    from agentgym.retrieval.server import serve_retriever

    handle = serve_retriever(index, default_topk=3, max_topk=20, max_queries=64)
    yield handle
    handle.close()
