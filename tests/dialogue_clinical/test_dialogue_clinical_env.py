"""The clinical interview in the text format: what a question, a test and a diagnosis do,
robust parsing, the turn budget, the revealed-facts contract, and the environment checks."""

from __future__ import annotations

import pytest

import agentgym
from agentgym.envs.dialogue.clinical.env import ClinicalInterview
from agentgym.policies.base import Generation, Policy
from agentgym.policies.scripted import ScriptedPolicy
from agentgym.testing import check_llm_env


def _strep(**kwargs) -> ClinicalInterview:
    """Seed 0's strep throat case: sore throat (the complaint), fever, chills, fatigue, tonsillar
    exudate, swollen glands present; cough, headache, chest pain absent; rapid strep positive,
    chest x-ray negative."""
    env = ClinicalInterview("easy", **kwargs)
    env.reset(seed=0, options={"condition": "strep throat"})
    case = env.case
    assert case.chief_complaint == "sore_throat" and case.tests["rapid_strep"] and not case.tests["chest_xray"]
    assert [case.findings[k] for k in ("fever", "chills", "tonsillar_exudate", "cough", "headache")] == [
        True, True, True, False, False]
    return env


@pytest.mark.parametrize("question, facts", [
    ("Have you had a temperature?", ["fever"]),
    ("Are you running a fever??", ["fever"]),
    ("FEVERISH AT ALL", ["fever"]),
    ("Any shivers or rigors?", ["chills"]),
    ("Is there any coughing?", ["cough"]),
    ("Are you breathless? Dyspnoea?", ["shortness_of_breath"]),
    ("Let me look in your throat - any white patches?", ["tonsillar_exudate"]),
    ("Fièvre? 🙂 Any fevers?", ["fever"]),
    ("Does your head hurt?", ["headache"]),
])
def test_synonyms_case_punctuation_and_unicode_reach_the_finding(question, facts):
    env = _strep()
    observation, reward, terminated, _, info = env.step(question)
    assert info["responder"]["facts"] == facts and info["error"] is None and not terminated
    assert info["revealed"] == {key: env.case.findings[key] for key in facts}
    assert observation.startswith(env.knowledge[facts[0]].statement) and "(9 turns left.)" in observation


def test_several_findings_in_one_question_are_answered_together_up_to_the_limit():
    env = _strep()
    observation, _, _, _, info = env.step("Any fever, cough or headache?")
    assert info["revealed"] == {"fever": True, "cough": False, "headache": False}
    assert observation.startswith("Yes, I've been feverish") and "No, no cough." in observation
    observation, _, _, _, info = env.step("Chills? Rash? Dizziness? Sweating?")
    assert info["revealed"] == {} and "fewer things at a time" in observation and env.turns_used == 2


def test_a_fact_is_revealed_once_and_the_chief_complaint_is_known_from_the_start():
    env = _strep()
    assert env.step("Any fever?")[4]["revealed"] == {"fever": True}
    _, _, _, _, info = env.step("So, the fever: still there?")
    assert info["revealed"] == {} and info["responder"]["facts"] == ["fever"]
    assert env.step("Does your throat hurt?")[4]["revealed"] == {}  # the chief complaint
    assert info["presenting"] == {"sore_throat": True}


@pytest.mark.parametrize("question", ["How is the weather today?", "asdf qwerty", "\ud800\x00\x1b[31m", "🙂" * 50])
def test_a_question_about_nothing_known_gets_a_polite_reply_and_uses_a_turn(question):
    env = _strep()
    observation, _, _, _, info = env.step(question)
    assert observation.startswith("I'm not sure what you mean") and info["revealed"] == {} and env.turns_used == 1
    assert info["error"] is None and info["responder"]["facts"] == []


@pytest.mark.parametrize("action, message", [
    ("", "ask the patient a question"),
    ("   \n\t ", "ask the patient a question"),
    ("x " * 1500, "ask a shorter one"),
    ("a" * 30_000, "the limit is 20000"),
    ("Let's get a chest x-ray, shall we?", "write 'test: chest x-ray'"),
    ("test: MRI of the brain", "no test of that name"),
    ("Tests: blood count and urinalysis", "one test per turn"),
    ("diagnosis: lupus", "no condition of that name"),
    ("Diagnosis: strep throat, or maybe pneumonia", "give one diagnosis"),
])
def test_invalid_actions_are_free_error_observations(action, message):
    env = _strep()
    observation, reward, terminated, _, info = env.step(action)
    assert message in info["error"] and observation.startswith("Invalid action:") and info["error_kind"] == "invalid"
    assert env.turns_used == 0 and not terminated and reward == 0.0
    assert info["revealed"] == {} and info["presenting"] == {"sore_throat": True}


@pytest.mark.parametrize("action", ["test: rapid strep", "Test: Strep test", "order a rapid strep test.",
                                    "Please run a throat swab", "I'd like to order the rapid strep test"])
def test_tests_are_ordered_in_many_wordings_and_cost(action):
    env = _strep()
    observation, reward, _, _, info = env.step(action)
    assert observation.startswith("Rapid strep test: positive. (Cost: 0.03.)")
    assert info["revealed"] == {"rapid_strep": True} and info["reward_components"] == {"test_cost": -0.03}
    assert reward == pytest.approx(-0.03) and env.turns_used == 1
    _, reward, _, _, info = env.step("test: strep")  # already done: refused, free
    assert "already done" in info["error"] and reward == 0.0 and env.turns_used == 1


@pytest.mark.parametrize("action", ["diagnosis: strep throat", "Diagnosis: STREP THROAT!!", "diagnosis - strep",
                                    "The diagnosis is Streptococcal Pharyngitis.", "I diagnose tonsillitis",
                                    "After all that, my final diagnosis is strep throat."])
