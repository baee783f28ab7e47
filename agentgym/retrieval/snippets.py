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
    than ``max_chars`` is cut around its first query word (a hard cut where no space is near
    it). Only the stretches of a long text where a query word occurs are split into sentences
    (a 10 MB document with a few matches takes milliseconds). Pure Python, no dependencies:
    remote clients use it too.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

__all__ = ["STOP_WORDS", "best_snippet", "tokenize"]

# Lucene's English stop words (the list bm25s and Elasticsearch use by default).
STOP_WORDS = frozenset((
    "a an and are as at be but by for if in into is it no not of on or such that the their "
    "then there these they this to was will with").split())

_WORD = re.compile(r"\w+")
# After . ! or ? (not after an initial such as "H.") and at line breaks. A line break's run of
# whitespace is matched from its start only ((?<!\s)): tried from every position of a long run
# without a line break, "\s*\n" scanned the rest of the run each time (40,000 spaces: 4.5 s).
_SENTENCE_END = re.compile(r"(?<=[.!?])(?<!\b[A-Z]\.)\s+|(?<!\s)\s*\n\s*")


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


_FEW_TERMS = 16  # up to this many query words, substring tests beat listing a text's words


def _holds_a_term(folded: str, terms: frozenset[str]) -> bool:
    """Whether a query word may be among the words of ``folded`` (NFKC, lower-cased): a
    substring test per word for a short query, the text's words listed for a long one."""
    if len(terms) <= _FEW_TERMS:
        return any(term in folded for term in terms)
    return not terms.isdisjoint(_WORD.findall(folded))


def _matches(sentence: str, terms: frozenset[str]) -> list[str]:
    """``[w for w in _words(sentence) if w in terms]``, the sentence's words listed only when a
    short query's word occurs in it at all (most sentences of a long text have none)."""
    low = sentence.lower() if sentence.isascii() else unicodedata.normalize("NFKC", sentence).lower()
    if len(terms) <= _FEW_TERMS and not any(term in low for term in terms):
        return []
    return [w for w in _WORD.findall(low) if w in terms]


_PIECE = 1 << 16  # characters a long text is read in, for the query words' sentences


def _pieces(text: str) -> Iterator[str]:
    """``text`` in pieces of about ``_PIECE`` characters, each ended at a sentence boundary: the
    sentences of the pieces, in order, are the sentences of the text."""
    start = 0
    while start < len(text):
        boundary = _SENTENCE_END.search(text, start + _PIECE) if start + _PIECE < len(text) else None
        if boundary is None:
            yield text[start:]
            return
        yield text[start:boundary.start()]
        start = boundary.end()


def _runs(text: str, terms: frozenset[str], max_chars: int) -> list[tuple[list[str], list[list[str]]]]:
    """Runs of consecutive sentences of ``text`` with their query words (``_matches``): every
    sentence with a query word and, after it, sentences enough for any window that starts on it.
    A piece of the text where no query word occurs (NFKC, lower-cased) and that no such window
    reaches is not split into sentences at all, so a long text costs little beyond its matches."""
    runs: list[tuple[list[str], list[list[str]]]] = []
    needed = 0  # characters of sentences still needed after the last piece with a query word
    for piece in _pieces(text):
        if _holds_a_term(unicodedata.normalize("NFKC", piece).lower(), terms):
            sentences = _sentences(piece)
            found = [_matches(s, terms) for s in sentences]
            needed = max_chars + 1
        elif needed > 0:
            sentences = _sentences(piece)
            found = [[] for _ in sentences]
            needed -= sum(len(s) + 1 for s in sentences)
        else:
            if runs and runs[-1][0]:
                runs.append(([], []))  # what follows is not consecutive with the run before
            continue
        if not runs:
            runs.append(([], []))
        runs[-1][0].extend(sentences)
        runs[-1][1].extend(found)
    return [run for run in runs if run[0]]


def _start(text: str, max_chars: int) -> str:
    """``cut_on_word`` of the whole text with whitespace runs collapsed (what the sentences
    joined by spaces give), reading only as much of the text as that needs."""
    n = 2 * max_chars + 64
    while True:
        head = " ".join(text[:n].split())  # a prefix of the collapsed whole text
        if len(head) > max_chars or n >= len(text):
            return cut_on_word(head, max_chars)
        n *= 4


