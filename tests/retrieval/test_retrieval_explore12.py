"""Exploratory round 12 of the retrieval back-ends: RemoteRetriever's arguments and requests it
cannot send, against the session's BM25 index served on loopback."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from agentgym.retrieval.base import Document, DocumentNotFound, RetrievalError
from agentgym.retrieval.bm25 import BM25Index
from agentgym.retrieval.client import RemoteRetriever
from agentgym.retrieval.server import create_retrieval_app, serve_retriever
from agentgym.retrieval.sources import join_contents, read_documents, split_contents


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


@pytest.mark.parametrize("key", ["s3cret\r", "s3cret\n", "a\x00b", "tab\tkey", "s3cret ", " s3cret"])
def test_a_key_that_no_header_can_carry_is_refused_without_showing_it(key):
    # it was taken, and every search then failed with an error that quoted the whole key
    # ("Illegal header value b'Bearer s3cret\r'"): an observation, a trajectory, a log held it
    refused = "api_key holds a line break or another control character|api_key starts or ends with a space"
    with pytest.raises(ValueError, match=refused) as caught:
        RemoteRetriever("http://127.0.0.1:9", api_key=key)
    assert "s3cret" not in str(caught.value) and "tab" not in str(caught.value)


def test_a_key_of_any_letters_reaches_the_server(served):
    server, index = served
    with serve_retriever(index, api_key="clé-ключ") as keyed:
        # the server compares the UTF-8 bytes of its key; the client raised UnicodeEncodeError when made
        with RemoteRetriever(keyed.url, api_key="clé-ключ") as remote:
            assert remote.search("novel published", 2) == index.search("novel published", 2)


def test_a_query_with_lone_surrogates_is_searched_as_in_process(served):
    server, index = served
    query = "novel \ud800published \udcff foundation"  # a model's broken UTF-8, decoded with surrogateescape
    with RemoteRetriever(server.url) as remote:
        # httpx's JSON in UTF-8 cannot carry them: UnicodeEncodeError, where the index answers
        assert remote.search(query, 3) == index.search(query, 3)
        assert remote.search_many([query, "novel"], 2) == index.search_many([query, "novel"], 2)


def test_an_id_that_no_url_can_carry_is_a_retrieval_error_or_not_found(served):
    server, _ = served
    with RemoteRetriever(server.url) as remote:
        # 8000 letters percent-encode past httpx's URL limit: httpx.InvalidURL escaped
        with pytest.raises(RetrievalError, match="URL too long") as caught:
            remote.document("文" * 8000)
        assert len(str(caught.value)) < 400
        # no stored id holds a lone surrogate, and no URL can carry one: UnicodeEncodeError escaped
        with pytest.raises(DocumentNotFound, match="no document"):
            remote.document("e0000007\ud800")
        with pytest.raises(DocumentNotFound) as caught:
            remote.document("x" * 5000)  # an unknown long id: named, not all of it
        assert len(str(caught.value)) < 400


def test_a_title_with_line_breaks_comes_back_over_retrieve(tmp_path):
    documents = [Document("a", "Alpha\r\nBeta\n", "alpha beta gamma."), Document("b", 'Say "hi"', "hello gamma.")]
    with BM25Index.build(documents, tmp_path / "index") as index, serve_retriever(index) as server, \
            RemoteRetriever(server.url) as remote:
        # wiki-18's contents hold the title on their first line: "Alpha\r\nBeta" broke it, and the
        # client read no title at all (the search env showed "Doc 1(Title: ) ...")
        hits = {hit.doc_id: hit for hit in remote.search("gamma", 5)}
        assert hits["a"].title == "Alpha Beta" and hits["b"].title == 'Say "hi"'
        assert [hit.snippet for hit in remote.search("gamma", 5)] == [hit.snippet for hit in index.search("gamma", 5)]
        assert remote.document("a") == documents[0]  # /documents keeps the title as it is
    assert split_contents(join_contents("Alpha\nBeta", "text\nmore")) == ("Alpha Beta", "text\nmore")


@pytest.mark.parametrize("key", ["k3y-value\r", "k3y-value ", "\tk3y-value"])
def test_a_server_key_no_client_can_send_is_refused(served, key):
    # it was taken, and every client then got 401 "the API key is not valid", even with the key
    # (a header cannot carry the line break or end space; the server strips the token it reads)
    _, index = served
    with pytest.raises(ValueError, match="api_key") as caught:
        create_retrieval_app(index, api_key=key)
    assert "k3y-value" not in str(caught.value)


def test_credentials_in_the_url_stay_out_of_messages(served):
    server, _ = served
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()  # nothing listens there now
    # every message named the URL whole: the search env's error observation showed the password
    with RemoteRetriever(f"http://alice:hunter2@127.0.0.1:{port}", timeout=2) as down:
        with pytest.raises(RetrievalError) as failed:
            down.search("novel", 2)
        assert "hunter2" not in repr(down)
    assert f"http://***@127.0.0.1:{port}/retrieve" in str(failed.value) and "hunter2" not in str(failed.value)
    with pytest.raises(RuntimeError) as closed:
        down.search("novel")
    up = RemoteRetriever(server.url.replace("http://", "http://alice:hunter2@"))
    with up:
        with pytest.raises(DocumentNotFound) as unknown:
            up.document("e9999999")
    for message in (str(closed.value), str(unknown.value)):
        assert "hunter2" not in message and "alice" not in message


def test_k_may_be_a_numpy_integer(served):
    server, index = served
    # np.int64(3) was refused: "k must be a positive int, got np.int64(3)"
    assert index.search("novel published", np.int64(3)) == index.search("novel published", 3)
    with RemoteRetriever(server.url, topk_cap=np.int32(2)) as remote:
        assert remote.search_many(["novel published"], np.int64(3)) == [index.search("novel published", 2)]
    for bad in (np.int64(0), np.bool_(True), True, 2.0):
        with pytest.raises(ValueError, match="k must be a positive int"):
            index.search("novel", bad)


@pytest.mark.parametrize("name, text, error", [
    ("deep.jsonl", '{"id": "1", "text": "fine"}\n' + "[" * 100_000, "line 2 is not valid JSON: nested too deeply"),
    ("deep.json", "[" * 100_000, "not valid JSON: nested too deeply"),
    ("pretty.json", '{"rows":\n' + "[" * 100_000, "line 1 is not valid JSON"),  # the whole file one object?
])
def test_json_nested_too_deeply_is_a_value_error_naming_the_line(tmp_path, name, text, error):
    # RecursionError escaped: Corpus-v0 and read_tasks turn ValueError into their errors, not that
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=f"{name}: {error}"):
        list(read_documents(path))
