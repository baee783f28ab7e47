"""``RetrievalLog``: what one episode of a search environment retrieved, turn by turn.

It produces the per-turn ``info`` fields that the reward providers of
:mod:`agentgym.rewards.search` and turn-level credit read, and the episode's summary.

Contract:
    ``search(query, hits)`` / ``search_failed(query, message)`` / ``opened(doc_id)`` record the
    current turn's actions; ``close_turn()`` returns the turn's fields and starts the next turn:

    * ``queries``: the queries the turn sent, in order (failed ones included);
    * ``retrieved``: the ids the turn's searches returned, in rank order, each once (the first
      query's hits first);
    * ``gold_retrieved``: those of ``retrieved`` that are gold documents;
    * ``new_retrieved`` / ``repeat_retrieved``: those of ``retrieved`` not seen / already seen
      on an earlier turn of the episode (``retrieved`` is their disjoint union);
    * ``searches``: searches of the whole episode so far, this turn's included;
    * ``opened`` (only when the turn opened documents) and ``retrieval_error`` (only when a
      search failed: the last failure's message).

    ``summary(em, f1, answered)`` is the episode's: ``em``, ``f1``, ``answered``, ``searches``,
    ``documents_seen`` (distinct ids retrieved), ``gold_found`` and ``gold_recall`` (the
    fraction of distinct gold documents retrieved; ``None`` without gold documents).
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from agentgym.retrieval.base import Hit


class RetrievalLog:
    """Retrievals of one episode; see the module docstring."""

    def __init__(self, gold_documents: Iterable[str] = ()) -> None:
        self.gold = frozenset(gold_documents)
        self.seen: dict[str, None] = {}  # every id retrieved so far, in first-seen order
        self.searches = 0
        self.queries: list[str] = []  # every query of the episode
        self._start_turn()

    def _start_turn(self) -> None:
        self.turn_queries: list[str] = []
        self.turn_retrieved: dict[str, None] = {}
        self.turn_opened: list[str] = []
        self.turn_error: str | None = None

    @property
    def turn_searches(self) -> int:
        """Searches of the current turn so far."""
        return len(self.turn_queries)

    def search(self, query: str, hits: Sequence[Hit]) -> None:
        self._sent(query)
        for hit in hits:
            self.turn_retrieved.setdefault(hit.doc_id, None)

    def search_failed(self, query: str, message: str) -> None:
        self._sent(query)
        self.turn_error = message

    def _sent(self, query: str) -> None:
        self.searches += 1
        self.turn_queries.append(query)
        self.queries.append(query)

    def opened(self, doc_id: str) -> None:
        self.turn_opened.append(doc_id)

    def close_turn(self) -> dict[str, Any]:
        retrieved = list(self.turn_retrieved)
        fields: dict[str, Any] = {
            "queries": list(self.turn_queries),
            "retrieved": retrieved,
            "gold_retrieved": [doc for doc in retrieved if doc in self.gold],
            "new_retrieved": [doc for doc in retrieved if doc not in self.seen],
            "repeat_retrieved": [doc for doc in retrieved if doc in self.seen],
            "searches": self.searches,
        }
        if self.turn_opened:
            fields["opened"] = list(self.turn_opened)
        if self.turn_error is not None:
            fields["retrieval_error"] = self.turn_error
        for doc in retrieved:
            self.seen.setdefault(doc, None)
        self._start_turn()
        return fields

    def summary(self, *, em: float, f1: float, answered: bool) -> dict[str, Any]:
        found = sum(1 for doc in self.gold if doc in self.seen)
        return {"em": em, "f1": f1, "answered": answered, "searches": self.searches,
                "documents_seen": len(self.seen), "gold_found": found,
                "gold_recall": found / len(self.gold) if self.gold else None}
