"""RemoteRetriever against real servers on loopback: ours over a real BM25 index, a server shaped
like Search-R1's own (no /documents, no /health, documents without ids), and broken ones."""

from __future__ import annotations

import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from agentgym.retrieval.base import Document, DocumentNotFound, Hit, RetrievalError, Retriever
from agentgym.retrieval.client import RemoteRetriever
from agentgym.retrieval.snippets import best_snippet
from agentgym.serve.runner import serving_in_thread

QUERIES = ["novel published foundation", "city population region", "born in the year", "organisation founded",
           "historical event held", "zzzz unknownword", "", "written work author"]


def test_search_equals_the_served_index(server, index):
    with RemoteRetriever(server.url) as remote:
        assert isinstance(remote, Retriever)
        for query in QUERIES:
            for k in (1, 3, 7):
                assert remote.search(query, k) == index.search(query, k), (query, k)
        assert remote.search_many(QUERIES, 4) == index.search_many(QUERIES, 4)
        assert remote.search_many([], 4) == []


def test_search_r1_style_url_and_topk_cap(server, index):
    with RemoteRetriever(server.url + "/retrieve", topk_cap=2) as remote:  # Search-R1's search_url form
        assert remote.url == server.url
        assert remote.search("novel published foundation", 5) == index.search("novel published foundation", 2)
    with RemoteRetriever(server.url) as remote:  # the server caps at its max_topk (20)
        assert len(remote.search("the", 50)) == 0  # a stop word: no indexed term
        assert len(remote.search("encyclopedia", 50)) == 20


def test_document_len_and_unknown_ids(server, index, documents):
    with RemoteRetriever(server.url) as remote:
        doc = documents["e0000007"]
        assert remote.document("e0000007") == Document("e0000007", doc["title"], doc["text"])
        with pytest.raises(DocumentNotFound, match="no document 'e9999999' on http://127.0.0.1"):
            remote.document("e9999999")
        with pytest.raises(DocumentNotFound):
            remote.document("../health")  # quoted: not a path escape
        assert len(remote) == len(index) == len(documents)


def test_concurrent_searches_from_threads_share_one_client(server, index):
    expected = {q: index.search(q, 3) for q in QUERIES}
    with RemoteRetriever(server.url) as remote, ThreadPoolExecutor(8) as pool:
        futures = [(q, pool.submit(remote.search, q, 3)) for q in QUERIES * 12]
        for query, future in futures:
            assert future.result(timeout=30) == expected[query]


def test_bad_arguments_and_closed(server):
    with pytest.raises(ValueError, match="http:// or https:// URL"):
        RemoteRetriever("127.0.0.1:8000")
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        RemoteRetriever(server.url, timeout=0)
    with pytest.raises(ValueError, match="k must be a positive int"):
        RemoteRetriever(server.url, topk_cap=0)
    remote = RemoteRetriever(server.url)
    with pytest.raises(ValueError, match="k must be a positive int"):
        remote.search("novel", 0)
    with pytest.raises(ValueError, match="not one string"):
        remote.search_many("novel", 3)
    remote.close()
    remote.close()
    for call in (lambda: remote.search("novel"), lambda: remote.document("e0000001"), lambda: len(remote)):
        with pytest.raises(RuntimeError, match="is closed"):
            call()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_server_down_is_a_retrieval_error_naming_the_url():
    url = f"http://127.0.0.1:{free_port()}"
    with RemoteRetriever(url, timeout=2) as remote:
        with pytest.raises(RetrievalError, match=rf"retrieval server {url}/retrieve: ConnectError"):
            remote.search("anything")
        with pytest.raises(RetrievalError, match=rf"{url}/health"):
            len(remote)
        with pytest.raises(RetrievalError, match=rf"{url}/documents/x"):
            remote.document("x")


def search_r1_like_app() -> FastAPI:
    """Answers as Search-R1's retrieval_server.py does with its BM25 retriever: documents with
    title/text/contents and no id; no /documents and no /health endpoints."""
    app = FastAPI()

    @app.post("/retrieve")
    def retrieve(request: dict):
        docs = [{"title": "Paris", "text": "Paris is the capital of France.\\nIt is large.",
                 "contents": '"Paris"\nParis is the capital of France.\\nIt is large.'},
                {"title": "Lyon", "text": "Lyon is a city in France.", "contents": '"Lyon"\nLyon is a city in France.'},
                {"title": "Nice", "text": "Nice is on the coast.", "contents": '"Nice"\nNice is on the coast.'}]
        docs = docs[: request.get("topk") or 3]
        if request.get("return_scores"):
            return {"result": [[{"document": d, "score": 9.0 - i} for i, d in enumerate(docs)]
                               for _ in request["queries"]]}
        return {"result": [docs for _ in request["queries"]]}

    return app


