"""PolicyResponder on replies that are no answer: a policy returning something other than one
Generation with text is a failed answer (it raised AttributeError out of the environment's
step), and an empty reply reveals no fact (it was told "I don't know" yet recorded the asked
facts as revealed)."""

from __future__ import annotations

import pytest

from agentgym.policies.base import Generation, Policy
from agentgym.responders import Fact, Knowledge, PolicyResponder


def knowledge() -> Knowledge:
    return Knowledge([Fact("fever", "Yes, I have had a fever since Monday.", ("fever",), True)],
                     persona="You are the patient.", unknown="I don't know.", unavailable="(silence)")


class Returning(Policy):
    name = "returning"

    def __init__(self, value):
        self.value = value

    async def agenerate(self, requests, sampling):
        return self.value


@pytest.mark.parametrize("value", ["Yes.", [Generation(None)], [], [Generation("a"), Generation("b")], None,
                                   ["Yes."]])
def test_a_reply_that_is_not_one_generation_with_text_is_a_failed_answer(value):
    answer = PolicyResponder(Returning(value)).answer("Any fever?", knowledge())
    assert answer.text == "(silence)" and answer.facts == ()
    assert answer.error.startswith("the responder policy returned ")


@pytest.mark.parametrize("text", ["", "   \n"])
def test_an_empty_reply_reveals_no_fact(text):
    answer = PolicyResponder(Returning([Generation(text)])).answer("Any fever?", knowledge())
    assert answer.text == "I don't know." and answer.facts == () and answer.error is None


def test_a_reply_reveals_the_facts_asked_about():
    answer = PolicyResponder(Returning([Generation("Yes, since Monday.")])).answer("Any fever?", knowledge())
    assert answer.text == "Yes, since Monday." and answer.facts == ("fever",) and answer.error is None
