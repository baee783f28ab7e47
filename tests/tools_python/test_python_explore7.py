"""Exploratory round 7 of tools/Python-v0: answers it misread, each found by a probe and fixed."""

from __future__ import annotations

import pytest

from agentgym.envs.tools.python.env import PythonTasksEnv
from agentgym.envs.tools.python.tasks import normalize_answer


@pytest.mark.parametrize("kind, given, expected", [
    ("integer", "$1234$", "1234"), ("integer", "**1,234**", "1234"), ("integer", "$\\mathbf{1234}$", None),
    ("weekday", "**Monday**", "Monday"), ("date", "$2024-02-29$", "2024-02-29"), ("date", "*2024-02-29*", "2024-02-29"),
    ("text", "**abc**", "**abc**"), ("text", "$abc$", "$abc$"),
])
def test_math_and_markdown_dressing_around_an_answer(kind, given, expected):
    # A model's <answer>$42$</answer> or <answer>**42**</answer> was graded wrong, "not an integer".
    # Strings are still compared as written.
    assert normalize_answer(kind, given) == expected


def test_a_one_line_answer_in_markdown_is_the_answer(sandbox):
    env = PythonTasksEnv("easy", families="arithmetic", sandbox=sandbox)
    try:
        for action in ("**Answer:** {}", "**{}**", "The answer is **{}**.", "<answer>${}$</answer>"):
            env.reset(seed=3)
            feedback = env.play(action.format(env.task.answer))
            assert (feedback.observation, feedback.rewards) == ("Correct.", {"outcome": 1.0}), action
    finally:
        env.close()


def test_limits_given_in_part_keep_the_environment_s_other_limits():
    # limits={"memory_mb": 2048} also moved the unnamed limits to SandboxLimits' own defaults: the
    # wall clock from 15 s to 30 s and the output kept from 8,000 to 20,000 characters.
    from agentgym.envs.tools.datasets.env import DEFAULT_LIMITS as DATASET_LIMITS, DatasetEnv
    from agentgym.envs.tools.python.env import DEFAULT_LIMITS

    env = PythonTasksEnv("easy", limits={"memory_mb": 2048})
    limits = env.python_sandbox.sandbox.limits
    assert (limits.memory_mb, limits.wall_seconds, limits.output_chars) == (
        2048, DEFAULT_LIMITS["wall_seconds"], DEFAULT_LIMITS["output_chars"])
    env.close()
    data = DatasetEnv([{"question": "q", "tests": ["assert True"]}], "code", limits={"cpu_seconds": 3})
    limits = data.check_sandbox.limits
    assert (limits.cpu_seconds, limits.wall_seconds, limits.output_chars) == (
        3, DATASET_LIMITS["wall_seconds"], DATASET_LIMITS["output_chars"])
    data.close()


@pytest.mark.parametrize("code_runs, agent_runs", [(0, 0), (2, 2)])
def test_the_oracle_answers_when_no_code_run_is_left(sandbox, code_runs, agent_runs):
    # With code_runs=0, or after the agent used its runs (the oracle gives hints mid-episode), the
    # oracle asked to run its program again and again, each time refused, until the turn budget.
    env = PythonTasksEnv("easy", code_runs=code_runs, sandbox=sandbox)
    try:
        env.reset(seed=0)
        for _ in range(agent_runs):
            env.python_sandbox.python("print(1)")
        assert env.oracle_action() == f"<answer>{env.task.answer}</answer>"
        assert env.play(env.oracle_action()).rewards == {"outcome": 1.0}
    finally:
        env.close()


def test_a_sandbox_that_is_not_a_sandbox_is_a_config_error():
    from agentgym.core import ConfigError

    with pytest.raises(ConfigError, match="PythonTasksEnv: sandbox must be an agentgym.sandbox.Sandbox, not str"):
        PythonTasksEnv(sandbox="my-sandbox")


def test_an_unknown_isolation_is_a_config_error_when_made():
    from agentgym.core import ConfigError

    with pytest.raises(ConfigError, match="PythonTasksEnv: isolation must be one of bubblewrap, rlimits, got 'docker'"):
        PythonTasksEnv(isolation="docker")
