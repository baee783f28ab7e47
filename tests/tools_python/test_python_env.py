"""tools/Python-v0: registration, the agentgym contract under hostile actions and malformed tool
calls at every level, the oracle (runs its program, then answers) always wins, the random agent
rarely does, the answer rules, the code-run budget, code that times out or crashes, closing
from another thread while code loops forever, and no process left after many episodes."""

from __future__ import annotations

import threading
import time

import gymnasium
import pytest

import agentgym
from agentgym.core import ConfigError
from agentgym.envs.tools import TOOL_ENV_IDS
from agentgym.envs.tools.python.env import CODE_RUNS, PythonTasksEnv
from agentgym.info import ErrorKind
from agentgym.testing import check_llm_env, oracle_agent, play_episode, random_agent

ENV_ID = "tools/Python-v0"
LEVELS = ("easy", "medium", "hard")


@pytest.fixture
def env(sandbox):
    """Python-v0 (medium) as make builds it (TurnLimit(ToolCalling(...))), on the shared sandbox."""
    made = agentgym.make(ENV_ID, difficulty="medium", sandbox=sandbox)
    yield made
    made.close()


def _step(env, action):
    observation, reward, terminated, truncated, info = env.step(action)
    return observation, reward, terminated, info


# ------------------------------------------------------------------ registration and contract
def test_registered_in_the_tools_family():
    assert ENV_ID in TOOL_ENV_IDS and ENV_ID in [info.id for info in agentgym.list_envs(family="tools")]
    info = agentgym.env_info(ENV_ID)
    assert info.family == "tools" and info.max_turns == 16 and "hidden-answer" in info.tags
    made = agentgym.make(ENV_ID, difficulty="hard", families=["dates"])
    assert made.unwrapped.difficulties == LEVELS and made.unwrapped.families == ("dates",)
    assert made.unwrapped.code_runs == CODE_RUNS["hard"]
    made.close()
    plain = gymnasium.make(ENV_ID)
    plain.reset(seed=0)
    plain.close()
    assert "python-v0" in [suite.name for suite in agentgym.list_suites()]


@pytest.mark.parametrize("level", LEVELS)
def test_agentgym_contract_with_hostile_actions_and_malformed_calls(level, sandbox):
    made = agentgym.make(ENV_ID, difficulty=level, sandbox=sandbox)
    check_llm_env(made, hostile=40)  # includes every tool called with bad arguments and every format broken
    made.close()


@pytest.mark.parametrize("action, problem", [
    ("<python>print(1)", "unclosed <python>"),
    ("print(1)</python>", "without an opening"),
    ("<python></python>", "empty <python> block"),
    ("<python>  \n </python>", "empty <python> block"),
    ("<python>a = 1<python>b = 2</python></python>", "cannot nest"),
    ("```python\nprint(1)\n", "unclosed ```python block"),
    ("```python\n```", "empty ```python block"),
    ('<python>print(1)</python>\n<tool_call>{"name": "python", "arguments": {"code": "1"}}</tool_call>',
     "mixes two tool-call formats (python and hermes)"),
    ('<tool_call>{"name": "python", "arguments": {"code": 1}}</tool_call>', "must be a string"),
    ('<tool_call>{"name": "python", "arguments": {}}</tool_call>', "missing required argument"),
    ('<tool_call>{"name": "python", "arguments": {"code": "1", "timeout": 5}}</tool_call>', "unknown argument"),
    ('<tool_call>{"name": "pyhton", "arguments": {"code": "1"}}</tool_call>', "unknown tool"),
    ("<tool_call>{not json}</tool_call>", "not valid JSON"),
])
def test_malformed_python_calls_are_error_observations(env, action, problem):
    env.reset(seed=0)
    observation, reward, terminated, info = _step(env, action)
    assert problem in observation and info["error"] and reward == 0.0 and not terminated
    assert info["error_kind"] in (ErrorKind.FORMAT, ErrorKind.TOOL)
    assert env.unwrapped.python_sandbox.session is None or not info.get("tool_results", [{}])[0].get("ok", False)
    observation, *_ = _step(env, "<python>print(6 * 7)</python>")
    assert "42" in observation  # the episode goes on


def test_every_call_format_runs_the_same_interpreter(env):
    env.reset(seed=0)
    _step(env, "<python>x = 6</python>")
    assert "42" in _step(env, "```python\nprint(x * 7)\n```")[0]
    assert "43" in _step(env, '<tool_call>{"name": "python", "arguments": {"code": "print(x * 7 + 1)"}}</tool_call>')[0]
    message = {"role": "assistant", "content": "", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "python", "arguments": '{"code": "print(x + 38)"}'}}]}
    assert "44" in _step(env, message)[0]


# ------------------------------------------------------------------ baselines
@pytest.mark.parametrize("level", LEVELS)
def test_the_oracle_runs_its_program_then_answers_and_always_wins(level, sandbox):
    made = agentgym.make(ENV_ID, difficulty=level, sandbox=sandbox)
    families = set()
    for seed in range(10):
        episode = play_episode(made, oracle_agent, seed=seed)
        assert episode["success"] and episode["return"] == 1.0, (level, seed)
        assert episode["actions"][0].startswith("<python>") and episode["actions"][-1].startswith("<answer>")
        families.add(episode["infos"][-1]["task_family"])
    assert len(families) >= 3
    made.close()


def test_the_random_agent_rarely_wins(sandbox):
    wins = 0
    for level in LEVELS:
        made = agentgym.make(ENV_ID, difficulty=level, sandbox=sandbox)
        wins += sum(play_episode(made, random_agent(seed), seed=seed)["success"] for seed in range(10))
        made.close()
    assert wins <= 2


