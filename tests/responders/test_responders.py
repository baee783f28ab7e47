"""Responders: rule-based answers over facts, a policy as the responder, recording, bad input."""

import asyncio

import pytest

from agentgym.core import ConfigError
from agentgym.policies.base import Generation, Policy
from agentgym.policies.scripted import ScriptedPolicy
from agentgym.responders import (
    Answer,
    Fact,
    Knowledge,
    PolicyResponder,
    RuleResponder,
    normalize,
    responder_from,
)


def _knowledge(**kwargs):
    return Knowledge([Fact("fever", "Yes, I have had a fever since Monday.", ("fever", "temperature"), True),
                      Fact("cough", "No, I have no cough.", ("cough", "coughing"), False),
                      Fact("breath", "I get breathless on stairs.", ("shortness of breath", "breath"), True)],
                     persona="You are the patient.", **kwargs)


def test_a_question_reveals_the_facts_it_names_and_only_those():
    rules, knowledge = RuleResponder(), _knowledge()
    answer = rules.answer("Have you had any FEVERS lately?", knowledge)
    assert answer.text == "Yes, I have had a fever since Monday." and answer.facts == ("fever",)
    both = rules.answer("Are you coughing? And your temperature?", knowledge)
    assert both.facts == ("cough", "fever") and both.text.startswith("No, I have no cough.")
    # the longest phrase wins: "shortness of breath" is one fact, asked once
    assert rules.answer("Any shortness of breath?", knowledge).facts == ("breath",)
    # whole words only: "coughs" is the plural, "fevered" and "breathe" are other words
    assert rules.answer("Any coughs?", knowledge).facts == ("cough",)
    assert rules.answer("Is the cat fevered? breathe!", knowledge).facts == ()


@pytest.mark.parametrize("question", ["", "   ", "How is the weather?", "\x00\ud800??", "a" * 100_000])
def test_a_question_about_nothing_known_gets_the_unknown_reply(question):
    answer = RuleResponder().answer(question, _knowledge(unknown="No idea."))
    assert answer == Answer(question, "No idea.", (), "rules") and not answer.understood


def test_a_question_about_too_much_reveals_nothing():
    answer = RuleResponder().answer("fever? cough? breath?", _knowledge(max_facts=2))
    assert answer.facts == () and "one thing at a time" in answer.text and "fever, cough, breath" in answer.text


def test_knowledge_checks_what_it_is_given():
    with pytest.raises(ConfigError, match="two facts"):
        Knowledge([Fact("a", "x", ("a",)), Fact("a", "y", ("b",))])
    with pytest.raises(ConfigError, match="phrases"):
        Fact("a", "x", ("?!",))
    with pytest.raises(ConfigError, match="max_facts"):
        Knowledge([], max_facts=0)
    assert normalize("It's Man-Made?") == "its man made"


def test_a_policy_plays_the_responder_with_the_facts_in_its_prompt():
    seen = []

    class Recording(Policy):
        name = "recording"

        async def agenerate(self, requests, sampling):
            seen.extend(requests)
            return [Generation("  Yes, quite hot.  ") for _ in requests]

    responder = responder_from(Recording())
    assert isinstance(responder, PolicyResponder) and responder.name == "policy:recording"
    answer = responder.answer("Do you have a fever?", _knowledge(), history=[("Hello?", "Hi doctor.")])
    assert answer.text == "Yes, quite hot." and answer.facts == ("fever",) and answer.error is None
    system = seen[0].messages[0]["content"]
    assert "You are the patient." in system and "Yes, I have had a fever since Monday." in system
    assert [m["role"] for m in seen[0].messages] == ["system", "user", "assistant", "user"]
    assert answer.record() == {"responder": "policy:recording", "question": "Do you have a fever?",
                               "answer": "Yes, quite hot.", "facts": ["fever"], "error": None}


def test_a_failing_policy_gives_an_answer_with_the_error_and_the_episode_goes_on():
    class Broken(Policy):
        name = "broken"

        async def agenerate(self, requests, sampling):
            raise RuntimeError("server down")

    class Refusing(Policy):
        name = "refusing"

        async def agenerate(self, requests, sampling):
            return [Generation("", finish_reason="error", error="HTTP 500")]

    knowledge = _knowledge(unavailable="(silence)")
    down = PolicyResponder(Broken()).answer("fever?", knowledge)
    assert down.text == "(silence)" and down.facts == () and "server down" in down.error
    refused = PolicyResponder(Refusing()).answer("fever?", knowledge)
    assert refused.text == "(silence)" and refused.error == "HTTP 500"


def test_the_sync_answer_refuses_a_running_loop_and_the_async_one_works_there():
    responder = PolicyResponder(ScriptedPolicy(["Yes."]))

    async def inside():
        with pytest.raises(RuntimeError, match="aanswer"):
            responder.answer("fever?", _knowledge())
        return await responder.aanswer("fever?", _knowledge())

    assert asyncio.run(inside()).text == "Yes."


def test_responder_from_rejects_what_is_not_a_responder():
    assert isinstance(responder_from(None), RuleResponder) and isinstance(responder_from("rules"), RuleResponder)
    rules = RuleResponder()
    assert responder_from(rules) is rules
    with pytest.raises(ConfigError, match="responder must be"):
        responder_from("gpt")
    with pytest.raises(ConfigError, match="needs a Policy"):
        PolicyResponder(object())
