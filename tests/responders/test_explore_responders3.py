"""Defects found by a third round of exploratory testing of the responders."""

import pytest

from agentgym.core import ConfigError
from agentgym.policies.scripted import ScriptedPolicy
from agentgym.responders import Fact, Knowledge, PolicyResponder, RuleResponder


def test_knowledge_without_facts_answers_every_question_with_unknown():
    # the phrase pattern of no phrases, \b()(?:e?s)?\b, matched the empty string at every word
    # boundary and asked() looked '' up: KeyError out of answer() ('never raises for anything
    # the agent wrote')
    knowledge = Knowledge([], unknown="Nothing to tell.")
    assert knowledge.asked("Any fever? Anything at all?") == []
    answer = RuleResponder().answer("Any fever?", knowledge)
    assert answer.text == "Nothing to tell." and answer.facts == ()
    policy_answer = PolicyResponder(ScriptedPolicy(["No idea."])).answer("Any fever?", knowledge)
    assert policy_answer.text == "No idea." and policy_answer.facts == () and policy_answer.error is None


@pytest.mark.parametrize("field, value, message", [
    ("too_broad", "One thing at a time, e.g. {example}", "too_broad"),
    ("too_broad", "Ask about {topics", "too_broad"),
    ("unknown", None, "unknown"),
    ("persona", 5, "persona"),
])
def test_knowledge_refuses_replies_it_could_not_give_when_made(field, value, message):
    # a too_broad with another placeholder raised KeyError 'example' at the agent's step (the
    # rollout's crash), and unknown=None made None the observation
    facts = [Fact("a", "A.", ("alpha",)), Fact("b", "B.", ("beta",))]
    with pytest.raises(ConfigError, match=f"Knowledge.{message}"):
        Knowledge(facts, max_facts=1, **{field: value})
