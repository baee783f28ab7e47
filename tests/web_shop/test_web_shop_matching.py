"""WebShop's fuzzy matching, checked on cases computed by hand and against a plain dynamic-
programming LCS."""

from __future__ import annotations

import random

import pytest

from agentgym.envs.web.shop.matching import (
    MATCH_THRESHOLD,
    fuzzy_match,
    normalize_color,
    similarity,
    token_set_ratio,
    words,
)


def _lcs_reference(a: str, b: str) -> int:
    row = [0] * (len(b) + 1)
    for x in a:
        previous_diagonal = 0
        for j, y in enumerate(b, 1):
            keep = row[j]
            row[j] = previous_diagonal + 1 if x == y else max(row[j], row[j - 1])
            previous_diagonal = keep
    return row[-1]


def test_similarity_is_the_indel_ratio_of_the_lcs():
    rng = random.Random(0)
    for _ in range(400):
        a = "".join(rng.choice("abc d") for _ in range(rng.randint(0, 25)))
        b = "".join(rng.choice("abcd ") for _ in range(rng.randint(0, 25)))
        expected = 0.0 if not a and not b else 200.0 * _lcs_reference(a, b) / (len(a) + len(b))
        assert similarity(a, b) == pytest.approx(expected)
    assert similarity("abc", "abc") == 100.0 and similarity("", "") == 0.0


@pytest.mark.parametrize("a, b, score", [
    # common "of pack", then "12" / "24": "of pack 12" vs "of pack 24" share 9 of 10 characters
    ("pack of 12", "pack of 24", 90),
    # one word set contains the other
    ("X-Large", "large", 100),
    ("dark roast", "Roast  DARK", 100),
    # no common word: LCS("red", "blue") = 1 ("e"), 200 * 1 / 7 = 28.6
    ("red", "blue", 29),
    # best of "free" vs "free dairy" (200 * 4 / 14 = 57.1) and the other two pairs
    ("gluten free", "dairy free", 57),
    # "count" vs "count 6": 200 * 5 / 12 = 83.3 (why sizes are written "6 count", not "pack of 6")
    ("6 count", "12 count", 83),
    # "xl" vs "xxl": 200 * 2 / 5
    ("xl", "xxl", 80),
    ("", "large", 0),
    ("!!", "a", 0),
])
def test_token_set_ratio_hand_computed(a, b, score):
    assert token_set_ratio(a, b) == score
    assert token_set_ratio(b, a) == score
    assert fuzzy_match(a, b) is (score > MATCH_THRESHOLD)


def test_words_and_colours():
    assert words("Four-Way  Stretch, 12oz!") == ["four", "way", "stretch", "12oz"]
    assert normalize_color("Navy Blue") == "navy"       # the first colour of the list that it contains
    assert normalize_color("dark blue") == "blue"
    assert normalize_color("sea salt") == "sea salt"    # no colour: unchanged
    assert fuzzy_match(normalize_color("navy blue"), normalize_color("navy"))
    assert not fuzzy_match(normalize_color("blue"), normalize_color("navy"))
