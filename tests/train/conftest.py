"""Fixtures for trainer tests: the FindTheWord world, its tokenizer, tiny models, real rollouts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from agentgym.policies.base import SamplingParams
from agentgym.policies.hf import HFPolicy
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.train.config import TrainConfig, merge
from tests.train.word_world import ENV_ID, register, tiny_model, word_tokenizer

ROLLOUT_TEMPERATURE = 0.7


@pytest.fixture(scope="session", autouse=True)
def _registered_world():
    register()


@pytest.fixture(autouse=True)
def _one_thread():
    """Models this small run several times faster on one thread than on several (on shared
    cores, thread oversubscription made the learning tests 7x slower)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tokenizer():
    return word_tokenizer()


@pytest.fixture(scope="session")
def world_rollout(tokenizer):
    """Real token-exact trajectories of a tiny random model in FindTheWord (4 tasks x 4),
    sampled at ``ROLLOUT_TEMPERATURE``, and the model's seed (rebuild it with
    ``tiny_model(seed)`` to get the very weights that sampled them)."""
    policy = HFPolicy(tiny_model(0), tokenizer)
    config = RolloutConfig(group_size=4, system_prompt=None,
                           sampling=SamplingParams(max_tokens=2, temperature=ROLLOUT_TEMPERATURE, seed=3))
    result = rollout(policy, [Task(ENV_ID, seed=seed) for seed in range(4)], config, progress=False)
    assert all(t.token_exact for t in result.trajectories)
    return result.trajectories


def world_config(out_dir, **sections) -> TrainConfig:
    """A small training configuration for FindTheWord; ``sections`` override (nested dicts)."""
    base = {
        "run": {"steps": 2, "seed": 0, "out_dir": str(out_dir)},
        "env": {"id": ENV_ID, "tasks_per_step": 4, "train_seeds": [0, 10_000]},
        "rollout": {"group_size": 4, "max_tokens": 2, "temperature": 1.0, "system_prompt": ""},
        "optimizer": {"lr": 3e-3},
        "checkpoint": {"every": 0, "save_final": False},
        "logging": {"console": False, "plot": False},
    }
    return TrainConfig.from_dict(merge(base, sections))


def learner(seed: int = 1):
    """The model the trainer tests start from: its greedy policy fails every FindTheWord task
    (it names no colour), while sampling finds the word now and then."""
    return {"model": tiny_model(seed, hidden_size=64, initializer_range=0.2), "tokenizer": word_tokenizer()}


def cli_config(folder, **sections) -> Path:
    """Save :func:`learner`'s model to ``folder/model`` and write ``folder/run.toml``, a small
    FindTheWord configuration for ``agentgym train`` (run directory ``folder/run``, checkpoint
    every step, no console); ``sections`` override its values. Returns the TOML file's path."""
    folder = Path(folder)
    parts = learner()
    parts["model"].save_pretrained(folder / "model")
    parts["tokenizer"].save_pretrained(folder / "model")
    base = {
        "run": {"steps": 2, "out_dir": (folder / "run").as_posix()},
        "model": {"path": (folder / "model").as_posix()},
        "env": {"id": ENV_ID, "tasks_per_step": 2},
        "rollout": {"group_size": 2, "max_tokens": 2, "system_prompt": ""},
        "checkpoint": {"every": 1, "save_final": False},
        "logging": {"console": False, "plot": False},
    }
    text = "".join(f"[{name}]\n" + "".join(f"{key} = {_toml_value(value)}\n" for key, value in values.items())
                   for name, values in merge(base, sections).items())
    path = folder / "run.toml"
    path.write_text(text)
    return path


def _toml_value(value) -> str:
    """A TOML literal for the plain values these configurations use (str, bool, int, float)."""
    return ("true" if value else "false") if isinstance(value, bool) else json.dumps(value)
