"""serve-retriever's and RemoteRetriever's less common paths: the index name of a --corpus folder,
and documents whose ids are dot segments ('.', '..')."""

from __future__ import annotations

import os

import pytest

from agentgym.cli.serve_retriever_cmd import corpus_index_name


def test_a_corpus_folder_rewritten_in_place_gets_a_new_index_name(tmp_path):
    folder = tmp_path / "dataset"
    (folder / "data").mkdir(parents=True)
    shard = folder / "data" / "part-0.jsonl"
    shard.write_text('{"id": "1", "text": "old"}\n', encoding="utf-8")
    os.utime(folder, ns=(10**18, 10**18))
    fields = (None, None, None)
    before = corpus_index_name(folder, fields)
    shard.write_text('{"id": "1", "text": "new text"}\n', encoding="utf-8")
    os.utime(folder, ns=(10**18, 10**18))  # the folder's own size and time are unchanged
    assert corpus_index_name(folder, fields) != before
    assert corpus_index_name(folder, fields) == corpus_index_name(folder, fields)


def test_documents_whose_ids_are_dot_segments_are_opened(tmp_path):
    """httpx resolves '/documents/..' to '/': the client must not send a dot segment as it is."""
    from agentgym.retrieval.base import Document, DocumentNotFound
    from agentgym.retrieval.bm25 import BM25Index
    from agentgym.retrieval.client import RemoteRetriever
    from agentgym.retrieval.server import serve_retriever

    documents = [Document(".", "Dot", "one dot"), Document("..", "Dots", "two dots"), Document("a.b", "AB", "ab")]
    with BM25Index.build(documents, tmp_path / "index") as index, serve_retriever(index) as server, \
            RemoteRetriever(server.url) as remote:
        assert [remote.document(doc.id) for doc in documents] == documents
        with pytest.raises(DocumentNotFound, match=r"no document '\.\.\.'"):
            remote.document("...")


@pytest.mark.parametrize("url", ["http://", "http://:8000", "http://localhost:80000", "http://local host:8000",
                                 "https://[::1:8000"])
def test_a_malformed_server_url_is_refused_when_made(url):
    """Not at every search, as a misleading network error ('Connection refused' for port 80000)."""
    from agentgym.retrieval.client import RemoteRetriever

    with pytest.raises(ValueError, match="url"):
        RemoteRetriever(url)


def test_search_corpus_refuses_a_malformed_retriever_url(tmp_path):
    import agentgym
    import agentgym.envs.search  # noqa: F401  (registers search/*)
    from agentgym.core import ConfigError

    tasks = tmp_path / "questions.jsonl"
    tasks.write_text('{"question": "Who?", "answer": "Me"}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="retriever_url"):
        agentgym.make("search/Corpus-v0", tasks=str(tasks), retriever_url="http://localhost:80000")


def test_a_client_gone_before_its_body_is_read_is_no_crash(caplog):
    """A client that hangs up mid-body (a timeout, a killed trainer) is no bug of the server: it
    was logged with a traceback as 'POST /retrieve raised' and answered 500, once per client."""
    import asyncio
    import logging

    from agentgym.retrieval.base import Document
    from agentgym.retrieval.server import create_retrieval_app

    class Unused:
        def search_many(self, queries, k=5):
            raise AssertionError("no query was read")

        def search(self, query, k=5):
            raise AssertionError("no query was read")

        def document(self, doc_id):
            return Document(doc_id, "", "")

        def __len__(self):
            return 0

        def close(self):
            pass

    app = create_retrieval_app(Unused())
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/retrieve", "raw_path": b"/retrieve", "query_string": b"",
             "headers": [(b"content-length", b"100"), (b"content-type", b"application/json")],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 2)}
    messages = [{"type": "http.request", "body": b'{"queries": [', "more_body": True}, {"type": "http.disconnect"}]
    sent = []

    async def receive():
        return messages.pop(0)

    async def send(message):
        sent.append(message)

    with caplog.at_level(logging.ERROR, logger="agentgym.retrieval.server"):
        asyncio.run(app(scope, receive, send))
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR] == []
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 499
