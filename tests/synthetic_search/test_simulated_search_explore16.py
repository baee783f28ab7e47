"""Exploratory round 16: the simulated search engine against the retriever contract's
promises about a closed retriever and a retriever's truth value, and hostile document writers."""
from __future__ import annotations

import pytest

from agentgym.retrieval.base import DocumentNotFound
from agentgym.retrieval.simulated import SimulatedSearchEngine

from .writers import DocumentWriter


def test_a_closed_engine_refuses_every_use_as_the_contract_says():
    engine = SimulatedSearchEngine(DocumentWriter())
    doc_id = engine.search("lighthouse keepers", 2)[0].doc_id
    engine.close()
    for use in (len, engine.is_noisy):
        with pytest.raises(RuntimeError, match="closed"):
            use(doc_id) if use is engine.is_noisy else use(engine)

