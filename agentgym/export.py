"""Trajectories as tables: Parquet files and Hugging Face ``datasets``.

Two shapes, one row each:

* ``episodes`` — one row per trajectory, for analysis and SFT warm starts: the environment,
  task, seed, group, outcome, return, turns, the chat ``messages`` (JSON text, since messages
  are heterogeneous), and for token-level trajectories ``input_ids`` with the matching
  ``loss_mask`` (1 on generated tokens) — what a supervised fine-tuning step trains on.
* ``turns`` — one row per turn: observation, action, reward, reward components (JSON text),
  error, generated-token count and timing.

pyarrow and datasets are optional (``pip install 'agentgym[export]'``); they are imported on use.
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterable, Literal

from agentgym.trajectory import Trajectory, json_safe

Shape = Literal["episodes", "turns"]


def episode_rows(trajectories: Iterable[Trajectory]) -> list[dict[str, Any]]:
    """One flat row per trajectory (see the module docstring)."""
    rows = []
    for t in trajectories:
        token_level = t.token_ids is not None
        rows.append({
            "env_id": t.env_id, "task_id": t.task_id, "seed": t.seed, "group_id": t.group_id,
            "policy": t.policy, "success": t.success, "return": t.episode_return, "turns": len(t.turns),
            "terminated": t.terminated, "truncated": t.truncated, "error": t.error,
            "messages": json.dumps(json_safe(t.messages), ensure_ascii=False),
            "input_ids": list(t.token_ids) if token_level else None,
            "loss_mask": t.loss_mask() if token_level else None,
            "token_exact": t.token_exact, "generated_tokens": t.generated_tokens,
        })
    return rows


def turn_rows(trajectories: Iterable[Trajectory]) -> list[dict[str, Any]]:
    """One flat row per turn, keyed by the trajectory's task and group."""
    rows = []
    for number, t in enumerate(trajectories):
        for turn in t.turns:
            rows.append({
                "trajectory": number, "env_id": t.env_id, "task_id": t.task_id, "group_id": t.group_id,
                "turn": turn.index, "observation": turn.observation, "action": turn.action,
                "reward": turn.reward, "reward_components": json.dumps(json_safe(turn.reward_components)),
                "error": turn.error, "generated_tokens": turn.num_generated_tokens,
                "finish_reason": turn.finish_reason, "seconds": turn.seconds,
            })
    return rows


def _rows(trajectories: Iterable[Trajectory], shape: Shape) -> list[dict[str, Any]]:
    if shape == "episodes":
        return episode_rows(trajectories)
    if shape == "turns":
        return turn_rows(trajectories)
    raise ValueError(f"shape must be 'episodes' or 'turns', got {shape!r}")


def to_parquet(trajectories: Iterable[Trajectory], path: str | os.PathLike[str], *,
               shape: Shape = "episodes") -> int:
    """Write the trajectories to a Parquet file; returns the number of rows."""
    pyarrow, parquet = _require("pyarrow"), _require("pyarrow.parquet")
    rows = _rows(trajectories, shape)
    parquet.write_table(pyarrow.Table.from_pylist(rows), path)
    return len(rows)


def to_hf_dataset(trajectories: Iterable[Trajectory], *, shape: Shape = "episodes") -> Any:
    """A Hugging Face ``datasets.Dataset`` of the trajectories."""
    datasets = _require("datasets")
    return datasets.Dataset.from_list(_rows(trajectories, shape))


def _require(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"exporting trajectories needs {module.split('.')[0]}: "
                          "pip install 'agentgym[export]'") from None
