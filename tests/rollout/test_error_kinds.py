"""Failures are typed where the rollout engine catches them: ``Trajectory.error_kind``."""

import threading

import pytest

import agentgym
from agentgym import Feedback, LLMEnv
from agentgym.info import ErrorKind
from agentgym.policies.base import Generation, Policy
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.rollout.engine import failure_kind
from agentgym.trajectory import Trajectory, TrajectoryReader
from agentgym.vector import HungEnvironmentWarning

RELEASE = threading.Event()


class Stalls(LLMEnv):
    """Stalls in its first ``play`` until the test ends."""

    def new_episode(self, options):
        return "start"

    def play(self, action):
        RELEASE.wait(30)
        return Feedback("late", {"outcome": 0.0}, terminated=True)


class Raises(Stalls):
    def play(self, action):
        raise RuntimeError("timed out talking to the sandbox")  # words that used to read as a timeout


agentgym.register("testing/ErrorKindStalls-v0", Stalls, max_turns=3)
agentgym.register("testing/ErrorKindRaises-v0", Raises, max_turns=3)


@pytest.fixture(autouse=True)
def release_stalled_threads():
    RELEASE.clear()
    yield
    RELEASE.set()


class Constant(Policy):
    name = "constant"

    async def agenerate(self, requests, sampling):
        return [Generation("move") for _ in requests]


class Crashing(Policy):
    name = "crashing"

    async def agenerate(self, requests, sampling):
        raise ConnectionError("environment raised nothing, the server is down")


class Breaking(Policy):
    name = "breaking"

    async def agenerate(self, requests, sampling):
        return [None for _ in requests]


def test_step_timeout_is_typed_timeout(tmp_path):
    config = RolloutConfig(step_timeout=0.3)
    with pytest.warns(HungEnvironmentWarning, match="abandoned in its thread"):
        result = rollout(Constant(), [Task("testing/ErrorKindStalls-v0", 0)], config,
                         trajectories_path=tmp_path / "t.jsonl", progress=False)
    assert result.trajectories[0].error_kind == ErrorKind.TIMEOUT.value == "timeout"
    assert result.stats["error_kinds"] == {"timeout": 1}
    assert [t.error_kind for t in TrajectoryReader(tmp_path / "t.jsonl")] == ["timeout"]


def test_episode_timeout_is_typed_timeout():
    config = RolloutConfig(step_timeout=5, episode_timeout=0.3)
    with pytest.warns(HungEnvironmentWarning, match="abandoned in its thread"):
        result = rollout(Constant(), [Task("testing/ErrorKindStalls-v0", 0)], config, progress=False)
    assert result.trajectories[0].error_kind == "timeout"


def test_environment_exception_is_typed_by_where_it_was_caught_not_its_words():
    result = rollout(Constant(), [Task("testing/ErrorKindRaises-v0", 0)], progress=False)
    assert result.trajectories[0].error_kind == "environment"
    assert result.stats["error_kinds"] == {"environment": 1}


@pytest.mark.parametrize("policy", [Crashing(), Breaking()], ids=["raises", "breaks-contract"])
def test_policy_failures_are_typed_policy(policy):
    result = rollout(policy, [Task("testing/ErrorKindRaises-v0", 0)], progress=False)
    assert result.trajectories[0].error_kind == "policy"
    assert result.stats["error_kinds"] == {"policy": 1}


def test_old_records_without_error_kind_still_count_by_their_words():
    old = Trajectory.from_dict({"error": "environment step timed out after 1.0 s", "turns": []})
    assert old.error_kind is None and failure_kind(old) == "timeout"
    assert failure_kind(Trajectory.from_dict({"error": "the env was closed"})) == "other"
    typed = Trajectory(error="timed out talking to the sandbox", error_kind="environment")
    assert failure_kind(Trajectory.from_dict(typed.to_dict())) == "environment"
