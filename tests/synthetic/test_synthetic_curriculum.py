"""The curriculum: outcome entropy by hand, the pool built from the frontier (seed variations,
text variations by a rewriter policy, fresh seeds), determinism, groups that share a task, and a
synthetic environment that plays the pool and reports its keys."""

from __future__ import annotations

import copy
import math

import pytest

import agentgym
from agentgym.core import ConfigError
from agentgym.policies.base import Generation, Policy
from agentgym.policies.random import RandomPolicy
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.synthetic import CurriculumTask, ExperienceModel, TaskGenerator, outcome_entropy
from agentgym.trajectory import Trajectory, Turn
from tests.synthetic.conftest import EASY, GUESS_ENV_ID
from tests.synthetic.world_models import GuessTheNumberRules

ENV = GUESS_ENV_ID


def test_entropy_by_hand():
    assert outcome_entropy([], (0.5,)) == 0.0
    assert outcome_entropy([1, 1, 1, 1], (0.5,)) == 0.0
    assert outcome_entropy([0, 1, 0, 1], (0.5,)) == pytest.approx(1.0)
    assert outcome_entropy([0, 0, 0, 1], (0.5,)) == pytest.approx(-(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25)))
    # returns in three bins: below 0, [0, 1), 1 and above
    assert outcome_entropy([-1, 0.5, 2], (0.0, 1.0)) == pytest.approx(math.log2(3))


def _generator(**kwargs) -> TaskGenerator:
    defaults = {"seeds": (0, 1000), "pool_size": 6, "explore": 2, "variations": 1, "seed": 3}
    return TaskGenerator(ENV, **{**defaults, **kwargs})


def test_the_pool_is_frontier_then_variations_then_fresh_seeds():
    curriculum = _generator()
    first = curriculum.pool
    assert len(first) == 6 and all(t.key == f"{ENV}#{t.seed}" and t.parent is None for t in first)
    assert curriculum.entropy(first[0].key) is None  # not measured yet
    curriculum.record(first[0].key, [1, 0, 1, 0])  # 1 bit
    curriculum.record(first[1].key, [1, 1, 1, 0])  # 0.81 bits
    curriculum.record(first[2].key, [1, 1, 1, 1])  # solved: 0 bits
    curriculum.record(first[3].key, [0, 0, 0, 0])  # hopeless: 0 bits
    curriculum.record(first[4].key, [1])  # too few outcomes
    assert [k for k, _ in curriculum.frontier()] == [first[0].key, first[1].key]
    pool = curriculum.update()
    assert pool[:2] == (first[0], first[1])
    assert [t.parent for t in pool[2:4]] == [first[0].key, first[1].key]  # one variation each
    assert all(t.rewrite is None and t.seed != t_parent.seed for t, t_parent in zip(pool[2:4], pool[:2]))
    assert all(t.parent is None for t in pool[4:])  # explore: fresh seeds
    assert curriculum.state()["generation"] == 1 and curriculum.state()["pool"] == [t.key for t in pool]


def test_the_frontier_never_crowds_out_exploration():
    curriculum = _generator(pool_size=4, explore=2, variations=3)
    for i in range(10):
        curriculum.record(f"{ENV}#{i}", [0, 1])
    pool = curriculum.update()
    assert [t.key for t in pool[:2]] == [f"{ENV}#0", f"{ENV}#1"]  # ties broken by key
    assert all(t.parent is None and t.key not in {f"{ENV}#{i}" for i in range(2)} for t in pool[2:])


def test_deterministic_given_the_seed_and_outcomes():
    pools = []
    for _ in range(2):
        curriculum = _generator(seed=11)
        curriculum.record(curriculum.pool[2].key, [0, 1, 1, 0])
        pools.append((curriculum.pool, curriculum.update()))
    assert pools[0] == pools[1]
    assert _generator(seed=12).pool != pools[0][0]
    # picklable, so a copy carries on identically
    curriculum = _generator(seed=11)
    twin = copy.deepcopy(curriculum)
    curriculum.record(curriculum.pool[0].key, [0, 1])
    twin.record(twin.pool[0].key, [0, 1])
    assert curriculum.update() == twin.update()


def test_a_group_shares_its_task():
    curriculum = _generator()
    assert curriculum.task_for(7) == curriculum.task_for(7) == curriculum.pool[7 % 6]
    assert {curriculum.task_for(s) for s in range(6)} == set(curriculum.pool)