# ------------------------------------------------------------------ answering
def test_answer_forms(env):
    env.reset(seed=3)
    task = env.unwrapped.task
    assert task.kind == "integer"
    with_separators = f"{int(task.answer):,}"
    for action in (f"<answer>{with_separators}</answer>", f"The result is \\boxed{{{task.answer}}}.",
                   f"Answer: {task.answer}", task.answer):
        env.reset(seed=3)
        observation, reward, terminated, info = _step(env, action)
        assert (observation, reward, terminated, info["success"]) == ("Correct.", 1.0, True, True), action
    env.reset(seed=3)
    observation, reward, terminated, info = _step(env, "<answer>12abc</answer>")
    assert terminated and reward == 0.0 and "it is not an integer" in observation and not info["answer_well_formed"]


@pytest.mark.parametrize("action, problem", [
    ("Let me think about it.", "no answer found"),
    ("The digits\nadd up to something", "no answer found"),
    ("<answer>  </answer>", "the <answer> tag is empty"),
    ("<answer>12", "the <answer> tag is not closed"),
    ("</answer>12<answer>", "the <answer> tag is not closed"),
])
def test_replies_without_an_answer_are_invalid_and_the_episode_goes_on(env, action, problem):
    env.reset(seed=3)
    observation, reward, terminated, info = _step(env, action)
    assert problem in observation and info["error_kind"] == ErrorKind.INVALID_ACTION and not terminated
    assert _step(env, f"<answer>{env.unwrapped.task.answer}</answer>")[2]


def test_string_puzzles_need_the_tag(sandbox):
    made = agentgym.make(ENV_ID, difficulty="easy", families="strings", sandbox=sandbox)
    made.reset(seed=1)
    answer = made.unwrapped.task.answer
    assert "no answer found" in _step(made, answer)[0]  # one line of prose would otherwise end the episode
    assert _step(made, f"<answer>{answer}</answer>")[1] == 1.0
    made.close()


def test_the_code_run_budget(sandbox):
    made = agentgym.make(ENV_ID, difficulty="easy", code_runs=2, sandbox=sandbox)
    made.reset(seed=0)
    assert "1" in _step(made, "<python>print(1)</python>")[0]
    assert "2" in _step(made, "<python>print(2)</python>")[0]
    observation, reward, terminated, info = _step(made, "<python>print(3)</python>")
    assert "limit of 2 code runs" in observation and info["error_kind"] == ErrorKind.TOOL and not terminated
    assert "You have 2 code runs" in made.reset(seed=1)[0] and "2 times" in made.unwrapped.instructions
    made.close()


def test_the_turn_budget_truncates(sandbox):
    made = agentgym.make(ENV_ID, difficulty="easy", sandbox=sandbox)
    made.reset(seed=0)
    for turn in range(16):
        _, _, terminated, truncated, _ = made.step("still thinking")
        assert not terminated
    assert truncated
    made.close()


# ------------------------------------------------------------------ hostile code and closing
def test_a_timed_out_or_crashing_program_is_an_observation(resources):
    made = agentgym.make(ENV_ID, difficulty="easy", code_runs=6, limits={"wall_seconds": 1.5, "cpu_seconds": 5})
    made.reset(seed=0)
    observation, reward, terminated, info = _step(made, "<python>while True:\n    pass</python>")
    assert "wall-clock limit" in observation and not terminated and info["tool_results"][0]["ok"]
    assert "killed by signal 11" in _step(made, "<python>import ctypes\nctypes.string_at(0)</python>")[0]
    assert "RecursionError" in _step(made, "<python>def f(): return f()\nf()</python>")[0]
    assert "MemoryError" in _step(made, "```python\nx = bytearray(8 * 1024 ** 3)\n```")[0]
    assert _step(made, f"<answer>{made.unwrapped.task.answer}</answer>")[1] == 1.0
    made.close()
    resources.assert_released()


def test_closed_from_another_thread_while_code_loops_forever(sandbox, resources):
    made = agentgym.make(ENV_ID, difficulty="medium", sandbox=sandbox)
    made.reset(seed=0)
    result: dict = {}
    stepping = threading.Thread(target=lambda: result.setdefault("step", made.step("<python>while True: pass</python>")))
    stepping.start()
    time.sleep(0.5)
    assert stepping.is_alive()
    started = time.perf_counter()
    made.close()
    stepping.join(10)
    assert not stepping.is_alive() and time.perf_counter() - started < 5
    assert "the session was closed" in result["step"][0]
    resources.assert_released()


def test_many_episodes_leave_no_process_behind(sandbox, resources):
    made = agentgym.make(ENV_ID, difficulty="easy", sandbox=sandbox)
    for seed in range(15):
        made.reset(seed=seed)
        _step(made, "<python>import subprocess\nsubprocess.Popen(['sleep', '100'])\nx = 1</python>")
        if seed % 2:
            _step(made, made.unwrapped.oracle_action())  # the others are abandoned by the next reset
    made.close()
    resources.assert_released()


def test_bad_arguments_are_config_errors(sandbox):
    with pytest.raises(ConfigError, match="families"):
        PythonTasksEnv("easy", families=["poetry"])
    with pytest.raises(ConfigError, match="families"):
        PythonTasksEnv("easy", families=[])
    with pytest.raises(ConfigError, match="code_runs"):
        PythonTasksEnv("easy", code_runs=-1)
    with pytest.raises(ConfigError, match="limits"):
        PythonTasksEnv("easy", limits={"wall_seconds": -1})
    with pytest.raises(ConfigError, match="limits"):
        PythonTasksEnv("easy", limits={"walltime": 3})
    with pytest.raises(ConfigError, match="not both"):
        PythonTasksEnv("easy", sandbox=sandbox, limits={"wall_seconds": 3})
    with pytest.raises(ConfigError, match="difficulty"):
        PythonTasksEnv("impossible")
