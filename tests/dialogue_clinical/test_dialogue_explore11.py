"""Defects found by exploratory testing (round 11) of the dialogue environments."""

from __future__ import annotations

import pytest

import agentgym
from agentgym.info import ErrorKind
from agentgym.policies.base import Policy
from agentgym.responders import Responder


def _ready_to_answer(env_id: str):
    """An episode where the oracle has asked what it needs; returns it and the oracle's answer."""
    env = agentgym.make(env_id, difficulty="easy")
    env.reset(seed=0)
    while not (action := env.unwrapped.oracle_action()).startswith("answer:"):
        env.step(action)
    return env, action[len("answer:"):].strip()


@pytest.mark.parametrize("said, asserts", [("it isn't true", False), ("it isn’t false", True),
                                           ("it can't be true", False), ("it cannot be true", False),
                                           ("it cannot be false", True), ("never true", False),
                                           ("it doesn't hold: false", False)])
def test_logic_q_reads_a_contracted_negation_as_its_opposite(said, asserts):
    """``answer: it isn't true`` (``can't be``, ``cannot be``, ``never``) asserts false and is
    judged so -- it was read as ``true``, rewarding the opposite of what the agent said."""
    env, answer = _ready_to_answer("dialogue/LogicQ-v0")
    _, reward, terminated, _, info = env.step(f"answer: {said}")
    assert terminated and info["error"] is None
    assert info["success"] == (asserts == (answer == "true"))
    env.close()


@pytest.mark.parametrize("asked", ["Is anything on the {} block?", "Is there something on top of the {} block?",
                                   "Is the {} block clear?", "Is the {} block free?"])
def test_planning_q_a_clear_reply_answers_either_way_of_asking(asked):
    """``Is anything on the red block?`` about a clear block was answered "Yes, the red block is
    clear." (and about a covered one "No, something is on top..."): a yes/no that says the
    opposite of the fact to the question asked. The reply now states the fact without a
    leading yes or no, the same for every way of asking."""
    seen = set()
    for seed in range(40):
        env = agentgym.make("dialogue/PlanningQ-v0", difficulty="hard")
        env.reset(seed=seed)
        for variable in env.unwrapped.problem.variables:
            if not variable.key.endswith("_clear") or variable.value in seen:
                continue
            colour = variable.key[: -len("_clear")]
            reply, _, _, _, info = env.step(asked.format(colour))
            assert info["revealed"] == {variable.key: variable.value}
            assert not reply.lower().startswith(("yes", "no"))
            expected = "is clear: nothing is on top of it" if variable.value else "is not clear: something is on top"
            assert f"the {colour} block {expected}" in reply.lower()
            seen.add(variable.value)
            break
        env.close()
        if seen == {True, False}:
            break
    assert seen == {True, False}


def test_gsm_q_the_cake_price_is_said_in_dollars():
    """The bakery's cake price was the one price said without its currency ("Each cake sells
    for 19.", beside "Each muffin sells for $1.50." and a profit asked "in dollars"), in the
    statement and in the responder's reply; it is now "$19" as every other price is."""
    from agentgym.envs.dialogue.questbench.gsm import TEMPLATES

    [bakery] = [template for template in TEMPLATES if template.name == "bakery"]
    [cake_price] = [quantity for quantity in bakery.quantities if quantity.key == "cake_price"]
    assert cake_price.money
    seen = 0
    env = agentgym.make("dialogue/GSMQ-v0", difficulty="hard", question_format="choice")
    for seed in range(300):
        env.reset(seed=seed)
        problem = env.unwrapped.problem
        if "cake_price" not in [variable.key for variable in problem.variables]:
            continue
        reply = problem.variable("cake_price").statement
        assert reply.startswith("Each cake sells for $"), reply
        if "Each cake sells for" in problem.statement:
            assert "Each cake sells for $" in problem.statement
        seen += 1
        if seen >= 3:
            break
    env.close()
    assert seen >= 3


@pytest.mark.parametrize("question, asks_about", [("Does anyone in your family have strep throat?", "sick_contacts"),
                                                  ("Have you had strep throat before?", "prior_episodes")])
def test_clinical_a_question_naming_strep_throat_is_a_question(question, asks_about):
    """A question naming the condition "strep throat" (a sick contact, a past illness) was
    refused as a test ("the patient cannot answer about tests; to order the rapid strep
    test...") because "strep" is also the test's alias; a condition's name is not a test, so
    the question is now asked and answered as any question."""
    env = agentgym.make("dialogue/ClinicalInterview-v0", difficulty="easy")
    env.reset(seed=0)
    _, _, _, _, info = env.step(question)
    assert info["error"] is None
    assert asks_about in info["responder"]["facts"]
    assert env.unwrapped.turns_used == 1
    env.close()


