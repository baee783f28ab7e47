"""best_snippet: the sentence window with most query words, cut on words, never too long."""

from __future__ import annotations

import pytest

from agentgym.retrieval.snippets import STOP_WORDS, best_snippet, cut_on_word, tokenize

TEXT = ("Hans Fifife (also known as H. Fifife) is a person described in this encyclopedia. "
        "Hans Fifife was born in the year 1872.\n\n"
        "Hans Fifife was born in the city of Rokabeson. Hans Fifife worked for the Giki Daba "
        "Society. Hans Fifife was a cartographer by training.\n\n"
        "Some accounts mention Hans Fifife alongside Ines Pogefe, a person. Rokabeson has a "
        "population of 559,562.")


def test_tokenize_lowercases_keeps_numbers_and_drops_stop_words():
    assert tokenize("The Population of Rokabeson is 559,562 (PFG-1033) in 1875!") == [
        "population", "rokabeson", "559", "562", "pfg", "1033", "1875"]
    assert tokenize("the of and") == []
    assert tokenize("Ünïcode Straße") == ["ünïcode", "straße"]
    assert {"the", "of", "a", "is"} <= STOP_WORDS


def test_picks_the_window_with_most_query_words():
    snippet = best_snippet(TEXT, "population of Rokabeson", max_chars=80)
    assert "559,562" in snippet and "Rokabeson" in snippet
    snippet = best_snippet(TEXT, "cartographer training", max_chars=60)
    assert snippet == "Hans Fifife was a cartographer by training."


def test_window_spans_sentences_and_paragraphs_with_whitespace_collapsed():
    snippet = best_snippet(TEXT, "year 1872 Rokabeson city", max_chars=200)
    assert "1872" in snippet and "city of Rokabeson" in snippet
    assert "\n" not in snippet and "  " not in snippet


@pytest.mark.parametrize("max_chars", [1, 5, 17, 40, 79, 300, 5000])
def test_never_longer_than_max_chars_and_cut_on_word_boundaries(max_chars):
    for query in ("Fifife", "559,562", "nothing matches here", "", "Society training"):
        snippet = best_snippet(TEXT, query, max_chars=max_chars)
        assert len(snippet) <= max_chars
        assert snippet  # never empty for a non-empty text
        if max_chars >= 17:  # long enough for a whole word: cuts fall between words
            words = TEXT.split()
            assert snippet.split()[-1] in words, snippet


def test_start_of_text_when_nothing_matches():
    start = "Hans Fifife (also known as H. Fifife) is"
    assert best_snippet(TEXT, "zebra quantum", max_chars=41) == start
    assert best_snippet(TEXT, "the of and", max_chars=41) == start


def test_initials_do_not_end_sentences():
    snippet = best_snippet(TEXT, "encyclopedia", max_chars=90)
    assert snippet.startswith("Hans Fifife (also known as H. Fifife) is a person")


def test_a_long_sentence_is_cut_around_its_first_match():
    text = " ".join(f"word{i}" for i in range(200)) + " needle " + " ".join(
        f"tail{i}" for i in range(50)) + "."
    snippet = best_snippet(text, "needle", max_chars=60)
    assert "needle" in snippet and len(snippet) <= 60
    assert not snippet.startswith("word0")


def test_cut_on_word_edges():
    assert cut_on_word("short", 10) == "short"
    assert cut_on_word("alpha beta gamma", 12) == "alpha beta"
    assert cut_on_word("supercalifragilistic", 5) == "super"  # one word longer than the limit
    assert best_snippet("", "anything") == ""


def test_bad_arguments_get_clear_errors():
    with pytest.raises(TypeError, match="str"):
        best_snippet(None, "q")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="str"):
        best_snippet("text", b"q")  # type: ignore[arg-type]
    for bad in (0, -3, 2.5, True, "300"):
        with pytest.raises(ValueError, match="max_chars"):
            best_snippet("text", "q", max_chars=bad)  # type: ignore[arg-type]