def test_a_right_diagnosis_in_any_wording_wins(action):
    env = _strep()
    observation, reward, terminated, _, info = env.step(action)
    assert terminated and info["success"] and reward == 1.0 and observation == "Correct: the diagnosis is strep throat."
    assert info["diagnosis"] == "strep throat" and info["revealed"] == {}


def test_the_answer_stub_followed_by_the_reference_is_a_right_diagnosis():
    env = _strep()
    assert env.answer_stub == "The diagnosis is " and env.reference_answer == "strep throat"
    assert env.step(env.answer_stub + env.reference_answer)[4]["success"]


def test_a_question_about_a_diagnosis_is_a_question():
    env = _strep()
    _, _, terminated, _, info = env.step("Were you ever diagnosed with asthma?")
    assert not terminated and info["responder"]["facts"] == ["asthma_history"]


def test_a_wrong_diagnosis_ends_the_visit_and_names_the_condition():
    env = _strep()
    observation, reward, terminated, _, info = env.step("diagnosis: the flu")
    assert terminated and not info["success"] and reward == 0.0
    assert observation == "Wrong: it was strep throat, not influenza." and info["reward_components"] == {"outcome": 0.0}


def test_the_turn_budget_ends_an_undiagnosed_visit():
    env = _strep(turn_budget=3)
    assert "(2 turns left.)" in env.step("Any fever?")[0]
    observation, *_ = env.step("test: chest x-ray")
    assert observation.endswith("(1 turn left: give your diagnosis now.)")
    observation, reward, terminated, _, info = env.step("Any cough?")
    assert terminated and not info["success"] and info["out_of_turns"] and info["revealed"] == {"cough": False}
    assert observation.endswith("The visit is over without a diagnosis: it was strep throat.")
    assert info["reward_components"] == {"outcome": 0.0}


def test_the_reference_answer_never_reaches_the_observations_of_the_oracle_episode():
    env = ClinicalInterview("medium")
    for seed in range(10):
        observation, _ = env.reset(seed=seed)  # (the instructions list every candidate)
        seen, done = [observation], False
        while not done:
            observation, _, done, _, _ = env.step(env.oracle_action())
            seen.append(observation)
        answer = env.reference_answer
        assert all(answer not in text.lower() for text in seen[:-1]), seed  # the verdict may name it


class _Patient(Policy):
    """A policy that plays the patient from a script and keeps what it was sent."""

    name = "patient"

    def __init__(self, replies):
        self.replies, self.requests = list(replies), []

    async def agenerate(self, requests, sampling):
        self.requests.extend(requests)
        return [Generation(self.replies[min(len(self.requests), len(self.replies)) - 1]) for _ in requests]


def test_a_policy_plays_the_patient_and_the_facts_follow_the_question():
    patient = _Patient(["Oh yes doctor, burning up all week.", "Not really, no."])
    env = _strep(responder=patient)
    observation, _, _, _, info = env.step("Any fever?")
    assert observation.startswith("Oh yes doctor, burning up all week.")
    assert info["revealed"] == {"fever": True}  # the case's value, whatever the wording
    assert info["responder"] == {"responder": "policy:patient", "question": "Any fever?",
                                 "answer": "Oh yes doctor, burning up all week.", "facts": ["fever"], "error": None}
    env.step("Any cough?")
    system = patient.requests[0].messages[0]["content"]
    assert "25-year-old man" in system and "Yes, I've been feverish" in system and "No, no cough." in system
    assert [m["content"] for m in patient.requests[1].messages[1:]] == [
        "Any fever?", "Oh yes doctor, burning up all week.", "Any cough?"]


def test_a_failing_patient_policy_is_an_error_that_uses_no_turn():
    class Down(Policy):
        name = "down"

        async def agenerate(self, requests, sampling):
            raise TimeoutError("model server timed out")

    env = _strep(responder=Down())
    observation, reward, terminated, _, info = env.step("Any fever?")
    assert "could not answer" in observation and "model server timed out" in info["error"]
    assert info["error_kind"] == "other" and info["revealed"] == {} and env.turns_used == 0 and not terminated
    assert info["responder"]["error"].startswith("TimeoutError")
    assert env.step("test: rapid strep")[4]["revealed"] == {"rapid_strep": True}  # the visit goes on


def test_a_scripted_policy_as_patient_through_make():
    env = agentgym.make("dialogue/ClinicalInterview-v0", difficulty="easy",
                        responder=ScriptedPolicy(["Yes.", "No."], then="Hmm."))
    env.reset(seed=0, options={"condition": "strep throat"})
    assert [env.step(q)[0].split("\n")[0] for q in ("Fever?", "Cough?", "Chills?")] == ["Yes.", "No.", "Hmm."]


@pytest.mark.parametrize("difficulty", ["easy", "hard"])
def test_the_environment_passes_the_agentgym_and_gymnasium_checks(difficulty):
    env = agentgym.make("dialogue/ClinicalInterview-v0", difficulty=difficulty)
    check_llm_env(env, hostile=150)
    env.close()


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="action_format"):
        ClinicalInterview(action_format="xml")
    with pytest.raises(ValueError, match="turn_budget"):
        ClinicalInterview(turn_budget=1)
    with pytest.raises(ValueError, match="responder must be"):
        ClinicalInterview(responder="a doctor")
    with pytest.raises(ValueError, match="oracle_threshold"):
        ClinicalInterview(oracle_threshold=1.5)
    with pytest.raises(ValueError, match="difficulty"):
        ClinicalInterview("extreme")
