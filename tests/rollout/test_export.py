"""Trajectories export to Parquet and Hugging Face datasets, token-level ones with their loss mask."""

import json

import pyarrow.parquet as pq
import pytest

from agentgym.export import episode_rows, to_hf_dataset, to_parquet, turn_rows
from agentgym.policies.scripted import OraclePolicy
from agentgym.rollout import RolloutConfig, Task, TokenTranscript, rollout
from agentgym.trajectory import Trajectory, Turn

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
