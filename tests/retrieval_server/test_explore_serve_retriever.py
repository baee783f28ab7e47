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
