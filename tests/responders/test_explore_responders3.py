"""Defects found by a third round of exploratory testing of the responders."""

from agentgym.policies.scripted import ScriptedPolicy
from agentgym.responders import Knowledge, PolicyResponder, RuleResponder


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
