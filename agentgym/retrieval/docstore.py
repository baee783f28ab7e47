"""Documents on disk with random access by row and by id, without holding their text in memory.

Contract:
    ``DocStore.build(documents, path)`` writes the documents (an iterable of :class:`Document`
    or mappings with str ``id``, ``title`` and ``text``) into the directory ``path`` and returns
    the opened store. Rows are numbered in iteration order. An id must be a non-empty str
    without NUL characters; a repeated id raises ``ValueError`` naming it; a malformed document
    raises ``TypeError``/``ValueError`` naming its row. ``docstore.json`` is written last, so a
    directory without it is not a store.

    ``DocStore.open(path, mmap=True)`` opens a built store: the offset and id arrays are ``.npy``
    files memory-mapped read-only (``mmap=False`` reads them into memory); titles and texts stay
    in ``texts.bin`` and are read on demand (``os.pread``: threads may read concurrently).
    ``len(store)``, ``get(row) -> Document`` (``IndexError`` outside ``0 <= row < len``),
    ``row_of(doc_id) -> int`` and ``document(doc_id) -> Document`` (:class:`DocumentNotFound`
    naming the id; ids are found by binary search in a sorted copy, no dict), ``ids`` (a
    read-only sequence of the ids by row; negative indexes count from the end) and ``digest`` (a hash of every id, title and text in
    order: equal digests mean equal contents).
    ``close()`` waits for reads in flight, then releases the file; afterwards every use raises
    ``RuntimeError``. A store dropped without ``close()`` releases its file when collected.
    Stores are context managers.

Files: ``texts.bin`` (UTF-8 title then text of each row, back to back), ``offsets.npy`` (int64,
rows + 1: where each row starts), ``title_ends.npy`` (int64: where each row's title ends),
``ids.npy`` (fixed-width UTF-8 bytes by row), ``sorted_ids.npy`` + ``sorted_rows.npy`` (ids in
byte order and their rows), ``docstore.json`` (format, count, digest).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import weakref
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from agentgym.retrieval.base import Document, DocumentNotFound

__all__ = ["DocStore", "UseGuard", "as_document"]

FORMAT = 1
META = "docstore.json"
_FILES = ("texts.bin", "offsets.npy", "title_ends.npy", "ids.npy", "sorted_ids.npy",
          "sorted_rows.npy")


class UseGuard:
    """Open/closed state shared by concurrent users: ``use()`` is a context manager that raises
    ``RuntimeError(f"{what} is closed")`` once closed; ``close()`` marks the object closed,
    waits until no ``use()`` block is running (so resources are never released under a reader)
    and returns True the first time only. Do not call ``close()`` inside ``use()``."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._cond = threading.Condition()
        self._users = 0
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    @contextmanager
    def use(self) -> Iterator[None]:
        with self._cond:
            if self._closed:
                raise RuntimeError(f"{self._what} is closed")
            self._users += 1
        try:
            yield
        finally:
            with self._cond:
                self._users -= 1
                if self._users == 0:
                    self._cond.notify_all()

    def close(self) -> bool:
        with self._cond:
            if self._closed:
                return False
            self._closed = True
            while self._users:
                self._cond.wait()
            return True


def as_document(obj: object, row: int) -> Document:
    """``obj`` as a :class:`Document` (a Document, or a mapping with str id/title/text);
    ``TypeError``/``ValueError`` naming ``row`` otherwise."""
    if isinstance(obj, Document):
        doc = obj
    elif isinstance(obj, Mapping):
        missing = [key for key in ("id", "title", "text") if key not in obj]
        if missing:
            raise ValueError(f"document at row {row} has no {', '.join(missing)}")
        doc = Document(id=obj["id"], title=obj["title"], text=obj["text"])
    else:
        raise TypeError(f"document at row {row} must be a Document or a mapping with id, title "
                        f"and text, got {type(obj).__name__}")
    for field in ("id", "title", "text"):
        value = getattr(doc, field)
        if not isinstance(value, str):
            raise TypeError(f"document at row {row}: {field} must be a str, got "
                            f"{type(value).__name__}")
    if not doc.id or "\x00" in doc.id:
        raise ValueError(f"document at row {row}: id must be a non-empty str without NUL, "
                         f"got {doc.id!r}")
    return doc


