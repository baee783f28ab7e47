"""The Text2SQL environment: registration, the agentgym contract under hostile input, malformed
tool calls of every kind, exploring and submitting, the turn budget, the oracle and the random
baseline, the tool-facing methods, and closing."""

from __future__ import annotations

import dataclasses

import gymnasium
import pytest

import agentgym
from agentgym.core import ConfigError
from agentgym.envs.tools import TOOL_ENV_IDS
from agentgym.envs.tools.sql.env import RUN_SQL_PARAMETERS, TURN_BUDGETS, SQLEnv
from agentgym.envs.tools.sql.questions import q
from agentgym.envs.tools.sql.schemas import SCHEMAS
from agentgym.info import ErrorKind
from agentgym.testing import check_hostile_actions, check_llm_env, oracle_agent, play_episode, random_agent
from tests.resource_probe import ResourceProbe


ENV_ID = "tools/SQL-v0"
LEVELS = ("easy", "medium", "hard")


def _env(difficulty: str = "medium", seed: int = 0, **kwargs) -> SQLEnv:
    env = SQLEnv(difficulty, **kwargs)
    env.reset(seed=seed)
    return env


# ------------------------------------------------------------------ registration and contract
def test_registered_in_the_tools_family():
    assert ENV_ID in TOOL_ENV_IDS and ENV_ID in [info.id for info in agentgym.list_envs(family="tools")]
    info = agentgym.env_info(ENV_ID)
    assert info.family == "tools" and info.description and "hidden-answer" in info.tags
    env = agentgym.make(ENV_ID, difficulty="hard", schema="school")
    assert env.unwrapped.difficulties == LEVELS and env.unwrapped.family == "tools"
    assert env.unwrapped.schema == "school"
    env.close()
    plain = gymnasium.make(ENV_ID)
    plain.reset(seed=0)
    plain.close()
    assert "sql-v0" in [suite.name for suite in agentgym.list_suites()]


@pytest.mark.parametrize("level", LEVELS)
def test_agentgym_contract_with_hostile_actions(level):
    env = agentgym.make(ENV_ID, difficulty=level)
    check_llm_env(env, hostile=40)
    check_hostile_actions(env, n=300, seed=1)
    env.close()


@pytest.mark.parametrize("schema", SCHEMAS)
def test_each_schema_passes_the_contract(schema):
    env = agentgym.make(ENV_ID, difficulty="hard", schema=schema)
    check_llm_env(env, hostile=40)
    observation, _ = env.reset(seed=5)
    assert f"database '{schema}_" in observation
    env.close()


def test_random_schema_draws_every_schema():
    env = SQLEnv("easy")
    schemas = set()
    for seed in range(30):
        env.reset(seed=seed)
        schemas.add(env.database.schema)
    assert schemas == set(SCHEMAS)


def test_first_observation_shows_schema_samples_and_question_but_not_the_gold_query():
    env = _env("hard", seed=3)
    observation = env._last_observation
    assert "CREATE TABLE" in observation and "the first 3:" in observation
    assert f"Question: {env.question.text}" in observation
    assert env.question.gold_sql not in observation and env.reference_answer == env.question.gold_sql
    assert env.answer_stub == "<answer>"


@pytest.mark.parametrize("kwargs", [
    {"schema": "library"}, {"schema": None}, {"databases": 0}, {"databases": "4"}, {"turn_budget": 0},
    {"time_limit": 0}, {"time_limit": float("nan")}, {"max_rows": -1}, {"display_rows": 0},
    {"max_result_chars": 10}, {"difficulty": "expert"},
])
def test_bad_arguments_are_config_errors(kwargs):
    with pytest.raises(ConfigError):
        agentgym.make(ENV_ID, **kwargs)


# ------------------------------------------------------------------ malformed actions
MALFORMED = [
    ("", "no query found"),
    ("SELECT * FROM customers", "no query found"),
    ("I think the answer is 42.", "no query found"),
    ("<sql>SELECT 1", "<sql> tag is not closed"),
    ("<answer>SELECT 1", "<answer> tag is not closed"),
    ("<solution>SELECT 1", "<solution> tag is not closed"),
    ("SELECT 1</sql>", "no query found"),
    ("</answer>SELECT 1<answer>", "<answer> tag is not closed"),
    ("<sql></sql>", "<sql> tag is empty"),
    ("<sql>   \n\t </sql>", "<sql> tag is empty"),
    ("<answer></answer>", "<answer> tag is empty"),
    ("<sql>```sql\n```</sql>", "<sql> tag is empty"),
    ("<sql>SELECT 1</answer>", "<sql> tag is not closed"),
    ("<query>SELECT 1</query>", "no query found"),
    ('<tool_call>{"name": "run_sql", "arguments": {"query": "SELECT 1"}}</tool_call>', "no query found"),
    ('{"name": "run_sql", "arguments": {"query": "SELECT 1"}}', "no query found"),
    ("<tool_call>{not json}</tool_call>", "no query found"),
    ("\ud800", "no query found"),
    ("<sql\n>SELECT 1</sql>", "no query found"),
]


