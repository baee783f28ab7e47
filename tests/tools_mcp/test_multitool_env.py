"""tools/MultiTool-v0: registration, the contract under hostile input at every level, malformed
calls, tasks valid on many seeds (the oracle always right, the random agent almost never),
grading of the answer and of the state, and ToolRL's reward through real rollouts: the oracle at
the maximum on every episode, the random agent lower."""

from __future__ import annotations

import json
import random
import statistics

import pytest

import agentgym
from agentgym.envs.tools import TOOL_ENV_IDS
from agentgym.envs.tools.multitool.env import MultiToolEnv, last_number
from agentgym.envs.tools.multitool.exchange import CURRENCIES, TYPICAL_RATES, convert, draw_rates
from agentgym.envs.tools.multitool.tasks import draw_task
from agentgym.envs.tools.service.store import generate_world
from agentgym.info import ErrorKind
from agentgym.policies.random import RandomPolicy
from agentgym.policies.scripted import OraclePolicy
from agentgym.rewards import ToolRLReward
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.testing import check_llm_env, oracle_agent, play_episode, random_agent

ENV_ID = "tools/MultiTool-v0"
LEVELS = ("easy", "medium", "hard")
CALLS = {"easy": range(2, 3), "medium": range(3, 5), "hard": range(5, 20)}


def call(name: str, **arguments) -> str:
    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"


def test_registered_in_the_tools_family():
    assert ENV_ID in TOOL_ENV_IDS and agentgym.env_info(ENV_ID).family == "tools"
    assert "multitool-v0" in [suite.name for suite in agentgym.list_suites()]
    env = agentgym.make(ENV_ID)
    names = [tool["function"]["name"] for tool in env.reset(seed=0)[1]["tools"]]
    assert "convert_currency" in names and "place_order" in names and len(names) == 10


@pytest.mark.parametrize("level", LEVELS)
def test_agentgym_contract_with_hostile_actions(level):
    env = agentgym.make(ENV_ID, difficulty=level)
    check_llm_env(env, hostile=40)
    env.close()


@pytest.mark.parametrize("level", LEVELS)
def test_the_oracle_is_always_right_and_the_random_agent_almost_never(level):
    env = agentgym.make(ENV_ID, difficulty=level)
    for seed in range(100):
        episode = play_episode(env, oracle_agent, seed=seed, max_steps=30)
        assert episode["success"], (seed, env.unwrapped.task.instruction)
        assert len(env.unwrapped.gold_tool_calls) in CALLS[level]
    wins = sum(play_episode(env, random_agent(seed), seed=seed, max_steps=30)["success"] for seed in range(100))
    assert wins <= 3


def test_task_templates_all_occur_and_answers_are_their_last_conversion():
    kinds = set()
    for seed in range(60):
        rng = random.Random(seed)
        world, rates = generate_world(rng), draw_rates(rng)
        for level in LEVELS:
            task = draw_task(world, rates, level, rng)
            kinds.add(task.kind)
            last = task.gold_calls[-1]
            assert last["name"] == "convert_currency"
            assert convert(rates, **last["arguments"]) == task.answer
    assert len(kinds) == 8


def test_rates_stay_near_the_typical_ones():
    rates = draw_rates(random.Random(1))
    assert set(rates) == set(CURRENCIES) and rates["USD"] == 1.0
    assert all(abs(rates[code] / TYPICAL_RATES[code] - 1) <= 0.03 for code in CURRENCIES)


@pytest.mark.parametrize("text, number", [
    ("The answer is 123.45.", 123.45), ("It costs 1,234.50 EUR", 1234.5), ("-3.20", -3.2), ("−7", -7.0),
    ("between 2 and 3: 2.5", 2.5), ("no idea", None), ("", None),
])
def test_the_last_number_of_a_reply_is_the_answer(text, number):
    assert last_number(text) == number


def test_a_wrong_answer_or_a_stray_change_fails():
    env = agentgym.make(ENV_ID, difficulty="easy")
    env.reset(seed=2)
    _, reward, terminated, _, info = env.step(f"The answer is {env.unwrapped.task.answer + 1:.2f}.")
    assert (reward, terminated, info["answer_correct"], info["state_matches"]) == (0.0, True, False, True)
    env.reset(seed=2)
    customers = list(env.unwrapped.store_tools.world["customers"])
    assert env.step(call("transfer_credit", from_customer_id=customers[0], to_customer_id=customers[1],
                         amount=5))[4]["tool_results"][0]["ok"]
    _, reward, _, _, info = env.step(f"The answer is {env.unwrapped.task.answer:.2f}.")
    assert reward == 0.0 and info["answer_correct"] and not info["state_matches"]
    env.reset(seed=2)
    assert env.step("   ")[4]["error_kind"] == ErrorKind.INVALID_ACTION


@pytest.mark.parametrize("action, kind, message", [
    (call("convert_currency", amount=10, from_currency="USD", to_currency="XYZ"), ErrorKind.TOOL, "must be one of"),
    (call("convert_currency", amount="ten", from_currency="USD", to_currency="EUR"), ErrorKind.TOOL,
     "must be a number"),
    (call("convert_currency", amount=1e15, from_currency="USD", to_currency="EUR"), ErrorKind.TOOL, "too large"),
    (call("convert_currency", from_currency="USD", to_currency="EUR"), ErrorKind.TOOL, "missing required"),
    (call("admin_state"), ErrorKind.TOOL, "unknown tool"),
    (call("get_customer", customer_id="C-101", env="x"), ErrorKind.TOOL, "unknown argument"),
    ("<tool_call>{not json}</tool_call>", ErrorKind.FORMAT, "not valid JSON"),
    ('<tool_call>{"name": "get_order"', ErrorKind.FORMAT, ""),
])
def test_malformed_calls_are_errors_that_change_nothing(action, kind, message):
    env = agentgym.make(ENV_ID)
    env.reset(seed=0)
    before = json.dumps(env.unwrapped.store_tools.world, sort_keys=True)
    observation, reward, terminated, _, info = env.step(action)
    assert info["error_kind"] == kind and message in observation and (reward, terminated) == (0.0, False)
    assert json.dumps(env.unwrapped.store_tools.world, sort_keys=True) == before


def test_bad_constructor_arguments_are_config_errors():
    with pytest.raises(agentgym.ConfigError):
        MultiToolEnv("expert")


def test_toolrl_scores_every_oracle_episode_at_the_maximum_and_the_random_agent_lower():
    tasks = [Task(ENV_ID, seed, {"difficulty": level}) for level in LEVELS for seed in range(4)]
    config = RolloutConfig(max_concurrent_episodes=12)
    oracle = rollout(OraclePolicy(), tasks, config, progress=False).trajectories
    randomly = rollout(RandomPolicy(seed=0), tasks, config, progress=False).trajectories
    ToolRLReward()(oracle + randomly)
    oracle_scores = [t.turns[-1].reward_components["toolrl"] for t in oracle]
    random_scores = [t.turns[-1].reward_components["toolrl"] for t in randomly]
    assert all(t.success and t.metadata["gold_tool_calls"] for t in oracle)
    assert oracle_scores == [4.0] * len(tasks)  # format 1 + R_max 3
    assert max(random_scores) < 4.0 and statistics.mean(random_scores) < 1.0
    assert all(t.metadata["reference_answer"] for t in oracle)  # the answer, kept from the policy
