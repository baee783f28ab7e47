"""Bring your own corpus: documents from JSONL / JSON / Parquet files or Hugging Face datasets.

:func:`read_documents` turns rows into :class:`~agentgym.retrieval.base.Document`\\ s, streaming
(a Parquet file row group by row group, a JSONL file line by line). What it reads:

* ``.jsonl`` / ``.jsonl.gz`` (one JSON object a line), ``.json`` / ``.json.gz`` (JSON lines, or
  one JSON array of objects), ``.parquet`` (read with pyarrow);
* a ``datasets.Dataset`` object, a dataset saved with ``save_to_disk`` (its directory), or a
  folder of data files that ``datasets.load_dataset(folder)`` reads (its ``train`` split). A
  dataset on the Hugging Face Hub is not fetched here: load it yourself and pass the object.

Fields are found by name unless given: the id in ``id`` | ``_id`` | ``doc_id`` | ``docid``
(a row without one gets its row number, counted from 0); the title in ``title``; the text in
``text`` | ``contents`` | ``passage`` | ``body``. Search-R1's wiki-18 corpus keeps both in
``contents`` as ``'"Title"\\ntext'``: :func:`split_contents` splits it (and
:func:`join_contents` writes it). A row without text raises ``ValueError`` naming the source
and the row.

:func:`iter_records` (the raw rows of any of these sources) is shared with
:mod:`agentgym.envs.search.byo`, which reads question files the same way;
:func:`source_fingerprint` keys the caches built from a file or folder.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any, Iterable, Iterator

from agentgym.retrieval.base import Document

ID_FIELDS = ("id", "_id", "doc_id", "docid")
TITLE_FIELDS = ("title",)
TEXT_FIELDS = ("text", "contents", "passage", "body")

_JSON_SUFFIXES = (".jsonl", ".jsonl.gz", ".json", ".json.gz")
_PARQUET_BATCH_ROWS = 4096


def split_contents(contents: str) -> tuple[str, str]:
    """``'"Title"\\ntext'`` (Search-R1's wiki-18 ``contents``) -> ``("Title", "text")``.

    Text that does not start with a quoted first line has no title: ``("", contents)``.
    """
    first, newline, rest = contents.partition("\n")
    if newline and len(first) >= 2 and first.startswith('"') and first.endswith('"'):
        return first[1:-1], rest
    return "", contents


def join_contents(title: str, text: str) -> str:
    """The wiki-18 ``contents`` of a document: ``'"Title"\\ntext'`` (inverse of :func:`split_contents`).

    The title is the first line, so its line breaks become spaces (``"Alpha\\nBeta"`` gives
    ``"Alpha Beta"``): kept, they ended that line, and :func:`split_contents` found no title.
    """
    if "\n" in title:
        title = " ".join(line.strip() for line in title.splitlines() if line.strip())
    return f'"{title}"\n{text}'


def source_fingerprint(path: str | os.PathLike) -> str:
    """What identifies the contents of a file or folder for a cache key, without reading it: a
    file's resolved path, size and modification time (``"PATH|SIZE|MTIME_NS"``); for a folder
    (a saved dataset, a folder of data files) the same for the folder and for every file below
    it, as a folder's own size and time do not change when a file in it is rewritten.
    ``OSError`` when ``path`` cannot be read."""
    path = Path(path).resolve()
    stat = path.stat()
    key = f"{path}|{stat.st_size}|{stat.st_mtime_ns}"
    if not path.is_dir():
        return key
    files = []
    for root, dirs, names in os.walk(path, onerror=_raise):
        dirs.sort()
        for name in sorted(names):
            inner = os.path.join(root, name)
            found = os.stat(inner) if os.path.exists(inner) else os.lstat(inner)  # a broken link: itself
            files.append(f"{os.path.relpath(inner, path)}|{found.st_size}|{found.st_mtime_ns}")
    listing = "\n".join(files).encode("utf-8", "surrogateescape")
    return f"{key}|{hashlib.sha256(listing).hexdigest()}"


def _raise(error: OSError) -> None:
    raise error


def describe_source(source: Any) -> str:
    """How errors name a source: its path, or the dataset's type."""
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    return f"the {type(source).__name__} object"


def iter_records(source: Any) -> Iterator[dict[str, Any]]:
    """The rows of ``source`` (see the module docstring for what it may be) as dicts, in order.

    Raises ``FileNotFoundError`` for a path that does not exist, ``ValueError`` for a file it
    cannot read (naming the file and the line or row), ``TypeError`` for a source of another kind.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            yield from _dataset_rows(_load_dataset_dir(path), str(path))
            return
        if not path.is_file():
            raise FileNotFoundError(
                f"{path}: no such file or directory (a corpus or question file is .jsonl, .jsonl.gz, .json, .json.gz "
                "or .parquet, or a datasets folder; for a dataset on the Hugging Face Hub, load it with "
                "datasets.load_dataset(...) and pass the Dataset)")
        name = path.name.lower()
        if name.endswith(".parquet"):
            yield from _parquet_rows(path)
        elif name.endswith(_JSON_SUFFIXES):
            yield from _json_rows(path)
        else:
            raise ValueError(f"{path}: unknown file type; expected .jsonl, .jsonl.gz, .json, .json.gz or .parquet")
        return
    if _is_dataset(source):
        yield from _dataset_rows(source, describe_source(source))
        return
    raise TypeError(f"cannot read documents or questions from {describe_source(source)}: give a file path, a "
                    "datasets folder or a datasets.Dataset")


def read_documents(source: Any, *, id_field: str | None = None, title_field: str | None = None,
                   text_field: str | None = None) -> Iterator[Document]:
    """Yield the documents of ``source`` (see the module docstring), streaming.

    ``id_field`` / ``title_field`` / ``text_field`` name the columns when auto-detection (from
    the first row) would not find them; a named column missing from the first row raises
    ``ValueError`` listing the row's fields. A ``contents`` text in wiki-18's
    ``'"Title"\\ntext'`` form is split into title and text; when the row has a title of its
    own, a first line repeating it is dropped from the text.
    """
    where = describe_source(source)
    fields: tuple[str | None, str | None, str] | None = None
    for row_number, row in enumerate(iter_records(source)):
        if fields is None:
            fields = _detect_fields(row, where, id_field, title_field, text_field)
        id_key, title_key, text_key = fields
        yield _document(row, row_number, where, id_key, title_key, text_key)


def _detect_fields(row: dict[str, Any], where: str, id_field: str | None, title_field: str | None,
                   text_field: str | None) -> tuple[str | None, str | None, str]:
    def pick(given: str | None, candidates: Iterable[str], what: str, required: bool) -> str | None:
        if given is not None:
            if given not in row:
                raise ValueError(f"{where}: the {what} field {given!r} is not in the first row (its fields: "
                                 f"{sorted(row)})")
            return given
        found = next((name for name in candidates if name in row), None)
        if found is None and required:
            raise ValueError(f"{where}: no text field in the first row (looked for {', '.join(TEXT_FIELDS)}; its "
                             f"fields: {sorted(row)}); name it with text_field=")
        return found

    text_key = pick(text_field, TEXT_FIELDS, "text", True)
    assert text_key is not None
    return pick(id_field, ID_FIELDS, "id", False), pick(title_field, TITLE_FIELDS, "title", False), text_key


def _document(row: dict[str, Any], row_number: int, where: str, id_key: str | None, title_key: str | None,
              text_key: str) -> Document:
    text = row.get(text_key)
    if not isinstance(text, str) or not text.strip():
        problem = "has no text" if text is None or isinstance(text, str) else f"has text of type {type(text).__name__}"
        raise ValueError(f"{where}: row {row_number} {problem} (field {text_key!r})")
    raw_id = row.get(id_key) if id_key is not None else None
    doc_id = str(row_number) if raw_id is None or raw_id == "" else str(raw_id)
    title = row.get(title_key) if title_key is not None else None
    if title is not None and not isinstance(title, str):
        raise ValueError(f"{where}: row {row_number} has a title of type {type(title).__name__} (field {title_key!r})")
    if text_key == "contents":
        parsed_title, body = split_contents(text)
        if not title:
            title = parsed_title
            text = body
        elif parsed_title == title:
            text = body
    return Document(id=doc_id, title=title or "", text=text)


# -- files ---------------------------------------------------------------------------------------

def _json_rows(path: Path) -> Iterator[dict[str, Any]]:
    name = path.name.lower()
    opener = gzip.open if name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8-sig") as handle:  # a byte-order mark is skipped
            if name.endswith((".json", ".json.gz")) and _first_char(handle) == "[":
                try:
                    rows = json.load(handle)
                except ValueError as exc:
                    raise ValueError(f"{path}: not valid JSON: {exc}") from None
                except RecursionError:
                    raise ValueError(f"{path}: not valid JSON: nested too deeply") from None
                for row_number, row in enumerate(rows):
                    yield _check_row(row, path, f"item {row_number}")
                return
            first = True
            for line_number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except RecursionError:  # not a ValueError: it escaped every caller's error handling
                    raise ValueError(f"{path}: line {line_number} is not valid JSON: nested too deeply") from None
                except ValueError as exc:
                    if first and name.endswith((".json", ".json.gz")):
                        _refuse_one_object(handle, path)
                    raise ValueError(f"{path}: line {line_number} is not valid JSON: {exc}") from None
                first = False
                yield _check_row(row, path, f"line {line_number}")
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError) as exc:
        raise ValueError(f"{path}: cannot be read as {'gzipped ' if opener is gzip.open else ''}UTF-8 text: "
                         f"{exc}") from None


def _refuse_one_object(handle: io.TextIOBase, path: Path) -> None:
    """A ``ValueError`` saying so when the whole of a .json file whose first line is no JSON is one
    object (SQuAD's ``{"version", "data": [...]}``, pretty-printed); nothing otherwise."""
    handle.seek(0)
    try:
        whole = json.load(handle)
    except (ValueError, RecursionError):
        return
    if isinstance(whole, dict):
        keys = ", ".join(sorted(map(str, whole))[:10])
        raise ValueError(f"{path}: one JSON object (keys: {keys}), not rows: a JSON array of row objects or "
                         f"JSON lines (one object a line) is read; save its list of rows as one of those")


def _first_char(handle: io.TextIOBase) -> str:
    """The first non-whitespace character; the handle is rewound to the start."""
    while True:
        chunk = handle.read(4096)
        if not chunk:
            handle.seek(0)
            return ""
        stripped = chunk.lstrip()
        if stripped:
            handle.seek(0)
            return stripped[0]


def _check_row(row: Any, path: Path, where: str) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise ValueError(f"{path}: {where} is a JSON {type(row).__name__}, not an object")
    return row


def _parquet_rows(path: Path) -> Iterator[dict[str, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise ValueError(f"{path}: reading Parquet needs pyarrow: pip install pyarrow ({exc})") from None
    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid (a ValueError) or OSError subclasses
        raise ValueError(f"{path}: not a readable Parquet file: {exc}") from None
    with parquet:
        for batch in parquet.iter_batches(batch_size=_PARQUET_BATCH_ROWS):
            yield from batch.to_pylist()


# -- Hugging Face datasets -----------------------------------------------------------------------

def _is_dataset(source: Any) -> bool:
    module = type(source).__module__ or ""
    return module.startswith("datasets") and hasattr(source, "column_names")


def _load_dataset_dir(path: Path) -> Any:
    try:
        import datasets
    except ImportError as exc:
        raise ValueError(f"{path}: reading a dataset folder needs the datasets package: pip install datasets "
                         f"({exc})") from None
    if (path / "dataset_dict.json").is_file() or (path / "state.json").is_file():
        loaded = datasets.load_from_disk(str(path))
    else:
        try:
            loaded = datasets.load_dataset(str(path), split="train")
        except Exception as exc:  # datasets raises many kinds for a folder it cannot read
            raise ValueError(f"{path}: not a saved dataset (no state.json or dataset_dict.json) nor a folder of data "
                             f"files datasets can read: {type(exc).__name__}: {exc}") from None
    if isinstance(loaded, datasets.DatasetDict):
        splits = list(loaded)
        if len(splits) != 1:
            raise ValueError(f"{path}: a dataset with splits {splits}; pass one split, e.g. "
                             f"datasets.load_from_disk({str(path)!r})[{splits[0]!r}]")
        loaded = loaded[splits[0]]
    return loaded


def _dataset_rows(dataset: Any, where: str) -> Iterator[dict[str, Any]]:
    if type(dataset).__name__ in ("DatasetDict", "IterableDatasetDict"):
        raise ValueError(f"{where}: a dataset with splits {list(dataset)}; pass one split, e.g. "
                         f"dataset[{next(iter(dataset), 'train')!r}]")
    for row in dataset:
        if not isinstance(row, dict):
            raise ValueError(f"{where}: rows are {type(row).__name__}, not dicts")
        yield row
