"""One BM25Index shared by many threads (as search environments share it), and closed under them."""

from __future__ import annotations

import threading

from agentgym.retrieval.bm25 import BM25Index
from agentgym.envs.search.questions import generate_questions


def test_concurrent_searches_match_sequential_ones(index_path, world, resources):
    queries = [q.question for q in generate_questions(world, 120, seed=11)]
    with BM25Index.load(index_path) as idx:
        expected = {q: idx.search(q, 5) for q in queries}
        expected_docs = {h.doc_id: idx.document(h.doc_id) for hits in expected.values() for h in hits}
        errors: list[BaseException] = []
        start = threading.Barrier(8)

        def worker(offset: int) -> None:
            try:
                start.wait()
                for i in range(offset, len(queries), 3):
                    q = queries[i]
                    assert idx.search(q, 5) == expected[q]
                    for h in expected[q][:2]:
                        assert idx.document(h.doc_id) == expected_docs[h.doc_id]
                    if i % 10 == 0:
                        assert idx.search_many([q, "the"], 5) == [expected[q], []]
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n % 3,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not errors, errors[:3]
    resources.assert_released()


def test_close_while_threads_search(index_path, world, resources):
    queries = [q.question for q in generate_questions(world, 50, seed=12)]
    idx = BM25Index.load(index_path)
    unexpected: list[BaseException] = []
    served = [0] * 6
    running = threading.Barrier(7)

    def worker(n: int) -> None:
        running.wait()
        try:
            while True:
                for q in queries:
                    hits = idx.search(q, 3)
                    assert hits and idx.document(hits[0].doc_id).id == hits[0].doc_id
                    served[n] += 1
        except RuntimeError as exc:
            if "closed" not in str(exc):
                unexpected.append(exc)
        except BaseException as exc:  # noqa: BLE001 - reported below
            unexpected.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    running.wait()
    while min(served) < 5:  # every thread is mid-stream
        threading.Event().wait(0.005)
    idx.close()  # waits for calls in flight; later calls raise "closed"
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert not unexpected, unexpected[:3]
    resources.assert_released()