def _hash_document(digest: "hashlib._Hash", parts: Sequence[bytes]) -> None:
    for part in parts:
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)


def _strict_utf8(value: str, row: int) -> bytes:
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates cannot be stored as UTF-8
        raise ValueError(f"document at row {row} is not valid unicode: {exc}") from None


class _IdView(Sequence):
    """The ids of a store by row, decoded on access."""

    def __init__(self, store: "DocStore") -> None:
        self._store = store

    def __len__(self) -> int:
        return len(self._store)

    def __getitem__(self, row):  # type: ignore[override]
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(len(self)))]
        if isinstance(row, (int, np.integer)) and not isinstance(row, bool) and -len(self) <= row < 0:
            row += len(self)  # from the end, as for any sequence
        return self._store._id_at(row)


class DocStore:
    """Documents on disk with random access (see the module docstring)."""

    def __init__(self, path: Path, meta: dict, arrays: dict[str, np.ndarray], fd: int) -> None:
        self.path = path
        self.digest: str = meta["digest"]
        self._count = int(meta["count"])
        self._offsets = arrays["offsets"]
        self._title_ends = arrays["title_ends"]
        self._ids = arrays["ids"]
        self._sorted_ids = arrays["sorted_ids"]
        self._sorted_rows = arrays["sorted_rows"]
        self._fd = fd
        self._release_fd = weakref.finalize(self, os.close, fd)  # also when dropped unclosed
        self._guard = UseGuard(f"DocStore at {path}")

    # -- building -------------------------------------------------------------------------
    @classmethod
    def build(cls, documents: Iterable[Document | Mapping], path: str | os.PathLike) -> "DocStore":
        """Write ``documents`` into the directory ``path`` (created if needed; it must not hold
        a store already) and open it."""
        path = Path(path)
        if (path / META).exists():
            raise FileExistsError(f"{path} already holds a document store")
        path.mkdir(parents=True, exist_ok=True)
        offsets, title_ends = array("q", [0]), array("q")
        ids: list[bytes] = []
        digest = hashlib.blake2b(digest_size=16)
        position = 0
        with open(path / "texts.bin", "wb", buffering=1 << 20) as out:
            for row, obj in enumerate(documents):
                doc = as_document(obj, row)
                key = _strict_utf8(doc.id, row)
                title = _strict_utf8(doc.title, row)
                text = _strict_utf8(doc.text, row)
                _hash_document(digest, (key, title, text))
                out.write(title)
                out.write(text)
                title_ends.append(position + len(title))
                position += len(title) + len(text)
                offsets.append(position)
                ids.append(key)
        width = max((len(k) for k in ids), default=1)
        id_array = np.array(ids, dtype=f"S{width}")
        del ids
        order = np.argsort(id_array, kind="stable")
        sorted_ids = id_array[order]
        same = np.flatnonzero(sorted_ids[1:] == sorted_ids[:-1])
        if len(same):
            dup = sorted_ids[same[0]].decode("utf-8")
            rows = sorted(int(r) for r in order[same[0]:same[0] + 2])
            raise ValueError(f"duplicate document id {dup!r} (rows {rows[0]} and {rows[1]})")
        np.save(path / "offsets.npy", np.frombuffer(offsets, dtype=np.int64))
        np.save(path / "title_ends.npy", np.frombuffer(title_ends, dtype=np.int64))
        np.save(path / "ids.npy", id_array)
        np.save(path / "sorted_ids.npy", sorted_ids)
        np.save(path / "sorted_rows.npy", order.astype(np.int64))
        meta = {"format": FORMAT, "count": len(id_array), "digest": digest.hexdigest(),
                "text_bytes": position}
        with open(path / META, "w", encoding="utf-8") as f:
            json.dump(meta, f)
            f.flush()
            os.fsync(f.fileno())
        return cls.open(path)

    # -- opening --------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike, *, mmap: bool = True) -> "DocStore":
        """Open the store built at ``path``; ``FileNotFoundError`` when there is none,
        ``ValueError`` when its files do not agree with each other."""
        path = Path(path)
        try:
            meta = json.loads((path / META).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise FileNotFoundError(f"no document store at {path} (no {META})") from None
        except ValueError as exc:
            raise ValueError(f"document store at {path}: unreadable {META}: {exc}") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ValueError(f"document store at {path}: unsupported format "
                             f"{meta.get('format') if isinstance(meta, dict) else meta!r}")
        mode = "r" if mmap else None
        arrays = {}
        for name in ("offsets", "title_ends", "ids", "sorted_ids", "sorted_rows"):
            try:
                arrays[name] = np.load(path / f"{name}.npy", mmap_mode=mode, allow_pickle=False)
            except (OSError, ValueError) as exc:
                raise ValueError(f"document store at {path}: cannot read {name}.npy: {exc}") from None
        count = meta.get("count")
        lengths = {name: len(a) for name, a in arrays.items()}
        expected = {"offsets": count + 1, "title_ends": count, "ids": count,
                    "sorted_ids": count, "sorted_rows": count} if isinstance(count, int) else {}
        if lengths != expected:
            raise ValueError(f"document store at {path}: array lengths {lengths} do not match "
                             f"count {count!r}")
        text_path = path / "texts.bin"
        size = text_path.stat().st_size if text_path.exists() else -1
        if size != int(arrays["offsets"][-1]):
            raise ValueError(f"document store at {path}: texts.bin has {size} bytes, the offsets "
                             f"need {int(arrays['offsets'][-1])}")
        fd = os.open(text_path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        return cls(path, meta, arrays, fd)

    # -- access ---------------------------------------------------------------------------
    def __len__(self) -> int:
        with self._guard.use():
            return self._count

    def __bool__(self) -> bool:  # a store is an object, not a collection to test for emptiness
        return True

    @property
    def ids(self) -> Sequence[str]:
        """The ids by row (decoded on access)."""
        with self._guard.use():
            return _IdView(self)

    def _check_row(self, row: object) -> int:
        if isinstance(row, bool) or not isinstance(row, (int, np.integer)):
            raise TypeError(f"row must be an int, got {type(row).__name__}")
        row = int(row)
        if not 0 <= row < self._count:
            raise IndexError(f"row {row} out of range for a store of {self._count} documents")
        return row

    def _id_at(self, row: object) -> str:
        with self._guard.use():
            return bytes(self._ids[self._check_row(row)]).decode("utf-8")

    def get(self, row: int) -> Document:
        """The document stored at ``row``."""
        with self._guard.use():
            row = self._check_row(row)
            start = int(self._offsets[row])
            title_end = int(self._title_ends[row])
            end = int(self._offsets[row + 1])
            raw = os.pread(self._fd, end - start, start)
            if len(raw) != end - start:
                raise OSError(f"{self.path / 'texts.bin'} is shorter than its offsets say")
            title = raw[:title_end - start].decode("utf-8")
            text = raw[title_end - start:].decode("utf-8")
            return Document(id=bytes(self._ids[row]).decode("utf-8"), title=title, text=text)

    def row_of(self, doc_id: str) -> int:
        """The row of ``doc_id``; :class:`DocumentNotFound` when the store does not hold it."""
        if not isinstance(doc_id, str):
            raise TypeError(f"doc_id must be a str, got {type(doc_id).__name__}")
        with self._guard.use():
            try:
                key = doc_id.encode("utf-8")
            except UnicodeEncodeError:
                key = b""
            width = self._sorted_ids.dtype.itemsize
            if key and b"\x00" not in key and len(key) <= width:
                i = int(np.searchsorted(self._sorted_ids, np.bytes_(key)))
                if i < self._count and bytes(self._sorted_ids[i]) == key:
                    return int(self._sorted_rows[i])
            raise DocumentNotFound(f"no document with id {doc_id!r}")

    def document(self, doc_id: str) -> Document:
        """The document with id ``doc_id``; :class:`DocumentNotFound` naming it otherwise."""
        return self.get(self.row_of(doc_id))

    # -- lifetime -------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._guard.closed

    def close(self) -> None:
        """Wait for reads in flight, release the text file and the arrays; idempotent."""
        if self._guard.close():
            self._release_fd()
            self._offsets = self._title_ends = self._ids = None  # type: ignore[assignment]
            self._sorted_ids = self._sorted_rows = None  # type: ignore[assignment]

    def __enter__(self) -> "DocStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{self._count} documents"
        return f"DocStore({str(self.path)!r}, {state})"
