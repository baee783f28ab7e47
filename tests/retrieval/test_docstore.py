"""DocStore: documents on disk, random access by row and id, ids by binary search, mmap."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from agentgym.retrieval.base import Document, DocumentNotFound
from agentgym.retrieval.docstore import DocStore


def _docs(n: int) -> list[dict]:
    return [{"id": f"d{i:05d}", "title": f"Title {i} é", "text": f"Text of document {i}. " * (i % 7 + 1)}
            for i in range(n)]


def test_round_trip_by_row_and_by_id(tmp_path):
    docs = _docs(300)
    docs[5] = Document(id="unicode-ß-✓", title="Tïtle", text="multi\nline\n\ntext")
    with DocStore.build(iter(docs), tmp_path / "store") as store:
        assert len(store) == 300
        for row in (0, 5, 150, 299):
            want = docs[row] if isinstance(docs[row], Document) else Document(**docs[row])
            assert store.get(row) == want
            assert store.row_of(want.id) == row
            assert store.document(want.id) == want
        assert store.get(np.int64(7)).id == "d00007"
        assert list(store.ids[:3]) == ["d00000", "d00001", "d00002"]
        assert store.ids[5] == "unicode-ß-✓" and len(store.ids) == 300


def test_reopen_with_and_without_mmap_gives_the_same_documents(tmp_path):
    DocStore.build(_docs(50), tmp_path / "s").close()
    with DocStore.open(tmp_path / "s") as mapped, DocStore.open(tmp_path / "s", mmap=False) as loaded:
        assert isinstance(mapped._offsets, np.memmap) and not isinstance(loaded._offsets, np.memmap)
        assert [mapped.get(i) for i in range(50)] == [loaded.get(i) for i in range(50)]
        assert mapped.digest == loaded.digest


def test_digest_tracks_content(tmp_path):
    a = DocStore.build(_docs(20), tmp_path / "a")
    b = DocStore.build(_docs(20), tmp_path / "b")
    changed = _docs(20)
    changed[19]["text"] += "!"
    c = DocStore.build(changed, tmp_path / "c")
    assert a.digest == b.digest != c.digest
    for s in (a, b, c):
        s.close()


def test_unknown_ids_raise_document_not_found_naming_the_id(tmp_path):
    with DocStore.build(_docs(10), tmp_path / "s") as store:
        for bad in ("d99999", "", "d0000", "d000000000000000000", "x\x00", "\ud800"):
            with pytest.raises(DocumentNotFound) as err:
                store.row_of(bad)
            assert repr(bad) in str(err.value)
            assert isinstance(err.value, KeyError)
        with pytest.raises(TypeError):
            store.row_of(3)  # type: ignore[arg-type]
        for bad_row in (-1, 10, 10**9):
            with pytest.raises(IndexError, match="out of range"):
                store.get(bad_row)
        with pytest.raises(TypeError):
            store.get("1")  # type: ignore[arg-type]


def test_duplicate_ids_raise_naming_the_id(tmp_path):
    docs = _docs(10)
    docs[7]["id"] = "d00002"
    with pytest.raises(ValueError, match=r"duplicate document id 'd00002' \(rows 2 and 7\)"):
        DocStore.build(docs, tmp_path / "s")


@pytest.mark.parametrize("bad, message", [
    ({"id": "x", "title": "t"}, "row 1 has no text"),
    ({"id": 3, "title": "t", "text": "x"}, "row 1: id must be a str"),
    ({"id": "", "title": "t", "text": "x"}, "row 1: id must be a non-empty"),
    ({"id": "a\x00b", "title": "t", "text": "x"}, "without NUL"),
    ({"id": "y", "title": "t", "text": "bad \ud800"}, "row 1 is not valid unicode"),
    ("just a string", "row 1 must be a Document or a mapping"),
])
def test_malformed_documents_get_clear_errors(tmp_path, bad, message):
    with pytest.raises((TypeError, ValueError), match=message):
        DocStore.build([{"id": "ok", "title": "t", "text": "x"}, bad], tmp_path / "s")


def test_open_refuses_missing_and_inconsistent_stores(tmp_path):
    with pytest.raises(FileNotFoundError, match="no document store"):
        DocStore.open(tmp_path / "nothing")
    DocStore.build(_docs(10), tmp_path / "s").close()
    with pytest.raises(FileExistsError):
        DocStore.build(_docs(10), tmp_path / "s")
    with open(tmp_path / "s" / "texts.bin", "ab") as f:
        f.write(b"extra")
    with pytest.raises(ValueError, match="texts.bin has"):
        DocStore.open(tmp_path / "s")


def test_closed_store_raises_and_releases_its_file(tmp_path, resources):
    store = DocStore.build(_docs(10), tmp_path / "s")
    ids = store.ids
    store.close()
    store.close()  # idempotent
    for use in (lambda: store.get(0), lambda: store.document("d00001"), lambda: len(store),
                lambda: ids[0], lambda: store.row_of("d00001")):
        with pytest.raises(RuntimeError, match="closed"):
            use()
    resources.assert_released()


def test_concurrent_readers(tmp_path):
    docs = _docs(500)
    with DocStore.build(docs, tmp_path / "s") as store:
        errors: list[BaseException] = []

        def read(offset: int) -> None:
            try:
                for i in range(offset, 500, 7):
                    assert store.document(docs[i]["id"]).text == docs[i]["text"]
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=read, args=(i,)) for i in range(7)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
