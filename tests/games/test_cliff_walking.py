"""CliffWalking: Gymnasium's rules, seeded layouts, the oracle's shortest paths and the rewards."""

from __future__ import annotations

import random

import pytest
from gymnasium.envs.toy_text.cliffwalking import CliffWalkingEnv

from agentgym.envs.games.cliff_walking import CliffWalking
from agentgym.testing import oracle_agent, play_episode

GYMNASIUM_LAYOUT = {"start_column": 0, "goal_column": 11, "ragged_columns": []}
_ACTIONS = {"up": 0, "right": 1, "down": 2, "left": 3}  # Gymnasium's action numbers


def test_moves_and_falls_match_gymnasium_on_its_map():
    ours = CliffWalking("hard")
    theirs = CliffWalkingEnv()
    rng = random.Random(0)
    falls = 0
    for episode in range(30):
        ours.reset(seed=episode, options=GYMNASIUM_LAYOUT)
        theirs.reset(seed=episode)
        for _ in range(ours.max_steps - 1):
            word = rng.choice(list(_ACTIONS))
            _, _, done, _, info = ours.step(word)
            state, reward, their_done, _, _ = theirs.step(_ACTIONS[word])
            assert ours.position == state
            assert done == their_done == info["success"]
            falls += reward == -100
            if done:
                break
    assert falls > 10  # the comparison covered falls off the cliff


def test_stepping_onto_the_cliff_returns_to_the_start_and_gives_back_progress():
    env = CliffWalking("easy", dense_reward=True)
    env.reset(seed=0, options={"start_column": 0, "goal_column": 5})
    up = env.step("up")[4]["reward_components"]["progress"]
    right = env.step("right")[4]["reward_components"]["progress"]
    observation, _, terminated, _, info = env.step("down")  # onto the cliff
    assert not terminated and env.position == env.start and env.falls == 1 and env.steps == 3
    assert "cliff" in observation
    assert info["reward_components"]["progress"] == pytest.approx(-(up + right))


def test_oracle_takes_the_shortest_way_around_a_ragged_edge():
    env = CliffWalking("medium")
    layout = {"start_column": 8, "goal_column": 0, "ragged_columns": list(range(1, 8))}
    episode = play_episode(env, oracle_agent, seed=0, options=layout)
    assert episode["success"] and episode["terminated"]
    # up to the row above the ragged edge, 8 columns left, back down: 2 + 8 + 2 moves
    assert len(episode["actions"]) == 12
    assert episode["actions"][:3] == ["up", "up", "left"]


def test_running_out_of_steps_loses():
    env = CliffWalking("easy")
    env.reset(seed=0, options={"start_column": 0, "goal_column": 5})
    for _ in range(env.max_steps):
        observation, _, terminated, _, info = env.step("left")
    assert terminated and not info["success"] and info["reward_components"] == {"outcome": 0.0}
    assert "out of steps" in observation


@pytest.mark.parametrize("level, cols, ragged", [("easy", 6, 0), ("medium", 9, 1), ("hard", 12, 3)])
def test_random_layouts_follow_gymnasiums_shape_and_vary_by_seed(level, cols, ragged):
    env = CliffWalking(level)
    layouts = set()
    for seed in range(40):
        env.reset(seed=seed)
        bottom = env.tiles[3 * cols:]
        start, goal = bottom.index("S"), bottom.index("G")
        low, high = sorted((start, goal))
        assert bottom[low + 1:high] == ["C"] * (high - low - 1)  # the cliff fills the gap
        assert env.tiles[2 * cols:3 * cols].count("C") == ragged
        assert "C" not in env.tiles[:2 * cols]
        assert 0 < env.dist[env.start] < env.max_steps
        layouts.add("".join(env.tiles))
    assert len(layouts) >= 6
    assert any(layout.index("S") > layout.index("G") for layout in layouts)  # both directions


def test_direction_words_are_read_leniently():
    env = CliffWalking("easy")
    env.reset(seed=0, options={"start_column": 0, "goal_column": 5})
    env.step("I think NORTH is safest")
    assert env.position == env.start - env.cols
    _, _, _, _, info = env.step("stay")
    assert info["error"] and env.steps == 1


def test_bad_layouts_are_refused():
    env = CliffWalking("easy")
    with pytest.raises(ValueError):
        env.reset(seed=0, options={"start_column": 2, "goal_column": 2})
    with pytest.raises(ValueError):
        env.reset(seed=0, options={"start_column": 0, "goal_column": 5, "ragged_columns": [5]})
