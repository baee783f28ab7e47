"""The simulated search engine (ZeroSearch-style): noise schedules by hand, the Retriever
contract, stable ids, documents kept per step and rewritten at a later one, noise drawn at the
scheduled rate, one policy call per search, failures as RetrievalError, and the engine as the
back-end of ``search/MultiHop-v0`` (tags and tools formats)."""

from __future__ import annotations

import copy
import math
import threading

import pytest

import agentgym
import agentgym.envs.search  # noqa: F401  (registers search/*)
from agentgym.envs.search.env import SearchEnv
from agentgym.retrieval.base import DocumentNotFound, RetrievalError, Retriever
from agentgym.retrieval.simulated import NoiseSchedule, SimulatedSearchEngine, simulated_doc_id
from agentgym.testing import check_llm_env
from tests.synthetic_search.writers import DocumentWriter

WORLD = {"size": 300, "seed": 1}


@pytest.fixture(autouse=True)
def _no_user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTGYM_CACHE", str(tmp_path))


# ------------------------------------------------------------------ schedules
def test_schedules_by_hand():
    assert NoiseSchedule("constant", 0.3, 0.9, 10)(7) == 0.3
    linear = NoiseSchedule("linear", 0.1, 0.5, 4)
    assert [linear(s) for s in (0, 1, 2, 4, 9)] == pytest.approx([0.1, 0.2, 0.3, 0.5, 0.5])
    cosine = NoiseSchedule("cosine", 0.0, 1.0, 2)
    assert [cosine(s) for s in (0, 1, 2)] == pytest.approx([0.0, 0.5, 1.0])
    exponential = NoiseSchedule("exponential", 0.0, 1.0, 2, base=9.0)
    assert [exponential(s) for s in (0, 1, 2)] == pytest.approx([0.0, (3 - 1) / 8, 1.0])  # (9**0.5 - 1) / 8
    decreasing = NoiseSchedule("linear", 0.8, 0.2, 3)
    assert decreasing(-5) == pytest.approx(0.8) and decreasing(3) == pytest.approx(0.2)
    for bad in ({"kind": "step"}, {"start": 1.5}, {"end": -0.1}, {"steps": 0}, {"base": 1.0}, {"start": True}):
        with pytest.raises(ValueError):
            NoiseSchedule(**bad)


def test_the_step_moves_the_schedule():
    engine = SimulatedSearchEngine(DocumentWriter(), noise=NoiseSchedule("linear", 0.0, 1.0, 10))
    assert engine.noise_probability == 0.0
    assert engine.advance() == 1 and engine.noise_probability == pytest.approx(0.1)
    engine.set_step(5)
    assert engine.noise_probability == pytest.approx(0.5)
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError):
            engine.set_step(bad)
    with pytest.raises(ValueError):
        engine.advance(-1)


# ------------------------------------------------------------------ the Retriever contract
def test_the_retriever_contract_and_stable_ids():
    writer = DocumentWriter()
    engine = SimulatedSearchEngine(writer, seed=4)
    assert isinstance(engine, Retriever) and len(engine) == 0
    hits = engine.search("Who founded  Acme?", k=3)
    assert [hit.doc_id for hit in hits] == [simulated_doc_id("who founded acme?", r) for r in range(3)]
    assert [hit.score for hit in hits] == [1.0, 0.5, pytest.approx(1 / 3)]
    assert hits[0].title == "Who founded Acme? #1 (useful)" and "Acme" in hits[0].snippet
    assert engine.document(hits[1].doc_id).text == "Who founded Acme? is the subject of this useful document."
    assert len(engine) == 3 and engine.written == {"useful": 3, "noisy": 0}
    # the same query (any spacing or case) in the same step: the same documents, no new call
    again = engine.search("who founded acme?", k=3)
    assert [h.doc_id for h in again] == [h.doc_id for h in hits] and len(writer.batches) == 1
    assert engine.search("   ", k=3) == [] and engine.search_many([], 2) == []
    with pytest.raises(DocumentNotFound, match="sim-nope"):
        engine.document("sim-nope")
    with pytest.raises(ValueError):
        engine.search("x", k=0)
    with pytest.raises(TypeError):
        engine.search_many("not a list", 2)  # type: ignore[arg-type]
    engine.close()
    assert engine.closed
    with pytest.raises(RuntimeError, match="closed"):
        engine.search("x")
    with pytest.raises(RuntimeError, match="closed"):
        engine.document(hits[0].doc_id)


