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



def test_a_fresh_engine_is_true_as_the_other_retrievers_are():
    engine = SimulatedSearchEngine(DocumentWriter())
    assert len(engine) == 0
    assert bool(engine) is True  # `retriever or fallback` must not drop an engine that wrote nothing yet
    engine.close()
    assert bool(engine) is True  # and asking must not raise for a closed one
