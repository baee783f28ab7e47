"""Words of a text, and the passage of a document that best fits a query.

Contract:
    ``tokenize(text)`` -> the lower-cased word tokens of ``text`` (runs of unicode letters, digits
    and underscores: ``"559,562"`` gives ``["559", "562"]``, ``"PFG-1033"`` gives ``["pfg",
    "1033"]``) without English stop words (:data:`STOP_WORDS`, Lucene's list), the text first
    NFKC-normalised, so that one word in any unicode form is one token (a decomposed
    ``"cre\\u0302pe"`` is ``"crêpe"``, full-width ``"１２３"`` is ``"123"``). The BM25 index
    tokenises documents and queries with it, and :func:`best_snippet` matches words with it, so a
    snippet shows the words that made the document rank.

    ``best_snippet(text, query, max_chars=300)`` -> a passage of ``text``: the window of
    consecutive sentences that contains the most distinct query words (then the most
    occurrences, then the earliest; words compared as ``tokenize`` makes them), in NFC, whitespace
    runs collapsed to one space, cut on a word boundary so that it is never longer than
    ``max_chars``. When no query word occurs, the start of the text. A single sentence longer
    than ``max_chars`` is cut around its first query word. Pure Python, no dependencies: remote
    clients use it too.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["STOP_WORDS", "best_snippet", "tokenize"]

# Lucene's English stop words (the list bm25s and Elasticsearch use by default).
STOP_WORDS = frozenset((
    "a an and are as at be but by for if in into is it no not of on or such that the their "
    "then there these they this to was will with").split())

_WORD = re.compile(r"\w+")
# After . ! or ? (not after an initial such as "H.") and at line breaks.
_SENTENCE_END = re.compile(r"(?<=[.!?])(?<!\b[A-Z]\.)\s+|\s*\n\s*")


def _words(text: str) -> list[str]:
    """The lower-cased words of ``text`` in NFKC (what tokens are made of)."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).lower())


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens of ``text`` minus :data:`STOP_WORDS` (see the module docstring)."""
    return [w for w in _words(text) if w not in STOP_WORDS]


def cut_on_word(text: str, max_chars: int) -> str:
    """``text`` if it fits in ``max_chars``, else its longest prefix that ends at a word boundary
    and fits (a hard cut only when the first word alone is longer than ``max_chars``)."""
    if len(text) <= max_chars:
        return text
    head = text[:max_chars + 1]
    cut = max(head.rfind(" "), head.rfind("\n"), head.rfind("\t"))
    if cut <= 0:
        return text[:max_chars]
    return text[:cut].rstrip()


def _sentences(text: str) -> list[str]:
    parts = (" ".join(p.split()) for p in _SENTENCE_END.split(text))
    return [p for p in parts if p]


def _matches(sentence: str, terms: frozenset[str]) -> list[str]:
    return [w for w in _words(sentence) if w in terms]


def _around_first_match(sentence: str, terms: frozenset[str], max_chars: int) -> str:
    """Cut a too-long sentence to ``max_chars``, starting a little before its first query word."""
    for m in _WORD.finditer(sentence):
        if any(w in terms for w in _words(m.group())):
            start = sentence.rfind(" ", 0, max(m.start() - max_chars // 4, 0)) + 1
            return cut_on_word(sentence[start:], max_chars)
    return cut_on_word(sentence, max_chars)


def best_snippet(text: str, query: str, max_chars: int = 300) -> str:
    """The passage of ``text`` that best matches ``query``, at most ``max_chars`` long (see the
    module docstring). ``TypeError`` for non-str text or query, ``ValueError`` for a
    ``max_chars`` that is not a positive int."""
    if not isinstance(text, str) or not isinstance(query, str):
        raise TypeError(f"text and query must be str, got {type(text).__name__} and "
                        f"{type(query).__name__}")
    if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1:
        raise ValueError(f"max_chars must be a positive int, got {max_chars!r}")
    sentences = _sentences(unicodedata.normalize("NFC", text))  # a decomposed word is whole for _WORD
    terms = frozenset(tokenize(query))
    if not sentences:
        return ""
    if not terms:
        return cut_on_word(" ".join(sentences), max_chars)
    found = [_matches(s, terms) for s in sentences]
    best, best_key = None, (0, 0)
    for i in range(len(sentences)):
        if not found[i]:
            continue  # a window starting on a sentence without a match is never better
        covered: set[str] = set()
        count, length, j = 0, -1, i
        while j < len(sentences) and (j == i or length + 1 + len(sentences[j]) <= max_chars):
            length += 1 + len(sentences[j])
            covered.update(found[j])
            count += len(found[j])
            j += 1
        key = (len(covered), count)
        if key > best_key:
            best, best_key = (i, j), key
    if best is None:
        return cut_on_word(" ".join(sentences), max_chars)
    i, j = best
    if j == i + 1 and len(sentences[i]) > max_chars:
        return _around_first_match(sentences[i], terms, max_chars)
    return cut_on_word(" ".join(sentences[i:j]), max_chars)
