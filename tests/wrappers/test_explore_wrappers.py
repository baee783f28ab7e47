"""Wrapper arguments of the wrong type or value are refused naming the argument, at
construction: a NaN penalty would make every format error's reward NaN, and a budget read from a
configuration as text failed with "'<' not supported between instances of 'str' and 'int'"."""

from __future__ import annotations

import pytest

import agentgym
from agentgym.wrappers import AnswerFormat, ChatHistory


@pytest.mark.parametrize("penalty", [float("nan"), float("inf"), "0.1", True, None])
def test_answer_format_refuses_a_penalty_that_is_no_finite_number(penalty):
    with pytest.raises(ValueError, match=r"AnswerFormat: penalty must be a finite number, got "):
        AnswerFormat(agentgym.make("games/GuessTheNumber-v0"), penalty=penalty)


def test_answer_format_penalty_still_costs_what_it_says():
    env = AnswerFormat(agentgym.make("games/GuessTheNumber-v0"), penalty=1)
    env.reset(seed=0)
    assert env.step("no tags")[1] == -1.0


@pytest.mark.parametrize("argument", ["max_context_chars", "max_context_tokens"])
@pytest.mark.parametrize("budget", ["100", float("nan"), True, 0])
def test_chat_history_refuses_a_budget_that_is_no_positive_number(argument, budget):
    counting = {"count_tokens": len} if argument == "max_context_tokens" else {}
    with pytest.raises(ValueError, match=rf"ChatHistory: {argument} must be a positive number, got "):
        ChatHistory(agentgym.make("games/GuessTheNumber-v0"), **{argument: budget}, **counting)


@pytest.mark.parametrize("keep", ["200", 1.5, -1])
def test_chat_history_refuses_elide_keep_chars_that_is_no_count(keep):
    with pytest.raises(ValueError, match=r"ChatHistory: elide_keep_chars must be an integer >= 0, got "):
        ChatHistory(agentgym.make("games/GuessTheNumber-v0"), max_context_chars=500, overflow="elide",
                    elide_keep_chars=keep)


@pytest.mark.parametrize("answer_format, opening, closing", [({}, "<answer>", "</answer>"),
                                                             ({"format": "boxed"}, "\\boxed{", "}")])
def test_the_oracle_and_random_baselines_write_their_moves_in_the_answer_format(answer_format, opening, closing):
    """Under AnswerFormat the oracle's hint is written as the agent must write it: the oracle is
    still the upper bound (it scored 0%: every raw move was a format error)."""
    from agentgym.policies.random import RandomPolicy
    from agentgym.policies.scripted import OraclePolicy
    from agentgym.rollout import RolloutConfig, Task, rollout
    from agentgym.wrappers import WrapperSpec

    tasks = [Task("games/GuessTheNumber-v0", seed) for seed in range(3)]
    config = RolloutConfig(wrappers=[WrapperSpec("AnswerFormat", answer_format)])
    oracle = rollout(OraclePolicy(), tasks, config, progress=False)
    assert oracle.stats["success_rate"] == 1.0
    for trajectory in oracle.trajectories:
        for turn in trajectory.turns:
            assert turn.error is None and turn.info["format_ok"]
            assert turn.action.startswith(opening) and turn.action.endswith(closing)
            assert turn.action[len(opening):-len(closing)].isdigit()
    played = rollout(RandomPolicy(seed=0), tasks, config, progress=False)
    assert all(turn.info.get("format_ok") for t in played.trajectories for turn in t.turns)


def test_a_regex_answer_format_leaves_the_hint_as_the_environment_gives_it():
    import re

    from agentgym.wrappers import AnswerFormat

    env = AnswerFormat(agentgym.make("games/GuessTheNumber-v0"), re.compile(r"MOVE=(\d+)"), instruction="Write MOVE=n.")
    assert env.write_move("10") is None
    assert AnswerFormat(agentgym.make("games/GuessTheNumber-v0"), tag="guess").write_move("10") == "<guess>10</guess>"


def test_turn_limit_takes_any_integer_as_make_does_and_refuses_a_bool():
    import numpy as np

    from agentgym.policies.scripted import ScriptedPolicy
    from agentgym.rollout import RolloutConfig, Task, rollout
    from agentgym.wrappers import TurnLimit

    env = TurnLimit(agentgym.make("games/GuessTheNumber-v0", max_turns=None), np.int64(2))
    env.reset(seed=0)
    assert env.step("1")[3] is False and env.step("2")[3] is True
    with pytest.raises(ValueError, match="max_turns must be a positive integer, got True"):
        TurnLimit(agentgym.make("games/GuessTheNumber-v0"), True)
    # RolloutConfig and make accepted a NumPy count, and then every episode failed in TurnLimit:
    config = RolloutConfig(max_turns=np.int64(3))
    trajectory = rollout(ScriptedPolicy(["1", "2", "3"]), [Task("games/GuessTheNumber-v0", 0)], config,
                         progress=False).trajectories[0]
    assert trajectory.error is None and len(trajectory.turns) == 3 and trajectory.truncated


def test_a_recorder_reset_after_close_records_on_to_its_file(tmp_path):
    """The environment may be reset after ``close()``; the recorder then failed at the episode's
    end with 'ValueError: write to closed file'. It reopens its own file instead (appending)."""
    from agentgym.trajectory import TrajectoryReader
    from agentgym.wrappers import TrajectoryRecorder

    path = tmp_path / "episodes.jsonl"
    env = TrajectoryRecorder(agentgym.make("games/GuessTheNumber-v0", max_turns=1), path)
    for seed in (0, 1):
        env.reset(seed=seed)
        assert env.step("7")[3]  # truncated: the episode ends and is written
        env.close()
    env.close()
    assert [t.seed for t in TrajectoryReader(path)] == [0, 1]
