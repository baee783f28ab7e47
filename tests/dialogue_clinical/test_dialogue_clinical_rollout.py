"""Clinical interviews through agentgym.rollout: every turn's revealed facts and responder
answers reach turn.info, and the Shapley information-gain reward reads them."""

from __future__ import annotations

import threading

import psutil
import pytest

from agentgym.envs.dialogue.clinical.bayes import clinical_belief, diagnosis_probability
from agentgym.envs.dialogue.clinical.table import load_table
from agentgym.policies.base import Policy
from agentgym.policies.scripted import OraclePolicy, ScriptedPolicy
from agentgym.rewards.shapley import ShapleyInformationGain
from agentgym.rollout import RolloutConfig, Task, rollout


@pytest.mark.parametrize("env_id", ["dialogue/ClinicalInterview-v0", "dialogue/ClinicalInterviewTools-v0"])
def test_an_oracle_rollout_records_revealed_facts_and_answers(env_id):
    tasks = [Task(env_id, seed, {"difficulty": "medium"}) for seed in range(4)]
    result = rollout(OraclePolicy(), tasks, RolloutConfig(), progress=False)
    assert sum(t.success for t in result.trajectories) >= 3
    for trajectory in result.trajectories:
        assert trajectory.error is None and trajectory.metadata["reference_answer"]
        seen: dict[str, bool] = {}
        presenting = trajectory.turns[0].info["presenting"]
        for turn in trajectory.turns:
            revealed = turn.info["revealed"]
            assert isinstance(revealed, dict) and not set(revealed) & set(seen)  # first time only
            assert turn.info["presenting"] == presenting
            seen.update(revealed)
            if "responder" in turn.info:
                record = turn.info["responder"]
                assert record["responder"] == "rules" and set(revealed) <= set(record["facts"])
        assert seen and not set(seen) & set(presenting)
        assert "diagnosis" in trajectory.turns[-1].info or trajectory.turns[-1].info.get("out_of_turns")


def test_the_shapley_reward_reads_a_clinical_rollout():
    tasks = [Task("dialogue/ClinicalInterview-v0", seed, {"difficulty": "medium"}) for seed in range(3)]
    trajectories = rollout(OraclePolicy(), tasks, RolloutConfig(), progress=False).trajectories
    reward = ShapleyInformationGain(clinical_belief)
    scores = reward.score(trajectories)
    candidates = load_table().candidates("medium")
    for trajectory, values in zip(trajectories, scores):
        answer = trajectory.metadata["reference_answer"]
        presenting = trajectory.turns[0].info["presenting"]
        facts = {k: v for turn in trajectory.turns for k, v in turn.info["revealed"].items()}
        before = diagnosis_probability(presenting, answer, candidates)
        after = diagnosis_probability({**presenting, **facts}, answer, candidates)
        assert sum(values) == pytest.approx(after - before)
        assert trajectory.metadata["shapley_belief"] == pytest.approx({"before": before, "after": after})
        assert [v for v, turn in zip(values, trajectory.turns) if not turn.info["revealed"]] == [0.0] * sum(
            not turn.info["revealed"] for turn in trajectory.turns)
    assert any(sum(values) > 0.5 for values in scores)  # the oracle's questions raised the belief a lot


def test_a_policy_patient_in_a_rollout():
    process = psutil.Process()
    threads, fds = threading.active_count(), process.num_fds()
    doctor = ScriptedPolicy(["Any fever?", "Any cough?", "test: rapid strep", "diagnosis: strep throat"])
    patient = ScriptedPolicy(["Yes, a high one.", "A little, yes."])
    task = Task("dialogue/ClinicalInterview-v0", 0, {"difficulty": "easy", "responder": patient})
    [trajectory] = rollout(doctor, [task], RolloutConfig(), progress=False).trajectories
    first, second, test, diagnosis = trajectory.turns
    assert first.info["responder"]["responder"] == "policy:scripted"
    assert first.info["responder"]["answer"] == "Yes, a high one."
    assert second.info["responder"]["answer"] == "A little, yes."
    assert set(first.info["revealed"]) <= {"fever"} and set(second.info["revealed"]) <= {"cough"}
    assert "responder" not in test.info and set(test.info["revealed"]) == {"rapid_strep"}
    assert test.reward_components["test_cost"] == pytest.approx(-0.03)
    assert trajectory.terminated and "diagnosis" in diagnosis.info
    # each answer ran the patient policy on an event loop of its own: none is left behind
    assert threading.active_count() <= threads and process.num_fds() <= fds


def test_a_failing_patient_is_recorded_and_the_rollout_goes_on():
    class Silent(Policy):
        name = "silent"

        async def agenerate(self, requests, sampling):
            raise RuntimeError("no GPU left")

    doctor = ScriptedPolicy(["Any fever?", "diagnosis: migraine"])
    task = Task("dialogue/ClinicalInterview-v0", 1, {"difficulty": "easy", "responder": Silent()})
    [trajectory] = rollout(doctor, [task], RolloutConfig(), progress=False).trajectories
    failed, diagnosis = trajectory.turns
    assert failed.error and "no GPU left" in failed.info["responder"]["error"] and failed.info["revealed"] == {}
    assert trajectory.error is None and trajectory.terminated and diagnosis.info["diagnosis"] == "migraine"
