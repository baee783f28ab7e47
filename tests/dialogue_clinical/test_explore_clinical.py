"""Defects found by exploratory testing of the clinical interview from a user's side."""

from __future__ import annotations

import pytest

import agentgym
from agentgym.policies.base import Generation, Policy
from agentgym.responders import PolicyResponder


class ClosablePatient(Policy):
    """A patient policy that says it does not know, and counts how often it was closed."""

    name = "closable"

    def __init__(self):
        self.closed = 0

    async def agenerate(self, requests, sampling):
        return [Generation("I don't know.") for _ in requests]

    def close(self):
        self.closed += 1


@pytest.mark.parametrize("env_id", ["dialogue/ClinicalInterview-v0", "dialogue/ClinicalInterviewTools-v0"])
def test_closing_the_interview_closes_a_responder_that_owns_its_policy(env_id):
    """Like the QuestBench environments, the interview closes its responder when it closes, so
    that a PolicyResponder(owns_policy=True) closes its policy."""
    policy = ClosablePatient()
    env = agentgym.make(env_id, responder=PolicyResponder(policy, owns_policy=True))
    env.reset(seed=0)
    env.close()
    assert policy.closed == 1
