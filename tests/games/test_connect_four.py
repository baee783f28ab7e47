"""ConnectFour: results, illegal moves, the search, the opponent's strength and the oracle."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from agentgym.envs.games.connect_four import ConnectFour
from agentgym.envs.games.connect_four_search import best_columns, bit_of, is_win, threats
from agentgym.testing import oracle_agent, play_episode

# 41 moves of a game that fills the board without four in a row; the 42nd is column 1.
DRAWN_GAME = "47242475664542215415773721663562671133533"


def _start(moves: str, level: str = "medium", **kwargs) -> ConnectFour:
    env = ConnectFour(level, **kwargs)
    env.reset(seed=0, options={"moves": moves})
    return env


@pytest.mark.parametrize("moves, last", [
    ("112233", "4"),        # across the bottom row
    ("121212", "1"),        # up column 1
    ("1223433454", "4"),    # diagonal rising to the right
    ("7665455434", "4"),    # diagonal rising to the left
])
def test_four_in_a_row_wins_in_every_direction(moves, last):
    env = _start(moves)
    observation, _, terminated, _, info = env.step(last)
    assert terminated and info["success"] and info["reward_components"] == {"outcome": 1.0}
    assert "you win" in observation


def test_the_opponent_connecting_four_loses():
    env = _start("121374", opponent_strength=1.0)  # O: 2 3 4 on the bottom row, 5 open
    observation, _, terminated, _, info = env.step("7")
    assert terminated and not info["success"] and info["reward_components"] == {"outcome": 0.0}
    assert "you lose" in observation


def test_a_full_board_is_a_draw_worth_half():
    env = _start(DRAWN_GAME, agent_first=False)
    observation, _, terminated, _, info = env.step("1")
    assert terminated and not info["success"] and info["reward_components"] == {"outcome": 0.5}
    assert "draw" in observation


def test_a_full_column_is_invalid_and_changes_nothing():
    env = _start("111111")
    mask = env.mask
    _, _, terminated, _, info = env.step("1")
    assert "full" in info["error"] and not terminated and env.mask == mask


@pytest.mark.parametrize("action, column", [("4", 4), ("column 7", 7), ("3, or rather 5", 5)])
def test_columns_are_read_leniently(action, column):
    env = _start("", opponent_strength=0.0)
    env.step(action)
    assert env.mine == bit_of(column - 1, 0)


@pytest.mark.parametrize("action", ["8", "0", "-3", "left", ""])
def test_unreadable_columns_are_invalid(action):
    env = _start("")
    _, _, _, _, info = env.step(action)
    assert info["error"] and env.mask == 0


def test_threats_and_wins_on_a_handcrafted_board():
    stones = bit_of(1, 0) | bit_of(2, 0) | bit_of(3, 0)  # three across: columns 2-4
    assert threats(stones, stones) == bit_of(0, 0) | bit_of(4, 0)
    column = bit_of(6, 0) | bit_of(6, 1) | bit_of(6, 2)
    assert threats(column, column) == bit_of(6, 3)
    assert not is_win(stones) and is_win(stones | bit_of(4, 0))
    assert is_win(bit_of(0, 0) | bit_of(1, 1) | bit_of(2, 2) | bit_of(3, 3))
    assert not is_win(bit_of(6, 0) | bit_of(0, 1) | bit_of(1, 1) | bit_of(2, 1))  # no wrap-around


def test_search_finds_a_double_threat():
    env = _start("2233")  # X: 2 3 on the bottom row, O above them
    assert best_columns(env.mine, env.mask, 3) == (3,)  # column 4 opens three with both ends free
    assert env.oracle_action() == "4"


def test_strong_opponent_blocks_an_immediate_threat():
    for seed in range(20):
        env = ConnectFour("easy", opponent_strength=1.0)
        env.reset(seed=seed, options={"moves": "1122"})
        env.step("3")  # X threatens column 4
        assert env.theirs & bit_of(3, 0)


def test_strong_opponent_takes_its_own_win_first():
    for seed in range(20):
        env = ConnectFour("easy", opponent_strength=1.0)
        env.reset(seed=seed, options={"moves": "121374"})  # O threatens column 5
        _, _, terminated, _, info = env.step("1")  # X ignores it: three up column 1
        assert terminated and env.theirs & bit_of(4, 0)  # O wins rather than blocks column 1


def test_strength_zero_replies_uniformly_at_random():
    replies = Counter()
    env = ConnectFour("hard", opponent_strength=0.0)
    for seed in range(1400):
        env.reset(seed=seed)
        env.step("4")
        replies[(env.theirs.bit_length() - 1) // 7] += 1
    assert set(replies) == set(range(7))
    assert all(140 <= count <= 260 for count in replies.values()), replies  # 200 expected


def test_default_opponents_get_stronger_with_the_level():
    def greedy_wins(level):  # a player that only looks one move ahead
        env, wins = ConnectFour(level), 0
        for seed in range(20):
            env.reset(seed=seed)
            while True:
                column = best_columns(env.mine, env.mask, 1)[0] + 1
                _, _, terminated, _, info = env.step(str(column))
                if terminated:
                    break
            wins += info["success"]
        return wins

    assert greedy_wins("easy") > greedy_wins("hard")


def test_oracle_wins_at_every_level_with_its_default_opponent():
    for level in ("easy", "medium", "hard"):
        env = ConnectFour(level)
        wins = sum(play_episode(env, oracle_agent, seed=seed)["success"] for seed in range(5, 11))
        assert wins >= 5, level


def test_dense_progress_rewards_threats_and_blocks():
    env = _start("1122", dense_reward=True, opponent_strength=1.0)
    assert env.step("3")[4]["reward_components"]["progress"] == pytest.approx(0.1)  # threat on 4
    env = _start("151525", dense_reward=True)  # O: three up column 5
    assert env.step("5")[4]["reward_components"]["progress"] == pytest.approx(0.1)  # the block
    env = _start("", dense_reward=True)
    assert env.step("1")[4]["reward_components"]["progress"] == 0.0


def test_agent_second_and_options_are_checked():
    env = ConnectFour("easy", agent_first=False)
    observation, info = env.reset(seed=0)
    assert env.theirs.bit_count() == 1 and env.mine == 0 and "you play O" in info["instructions"]
    with pytest.raises(ValueError):
        ConnectFour("easy", opponent_strength=-0.1)
    with pytest.raises(ValueError):
        env.reset(seed=0, options={"moves": "11"})  # the agent (O) would not be to move
    with pytest.raises(ValueError):
        ConnectFour("easy").reset(seed=0, options={"moves": "11111111"})


def test_random_actions_are_always_legal():
    env, rng = ConnectFour("easy"), random.Random(0)
    env.reset(seed=0)
    for _ in range(300):
        _, _, terminated, _, info = env.step(env.random_action(rng))
        assert info["error"] is None
        if terminated:
            env.reset()