def test_a_search_r1_server_without_documents_endpoint():
    with serving_in_thread(search_r1_like_app(), host="127.0.0.1", port=0, name="search-r1 stand-in") as url:
        with RemoteRetriever(url + "/retrieve") as remote:
            hits = remote.search("capital of France", 2)
            assert hits == [Hit("Paris", "Paris", 9.0, best_snippet("Paris is the capital of France.\\nIt is large.",
                                                                    "capital of France")),
                            Hit("Lyon", "Lyon", 8.0, "Lyon is a city in France.")]
            with pytest.raises(RetrievalError, match="the server cannot open documents"):
                remote.document("Paris")
            with pytest.raises(RetrievalError, match=r"/health: HTTP 404: Not Found"):
                len(remote)


def test_answers_without_scores_and_wiki18_documents():
    """Plain document lists (no scores) with wiki-18 {"id", "contents"} documents, out of score order."""
    app = FastAPI()

    @app.post("/retrieve")
    def retrieve(request: dict):
        docs = [{"id": "12", "contents": '"Evan Morris"\nEvan Morris was a lobbyist.'},
                {"id": "7", "contents": '"Horatio Hale"\nHale was an ethnologist.'}]
        return {"result": [docs for _ in request["queries"]]}

    unsorted = FastAPI()

    @unsorted.post("/retrieve")
    def retrieve_unsorted(request: dict):
        return {"result": [[{"document": {"id": "a", "contents": "plain text a"}, "score": 1.0},
                            {"document": {"_id": "b", "title": "B", "text": "text b"}, "score": 3.0},
                            {"document": {"id": "c", "contents": "plain text c"}, "score": 1.0}]]}

    with serving_in_thread(app, host="127.0.0.1", port=0, name="no-scores server") as url:
        with RemoteRetriever(url) as remote:
            assert remote.search("lobbyist", 5) == [Hit("12", "Evan Morris", 1.0, "Evan Morris was a lobbyist."),
                                                    Hit("7", "Horatio Hale", 0.5, "Hale was an ethnologist.")]
    with serving_in_thread(unsorted, host="127.0.0.1", port=0, name="unsorted server") as url:
        with RemoteRetriever(url) as remote:
            hits = remote.search("text", 2)
            assert [(h.doc_id, h.title, h.score) for h in hits] == [("b", "B", 3.0), ("a", "", 1.0)]


@pytest.mark.parametrize("answer, needle", [
    (PlainTextResponse("not json at all"), "the answer is not JSON"),
    ({"results": []}, "expected {'result': [...]} with 1 lists, got {'results': []}"),
    ({"result": [[], []]}, "with 1 lists, got 2 lists"),
    ({"result": ["nope"]}, "a query's result is 'nope', not a list"),
    ({"result": [[{"document": {"id": "x"}, "score": 1}]]}, "a document has neither 'contents' nor 'text'"),
    ({"result": [[{"document": {"id": "x", "contents": "c"}, "score": "high"}]]}, "a score is 'high', not a number"),
    (PlainTextResponse("upstream exploded", status_code=500), "HTTP 500: upstream exploded"),
])
def test_malformed_answers_are_retrieval_errors(answer, needle):
    app = FastAPI()

    @app.post("/retrieve")
    def retrieve():
        return answer

    with serving_in_thread(app, host="127.0.0.1", port=0, name="broken server") as url:
        with RemoteRetriever(url) as remote:
            with pytest.raises(RetrievalError, match=rf"^retrieval server {url}/retrieve: .*") as caught:
                remote.search("query")
            assert needle in str(caught.value)


def test_a_hung_server_times_out_as_a_retrieval_error():
    release = threading.Event()
    app = FastAPI()

    @app.post("/retrieve")
    def retrieve():
        release.wait(10)
        return {"result": [[]]}

    with serving_in_thread(app, host="127.0.0.1", port=0, name="hung server") as url:
        try:
            with RemoteRetriever(url, timeout=0.3) as remote:
                with pytest.raises(RetrievalError, match=r"/retrieve: no answer in time"):
                    remote.search("query")
        finally:
            release.set()


def test_no_leaked_threads_or_sockets(index, resources):
    from agentgym.retrieval.server import serve_retriever

    for _ in range(2):
        with serve_retriever(index) as server:
            with RemoteRetriever(server.url) as remote, ThreadPoolExecutor(4) as pool:
                assert all(len(r) == 3 for r in pool.map(lambda q: remote.search(q, 3), ["novel"] * 16))
                assert len(remote) == len(index)
    resources.assert_released()
