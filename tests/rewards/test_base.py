"""Writing components, composing providers, summarising them."""

import pytest

from agentgym.rewards import CombinedReward, RewardProvider, component_means, write_component
from agentgym.trajectory import Trajectory, Turn


class Constant(RewardProvider):
    """``value`` on every turn but the last (``None`` there), like information gain."""

    def __init__(self, value: float, name: str = "constant") -> None:
        self.value, self.name = value, name

    def score(self, trajectories):
        return [[self.value] * (len(t.turns) - 1) + [None] for t in trajectories]


def trajectory(*env_rewards: float) -> Trajectory:
    turns = [Turn(i, "obs", "act", reward=r, reward_components={"outcome": r} if r else {})
             for i, r in enumerate(env_rewards)]
    return Trajectory(turns=turns)


def test_a_provider_writes_its_component_and_keeps_the_reward_their_sum():
    t = trajectory(0.0, 0.0, 1.0)
    Constant(0.25)([t])
    assert [turn.reward_components for turn in t.turns] == [{"constant": 0.25}, {"constant": 0.25}, {"outcome": 1.0}]
    assert [turn.reward for turn in t.turns] == [0.25, 0.25, 1.0]
    Constant(-0.5)([t])  # replaces
    assert [turn.reward for turn in t.turns] == [-0.5, -0.5, 1.0]


def test_reward_outside_the_components_is_kept():
    t = Trajectory(turns=[Turn(0, "o", "a", reward=0.7), Turn(1, "o", "a")])  # a wrapper added 0.7 silently
    Constant(0.1)([t])
    assert t.turns[0].reward == pytest.approx(0.8)


def test_combined_reward_weighs_each_component_and_records_the_weights():
    t = trajectory(0.0, 1.0)
    CombinedReward([(Constant(1.0, "a"), 0.5), (Constant(2.0, "b"), -1.0), Constant(3.0, "c")])([t])
    assert t.turns[0].reward_components == {"a": 0.5, "b": -2.0, "c": 3.0}
    assert t.turns[0].reward == pytest.approx(1.5) and t.turns[1].reward == 1.0
    assert t.metadata["reward_weights"] == {"a": 0.5, "b": -1.0, "c": 1.0}


def test_combined_reward_refuses_duplicate_names_and_bad_weights():
    with pytest.raises(ValueError, match="same component"):
        CombinedReward([Constant(1.0), Constant(2.0)])
    with pytest.raises(ValueError, match="finite"):
        CombinedReward([(Constant(1.0), float("nan"))])


def test_value_lists_must_fit_the_trajectories():
    t = trajectory(0.0, 1.0)
    with pytest.raises(ValueError, match="3 values for a trajectory of 2 turns"):
        write_component([t], "x", [[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="value lists"):
        write_component([t], "x", [])


def test_component_means_average_per_trajectory_totals():
    a, b = trajectory(0.0, 0.0, 1.0), trajectory(0.0, 0.0)
    Constant(0.5)([a, b])
    assert component_means([a, b]) == {"constant": (1.0 + 0.5) / 2, "outcome": 0.5, "total": (2.0 + 0.5) / 2}
    assert component_means([]) == {}
