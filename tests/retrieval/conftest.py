"""Fixtures of the retrieval tests: a real generated corpus (World size 2000), its BM25 index
built once per session (the ``resources`` probe comes from ``tests/conftest.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest


CORPUS_SIZE = 2000
CORPUS_SEED = 0


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """The search family's encyclopedia corpus for World(2000, seed 0), on disk."""
    from agentgym.envs.search.corpus import build_corpus
    return build_corpus(CORPUS_SIZE, CORPUS_SEED, tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="session")
def world():
    from agentgym.envs.search.world import World
    return World(CORPUS_SIZE, CORPUS_SEED)


@pytest.fixture(scope="session")
def index_path(corpus, tmp_path_factory) -> Path:
    """A BM25 index of the corpus built once; tests open their own instances with ``load``."""
    from agentgym.retrieval.bm25 import BM25Index
    path = tmp_path_factory.mktemp("bm25") / "index"
    BM25Index.build(corpus.iter_documents(), path).close()
    return path


@pytest.fixture
def index(index_path):
    """A freshly loaded (memory-mapped) index, closed after the test."""
    from agentgym.retrieval.bm25 import BM25Index
    with BM25Index.load(index_path) as idx:
        yield idx
