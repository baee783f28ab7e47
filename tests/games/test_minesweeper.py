"""Minesweeper: counts, flood fill, flags, safe first reveal, win and loss."""

from __future__ import annotations

import pytest

from agentgym.envs.games.minesweeper import Minesweeper

# easy is 5x5 with 3 mines; these sit in the right-hand column and the bottom-right corner
MINES = [(1, 5), (2, 5), (5, 5)]


def make(**kwargs):
    env = Minesweeper("easy", **kwargs)
    env.reset(seed=0, options={"mines": MINES})
    return env


def grid(env):
    """The displayed cells as rows of characters."""
    return [env.view[r * env.cols:(r + 1) * env.cols] for r in range(env.rows)]


def test_reveal_counts_neighbouring_mines():
    env = make()
    env.step("reveal 2 4")  # next to (1,5) and (2,5)
    assert grid(env)[1][3] == "2"
    env.step("reveal 4 4")  # next to (5,5) only
    assert grid(env)[3][3] == "1"


def test_a_zero_floods_its_area_and_stops_at_numbers():
    env = make(dense_reward=True)
    _, _, _, _, info = env.step("reveal 1 1")
    assert ["".join(row) for row in grid(env)] == [
        "...2#",
        "...2#",
        "...1#",
        "...1#",
        "...1#",
    ]
    assert info["reward_components"]["progress"] == pytest.approx(20 / 22)


def test_win_when_every_safe_cell_is_revealed():
    env = make(dense_reward=True)
    env.step("reveal 1 1")
    _, reward, terminated, _, info = env.step("reveal 5 4")
    assert not terminated  # (5,4) was already open: nothing changes
    assert info["error"]
    assert not env.step("reveal 3 5")[2]
    _, reward, terminated, _, info = env.step("reveal 4 5")
    assert terminated and info["success"]
    assert info["reward_components"] == {"progress": pytest.approx(1 / 22), "outcome": 1.0}


def test_revealing_a_mine_loses_and_shows_the_mines():
    env = make()
    observation, _, terminated, _, info = env.step("reveal 5 5")
    assert terminated and not info["success"] and info["reward_components"] == {"outcome": 0.0}
    assert observation.count("*") == 3


def test_flags_toggle_and_block_reveals():
    env = make()
    env.step("flag 1 5")
    assert grid(env)[0][4] == "F"
    _, _, terminated, _, info = env.step("reveal 1 5")
    assert info["error"] and "flagged" in info["error"] and not terminated
    env.step("flag 1 5")  # flag again: removed
    assert grid(env)[0][4] == "#"
    assert "no flag" in env.step("unflag 1 5")[4]["error"]


def test_flood_fill_does_not_open_flagged_cells():
    env = make()
    env.step("flag 2 2")
    env.step("reveal 1 1")
    assert grid(env)[1][1] == "F" and env.hidden_safe == 3  # (2,2), (3,5) and (4,5) hidden


@pytest.mark.parametrize("action,cell", [
    ("reveal 2 3", (2, 3)), ("Reveal (2, 3)", (2, 3)), ("open row 2, col 3", (2, 3)),
    ("r2c3", (2, 3)), ("I think 1 1 is risky; reveal 4,2", (4, 2)), ("\\boxed{reveal 3 1}", (3, 1)),
])
def test_lenient_cell_formats(action, cell):
    env = make()
    env.step(action)
    assert env.view[(cell[0] - 1) * 5 + cell[1] - 1] not in ("#", "F")


def test_verb_before_the_last_cell_counts():
    env = make()
    env.step("I could reveal 1 1 but I will flag 3 5")
    assert grid(env)[2][4] == "F" and env.hidden_safe == 22


@pytest.mark.parametrize("action", ["reveal 0 1", "reveal 6 1", "flag", "hello", "1.5 2"])
def test_out_of_range_and_garbage_are_invalid(action):
    env = make()
    _, _, terminated, _, info = env.step(action)
    assert info["error"] and not terminated and env.view == ["#"] * 25


def test_action_budget_runs_out():
    env = make()
    for turn in range(env.cells):
        _, _, terminated, _, info = env.step("flag 1 1")
        assert terminated == (turn == env.cells - 1)
    assert not info["success"] and info["reward_components"] == {"outcome": 0.0}


@pytest.mark.parametrize("difficulty", ["easy", "medium", "hard"])
def test_first_reveal_is_always_safe_and_opens_an_area(difficulty):
    layouts = set()
    for seed in range(30):
        env = Minesweeper(difficulty)
        env.reset(seed=seed)
        row, col = (seed * 7) % env.rows + 1, (seed * 3) % env.cols + 1
        _, _, terminated, _, info = env.step(f"reveal {row} {col}")
        assert not terminated or info["success"]
        assert sum(env.mines) == env.mine_count
        assert env.counts[(row - 1) * env.cols + col - 1] == 0
        assert env.safe_count - env.hidden_safe > 1
        layouts.add(tuple(env.mines))
    assert len(layouts) >= 25  # easy has only about a thousand layouts: rare repeats are fine


def test_counts_match_the_mines_on_generated_boards():
    env = Minesweeper("hard")
    env.reset(seed=5)
    env.step("reveal 5 5")
    for cell in range(env.cells):
        r, c = divmod(cell, env.cols)
        around = sum(env.mines[nr * env.cols + nc]
                     for nr in range(max(r - 1, 0), min(r + 2, env.rows))
                     for nc in range(max(c - 1, 0), min(c + 2, env.cols)) if (nr, nc) != (r, c))
        assert env.counts[cell] == around


def test_oracle_unflags_a_safe_cell_before_revealing_it():
    env = make()
    env.step("flag 1 1")
    assert env.oracle_action() == "unflag 1 1"  # (1,1) opens the most, but it is flagged
    for _ in range(env.cells):
        _, _, terminated, _, info = env.step(env.oracle_action())
        assert info["error"] is None
        if terminated:
            break
    assert info["success"]
