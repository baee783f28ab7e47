"""The contract every game keeps, checked for each game at each difficulty.

Game-specific rules (scoring, generation, opponents) are tested in ``test_<game>.py`` beside
this file.
"""

from __future__ import annotations

import pytest

import agentgym
from agentgym.envs.games import GAME_IDS
from agentgym.testing import (
    check_hidden_answer,
    check_hostile_actions,
    check_seed_determinism,
    oracle_agent,
    play_episode,
)
from gymnasium.utils.env_checker import check_env

LEVELS = ("easy", "medium", "hard")
ORACLE_SEEDS = range(5)


@pytest.mark.parametrize("env_id", GAME_IDS)
def test_registered_with_three_levels(env_id):
    env = agentgym.make(env_id)
    assert env.unwrapped.difficulties == LEVELS
    assert env.unwrapped.family == "games"
    assert agentgym.env_info(env_id).description


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("env_id", GAME_IDS)
def test_gymnasium_check_env(env_id, level):
    env = agentgym.make(env_id, difficulty=level, render_mode="ansi")
    check_env(env.unwrapped)
    env.reset(seed=0)
    assert isinstance(env.render(), str) and env.render()


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("env_id", GAME_IDS)
def test_oracle_wins(env_id, level):
    env = agentgym.make(env_id, difficulty=level)
    for seed in ORACLE_SEEDS:
        episode = play_episode(env, oracle_agent, seed=seed)
        assert episode["success"], f"oracle lost {env_id} {level} seed {seed}"
        assert episode["terminated"] and not episode["truncated"]
        assert all(info["error"] is None for info in episode["infos"][1:]), "oracle made an invalid move"


@pytest.mark.parametrize("env_id", GAME_IDS)
def test_dense_reward_rewards_the_oracle(env_id):
    """With dense_reward the oracle collects positive progress; without it there is none."""
    sparse = play_episode(agentgym.make(env_id, difficulty="medium"), oracle_agent, seed=3)
    dense = play_episode(agentgym.make(env_id, difficulty="medium", dense_reward=True), oracle_agent, seed=3)
    assert all("progress" not in info["reward_components"] for info in sparse["infos"][1:])
    progress = sum(info["reward_components"].get("progress", 0.0) for info in dense["infos"][1:])
    assert progress > 0, f"{env_id}: dense_reward gave no progress reward to the oracle"


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("env_id", GAME_IDS)
def test_hostile_actions_never_raise(env_id, level):
    check_hostile_actions(agentgym.make(env_id, difficulty=level), n=300)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("env_id", GAME_IDS)
def test_same_seed_same_episode(env_id, level):
    check_seed_determinism(agentgym.make(env_id, difficulty=level))


@pytest.mark.parametrize("env_id", GAME_IDS)
def test_hidden_answer_declared_and_hidden(env_id):
    env = agentgym.make(env_id, difficulty="medium")
    env.reset(seed=0)
    answer, stub = env.unwrapped.reference_answer, env.unwrapped.answer_stub
    if "hidden-answer" in agentgym.env_info(env_id).tags:
        assert isinstance(answer, str) and answer, "hidden-answer game without a reference answer"
        assert isinstance(stub, str) and stub
        check_hidden_answer(env)
    else:
        assert answer is None


@pytest.mark.parametrize("env_id", GAME_IDS)
def test_random_actions_are_mostly_legal(env_id):
    """A random agent is a baseline, not a garbage generator: most of its moves are legal."""
    import random

    env = agentgym.make(env_id, difficulty="easy")
    rng = random.Random(0)
    env.reset(seed=0)
    errors = steps = 0
    for _ in range(200):
        _, _, terminated, truncated, info = env.step(env.unwrapped.random_action(rng))
        steps += 1
        errors += info["error"] is not None
        if terminated or truncated:
            env.reset()
    assert errors <= steps // 2, f"{errors}/{steps} random actions were invalid"
