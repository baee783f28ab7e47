"""Tower of Hanoi: optimal distance and moves from any configuration, parsing, win and loss."""

from __future__ import annotations

import itertools
from collections import deque

import pytest

from agentgym.envs.games.tower_of_hanoi import TowerOfHanoi, distance_to_goal, optimal_move


def legal_moves(position):
    """Every legal (source, destination) move of a configuration (peg of each disk)."""
    tops = {}
    for disk in reversed(range(len(position))):
        tops[position[disk]] = disk  # the smallest disk on a peg is written last
    return [(s, t) for s in tops for t in range(3)
            if s != t and (t not in tops or tops[t] > tops[s])]


def bfs_distances(disks):
    """Exact distance to "all on peg C" for every configuration, by breadth-first search."""
    goal = (2,) * disks
    distance = {goal: 0}
    queue = deque([goal])
    while queue:
        position = queue.popleft()
        for source, dest in legal_moves(position):
            disk = min(d for d in range(disks) if position[d] == source)
            after = position[:disk] + (dest,) + position[disk + 1:]
            if after not in distance:
                distance[after] = distance[position] + 1
                queue.append(after)
    return distance


@pytest.mark.parametrize("disks", [3, 4])
def test_distance_and_move_are_optimal_from_every_configuration(disks):
    exact = bfs_distances(disks)
    assert len(exact) == 3 ** disks
    for position in itertools.product(range(3), repeat=disks):
        assert distance_to_goal(list(position)) == exact[position]
        move = optimal_move(list(position))
        if exact[position] == 0:
            assert move is None
            continue
        assert move in legal_moves(position)
        disk = min(d for d in range(disks) if position[d] == move[0])
        after = position[:disk] + (move[1],) + position[disk + 1:]
        assert exact[after] == exact[position] - 1


@pytest.mark.parametrize("action", ["move A C", "A->C", "a -> c", "1 3", "from peg 1 to peg 3",
                                    "I think... move B A. No: move A to C", "\\boxed{A C}"])
def test_lenient_move_formats(action):
    env = TowerOfHanoi("easy")
    env.reset(options={"start": "BBA"})  # disks 1, 2 on B, disk 3 on A
    _, _, _, _, info = env.step(action)
    assert info["error"] is None
    assert env.pegs == [[], [1, 0], [2]]


@pytest.mark.parametrize("action", ["move C A", "B A", "A A", "hello", "A1 B2", "4 1"])
def test_illegal_or_unparseable_moves_leave_the_state(action):
    env = TowerOfHanoi("easy")
    env.reset(options={"start": "ABA"})  # A: 3 1, B: 2, C empty
    before = [peg[:] for peg in env.pegs]
    _, _, terminated, _, info = env.step(action)
    assert info["error"] and not terminated and env.pegs == before
    assert env.step("A B")[4]["error"] is None  # disk 1 onto disk 2 is fine


def test_larger_disk_on_smaller_is_rejected_with_a_reason():
    env = TowerOfHanoi("easy")
    env.reset(options={"start": "ABA"})
    _, _, _, _, info = env.step("B A")  # disk 2 onto disk 1
    assert "cannot go on the smaller disk 1" in info["error"]


def test_win_on_the_last_move_and_dense_progress_sums_to_one():
    env = TowerOfHanoi("easy", dense_reward=True)
    env.reset(options={"start": "ACC"})
    assert env.start_distance == 1
    _, reward, terminated, _, info = env.step("A C")
    assert terminated and info["success"]
    assert info["reward_components"] == {"progress": 1.0, "outcome": 1.0}


def test_progress_is_negative_when_moving_away():
    env = TowerOfHanoi("easy", dense_reward=True)
    env.reset(options={"start": "ACC"})
    _, _, _, _, info = env.step("C B")  # disk 2 leaves the goal: 2 moves to go instead of 1
    assert info["reward_components"]["progress"] == pytest.approx(-1.0)


def test_move_budget_runs_out_as_a_loss():
    env = TowerOfHanoi("easy")
    env.reset(options={"start": "ACC"})
    assert env.max_moves == 2 * 1 + 3
    for action in ["A B", "B A", "A B", "B A"]:
        assert not env.step(action)[2]
    _, _, terminated, _, info = env.step("A B")
    assert terminated and not info["success"] and info["reward_components"] == {"outcome": 0.0}


def test_generated_starts_keep_the_largest_disk_off_the_goal_and_vary():
    starts = set()
    for seed in range(40):
        env = TowerOfHanoi("hard")
        env.reset(seed=seed)
        assert env.position[-1] != 2
        assert env.start_distance >= 2 ** (env.disks - 1)
        starts.add(tuple(env.position))
    assert len(starts) > 20


def test_oracle_solves_in_the_minimum_number_of_moves():
    env = TowerOfHanoi("hard")
    env.reset(seed=7)
    moves = 0
    while True:
        moves += 1
        _, _, terminated, _, info = env.step(env.oracle_action())
        if terminated:
            break
    assert info["success"] and moves == env.start_distance


def test_bad_start_option_is_refused():
    with pytest.raises(ValueError):
        TowerOfHanoi("easy").reset(options={"start": "CCC"})
