"""Trajectories export to Parquet and Hugging Face datasets, token-level ones with their loss mask."""

import json
import math

import pyarrow.parquet as pq
import pytest

from agentgym.export import episode_rows, escape_text, schema, to_hf_dataset, to_parquet, turn_rows, unescape_text
from agentgym.policies.scripted import OraclePolicy
from agentgym.rollout import RolloutConfig, Task, TokenTranscript, rollout
from agentgym.trajectory import Trajectory, Turn, json_safe

from .chat_tokenizers import llama3_style_tokenizer


@pytest.fixture(scope="module")
def trajectories():
    tasks = [Task("games/GuessTheNumber-v0", seed) for seed in range(3)]
    return rollout(OraclePolicy(), tasks, RolloutConfig(group_size=2), progress=False).trajectories


def test_parquet_episode_rows_round_trip(trajectories, tmp_path):
    path = tmp_path / "episodes.parquet"
    assert to_parquet(trajectories, path) == 6
    table = pq.read_table(path).to_pylist()
    assert [row["seed"] for row in table] == [t.seed for t in trajectories]
    assert all(row["success"] and row["return"] == 1.0 for row in table)
    messages = json.loads(table[0]["messages"])
    assert messages[0]["role"] == "system" and messages[-2]["role"] == "assistant"
    assert table[0]["input_ids"] is None and table[0]["token_exact"] is False


def test_turn_rows_and_hf_dataset(trajectories):
    rows = turn_rows(trajectories)
    assert len(rows) == sum(len(t.turns) for t in trajectories)
    dataset = to_hf_dataset(trajectories, shape="turns")
    assert dataset.num_rows == len(rows)
    assert dataset[0]["observation"].startswith("Guess a number") and dataset[0]["turn"] == 0
    with pytest.raises(ValueError, match="shape"):
        to_hf_dataset(trajectories, shape="tokens")


def test_token_level_rows_carry_ids_and_loss_mask(tmp_path):
    tokenizer = llama3_style_tokenizer()
    transcript = TokenTranscript(tokenizer, [{"role": "user", "content": "Guess 1..100"}])
    generated = tokenizer.encode("50", add_special_tokens=False)
    action = transcript.add_generation(generated, [-0.1] * len(generated), "50")
    transcript.add_observation([{"role": "user", "content": "Higher."}])
    trajectory = Trajectory(env_id="x/Y-v0", turns=[Turn(0, "Guess 1..100", "50", action_span=(action.start, action.end))],
                            token_ids=transcript.token_ids)
    row = episode_rows([trajectory])[0]
    assert row["input_ids"] == transcript.token_ids and row["token_exact"]
    assert row["loss_mask"] == transcript.loss_mask() and sum(row["loss_mask"]) == len(generated)
    to_parquet([trajectory], tmp_path / "sft.parquet")
    assert pq.read_table(tmp_path / "sft.parquet").to_pylist()[0]["loss_mask"] == row["loss_mask"]


# --- hostile text: every trajectory is exported, lone surrogates escaped reversibly ---------------

MB = 1 << 20
HOSTILE = [
    "\ud800 a lone high surrogate",
    "a lone low surrogate \udfff at the end \udc80",
    "NUL \x00 in the middle \x00",
    "emoji 😀🎉 and accents é, valid unicode",
    "a literal backslash-u text \\ud800 in valid text, and \\\\ two backslashes",
    "both: \\ud800 literal and \ud800 real, \\\\\udfff after backslashes",
    "z" * MB + "\ud83d",
    "",
]


def hostile_trajectories():
    trajectories = []
    for number, text in enumerate(HOSTILE):
        other = HOSTILE[(number + 1) % len(HOSTILE)]
        trajectories.append(Trajectory(
            env_id="hostile/Text-v0", task_id=text if number % 2 else number, seed=number, group_id=other,
            policy=text, error=other,
            turns=[Turn(0, text, other, reward=0.5, reward_components={text: 0.5}, error=text, finish_reason=text),
                   Turn(1, other, text, reward=float("nan"))],
            messages=[{"role": "user", "content": text}, {"role": "assistant", "content": other, text: [text]}]))
    return trajectories


def original(row, column):
    """A text column's original value: unescaped when the row lists it as escaped."""
    return unescape_text(row[column]) if column in row["escaped"] else row[column]


def expected_text(value):
    return value if value is None or isinstance(value, str) else json.dumps(value)


def check_episode_rows(rows, trajectories):
    assert len(rows) == len(trajectories)
    for row, t in zip(rows, trajectories):
        for column in ("env_id", "task_id", "group_id", "policy", "error"):
            assert original(row, column) == expected_text(getattr(t, column))
            if column not in row["escaped"]:
                assert row[column] == expected_text(getattr(t, column))  # valid text is unchanged
        assert json.loads(row["messages"]) == json_safe(t.messages)
        assert row["seed"] == t.seed and row["turns"] == 2 and math.isnan(row["return"])


def test_hostile_text_episodes_all_reach_parquet(tmp_path):
    trajectories = hostile_trajectories()
    path = tmp_path / "hostile.parquet"
    assert to_parquet(trajectories, path) == len(HOSTILE)
    rows = pq.read_table(path).to_pylist()
    check_episode_rows(rows, trajectories)
    assert [sorted(row["escaped"]) for row in rows[:3]] == [["error", "group_id", "policy"], ["policy", "task_id"], []]
    assert rows[3]["escaped"] == [] and rows[3]["policy"] == HOSTILE[3]


def test_hostile_text_turns_all_reach_parquet_and_hf_dataset(tmp_path):
    trajectories = hostile_trajectories()
    path = tmp_path / "turns.parquet"
    assert to_parquet(trajectories, path, shape="turns") == 2 * len(HOSTILE)
    for rows in (pq.read_table(path).to_pylist(), list(to_hf_dataset(trajectories, shape="turns"))):
        assert [(row["trajectory"], row["turn"]) for row in rows] == [(n, i) for n in range(len(HOSTILE)) for i in (0, 1)]
        for row in rows:
            turn = trajectories[row["trajectory"]].turns[row["turn"]]
            for column in ("observation", "action", "error", "finish_reason"):
                assert original(row, column) == getattr(turn, column)
            assert json.loads(row["reward_components"]) == turn.reward_components


def test_hostile_text_episodes_all_reach_an_hf_dataset():
    trajectories = hostile_trajectories()
    dataset = to_hf_dataset(trajectories)
    assert dataset.num_rows == len(HOSTILE)
    check_episode_rows(list(dataset), trajectories)
    assert dataset.features["escaped"].feature.dtype == "string"


@pytest.mark.parametrize("text", HOSTILE + ["\\", "\\u", "\\udfff", "\ud800\\", "\\\ud800", "\ud83d\ude00"])
def test_escape_text_is_reversible_and_leaves_valid_text_alone(text):
    escaped, changed = escape_text(text)
    escaped.encode("utf-8")  # storable
    assert changed == any(0xD800 <= ord(c) <= 0xDFFF for c in text)
    if changed:  # unescape_text applies to the values a row lists in "escaped"
        assert unescape_text(escaped) == text
    else:
        assert escaped is text


def test_columns_have_fixed_types_whatever_the_values(tmp_path):
    empty = Trajectory()  # every optional column None
    to_parquet([empty], tmp_path / "a.parquet")
    to_parquet(hostile_trajectories(), tmp_path / "b.parquet")
    assert pq.read_schema(tmp_path / "a.parquet").equals(pq.read_schema(tmp_path / "b.parquet"))
    assert pq.read_schema(tmp_path / "a.parquet").equals(schema("episodes"))
