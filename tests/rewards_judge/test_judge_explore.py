"""A judge policy that answers with something other than a list of generations: the record says
what came back, in a line."""

from __future__ import annotations

from agentgym.policies.base import Generation, Policy
from agentgym.rewards import Criterion, RubricJudge
from agentgym.trajectory import Trajectory, Turn


class Returns(Policy):
    name = "returns"

    def __init__(self, make) -> None:
        self.make = make

    async def agenerate(self, requests, sampling):
        return self.make(requests)


def batch(count: int = 2) -> list[Trajectory]:
    return [Trajectory(task_id=f"t{i}", turns=[Turn(0, "obs", "act")]) for i in range(count)]


def errors(trajectories) -> list[str]:
    return [t.turns[-1].info["judge"]["error"] for t in trajectories]


def test_entries_that_are_not_generations_are_named_in_the_record():
    trajectories = batch()
    RubricJudge(Returns(lambda requests: [None, object()]), [Criterion("correctness", "c")])(trajectories)
    first, second = errors(trajectories)
    assert "None" in first and "Generation" in first, first          # was "the judge failed: None"
    assert "object" in second and "Generation" in second, second     # was "the reply is NoneType"
    assert all(turn.reward_components == {} for t in trajectories for turn in t.turns)


def test_a_result_that_is_not_a_list_is_named_by_its_type_not_dumped():
    trajectories = batch(50)
    reply = tuple(Generation("correctness: 5/10 " + "x" * 1000) for _ in trajectories)
    RubricJudge(Returns(lambda requests: reply), [Criterion("correctness", "c")])(trajectories)
    error = errors(trajectories)[0]
    assert "tuple" in error and len(error) < 300, error[:300]
