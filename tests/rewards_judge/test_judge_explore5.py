"""parse_scores on judge replies with numbers too large for a float."""

from __future__ import annotations

from agentgym.rewards.judge import parse_scores


def test_a_json_integer_too_large_for_a_float_is_refused_not_raised():
    # parse_scores "never raises for any text": this raised OverflowError and ended the scoring.
    parsed = parse_scores('{"correctness": ' + "9" * 400 + "}", ["correctness"])
    assert parsed.scores == {} and parsed.missing == ("correctness",)
    assert len(parsed.problems) == 1 and "outside [0, 1]" in parsed.problems[0]


def test_a_refused_huge_value_is_clipped_in_the_problem_not_dumped_whole():
    parsed = parse_scores("correctness: " + "9" * 400, ["correctness"])
    assert parsed.missing == ("correctness",)
    assert len(parsed.problems[0]) < 120