def test_one_policy_call_per_search_many():
    writer = DocumentWriter()
    engine = SimulatedSearchEngine(writer)
    results = engine.search_many(["alpha", "beta", "alpha", ""], k=2)
    assert [len(r) for r in results] == [2, 2, 2, 0] and results[0] == results[2]
    assert len(writer.batches) == 1
    assert sorted((q, r) for _, q, r in writer.batches[0]) == [("alpha", 1), ("alpha", 2), ("beta", 1), ("beta", 2)]


def test_documents_are_rewritten_at_a_later_step_under_the_same_ids():
    writer = DocumentWriter()
    engine = SimulatedSearchEngine(writer, noise=NoiseSchedule("linear", 0.0, 1.0, 1))
    before = engine.search("river delta", k=2)
    engine.advance()
    after = engine.search("river delta", k=2)
    assert [h.doc_id for h in before] == [h.doc_id for h in after]
    assert all("(noisy)" in h.title for h in after) and all("(useful)" in h.title for h in before)
    assert "(noisy)" in engine.document(before[0].doc_id).title and engine.is_noisy(before[0].doc_id)
    assert len(writer.batches) == 2


def test_noise_follows_the_probability_and_the_seed():
    def noisy_share(probability: float, seed: int) -> tuple[float, list[bool]]:
        engine = SimulatedSearchEngine(DocumentWriter(), noise=probability, seed=seed)
        hits = [hit for q in range(100) for hit in engine.search(f"query number {q}", k=4)]
        flags = [engine.is_noisy(hit.doc_id) for hit in hits]
        assert engine.written == {"noisy": sum(flags), "useful": len(flags) - sum(flags)}
        return sum(flags) / len(flags), flags

    assert noisy_share(0.0, 1)[0] == 0.0 and noisy_share(1.0, 1)[0] == 1.0
    share, flags = noisy_share(0.3, 1)
    assert abs(share - 0.3) < 4 * math.sqrt(0.3 * 0.7 / 400)  # 400 draws
    assert noisy_share(0.3, 1)[1] == flags and noisy_share(0.3, 2)[1] != flags


def test_the_writer_is_told_which_kind_to_write():
    writer = DocumentWriter()
    engine = SimulatedSearchEngine(writer, noise=0.5, seed=3)
    hits = engine.search_many([f"q{i}" for i in range(20)], k=2)
    kinds = {simulated_doc_id(q, rank - 1): kind for kind, q, rank in writer.batches[0]}
    assert all((kinds[h.doc_id] == "noisy") == engine.is_noisy(h.doc_id) for r in hits for h in r)
    assert {"noisy", "useful"} == set(kinds.values())


@pytest.mark.parametrize("writer, reason", [
    (DocumentWriter(raise_=True), "raised ConnectionError"),
    (DocumentWriter(fail=True), "model crashed"),
    (DocumentWriter(empty=True), "empty document"),
], ids=["raises", "error-generation", "empty"])
def test_policy_failures_are_retrieval_errors(writer, reason):
    engine = SimulatedSearchEngine(writer)
    with pytest.raises(RetrievalError, match=reason):
        engine.search("who won", k=2)
    assert len(engine) == 0


def test_a_hanging_policy_times_out():
    release = threading.Event()

    class Hangs(DocumentWriter):
        async def agenerate(self, requests, sampling):
            release.wait(30)
            return await super().agenerate(requests, sampling)

    engine = SimulatedSearchEngine(Hangs(), timeout=0.3)
    with pytest.raises(RetrievalError, match="did not answer within 0.3 s"):
        engine.search("slow", k=1)
    release.set()