def _trajectory(task_id: str, success: bool, error: str | None = None) -> Trajectory:
    return Trajectory(env_id="synthetic/Experience-v0", task_id=task_id, success=success, error=error,
                      turns=[Turn(0, f"first observation of {task_id}", "10", reward=float(success))])


def test_observe_counts_group_outcomes_and_skips_failed_episodes():
    curriculum = _generator()
    key = curriculum.pool[0].key
    counted = curriculum.observe([_trajectory(key, True), _trajectory(key, False), _trajectory(key, True, "timeout"),
                                  Trajectory(task_id=None)])
    assert counted == 2 and curriculum.entropy(key) == pytest.approx(1.0)
    returns = _generator(measure="return", bins=(0.25, 0.75))
    returns.observe([_trajectory("a", True), _trajectory("a", False)])
    assert returns.entropy("a") == pytest.approx(1.0)


class _Rewriter(Policy):
    def __init__(self, fail: bool = False):
        self.fail, self.requests = fail, []

    async def agenerate(self, requests, sampling):
        self.requests.extend(requests)
        if self.fail:
            raise RuntimeError("rewriter down")
        return [Generation(f"Guess a number between 1 and 20 (variant {r.seed % 100}). You have 8 guesses.")
                for r in requests]


def test_text_variations_from_a_rewriter_and_the_fallback():
    rewriter = _Rewriter()
    curriculum = _generator(rewriter=rewriter, variations=2, pool_size=6, explore=2)
    parent = curriculum.pool[0]
    curriculum.observe([_trajectory(parent.key, True), _trajectory(parent.key, False)])
    pool = curriculum.update()
    variants = [t for t in pool if t.parent == parent.key]
    assert len(variants) == 2 and all(t.rewrite and t.seed == parent.seed for t in variants)
    assert all(t.key.startswith(f"{parent.key}~r1.") for t in variants)
    assert f"first observation of {parent.key}" in rewriter.requests[0].messages[1]["content"]
    failing = _generator(rewriter=_Rewriter(fail=True), variations=1)
    failing.observe([_trajectory(failing.pool[0].key, True), _trajectory(failing.pool[0].key, False)])
    fallback = [t for t in failing.update() if t.parent is not None]
    assert fallback and fallback[0].rewrite is None  # a seed variation instead


@pytest.mark.parametrize("kwargs", [{"seeds": (5, 5)}, {"seeds": "all"}, {"pool_size": 0}, {"explore": 7},
                                    {"measure": "reward"}, {"bins": (1.0, 0.0), "measure": "return"},
                                    {"rewriter": "smollm2"}, {"min_entropy": -1}])
def test_bad_arguments(kwargs):
    with pytest.raises(ConfigError):
        _generator(**kwargs)
    with pytest.raises(ConfigError):
        _generator().record("x", [math.nan])


def test_a_synthetic_environment_plays_the_curriculum():
    curriculum = _generator(rewriter=_Rewriter(), variations=1, pool_size=6, explore=1)
    kwargs = {"env_id": ENV, "env_kwargs": EASY, "experience_model": ExperienceModel(GuessTheNumberRules()),
              "curriculum": curriculum, "reveal_answer": True}
    tasks = [Task("synthetic/Experience-v0", seed=s, kwargs=kwargs) for s in range(4)]
    first = rollout(RandomPolicy(seed=0), tasks, RolloutConfig(group_size=4), progress=False)
    assert [t.task_id for t in first.trajectories] == [curriculum.task_for(s).key for s in range(4) for _ in range(4)]
    curriculum.observe(first.trajectories)
    assert curriculum.frontier(), "random guessing leaves some easy tasks uncertain"
    pool = curriculum.update()
    rewritten = next(t for t in pool if t.rewrite)
    env = agentgym.make("synthetic/Experience-v0", **kwargs)
    seed = pool.index(rewritten)
    observation, info = env.reset(seed=seed)
    assert observation == rewritten.rewrite and info["task_id"] == rewritten.key
    assert info["real_task_id"].startswith("GuessTheNumber-easy-")
    assert env.unwrapped.reference_answer is None  # the rewritten task's answer is the model's, not the real one
    with pytest.raises(NotImplementedError, match="rewritten"):  # nor has it the real one's oracle
        env.unwrapped.oracle_action()
    env.close()
    assert isinstance(pool[0], CurriculumTask)
