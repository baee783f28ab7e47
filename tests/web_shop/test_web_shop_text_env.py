"""``web/Shop-v0``: the environment contract, the action language, the reward in ``info``, the
oracle (1.0 on 20 seeds) and the random agent."""

from __future__ import annotations

import random

import pytest

import agentgym
import agentgym.envs.web.shop  # noqa: F401  (registers web/Shop-v0, web/ShopBrowser-v0 and the suites)
from agentgym.core import ConfigError
from agentgym.envs.web.shop.oracle import Move
from agentgym.envs.web.shop.text_env import ShopEnv, parse_shop_action
from agentgym.info import ErrorKind
from agentgym.suites import get_suite
from agentgym.testing import check_llm_env


def play(env, act, seed, max_steps=60):
    observation, _ = env.reset(seed=seed)
    for step in range(max_steps):
        observation, reward, terminated, truncated, info = env.step(act(env))
        if terminated or truncated:
            return reward, info, step + 1
    raise AssertionError(f"seed {seed}: the episode did not end in {max_steps} steps")


def test_the_environment_contract():
    env = agentgym.make("web/Shop-v0")
    try:
        check_llm_env(env)
    finally:
        env.close()


def test_registration_and_suites():
    env = agentgym.make("web/Shop-v0", difficulty="easy", size=800, seed=2)
    assert env.unwrapped.shop.size == 800 and env.unwrapped.difficulty == "easy"
    assert agentgym.env_info("web/Shop-v0").max_turns == 30 and agentgym.env_info("web/Shop-v0").family == "web"
    assert agentgym.env_info("web/ShopBrowser-v0").entry_point.endswith("browser_env:ShopBrowserEnv")
    suite = get_suite("web-shop-v0")
    assert {(e.env_id, e.kwargs["difficulty"], len(e.seeds)) for e in suite.entries} == {
        ("web/Shop-v0", "easy", 25), ("web/Shop-v0", "hard", 25)}
    for bad in ({"size": 0}, {"size": "big"}, {"seed": -1}, {"size": 10**6}, {"difficulty": "medium"}):
        with pytest.raises(ConfigError):
            ShopEnv(**bad)


def test_the_oracle_buys_a_perfect_product_on_20_seeds():
    env = agentgym.make("web/Shop-v0")
    steps = []
    for seed in range(20):
        reward, info, used = play(env, lambda e: e.unwrapped.oracle_action(), seed)
        goal = env.unwrapped.goal
        assert reward == 1.0 and info["success"] is True, (seed, goal.text, info)
        assert info["purchase"]["product_id"] in goal.goal_ids
        assert info["purchase"]["options"] == dict(goal.options)
        assert info["reward_breakdown"]["reward"] == 1.0 and info["reward_components"] == {"outcome": 1.0}
        steps.append(used)
    assert all(3 <= n <= 8 for n in steps)  # search, open, one click per option, buy
    env.close()


def test_the_random_agent_ends_its_episodes():
    env = agentgym.make("web/Shop-v0", difficulty="easy")
    rng = random.Random(0)
    ended = bought = 0
    for seed in range(30):
        env.reset(seed=seed)
        for _ in range(40):
            _, reward, terminated, truncated, info = env.step(env.unwrapped.random_action(rng))
            assert info["error"] is None  # its actions are always possible
            if terminated or truncated:
                ended += 1
                bought += terminated
                if terminated:
                    assert 0.0 <= reward <= 1.0 and info["success"] == (reward == 1.0)
                break
    env.close()
    assert ended == 30 and bought > 0


def test_actions_are_parsed_from_the_last_line():
    assert parse_shop_action("search[red hat]") == Move("search", "red hat")
    assert parse_shop_action("I should open it.\nAction: `click[ B0ABCDEFGH ]`\n\n") == Move("click", "B0ABCDEFGH")
    assert parse_shop_action("CLICK [< Prev]") == Move("click", "< Prev")
    assert parse_shop_action("search[a [b] c]") == Move("search", "a [b] c")
    for bad in ("", "   \n ", "click[Buy Now] because", "buy[it]", "search red hat", "click[x]\nthen more"):
        assert parse_shop_action(bad) is None, bad


def test_errors_show_the_page_and_change_nothing():
    env = ShopEnv(invalid_penalty=0.25)
    first, _ = env.reset(seed=4)
    observation, reward, terminated, _, info = env.step("let me think")
    assert info["error_kind"] == ErrorKind.FORMAT and reward == -0.25 and not terminated
    assert observation.startswith(first.split("\n")[0]) and "Error: write one action" in observation
    assert observation.replace(f"Error: {info['error']}\n\n", "") == first
    observation, reward, _, _, info = env.step("click[Buy Now]")
    assert info["error_kind"] == ErrorKind.INVALID_ACTION and "nothing to click" in info["error"]
    env.step("search[t-shirt]")
    observation, _, _, _, info = env.step("click[B0NOTHERE1]")
    assert "you can click: Back to Search, Next >, B0" in observation and info["page"] == "results"
    env.close()


def test_the_goal_stays_hidden():
    env = ShopEnv()
    for seed in range(10):
        observation, info = env.reset(seed=seed)
        goal = env.goal
        assert goal.target_id not in observation and goal.target_title not in observation
        assert goal.text in observation and env.reference_answer is None
    env.close()


def test_the_oracle_before_reset_asks_for_a_reset():
    """It was an ``assert`` (an AssertionError, and under ``python -O`` an AttributeError deeper)."""
    import agentgym

    env = agentgym.make("web/Shop-v0")
    try:
        with pytest.raises(RuntimeError, match="no episode is running; call reset"):
            env.unwrapped.oracle_action()
    finally:
        env.close()
