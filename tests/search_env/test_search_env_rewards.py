"""The reward providers of ``agentgym.rewards.search`` on trajectories of real rollouts of the
search environments (the rollout engine with the oracle, random and scripted policies): the
data they read is there (per-turn retrieval fields, gold documents, answer and aliases in the
metadata) and their values have the expected signs."""

from __future__ import annotations

import pytest

from agentgym.policies.random import RandomPolicy
from agentgym.policies.scripted import OraclePolicy, ScriptedPolicy
from agentgym.rewards.search import (AnswerMatchReward, RetrievalRedundancyPenalty, SearchCost, SearchFormatReward,
                                     StepInformationGain, final_answer)
from agentgym.rollout import RolloutConfig, Task, rollout

ENV_IDS = ("search/MultiHop-v0", "search/MultiHopTools-v0")


def _rollout(policy, env_id: str, seeds, world_kwargs: dict, **config):
    tasks = [Task(env_id, seed, dict(world_kwargs)) for seed in seeds]
    result = rollout(policy, tasks, RolloutConfig(**config), progress=False)
    assert result.stats["errors"] == 0, [t.error for t in result.trajectories]
    return result.trajectories


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_oracle_rollouts_carry_the_data_the_providers_read(world_kwargs, env_id):
    trajectories = _rollout(OraclePolicy(), env_id, range(6), world_kwargs)
    for trajectory in trajectories:
        meta = trajectory.metadata
        assert trajectory.success and isinstance(meta["reference_answer"], str) and meta["reference_answer"]
        assert isinstance(meta["gold_documents"], list) and meta["gold_documents"]
        assert isinstance(meta["answer_aliases"], list)
        assert final_answer(trajectory) == meta["reference_answer"]
        for turn in trajectory.turns:
            assert isinstance(turn.info["retrieved"], list) and isinstance(turn.info["queries"], list)
            assert set(turn.info["gold_retrieved"]) <= set(meta["gold_documents"])
        assert trajectory.turns[-1].info["episode"]["gold_recall"] == 1.0
        assert meta["reference_answer"] not in trajectory.instructions + trajectory.turns[0].observation

    gains = StepInformationGain().score(trajectories)
    answers = AnswerMatchReward("em").score(trajectories)
    staged = SearchFormatReward(stage=1).score(trajectories)
    costs = SearchCost(cost=0.05).score(trajectories)
    for trajectory, gain, answer, stage1, cost in zip(trajectories, gains, answers, staged, costs):
        seen: set[str] = set()
        gold = set(trajectory.metadata["gold_documents"])
        for turn, value in zip(trajectory.turns, gain):
            new_gold = (set(turn.info["retrieved"]) - seen) & gold
            if turn.info["retrieved"]:
                assert value == pytest.approx(len(new_gold) / len(gold))
                assert (value > 0) == bool(new_gold)
            else:
                assert value is None
            seen |= set(turn.info["retrieved"])
        assert sum(v for v in gain if v is not None) == pytest.approx(1.0)  # every gold document found
        assert answer[-1] == 1.0 and stage1[-1] == 0.5
        assert all(c <= 0 for c in cost) and cost[-1] == 0.0  # the answering turn does not search
        assert sum(c for c in cost) <= -0.05 * len(trajectory.turns[:-1]) + 1e-9


def test_repeated_searches_are_penalised_and_format_errors_fail_the_format_reward(world_kwargs):
    script = ["<search>Ligo Belo Foundation</search>", "<search>Ligo Belo Foundation</search>",
              "I am not sure.", "<answer>nobody</answer>"]
    [trajectory] = _rollout(ScriptedPolicy(script), "search/MultiHop-v0", [0], world_kwargs)
    assert [bool(t.info["repeat_retrieved"]) for t in trajectory.turns] == [False, True, False, False]
    assert trajectory.turns[2].info["error_kind"] == "format"
    [penalty] = RetrievalRedundancyPenalty(weight=0.5).score([trajectory])
    assert penalty == [0.0, -0.5, None, None]  # the second search returns the same three documents
    [gain] = StepInformationGain().score([trajectory])
    assert gain[1] == 0.0 and gain[2] is None
    [format_stage2] = SearchFormatReward(stage=2).score([trajectory])
    assert format_stage2[-1] == -2.0
    [em] = AnswerMatchReward("em").score([trajectory])
    assert em[-1] == 0.0 and not trajectory.success


def test_random_rollouts_score_without_errors(world_kwargs):
    trajectories = _rollout(RandomPolicy(seed=3), "search/MultiHop-v0", range(8), world_kwargs)
    penalties = RetrievalRedundancyPenalty().score(trajectories)
    gains = StepInformationGain().score(trajectories)
    for trajectory, penalty, gain in zip(trajectories, penalties, gains):
        for turn, p, g in zip(trajectory.turns, penalty, gain):
            assert (p is None) == (g is None) == (not turn.info["retrieved"])
            if turn.info["retrieved"]:
                repeats = len(turn.info["repeat_retrieved"]) / len(turn.info["retrieved"])
                assert p == pytest.approx(-0.5 * repeats)
                assert (g > 0) == bool(set(turn.info["gold_retrieved"]) & set(turn.info["new_retrieved"]))
