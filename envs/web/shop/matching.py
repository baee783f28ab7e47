"""Fuzzy text matching as WebShop's reward uses it: a token-set similarity on a 0-100 scale and
colour normalisation.

``similarity(a, b)`` is the Indel similarity ``100 * 2 * LCS(a, b) / (len(a) + len(b))`` of two
strings (LCS: the longest common subsequence of characters), computed with a bit-parallel
LCS (one big-integer update per character of ``b``), so it is exact and fast for short texts.

``token_set_ratio(a, b)`` compares two phrases as sets of words, ignoring order and repeats:

1. each phrase is lower-cased, every character that is not a letter or a digit becomes a
   space, and the words are split out (so ``"X-Large"`` is the words ``x`` and ``large``);
2. ``common`` is the sorted common words, ``only_a`` and ``only_b`` the sorted rest of each;
3. the score is 0 if either phrase has no words; 100 if they share a word and one side has no
   word of its own (one set contains the other); otherwise the best similarity of
   ``common`` vs ``common + only_a``, ``common`` vs ``common + only_b`` and
   ``common + only_a`` vs ``common + only_b`` (each joined with single spaces), rounded to
   a whole number (as WebShop's fuzzy-matching library reports it).

WebShop counts two phrases as matching when this score is above 85 (:data:`MATCH_THRESHOLD`).
The rule is lenient where a long common part is followed by a short difference (``"pack of
12"`` vs ``"pack of 24"`` scores 90) and where one word set contains the other (``"x-large"``
vs ``"large"`` scores 100); the generated catalogue keeps the values of one option group and
the attributes of one product type apart under it (its tests check so).

``normalize_color(text)`` maps a phrase to the first colour word of :data:`COLOR_WORDS` it
contains (``"navy blue"`` -> ``"navy"``), or leaves it unchanged: an option value is compared
after this step, so ``"navy blue"`` and ``"navy"`` match.
"""

from __future__ import annotations

import functools
import re

from agentgym.subsequence import lcs_length

#: A match needs a token-set score above this (WebShop's rule).
MATCH_THRESHOLD = 85

#: Colour words, in the order they are tried (the first one contained in a phrase wins).
COLOR_WORDS: tuple[str, ...] = (
    "black", "white", "navy", "blue", "red", "green", "olive", "gray", "grey", "beige", "brown",
    "pink", "purple", "yellow", "orange", "teal", "burgundy", "charcoal", "ivory", "khaki",
    "lavender", "silver", "gold", "coral", "mint", "tan",
)

_NOT_WORD = re.compile(r"[^0-9a-z]+")


def words(text: str) -> list[str]:
    """The words of ``text``: lower-cased runs of ASCII letters and digits."""
    return [w for w in _NOT_WORD.split(text.lower()) if w]


def similarity(a: str, b: str) -> float:
    """``100 * 2 * LCS(a, b) / (len(a) + len(b))``; 0 when both are empty."""
    total = len(a) + len(b)
    if total == 0:
        return 0.0
    return 200.0 * lcs_length(a, b) / total


@functools.lru_cache(maxsize=65_536)
def token_set_ratio(a: str, b: str) -> float:
    """The token-set score of two phrases (0-100); see the module docstring. Cached: the
    reward compares the same catalogue phrases over and over."""
    set_a, set_b = set(words(a)), set(words(b))
    if not set_a or not set_b:
        return 0.0
    common = " ".join(sorted(set_a & set_b))
    only_a = " ".join(sorted(set_a - set_b))
    only_b = " ".join(sorted(set_b - set_a))
    if common and (not only_a or not only_b):
        return 100.0
    with_a = f"{common} {only_a}".strip()
    with_b = f"{common} {only_b}".strip()
    best = similarity(with_a, with_b)
    if common:
        best = max(best, similarity(common, with_a), similarity(common, with_b))
    return float(round(best))


def fuzzy_match(a: str, b: str) -> bool:
    """WebShop's match: a token-set score above :data:`MATCH_THRESHOLD`."""
    return token_set_ratio(a, b) > MATCH_THRESHOLD


@functools.lru_cache(maxsize=16_384)
def normalize_color(text: str) -> str:
    """The first colour word of :data:`COLOR_WORDS` that ``text`` (lower-cased) contains, else
    ``text`` unchanged."""
    lowered = text.lower()
    for color in COLOR_WORDS:
        if color in lowered:
            return color
    return text
