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
    naming the id, its first 100 characters when longer; ids are found by binary search over the
    rows in id order, no dict), ``ids`` (a read-only sequence of the ids by row; negative indexes
    count from the end; ``in``, ``index`` and ``count`` search as ``row_of`` does) and ``digest``
    (a hash of every id, title and text in order: equal digests mean equal contents). ``close()``
    waits for reads in flight, then releases the file; afterwards every use raises
    ``RuntimeError``. A store dropped without ``close()`` releases its file when collected. Stores
    are context managers.

Files: ``texts.bin`` (UTF-8 title then text of each row, back to back), ``offsets.npy`` (int64,
rows + 1: where each row starts), ``title_ends.npy`` (int64: where each row's title ends),
``id_bytes.npy`` (uint8: the UTF-8 ids back to back) + ``id_offsets.npy`` (int64, rows + 1: where
each id starts), ``sorted_rows.npy`` (int64: the rows in byte order of their ids),
``docstore.json`` (format, count, digest). An id takes its own length, however long another id
is. Stores of format 1 (ids at the longest id's width in ``ids.npy`` and ``sorted_ids.npy``) are
still opened.
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

FORMAT = 2
META = "docstore.json"
# the arrays of each format, besides texts.bin and docstore.json
_ARRAYS = {1: ("offsets", "title_ends", "ids", "sorted_ids", "sorted_rows"),
           2: ("offsets", "title_ends", "id_bytes", "id_offsets", "sorted_rows")}


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


class _PackedIds:
    """Ids of format 2: UTF-8 bytes back to back, where each starts, rows in id byte order."""

    def __init__(self, data: np.ndarray, offsets: np.ndarray, sorted_rows: np.ndarray) -> None:
        # memoryviews: slicing them and reading their items is much cheaper than a memmap's
        self._data = memoryview(np.ascontiguousarray(data, dtype=np.uint8))
        self._offsets = memoryview(np.ascontiguousarray(offsets, dtype=np.int64))
        self._sorted_rows = memoryview(np.ascontiguousarray(sorted_rows, dtype=np.int64))

    def at(self, row: int) -> bytes:
        return self._data[self._offsets[row]:self._offsets[row + 1]].tobytes()

    def find(self, key: bytes) -> int | None:
        """The row whose id is ``key``, by binary search over the rows in id order."""
        data, offsets, rows = self._data, self._offsets, self._sorted_rows
        lo, hi = 0, len(rows)
        while lo < hi:
            mid = (lo + hi) // 2
            row = rows[mid]
            if data[offsets[row]:offsets[row + 1]].tobytes() < key:
                lo = mid + 1
            else:
                hi = mid
        if lo < len(rows) and self.at(rows[lo]) == key:
            return rows[lo]
        return None


class _FixedIds:
    """Ids of format 1: fixed-width bytes by row and in sorted order (NUL-padded)."""

    def __init__(self, ids: np.ndarray, sorted_ids: np.ndarray, sorted_rows: np.ndarray) -> None:
        self._ids, self._sorted_ids, self._sorted_rows = ids, sorted_ids, sorted_rows

    def at(self, row: int) -> bytes:
        return bytes(self._ids[row])

    def find(self, key: bytes) -> int | None:
        if b"\x00" in key or len(key) > self._sorted_ids.dtype.itemsize:
            return None
        i = int(np.searchsorted(self._sorted_ids, np.bytes_(key)))
        if i < len(self._sorted_ids) and bytes(self._sorted_ids[i]) == key:
            return int(self._sorted_rows[i])
        return None


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

    # ids are unique and found by binary search: no scan of every row (Sequence's defaults)
    def __contains__(self, doc_id: object) -> bool:
        if not isinstance(doc_id, str):
            return False
        try:
            self._store.row_of(doc_id)
        except DocumentNotFound:
            return False
        return True

    def index(self, doc_id: object, start: int = 0, stop: int | None = None) -> int:
        lo, hi, _ = slice(start, stop).indices(len(self))
        try:
            row = self._store.row_of(doc_id) if isinstance(doc_id, str) else -1
        except DocumentNotFound:
            row = -1
        if not lo <= row < hi:
            raise ValueError(f"{doc_id!r:.100} is not in the store's ids")
        return row

    def count(self, doc_id: object) -> int:
        return int(doc_id in self)


class DocStore:
    """Documents on disk with random access (see the module docstring)."""

    def __init__(self, path: Path, meta: dict, arrays: dict[str, np.ndarray], fd: int) -> None:
        self.path = path
        self.digest: str = meta["digest"]
        self._count = int(meta["count"])
        self._offsets = arrays["offsets"]
        self._title_ends = arrays["title_ends"]
        self._ids: _PackedIds | _FixedIds | None = (
            _FixedIds(arrays["ids"], arrays["sorted_ids"], arrays["sorted_rows"]) if meta["format"] == 1
            else _PackedIds(arrays["id_bytes"], arrays["id_offsets"], arrays["sorted_rows"]))
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
        width = max(map(len, ids), default=1)
        if width <= 64:  # short ids sort fastest at a fixed width (no NUL in an id: same order)
            order = np.argsort(np.array(ids, dtype=f"S{width}"), kind="stable").tolist()
        else:  # one long id must not widen every other
            order = sorted(range(len(ids)), key=ids.__getitem__)  # stable: equal ids by row
        for a, b in zip(order, order[1:]):
            if ids[a] == ids[b]:
                raise ValueError(f"duplicate document id {ids[a].decode('utf-8')!r} (rows {a} and {b})")
        id_offsets = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, ids), dtype=np.int64, count=len(ids)), out=id_offsets[1:])
        np.save(path / "offsets.npy", np.frombuffer(offsets, dtype=np.int64))
        np.save(path / "title_ends.npy", np.frombuffer(title_ends, dtype=np.int64))
        np.save(path / "id_bytes.npy", np.frombuffer(b"".join(ids), dtype=np.uint8))
        np.save(path / "id_offsets.npy", id_offsets)
        np.save(path / "sorted_rows.npy", np.array(order, dtype=np.int64))
        meta = {"format": FORMAT, "count": len(ids), "digest": digest.hexdigest(),
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
        fmt = meta.get("format") if isinstance(meta, dict) else None
        if isinstance(fmt, bool) or not isinstance(fmt, int) or fmt not in _ARRAYS:
            raise ValueError(f"document store at {path}: unsupported format "
                             f"{fmt if isinstance(meta, dict) else meta!r}")
        if not isinstance(meta.get("digest"), str):  # before any file is opened: nothing to release
            raise ValueError(f"document store at {path}: {META} has no digest")
        mode = "r" if mmap else None
        arrays = {}
        for name in _ARRAYS[fmt]:
            try:
                arrays[name] = np.load(path / f"{name}.npy", mmap_mode=mode, allow_pickle=False)
            except (OSError, ValueError) as exc:
                raise ValueError(f"document store at {path}: cannot read {name}.npy: {exc}") from None
        count = meta.get("count")
        lengths = {name: len(a) for name, a in arrays.items()}
        expected = {name: count for name in _ARRAYS[fmt]} if isinstance(count, int) else {}
        for name in ("offsets", "id_offsets"):
            if name in expected:
                expected[name] += 1
        if fmt == 2 and isinstance(count, int) and len(arrays["id_offsets"]):
            expected["id_bytes"] = int(arrays["id_offsets"][-1])
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
            return self._ids.at(self._check_row(row)).decode("utf-8")

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
            return Document(id=self._ids.at(row).decode("utf-8"), title=title, text=text)

    def row_of(self, doc_id: str) -> int:
        """The row of ``doc_id``; :class:`DocumentNotFound` when the store does not hold it."""
        if not isinstance(doc_id, str):
            raise TypeError(f"doc_id must be a str, got {type(doc_id).__name__}")
        with self._guard.use():
            try:
                key = doc_id.encode("utf-8")
            except UnicodeEncodeError:
                key = b""
            row = self._ids.find(key) if key else None
            if row is not None:
                return row
            shown = f"{doc_id!r}" if len(doc_id) <= 100 else f"{doc_id[:100]!r}... ({len(doc_id):,} characters)"
            raise DocumentNotFound(f"no document with id {shown}")  # a client's huge id is not echoed whole

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

    def __enter__(self) -> "DocStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{self._count} documents"
        return f"DocStore({str(self.path)!r}, {state})"
