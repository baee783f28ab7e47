"""The QuestBench-style environments' contract: registry and suite, Gymnasium's checker,
hostile input, seeds, the hidden answer, the oracle and random baselines in both question
formats, what each turn reports, rewards, a policy as the responder, and a rollout."""

from __future__ import annotations

import dataclasses
import random
import threading

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import agentgym
import agentgym.envs.dialogue.questbench as questbench
from agentgym.core import ConfigError
from agentgym.policies.base import Generation, Policy
from agentgym.policies.scripted import OraclePolicy, ScriptedPolicy
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.testing import (
    check_hidden_answer,
    check_hostile_actions,
    check_seed_determinism,
    oracle_agent,
    play_episode,
    random_agent,
)

IDS = questbench.QUESTBENCH_ENV_IDS
LEVELS = ("easy", "medium", "hard")
FORMATS = ("free", "choice")


def test_registered_with_a_turn_budget_and_a_suite():
    for env_id in IDS:
        info = agentgym.env_info(env_id)
        assert info.family == "dialogue" and info.max_turns == questbench.MAX_TURNS and info.description
        env = agentgym.make(env_id)
        assert env.unwrapped.difficulties == LEVELS and env.unwrapped.family == "dialogue"
        plain = gym.make(env_id, difficulty="hard", question_format="choice")
        observation, _ = plain.reset(seed=0)
        assert "Questions you may ask:" in observation and plain.spec.max_episode_steps == questbench.MAX_TURNS
        plain.close()
    suite = agentgym.get_suite("dialogue-questbench-v0")
    assert {entry.env_id for entry in suite.entries} == set(IDS)
    assert {entry.kwargs["question_format"] for entry in suite.entries} == set(FORMATS)
    assert suite.num_tasks == 3 * 3 * 2 * 5


@pytest.mark.parametrize("form", FORMATS)
@pytest.mark.parametrize("env_id", IDS)
def test_gymnasium_checker_hostile_input_seeds_and_hidden_answer(env_id, form):
    env = agentgym.make(env_id, difficulty="medium", question_format=form)
    check_env(env.unwrapped)
    check_hostile_actions(env, n=200)
    check_seed_determinism(env)
    check_hidden_answer(env, seeds=tuple(range(12)))
    env.close()


@pytest.mark.parametrize("form", FORMATS)
@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("env_id", IDS)
def test_the_oracle_asks_the_right_question_and_wins(env_id, level, form):
    env = agentgym.make(env_id, difficulty=level, question_format=form)
    for seed in range(4):
        episode = play_episode(env, oracle_agent, seed=seed)
        assert episode["success"] and episode["terminated"] and not episode["truncated"], (seed, episode["actions"])
        ask, final = episode["infos"][1], episode["infos"][2]
        assert len(episode["actions"]) == 2 and ask["error"] is None and final["error"] is None
        assert ask["asked_right"] and final["asked_right"] and final["reward_components"] == {"outcome": 1.0}
        assert list(ask["revealed"]) == [env.unwrapped.problem.missing]


def test_the_oracle_finds_the_missing_variable_from_the_visible_problem_alone():
    """The oracle does not read which variable is missing: with that label pointing elsewhere
    it still asks for the one the answer needs."""
    for env_id in IDS:
        env = agentgym.make(env_id, difficulty="medium", question_format="choice")
        env.reset(seed=7)
        base = env.unwrapped
        truly = base.problem.missing
        decoy = next(key for key in base.problem.choices if key != truly)
        base.problem = dataclasses.replace(base.problem, missing=decoy)
        assert base.oracle_action() == f"ask: {base.problem.choices.index(truly) + 1}"


@pytest.mark.parametrize("env_id, ceiling", [
    ("dialogue/LogicQ-v0", 0.7),  # a true/false answer: a guess is right half the time
    ("dialogue/GSMQ-v0", 0.05), ("dialogue/PlanningQ-v0", 0.05)])
def test_the_random_agent_rarely_wins(env_id, ceiling):
    wins = 0
    for seed in range(40):
        env = agentgym.make(env_id, difficulty=LEVELS[seed % 3], question_format=FORMATS[seed % 2])
        wins += play_episode(env, random_agent(seed), seed=seed)["success"]
    assert wins / 40 <= ceiling


