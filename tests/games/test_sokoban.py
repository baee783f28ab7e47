"""Sokoban: push rules, win and loss, the solver's optimality and the generator's guarantees."""

from __future__ import annotations

from collections import deque

import pytest

from agentgym.envs.games.sokoban import Sokoban, push_distances, solve

CORRIDOR = "#####\n#@$_.#\n######"
TWO_BOXES = """
#######
#_____#
#_$$._#
#@__._#
#######
"""


def make(level, difficulty="easy", **kwargs):
    env = Sokoban(difficulty, **kwargs)
    env.reset(seed=0, options={"level": level})
    return env


def shortest_solution_length(env):
    """Breadth-first search over full states (player, boxes): the true fewest moves."""
    steps = (-env.width, env.width, -1, 1)
    start = (env.player, frozenset(env.boxes))
    seen = {start: 0}
    queue = deque([start])
    while queue:
        player, boxes = queue.popleft()
        if boxes == env.goals:
            return seen[(player, boxes)]
        for step in steps:
            target = player + step
            if env.walls[target]:
                continue
            moved = boxes
            if target in boxes:
                beyond = target + step
                if env.walls[beyond] or beyond in boxes:
                    continue
                moved = (boxes - {target}) | {beyond}
            state = (target, moved)
            if state not in seen:
                seen[state] = seen[(player, boxes)] + 1
                queue.append(state)
    return None


def test_walking_and_pushing():
    env = make(CORRIDOR)
    assert env.render_text().startswith("######\n#@$_.#")
    _, _, terminated, _, info = env.step("right")
    assert info["error"] is None and not terminated
    assert env.player == env.width + 2 and env.boxes == {env.width + 3}


@pytest.mark.parametrize("action", ["up", "left", "jump", ""])
def test_walls_and_garbage_are_invalid_and_change_nothing(action):
    env = make(CORRIDOR)
    state = (env.player, set(env.boxes), env.moves)
    _, _, _, _, info = env.step(action)
    assert info["error"]
    assert (env.player, env.boxes, env.moves) == state


def test_a_box_cannot_be_pushed_into_a_box_or_a_wall():
    env = make("#@$$_.#\n#____.#")
    assert "cannot move" in env.step("right")[4]["error"]
    env = make("#___#\n#@$#.#\n#__.$#")
    assert "cannot move" in env.step("right")[4]["error"]


@pytest.mark.parametrize("action", ["RIGHT", "I will go right.", "left? no, right", "r", " R. "])
def test_lenient_directions(action):
    env = make(CORRIDOR)
    assert env.step(action)[4]["error"] is None and env.player == env.width + 2


def test_win_when_every_box_is_on_a_goal_with_dense_rewards():
    env = make(CORRIDOR, dense_reward=True)
    _, _, _, _, info = env.step("right")
    assert info["reward_components"] == {"progress": 0.0}
    _, reward, terminated, _, info = env.step("right")
    assert terminated and info["success"]
    assert info["reward_components"] == {"progress": 1.0, "outcome": 1.0} and reward == 2.0


def test_pushing_a_box_off_a_goal_costs_progress():
    env = make("#@*__$.#", dense_reward=True)
    _, _, terminated, _, info = env.step("right")
    assert not terminated and info["reward_components"]["progress"] == pytest.approx(-0.5)


def test_box_in_a_dead_corner_loses():
    env = make("#_$@_#\n#____#\n#.___#")
    observation, _, terminated, _, info = env.step("left")  # into the top-left corner
    assert terminated and not info["success"] and info["reward_components"] == {"outcome": 0.0}
    assert "never reach a goal" in observation


def test_move_budget_runs_out():
    env = make("#@__#\n#_$.#")
    for turn in range(env.max_moves):
        observation, _, terminated, _, info = env.step("right" if turn % 2 == 0 else "left")
        assert info["error"] is None
        assert terminated == (turn == env.max_moves - 1)
    assert not info["success"] and "No moves left" in observation


def test_push_distances_mark_dead_cells():
    env = make("#____#\n#_$@_#\n#.___#")
    to_goal = push_distances(env.walls, env.goals, env.width)
    top_left, goal = env.width + 1, next(iter(env.goals))
    assert to_goal[goal] == 0
    assert to_goal[top_left] > 1000  # a corner without a goal
    assert to_goal[goal + 1] == 1  # one push to the left


@pytest.mark.parametrize("level", [CORRIDOR, TWO_BOXES, "#######\n#.$@$.#\n#_____#"])
def test_solver_is_move_optimal(level):
    env = make(level, "hard")
    plan = solve(env.walls, env.goals, env.width, frozenset(env.boxes), env.player)
    assert len(plan) == shortest_solution_length(env)
    for move in plan:
        env.step(move)
    assert env.boxes == env.goals


@pytest.mark.parametrize("difficulty", ["easy", "medium"])
def test_solver_matches_brute_force_on_generated_levels(difficulty):
    for seed in range(6):
        env = Sokoban(difficulty)
        env.reset(seed=seed)
        plan = solve(env.walls, env.goals, env.width, frozenset(env.boxes), env.player)
        assert len(plan) == shortest_solution_length(env)


def test_solver_reports_unsolvable_states():
    env = make("#$@_.#\n######")  # the box sits in a dead corner from the start
    assert solve(env.walls, env.goals, env.width, frozenset(env.boxes), env.player) is None


@pytest.mark.parametrize("difficulty,boxes,side",
                         [("easy", 1, 6), ("medium", 2, 7), ("hard", 3, 8)])
def test_generated_levels_are_solvable_within_budget_and_not_trivial(difficulty, boxes, side):
    layouts = set()
    for seed in range(15):
        env = Sokoban(difficulty)
        env.reset(seed=seed)
        assert env.width == side and len(env.boxes) == boxes
        assert not env.boxes & env.goals  # no box starts on a goal
        plan = solve(env.walls, env.goals, env.width, frozenset(env.boxes), env.player)
        assert plan is not None and env.min_push_distance <= len(plan) <= env.max_moves // 2
        layouts.add((tuple(env.walls), env.goals, frozenset(env.boxes)))
    assert len(layouts) == 15


def test_oracle_replans_after_the_agent_deviates():
    env = Sokoban("medium")
    env.reset(seed=11)
    for _ in range(3):
        planned = env.oracle_action()
        env.step(planned)
        # a walk that pushes nothing never makes the level unsolvable
        detours = [move for move in env._legal_moves()  # noqa: SLF001
                   if move != env.oracle_action()
                   and env.player + env._steps[move] not in env.boxes]  # noqa: SLF001
        env.step(detours[0])
    for _ in range(env.max_moves):
        _, _, terminated, _, info = env.step(env.oracle_action())
        assert info["error"] is None
        if terminated:
            break
    assert info["success"]


def test_bad_level_option_is_refused():
    with pytest.raises(ValueError):
        Sokoban().reset(options={"level": "#@$$.#"})  # two boxes, one goal
