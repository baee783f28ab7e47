"""Environment-aware policies get declared, JSON-safe hints, never the environment."""

import dataclasses
import json

import pytest

import agentgym
from agentgym import Feedback, LLMEnv
from agentgym.policies.base import ENV_HINTS, Generation, Policy, Request
from agentgym.policies.random import RandomPolicy
from agentgym.policies.scripted import OraclePolicy
from agentgym.rollout import RolloutConfig, Task, rollout


class NoOracle(LLMEnv):
    def new_episode(self, options):
        return "start"

    def play(self, action):
        return Feedback("done", {"outcome": 0.0}, terminated=True)


agentgym.register("testing/HintsNoOracle-v0", NoOracle, max_turns=2)


class Recording(Policy):
    """Plays the oracle's hint and records every request."""

    name = "recording"

    def __init__(self, env_hints=()):
        self.env_hints = tuple(env_hints)
        self.requests = []

    async def agenerate(self, requests, sampling):
        self.requests.extend(requests)
        return [Generation((r.hints or {}).get("oracle_action", "5")) for r in requests]


def test_requests_carry_no_environment_only_the_declared_hints():
    assert "env" not in {f.name for f in dataclasses.fields(Request)}
    policy = Recording(env_hints=ENV_HINTS)
    result = rollout(policy, [Task("games/GuessTheNumber-v0", 3)], progress=False)
    assert result.trajectories[0].success
    for request in policy.requests:
        assert set(request.hints) == {"oracle_action", "random_action"}
        assert json.loads(json.dumps(request.hints)) == request.hints  # plain data, nothing live
    plain = Recording()
    rollout(plain, [Task("games/GuessTheNumber-v0", 3)], RolloutConfig(max_turns=2), progress=False)
    assert plain.requests and all(request.hints is None for request in plain.requests)


def test_the_oracle_hint_is_this_turns_move_and_nothing_else_of_the_answer():
    policy = Recording(env_hints=("oracle_action",))
    (trajectory,) = rollout(policy, [Task("games/Wordle-v0", 0)], progress=False).trajectories
    assert trajectory.success
    assert [r.hints for r in policy.requests] == [{"oracle_action": t.action} for t in trajectory.turns]


def test_seeded_random_replays_and_differs_across_a_group():
    tasks = [Task("games/TicTacToe-v0", seed) for seed in range(3)]
    config = RolloutConfig(group_size=2, max_turns=4)

    def actions(seed):
        return [[turn.action for turn in t.turns] for t in rollout(RandomPolicy(seed), tasks, config,
                                                                   progress=False).trajectories]

    first = actions(5)
    assert first == actions(5)
    assert first != actions(6)
    assert any(first[2 * i] != first[2 * i + 1] for i in range(3)), "rollouts of a group draw their own moves"


def test_an_environment_without_an_oracle_is_the_oracles_policy_error():
    (trajectory,) = rollout(OraclePolicy(), [Task("testing/HintsNoOracle-v0", 0)], progress=False).trajectories
    assert trajectory.error_kind == "policy" and "has no oracle" in trajectory.error


def test_unknown_hints_are_refused_before_anything_runs():
    with pytest.raises(ValueError, match="not hints an environment gives"):
        rollout(Recording(env_hints=("reference_answer",)), [Task("games/GuessTheNumber-v0", 0)], progress=False)


def test_a_request_without_hints_is_a_clear_error_generation():
    [generation] = OraclePolicy().generate([Request([{"role": "user", "content": "hi"}])])
    assert generation.finish_reason == "error" and "oracle_action" in generation.error