def test_hostile_queries_and_documents():
    class Wild(DocumentWriter):
        async def agenerate(self, requests, sampling):
            return [self._generation() for _ in requests]

        def _generation(self):
            from agentgym.policies.base import Generation

            return Generation("**Title: \ud800 évidence**\n\x00" + "word " * 1000)

    engine = SimulatedSearchEngine(Wild(), max_chars=200, snippet_chars=50)
    for query in ["\ud800\x00", "🙂" * 500, "a" * 10_000, "<search>nested</search>"]:
        hits = engine.search(query, k=2)
        assert len(hits) == 2
        document = engine.document(hits[0].doc_id)
        assert len(document.text) <= 200 and "\x00" not in document.text and len(hits[0].snippet) <= 50
        document.title.encode("utf-8")  # a lone surrogate was replaced
    assert copy.deepcopy(engine).document(hits[0].doc_id) == engine.document(hits[0].doc_id)


def test_bad_arguments():
    for kwargs in ({"noise": 2.0}, {"noise": "high"}, {"seed": -1}, {"timeout": 0}, {"max_documents": 0}):
        with pytest.raises(ValueError):
            SimulatedSearchEngine(DocumentWriter(), **kwargs)
    with pytest.raises(ValueError, match="Policy"):
        SimulatedSearchEngine(object())  # type: ignore[arg-type]


def test_max_documents_forgets_the_oldest():
    engine = SimulatedSearchEngine(DocumentWriter(), max_documents=3)
    first = engine.search("first", k=2)
    engine.search("second", k=2)
    assert len(engine) == 3
    with pytest.raises(DocumentNotFound):
        engine.document(first[0].doc_id)


# ------------------------------------------------------------------ inside the search environment
def test_as_the_back_end_of_multihop_search():
    writer = DocumentWriter(facts={"capital": "The answer you seek is written here."})
    engine = SimulatedSearchEngine(writer, noise=0.0)
    env = agentgym.make("search/MultiHop-v0", retriever=engine, top_k=2, **WORLD)
    check_llm_env(env, hostile=40)
    observation, _ = env.reset(seed=3)
    assert observation.startswith("Question: ")
    observation, reward, terminated, _, info = env.step("<search>capital of Varnholt</search>")
    assert "<information>" in observation and "capital of Varnholt #1 (useful)" in observation
    assert "The answer you seek is written here." in observation
    assert info["queries"] == ["capital of Varnholt"] and len(info["retrieved"]) == 2 and not terminated
    engine.set_step(1)
    engine.schedule = NoiseSchedule("constant", 1.0, 1.0)  # all noise from now on
    observation, *_ = env.step("<search>capital of Varnholt</search>")
    assert "(noisy)" in observation and "(useful)" not in observation
    # the oracle still answers (it needs the reference, not the documents)
    for _ in range(6):
        observation, reward, terminated, _, info = env.step(env.unwrapped.oracle_action())
        if terminated:
            break
    assert terminated and info["success"] and reward == 1.0
    env.close()
    assert not engine.closed  # the environment never closes a retriever it was given


def test_a_failing_engine_is_a_failed_search_not_a_crash():
    env = SearchEnv(retriever=SimulatedSearchEngine(DocumentWriter(raise_=True)), **WORLD)
    env.reset(seed=0)
    observation, _, terminated, truncated, info = env.step("<search>anything</search>")
    assert "Search error" in observation and "simulation server unreachable" in observation
    assert info["retrieval_error"] and not (terminated or truncated)
    env.close()


def test_the_tools_format_opens_simulated_documents():
    engine = SimulatedSearchEngine(DocumentWriter())
    env = agentgym.make("search/MultiHopTools-v0", retriever=engine, **WORLD)
    env.reset(seed=0)
    observation, *_ = env.step('<tool_call>{"name": "search", "arguments": {"query": "lighthouse keeper"}}</tool_call>')
    doc_id = simulated_doc_id("lighthouse keeper", 0)
    assert doc_id in observation
    observation, *_ = env.step('<tool_call>{"name": "open", "arguments": {"doc_id": "%s"}}</tool_call>' % doc_id)
    assert "lighthouse keeper is the subject of this useful document." in observation
    env.close()
