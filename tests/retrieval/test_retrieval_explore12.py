"""Exploratory round 12 of the retrieval back-ends: RemoteRetriever's arguments and requests it
cannot send, against the session's BM25 index served on loopback."""

from __future__ import annotations

import pytest

from agentgym.retrieval.bm25 import BM25Index
from agentgym.retrieval.client import RemoteRetriever
from agentgym.retrieval.server import serve_retriever


@pytest.fixture(scope="module")
def served(index_path):
    """The session's index, loaded for this module and served on loopback: (server, index)."""
    with BM25Index.load(index_path) as index, serve_retriever(index) as server:
        yield server, index


@pytest.mark.parametrize("value", [0, -1, True, "8", 2.5])
def test_a_pool_without_connections_is_refused_when_made(value):
    # max_connections=0 was taken, and every call then failed with "no answer in time (PoolTimeout)"
    with pytest.raises(ValueError, match="max_connections must be a positive int"):
        RemoteRetriever("http://127.0.0.1:9", max_connections=value)
