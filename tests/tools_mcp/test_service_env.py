"""tools/Service-v0 over its real MCP server: registration, the agentgym contract under hostile
input at every level, malformed tool calls of every kind (hidden admin tools included), the
oracle reaching the goal on every seed, the random agent failing, state isolation between
episodes and between environments, success judged on the state, closing while a call hangs
(directly and by the rollout engine's step timeout), and ToolRL's reward through real
rollouts."""

from __future__ import annotations

import json
import threading
import time

import psutil
import pytest

import agentgym
from agentgym.envs.tools import TOOL_ENV_IDS
from agentgym.envs.tools.service.env import DONE, ServiceEnv
from agentgym.info import ErrorKind
from agentgym.policies.random import RandomPolicy
from agentgym.policies.scripted import OraclePolicy
from agentgym.rewards import ToolRLReward
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.testing import check_llm_env, oracle_agent, play_episode, random_agent
from agentgym.vector import HungEnvironmentWarning
from agentgym.wrappers import ToolCalling

ENV_ID = "tools/Service-v0"
LEVELS = ("easy", "medium", "hard")
CALLS = {"easy": range(1, 3), "medium": range(3, 6), "hard": range(6, 20)}


@pytest.fixture(scope="module")
def envs():
    made = {level: agentgym.make(ENV_ID, difficulty=level) for level in LEVELS}  # one server each
    yield made
    for env in made.values():
        env.close()


def call(name: str, **arguments) -> str:
    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"


def gold_action(gold: dict) -> str:
    return call(gold["name"], **gold["arguments"])


# ------------------------------------------------------------------ registration and contract
def test_registered_in_the_tools_family():
    assert ENV_ID in TOOL_ENV_IDS
    info = agentgym.env_info(ENV_ID)
    assert info.family == "tools" and {"mcp", "stateful", "gold-calls"} <= set(info.tags) and info.max_turns == 24
    assert "service-v0" in [suite.name for suite in agentgym.list_suites()]


@pytest.mark.parametrize("level", LEVELS)
def test_agentgym_contract_with_hostile_actions(envs, level):
    check_llm_env(envs[level], hostile=40)


@pytest.mark.parametrize("level", LEVELS)
def test_the_oracle_reaches_the_goal_on_every_seed(envs, level):
    env = envs[level]
    for seed in range(12):
        episode = play_episode(env, oracle_agent, seed=seed, max_steps=30)
        gold = env.unwrapped.gold_tool_calls
        assert episode["success"] and episode["return"] == 1.0, (seed, env.unwrapped.task.instruction)
        assert len(gold) in CALLS[level] and episode["actions"][-1] == DONE
        assert [json.loads(a[11:-12]) for a in episode["actions"][:-1]] == gold  # one gold call per turn


@pytest.mark.parametrize("level", LEVELS)
def test_the_random_agent_rarely_succeeds(envs, level):
    wins = sum(play_episode(envs[level], random_agent(seed), seed=seed, max_steps=30)["success"] for seed in range(20))
    assert wins <= 1


def test_bad_constructor_arguments_are_config_errors():
    for kwargs in ({"difficulty": "expert"}, {"latency": -1}, {"call_timeout": 0}, {"startup_timeout": "1"}):
        with pytest.raises(agentgym.ConfigError):
            ServiceEnv(**kwargs)


