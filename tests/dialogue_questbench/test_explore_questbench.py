"""Defects found by exploratory testing of the QuestBench environments from a user's side."""

from __future__ import annotations

import pytest

import agentgym

ENV_IDS = ("dialogue/LogicQ-v0", "dialogue/GSMQ-v0", "dialogue/PlanningQ-v0")


def _ready_to_answer(env_id: str, question_format: str):
    """An episode where the oracle has asked what it needs; returns it and the oracle's answer."""
    env = agentgym.make(env_id, difficulty="easy", question_format=question_format)
    env.reset(seed=0)
    while not (action := env.unwrapped.oracle_action()).startswith("answer:"):
        env.step(action)
    return env, action[len("answer:"):].strip()


@pytest.mark.parametrize("question_format", ["free", "choice"])
@pytest.mark.parametrize("written", ["**Answer:** {}", "**Answer**: {}", "> answer: {}", "### Final answer: {}",
                                     "*answer:* {}"])
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_a_final_answer_in_markdown_is_the_final_answer(env_id, written, question_format):
    """Markdown emphasis, a heading or a quote mark around ``answer:`` still gives the final
    answer: it is judged and ends the episode, not asked as a question (nor refused)."""
    env, answer = _ready_to_answer(env_id, question_format)
    _, reward, terminated, _, info = env.step(written.format(answer))
    assert info["error"] is None and terminated
    assert info["success"] and reward == 1.0


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_a_question_that_mentions_the_answer_is_still_a_question(env_id):
    env = agentgym.make(env_id, difficulty="easy")
    env.reset(seed=0)
    _, _, terminated, _, info = env.step("What should my answer: depend on?")
    assert not terminated and "responder" in info


@pytest.mark.parametrize("said, asserts", [("not true", False), ("it is not false", True), ("NOT TRUE.", False),
                                           ("not  false", True)])
def test_logic_q_reads_a_negated_truth_value_as_its_opposite(said, asserts):
    """``answer: not true`` asserts false and is judged so, not as true (which rewarded it
    exactly when the goal was true)."""
    env, answer = _ready_to_answer("dialogue/LogicQ-v0", "free")
    _, reward, terminated, _, info = env.step(f"answer: {said}")
    assert terminated and info["error"] is None
    assert info["success"] == (asserts == (answer == "true"))
