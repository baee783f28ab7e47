"""Defects found by a third round of exploratory testing of the clinical interview."""

from __future__ import annotations

import pytest

import agentgym


@pytest.mark.parametrize("env_id", ["dialogue/ClinicalInterview-v0", "dialogue/ClinicalInterviewTools-v0"])
def test_the_oracle_asks_within_max_question_chars(env_id):
    # the oracle asked the table's questions (up to 70 characters) whatever max_question_chars
    # allowed: each was refused, and it repeated it until the turn limit (0 wins of 4)
    env = agentgym.make(env_id, difficulty="easy", max_question_chars=20)
    wins = 0
    for seed in range(4):
        env.reset(seed=seed)
        terminated = truncated = False
        while not (terminated or truncated):
            _, _, terminated, truncated, info = env.step(env.unwrapped.oracle_action())
            assert info["error"] is None, info["error"]
            if "responder" in info:  # a question: the short one still asks about its finding
                assert info["responder"]["facts"]
        wins += info["success"]
    assert wins >= 3
    env.close()
