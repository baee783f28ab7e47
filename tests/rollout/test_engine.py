"""The rollout engine with text-mode policies: grouping, concurrency, failures, the JSONL log."""

import math
import re
import threading
import time

import pytest

import agentgym
from agentgym import Feedback, LLMEnv
from agentgym.policies.base import Generation, Policy, SamplingParams
from agentgym.policies.scripted import OraclePolicy, ScriptedPolicy
from agentgym.policies.specs import make_policy
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.trajectory import TrajectoryReader
from agentgym.vector import HungEnvironmentError, HungEnvironmentWarning, hung_thread_count
from agentgym.wrappers import AnswerFormat

RELEASE = threading.Event()


class Hang(LLMEnv):
    """Hangs on the second step until the test releases it."""

    def new_episode(self, options):
        self.turn = 0
        return "start"

    def play(self, action):
        self.turn += 1
        if self.turn == 2:
            RELEASE.wait(30)
        return Feedback(f"turn {self.turn}", {"outcome": 0.0}, terminated=self.turn >= 5)


class Boom(Hang):
    def play(self, action):
        raise RuntimeError("the environment broke")


agentgym.register("testing/Hang-v0", Hang, max_turns=10)
agentgym.register("testing/Boom-v0", Boom, max_turns=10)


@pytest.fixture(autouse=True)
def release_hung_threads():
    RELEASE.clear()
    yield
    RELEASE.set()


