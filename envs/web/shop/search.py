r"""The shop's search engine: BM25 over the products' search texts, in memory.

Why not :class:`agentgym.retrieval.bm25.BM25Index`: that index lives on disk (a cache folder,
a build lock, a manifest) and needs the ``search`` extra (``bm25s``), which pays off for
corpora of 100k long documents. A catalogue is regenerated from ``(size, seed)`` in a fraction
of a second and its documents are a few dozen words each, so an index of plain numpy
postings built in memory at start-up (tens of milliseconds for 5,000 products) is simpler and
writes nothing.

Scoring is Okapi BM25 with Lucene's idf:

.. math::

    \text{score}(q, d) = \sum_{t \in q} \log\Bigl(1 + \frac{N - n_t + 0.5}{n_t + 0.5}\Bigr)
        \cdot \frac{f_{t,d} (k_1 + 1)}{f_{t,d} + k_1 (1 - b + b \, |d| / \overline{|d|})}

over the query's distinct words :math:`t` (a word repeated in the query counts once), with
:math:`k_1 = 1.2`, :math:`b = 0.75`. Documents are tokenised like the reward's fuzzy matching
(:func:`~.matching.words`). Results are the best ``k`` documents with a positive score,
best first, ties broken by catalogue order, so a query always gives the same list.
"""

from __future__ import annotations

from collections import Counter
from typing import Sequence

import numpy as np

from .matching import words

K1 = 1.2
B = 0.75


class ProductSearch:
    """BM25 over ``texts`` (one per product, in catalogue order); returns row numbers."""

    def __init__(self, texts: Sequence[str]) -> None:
        postings: dict[str, tuple[list[int], list[int]]] = {}
        lengths = np.zeros(len(texts), dtype=np.float64)
        for row, text in enumerate(texts):
            counts = Counter(words(text))
            lengths[row] = sum(counts.values())
            for term, count in counts.items():
                rows, tfs = postings.setdefault(term, ([], []))
                rows.append(row)
                tfs.append(count)
        self.size = len(texts)
        average = float(lengths.mean()) if self.size else 1.0
        self._norms = K1 * (1.0 - B + B * lengths / max(average, 1e-9))
        self._postings = {
            term: (np.asarray(rows, dtype=np.int32), np.asarray(tfs, dtype=np.float64))
            for term, (rows, tfs) in postings.items()
        }
        self._idf = {term: float(np.log(1.0 + (self.size - len(rows) + 0.5) / (len(rows) + 0.5)))
                     for term, (rows, _) in self._postings.items()}

    def __len__(self) -> int:
        return self.size

    def scores(self, query: str) -> np.ndarray | None:
        """The BM25 score of every product for ``query`` (``None`` when no word of the query
        is indexed)."""
        terms = [t for t in dict.fromkeys(words(query)) if t in self._postings]
        if not terms:
            return None
        scores = np.zeros(self.size, dtype=np.float64)
        for term in terms:
            rows, tfs = self._postings[term]
            scores[rows] += self._idf[term] * tfs * (K1 + 1.0) / (tfs + self._norms[rows])
        return scores

    def search(self, query: str, k: int) -> list[int]:
        """The rows of the best ``k`` products for ``query`` (best first; ``[]`` when no word of
        the query is indexed)."""
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        scores = self.scores(query)
        if scores is None:
            return []
        candidates = np.flatnonzero(scores > 0.0)
        if len(candidates) > k:
            threshold = np.partition(scores[candidates], len(candidates) - k)[len(candidates) - k]
            candidates = candidates[scores[candidates] >= threshold]
        order = np.lexsort((candidates, -scores[candidates]))
        return [int(row) for row in candidates[order][:k]]
