"""A rollout group is one task: the environment, its exact arguments and the seed. Tasks that
make different episodes never share a ``group_id`` (GRPO would compare their returns, the replay
buffer replay one's success as the other's), and one task always gets the same one."""

from __future__ import annotations

import agentgym
from agentgym import Feedback, LLMEnv
from agentgym.policies.scripted import ScriptedPolicy
from agentgym.rollout import RolloutConfig, Task, rollout


class Sum(LLMEnv):
    """One turn; the goal names ``width``, ``height`` and ``name``, so each argument changes the episode."""

    def __init__(self, width: int = 0, height: int = 0, name: str = "", **kwargs):
        super().__init__(**kwargs)
        self.goal = f"width {width!r}, height {height!r}, name {name!r}"

    def new_episode(self, options):
        return self.goal

    def play(self, action):
        return Feedback("done", {"outcome": 1.0}, terminated=True)


agentgym.register("testing/GroupIdSum-v0", Sum, max_turns=2)
ENV = "testing/GroupIdSum-v0"


def test_tasks_whose_argument_values_read_alike_are_different_groups():
    tasks = [Task(ENV, 0, {"width": 3}), Task(ENV, 0, {"height": 3}),                  # both "[3]"
             Task(ENV, 0, {"name": "1,2"}), Task(ENV, 0, {"width": 1, "height": 2}),    # both "[1,2]"
             Task(ENV, 0, {"width": "3"})]                                             # "[3]" again
    result = rollout(ScriptedPolicy(["x"]), tasks, RolloutConfig(group_size=2), progress=False)
    goals = [t.turns[0].observation for t in result.trajectories]
    assert len(set(goals)) == len(tasks)  # five different episodes...
    groups = [t.group_id for t in result.trajectories]
    assert len(set(groups)) == len(tasks)  # ...in five groups, each of the task's two rollouts
    assert all(groups[2 * i] == groups[2 * i + 1] == tasks[i].group_id for i in range(len(tasks)))


def test_the_order_the_arguments_were_given_in_does_not_split_a_task():
    one, same = Task(ENV, 4, {"width": 1, "height": 2}), Task(ENV, 4, {"height": 2, "width": 1})
    assert one.group_id == same.group_id
    assert one.group_id != Task(ENV, 5, {"width": 1, "height": 2}).group_id  # another seed
    assert Task(ENV, 4).group_id == f"{ENV}#4"  # no arguments: the id and the seed
