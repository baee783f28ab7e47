"""Exploratory round 7: the simulated search engine under concurrent searches and hostile
document writers."""
from __future__ import annotations

import asyncio
import pickle
import threading
from typing import Sequence

import pytest

from agentgym.policies.base import Generation, Policy, Request, SamplingParams
from agentgym.retrieval.base import RetrievalError
from agentgym.retrieval.simulated import SimulatedSearchEngine


class SlowWriter(Policy):
    """Writes a document naming its call number, after ``delay`` seconds; ``fail_first`` makes
    the first call's generations errors."""

    name = "slow-writer"

    def __init__(self, delay: float = 0.2, fail_first: bool = False) -> None:
        self.delay, self.fail_first = delay, fail_first
        self.calls = 0
        self._count = threading.Lock()

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_count": None}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _count=threading.Lock())

    async def agenerate(self, requests: Sequence[Request], sampling: SamplingParams) -> list[Generation]:
        with self._count:
            self.calls += 1
            call = self.calls
        await asyncio.sleep(self.delay)
        if self.fail_first and call == 1:
            return [Generation("", finish_reason="error", error="overloaded") for _ in requests]
        return [Generation(f"Title: call {call} result {i}\nWritten by call {call} of the writer.")
                for i, _ in enumerate(requests)]


def _search_at_once(engine: SimulatedSearchEngine, queries: list[str], k: int = 3) -> list:
    barrier = threading.Barrier(len(queries))
    results: list = [None] * len(queries)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = engine.search(queries[i], k)
        except RetrievalError as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(queries))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return results


def test_concurrent_searches_of_one_query_write_its_documents_once():
    writer = SlowWriter()
    engine = SimulatedSearchEngine(writer)
    # a GRPO group: eight episodes of one question send the same first query at once
    results = _search_at_once(engine, ["capital of Freedonia"] * 4 + ["Capital of  freedonia"] * 4)
    assert writer.calls == 1 and engine.written == {"useful": 3, "noisy": 0}
    first = results[0]
    for hits in results:  # each search wrote its own documents under the same ids: different texts
        assert [(h.doc_id, h.title, h.snippet) for h in hits] == [(h.doc_id, h.title, h.snippet) for h in first]
    assert [engine.document(h.doc_id).title for h in first] == [h.title for h in first]
    pickle.loads(pickle.dumps(engine))


def test_a_search_waiting_on_a_failed_write_writes_the_documents_itself():
    writer = SlowWriter(fail_first=True)
    engine = SimulatedSearchEngine(writer)
    results = _search_at_once(engine, ["q one", "q one"])
    failed = [r for r in results if isinstance(r, RetrievalError)]
    assert len(failed) == 1 and "overloaded" in str(failed[0])
    hits = next(r for r in results if not isinstance(r, RetrievalError))
    assert writer.calls == 2 and [h.title for h in hits] == [f"call 2 result {i}" for i in range(3)]


class FixedWriter(Policy):
    """Writes ``text`` for every request."""

    name = "fixed-writer"

    def __init__(self, text: str) -> None:
        self.text = text

    async def agenerate(self, requests: Sequence[Request], sampling: SamplingParams) -> list[Generation]:
        return [Generation(self.text) for _ in requests]


@pytest.mark.parametrize("text", ["\x00\x00", "Title:", "## Title: **\n\n", "\x01\x02\u200b", "\ufeff \x00"])
def test_a_document_without_a_word_is_an_empty_document(text):
    engine = SimulatedSearchEngine(FixedWriter(text))
    # it was kept as a document titled "Untitled" with an empty or "Untitled" text
    with pytest.raises(RetrievalError, match="empty document for 'river delta'"):
        engine.search("river delta", 2)
    assert len(engine) == 0


@pytest.mark.parametrize("text, title, body", [
    ("Title: Nile\n", "Nile", "Nile"),
    ("\x00Title: Nile\nThe Nile has a delta.", "Nile", "The Nile has a delta."),
    ("42", "42", "42"),
])
def test_a_document_with_a_word_is_kept(text, title, body):
    engine = SimulatedSearchEngine(FixedWriter(text))
    hit = engine.search("river delta", 1)[0]
    assert (hit.title, engine.document(hit.doc_id).text) == (title, body)


def test_search_many_refuses_an_iterator_as_bm25_does():
    from tests.synthetic_search.writers import DocumentWriter

    engine = SimulatedSearchEngine(DocumentWriter())
    # a generator was used up by the type check: [] for two queries, no error
    for queries in ((q for q in ["river delta", "nile"]), iter(["nile"]), {"nile"}, "nile", b"nile"):
        with pytest.raises(TypeError, match="sequence of query strings"):
            engine.search_many(queries, 2)
    assert [len(h) for h in engine.search_many(("river delta", "nile"), 2)] == [2, 2]


def test_a_search_that_waited_for_a_failed_write_still_ends_by_its_timeout():
    import time

    writer = SlowWriter(delay=1.0, fail_first=True)
    engine = SimulatedSearchEngine(writer, timeout=1.5)
    started = time.perf_counter()
    results = _search_at_once(engine, ["q one", "q one"])
    elapsed = time.perf_counter() - started
    # the waiter retried with a whole timeout of its own: answered after 2 s of a 1.5 s timeout
    assert all(isinstance(r, RetrievalError) for r in results), results
    assert sorted("overloaded" in str(r) for r in results) == [False, True]
    assert any("did not answer within" in str(r) for r in results)
    assert elapsed < 1.9
