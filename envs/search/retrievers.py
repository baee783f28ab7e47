"""The search environments' default retriever, built once on disk and shared in the process.

Contract:
    ``search_cache_dir(cache_dir=None)`` is where the search family keeps its files:
    ``cache_dir`` when given, else ``$AGENTGYM_CACHE/search``, else
    ``~/.cache/agentgym/search`` (the project's cache convention, see ``policies/embedded.py``);
    a leading ``~`` of either is the home folder (as elsewhere in agentgym; kept, it made a
    folder named ``~`` in the working directory). A :class:`~agentgym.core.ConfigError` when that
    path, or the nearest of its parents that exists, is not a folder (it would fail deep inside
    the corpus writers).

    ``world_retriever(size, seed, cache_dir=None, distractors=2)`` is a BM25 index
    (:class:`~agentgym.retrieval.bm25.BM25Index`) over the generated encyclopedia of
    ``World(size, seed)``: the corpus (:func:`~agentgym.envs.search.corpus.build_corpus`) and its
    index are written under the cache directory the first time, and read back afterwards.

    ``shared(key, opener, source=None)`` keeps one open retriever per key (an index path, a
    server URL) for the whole process, so that many environments (the rollout engine makes one
    per episode) share one index and ``make`` stays fast after the first. ``opener()`` runs once
    per key, under that key's lock, so two threads never build one index twice, and a long build
    holds up no other key. A shared retriever belongs to this cache: environments never close it;
    ``close_shared()`` closes them all (tests, shutdown), and a retriever found closed is opened
    again. ``source`` names what a key is a version of (a corpus file, whose every edit is a new
    index): a new key of a source replaces the source's previous retriever in the cache, without
    closing it (environments made on it keep using it; its files are released once they are
    gone), so a file edited again and again keeps one index open, not one per version.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Callable, Iterator

from agentgym.core import ConfigError
from agentgym.retrieval.base import Document, Retriever

from .corpus import build_corpus

_LOCK = threading.Lock()  # guards the three tables below, never held while an opener runs
_SHARED: dict[str, Retriever] = {}
_KEY_LOCKS: dict[str, threading.Lock] = {}
_KEY_OF_SOURCE: dict[str, str] = {}
#: the index's folder inside a corpus folder
INDEX_FOLDER = "bm25"


def search_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The search family's cache directory (see the module docstring)."""
    if cache_dir is not None:
        if not isinstance(cache_dir, (str, os.PathLike)):
            raise ConfigError(f"cache_dir must be a folder path, got {type(cache_dir).__name__}")
        path, named = Path(cache_dir).expanduser(), "cache_dir"
    else:
        root = os.environ.get("AGENTGYM_CACHE")
        named = "$AGENTGYM_CACHE" if root else "the default cache"
        path = Path(root or Path.home() / ".cache" / "agentgym").expanduser() / "search"
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise ConfigError(f"{named}: {str(existing)!r} is not a folder (the search cache {str(path)!r} would be in it)")
    return path


def shared(key: str, opener: Callable[[], Retriever], source: str | None = None) -> Retriever:
    """The process's retriever for ``key``, opened by ``opener()`` the first time; the newest key
    of ``source`` replaces its older ones (see the module docstring)."""
    with _LOCK:
        key_lock = _KEY_LOCKS.setdefault(key, threading.Lock())
    with key_lock:
        with _LOCK:
            retriever = _SHARED.get(key)
        if retriever is None or getattr(retriever, "closed", False):
            retriever = opener()
            with _LOCK:
                _SHARED[key] = retriever
        if source is not None:
            with _LOCK:
                previous = _KEY_OF_SOURCE.get(source)
                _KEY_OF_SOURCE[source] = key
                if previous is not None and previous != key:
                    _SHARED.pop(previous, None)  # not closed: released with its last environment
                    _KEY_LOCKS.pop(previous, None)
        return retriever


def close_shared() -> None:
    """Close every shared retriever (the next ``shared`` call opens a new one)."""
    with _LOCK:
        retrievers = list(_SHARED.values())
        _SHARED.clear()
        _KEY_OF_SOURCE.clear()
    for retriever in retrievers:
        retriever.close()


def world_retriever(size: int, seed: int, cache_dir: str | os.PathLike[str] | None = None,
                    distractors: int = 2) -> Retriever:
    """The shared BM25 index over the corpus of ``World(size, seed)`` with ``distractors``
    distractor sentences per article (see the module docstring)."""
    from agentgym.retrieval.bm25 import BM25Index  # the search extra (bm25s)

    corpus = build_corpus(size, seed, search_cache_dir(cache_dir), distractors=distractors)
    index_path = corpus.path / INDEX_FOLDER

    def documents() -> Iterator[Document]:
        for row in corpus.iter_documents():
            yield Document(row["id"], row["title"], row["text"])

    return shared(str(index_path.resolve()), lambda: BM25Index.open_or_build(index_path, documents))
