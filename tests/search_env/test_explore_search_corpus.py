"""search/Corpus-v0 over a documents folder (a saved Hugging Face dataset): a folder saved anew
in place gets a new index (its own size and time do not change when a file in it is rewritten,
so an index named after them alone kept serving the old documents)."""

from __future__ import annotations

import os

import pytest

from agentgym.envs.search.corpus_env import corpus_retriever


def _save(datasets, rows, folder, times):
    datasets.Dataset.from_list(rows).save_to_disk(str(folder))
    os.utime(folder, ns=times)  # the folder's own stat as before: only the files in it changed


def test_a_dataset_folder_saved_again_gets_a_new_index(tmp_path):
    datasets = pytest.importorskip("datasets")
    folder, cache = tmp_path / "corpus", tmp_path / "cache"
    _save(datasets, [{"id": "old", "title": "Old", "text": "an apple"}], folder, (10**18, 10**18))
    first = corpus_retriever(folder, cache_dir=cache)
    assert [hit.doc_id for hit in first.search("apple")] == ["old"]
    _save(datasets, [{"id": "new", "title": "New", "text": "a green apple"}, {"id": "z", "title": "Z", "text": "z"}],
          folder, (10**18, 10**18))
    second = corpus_retriever(folder, cache_dir=cache)
    assert second is not first and len(second) == 2
    assert [hit.doc_id for hit in second.search("apple")] == ["new"]