@pytest.mark.parametrize("action, message", MALFORMED)
def test_malformed_calls_are_format_errors_that_cost_no_turn(action, message):
    env = _env()
    observation, reward, terminated, truncated, info = env.step(action)
    assert message in info["error"] and info["error_kind"] == ErrorKind.FORMAT
    assert observation.startswith("Invalid action:") and action not in observation or not action
    assert (reward, terminated, truncated, env.turns_used) == (0.0, False, False, 0)
    observation.encode("utf-8")


@pytest.mark.parametrize("action", [None, 42, b"<sql>SELECT 1</sql>", ["<sql>SELECT 1</sql>"], "x" * 20_001])
def test_non_text_and_oversized_actions_are_invalid(action):
    env = _env()
    _, _, terminated, _, info = env.step(action)
    assert info["error"] and info["error_kind"] == ErrorKind.INVALID_ACTION and not terminated
    assert env.turns_used == 0


def test_invalid_penalty_applies_to_format_errors():
    env = _env(invalid_penalty=0.5)
    _, reward, _, _, info = env.step("no tags at all")
    assert reward == -0.5 and info["reward_components"] == {"invalid": -0.5}


# ------------------------------------------------------------------ exploring and submitting
def test_exploring_shows_the_result_and_uses_a_turn():
    env = _env("easy", schema="shop")
    action = "Let me look.\n<sql>SELECT name FROM categories ORDER BY name</sql>"
    observation, reward, terminated, _, info = env.step(action)
    assert observation.startswith("name\nBeauty\nBooks\n") and "(10 rows)" in observation
    assert f"{TURN_BUDGETS['easy'] - 1} turns left" in observation
    assert (reward, terminated, info["error"], info["sql_error"], env.turns_used) == (0.0, False, None, None, 1)


@pytest.mark.parametrize("query, kind", [
    ("DROP TABLE customers", "refused"),
    ("SELEC 1", "sql"),
    ("WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT COUNT(*) FROM r", "timeout"),
    ("SELECT 1; DELETE FROM orders", "input"),
])
def test_failing_queries_are_shown_as_results_not_invalid_actions(query, kind):
    env = _env(time_limit=0.1)
    observation, reward, terminated, _, info = env.step(f"<sql>{query}</sql>")
    assert observation.startswith("Error: ") and info["sql_error_kind"] == kind and info["error"] is None
    assert not terminated and env.turns_used == 1
    assert env.step("<sql>SELECT COUNT(*) FROM sqlite_master</sql>")[4]["sql_error"] is None


def test_huge_results_are_capped_in_the_observation():
    env = _env(display_rows=5, max_result_chars=500)
    observation = env.step("<sql>SELECT * FROM sqlite_master, sqlite_master AS b, sqlite_master AS c</sql>")[0]
    assert len(observation) < 700 and "rows; the first" in observation


def test_the_gold_query_wins_and_ends_the_episode():
    env = _env("hard", seed=4)
    _, reward, terminated, _, info = env.step(f"<answer>{env.question.gold_sql}</answer>")
    assert (reward, terminated, info["success"]) == (1.0, True, True)
    assert info["reward_components"] == {"outcome": 1.0}


def test_an_equivalent_query_written_differently_wins():
    env = _env("easy", schema="shop", seed=0)
    gold = "SELECT name, price FROM products WHERE price > 100"
    env.question = dataclasses.replace(env.question, gold_sql=gold, ordered=False,
                                       answer=tuple(env._executor.execute(gold).rows))
    query = "select p.name, p.price from products as p where not (p.price <= 100) order by p.price desc"
    assert env.step(f"<answer>{query}</answer>")[1] == 1.0


def test_a_wrong_or_failing_answer_scores_zero_and_ends_the_episode():
    env = _env("medium", seed=1)
    observation, reward, terminated, _, info = env.step("<answer>SELECT 1</answer>")
    assert (reward, terminated, info["success"]) == (0.0, True, False) and observation.startswith("Wrong: ")
    env.reset(seed=1)
    observation, reward, terminated, _, info = env.step("<answer>DROP TABLE orders</answer>")
    assert (reward, terminated) == (0.0, True) and "failed" in observation and info["sql_error_kind"] == "refused"


def test_an_ordered_question_needs_the_order():
    env = SQLEnv("hard", schema="shop")
    for seed in range(40):
        env.reset(seed=seed)
        if env.question.ordered and len(env.question.answer) > 1:
            break
    else:
        pytest.fail("no ordered multi-row question in 40 seeds")
    def values(rows):  # the rows typed out as a VALUES statement, which keeps their order
        literal = lambda v: "NULL" if v is None else q(v) if isinstance(v, str) else repr(v)  # noqa: E731
        return "VALUES " + ", ".join("(" + ", ".join(map(literal, row)) + ")" for row in rows)

    answer = list(env.question.answer)
    assert "order" in env.grade(values(answer[::-1])).reason
    _, reward, _, _, info = env.step(f"<answer>{values(answer)}</answer>")
    assert reward == 1.0, info


