"""Exploratory round 16: the simulated search engine against the retriever contract's
promises about a closed retriever and a retriever's truth value, and hostile document writers."""
from __future__ import annotations

from typing import Sequence

import pytest

from agentgym.policies.base import Generation, Policy, Request, SamplingParams
from agentgym.retrieval.base import RetrievalError
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


class BytesWriter(Policy):
    """A writer whose back-end hands over the raw bytes of its answer (not decoded text)."""

    name = "bytes-writer"

    async def agenerate(self, requests: Sequence[Request], sampling: SamplingParams) -> list[Generation]:
        return [Generation("Title: Lighthouses\nA lighthouse guides ships.".encode("latin-1")) for _ in requests]


def test_a_writer_that_returns_bytes_is_named_not_called_empty():
    with SimulatedSearchEngine(BytesWriter()) as engine:
        with pytest.raises(RetrievalError) as failure:
            engine.search("lighthouse keepers", 1)
    message = str(failure.value)
    assert "bytes" in message and "lighthouse keepers" in message
    assert "empty" not in message  # it said 'wrote an empty document (not a letter or digit)'