# ------------------------------------------------------------------ malformed calls
MALFORMED_MARKUP = [
    "<tool_call>{not json}</tool_call>",
    '<tool_call>{"arguments": {"customer_id": "C-101"}}</tool_call>',
    '<tool_call>{"name": "get_customer", "arguments": {"customer_id": "C-101"}}',
    "</tool_call>",
    "<tool_call></tool_call>",
    '<tool_call>{"name": ["get_customer"], "arguments": {}}</tool_call>',
    '<tool_call>{"name": "get_customer", "arguments": "C-101"}</tool_call>',  # arguments as text must be JSON
    '{"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "get_customer", '
    '"arguments": "{broken"}}]}',
]
BAD_CALLS = [  # (action, what the agent must read)
    (call("admin_state"), "unknown tool"),  # the hidden tools do not exist for the agent
    (call("admin_load", world={}), "unknown tool"),
    (call("drop_table"), "unknown tool"),
    (call("x" * 100_000), "unknown tool"),
    ('<tool_call>{"name": "get_customer", "arguments": ["C-101"]}</tool_call>', "must be a JSON object"),
    (call("get_customer"), "missing required argument"),
    (call("get_customer", customer_id=["C-101"]), "must be a string"),
    (call("get_customer", customer_id="C-101", extra=1), "unknown argument"),
    (call("place_order", customer_id="C-101", items={"SKU-1001": 1.5}), "must be an integer"),
    (call("place_order", customer_id="C-101", items={"SKU-1001": -2}), "at least 1"),
    (call("place_order", customer_id="C-101", items=["SKU-1001"]), "must be an object"),
    (call("transfer_credit", from_customer_id="C-101", to_customer_id="C-102", amount=True), "must be an integer"),
    ('<tool_call>{"name": "transfer_credit", "arguments": {"from_customer_id": "C-101", "to_customer_id": '
     '"C-102", "amount": 1e400}}</tool_call>', "must be an integer"),
    (call("schedule_delivery", order_id="O-5001", day="next Tuesday"), "not a delivery day"),
    (call("place_order", customer_id="C-101", items={}), "at least one item"),
]


@pytest.mark.parametrize("action", MALFORMED_MARKUP)
def test_malformed_markup_is_a_format_error_that_changes_nothing(envs, action):
    env = envs["easy"]
    env.reset(seed=3)
    before = env.unwrapped.final_world()
    observation, reward, terminated, truncated, info = env.step(action)
    assert info["error_kind"] == ErrorKind.FORMAT and observation.startswith("Tool call error:")
    assert (reward, terminated) == (0.0, False) and env.unwrapped.final_world() == before


@pytest.mark.parametrize("action, message", BAD_CALLS)
def test_bad_calls_are_tool_errors_that_change_nothing(envs, action, message):
    env = envs["easy"]
    env.reset(seed=3)
    before = env.unwrapped.final_world()
    observation, reward, terminated, truncated, info = env.step(action)
    assert info["error_kind"] == ErrorKind.TOOL and not info["tool_results"][0]["ok"], observation[:300]
    assert message in info["tool_results"][0]["content"] and len(observation) < 2_000
    assert (reward, terminated) == (0.0, False) and env.unwrapped.final_world() == before


def test_more_calls_than_one_action_may_make_are_refused_together(envs):
    env = envs["easy"]
    env.reset(seed=3)
    _, _, _, _, info = env.step(call("list_delivery_days") * 20)
    assert info["tool_calls"] == 16 and info["tool_calls_refused"] == 4


def test_an_empty_reply_is_invalid_and_any_other_reply_ends_the_episode(envs):
    env = envs["easy"]
    env.reset(seed=3)
    _, _, terminated, _, info = env.step("   ")
    assert not terminated and info["error_kind"] == ErrorKind.INVALID_ACTION
    observation, reward, terminated, _, info = env.step("I could not do it, sorry.")
    assert terminated and reward == 0.0 and not info["success"] and info["state_differences"]
    assert "not in the expected state" in observation


# ------------------------------------------------------------------ state: judged, isolated
def test_success_is_judged_on_the_state_not_on_the_calls(envs):
    env = envs["medium"]
    env.reset(seed=4)
    writes = [gold for gold in env.unwrapped.gold_tool_calls
              if gold["name"] in ("place_order", "cancel_order", "transfer_credit", "schedule_delivery")]
    customers = list(env.unwrapped.world["customers"])
    # a detour that leaves no trace (credit moved and moved back), then only the writes, no lookups
    env.step(call("transfer_credit", from_customer_id=customers[0], to_customer_id=customers[1], amount=1))
    env.step(call("transfer_credit", from_customer_id=customers[1], to_customer_id=customers[0], amount=1))
    for gold in writes:
        assert env.step(gold_action(gold))[4]["tool_results"][0]["ok"]
    _, reward, terminated, _, info = env.step("Done.")
    assert (reward, terminated, info["success"], info["state_differences"]) == (1.0, True, True, [])
    env.reset(seed=4)
    env.step(call("transfer_credit", from_customer_id=customers[0], to_customer_id=customers[1], amount=1))
    for gold in writes:
        env.step(gold_action(gold))
    _, reward, _, _, info = env.step("Done.")  # the same calls plus one lasting change: a failure
    assert reward == 0.0 and any("balance of" in line for line in info["state_differences"])


