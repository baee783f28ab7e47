"""Dataset-backed environments: the shipped files (regenerated exactly, every code solution
passing its tests in the sandbox and a stub failing), tools/MathDataset-v0 and
tools/CodeDataset-v0 under the agentgym contract at every level, oracle and random baselines,
retries with feedback, choosing a problem, the Python tool, the pytest runner, and
register_dataset's one line with its errors."""

from __future__ import annotations

import json

import gymnasium
import pytest

import agentgym
from agentgym.core import ConfigError
from agentgym.envs.tools import TOOL_ENV_IDS
from agentgym.envs.tools.datasets import DatasetEnv, register_dataset
from agentgym.envs.tools.datasets.code_tests import run_tests
from agentgym.envs.tools.datasets.math_answers import equivalent
from agentgym.envs.tools.datasets.records import load_problems
from agentgym.envs.tools.datasets.sample_data import CODE_FILE, MATH_FILE, code_problems, math_problems, render_jsonl
from agentgym.info import ErrorKind
from agentgym.testing import check_llm_env, oracle_agent, play_episode, random_agent

MATH_ID, CODE_ID = "tools/MathDataset-v0", "tools/CodeDataset-v0"
LEVELS = ("all", "easy", "medium", "hard")


# ------------------------------------------------------------------ the shipped data
def test_the_shipped_files_are_what_the_generator_writes():
    assert MATH_FILE.read_text(encoding="utf-8") == render_jsonl(math_problems())
    assert CODE_FILE.read_text(encoding="utf-8") == render_jsonl(code_problems())
    math_levels = [p.level for p in load_problems(MATH_FILE, "math")]
    assert {level: math_levels.count(level) for level in LEVELS[1:]} == {"easy": 12, "medium": 12, "hard": 12}
    assert len(load_problems(CODE_FILE, "code")) == 12


def test_every_shipped_solution_passes_its_tests_and_a_stub_does_not(sandbox):
    for problem in load_problems(CODE_FILE, "code"):
        verdict = run_tests(sandbox, problem.solution, problem.tests)
        assert verdict.correct and verdict.total >= 3, (problem.id, verdict)
        stub = run_tests(sandbox, "def unused():\n    pass\n", problem.tests)
        assert not stub.correct, problem.id


def test_shipped_math_answers_survive_rewriting():
    for problem in load_problems(MATH_FILE, "math"):
        answer = problem.answer
        assert equivalent(f"${answer}$", answer) and equivalent(f"\\displaystyle {answer}.", answer), problem.id
        assert not equivalent(f"{answer} + 1", answer) or "," in answer, problem.id


# ------------------------------------------------------------------ registration and contract
def test_registered_in_the_tools_family():
    for env_id in (MATH_ID, CODE_ID):
        assert env_id in TOOL_ENV_IDS
        info = agentgym.env_info(env_id)
        assert info.family == "tools" and "dataset" in info.tags
        plain = gymnasium.make(env_id)
        plain.reset(seed=0)
        assert plain.unwrapped.difficulties == LEVELS
        plain.close()
    assert agentgym.env_info(CODE_ID).max_turns == 3 + 5 + 4


@pytest.mark.parametrize("level", LEVELS)
def test_math_dataset_contract_with_hostile_actions(level):
    env = agentgym.make(MATH_ID, difficulty=level)
    check_llm_env(env, hostile=40)
    env.close()


@pytest.mark.parametrize("level", LEVELS)
def test_code_dataset_contract_with_hostile_actions_and_malformed_calls(level, sandbox):
    env = agentgym.make(CODE_ID, difficulty=level, sandbox=sandbox)
    check_llm_env(env, hostile=40)  # with the Python tool: bad arguments and broken markup of every format
    env.close()


def test_malformed_python_calls_in_the_code_dataset(sandbox):
    env = agentgym.make(CODE_ID, difficulty="easy", sandbox=sandbox)
    env.reset(seed=0)
    for action, problem in [("<python>x = 1", "unclosed <python>"), ("<python></python>", "empty <python> block"),
                            ("<python><python>1</python></python>", "cannot nest"),
                            ('<python>1</python><tool_call>{"name": "python", "arguments": {}}</tool_call>',
                             "mixes two tool-call formats")]:
        observation, reward, terminated, truncated, info = env.step(action)
        assert problem in observation and info["error_kind"] == ErrorKind.FORMAT and not terminated
    assert env.unwrapped.attempts == 0
    env.close()


# ------------------------------------------------------------------ baselines
@pytest.mark.parametrize("env_id", [MATH_ID, CODE_ID])
def test_the_oracle_solves_every_problem(env_id, sandbox):
    kwargs = {"sandbox": sandbox} if env_id == CODE_ID else {}
    env = agentgym.make(env_id, **kwargs)
    for index in range(len(env.unwrapped.pool)):
        episode = play_episode(env, oracle_agent, options={"index": index}, seed=index)
        assert episode["success"] and episode["return"] == 1.0, (env_id, index)
        assert episode["infos"][-1]["attempt"] == 1
    env.close()


