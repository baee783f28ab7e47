"""The encyclopedia corpus: articles state every fact, the cache is built once and reused."""
import hashlib
import json
import types

import pytest

from agentgym.envs.search.corpus import (build_corpus, doc_id, fact_sentences, iter_documents,
                                         render_document)
from agentgym.envs.search.world import World


def _digest(corpus):
    h = hashlib.sha256()
    for path in corpus.shard_paths():
        h.update(path.read_bytes())
    return h.hexdigest()


def test_articles_state_every_fact_and_have_several_paragraphs():
    world = World(2000, 4)
    docs = iter_documents(world)
    assert isinstance(docs, types.GeneratorType)
    for eid, doc in enumerate(docs):
        assert doc["id"] == doc_id(eid) and doc["title"] == world.name(eid)
        assert doc["text"].startswith(world.name(eid))
        for alias in world.aliases(eid):
            assert alias in doc["text"]
        for sentence in fact_sentences(world, eid).values():
            assert sentence in doc["text"]
        assert doc["text"].count("\n\n") >= 1


def test_distractors_name_near_duplicates():
    world = World(2000, 4)
    with_dups = [i for i in range(world.size) if world.near_duplicates(i)]
    assert with_dups
    for eid in with_dups[:50]:
        text = render_document(world, eid, distractors=2)["text"]
        assert f"should not be confused with {world.name(world.near_duplicates(eid)[0])}" in text
    plain = render_document(world, with_dups[0], distractors=0)["text"]
    assert "confused" not in plain and "mention" not in plain


def test_build_writes_shards_and_a_manifest(tmp_path):
    corpus = build_corpus(1000, 5, tmp_path, shard_size=300)
    assert corpus.manifest["size"] == 1000 and corpus.manifest["seed"] == 5
    assert corpus.manifest["documents"] == 1000 and len(corpus.manifest["shards"]) == 4
    docs = list(corpus.iter_documents())
    assert [d["id"] for d in docs] == [doc_id(i) for i in range(1000)]
    assert docs == list(iter_documents(World(1000, 5)))
    assert sum(p.stat().st_size for p in corpus.shard_paths()) == corpus.manifest["bytes"]
    assert [p.name for p in tmp_path.iterdir()] == [corpus.path.name]  # no temporary left


def test_second_build_reuses_the_cache_untouched(tmp_path):
    first = build_corpus(1000, 6, tmp_path)
    stamps = [p.stat().st_mtime_ns for p in first.shard_paths()]
    digest = _digest(first)
    second = build_corpus(1000, 6, tmp_path)
    assert second.path == first.path and second.manifest == first.manifest
    assert [p.stat().st_mtime_ns for p in second.shard_paths()] == stamps
    assert _digest(second) == digest
    other = build_corpus(1000, 7, tmp_path)
    assert other.path != first.path and _digest(other) != digest


def test_a_broken_cache_is_rebuilt(tmp_path):
    first = build_corpus(500, 1, tmp_path)
    digest = _digest(first)
    (first.path / "manifest.json").write_text("{not json")
    again = build_corpus(500, 1, tmp_path)
    assert _digest(again) == digest and json.loads((again.path / "manifest.json").read_text())
    again.shard_paths()[0].unlink()
    assert _digest(build_corpus(500, 1, tmp_path)) == digest


def test_sizes_scale(tmp_path):
    small = build_corpus(1000, 2, tmp_path)
    large = build_corpus(8000, 2, tmp_path)
    assert large.manifest["documents"] == 8 * small.manifest["documents"]
    assert 6 < large.manifest["bytes"] / small.manifest["bytes"] < 10


@pytest.mark.parametrize("kwargs", [{"distractors": 9}, {"distractors": "2"}, {"shard_size": 0}])
def test_bad_arguments_are_refused(tmp_path, kwargs):
    with pytest.raises(ValueError):
        build_corpus(1000, 0, tmp_path, **kwargs)
    with pytest.raises(ValueError):
        build_corpus(3, 0, tmp_path)


def test_concurrent_builders_agree_on_one_copy(tmp_path):
    import subprocess
    import sys
    code = ("import sys; from agentgym.envs.search.corpus import build_corpus; "
            "c = build_corpus(3000, 9, sys.argv[1]); print(c.path)")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE,
                              text=True) for _ in range(2)]
    paths = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert paths[0] == paths[1]
    assert [p.name for p in tmp_path.iterdir()] == [build_corpus(3000, 9, tmp_path).path.name]
    assert _digest(build_corpus(3000, 9, tmp_path)) == _digest(
        build_corpus(3000, 9, tmp_path / "fresh"))