def test_each_episode_starts_from_its_own_world_on_the_same_server(envs):
    env = envs["easy"]
    env.reset(seed=11)
    pid, initial = env.unwrapped.server.server_pid, env.unwrapped.final_world()
    assert initial == env.unwrapped.world
    for gold in env.unwrapped.gold_tool_calls:
        env.step(gold_action(gold))
    assert env.unwrapped.final_world() != initial
    env.reset(seed=11)  # abandons the episode: the same world again, none of its writes
    assert env.unwrapped.final_world() == initial and env.unwrapped.server.server_pid == pid
    env.reset(seed=12)
    assert env.unwrapped.final_world() != initial


def test_two_environments_do_not_see_each_others_writes(envs):
    first, second = envs["easy"], agentgym.make(ENV_ID, difficulty="easy")
    try:
        first.reset(seed=7)
        second.reset(seed=7)
        assert first.unwrapped.server.server_pid != second.unwrapped.server.server_pid
        world = second.unwrapped.final_world()
        for gold in first.unwrapped.gold_tool_calls:
            first.step(gold_action(gold))
        assert first.unwrapped.final_world() != world and second.unwrapped.final_world() == world
    finally:
        second.close()


# ------------------------------------------------------------------ hung calls
def test_closing_from_another_thread_ends_a_hung_call_and_the_server(resources):
    env = ToolCalling(ServiceEnv("easy", latency=3600))
    env.reset(seed=0)
    pid = env.unwrapped.server.server_pid
    result: dict = {}
    stepping = threading.Thread(target=lambda: result.setdefault("step", env.step(call("list_delivery_days"))))
    stepping.start()
    stepping.join(0.5)
    assert stepping.is_alive()  # the call hangs on the server
    started = time.perf_counter()
    env.close()
    stepping.join(5)
    assert not stepping.is_alive() and time.perf_counter() - started < 3
    assert not result["step"][4]["tool_results"][0]["ok"]
    assert not psutil.pid_exists(pid)
    resources.assert_released()


def test_a_slow_call_times_out_and_the_next_episode_gets_a_new_server(resources):
    env = ToolCalling(ServiceEnv("easy", latency=1.0, call_timeout=0.3))
    env.reset(seed=0)
    pid = env.unwrapped.server.server_pid
    _, _, _, _, info = env.step(call("list_delivery_days"))
    result = info["tool_results"][0]
    assert not result["ok"] and "did not finish within 0.3 seconds" in result["content"]
    env.reset(seed=0)  # the timed-out call might still land: a new server, the same world
    assert env.unwrapped.server.server_pid != pid and not psutil.pid_exists(pid)
    assert env.unwrapped.final_world() == env.unwrapped.world
    env.close()
    resources.assert_released()


def test_the_rollout_engines_step_timeout_abandons_a_hung_episode(resources):
    with pytest.warns(HungEnvironmentWarning):
        result = rollout(OraclePolicy(), [Task(ENV_ID, 0, {"latency": 3600})], RolloutConfig(step_timeout=2.0),
                         progress=False)
    (trajectory,) = result.trajectories
    assert trajectory.error_kind == ErrorKind.TIMEOUT.value and not trajectory.success
    resources.assert_released(timeout=15)


# ------------------------------------------------------------------ ToolRL through rollouts
def test_toolrl_scores_the_oracle_at_its_maximum_and_the_random_agent_lower():
    tasks = [Task(ENV_ID, 5, {"difficulty": "medium"})]  # an episode starts a server: one task here,
    oracle = rollout(OraclePolicy(), tasks, progress=False).trajectories  # many in the MultiTool tests
    randomly = rollout(RandomPolicy(seed=0), tasks, progress=False).trajectories
    reward = ToolRLReward()
    reward(oracle + randomly)
    for trajectory in oracle:
        assert trajectory.success and trajectory.metadata["gold_tool_calls"]
        assert trajectory.turns[-1].reward_components["toolrl"] == 4.0  # format 1 + R_max 3
    for trajectory in randomly:
        assert trajectory.metadata["gold_tool_calls"] and trajectory.turns[-1].reward_components["toolrl"] < 4.0
