"""2048: sliding and merging, invalid moves, spawns, win and loss, the oracle's search."""

from __future__ import annotations

import pytest

from agentgym.envs.games.game_2048 import Game2048, best_move, can_move, move, slide_line


@pytest.mark.parametrize("line,expected,score", [
    ((1, 1, 0, 0), (2, 0, 0, 0), 4),
    ((1, 1, 1, 1), (2, 2, 0, 0), 8),        # two merges, never a chain
    ((2, 1, 1, 0), (2, 2, 0, 0), 4),        # the new 4 does not merge again this move
    ((0, 1, 0, 1), (2, 0, 0, 0), 4),
    ((1, 1, 1, 0), (2, 1, 0, 0), 4),        # the pair nearest the wall merges
    ((3, 2, 1, 0), (3, 2, 1, 0), 0),
])
def test_slide_line(line, expected, score):
    assert slide_line(line) == (expected, score)


def test_each_direction_slides_toward_its_side():
    board = [1, 0, 1, 0,
             0, 0, 0, 0,
             0, 0, 0, 0,
             2, 0, 0, 0]
    assert move(board, "left")[0][:4] == [2, 0, 0, 0]
    assert move(board, "right")[0][:4] == [0, 0, 0, 2]
    assert move(board, "down")[0][12:] == [2, 0, 1, 0] and move(board, "down")[0][8] == 1
    up, score = move(board, "up")
    assert up[:4] == [1, 0, 1, 0] and up[4] == 2 and score == 0


def setup(difficulty, board, **kwargs):
    env = Game2048(difficulty, **kwargs)
    env.reset(seed=0)
    env.board = list(board)
    return env


def test_a_move_that_changes_nothing_is_invalid():
    env = setup("easy", [1, 2, 0, 0] + [0] * 12)
    _, _, terminated, _, info = env.step("left")
    assert info["error"] and not terminated and env.board == [1, 2, 0, 0] + [0] * 12
    _, _, _, _, info = env.step("right")
    assert info["error"] is None and env.board[2:4] == [1, 2]


def test_valid_move_merges_and_spawns_one_tile_with_dense_progress():
    env = setup("medium", [1, 1, 0, 0] + [0] * 12, dense_reward=True)
    _, _, _, _, info = env.step("left")
    assert env.board[0] == 2 and sum(1 for e in env.board if e) == 2  # the 4 and a new tile
    assert info["reward_components"] == {"progress": 4 / 256}


def test_reaching_the_target_wins():
    env = setup("easy", [6, 6, 0, 0] + [0] * 12, dense_reward=True)
    _, reward, terminated, _, info = env.step("I'd go LEFT")
    assert terminated and info["success"] and env.board[0] == 7
    assert info["reward_components"] == {"progress": 1.0, "outcome": 1.0}


def test_a_locked_board_loses():
    # exponents 3..7, no two neighbours equal once the right slide fills the top-left corner
    board = [3, 4, 3, 0,
             5, 4, 3, 4,
             6, 5, 4, 5,
             7, 6, 5, 6]
    env = setup("hard", board)
    _, _, terminated, _, info = env.step("right")
    assert env.board[0] in (1, 2) and not can_move(env.board)
    assert terminated and not info["success"] and info["reward_components"] == {"outcome": 0.0}


@pytest.mark.parametrize("action", ["r", "Right.", "left or right? right", "\\boxed{right}"])
def test_lenient_directions(action):
    env = setup("easy", [1, 0, 0, 0] + [0] * 12)
    assert env.step(action)[4]["error"] is None and env.board[3] == 1


def test_spawns_are_twos_nine_times_in_ten():
    env = Game2048("easy")
    env.reset(seed=1)
    tiles = []
    for _ in range(1500):
        env.reset()
        tiles += [e for e in env.board if e]
    assert len(tiles) == 3000 and set(tiles) == {1, 2}
    assert 0.07 < tiles.count(2) / len(tiles) < 0.13


def test_oracle_prefers_the_merge_that_keeps_the_corner():
    # merging the two 8s to the left keeps the big tiles in the top row, ordered
    board = [5, 4, 3, 3,
             1, 0, 0, 0,
             0, 0, 0, 0,
             0, 0, 0, 0]
    assert best_move(board) == "left"


def test_oracle_only_returns_moves_that_change_the_board():
    env = Game2048("medium")
    env.reset(seed=2)
    for _ in range(60):
        action = env.oracle_action()
        assert move(env.board, action)[0] != env.board
        if env.step(action)[2]:
            break
