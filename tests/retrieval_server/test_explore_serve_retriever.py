"""serve-retriever's less common paths: the index name of a --corpus folder."""

from __future__ import annotations

import os

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
