"""The retrieval server over real loopback sockets: Search-R1's exact /retrieve JSON, our
/documents and /health endpoints, limits and bad requests."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from agentgym.retrieval.server import TOPK_HEADER, create_retrieval_app, serve_retriever
from agentgym.retrieval.sources import join_contents, split_contents


def passages_to_string(retrieval_result):
    """Search-R1's ``_passages2string`` (search_r1/llm_agent/generation.py), as their agent reads an answer."""
    format_reference = ""
    for idx, doc_item in enumerate(retrieval_result):
        content = doc_item["document"]["contents"]
        title = content.split("\n")[0]
        text = "\n".join(content.split("\n")[1:])
        format_reference += f"Doc {idx + 1}(Title: {title}) {text}\n"
    return format_reference


def test_search_r1_client_request_and_answer(server, index, documents):
    """The request Search-R1's agent sends (generation.py's _batch_search), read as it reads it."""
    some = list(documents.values())[:2]
    queries = [some[0]["title"], f"who wrote {some[1]['title']}"]
    payload = {"queries": queries, "topk": 3, "return_scores": True}
    response = httpx.post(server.url + "/retrieve", json=payload, timeout=10)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["result"] and len(body["result"]) == 2
    for query, answer in zip(queries, body["result"]):
        expected = index.search(query, 3)
        assert len(answer) == 3
        for item, hit in zip(answer, expected):
            assert set(item) == {"document", "score"} and set(item["document"]) == {"id", "contents"}
            assert item["document"]["id"] == hit.doc_id
            assert item["score"] == pytest.approx(hit.score, rel=1e-6)
            doc = documents[hit.doc_id]
            assert item["document"]["contents"] == f'"{doc["title"]}"\n{doc["text"]}'  # wiki-18's form
        scores = [item["score"] for item in answer]
        assert scores == sorted(scores, reverse=True)
    rendered = passages_to_string(body["result"][0])
    assert rendered.startswith(f'Doc 1(Title: "{some[0]["title"]}") {some[0]["text"].splitlines()[0]}')


def test_without_scores_the_lists_hold_the_documents(server, index):
    response = httpx.post(server.url + "/retrieve", json={"queries": ["novel published foundation"], "topk": 2})
    result = response.json()["result"]
    assert [[set(doc) for doc in docs] for docs in result] == [[{"id", "contents"}, {"id", "contents"}]]
    assert [doc["id"] for doc in result[0]] == [hit.doc_id for hit in index.search("novel published foundation", 2)]


def test_topk_default_zero_null_and_cap(server):
    url = server.url + "/retrieve"
    query = "city population region"
    for topk in (None, 0):  # Search-R1's server: `if not request.topk: topk = default`
        response = httpx.post(url, json={"queries": [query], "topk": topk})
        assert len(response.json()["result"][0]) == 3 and response.headers[TOPK_HEADER] == "3"
    response = httpx.post(url, json={"queries": [query]})
    assert len(response.json()["result"][0]) == 3
    response = httpx.post(url, json={"queries": [query], "topk": 10**9, "return_scores": True})
    assert response.status_code == 200 and response.headers[TOPK_HEADER] == "20"  # capped to max_topk
    assert len(response.json()["result"][0]) == 20


def test_empty_and_blank_queries(server):
    url = server.url + "/retrieve"
    assert httpx.post(url, json={"queries": []}).json() == {"result": []}
    body = httpx.post(url, json={"queries": ["", "   ", "zzzzqqq unknownword", "novel"], "return_scores": True}).json()
    assert [len(r) for r in body["result"]][:3] == [0, 0, 0] and len(body["result"][3]) == 3


def test_documents_and_health(server, documents):
    doc = documents["e0000042"]
    body = httpx.get(server.url + "/documents/e0000042").json()
    assert body == {"id": "e0000042", "title": doc["title"], "text": doc["text"],
                    "contents": join_contents(doc["title"], doc["text"])}
    assert split_contents(body["contents"]) == (doc["title"], doc["text"])
    missing = httpx.get(server.url + "/documents/no-such-doc")
    assert missing.status_code == 404
    error = missing.json()["error"]
    assert error["type"] == "document_not_found" and "no-such-doc" in error["message"]
    health = httpx.get(server.url + "/health").json()
    assert health == {"status": "ok", "documents": len(documents), "retriever": "BM25Index", "default_topk": 3,
                      "max_topk": 20, "max_queries": 64, "contents": "document"}


