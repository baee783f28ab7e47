"""Task curricula (SEC, DUMP, PCL): hand-computed updates, proposals, state, and a training run
whose curriculum moves its tasks away from an arm that teaches nothing."""

from __future__ import annotations

import math

import numpy as np
import pytest

import agentgym
from agentgym.core import Feedback
from agentgym.train.config import TrainConfig
from agentgym.train.curriculum import (
    Arm,
    DistributionUCBCurriculum,
    PromptCurriculum,
    SelfEvolvingCurriculum,
)
from agentgym.train.trainer import Trainer
from agentgym.trajectory import Trajectory, Turn
from tests.train.conftest import learner, world_config
from tests.train.word_world import ENV_ID, FindTheWord

ARMS = [Arm("a/A-v0"), Arm("b/B-v0")]
HOPELESS_ID = "testworld/Hopeless-v0"


def _step(curriculum, advantage_of_arm, success_of_arm=None, step=0, count=8):
    """Propose ``count`` tasks, then observe two rollouts of each with the given per-arm
    advantages and successes."""
    tasks = curriculum.propose(step, count)
    trajectories, advantages = [], []
    for task in tasks:
        arm = next(i for i, a in enumerate(curriculum.arms) if a.env_id == task.env_id)
        for _ in range(2):
            trajectories.append(Trajectory(env_id=task.env_id, seed=task.seed, turns=[Turn(0, "o", "a")],
                                           success=bool(success_of_arm and success_of_arm[arm])))
            advantages.append([advantage_of_arm[arm]])
    return tasks, curriculum.observe(trajectories, advantages)


def test_sec_moves_each_played_arms_value_by_td0_and_samples_by_softmax():
    sec = SelfEvolvingCurriculum(ARMS, (0, 1000), seed=0, learning_rate=0.5, temperature=0.5)
    assert np.allclose(sec.probabilities(), [0.5, 0.5])
    tasks, metrics = _step(sec, {0: -1.0, 1: 0.0})
    played = {t.env_id for t in tasks}
    # Q_A = 0.5 * mean|A| + 0.5 * 0 = 0.5 when A was played; B's value stays 0
    assert sec.values[0] == (0.5 if "a/A-v0" in played else 0.0) and sec.values[1] == 0.0
    assert metrics["curriculum/a/A-v0/score"] == sec.values[0]
    sec.values[:] = [0.5, 0.0]
    expected = math.exp(1.0) / (math.exp(1.0) + 1.0)  # softmax([0.5, 0] / 0.5)
    assert sec.probabilities()[0] == pytest.approx(expected)
    counts = sum(t.env_id == "a/A-v0" for t in sec.propose(1, 400))
    assert abs(counts / 400 - expected) < 0.08


def test_dump_plays_unvisited_arms_first_then_follows_the_upper_bound():
    dump = DistributionUCBCurriculum(ARMS, (0, 1000), seed=0, exploration=1.0, window=4)
    first = dump.propose(0, 2)
    assert {t.env_id for t in first} == {"a/A-v0", "b/B-v0"}  # each unvisited arm gets one
    dump.recent[0].extend([1.0, 1.0])
    dump.recent[1].extend([0.2, 0.0])
    dump.plays[:] = [2, 2]
    # UCB_j = mean_j + sqrt(2 ln 4 / 2): A 1.0 + 1.1774, B 0.1 + 1.1774
    bonus = math.sqrt(2 * math.log(4) / 2)
    assert dump.ucb() == pytest.approx([1.0 + bonus, 0.1 + bonus])
    assert dump.propose(1, 1)[0].env_id == "a/A-v0"
    dump.recent[0].extend([0.0] * 4)  # the window keeps the last 4 only: A's mean falls to 0
    assert list(dump.recent[0]) == [0.0] * 4 and dump.ucb()[0] == pytest.approx(bonus)


def test_pcl_picks_tasks_of_predicted_success_nearest_the_target():
    pcl = PromptCurriculum(ARMS, (0, 1000), seed=0, candidates=4, target=0.5, prior_strength=2.0)
    for step in range(3):  # A always succeeds, B half the time
        tasks = pcl.propose(step, 8)
        trajectories = [Trajectory(env_id=t.env_id, seed=t.seed, turns=[Turn(0, "o", "a")],
                                   success=(t.env_id == "a/A-v0") or (i % 2 == 0)) for i, t in enumerate(tasks)]
        pcl.observe(trajectories, [[0.0]] * len(trajectories))
    # p_arm = (successes + 1) / (plays + 2): A is near 1, B near 0.5
    assert pcl.score(0) > 0.8 and abs(pcl.score(1) - 0.5) < 0.2
    later = pcl.propose(10, 8)
    assert sum(t.env_id == "b/B-v0" for t in later) >= 7
    seen = later[0]
    arm = 1 if seen.env_id == "b/B-v0" else 0
    prior = pcl.score(arm)
    assert pcl.predicted_success(arm, seen.seed) == pytest.approx(prior)  # never played: the arm's rate


@pytest.mark.parametrize("kind", [SelfEvolvingCurriculum, DistributionUCBCurriculum, PromptCurriculum])
def test_proposals_are_deterministic_distinct_and_survive_a_state_round_trip(kind):
    one, two = kind(ARMS, (0, 50), seed=3), kind(ARMS, (0, 50), seed=3)
    _step(one, {0: 1.0, 1: 0.0}, {0: 1, 1: 0})
    two.load_state_dict(one.state_dict())
    a, b = one.propose(5, 10), two.propose(5, 10)
    assert a == b and len({t.seed for t in a}) == 10


class Hopeless(FindTheWord):
    """Nothing wins: every rollout of a group gets the same return, so no advantage."""

    def play(self, action):
        return Feedback("no", {"outcome": 0.0}, terminated=True)


def test_a_training_run_moves_its_tasks_to_the_arm_that_teaches_and_resumes_exactly(tmp_path):
    agentgym.register(HOPELESS_ID, Hopeless, max_turns=3, override=True)
    arms = [{"id": ENV_ID, "label": "find"}, {"id": HOPELESS_ID, "label": "hopeless"}]
    config = world_config(tmp_path, run={"steps": 4}, env={"tasks_per_step": 8},
                          curriculum={"name": "sec", "arms": arms, "learning_rate": 1.0, "temperature": 0.05},
                          checkpoint={"every": 2, "save_final": False})
    trainer = Trainer(config, **learner())
    history = trainer.train()
    assert history[-1]["curriculum/hopeless/score"] == 0.0 and history[-1]["curriculum/find/score"] > 0
    late = trainer.tasks_for(4)
    assert sum(t.env_id == ENV_ID for t in late) >= 7, [t.env_id for t in late]
    resumed = Trainer.resume(config.run.out_dir, **learner())  # its checkpoint of step 4
    assert resumed.curriculum.state_dict() == trainer.curriculum.state_dict()
    assert resumed.step == 4 and [t.env_id for t in resumed.tasks_for(4)] == [t.env_id for t in late]


def test_curriculum_options_are_checked():
    with pytest.raises(ValueError, match="unknown keys"):
        TrainConfig.from_dict({"curriculum": {"name": "sec", "arms": [{"env": "x"}]}})
    with pytest.raises(ValueError, match="curriculum.target must be in"):
        TrainConfig.from_dict({"curriculum": {"name": "pcl", "target": 1.0}})
    with pytest.raises(ValueError, match='curriculum.name must be one of "none", "sec"'):
        TrainConfig.from_dict({"curriculum": {"name": "bandit"}})
