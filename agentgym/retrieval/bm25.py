"""An in-process BM25 retriever over a document store on disk (the search family's default).

Contract (beyond :class:`agentgym.retrieval.base.Retriever`):
    ``BM25Index.build(documents, path, *, k1=1.5, b=0.75)`` indexes ``documents`` (an iterable of
    :class:`Document` or mappings with id/title/text) in one streaming pass and writes, into the
    directory ``path``: ``docs/`` (a :class:`DocStore`), ``bm25s/`` (a bm25s index that
    ``bm25s.BM25.load`` opens), ``term_max.npy`` (each term's largest score, for pruning) and
    ``manifest.json`` (written last; it lists every file with its size). The directory appears
    atomically: it is built in a temporary sibling and renamed into place under a lock file
    (``.<name>.lock`` beside it). If a complete index is already there (say a concurrent
    builder won the race), an identical one (same documents digest, k1, b) is reused and a
    different one raises ``FileExistsError``: a complete index is never destroyed. An empty or
    partial index directory, or an index of another tokenizer (:data:`TOKENIZER`, in its
    manifest: queries would not match its tokens), is replaced; any other existing path raises
    ``FileExistsError``.
    ``BM25Index.load(path, *, mmap=True)`` opens a complete index (``RetrievalError`` saying what
    is wrong otherwise); with ``mmap`` the arrays stay on disk, paged in on demand.
    ``BM25Index.open_or_build(path, documents_factory, ...)`` loads the index at ``path`` when
    its manifest is complete, else calls ``documents_factory()`` and builds it while holding the
    lock, so concurrent callers build once. It does not compare documents: name ``path`` after
    the corpus. Asking for other ``k1``/``b`` than the stored index's raises ``ValueError``.

Scoring: Lucene's BM25 (bm25s ``method="lucene"``): ``idf = ln(1 + (N - df + 0.5) / (df + 0.5))``,
``score = sum over query tokens of idf * tf / (tf + k1 * (1 - b + b * len / avg_len))`` in float32,
a query token repeated counting again. Tokens: :func:`agentgym.retrieval.snippets.tokenize` of
title and text (lower-cased words, numbers kept, English stop words dropped). Only documents
sharing a token with the query are hits; ties are broken by row (document order), so results
are deterministic. A query with no indexed token returns ``[]``.

``search`` finds the exact top k without scoring every document when it can (MaxScore: score
the documents of the rarest query tokens, stop once the tokens left cannot lift any other
document past the k-th score; otherwise score densely). ``search_many`` returns exactly what
``search`` returns for each query, computing each distinct query once (a GRPO group asks the
same first query many times). It does not go through bm25s's ``retrieve``: that builds a tqdm
bar even with progress off, which starts tqdm's monitor thread for the life of the process,
and its thread pool did not speed up this top-k on 2 cores (measured in
``benchmarks/bench_retrieval.py``). bm25s is used to load the index, which stays in its format.

Thread safety: searches are read-only on shared arrays and may run from many threads at once;
``close()`` waits for calls in flight, then releases files. Snippets come from
:func:`agentgym.retrieval.snippets.best_snippet`.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from agentgym.retrieval.base import Document, Hit, RetrievalError, check_k
from agentgym.retrieval.docstore import DocStore, UseGuard, as_document
from agentgym.retrieval.snippets import best_snippet, tokenize

try:
    import bm25s
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError("agentgym.retrieval.bm25 needs bm25s: "
                      "pip install 'agentgym[search]'") from exc

__all__ = ["BM25Index"]

FORMAT = 1
KIND = "agentgym.retrieval.bm25"
MANIFEST = "manifest.json"
TOKENIZER = "snippets.tokenize-v2"  # v2: NFKC-normalised
SNIPPET_CHARS = 300
_LAYOUT = {MANIFEST, "docs", "bm25s", "term_max.npy"}
# Dense scoring once the candidate documents exceed this share of the collection.
_DENSE_SHARE = 0.125
# Relative slack on the pruning bound: float32 sums may round a little above the exact sum.
_BOUND_SLACK = 1e-4


def _check_float(name: str, value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ValueError(f"{name} must be a number in [{low}, {high}], got {value!r}")
    return float(value)


# -- the top-k routine ---------------------------------------------------------------------
def _plain(a: np.ndarray) -> np.ndarray:
    return a.view(np.ndarray) if isinstance(a, np.memmap) else a


class _Postings:
    """The index's arrays: term t's documents are ``indices[indptr[t]:indptr[t+1]]`` (ascending
    rows) with scores ``data[...]``; ``term_max[t]`` is the largest of them."""

    def __init__(self, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray,
                 term_max: np.ndarray, num_docs: int) -> None:
        # plain ndarray views of memory maps: slicing an np.memmap costs a subclass round trip
        self.data, self.indices, self.indptr = (_plain(a) for a in (data, indices, indptr))
        self.term_max, self.num_docs = _plain(term_max), num_docs

    def span(self, term: int) -> tuple[int, int]:
        return int(self.indptr[term]), int(self.indptr[term + 1])


def _score_candidates(p: _Postings, terms: Sequence[int], rows: np.ndarray) -> np.ndarray:
    """Exact float32 scores of the (sorted, unique) ``rows``, adding the query's tokens in query
    order, as dense scoring does, so both give bit-identical sums. ``rows`` must have the
    postings' dtype (searchsorted would otherwise convert a whole postings list)."""
    scores = np.zeros(len(rows), dtype=np.float32)
    for term in terms:
        start, end = p.span(term)
        if end == start:
            continue
        col = p.indices[start:end]
        if end - start <= len(rows):
            pos = np.searchsorted(rows, col)
            np.minimum(pos, len(rows) - 1, out=pos)
            hit = rows[pos] == col
            scores[pos[hit]] += p.data[start:end][hit]
        else:
            pos = np.searchsorted(col, rows)
            np.minimum(pos, end - start - 1, out=pos)
            hit = col[pos] == rows
            contribution = np.zeros(len(rows), dtype=np.float32)
            contribution[hit] = p.data[start:end][pos[hit]]
            scores += contribution
    return scores