@pytest.mark.parametrize("payload, status, needle", [
    ({"queries": "one string"}, 422, "queries: Input should be a valid list"),
    ({"queries": [1, 2]}, 422, "queries.0: Input should be a valid string"),
    ({}, 422, "queries: Field required"),
    ({"queries": ["q"], "topk": "3"}, 422, "topk: Input should be a valid integer"),
    ({"queries": ["q"], "topk": 2.5}, 422, "topk: Input should be a valid integer"),
    ({"queries": ["q"], "topk": -1}, 422, "topk must be positive"),
    ({"queries": ["q"], "return_scores": "yes"}, 422, "return_scores: Input should be a valid boolean"),
    ({"queries": ["q"] * 65}, 422, "65 queries in one request; this server takes at most 64"),
    (["not", "an", "object"], 422, "invalid request"),
])
def test_bad_requests_get_a_message_not_a_traceback(server, payload, status, needle):
    response = httpx.post(server.url + "/retrieve", json=payload)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert needle in error["message"] and error["code"] == status
    assert "Traceback" not in response.text


def test_malformed_bodies_and_routes(server):
    url = server.url + "/retrieve"
    not_json = httpx.post(url, content=b'{"queries": [', headers={"content-type": "application/json"})
    assert not_json.status_code == 422 and "not valid JSON" in not_json.json()["error"]["message"]
    deep = httpx.post(url, content=b"[" * 100_000)
    assert deep.status_code == 422 and "nested too deeply" in deep.json()["error"]["message"]
    untyped = httpx.post(url, content=b'{"queries": ["novel"]}')  # as `curl -d` sends it: no JSON Content-Type
    assert untyped.status_code == 200 and len(untyped.json()["result"][0]) == 3
    huge = httpx.post(url, content=b"x" * (9 * 2**20), headers={"content-type": "application/json"})
    assert huge.status_code == 413 and "at most" in huge.json()["error"]["message"]
    assert httpx.get(url).status_code == 405
    assert httpx.get(server.url + "/nothing-here").status_code == 404
    lone_surrogate = httpx.post(url, content=b'{"queries": ["\\ud800 novel"]}',
                                headers={"content-type": "application/json"})
    assert lone_surrogate.status_code in (200, 400, 422) and "Traceback" not in lone_surrogate.text


def test_ids_with_slashes_and_unicode_are_served(tmp_path):
    from agentgym.retrieval.bm25 import BM25Index

    docs = [{"id": "AC/DC", "title": "AC/DC", "text": "AC/DC are an Australian rock band."},
            {"id": "Zürich 100%", "title": "Zürich", "text": "Zürich is a city in Switzerland."}]
    with BM25Index.build(docs, tmp_path / "index") as index, serve_retriever(index) as server:
        for doc in docs:
            from urllib.parse import quote
            response = httpx.get(f"{server.url}/documents/{quote(doc['id'], safe='')}")
            assert response.status_code == 200 and response.json()["text"] == doc["text"]
        result = httpx.post(server.url + "/retrieve", json={"queries": ["rock band"], "topk": 1}).json()
        assert result == {"result": [[{"id": "AC/DC", "contents": '"AC/DC"\nAC/DC are an Australian rock band.'}]]}


def test_snippet_contents_mode(index, documents):
    with serve_retriever(index, contents="snippet") as server:
        query = "novel published foundation"
        items = httpx.post(server.url + "/retrieve", json={"queries": [query], "topk": 3,
                                                           "return_scores": True}).json()["result"][0]
        for item, hit in zip(items, index.search(query, 3)):
            assert item["document"]["contents"] == join_contents(hit.title, hit.snippet)
            assert len(item["document"]["contents"]) < len(join_contents(hit.title, documents[hit.doc_id]["text"]))


