"""Taxi: Gymnasium's rules, pickup and drop-off, the fickle passenger and the optimal oracle."""

from __future__ import annotations

import random
from collections import deque

import pytest
from gymnasium.envs.toy_text.taxi import TaxiEnv

from agentgym.envs.games.taxi import IN_TAXI, SIZE, STANDS, Taxi
from agentgym.testing import oracle_agent, play_episode

_ACTIONS = ("south", "north", "east", "west", "pickup", "dropoff")  # Gymnasium's numbering
R, G, Y, B = range(4)


def _state(env: Taxi) -> tuple[int, int, int, int]:
    return (*divmod(env.taxi, SIZE), env.passenger, env.destination)


@pytest.fixture(scope="module")
def gym_taxi():
    return TaxiEnv()


def test_every_action_matches_gymnasium(gym_taxi):
    ours = Taxi("easy")
    rng = random.Random(0)
    for episode in range(60):
        start = (rng.randrange(SIZE), rng.randrange(SIZE), *rng.sample(range(4), 2))
        ours.reset(seed=episode, options={"state": start})
        gym_taxi.reset(seed=episode)
        gym_taxi.s = gym_taxi.encode(*start)
        for _ in range(40):
            action = rng.randrange(6)
            _, _, done, _, info = ours.step(_ACTIONS[action])
            state, reward, their_done, _, _ = gym_taxi.step(action)
            assert _state(ours) == tuple(gym_taxi.decode(state))
            assert done == their_done == info["success"]
            # Gymnasium's -10 for an illegal pickup or drop-off is our invalid action.
            assert (info["error"] is not None) == (reward == -10)
            if done:
                break


def test_pickup_only_where_the_passenger_waits():
    env = Taxi("easy")
    env.reset(seed=0, options={"state": (0, 1, R, G)})
    _, _, _, _, info = env.step("pickup")
    assert info["error"] and "wait at R" in info["error"] and env.passenger == R and env.steps == 0
    env.step("west")
    _, _, _, _, info = env.step("Pick up")
    assert info["error"] is None and env.passenger == IN_TAXI and env.steps == 2
    _, _, _, _, info = env.step("pickup")
    assert info["error"] and "already" in info["error"]


def test_dropoff_rules():
    env = Taxi("easy")
    env.reset(seed=0, options={"state": (4, 0, Y, G)})
    assert env.step("dropoff")[4]["error"]  # nobody aboard
    env.step("pickup")
    env.step("north")
    assert env.step("drop-off")[4]["error"]  # not at a stand
    env.step("south")
    observation, _, terminated, _, info = env.step("dropoff")  # at Y, not the destination
    assert not terminated and info["error"] is None and env.passenger == Y
    assert "not their destination" in observation
    env.reset(seed=0, options={"state": (4, 0, Y, R)})
    for action in ["pickup", "north", "north", "north", "north"]:
        env.step(action)
    observation, _, terminated, _, info = env.step("dropoff")
    assert terminated and info["success"] and info["reward_components"] == {"outcome": 1.0}
    assert env.steps == 6


def _optimal_steps(gym_taxi: TaxiEnv, start: int) -> int:
    """Fewest actions from ``start`` to a successful drop-off, by breadth-first search over
    Gymnasium's own transition table."""
    seen, frontier = {start: 0}, deque([start])
    while frontier:
        state = frontier.popleft()
        for action in range(6):
            _, nxt, _, terminated = gym_taxi.P[state][action][0]
            if terminated:
                return seen[state] + 1
            if nxt not in seen:
                seen[nxt] = seen[state] + 1
                frontier.append(nxt)
    raise AssertionError("no way to deliver the passenger")


def test_oracle_is_optimal_from_every_start_state(gym_taxi):
    env = Taxi("medium")
    rng = random.Random(1)
    starts = [(row, col, p, d) for row in range(SIZE) for col in range(SIZE)
              for p in range(4) for d in range(4) if p != d]
    for start in rng.sample(starts, 60):
        episode = play_episode(env, oracle_agent, seed=0, options={"state": start})
        assert episode["success"]
        assert len(episode["actions"]) == _optimal_steps(gym_taxi, gym_taxi.encode(*start))


def test_fickle_passenger_changes_their_mind_once_and_the_oracle_follows():
    env = Taxi("hard")
    changed = 0
    for seed in range(40):
        env.reset(seed=seed)
        destinations = [env.destination]
        aboard_moves = 0
        while True:
            was_aboard, before = env.passenger == IN_TAXI, env.taxi
            _, _, terminated, _, info = env.step(env.oracle_action())
            if env.destination != destinations[-1]:
                assert was_aboard and env.taxi != before and aboard_moves == 0
                destinations.append(env.destination)
            aboard_moves += was_aboard and env.taxi != before
            if terminated:
                break
        assert info["success"] and len(destinations) <= 2
        changed += len(destinations) == 2
    assert 4 <= changed <= 24  # about 30% of episodes


def test_easy_and_medium_passengers_are_not_fickle():
    env = Taxi("medium")
    for seed in range(20):
        env.reset(seed=seed)
        destination = env.destination
        while not env.step(env.oracle_action())[2]:
            assert env.destination == destination


def test_running_out_of_steps_loses():
    env = Taxi("hard")
    env.reset(seed=0, options={"state": (2, 2, R, B)})
    for _ in range(env.max_steps):
        observation, _, terminated, _, info = env.step("north")
    assert terminated and not info["success"] and info["reward_components"] == {"outcome": 0.0}


def test_dense_progress_tracks_the_remaining_plan():
    env = Taxi("medium", dense_reward=True)
    env.reset(seed=0, options={"state": (0, 1, R, G)})
    plan = env.plan_length
    assert plan == 1 + 1 + 8 + 1  # to R, pick up, around the wall to G, drop off
    toward = env.step("west")[4]["reward_components"]["progress"]
    assert toward == pytest.approx(1 / plan)
    assert env.step("east")[4]["reward_components"]["progress"] == pytest.approx(-1 / plan)
    episode = play_episode(env, oracle_agent, seed=0, options={"state": (0, 1, R, G)})
    total = sum(info["reward_components"]["progress"] for info in episode["infos"][1:])
    assert total == pytest.approx(1.0)


def test_first_observation_shows_the_map_and_the_stands():
    env = Taxi("easy")
    observation, _ = env.reset(seed=0, options={"state": (2, 2, Y, B)})
    assert "| : :T: : |" in observation.splitlines()
    assert "Passenger: waiting at Y" in observation and "Destination: B" in observation
    assert [letter for letter, _ in STANDS] == ["R", "G", "Y", "B"]