def test_the_random_agent_rarely_succeeds(sandbox):
    wins = 0
    for env_id, kwargs in ((MATH_ID, {}), (CODE_ID, {"sandbox": sandbox})):
        env = agentgym.make(env_id, **kwargs)
        wins += sum(play_episode(env, random_agent(seed), seed=seed)["success"] for seed in range(12))
        env.close()
    assert wins <= 4


# ------------------------------------------------------------------ playing
def test_math_answers_are_checked_by_equivalence():
    env = DatasetEnv([{"question": "What is 3/4 as a decimal?", "answer": "0.75"}], "math")
    for reply in ("\\boxed{\\frac{3}{4}}", "The answer is 3/4.", "<answer>75%</answer>", "0.750"):
        env.reset(seed=0)
        observation, reward, terminated, truncated, info = env.step(reply)
        assert (reward, terminated, info["success"]) == (1.0, True, True), reply
    env.reset(seed=0)
    observation, reward, terminated, truncated, info = env.step("\\boxed{0.7}")
    assert (reward, terminated) == (0.0, True) and "Your answer '0.7' is not correct." in observation
    env.reset(seed=0)
    observation, reward, terminated, truncated, info = env.step("I need to think\nabout this")
    assert info["error_kind"] == ErrorKind.INVALID_ACTION and not terminated and "\\boxed" in observation


def test_retries_with_feedback():
    rows = [{"question": "Solve 2x = 3.", "answer": "x = \\frac{3}{2}"}]
    env = DatasetEnv(rows, "math", max_attempts=3)
    observation, _ = env.reset(seed=0)
    assert "You have 3 attempts." in observation and "3 attempts" in env.instructions
    observation, reward, terminated, truncated, info = env.step("\\boxed{2}")
    assert not terminated and reward == 0.0 and "Try again: 2 attempts left." in observation and info["attempt"] == 1
    observation, reward, terminated, truncated, info = env.step("\\boxed{1.5}")
    assert terminated and reward == 1.0 and info["attempt"] == 2
    env.reset(seed=0)
    for attempt in range(3):
        observation, reward, terminated, truncated, info = env.step("\\boxed{7}")
    assert terminated and reward == 0.0 and "Try again" not in observation


def test_code_feedback_names_the_failures(sandbox):
    env = agentgym.make(CODE_ID, difficulty="easy", sandbox=sandbox)
    env.reset(seed=0, options={"index": 0})  # add(a, b)
    observation, reward, terminated, truncated, info = env.step("```python\ndef add(a, b):\n    return a * b\n```")
    assert not terminated and "0 of 3 tests passed." in observation and "(got 2)" in observation
    assert (info["tests_passed"], info["tests_total"], info["attempt"]) == (0, 3, 1)
    observation, reward, terminated, truncated, info = env.step("```python\ndef add(a, b)\n    return a + b\n```")
    assert "does not compile" in observation and info["test_error"] and "1 attempt left" in observation
    observation, reward, terminated, truncated, info = env.step(env.unwrapped.oracle_action())
    assert terminated and reward == 1.0 and info["attempt"] == 3 and "All 3 tests passed." in observation
    env.close()


def test_the_python_tool_in_a_code_episode(sandbox, resources):
    env = agentgym.make(CODE_ID, difficulty="easy", sandbox=sandbox)
    env.reset(seed=0, options={"index": 0})
    observation, reward, terminated, truncated, info = env.step("<python>def add(a, b):\n    return a + b\nadd(2, 3)</python>")
    assert "5" in observation and info["tool_results"][0]["ok"] and env.unwrapped.attempts == 0
    env.step("```python\ndef add(a, b):\n    return a + b\n```")
    env.close()
    resources.assert_released()


def test_a_math_dataset_with_the_python_tool(sandbox):
    env = DatasetEnv([{"question": "What is 2^100 mod 7?", "answer": str(2**100 % 7)}], "math", tools=True, sandbox=sandbox)
    from agentgym.wrappers import ToolCalling

    wrapped = ToolCalling(env)
    wrapped.reset(seed=0)
    assert "2" in wrapped.step("```python\nprint(pow(2, 100, 7))\n```")[0]  # fenced code runs, for math
    assert wrapped.step("\\boxed{2}")[1] == 1.0
    wrapped.close()


