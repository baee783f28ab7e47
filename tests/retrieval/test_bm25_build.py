"""Building BM25 indexes: atomic, concurrent builders end with one good copy, reuse, refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from agentgym.retrieval.base import RetrievalError
from agentgym.retrieval.bm25 import BM25Index, read_manifest

ROOT = Path(__file__).resolve().parents[2]

# A builder process: waits for the go file (so both really run at once), builds or opens, and
# prints what it sees. The factory appends a line to calls.txt each time it is called.
BUILDER = textwrap.dedent("""
    import json, os, sys, time
    from pathlib import Path
    from agentgym.envs.search.corpus import Corpus
    from agentgym.retrieval.bm25 import BM25Index
    corpus_path, target, mode, work = sys.argv[1:5]
    manifest = json.loads((Path(corpus_path) / "manifest.json").read_text())
    corpus = Corpus(Path(corpus_path), manifest)
    def factory():
        with open(Path(work) / "calls.txt", "a") as f:
            f.write(f"{os.getpid()}\\n")
        return corpus.iter_documents()
    while not (Path(work) / "go").exists():
        time.sleep(0.005)
    if mode == "build":
        index = BM25Index.build(corpus.iter_documents(), target)
    else:
        index = BM25Index.open_or_build(target, factory)
    with index:
        hits = index.search("Hans Fifife born year", 5)
        print(json.dumps({"digest": index.manifest["documents_digest"],
                          "hits": [[h.doc_id, h.score] for h in hits]}))
""")


def _run_two(corpus, target: Path, mode: str, work: Path) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", BUILDER, str(corpus.path), str(target), mode,
                               str(work)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env, cwd=ROOT) for _ in range(2)]
    time.sleep(0.3)  # both are importing; release them together
    (work / "go").touch()
    outputs = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    return outputs


def _leftovers(parent: Path, name: str) -> list[str]:
    return sorted(p.name for p in parent.iterdir()
                  if p.name.startswith(f".{name}.") and not p.name.endswith(".lock"))


@pytest.mark.parametrize("mode", ["build", "open_or_build"])
def test_two_concurrent_builders_end_with_one_good_copy(corpus, tmp_path, mode):
    target = tmp_path / "index"
    first, second = _run_two(corpus, target, mode, tmp_path)
    assert first == second and first["hits"]
    assert read_manifest(target) is not None
    assert _leftovers(tmp_path, "index") == []
    if mode == "open_or_build":  # the second waited on the lock and reused the first's index
        assert len((tmp_path / "calls.txt").read_text().split()) == 1
    with BM25Index.load(target) as idx:
        assert [[h.doc_id, h.score] for h in idx.search("Hans Fifife born year", 5)] == first["hits"]


def test_open_or_build_reuses_a_complete_index(corpus, tmp_path):
    calls = []

    def factory():
        calls.append(1)
        return corpus.iter_documents()

    with BM25Index.open_or_build(tmp_path / "i", factory) as a:
        first = a.search("Pefifilen", 3)
    with BM25Index.open_or_build(tmp_path / "i", factory) as b:
        assert b.search("Pefifilen", 3) == first
    assert len(calls) == 1
    with pytest.raises(ValueError, match="built with k1=1.5"):
        BM25Index.open_or_build(tmp_path / "i", factory, k1=1.2)
    with pytest.raises(TypeError, match="callable"):
        BM25Index.open_or_build(tmp_path / "j", list(corpus.iter_documents()))  # type: ignore[arg-type]


def test_a_damaged_index_is_refused_on_load_and_rebuilt_by_open_or_build(corpus, tmp_path):
    docs = list(corpus.iter_documents())[:200]
    BM25Index.build(docs, tmp_path / "i").close()
    with open(tmp_path / "i" / "bm25s" / "data.csc.index.npy", "ab") as f:
        f.write(b"\0" * 8)  # a file changed behind the manifest's back
    with pytest.raises(RetrievalError, match="no complete BM25 index"):
        BM25Index.load(tmp_path / "i")
    with BM25Index.open_or_build(tmp_path / "i", lambda: docs) as idx:
        assert len(idx) == 200 and idx.search(docs[7]["title"], 1)[0].doc_id == docs[7]["id"]
    (tmp_path / "i" / "manifest.json").write_text("{not json")
    with pytest.raises(RetrievalError, match="no complete BM25 index"):
        BM25Index.load(tmp_path / "i")
    with pytest.raises(RetrievalError, match="no complete BM25 index"):
        BM25Index.load(tmp_path / "missing")


def test_build_never_destroys_a_different_index_or_a_foreign_directory(corpus, tmp_path):
    docs = list(corpus.iter_documents())[:100]
    BM25Index.build(docs, tmp_path / "i").close()
    with BM25Index.build(docs, tmp_path / "i") as same:  # identical content: reused
        assert len(same) == 100
    with pytest.raises(FileExistsError, match="different BM25 index"):
        BM25Index.build(docs[:50], tmp_path / "i")
    with pytest.raises(FileExistsError, match="different BM25 index"):
        BM25Index.build(docs, tmp_path / "i", k1=1.2)
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a BM25 index"):
        BM25Index.build(docs, foreign)
    assert (foreign / "notes.txt").read_text() == "keep me"
    (tmp_path / "empty").mkdir()
    with BM25Index.build(docs, tmp_path / "empty") as idx:  # an empty directory is replaced
        assert len(idx) == 100
    assert _leftovers(tmp_path, "i") == [] and _leftovers(tmp_path, "empty") == []


def test_a_failed_build_leaves_nothing_behind(corpus, tmp_path):
    def broken():
        yield from list(corpus.iter_documents())[:50]
        raise OSError("disk on fire")

    with pytest.raises(OSError, match="disk on fire"):
        BM25Index.build(broken(), tmp_path / "i")
    assert not (tmp_path / "i").exists() and _leftovers(tmp_path, "i") == []
    with pytest.raises(ValueError, match="zero documents"):
        BM25Index.build([], tmp_path / "i")
    with pytest.raises(ValueError, match="duplicate document id"):
        BM25Index.build([{"id": "a", "title": "t", "text": "x"}] * 2, tmp_path / "i")
    for bad in ({"k1": -1}, {"b": 1.5}, {"k1": "1"}):
        with pytest.raises(ValueError):
            BM25Index.build([{"id": "a", "title": "t", "text": "x"}], tmp_path / "i", **bad)
    assert not (tmp_path / "i").exists() and _leftovers(tmp_path, "i") == []


def test_documents_without_words_are_stored_but_never_hit(tmp_path):
    docs = [{"id": "empty", "title": "", "text": ""}, {"id": "stop", "title": "The", "text": "of a"},
            {"id": "real", "title": "Zebra", "text": "A zebra in 1875."}]
    with BM25Index.build(docs, tmp_path / "i") as idx:
        assert len(idx) == 3 and idx.document("empty").text == ""
        assert [h.doc_id for h in idx.search("zebra 1875 the", 5)] == ["real"]
        assert idx.search("of", 5) == []
