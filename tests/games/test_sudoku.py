"""Sudoku: the solver, the generator's uniqueness, placements, mistakes, win and loss."""

from __future__ import annotations

import random

import pytest

from agentgym.envs.games.sudoku import MAX_MISTAKES, Sudoku, SudokuGrid


def is_valid_solution(shape, grid):
    n, box = shape.n, shape.box
    units = [[r * n + c for c in range(n)] for r in range(n)]
    units += [[r * n + c for r in range(n)] for c in range(n)]
    units += [[(br + r) * n + bc + c for r in range(box) for c in range(box)]
              for br in range(0, n, box) for bc in range(0, n, box)]
    return all(sorted(grid[i] for i in unit) == list(range(1, n + 1)) for unit in units)


def test_solver_counts_all_4x4_grids():
    assert SudokuGrid(2).count_solutions([0] * 16, limit=1000) == 288


SOLVED = [int(ch) for ch in "534678912672195348198342567859761423426853791713924856"
                            "961537284287419635345286179"]


def test_solver_sees_two_solutions_of_a_deadly_rectangle():
    shape = SudokuGrid(3)
    assert shape.count_solutions(SOLVED) == 1
    # rows 1 and 4 hold 6 7 and 7 6 in columns 4 and 5 (one stack): the pairs can swap
    puzzle = SOLVED[:]
    for r, c in ((0, 3), (0, 4), (3, 3), (3, 4)):
        puzzle[r * 9 + c] = 0
    assert shape.count_solutions(puzzle) == 2
    assert shape.count_solutions(puzzle, limit=1) == 1
    assert shape.has_other_solution(puzzle, 3 * 9 + 4, SOLVED[3 * 9 + 4])
    assert not shape.has_other_solution(SOLVED[:9] + [0] + SOLVED[10:], 9, SOLVED[9])


@pytest.mark.parametrize("difficulty,size,clues",
                         [("easy", 4, 6), ("medium", 9, 35), ("hard", 9, 27)])
def test_generated_puzzles_have_one_solution(difficulty, size, clues):
    puzzles = set()
    for seed in range(8):
        env = Sudoku(difficulty)
        env.reset(seed=seed)
        shape = env.shape
        assert shape.n == size and is_valid_solution(shape, env.solution)
        assert all(d in (0, s) for d, s in zip(env.grid, env.solution))
        assert size * size - env.empty == clues
        assert shape.count_solutions(env.grid[:], limit=2) == 1
        puzzles.add(tuple(env.grid))
    assert len(puzzles) == 8


def setup(**kwargs):
    env = Sudoku("easy", **kwargs)
    env.reset(seed=3)
    return env


def first_empty(env):
    cell = env.grid.index(0)
    return cell // 4 + 1, cell % 4 + 1, env.solution[cell]


def wrong_but_fitting(env):
    """An empty cell and a digit that breaks no visible rule but is not the solution's."""
    for cell, digit in enumerate(env.grid):
        if digit:
            continue
        mask = env.shape.candidates(env.grid, cell)
        for d in range(1, 5):
            if mask >> (d - 1) & 1 and d != env.solution[cell]:
                return cell // 4 + 1, cell % 4 + 1, d
    raise AssertionError("every empty cell has a single candidate")


@pytest.mark.parametrize("template", ["{} {} {}", "r{}c{}={}", "({},{}) {}", "row {}, col {}: {}",
                                      "hmm 1 1 1? no: {} {} {}", "\\boxed{{{} {} {}}}"])
def test_lenient_placements(template):
    env = setup()
    row, col, digit = first_empty(env)
    _, _, _, _, info = env.step(template.format(row, col, digit))
    assert info["error"] is None and env.grid[(row - 1) * 4 + col - 1] == digit


def test_given_cells_conflicts_and_garbage_are_invalid():
    env = setup()
    given = next(i for i, d in enumerate(env.grid) if d)
    before = env.grid[:]
    assert "already filled" in env.step(f"{given // 4 + 1} {given % 4 + 1} 1")[4]["error"]
    cell = env.grid.index(0)
    used = next(d for d in range(1, 5) if not env.shape.candidates(env.grid, cell) >> (d - 1) & 1)
    assert "already appears" in env.step(f"{cell // 4 + 1} {cell % 4 + 1} {used}")[4]["error"]
    for action in ("5 1 1", "1 1 9", "hello", ""):
        assert env.step(action)[4]["error"]
    assert env.grid == before and env.mistakes == 0


def test_wrong_digits_are_mistakes_and_the_last_one_loses():
    env = setup()
    before = env.grid[:]
    for mistake in range(1, MAX_MISTAKES + 1):
        _, _, terminated, _, info = env.step("{} {} {}".format(*wrong_but_fitting(env)))
        assert info["error"] is None and env.mistakes == mistake and env.grid == before
        assert terminated == (mistake == MAX_MISTAKES)
    assert not info["success"] and info["reward_components"] == {"outcome": 0.0}


def test_filling_the_grid_wins_with_dense_progress():
    env = setup(dense_reward=True)
    total = 0.0
    while True:
        _, _, terminated, _, info = env.step("{} {} {}".format(*first_empty(env)))
        total += info["reward_components"]["progress"]
        if terminated:
            break
    assert info["success"] and info["reward_components"]["outcome"] == 1.0
    assert total == pytest.approx(1.0) and env.grid == env.solution


def test_random_actions_always_fit_the_visible_rules():
    env = Sudoku("medium")
    env.reset(seed=0)
    rng = random.Random(0)
    for _ in range(20):
        _, _, terminated, _, info = env.step(env.random_action(rng))
        assert info["error"] is None
        if terminated:
            env.reset()
