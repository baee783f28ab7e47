"""Evidence that the trainer learns: a tiny random model learns FindTheWord from scratch.

The model (``learner()``: a randomly initialised two-layer Llama over a word-level vocabulary)
starts with a greedy policy that never names a colour, so its greedy success on the held-out
evaluation seeds is 0%. Winning every task means naming the three colours in turn: the policy
must learn both the format and to use the conversation (not to repeat a word that was answered
"no"). Each run trains with its algorithm for a fixed step budget and is then evaluated
greedily on 30 held-out seeds.

Measured on 2 busy CPU cores with one torch thread (see conftest): each run takes 7-10 s; the
greedy success reaches 100% within 15-25 steps for every algorithm here.
"""

from __future__ import annotations

import pytest

from agentgym.train.trainer import Trainer
from tests.train.conftest import learner, world_config

EVAL = {"every": 0, "tasks": 30, "first_seed": 100_000}

HELD_OUT = range(100_000, 100_030)


def _train(tmp_path, algorithm: dict, steps: int) -> tuple[float, float, list[dict]]:
    config = world_config(tmp_path, run={"steps": steps}, algorithm=algorithm,
                          env={"tasks_per_step": 8}, rollout={"group_size": 8},
                          batching={"mini_batches": 2}, eval=EVAL)
    trainer = Trainer(config, **learner())
    start = trainer.evaluate(HELD_OUT)["eval/success"]
    history = trainer.train()
    return start, trainer.evaluate(HELD_OUT)["eval/success"], history


def test_grpo_learns_to_find_the_word(tmp_path):
    start, final, history = _train(tmp_path, {"name": "grpo"}, steps=25)
    assert start == 0.0
    assert final >= 0.9
    # The sampled policy improved along the way, not only the greedy one.
    early = sum(r["success/train"] for r in history[:3]) / 3
    late = sum(r["success/train"] for r in history[-3:]) / 3
    assert late > early + 0.3


@pytest.mark.parametrize("algorithm", [
    {"name": "igpo"},
    {"name": "gigpo"},
    {"name": "ppo"},
], ids=lambda a: a["name"])
def test_other_estimators_raise_success_well_above_the_start(tmp_path, algorithm):
    start, final, history = _train(tmp_path, algorithm, steps=25)
    assert final >= start + 0.3, (start, final)
    if algorithm["name"] == "igpo":  # information gain was measured and rewarded
        assert any(abs(r.get("reward/info_gain", 0.0)) > 0 for r in history)
    if algorithm["name"] == "ppo":  # the critic trained
        assert all("train/value_loss" in r for r in history)