@pytest.mark.parametrize("question", ["Can we do a strep test?", "Could I get a quick strep?",
                                      "Let's check your blood sugar."])
def test_clinical_a_question_naming_a_test_is_still_refused(question):
    env = agentgym.make("dialogue/ClinicalInterview-v0", difficulty="easy")
    env.reset(seed=0)
    _, _, _, _, info = env.step(question)
    assert info["error"] is not None and "cannot answer about tests" in info["error"]
    assert env.unwrapped.turns_used == 0
    env.close()


class _Garbage(Policy):
    """A responder policy that returns a bare string instead of a Generation."""

    name = "garbage"

    async def agenerate(self, requests, sampling=None):
        return ["not a generation"]


class _Raises(Responder):
    """A custom responder with a bug."""

    name = "buggy"

    def answer(self, question, knowledge, history=()):
        raise KeyError("bug")


@pytest.mark.parametrize("responder", [_Garbage, _Raises])
def test_clinical_a_responder_that_breaks_is_an_error_observation(responder):
    """A responder policy returning something unusable (or a responder that raises) crashed
    the step with AttributeError; as documented for a failing policy responder it is now an
    error observation (``error_kind`` other) that uses no turn and reveals nothing."""
    env = agentgym.make("dialogue/ClinicalInterview-v0", difficulty="easy", responder=responder())
    env.reset(seed=0)
    observation, _, terminated, _, info = env.step("Do you have a fever?")
    assert not terminated and info["error"] is not None and info["error_kind"] == ErrorKind.OTHER
    assert "could not answer" in observation and info["revealed"] == {}
    assert info["responder"]["error"] and env.unwrapped.turns_used == 0
    env.close()


@pytest.mark.parametrize("responder", [_Garbage, _Raises])
@pytest.mark.parametrize("env_id", ["dialogue/LogicQ-v0", "dialogue/GSMQ-v0", "dialogue/PlanningQ-v0"])
def test_questbench_a_responder_that_breaks_is_a_failed_answer(env_id, responder):
    """The same in QuestBench: the step answered as for a policy responder that fails
    (the knowledge's 'unavailable' reply, the error in ``info["responder"]``), not a crash."""
    env = agentgym.make(env_id, difficulty="easy", responder=responder())
    env.reset(seed=0)
    observation, _, terminated, _, info = env.step(env.unwrapped.oracle_action())
    assert not terminated and info["revealed"] == {} and not info["asked_right"]
    assert info["responder"]["error"] and observation == env.unwrapped.knowledge.unavailable
    env.close()


@pytest.mark.parametrize("template, key, said", [("bakery", "helpers", "1 friend helps at the stall."),
                                                 ("ages", "cats", "The family has 1 cat.")])
def test_gsm_q_a_count_of_one_is_said_in_the_singular(template, key, said):
    """A count of one was said in the plural ("1 friends help at the stall.", "The family has
    1 cats.") in the statement and the responder's reply; it is now singular."""
    from agentgym.envs.dialogue.questbench.gsm import TEMPLATES, _render

    [quantity] = [q for t in TEMPLATES if t.name == template for q in t.quantities if q.key == key]
    assert _render(quantity, 1, "Maria") == said
    assert "1 " not in _render(quantity, 3, "Maria") and "3" in _render(quantity, 3, "Maria")


@pytest.mark.parametrize("env_id", ["dialogue/LogicQ-v0", "dialogue/GSMQ-v0", "dialogue/PlanningQ-v0"])
@pytest.mark.parametrize("written", ["I know what I need now.\nanswer: {}", "Reasoning first.\n\n**Answer:** {}"])
def test_questbench_a_final_answer_on_its_own_line_after_reasoning_ends_the_episode(env_id, written):
    """A reply that reasons first and gives ``answer: ...`` on a line of its own was sent to
    the responder as a question (a turn used, the answer ignored); the answer line is now the
    final answer, judged, ending the episode."""
    env, answer = _ready_to_answer(env_id)
    _, reward, terminated, _, info = env.step(written.format(answer))
    assert terminated and info["error"] is None and "responder" not in info
    assert info["success"] and reward == 1.0
    env.close()


def test_questbench_answer_inside_a_line_of_a_question_stays_a_question():
    env = agentgym.make("dialogue/LogicQ-v0", difficulty="easy")
    env.reset(seed=0)
    _, _, terminated, _, info = env.step("Before I answer:\nwhat should my answer: depend on?")
    assert not terminated and "responder" in info
    env.close()
