"""TicTacToe: results, move parsing, the opponent's strength and the oracle."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from agentgym.envs.games.tic_tac_toe import TicTacToe
from agentgym.testing import oracle_agent, play_episode, random_agent


def _start(moves: str, **kwargs) -> TicTacToe:
    env = TicTacToe("medium", **kwargs)
    env.reset(seed=0, options={"moves": moves})
    return env


def test_three_in_a_row_wins():
    env = _start("1425")  # X: 1 2, O: 4 5
    observation, reward, terminated, _, info = env.step("3")
    assert terminated and info["success"] and info["reward_components"] == {"outcome": 1.0}
    assert "you win" in observation


def test_the_opponent_completing_a_line_loses():
    env = _start("1495", opponent_strength=1.0)  # X: 1 9, O: 4 5 - O threatens 6
    observation, _, terminated, _, info = env.step("7")
    assert terminated and not info["success"] and info["reward_components"] == {"outcome": 0.0}
    assert env.board[5] == "O" and "you lose" in observation


def test_a_full_board_without_a_line_is_a_draw_worth_half():
    env = _start("12345769")
    observation, _, terminated, _, info = env.step("8")
    assert terminated and not info["success"] and info["reward_components"] == {"outcome": 0.5}
    assert "draw" in observation


@pytest.mark.parametrize("action, cell", [
    ("5", 4), ("2 3", 5), ("row 3, column 1", 6), ("I take (1,2)", 1), ("first 1, no: 9", 8),
    ("Row 2 Col 2", 4),
])
def test_moves_are_read_leniently(action, cell):
    env = _start("")
    env.step(action)
    assert env.board[cell] == "X"


@pytest.mark.parametrize("action", ["0", "10", "-5", "row 4 column 1", "the middle", ""])
def test_unreadable_moves_are_invalid_and_change_nothing(action):
    env = _start("")
    _, _, terminated, _, info = env.step(action)
    assert info["error"] and not terminated and env.board == "." * 9


def test_an_occupied_cell_is_invalid():
    env = _start("51")
    _, _, _, _, info = env.step("1")
    assert "taken" in info["error"] and env.board == "O...X...."


def test_perfect_opponent_takes_a_win_before_blocking():
    for seed in range(30):
        env = TicTacToe("easy", opponent_strength=1.0)
        env.reset(seed=seed, options={"moves": "1495"})  # O threatens 6
        env.step("7")  # X threatens 8 and ignores 6
        assert env.board[5] == "O" and env.board[7] == "."


def test_perfect_opponent_blocks_an_immediate_threat():
    for seed in range(30):
        env = TicTacToe("easy", opponent_strength=1.0)
        env.reset(seed=seed, options={"moves": "15"})
        env.step("2")  # X threatens 3
        assert env.board[2] == "O"


def test_perfect_opponent_never_loses():
    env = TicTacToe("easy", opponent_strength=1.0)
    for seed in range(100):
        assert not play_episode(env, random_agent(seed), seed=seed)["success"]
    for seed in range(10):
        episode = play_episode(env, oracle_agent, seed=seed)
        assert episode["infos"][-1]["reward_components"]["outcome"] == 0.5


def test_strength_zero_replies_uniformly_at_random():
    replies = Counter()
    env = TicTacToe("easy", opponent_strength=0.0)
    for seed in range(1600):
        env.reset(seed=seed)
        env.step("5")
        replies[env.board.index("O")] += 1
    assert set(replies) == {0, 1, 2, 3, 5, 6, 7, 8}
    assert all(140 <= count <= 260 for count in replies.values()), replies  # 200 expected


def test_intermediate_strength_mixes_perfect_and_random_replies():
    # After X takes the centre, perfect play answers in a corner; an edge reply is a random one.
    env = TicTacToe("easy", opponent_strength=0.5)
    edges = 0
    for seed in range(1000):
        env.reset(seed=seed)
        env.step("5")
        edges += env.board.index("O") in (1, 3, 5, 7)
    assert 200 <= edges <= 300  # 0.5 * 4/8 = 25% expected


def test_oracle_wins_most_games_at_every_level():
    for level, at_least in [("easy", 0.97), ("medium", 0.93), ("hard", 0.86)]:
        env = TicTacToe(level)
        wins = sum(play_episode(env, oracle_agent, seed=seed)["success"] for seed in range(200))
        assert wins >= at_least * 200, (level, wins)


def test_agent_second_plays_o_after_the_opening():
    env = TicTacToe("hard", agent_first=False)
    observation, info = env.reset(seed=0)
    assert env.board.count("X") == 1 and env.board.count("O") == 0
    assert "you play O" in info["instructions"]
    assert play_episode(env, oracle_agent, seed=0)["terminated"]


def test_dense_progress_rewards_threats_and_blocks():
    env = TicTacToe("easy", dense_reward=True, opponent_strength=1.0)
    env.reset(seed=0, options={"moves": "15"})
    assert env.step("2")[4]["reward_components"]["progress"] == pytest.approx(0.1)  # threat on 3
    env.reset(seed=0, options={"moves": "5192"})  # X: 5 9, O: 1 2 - O threatens 3
    # 3 blocks O and makes two threats (7 on 3-5-7, 6 on 3-6-9)
    assert env.step("3")[4]["reward_components"]["progress"] == pytest.approx(0.3)
    env.reset(seed=0, options={"moves": ""})
    assert env.step("5")[4]["reward_components"]["progress"] == 0.0


def test_options_are_checked():
    with pytest.raises(ValueError):
        TicTacToe("easy", opponent_strength=1.5)
    with pytest.raises(ValueError):
        TicTacToe("easy").reset(seed=0, options={"moves": "11"})
    with pytest.raises(ValueError):
        TicTacToe("easy").reset(seed=0, options={"moves": "1"})  # O would be to move


def test_random_actions_are_always_legal():
    env = TicTacToe("easy")
    rng = random.Random(0)
    env.reset(seed=0)
    for _ in range(300):
        _, _, terminated, _, info = env.step(env.random_action(rng))
        assert info["error"] is None
        if terminated:
            env.reset()