@pytest.mark.parametrize("template", [
    "<solution>{gold}</solution>",
    "<ANSWER>{gold}</ANSWER>",
    "<answer>\n```sql\n{gold}\n```\n</answer>",
    "<sql>SELECT 1</sql> then <answer>SELECT 2</answer><answer>{gold}</answer>",
    "<answer><answer>{gold}</answer>",
    "<think>the join is on customer_id</think>\n<answer>{gold};</answer>",
])
def test_answer_formats(template):
    env = _env("medium", seed=2)
    _, reward, terminated, _, info = env.step(template.format(gold=env.question.gold_sql))
    assert (reward, terminated) == (1.0, True), info


def test_the_last_sql_tag_runs():
    env = _env(schema="shop")
    observation = env.step("<sql>SELECT 1 AS first</sql> <sql>SELECT 2 AS second</sql>")[0]
    assert observation.startswith("second\n2\n")


def test_running_out_of_turns_ends_with_zero():
    env = _env("easy", turn_budget=3)
    env.step("<sql>SELECT 1</sql>")
    observation = env.step("<sql>SELECT 1</sql>")[0]
    assert "1 turn left: submit your answer" in observation
    env.step("oops, no tag")  # invalid: costs no turn
    observation, reward, terminated, _, info = env.step("<sql>SELECT 1</sql>")
    assert terminated and reward == 0.0 and not info["success"] and "out of turns" in observation


def test_turn_limit_wrapper_truncates_endless_invalid_actions():
    env = agentgym.make(ENV_ID)
    env.reset(seed=0)
    for step in range(1, 100):
        _, _, terminated, truncated, _ = env.step("no tag")
        if terminated or truncated:
            break
    assert truncated and step == agentgym.env_info(ENV_ID).max_turns
    env.close()


# ------------------------------------------------------------------ baselines
@pytest.mark.parametrize("level", LEVELS)
def test_the_oracle_always_wins(level):
    env = agentgym.make(ENV_ID, difficulty=level)
    for seed in range(25):
        episode = play_episode(env, oracle_agent, seed=seed)
        assert episode["success"] and episode["terminated"] and not episode["truncated"], (level, seed)
        assert all(info["error"] is None and info.get("sql_error") is None for info in episode["infos"][1:])
        assert len(episode["actions"]) == (1 if level == "easy" else 2)
    env.close()


def test_the_random_agent_rarely_wins():
    wins = episodes = 0
    for level in LEVELS:
        env = agentgym.make(ENV_ID, difficulty=level)
        for seed in range(40):
            episode = play_episode(env, random_agent(seed), seed=seed)
            assert episode["terminated"] or episode["truncated"]
            assert all(info["error"] is None for info in episode["infos"][1:]), "random actions are well-formed"
            wins += episode["success"]
            episodes += 1
        env.close()
    assert wins / episodes < 0.05, f"random agent won {wins}/{episodes}"


# ------------------------------------------------------------------ tool-facing methods, closing
def test_run_sql_and_grade_use_no_turn():
    env = _env("medium", seed=6)
    assert env.run_sql("SELECT COUNT(*) AS n FROM sqlite_master").startswith("n\n")
    assert env.run_sql("DELETE FROM orders").startswith("Error: not allowed")
    assert env.grade(env.question.gold_sql).matched
    assert not env.grade("SELECT 1").matched
    assert "failed" in env.grade("SELEC").reason
    assert env.turns_used == 0 and not env._done
    assert RUN_SQL_PARAMETERS["required"] == ["query"]


def test_tool_methods_need_an_episode():
    env = SQLEnv()
    with pytest.raises(RuntimeError, match="reset"):
        env.run_sql("SELECT 1")
    with pytest.raises(RuntimeError, match="reset"):
        env.grade("SELECT 1")
    assert env.random_action(__import__("random").Random(0)).startswith("<sql>")


def test_the_connection_is_kept_per_database_and_closed_with_the_env():
    env = SQLEnv("easy", schema="school", databases=1)
    env.reset(seed=0)
    executor = env._executor
    env.reset(seed=1)
    assert env._executor is executor, "same database: the connection is reused"
    env.close()
    assert env._executor is None
    with pytest.raises(Exception):
        executor.connection.execute("SELECT 1")
    env.close()  # idempotent


def test_many_episodes_leave_nothing_open():
    probe = ResourceProbe()
    for level in LEVELS:
        env = agentgym.make(ENV_ID, difficulty=level, databases=4)
        for seed in range(10):
            play_episode(env, random_agent(seed), seed=seed)
        env.close()
    probe.assert_released()


def test_render_ansi():
    env = agentgym.make(ENV_ID, render_mode="ansi")
    env.reset(seed=0)
    text = env.render()
    assert text.startswith("SQL ") and "Question:" in text
    env.close()