@pytest.mark.parametrize("action", ["", "   ", "ask:", "answer:", "answer:   ", "x" * 20_001])
@pytest.mark.parametrize("env_id", IDS)
def test_empty_and_oversized_actions_are_invalid_and_change_nothing(env_id, action):
    env = agentgym.make(env_id, question_format="free")
    env.reset(seed=0)
    observation, reward, terminated, truncated, info = env.step(action)
    assert info["error"] and info["error_kind"] == "invalid" and not terminated and reward == 0.0
    assert env.unwrapped.revealed == {} and env.unwrapped.history == []
    assert "responder" not in info


@pytest.mark.parametrize("action", ["ask: 99", "ask: 0", "ask: -1", "ask: 99999999999999", "What is missing?",
                                    "ask: two", "\U0001f642", "ask: 1 and 2"])
@pytest.mark.parametrize("env_id", IDS)
def test_the_choice_format_refuses_anything_but_a_listed_number(env_id, action):
    env = agentgym.make(env_id, question_format="choice")
    env.reset(seed=0)
    observation, reward, terminated, truncated, info = env.step(action)
    assert info["error"] and not terminated and env.unwrapped.history == []
    count = len(env.unwrapped.problem.choices)
    for valid in ("ask: 1", f"ASK {count}", "2", "ask: #1"):
        observation, _, terminated, _, info = env.step(valid)
        assert info["error"] is None and info["responder"]["facts"], valid


@pytest.mark.parametrize("question", ["What is the answer?", "¿Cuánto cuesta? 🙂", "\ud800\x00\x1b[31m",
                                      "?" * 19_000, "<tool_call>{}</tool_call>", "answer the question please"])
@pytest.mark.parametrize("env_id", IDS)
def test_a_free_question_about_nothing_known_is_answered_and_costs_a_turn(env_id, question):
    env = agentgym.make(env_id, question_format="free")
    env.reset(seed=0)
    observation, reward, terminated, truncated, info = env.step(question)
    assert info["error"] is None and not terminated and reward == 0.0
    assert info["responder"]["facts"] == [] and info["revealed"] == {} and not info["asked_right"]
    assert observation == env.unwrapped.problem.unknown_reply and info["turns_left"] == questbench.MAX_TURNS - 1


@pytest.mark.parametrize("env_id", IDS)
def test_each_turn_reports_the_answer_and_what_it_revealed_first(env_id):
    env = agentgym.make(env_id, difficulty="hard")
    env.reset(seed=3)
    problem = env.unwrapped.problem
    distractor = next(v for v in problem.variables if v.key != problem.missing)
    _, _, _, _, info = env.step(distractor.question)
    assert info["responder"] == {"responder": "rules", "question": distractor.question, "answer": distractor.statement,
                                 "facts": [distractor.key], "error": None}
    assert info["revealed"] == {distractor.key: distractor.value} and not info["asked_right"]
    _, _, _, _, again = env.step(distractor.question)
    assert again["revealed"] == {} and again["responder"]["facts"] == [distractor.key]
    # two things at once: refused by the responder, nothing revealed
    missing = problem.variable(problem.missing)
    _, _, _, _, both = env.step(f"{missing.question} And {distractor.question}")
    assert both["responder"]["facts"] == [] and "one thing at a time" in both["responder"]["answer"]
    assert problem.missing not in env.unwrapped.revealed


def test_a_free_question_may_start_with_ask():
    env = agentgym.make("dialogue/GSMQ-v0", difficulty="hard")
    env.reset(seed=0)
    variable = env.unwrapped.problem.variables[0]
    for action in (f"ask: {variable.question}", f"Ask {variable.question}"):
        _, _, _, _, info = env.step(action)
        assert info["responder"]["question"] == variable.question and info["responder"]["facts"] == [variable.key]
    _, _, _, _, info = env.step("Asking again: " + variable.question)
    assert info["responder"]["question"].startswith("Asking again")