def _best(rows: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best (row, score) pairs with a positive score: higher score first, then lower row."""
    positive = scores > 0
    if not positive.all():
        rows, scores = rows[positive], scores[positive]
    if len(rows) > k:
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]
        keep = scores >= kth
        rows, scores = rows[keep], scores[keep]
    order = np.lexsort((rows, -scores))[:k]
    return rows[order], scores[order]


def _dense_top_k(p: _Postings, terms: Sequence[int], k: int) -> tuple[np.ndarray, np.ndarray]:
    scores = np.zeros(p.num_docs, dtype=np.float32)
    for term in terms:
        start, end = p.span(term)
        scores[p.indices[start:end]] += p.data[start:end]
    if k < p.num_docs:
        kth = np.partition(scores, p.num_docs - k)[p.num_docs - k]
        rows = np.flatnonzero(scores >= max(kth, np.float32(np.finfo(np.float32).tiny)))
    else:
        rows = np.flatnonzero(scores > 0)
    return _best(rows, scores[rows], k)


def top_k(p: _Postings, terms: Sequence[int], k: int) -> tuple[np.ndarray, np.ndarray]:
    """The exact ``k`` best documents for the query tokens ``terms`` (ids, query order, repeats
    allowed): (rows, float32 scores), best first, ties by row.

    MaxScore, vectorised: tokens are taken rarest first; after each, the documents seen so far
    (the candidates) carry partial scores. A lower bound ``theta`` on the k-th best score comes
    from fully scoring the candidates with the best partial scores. Once the tokens not yet
    taken cannot sum to ``theta`` (``rest < theta``), no other document can enter the top k, and
    only candidates whose partial score plus ``rest`` reaches ``theta`` are scored exactly. When
    the candidates grow past a share of the collection, every document is scored (dense)."""
    if not terms:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    multiplicity = Counter(terms)
    spans = {t: p.span(t) for t in multiplicity}
    unique = sorted(multiplicity, key=lambda t: (spans[t][1] - spans[t][0], t))
    bounds = [float(p.term_max[t]) * multiplicity[t] for t in unique]
    dense_from = max(int(p.num_docs * _DENSE_SHARE), k)
    rows = np.empty(0, dtype=p.indices.dtype)
    partial = np.empty(0, dtype=np.float64)
    for j, term in enumerate(unique):
        start, end = spans[term]
        if len(rows) + end - start > dense_from:
            return _dense_top_k(p, terms, k)
        merged_rows = np.concatenate((rows, p.indices[start:end]))
        merged = np.concatenate((partial, p.data[start:end] * np.float64(multiplicity[term])))
        rows, inverse = np.unique(merged_rows, return_inverse=True)
        partial = np.bincount(inverse, weights=merged, minlength=len(rows))
        rest = sum(bounds[j + 1:])
        if rest == 0.0:
            break  # every token is in: the candidates are all the matching documents
        if len(rows) < k:
            continue
        probe = min(len(rows), max(4 * k, 32))
        probe_rows = np.sort(rows[np.argpartition(partial, len(rows) - probe)[len(rows) - probe:]])
        probe_scores = _score_candidates(p, terms, probe_rows)
        theta = float(np.partition(probe_scores, probe - k)[probe - k])
        if rest * (1 + _BOUND_SLACK) + 1e-12 < theta:
            survivors = rows[partial + rest >= theta * (1 - _BOUND_SLACK) - 1e-12]
            return _best(survivors, _score_candidates(p, terms, survivors), k)
    return _best(rows, _score_candidates(p, terms, rows), k)


# -- building ------------------------------------------------------------------------------
class _PostingsBuilder:
    """Collects (document, token, count) triples while documents stream past."""

    def __init__(self) -> None:
        self.vocabulary: dict[str, int] = {}
        self.terms = array("i")
        self.counts = array("I")
        self.unique_per_doc = array("I")
        self.lengths = array("I")

    def add(self, doc: Document) -> None:
        tokens = tokenize(doc.title + "\n" + doc.text)
        counted = Counter(tokens)
        vocabulary = self.vocabulary
        self.terms.extend([vocabulary.setdefault(t, len(vocabulary)) for t in counted])
        self.counts.extend(counted.values())
        self.unique_per_doc.append(len(counted))
        self.lengths.append(len(tokens))

    def arrays(self, k1: float, b: float) -> dict[str, np.ndarray]:
        """CSC arrays of the Lucene BM25 scores (bm25s's layout)."""
        n_docs, n_terms = len(self.lengths), len(self.vocabulary)
        terms = np.frombuffer(self.terms, dtype=np.int32)
        counts = np.frombuffer(self.counts, dtype=np.uint32).astype(np.float32)
        lengths = np.frombuffer(self.lengths, dtype=np.uint32).astype(np.float64)
        docs = np.repeat(np.arange(n_docs, dtype=np.int32),
                         np.frombuffer(self.unique_per_doc, dtype=np.uint32))
        avg = float(lengths.mean()) if n_docs and lengths.mean() > 0 else 1.0
        df = np.bincount(terms, minlength=n_terms).astype(np.float64)
        idf = np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        norm = (k1 * ((1.0 - b) + b * lengths / avg)).astype(np.float32)
        scores = idf[terms] * (counts / (counts + norm[docs]))
        del counts, norm
        order = np.argsort(terms, kind="stable")  # by term, rows ascending within a term
        indptr = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(df.astype(np.int64), out=indptr[1:])
        data = scores[order].astype(np.float32)
        indices = docs[order]
        del scores, docs
        term_max = np.zeros(n_terms, dtype=np.float32)
        nonempty = np.flatnonzero(np.diff(indptr) > 0)
        if len(data):
            term_max[nonempty] = np.maximum.reduceat(data, indptr[nonempty])
        return {"data": data, "indices": indices, "indptr": indptr, "term_max": term_max}


def _tap(documents: Iterable, builder: _PostingsBuilder) -> Iterator[Document]:
    for row, obj in enumerate(documents):
        doc = as_document(obj, row)
        builder.add(doc)
        yield doc


def _write_bm25s(folder: Path, arrays: dict[str, np.ndarray], vocabulary: dict[str, int],
                 k1: float, b: float, n_docs: int) -> None:
    folder.mkdir()
    np.save(folder / "data.csc.index.npy", arrays["data"])
    np.save(folder / "indices.csc.index.npy", arrays["indices"])
    np.save(folder / "indptr.csc.index.npy", arrays["indptr"])
    with open(folder / "vocab.index.json", "w", encoding="utf-8") as f:
        json.dump(vocabulary, f, ensure_ascii=False)
    params = {"k1": k1, "b": b, "delta": 0.5, "method": "lucene", "idf_method": "lucene",
              "dtype": "float32", "int_dtype": "int32", "num_docs": n_docs,
              "version": bm25s.__version__, "backend": "numpy"}
    with open(folder / "params.index.json", "w", encoding="utf-8") as f:
        json.dump(params, f, indent=1)


def _file_sizes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_size
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != MANIFEST}


def _build_tree(documents: Iterable, tmp: Path, k1: float, b: float) -> dict:
    """Write a whole index into the empty directory ``tmp``; return its manifest."""
    started = time.perf_counter()
    builder = _PostingsBuilder()
    store = DocStore.build(_tap(documents, builder), tmp / "docs")
    try:
        n_docs, digest = len(store), store.digest
    finally:
        store.close()
    if n_docs == 0:
        raise ValueError("cannot build a BM25 index of zero documents")
    arrays = builder.arrays(k1, b)
    vocabulary = builder.vocabulary
    del builder
    _write_bm25s(tmp / "bm25s", arrays, vocabulary, k1, b, n_docs)
    np.save(tmp / "term_max.npy", arrays["term_max"])
    manifest = {"format": FORMAT, "kind": KIND, "complete": True, "documents": n_docs,
                "vocabulary": len(vocabulary), "postings": int(len(arrays["data"])),
                "k1": k1, "b": b, "method": "lucene", "tokenizer": TOKENIZER,
                "documents_digest": digest, "bm25s_version": bm25s.__version__,
                "build_seconds": round(time.perf_counter() - started, 3),
                "files": _file_sizes(tmp)}
    with open(tmp / MANIFEST, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    return manifest


def read_manifest(path: str | os.PathLike) -> dict | None:
    """The manifest of the complete index at ``path``, or None when there is none (missing,
    unreadable, another format or tokenizer, or a listed file missing or of another size): an
    index whose tokens queries would no longer match is built again by ``open_or_build``."""
    path = Path(path)
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (not isinstance(manifest, dict) or manifest.get("kind") != KIND
            or manifest.get("format") != FORMAT or manifest.get("complete") is not True
            or manifest.get("tokenizer") != TOKENIZER
            or not isinstance(manifest.get("files"), dict)):
        return None
    for name, size in manifest["files"].items():
        try:
            if (path / name).stat().st_size != size:
                return None
        except OSError:
            return None
    return manifest


def _same_content(a: Mapping, b: Mapping) -> bool:
    keys = ("documents_digest", "k1", "b", "method", "tokenizer", "format")
    return all(a.get(key) == b.get(key) for key in keys)


@contextmanager
def _build_lock(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``.<name>.lock`` beside ``path`` (released if the process dies)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.parent / f".{path.name}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _replaceable(path: Path) -> bool:
    """An existing ``path`` may be replaced when it is an empty directory or a partial index."""
    if not path.is_dir() or path.is_symlink():
        return False
    names = {p.name for p in path.iterdir()}
    return names <= _LAYOUT


def _commit(tmp: Path, path: Path, manifest: dict) -> None:
    """Move the built ``tmp`` to ``path`` (caller holds the build lock); see ``build``."""
    existing = read_manifest(path)
    if existing is not None:
        shutil.rmtree(tmp, ignore_errors=True)
        if _same_content(existing, manifest):
            return
        raise FileExistsError(f"{path} already holds a different BM25 index (documents digest "
                              f"{existing.get('documents_digest')}, k1 {existing.get('k1')}, b "
                              f"{existing.get('b')}); remove it or build elsewhere")
    if os.path.lexists(path):
        if not _replaceable(path):
            shutil.rmtree(tmp, ignore_errors=True)
            raise FileExistsError(f"{path} exists and is not a BM25 index; refusing to replace it")
        trash = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
        os.rename(path, trash / "index")
        os.rename(tmp, path)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.rename(tmp, path)


def _build_at(documents: Iterable, path: Path, k1: float, b: float) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.build-", dir=path.parent))
    os.chmod(tmp, 0o755)  # mkdtemp's 0700 would keep other users from a shared cache
    try:
        manifest = _build_tree(documents, tmp, k1, b)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {"tmp": tmp, "manifest": manifest}


# -- the retriever -------------------------------------------------------------------------
class BM25Index:
    """BM25 over a :class:`DocStore` (see the module docstring)."""

    def __init__(self, path: Path, manifest: dict, scorer: "bm25s.BM25", postings: _Postings,
                 store: DocStore) -> None:
        self.path = path
        self.manifest = manifest
        self._scorer = scorer
        self._vocabulary: dict[str, int] = scorer.vocab_dict
        self._postings = postings
        self._store = store
        self._count = len(store)
        self._guard = UseGuard(f"BM25Index at {path}")

    # -- construction -----------------------------------------------------------------------
    @classmethod
    def build(cls, documents: Iterable[Document | Mapping], path: str | os.PathLike, *,
              k1: float = 1.5, b: float = 0.75, mmap: bool = True) -> "BM25Index":
        """Index ``documents`` into ``path`` atomically and load the result (module docstring)."""
        k1, b = _check_float("k1", k1, 0.0, 100.0), _check_float("b", b, 0.0, 1.0)
        path = Path(path)
        built = _build_at(documents, path, k1, b)
        with _build_lock(path):
            _commit(built["tmp"], path, built["manifest"])
        return cls.load(path, mmap=mmap)

    @classmethod
    def open_or_build(cls, path: str | os.PathLike,
                      documents_factory: Callable[[], Iterable[Document | Mapping]], *,
                      k1: float = 1.5, b: float = 0.75, mmap: bool = True) -> "BM25Index":
        """Load the complete index at ``path``, or build it from ``documents_factory()`` (called
        at most once, under the build lock, so concurrent callers build once)."""
        k1, b = _check_float("k1", k1, 0.0, 100.0), _check_float("b", b, 0.0, 1.0)
        if not callable(documents_factory):
            raise TypeError("documents_factory must be a callable returning the documents")
        path = Path(path)
        manifest = read_manifest(path)
        if manifest is None:
            with _build_lock(path):
                manifest = read_manifest(path)
                if manifest is None:
                    built = _build_at(documents_factory(), path, k1, b)
                    _commit(built["tmp"], path, built["manifest"])
                    manifest = built["manifest"]
        if (manifest["k1"], manifest["b"]) != (k1, b):
            raise ValueError(f"the index at {path} was built with k1={manifest['k1']}, "
                             f"b={manifest['b']}, not k1={k1}, b={b}")
        return cls.load(path, mmap=mmap)

    @classmethod
    def load(cls, path: str | os.PathLike, *, mmap: bool = True) -> "BM25Index":
        """Open the complete index at ``path``; ``RetrievalError`` saying what is wrong."""
        path = Path(path)
        manifest = read_manifest(path)
        if manifest is None:
            raise RetrievalError(f"no complete BM25 index at {path} (manifest missing, "
                                 f"unreadable, of another format or tokenizer than {TOKENIZER}, "
                                 f"or listing missing/changed files)")
        try:
            scorer = bm25s.BM25.load(path / "bm25s", mmap=mmap, load_corpus=False,
                                     show_progress=False, backend="numpy")
            term_max = np.load(path / "term_max.npy", mmap_mode="r" if mmap else None)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RetrievalError(f"corrupt BM25 index at {path}: {exc}") from exc
        s = scorer.scores
        postings = _Postings(s["data"], s["indices"], s["indptr"], term_max, int(s["num_docs"]))
        try:
            store = DocStore.open(path / "docs", mmap=mmap)
        except (OSError, ValueError) as exc:
            raise RetrievalError(f"corrupt BM25 index at {path}: {exc}") from exc
        if len(store) != postings.num_docs or len(term_max) != len(s["indptr"]) - 1:
            store.close()
            raise RetrievalError(f"corrupt BM25 index at {path}: {len(store)} stored documents, "
                                 f"{postings.num_docs} indexed")
        return cls(path, manifest, scorer, postings, store)

    # -- the Retriever protocol -----------------------------------------------------------------
    def _term_ids(self, query: object) -> list[int]:
        if not isinstance(query, str):
            raise TypeError(f"query must be a str, got {type(query).__name__}")
        vocabulary = self._vocabulary
        return [vocabulary[t] for t in tokenize(query) if t in vocabulary]

    def _hits(self, query: str, rows: np.ndarray, scores: np.ndarray) -> list[Hit]:
        hits = []
        for row, score in zip(rows.tolist(), scores.tolist()):
            doc = self._store.get(row)
            hits.append(Hit(doc_id=doc.id, title=doc.title, score=score,
                            snippet=best_snippet(doc.text, query, SNIPPET_CHARS)))
        return hits

    def _search(self, query: str, k: int) -> list[Hit]:
        terms = self._term_ids(query)
        if not terms:
            return []
        rows, scores = top_k(self._postings, terms, min(k, self._count))
        return self._hits(query, rows, scores)

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """At most ``k`` hits for ``query``, best first (see the module docstring)."""
        k = check_k(k)
        with self._guard.use():
            return self._search(query, k)

    def search_many(self, queries: Sequence[str], k: int = 5) -> list[list[Hit]]:
        """``[search(q, k) for q in queries]``, each distinct query computed once."""
        k = check_k(k)
        if isinstance(queries, (str, bytes)) or not isinstance(queries, Sequence):
            raise TypeError(f"queries must be a sequence of str, got {type(queries).__name__}")
        for query in queries:
            if not isinstance(query, str):
                raise TypeError(f"query must be a str, got {type(query).__name__}")
        with self._guard.use():
            done: dict[str, list[Hit]] = {}
            for query in queries:
                if query not in done:
                    done[query] = self._search(query, k)
            return [list(done[query]) for query in queries]

    def document(self, doc_id: str) -> Document:
        """The stored document ``doc_id``; :class:`DocumentNotFound` naming it otherwise."""
        with self._guard.use():
            return self._store.document(doc_id)

    def __len__(self) -> int:
        with self._guard.use():
            return self._count

    def __bool__(self) -> bool:  # truthiness must not depend on (or fail for) the count
        return True

    @property
    def closed(self) -> bool:
        return self._guard.closed

    def close(self) -> None:
        """Wait for calls in flight, then release the arrays and files; idempotent."""
        if self._guard.close():
            self._store.close()
            self._scorer = self._postings = self._vocabulary = None  # type: ignore[assignment]

    def __enter__(self) -> "BM25Index":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{self._count} documents"
        return f"BM25Index({str(self.path)!r}, {state})"
