"""Exploratory round 11 of the reward providers: hostile and unusual inputs."""

from __future__ import annotations

import pytest

from agentgym.rewards.judge import Criterion, parse_scores


@pytest.mark.parametrize("reply, expected", [
    ("style: 5/10\nstyle consistency: 8/10", {"style": 0.5, "style consistency": 0.8}),
    ("Style: 5/10\nStyle-consistency: 9/10", {"style": 0.5, "style consistency": 0.9}),
    ("The style is 5/10 and the style consistency is 9/10.", {"style": 0.5, "style consistency": 0.9}),
], ids=["lines", "spelt apart", "prose"])
def test_a_criterion_named_inside_a_longer_one_reads_its_own_score(reply, expected):
    # 'style' matched the start of 'style consistency: 8/10' too, and the last match won: in the
    # order the judge is asked to reply, style took style consistency's score.
    criteria = [Criterion("style", "s"), Criterion("style consistency", "c")]
    parsed = parse_scores(reply, criteria)
    assert parsed.scores == pytest.approx(expected)
    assert parsed.ok


def test_a_score_is_not_read_across_another_criterions_name():
    # The judge declined to grade accuracy, and accuracy took clarity's 8/10 (a full judgement).
    criteria = [Criterion("accuracy", "a"), Criterion("clarity", "c")]
    parsed = parse_scores("accuracy: not graded; clarity: 8/10", criteria)
    assert parsed.scores == {"clarity": pytest.approx(0.8)}
    assert parsed.missing == ("accuracy",)