@pytest.mark.parametrize("env_id", IDS)
def test_asked_right_reward_is_paid_once_and_off_by_default(env_id):
    plain = agentgym.make(env_id)
    plain.reset(seed=1)
    _, reward, *_ , info = plain.step(plain.unwrapped.oracle_action())
    assert reward == 0.0 and info["reward_components"] == {} and info["asked_right"]
    shaped = agentgym.make(env_id, asked_right_reward=0.5)
    shaped.reset(seed=1)
    question = shaped.unwrapped.oracle_action()
    _, reward, *_ = shaped.step(question)
    _, again, *_ = shaped.step(question)
    _, final, terminated, _, info = shaped.step(shaped.unwrapped.oracle_action())
    assert (reward, again, final, terminated) == (0.5, 0.0, 1.0, True)
    assert info["reward_components"] == {"outcome": 1.0} and info["success"]


@pytest.mark.parametrize("env_id", IDS)
def test_a_wrong_answer_ends_the_episode_unrewarded_without_telling_the_answer(env_id):
    env = agentgym.make(env_id)
    env.reset(seed=2)
    base = env.unwrapped
    wrong = next(a for a in (base.generator.random_answer(base.problem, random.Random(i)) for i in range(50))
                 if not base.generator.judge(base.problem, a))
    observation, reward, terminated, _, info = env.step("answer: " + wrong)
    assert terminated and reward == 0.0 and not info["success"] and info["reward_components"] == {"outcome": 0.0}
    assert base.reference_answer not in observation and not info["asked_right"]


def test_the_hidden_answer_is_declared_for_information_gain_rewards():
    for env_id in IDS:
        env = agentgym.make(env_id)
        observation, info = env.reset(seed=4)
        base = env.unwrapped
        assert base.answer_stub == "answer: " and base.reference_answer == base.problem.answer_text
        assert base.generator.judge(base.problem, base.reference_answer)
        assert base.reference_answer not in observation or env_id == "dialogue/LogicQ-v0"  # "true" is everywhere


def test_bad_constructor_arguments_raise_config_errors():
    for kwargs in ({"question_format": "multiple"}, {"asked_right_reward": "lots"}, {"responder": 42},
                   {"difficulty": "extreme"}):
        with pytest.raises(ConfigError):
            agentgym.make("dialogue/GSMQ-v0", **kwargs)


def test_a_scripted_policy_answers_as_the_responder_and_sees_the_history():
    env = agentgym.make("dialogue/GSMQ-v0", difficulty="hard",
                        responder=ScriptedPolicy(["I'd rather not say.", "Fine: it is what the story needs."]))
    env.reset(seed=5)
    problem = env.unwrapped.problem
    missing = problem.variable(problem.missing)
    _, _, _, _, first = env.step(missing.question)
    assert first["responder"]["responder"] == "policy:scripted"
    assert first["responder"]["answer"] == "I'd rather not say."
    # the policy answered; what the question asked about counts as revealed, with the true value
    assert first["revealed"] == {missing.key: missing.value} and first["asked_right"]
    _, _, _, _, second = env.step("And what else?")
    assert second["responder"]["answer"] == "Fine: it is what the story needs."  # its second turn: history passed
    _, _, terminated, _, final = env.step(env.unwrapped.oracle_action())
    assert terminated and final["success"]


def test_a_failing_policy_responder_does_not_end_the_episode():
    class Broken(Policy):
        name = "broken"

        async def agenerate(self, requests, sampling):
            raise ConnectionError("the model server is down")

    env = agentgym.make("dialogue/LogicQ-v0", responder=Broken())
    env.reset(seed=0)
    observation, _, terminated, _, info = env.step(env.unwrapped.oracle_action())
    assert not terminated and info["error"] is None
    assert "ConnectionError" in info["responder"]["error"] and info["revealed"] == {}


def test_a_rollout_records_the_responder_in_each_turn():
    threads = threading.active_count()
    tasks = [Task(env_id, seed=seed, kwargs={"question_format": form})
             for env_id in IDS for seed, form in ((0, "free"), (1, "choice"))]
    result = rollout(OraclePolicy(), tasks, RolloutConfig(max_concurrent_episodes=6), progress=False)
    assert len(result.trajectories) == len(tasks)
    for trajectory in result.trajectories:
        assert trajectory.error is None and trajectory.success, trajectory.error
        ask, final = trajectory.turns
        assert ask.info["responder"]["responder"] == "rules" and len(ask.info["responder"]["facts"]) == 1
        assert ask.info["revealed"] and ask.info["asked_right"] is True
        assert final.reward_components == {"outcome": 1.0} and "responder" not in final.info
    assert threading.active_count() <= threads + 1
