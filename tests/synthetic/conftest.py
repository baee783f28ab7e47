"""Fixtures of the synthetic-experience tests: real recorded trajectories (JSONL) of
GuessTheNumber and FindTheWord, replay buffers seeded from them, and the scripted experience
models of :mod:`tests.synthetic.world_models`."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:  # `pytest` (unlike `python -m pytest`) does not put the repository on the path
    sys.path.insert(0, _ROOT)

import agentgym.envs.games  # noqa: E402,F401  (registers games/*)
import agentgym.envs.synthetic  # noqa: E402,F401  (registers synthetic/Experience-v0)
from agentgym.policies.base import SamplingParams  # noqa: E402
from agentgym.policies.random import RandomPolicy  # noqa: E402
from agentgym.rollout import RolloutConfig, Task, rollout  # noqa: E402
from agentgym.synthetic import ReplayBuffer, close_shared  # noqa: E402
from tests.synthetic.world_models import RandomWords  # noqa: E402
from tests.train.word_world import ENV_ID as WORD_ENV_ID  # noqa: E402
from tests.train.word_world import register as register_word_world  # noqa: E402

GUESS_ENV_ID = "games/GuessTheNumber-v0"
EASY = {"difficulty": "easy"}


@pytest.fixture(scope="session", autouse=True)
def _registered_word_world():
    register_word_world()


@pytest.fixture(autouse=True)
def _no_shared_models_left():
    """Models and buffers that environments resolved from strings are closed after each test."""
    yield
    close_shared()


@pytest.fixture(scope="session")
def guess_jsonl(tmp_path_factory) -> Path:
    """Real GuessTheNumber (easy) episodes of the random policy, recorded by the rollout engine."""
    path = tmp_path_factory.mktemp("real") / "guess.jsonl"
    rollout(RandomPolicy(seed=1), [Task(GUESS_ENV_ID, seed=s, kwargs=EASY) for s in range(8)],
            RolloutConfig(group_size=1), trajectories_path=path, progress=False)
    return path


@pytest.fixture(scope="session")
def word_jsonl(tmp_path_factory) -> Path:
    """Real FindTheWord episodes of a policy naming random colours (and now and then no colour)."""
    path = tmp_path_factory.mktemp("real") / "words.jsonl"
    rollout(RandomWords(), [Task(WORD_ENV_ID, seed=s) for s in range(20)],
            RolloutConfig(group_size=2, system_prompt=None, sampling=SamplingParams(seed=5)),
            trajectories_path=path, progress=False)
    return path


@pytest.fixture
def guess_buffer(guess_jsonl) -> ReplayBuffer:
    return ReplayBuffer.from_jsonl(guess_jsonl)
