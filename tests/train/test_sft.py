"""Supervised fine-tuning (behaviour cloning): demonstrations in the student's tokens, the NLL
objective, and a tiny random model that learns FindTheWord from a scripted agent's wins."""

from __future__ import annotations

import json

import pytest
import torch

from agentgym.policies.base import Generation, Policy, SamplingParams
from agentgym.policies.hf import HFPolicy
from agentgym.policies.scripted import ScriptedPolicy
from agentgym.policies.teacher_forced import TeacherForcedPolicy
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.train.sft import SFTSettings, demonstrations, fine_tune
from agentgym.train.update import UpdateSettings
import agentgym
from tests.train.word_world import ENV_ID, WORDS, FindTheWord, tiny_model, word_tokenizer

HELD_OUT = range(100_000, 100_030)
ORACLE_ENV_ID = "testworld/FindTheWordWithOracle-v0"


class FindTheWordWithOracle(FindTheWord):
    """FindTheWord whose oracle names the words in turn (it never reads the secret)."""

    def new_episode(self, options):
        self.named = 0
        return super().new_episode(options)

    def play(self, action):
        self.named += 1
        return super().play(action)

    def oracle_action(self) -> str:
        return WORDS[self.named % len(WORDS)]


@pytest.fixture(scope="module", autouse=True)
def _oracle_world():
    agentgym.register(ORACLE_ENV_ID, FindTheWordWithOracle, max_turns=3, override=True)


def _greedy_success(model) -> float:
    config = RolloutConfig(system_prompt="", sampling=SamplingParams(max_tokens=2, temperature=0.0))
    result = rollout(HFPolicy(model, word_tokenizer()), [Task(ENV_ID, seed) for seed in HELD_OUT], config,
                     progress=False)
    return sum(t.success for t in result.trajectories) / len(result.trajectories)


def test_demonstrations_are_token_exact_in_the_students_tokens():
    tokenizer = word_tokenizer()
    demos = demonstrations(tokenizer, ENV_ID, range(6), agent=ScriptedPolicy(["red", "green", "blue"]),
                           system_prompt="")
    assert len(demos) == 6 and all(t.success and t.token_exact and t.token_mismatches == 0 for t in demos)
    end = tokenizer.eos_token_id
    for trajectory in demos:
        for turn in trajectory.turns:
            start, stop = turn.action_span
            assert trajectory.token_ids[start:stop] == tokenizer.encode(turn.action, add_special_tokens=False) + [end]
        # the loss mask covers the replies only
        mask = trajectory.loss_mask()
        assert sum(mask) == sum(stop - start for start, stop in (t.action_span for t in trajectory.turns))
    failed = demonstrations(tokenizer, ENV_ID, range(6), agent=ScriptedPolicy(["red", "red", "red"]),
                            system_prompt="", only_successful=False)
    assert len(failed) == 6 and 0 < sum(t.success for t in failed) < 6  # red wins a third of the time


def test_a_tiny_model_learns_the_game_from_demonstrations_alone():
    torch.set_num_threads(1)
    model = tiny_model(0)
    assert _greedy_success(model) < 0.5
    demos = demonstrations(word_tokenizer(), ENV_ID, range(48), agent=ScriptedPolicy(["red", "green", "blue"]),
                           system_prompt="")
    history = fine_tune(model, demos, SFTSettings(epochs=12, lr=3e-3, rows_per_step=8))
    assert history[-1]["nll"] < history[0]["nll"] / 4, history
    assert _greedy_success(model) >= 0.9


def test_fine_tune_refuses_what_it_cannot_train_on_and_bad_settings():
    class TextOnly(Policy):
        name = "text-only"

        async def agenerate(self, requests, sampling):
            return [Generation("red") for _ in requests]

    text_only = rollout(TextOnly(), [Task(ENV_ID, 0)], RolloutConfig(system_prompt=""), progress=False).trajectories
    with pytest.raises(ValueError, match="no trainable demonstration"):
        fine_tune(tiny_model(0), text_only)
    with pytest.raises(ValueError, match="epochs"):
        SFTSettings(epochs=0)
    with pytest.raises(ValueError, match="lr"):
        SFTSettings(lr=float("nan"))
    with pytest.raises(ValueError, match="objective"):
        UpdateSettings(objective="dpo")
    with pytest.raises(TypeError, match="wraps a Policy"):
        TeacherForcedPolicy(object(), word_tokenizer())


def test_the_sft_command_clones_recorded_and_oracle_episodes_and_saves_a_trainable_model(tmp_path, capsys):
    from transformers import AutoModelForCausalLM

    from agentgym.cli import main
    from agentgym.trajectory import TrajectoryWriter

    student = tmp_path / "student"
    tiny_model(0).save_pretrained(student)
    word_tokenizer().save_pretrained(student)
    recorded = tmp_path / "demos.jsonl"
    writer = TrajectoryWriter(recorded)
    for trajectory in demonstrations(word_tokenizer(), ENV_ID, range(4), agent=ScriptedPolicy(["red", "green", "blue"]),
                                     system_prompt=""):
        writer.write(trajectory)
    writer.close()
    out = tmp_path / "clone"
    assert main(["sft", "--model", str(student), "--trajectories", str(recorded), "--env", ORACLE_ENV_ID,
                 "--episodes", "2", "--epochs", "2", "--lr", "1e-3", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"demonstrations: 2 of 2 episodes of {ORACLE_ENV_ID} succeeded" in printed and "epoch 2: nll" in printed
    metrics = json.loads((out / "sft_metrics.json").read_text())
    assert [r["epoch"] for r in metrics["history"]] == [1.0, 2.0] and metrics["history"][0]["rows"] == 6.0
    before, after = tiny_model(0), AutoModelForCausalLM.from_pretrained(out)
    assert any(not torch.equal(a, b) for a, b in zip(before.parameters(), after.parameters()))
    assert main(["sft", "--out", str(out)]) == 2
    assert "give --env" in capsys.readouterr().err