def test_server_answers_while_a_search_blocks(index):
    """Retrieval runs on the pool, not the event loop: while one search hangs, other searches and
    /health are answered."""
    started, release = threading.Event(), threading.Event()

    class OneSlowQuery:
        def search_many(self, queries, k=5):
            if "slow" in queries:
                started.set()
                release.wait(20)
            return index.search_many(queries, k)

        def document(self, doc_id):
            return index.document(doc_id)

        def __len__(self):
            return len(index)

    with serve_retriever(OneSlowQuery(), workers=2) as server:
        slow = []
        worker = threading.Thread(target=lambda: slow.append(
            httpx.post(server.url + "/retrieve", json={"queries": ["slow"]}, timeout=30)))
        worker.start()
        try:
            assert started.wait(10)
            fast = httpx.post(server.url + "/retrieve", json={"queries": ["novel"]}, timeout=10)
            assert fast.status_code == 200 and len(fast.json()["result"][0]) == 3
            assert httpx.get(server.url + "/nothing", timeout=10).status_code == 404
            assert not slow  # still blocked
        finally:
            release.set()
            worker.join(30)
        assert slow and slow[0].status_code == 200


def test_retriever_failures_are_503_and_bugs_500_without_traceback(index):
    from agentgym.retrieval.base import RetrievalError

    class Broken:
        def __init__(self, error):
            self.error = error

        def search_many(self, queries, k=5):
            raise self.error

        def __len__(self):
            raise self.error

    for error, status, needle in [(RetrievalError("index file vanished"), 503, "the retriever failed: index file"),
                                  (RuntimeError("BM25Index is closed"), 503, "cannot answer: BM25Index is closed"),
                                  (ValueError("query too long"), 400, "query too long"),
                                  (ZeroDivisionError("oops"), 500, "internal error: ZeroDivisionError: oops")]:
        with serve_retriever(Broken(error)) as server:
            response = httpx.post(server.url + "/retrieve", json={"queries": ["x"]})
            assert response.status_code == status and needle in response.json()["error"]["message"]
            assert "Traceback" not in response.text
            assert httpx.get(server.url + "/health").status_code == status


def test_options_are_checked_and_exposure_needs_a_key(index):
    with pytest.raises(ValueError, match="default_topk .5. is over max_topk .4."):
        create_retrieval_app(index, default_topk=5, max_topk=4)
    with pytest.raises(ValueError, match="contents must be 'document' or 'snippet'"):
        create_retrieval_app(index, contents="passages")
    with pytest.raises(ValueError, match="workers must be a positive int"):
        create_retrieval_app(index, workers=0)
    with pytest.raises(ValueError, match="refusing to serve on '0.0.0.0' without an API key"):
        serve_retriever(index, host="0.0.0.0")


def test_api_key(index):
    with serve_retriever(index, api_key="s3cret") as server:
        assert httpx.post(server.url + "/retrieve", json={"queries": ["novel"]}).status_code == 401
        ok = httpx.post(server.url + "/retrieve", json={"queries": ["novel"]},
                        headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200 and len(ok.json()["result"][0]) == 3


def test_server_closes_without_leaks(index, resources):
    for _ in range(3):
        server = serve_retriever(index)
        with httpx.Client() as client:
            for _ in range(5):
                assert client.post(server.url + "/retrieve", json={"queries": ["novel"]}).status_code == 200
        server.close()
        server.close()  # idempotent
    with pytest.raises(httpx.ConnectError):
        httpx.post(server.url + "/retrieve", json={"queries": ["novel"]})
    resources.assert_released()


def test_the_answer_is_plain_json(server):
    raw = httpx.post(server.url + "/retrieve", json={"queries": ["novel"], "return_scores": True}).content
    assert json.loads(raw)["result"][0][0]["score"] > 0


def test_a_retriever_bug_is_a_500_that_keeps_the_connection(index):
    """A retriever that raises (a bug: 500) must not cost the client its kept-alive connection:
    the next request on it is answered (RemoteRetriever reuses one client)."""
    class FlakyBug:
        def __init__(self):
            self.calls = 0

        def search_many(self, queries, k=5):
            self.calls += 1
            if self.calls % 2:
                raise ZeroDivisionError("oops")
            return index.search_many(queries, k)

        def document(self, doc_id):
            return index.document(doc_id)

        def __len__(self):
            return len(index)

    with serve_retriever(FlakyBug()) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        for _ in range(3):
            crashed = client.post("/retrieve", json={"queries": ["novel"]})
            assert crashed.status_code == 500 and crashed.json()["error"]["type"] == "internal_error"
            assert client.post("/retrieve", json={"queries": ["novel"]}).status_code == 200
