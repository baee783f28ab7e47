"""Defects found by exploratory testing (round 11) of synthetic experience."""

from __future__ import annotations

import pytest

from agentgym.synthetic import parse_reply


@pytest.mark.parametrize("written, reward", [("\u22121", -1.0), ("\u22120.5", -0.5), ("\u2212 0.25", -0.25),
                                             ("-1", -1.0), ("0.5", 0.5)])
def test_a_reward_with_a_unicode_minus_sign_stays_negative(written, reward):
    """``Reward: −1`` (U+2212, the minus sign typeset text uses) was read as +1: the sign was
    dropped and a penalty became the largest reward; it is read as the negative number."""
    prediction = parse_reply(f"Observation: You lose.\nReward: {written}\nDone: yes")
    assert prediction.error is None
    assert prediction.reward == reward
    assert prediction.notes == ()
