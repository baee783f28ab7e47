"""The retrieval contract shared by every retriever (in-process BM25, a remote ``/retrieve``
server) and by the search environments that call them.

A :class:`Retriever` answers text queries with ranked :class:`Hit`\\ s and opens whole
:class:`Document`\\ s by id:

* ``search(query, k)`` -> at most ``k`` hits, best first (``score`` non-increasing); an empty
  or whitespace-only query, or one with no indexed term, returns ``[]``; ``k`` must be a
  positive int (NumPy's included; ``ValueError`` otherwise, :func:`check_k`).
* ``search_many(queries, k)`` -> one list per query, in order; the same as calling ``search``
  for each, usually faster.
* ``document(doc_id)`` -> the stored document; an unknown id raises :class:`DocumentNotFound`
  (a ``KeyError``) whose message names the id.
* ``len(retriever)`` -> number of documents; ``close()`` releases files, sockets and
  threads; a closed retriever raises ``RuntimeError`` on use (and says so in a ``closed``
  property where it has one, as agentgym's do). Retrievers are context managers.
* A failure of the backend (a remote server down, a corrupt index) raises
  :class:`RetrievalError` with a message that says what failed; environments turn it into an
  error observation, never a crash of the rollout.

Hits carry a ``snippet``: a short passage of the document chosen for the query (the retriever
decides how; at most a few hundred characters), which a search environment shows the agent.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Protocol, Sequence, runtime_checkable


@dataclass(frozen=True)
class Document:
    """A stored document: a stable string id, a title and the full text."""
    id: str
    title: str
    text: str


@dataclass(frozen=True)
class Hit:
    """One ranked result of a query."""
    doc_id: str
    title: str
    score: float
    snippet: str


class RetrievalError(RuntimeError):
    """The retrieval backend failed (server unreachable, bad response, corrupt index)."""


class DocumentNotFound(KeyError):
    """``document(doc_id)`` was asked for an id the retriever does not hold."""

    def __str__(self) -> str:  # KeyError's default repr-quotes the whole message
        return str(self.args[0]) if self.args else "document not found"


@runtime_checkable
class Retriever(Protocol):
    """What a search environment needs from a retriever (see the module docstring)."""

    def search(self, query: str, k: int = 5) -> list[Hit]: ...

    def search_many(self, queries: Sequence[str], k: int = 5) -> list[list[Hit]]: ...

    def document(self, doc_id: str) -> Document: ...

    def __len__(self) -> int: ...

    def close(self) -> None: ...


def check_k(k: object) -> int:
    """``k`` as an int, or ``ValueError`` when it is not a positive int (any integer, NumPy's
    included, as elsewhere in agentgym; not a bool)."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    return int(k)
