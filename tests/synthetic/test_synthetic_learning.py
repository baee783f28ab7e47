"""Evidence that synthetic experience teaches: a tiny random model trained ONLY in
``synthetic/Experience-v0`` over FindTheWord wins the REAL game.

The learner is the trainer tests' (``learner()``: a random two-layer Llama over FindTheWord's
word vocabulary, whose greedy policy names no colour, so its real held-out success is 0). Every
training step plays the synthetic environment: the real FindTheWord only deals the task (its
instructions and first observation), and every step is predicted by a scripted experience model
(:class:`~tests.synthetic.world_models.FindTheWordRules`) that keeps its own hidden word per
episode, drawn from the episode id the prompt shows it (never the real secret, never shown to
the agent), with 3 real transitions retrieved per step from a buffer seeded with recorded real
episodes. The trainer gets everything as data (``[env] kwargs``): the experience model as
``"package.module:factory"`` and the buffer as a JSONL path, as a TOML configuration would
name them. The real game's ``play`` is counted: it is never called while training.

Measured on 2 busy CPU cores with one torch thread, 25 GRPO steps (8 tasks x 8 rollouts): each
run takes 17-30 s; the greedy real held-out success went from 0.0 to 1.0, 0.7 and 1.0 with run
seeds 0, 1 and 2 (seed 0 here).
"""

from __future__ import annotations

import pytest

from agentgym.policies.base import SamplingParams
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.synthetic.env import experience_model_from
from agentgym.train.trainer import Trainer
from tests.train.conftest import learner, world_config
from tests.train.word_world import ENV_ID, FindTheWord

FACTORY = "tests.synthetic.world_models:find_the_word_rules"
HELD_OUT = range(100_000, 100_030)


@pytest.fixture(autouse=True)
def _one_thread():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _real_success(trainer: Trainer) -> float:
    """Greedy success of the trainer's model on the REAL game's held-out seeds."""
    config = RolloutConfig(sampling=SamplingParams(max_tokens=2, temperature=0.0), system_prompt=None)
    trainer.model.eval()
    trajectories = rollout(trainer.policy, [Task(ENV_ID, seed=s) for s in HELD_OUT], config,
                           progress=False).trajectories
    assert all(t.env_id == ENV_ID and t.error is None for t in trajectories)
    return sum(t.success for t in trajectories) / len(trajectories)


def test_a_policy_trained_only_on_synthetic_experience_wins_the_real_game(tmp_path, word_jsonl, monkeypatch):
    real_steps = []
    play = FindTheWord.play
    monkeypatch.setattr(FindTheWord, "play", lambda self, action: real_steps.append(action) or play(self, action))
    kwargs = {"env_id": ENV_ID, "experience_model": FACTORY, "buffer": str(word_jsonl), "k": 3}
    config = world_config(tmp_path, run={"steps": 25, "seed": 0}, algorithm={"name": "grpo"},
                          env={"id": "synthetic/Experience-v0", "kwargs": kwargs, "tasks_per_step": 8},
                          rollout={"group_size": 8}, batching={"mini_batches": 2})
    trainer = Trainer(config, **learner())
    start = _real_success(trainer)
    real_steps.clear()

    history = trainer.train()

    assert real_steps == []  # trained on synthetic steps only
    shared = experience_model_from(FACTORY).policy  # a BatchingPolicy around the factory's policy
    assert shared.policy.calls >= 25 * 64  # at least one predicted step per training episode
    assert max(shared.batches) > 1  # concurrent episodes' predictions went in batches
    final = _real_success(trainer)
    assert real_steps  # the evaluation played the real game
    assert start == 0.0
    assert final >= 0.6, (start, final)  # a one-colour policy wins 1/3; naming all three in turn wins always
    early = sum(r["success/train"] for r in history[:3]) / 3
    late = sum(r["success/train"] for r in history[-3:]) / 3
    assert late > early + 0.3  # the synthetic success rose too