def test_groups_share_seed_and_task_and_keep_task_order():
    tasks = [Task("games/GuessTheNumber-v0", seed, {"difficulty": "medium"}) for seed in (5, 6, 7)]
    result = rollout(OraclePolicy(), tasks, RolloutConfig(group_size=3), progress=False)
    assert len(result.trajectories) == 9
    for i, trajectory in enumerate(result.trajectories):
        task = tasks[i // 3]
        assert trajectory.seed == task.seed and trajectory.env_id == task.env_id
        assert trajectory.group_id == f'games/GuessTheNumber-v0{{"difficulty":"medium"}}#{task.seed}'
        assert trajectory.metadata["rollout_index"] == i % 3
        assert trajectory.success and trajectory.terminated and not trajectory.error
    for g in range(3):
        group = result.trajectories[3 * g: 3 * g + 3]
        assert len({t.task_id for t in group}) == 1
        assert len({tuple(turn.action for turn in t.turns) for t in group}) == 1, "same seed, same oracle play"
    assert result.stats["success_rate"] == 1.0 and result.stats["errors"] == 0


def test_trajectory_records_turns_rewards_messages_and_instructions():
    result = rollout(OraclePolicy(), [Task("games/GuessTheNumber-v0", 1)], progress=False)
    trajectory = result.trajectories[0]
    assert trajectory.instructions.startswith("I am thinking of a whole number")
    assert trajectory.turns[0].observation.startswith("Guess a number between 1 and 20")
    assert trajectory.turns[-1].reward_components == {"outcome": 1.0}
    assert trajectory.episode_return == 1.0 and trajectory.token_ids is None and not trajectory.token_exact
    roles = [m["role"] for m in trajectory.messages]
    assert roles[:2] == ["system", "user"] and roles.count("assistant") == len(trajectory.turns)


def test_turn_budget_truncates_and_wrappers_apply():
    policy = ScriptedPolicy([], then="no tags here")
    config = RolloutConfig(max_turns=4, wrappers=(AnswerFormat,))
    trajectory = rollout(policy, [Task("games/GuessTheNumber-v0", 0)], config, progress=False).trajectories[0]
    assert len(trajectory.turns) == 4 and trajectory.truncated and not trajectory.terminated
    assert all(turn.error and turn.reward_components == {"format": -0.1} for turn in trajectory.turns)


def test_a_hung_environment_times_out_alone(tmp_path):
    tasks = [Task("testing/Hang-v0", 0), Task("games/GuessTheNumber-v0", 0)]
    config = RolloutConfig(step_timeout=1.0)
    with pytest.warns(HungEnvironmentWarning, match="abandoned in its thread"):
        result = rollout(OraclePolicyWithFallback(), tasks, config, trajectories_path=tmp_path / "t.jsonl",
                         progress=False)
    hung, fine = result.trajectories
    assert "timed out after 1.0 s" in hung.error and len(hung.turns) == 1
    assert fine.success and fine.error is None
    assert result.stats["error_kinds"] == {"timeout": 1}
    logged = sorted(t.env_id for t in TrajectoryReader(tmp_path / "t.jsonl"))
    assert logged == ["games/GuessTheNumber-v0", "testing/Hang-v0"]


def test_a_raising_environment_is_isolated():
    tasks = [Task("testing/Boom-v0", 0), Task("games/GuessTheNumber-v0", 0)]
    boom, fine = rollout(OraclePolicyWithFallback(), tasks, progress=False).trajectories
    assert boom.error == "environment raised RuntimeError: the environment broke"
    assert fine.success


class OraclePolicyWithFallback(OraclePolicy):
    """The oracle where there is one, any text elsewhere."""

    async def agenerate(self, requests, sampling):
        return [Generation(request.hints.get("oracle_action", "next")) for request in requests]


class Crashing(Policy):
    name = "crashing"

    async def agenerate(self, requests, sampling):
        raise ConnectionError("no route")


def test_policy_errors_mark_their_trajectories_only():
    tasks = [Task("games/GuessTheNumber-v0", 0)]
    result = rollout(Crashing(), tasks, progress=False)
    assert result.trajectories[0].error == "policy error: ConnectionError: no route"
    assert result.stats["error_kinds"] == {"policy": 1}


class ContractBreaking(Policy):
    """Returns what is not a Generation, or a Generation whose text is bytes."""

    name = "breaking"

    async def agenerate(self, requests, sampling):
        return [None if request.seed % 2 else Generation(b"5") for request in requests]


def test_a_policy_breaking_the_generation_contract_is_a_policy_error():
    tasks = [Task("games/GuessTheNumber-v0", 0)]
    config = RolloutConfig(group_size=2, sampling=SamplingParams(seed=1))
    errors = {t.error for t in rollout(ContractBreaking(), tasks, config, progress=False).trajectories}
    assert errors == {"policy error: breaking returned NoneType None instead of a Generation",
                      "policy error: breaking returned a Generation whose text is bytes, not str"}


def test_episode_timeout():
    config = RolloutConfig(episode_timeout=0.3, step_timeout=5)
    with pytest.warns(HungEnvironmentWarning, match="abandoned in its thread"):
        result = rollout(OraclePolicyWithFallback(), [Task("testing/Hang-v0", 0)], config, progress=False)
    trajectory = result.trajectories[0]
    assert "timed out" in trajectory.error


def test_many_episodes_are_batched_together():
    class CountingRandom(type(make_policy("random:3"))):
        """The random policy, recording how many requests each call carried."""

        sizes: list

        async def agenerate(self, requests, sampling):
            self.sizes.append(len(requests))
            return await super().agenerate(requests, sampling)

    policy = CountingRandom(3)
    policy.sizes = []
    tasks = [Task("games/TicTacToe-v0", seed) for seed in range(16)]
    result = rollout(policy, tasks, RolloutConfig(group_size=2), progress=False)
    assert result.stats["episodes"] == 32 and sum(policy.sizes) == result.stats["turns"]
    assert max(policy.sizes) >= 16, f"concurrent episodes should share policy calls, got {policy.sizes}"


STEPS: list[tuple[bool, int, float, float]] = []  # (slow, turn, start, end) of every SlowFirstStep step


class SlowFirstStep(LLMEnv):
    """Four turns; with ``slow=True`` the first step takes 1 s, every other step none."""

    def __init__(self, slow: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.slow = slow

    def new_episode(self, options):
        self.turn = 0
        return "start"

    def play(self, action):
        start = time.monotonic()
        if self.slow and self.turn == 0:
            time.sleep(1.0)
        self.turn += 1
        STEPS.append((self.slow, self.turn, start, time.monotonic()))
        return Feedback(f"turn {self.turn}", {"outcome": 0.0}, terminated=self.turn >= 4)


agentgym.register("testing/SlowFirstStep-v0", SlowFirstStep, max_turns=10)


class BatchDependentScript(ScriptedPolicy):
    """A script that claims its generations may depend on their batch-mates (as a model's do)."""

    batch_invariant = False


@pytest.mark.parametrize("policy, waits", [(ScriptedPolicy(["a"], then="b"), False),
                                           (BatchDependentScript(["a"], then="b"), True)],
                         ids=["batch-invariant", "batch-dependent"])
def test_a_seeded_rollout_waits_for_a_slow_step_only_when_batches_matter(policy, waits):
    """Seeded sampling: a batch-dependent policy's requests go in lockstep, so the fast episodes'
    later turns wait for the slow step; a batch-invariant policy's do not (and replay the same)."""
    STEPS.clear()
    config = RolloutConfig(sampling=SamplingParams(seed=0))
    tasks = [Task("testing/SlowFirstStep-v0", seed, {"slow": seed == 0}) for seed in range(3)]
    result = rollout(policy, tasks, config, progress=False)
    assert [len(t.turns) for t in result.trajectories] == [4, 4, 4] and result.stats["errors"] == 0
    slow_end = next(end for slow, turn, _, end in STEPS if slow and turn == 1)
    fast_last_starts = [start for slow, turn, start, _ in STEPS if not slow and turn == 4]
    assert len(fast_last_starts) == 2
    assert all(start >= slow_end for start in fast_last_starts) is waits, (slow_end, STEPS)
    assert all(start < slow_end for start in fast_last_starts) is not waits, (slow_end, STEPS)
    assert [[turn.action for turn in t.turns] for t in result.trajectories] == [["a", "b", "b", "b"]] * 3


def test_unknown_env_fails_before_anything_runs():
    with pytest.raises(KeyError, match="Did you mean"):
        rollout(OraclePolicy(), [Task("games/Wordel-v0", 0)], progress=False)


@pytest.mark.parametrize("bad", [
    dict(group_size=0), dict(group_size=True), dict(group_size=2.0), dict(max_batch_size="8"),
    dict(max_concurrent_episodes=None), dict(step_timeout=0), dict(step_timeout=math.nan),
    dict(step_timeout=math.inf), dict(step_timeout=True), dict(episode_timeout=-1.0),
    dict(episode_timeout=math.nan), dict(max_turns=0), dict(max_turns=2.5), dict(max_turns=False),
    dict(max_context_chars=0.5), dict(max_abandoned_threads=-1), dict(max_abandoned_threads=1.0),
])
def test_bad_config_is_a_clear_error_naming_the_option(bad):
    (name, value), = bad.items()
    with pytest.raises(ValueError, match=rf"^{name} must be .*got {re.escape(repr(value))}$"):
        RolloutConfig(**bad)


def test_good_config_values_pass():
    config = RolloutConfig(group_size=2, max_turns=3, step_timeout=1, episode_timeout=2.5,
                           max_context_chars=None, max_abandoned_threads=0)
    assert config.step_timeout == 1 and config.max_abandoned_threads == 0


def test_hung_episodes_are_counted_reported_and_capped(tmp_path):
    baseline = hung_thread_count()
    config = RolloutConfig(step_timeout=0.2, max_concurrent_episodes=1, max_abandoned_threads=baseline + 2)
    with pytest.warns(HungEnvironmentWarning, match="abandoned in its thread"):
        result = rollout(OraclePolicyWithFallback(), [Task("testing/Hang-v0", s) for s in range(2)], config,
                         progress=False)
    assert [t.error for t in result.trajectories] == ["environment step timed out after 0.2 s"] * 2
    assert result.stats["abandoned_threads"] == 2 and result.stats["hung_threads"] == baseline + 2
    hung = [t for t in threading.enumerate() if t.name.startswith("agentgym-episode-testing/Hang-v0")]
    assert len(hung) >= 2 and all(t.daemon for t in hung)

    # one more hung episode goes past the cap: the episode after it is refused, the rollout stops
    path = tmp_path / "t.jsonl"
    tasks = [Task("testing/Hang-v0", 10), Task("games/GuessTheNumber-v0", 0), Task("testing/Hang-v0", 11)]
    with pytest.raises(HungEnvironmentError, match=r"3 environment steps are still hung in abandoned threads.*"
                                                   r"fix the environment"), \
            pytest.warns(HungEnvironmentWarning, match=r"3 calls now hung"):
        rollout(OraclePolicyWithFallback(), tasks, config, trajectories_path=path, progress=False)
    assert [t.seed for t in TrajectoryReader(path)] == [10]  # what finished is kept
    assert hung_thread_count() == baseline + 3  # the cap stopped the leak: the third hang never ran

    RELEASE.set()  # the hung steps return: their threads end and the count falls back
    deadline = time.monotonic() + 10
    while hung_thread_count() > baseline and time.monotonic() < deadline:
        time.sleep(0.02)
    assert hung_thread_count() == baseline
    assert rollout(OraclePolicyWithFallback(), [Task("testing/Hang-v0", 0)], config,
                   progress=False).stats["episodes"] == 1


def test_jsonl_is_flushed_per_trajectory(tmp_path):
    path = tmp_path / "run.jsonl"
    tasks = [Task("games/GuessTheNumber-v0", s) for s in range(4)]
    rollout(OraclePolicy(), tasks, trajectories_path=path, progress=False)
    with open(path, "ab") as file:
        file.write(b'{"env_id": "cut off by a cra')  # a crash mid-write
    reader = TrajectoryReader(path)
    assert len(list(reader)) == 4 and reader.bad_lines == [5]
