"""FrozenLake: Gymnasium's rules, map generation, the oracle's shortest paths and the rewards."""

from __future__ import annotations

import random

import pytest
from gymnasium.envs.toy_text.frozen_lake import MAPS, FrozenLakeEnv

from agentgym.envs.games.frozen_lake import FrozenLake
from agentgym.testing import oracle_agent, play_episode

# A handcrafted 5x4 lake whose only safe route snakes right, down, left, down, right: 13 moves.
SNAKE = ["SFFF",
         "HHHF",
         "FFFF",
         "FHHH",
         "FFFG"]
_ACTIONS = {"left": 0, "down": 1, "right": 2, "up": 3}  # Gymnasium's action numbers


@pytest.mark.parametrize("map_name", ["4x4", "8x8"])
def test_moves_match_gymnasium_non_slippery(map_name):
    desc = MAPS[map_name]
    ours = FrozenLake("hard")
    theirs = FrozenLakeEnv(desc=desc, is_slippery=False)
    rng = random.Random(0)
    for episode in range(40):
        ours.reset(seed=episode, options={"desc": desc})
        theirs.reset(seed=episode)
        for _ in range(ours.max_steps - 1):
            word = rng.choice(list(_ACTIONS))
            _, _, done, _, info = ours.step(word)
            state, reward, their_done, _, _ = theirs.step(_ACTIONS[word])
            assert ours.position == state
            assert done == their_done
            assert info["success"] == (reward == 1)
            if done:
                break


def test_oracle_walks_the_shortest_path_of_a_handcrafted_map():
    env = FrozenLake("easy")
    episode = play_episode(env, oracle_agent, seed=0, options={"desc": SNAKE})
    assert episode["success"] and episode["terminated"]
    assert len(episode["actions"]) == 13
    assert episode["actions"][:6] == ["right", "right", "right", "down", "down", "left"]


def test_falling_into_a_hole_loses_at_once():
    env = FrozenLake("easy")
    env.reset(seed=0, options={"desc": ["SH", "FG"]})
    observation, reward, terminated, _, info = env.step("right")
    assert terminated and not info["success"]
    assert info["reward_components"] == {"outcome": 0.0}
    assert "hole" in observation


def test_walking_off_the_edge_wastes_a_step_and_the_budget_ends_the_game():
    env = FrozenLake("easy")
    env.reset(seed=0, options={"desc": SNAKE})
    for step in range(1, env.max_steps + 1):
        observation, _, terminated, _, info = env.step("up")
        assert env.position == 0 and env.steps == step
        assert terminated == (step == env.max_steps)
    assert info["reward_components"] == {"outcome": 0.0} and not info["success"]
    assert "out of steps" in observation


def test_the_last_direction_word_counts_and_garbage_changes_nothing():
    env = FrozenLake("easy")
    env.reset(seed=0, options={"desc": SNAKE})
    env.step("Not up, I'll go RIGHT")
    assert env.position == 1
    env.step("east, then west")  # synonyms: west is left
    assert env.position == 0
    _, _, _, _, info = env.step("jump over the hole")
    assert info["error"] and env.position == 0 and env.steps == 2


@pytest.mark.parametrize("level, side", [("easy", 4), ("medium", 6), ("hard", 8)])
def test_random_maps_are_solvable_seeded_and_varied(level, side):
    env = FrozenLake(level)
    maps = set()
    for seed in range(30):
        first, _ = env.reset(seed=seed)
        assert (env.rows, env.cols) == (side, side)
        assert env.tiles[0] == "S" and env.tiles[-1] == "G"
        assert env.dist[0] > 0 and env.dist[0] < env.max_steps  # reachable within the budget
        maps.add(env.tiles)
        assert env.reset(seed=seed)[0] == first
    assert len(maps) > 20


def test_dense_progress_is_signed_and_sums_to_one_for_the_oracle():
    env = FrozenLake("easy", dense_reward=True)
    env.reset(seed=0, options={"desc": SNAKE})
    forward = env.step("right")[4]["reward_components"]["progress"]
    backward = env.step("left")[4]["reward_components"]["progress"]
    assert forward == pytest.approx(1 / 13) and backward == pytest.approx(-1 / 13)
    episode = play_episode(env, oracle_agent, seed=0, options={"desc": SNAKE})
    progress = sum(info["reward_components"]["progress"] for info in episode["infos"][1:])
    assert progress == pytest.approx(1.0)


def test_bad_maps_are_refused():
    env = FrozenLake("easy")
    with pytest.raises(ValueError):
        env.reset(seed=0, options={"desc": ["SHG"]})  # no path
    with pytest.raises(ValueError):
        env.reset(seed=0, options={"desc": ["SX", "FG"]})