def _whole_word(text: str, word: str) -> int | None:
    """Where ``word`` first occurs in the ASCII ``text`` as a whole word (not inside another)."""
    start = text.find(word)
    while start >= 0:
        end = start + len(word)
        if ((start == 0 or not _is_word_char(text[start - 1]))
                and (end == len(text) or not _is_word_char(text[end]))):
            return start
        start = text.find(word, start + 1)
    return None


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _first_match(sentence: str, terms: frozenset[str]) -> int | None:
    """Where the first word of ``sentence`` that is a query word starts (None: nowhere). An
    ASCII sentence and a short query: a search per query word, not a look at every word (a
    10 MB sentence took seconds)."""
    if sentence.isascii() and len(terms) <= _FEW_TERMS:
        low = sentence.lower()  # the same length, its words where the sentence's are
        found = (_whole_word(low, term) for term in terms if term.isascii())
        return min((start for start in found if start is not None), default=None)
    for m in _WORD.finditer(sentence):
        word = m.group()
        if word.lower() in terms if word.isascii() else any(w in terms for w in _words(word)):
            return m.start()
    return None


def _around_first_match(sentence: str, terms: frozenset[str], max_chars: int) -> str:
    """Cut a too-long sentence to ``max_chars``, starting a little before its first query word:
    at the word boundary before it, or, where there is none near (a text without spaces, a long
    URL), ``max_chars // 4`` characters before it; the cut keeps the word even where the only
    boundary in reach lies before it."""
    first = _first_match(sentence, terms)
    if first is None:
        return cut_on_word(sentence, max_chars)
    back = max(first - max_chars // 4, 0)
    reach = max(first - (max_chars - max_chars // 4), 0)  # a boundary further back leaves no room
    space = sentence.rfind(" ", reach, back)
    start = space + 1 if space >= 0 else 0 if reach == 0 else back
    window = sentence[start:start + max_chars + 1]  # cut_on_word reads no further
    snippet = cut_on_word(window, max_chars)
    return snippet if len(snippet) > first - start else window[:max_chars]


def best_snippet(text: str, query: str, max_chars: int = 300) -> str:
    """The passage of ``text`` that best matches ``query``, at most ``max_chars`` long (see the
    module docstring). ``TypeError`` for non-str text or query, ``ValueError`` for a
    ``max_chars`` that is not a positive int."""
    if not isinstance(text, str) or not isinstance(query, str):
        raise TypeError(f"text and query must be str, got {type(text).__name__} and "
                        f"{type(query).__name__}")
    if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1:
        raise ValueError(f"max_chars must be a positive int, got {max_chars!r}")
    text = unicodedata.normalize("NFC", text)  # a decomposed word is whole for _WORD
    terms = frozenset(tokenize(query))
    best, best_key = None, (0, 0)
    for sentences, found in (_runs(text, terms, max_chars) if terms else ()):
        # the window of sentences [i, j) slides: the longest that fits from i ends no earlier
        # than the one from i - 1, so each sentence enters it and leaves it once
        covered: dict[str, int] = {}  # query word -> occurrences in the window
        count, length, j = 0, -1, 0
        for i in range(len(sentences)):
            while j < len(sentences) and (j == i or length + 1 + len(sentences[j]) <= max_chars):
                length += 1 + len(sentences[j])
                for word in found[j]:
                    covered[word] = covered.get(word, 0) + 1
                count += len(found[j])
                j += 1
            # a window starting on a sentence without a match is never better
            if found[i] and (len(covered), count) > best_key:
                best, best_key = (sentences, i, j), (len(covered), count)
            length -= 1 + len(sentences[i])
            for word in found[i]:
                covered[word] -= 1
                if not covered[word]:
                    del covered[word]
            count -= len(found[i])
    if best is None:
        return _start(text, max_chars)
    sentences, i, j = best
    if j == i + 1 and len(sentences[i]) > max_chars:
        return _around_first_match(sentences[i], terms, max_chars)
    return cut_on_word(" ".join(sentences[i:j]), max_chars)
