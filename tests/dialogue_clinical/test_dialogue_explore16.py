"""Defects found by exploratory testing (round 16) of the dialogue environments."""

from __future__ import annotations

import pytest

import agentgym
from agentgym.envs.dialogue.questbench.planning import read_plan


def _ready_to_answer(env_id: str, seed: int = 3):
    """An episode where the oracle has asked what it needs; returns it and the oracle's answer."""
    env = agentgym.make(env_id, difficulty="easy")
    env.reset(seed=seed)
    while not (action := env.unwrapped.oracle_action()).startswith("answer:"):
        env.step(action)
    return env, action[len("answer:"):].strip()


def test_planning_q_a_plan_written_as_sentences_is_read_move_by_move():
    """``answer: Move green onto the table. Move blue onto the table. ...`` (one sentence a
    move) was read as its first move alone -- the rest silently dropped -- and a right plan
    judged wrong, ending the episode with outcome 0."""
    assert read_plan("Move green onto the table. Move red onto blue! Then green onto red.", 3) == \
        [(2, -1), (0, 1), (2, 0)]
    assert read_plan("1. move green to the table.\n2. move red onto blue.", 3) == [(2, -1), (0, 1)]
    env, answer = _ready_to_answer("dialogue/PlanningQ-v0")
    moves = [move.strip() for move in answer.split(";")]
    assert len(moves) > 1
    sentences = " ".join(f"{move[0].upper()}{move[1:]}." for move in moves)
    _, reward, terminated, _, info = env.step(f"answer: {sentences}")
    assert terminated and info["success"] and reward == 1.0
    env.close()


@pytest.mark.parametrize("question, finding", [
    ("Let's run through your symptoms: do you have a fever?", "fever"),
    ("I'd like to perform a physical examination: may I look at your throat?", "tonsillar_exudate"),
    ("Order of events: did the headache come on suddenly?", "onset_sudden"),
    ("Test your sensation: any numbness or tingling?", "tingling"),
])
def test_clinical_a_question_that_starts_like_an_order_but_names_no_test_is_asked(question, finding):
    """A question opening with run / perform / order / test but naming no test ("Let's run
    through your symptoms: do you have a fever?") was refused as an unknown test ('no test of
    that name; the tests are: ...'): the patient was never asked."""
    env = agentgym.make("dialogue/ClinicalInterview-v0", difficulty="easy")
    env.reset(seed=5)
    observation, _, _, _, info = env.step(question)
    assert info["error"] is None, observation
    assert finding in info["revealed"] or finding in env.unwrapped.case.presenting
    assert "responder" in info
    env.close()


@pytest.mark.parametrize("order, error", [("order a flu swab", "no test of that name"),
                                          ("Let's run a blood count and an ECG", "order one test per turn")])
def test_clinical_an_order_naming_no_known_test_and_no_finding_is_still_refused(order, error):
    env = agentgym.make("dialogue/ClinicalInterview-v0", difficulty="easy")
    env.reset(seed=5)
    _, _, _, _, info = env.step(order)
    assert error in info["error"] and info["revealed"] == {}
    env.close()


@pytest.mark.parametrize("question, finding", [
    ("Prior diagnosis: do you have asthma?", "asthma_history"),
    ("Any previous diagnosis - asthma, for example?", "asthma_history"),
    ("Do you know your diagnosis - is it asthma?", "asthma_history"),
    ("Before I make a diagnosis: any fever?", "fever"),
    ("To narrow the diagnosis: do you have a cough?", "cough"),
])
def test_clinical_a_question_mentioning_a_diagnosis_is_asked(question, finding):
    """A question to the patient with 'diagnosis:' or 'diagnosis -' in it ("Prior diagnosis: do
    you have asthma?") ended the visit as a wrong diagnosis of the condition it named (or, naming
    none, was refused as an unknown condition) instead of being asked."""
    env = agentgym.make("dialogue/ClinicalInterview-v0", difficulty="hard")
    env.reset(seed=5)
    observation, _, terminated, _, info = env.step(question)
    assert not terminated and info["error"] is None, observation
    assert finding in info["revealed"] and "diagnosis" not in info
    env.close()


@pytest.mark.parametrize("said", ["Diagnosis: acid reflux?", "The diagnosis is acid reflux. Do you have questions?",
                                  "Diagnosis: acid reflux - do you agree?", "My diagnosis is GERD, do you see?",
                                  "Final diagnosis: acid reflux"])
def test_clinical_a_diagnosis_with_a_question_mark_is_still_a_diagnosis(said):
    env = agentgym.make("dialogue/ClinicalInterview-v0", difficulty="hard")
    env.reset(seed=5)
    assert env.unwrapped.case.condition == "acid reflux"
    _, reward, terminated, _, info = env.step(said)
    assert terminated and info["diagnosis"] == "acid reflux" and reward == 1.0


def test_questbench_the_last_answer_line_of_a_reply_is_the_final_answer():
    """A reply that corrects itself ("answer: 25 ... wait ... Final answer: 27.5") was judged on
    its first answer line (GSM-Q read the first number after it: a right final answer judged
    wrong, a wrong one right; Logic-Q refused 'answer: true ... answer: false' as naming both);
    the last answer line is now the final answer."""
    env, answer = _ready_to_answer("dialogue/GSMQ-v0")
    wrong = str(float(answer) + 7)
    _, reward, terminated, _, info = env.step(f"answer: {wrong}\nWait, I made a slip. Let me redo it.\n"
                                              f"**Final answer:** {answer}")
    assert terminated and info["success"] and reward == 1.0
    env.close()
    env, answer = _ready_to_answer("dialogue/GSMQ-v0")
    _, reward, terminated, _, info = env.step(f"answer: {answer}\nHmm, no.\nanswer: {wrong}")
    assert terminated and not info["success"] and reward == 0.0
    env.close()
    env, answer = _ready_to_answer("dialogue/LogicQ-v0")
    other = "false" if answer == "true" else "true"
    _, reward, terminated, _, info = env.step(f"answer: {other}\nNo, that is wrong.\nanswer: {answer}")
    assert terminated and info["success"] and reward == 1.0
    env.close()