def test_choosing_a_problem_and_levels():
    env = agentgym.make(MATH_ID, difficulty="hard")
    assert all(p.level == "hard" for p in env.unwrapped.pool) and len(env.unwrapped.pool) == 12
    observation, _ = env.reset(options={"index": 3})
    assert env.unwrapped.problem is env.unwrapped.pool[3] and env.unwrapped.problem.question in observation
    with pytest.raises(ConfigError, match="options\\['index'\\] must be an integer from 0 to 11"):
        env.reset(options={"index": 12})
    env.close()
    with pytest.raises(ConfigError, match="unknown difficulty 'expert'"):
        agentgym.make(MATH_ID, difficulty="expert")


def test_the_pytest_runner_in_an_episode(sandbox):
    rows = [{"question": "Write neg(x).", "tests": "import pytest\n\ndef test_neg():\n    assert neg(2) == -2\n\n"
             "def test_type():\n    with pytest.raises(TypeError):\n        neg('x')\n",
             "solution": "def neg(x):\n    return -x\n"}]
    env = DatasetEnv(rows, "code", runner="pytest", sandbox=sandbox)
    env.reset(seed=0)
    observation, reward, *_ = env.step(env.oracle_action())
    assert reward == 1.0 and "All 2 tests passed." in observation


# ------------------------------------------------------------------ register_dataset
def test_register_a_dataset_in_one_line(tmp_path, monkeypatch, sandbox):
    path = tmp_path / "mine.jsonl"
    rows = [{"q": f"What is {n} squared?", "a": str(n * n), "level": "easy" if n < 5 else "hard"} for n in range(2, 9)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    info = register_dataset("mine/Squares-v0", "mine.jsonl", kind="math", question_field="q", answer_field="a",
                            difficulty_field="level", max_attempts=2, override=True)
    assert info.family == "tools" and info.max_turns == 6 and info.kwargs["source"] == str(path)
    assert "dataset" in info.tags and "math" in info.tags
    monkeypatch.chdir("/")  # the stored path is absolute
    env = agentgym.make("mine/Squares-v0", difficulty="hard")
    assert env.unwrapped.difficulties == ("all", "easy", "hard") and len(env.unwrapped.pool) == 4
    assert play_episode(env, oracle_agent, seed=1)["success"]
    check_llm_env(env, hostile=40)
    env.close()
    code = register_dataset("mine/Code-v0", [dict(row) for row in code_problems()[:2]], kind="code", tools=True,
                            override=True)
    assert code.max_turns == 1 + 5 + 4
    made = agentgym.make("mine/Code-v0", sandbox=sandbox)
    assert play_episode(made, oracle_agent, seed=0)["success"]
    made.close()


def test_register_dataset_refuses_bad_data_at_once(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        register_dataset("mine/Missing-v0", tmp_path / "missing.jsonl", kind="math")
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps({"problem": "1+1?", "answer": "2"}) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="has no 'question' field .* question_field="):
        register_dataset("mine/Fields-v0", path, kind="math")
    with pytest.raises(ConfigError, match="max_attempts"):
        register_dataset("mine/Attempts-v0", path, kind="math", question_field="problem", max_attempts=0)
    with pytest.raises(ConfigError, match="kind must be one of"):
        register_dataset("mine/Kind-v0", path, kind="poetry", question_field="problem")
    assert not agentgym.registry.is_registered("mine/Fields-v0")
    register_dataset("mine/Twice-v0", path, kind="math", question_field="problem")
    register_dataset("mine/Twice-v0", path, kind="math", question_field="problem")  # the same again: a no-op
    with pytest.raises(ConfigError, match="already registered"):
        register_dataset("mine/Twice-v0", path, kind="math", question_field="problem", max_attempts=2)


@pytest.mark.parametrize("kwargs, message", [
    ({"runner": "nose"}, "runner must be one of"),
    ({"tools": "yes"}, "tools must be true or false"),
    ({"per_test_seconds": 0}, "per_test_seconds"),
    ({"limits": {"cpu_seconds": 0}}, "limits"),
    ({"code_runs": -1}, "code_runs"),
])
def test_bad_arguments_are_config_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        DatasetEnv([{"question": "q", "tests": "assert True"}], "code", **kwargs)


def test_replies_that_are_not_unicode_text_are_observations(sandbox, resources):
    env = agentgym.make(CODE_ID, difficulty="easy", sandbox=sandbox)
    env.reset(seed=0, options={"index": 0})
    env.step("<python>kept = 41</python>")
    observation, reward, terminated, truncated, info = env.step("<python>print('\ud800')</python>")
    assert "UnicodeEncodeError" in observation and "launcher" not in observation
    observation, *_ = env.step("<python>print(kept + 1)</python>")
    assert "42" in observation  # the interpreter and its variables survived
    observation, reward, terminated, truncated, info = env.step("```python\ndef add(a, b):\n    return '\udfff'\n```")
    assert not terminated and reward == 0.0 and "not valid unicode text" in observation and info["test_error"]
    env.close()
    resources.assert_released()
