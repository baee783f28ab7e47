"""Trajectories as tables: Parquet files and Hugging Face ``datasets``.

Two shapes, one row each:

* ``episodes`` — one row per trajectory, for analysis and SFT warm starts: the environment,
  task, seed, group, outcome, return, turns, the chat ``messages`` (JSON text, since messages
  are heterogeneous), and for token-level trajectories ``input_ids`` with the matching
  ``loss_mask`` (1 on generated tokens) — what a supervised fine-tuning step trains on.
* ``turns`` — one row per turn: observation, action, reward, reward components (JSON text),
  error, generated-token count and timing.

Every column has a fixed type (:data:`EPISODE_SCHEMA`, :data:`TURN_SCHEMA`), whatever the
trajectories hold; text columns take any value (a non-string ``task_id`` is written as its JSON).

**Every trajectory is carried, invalid unicode included.** Parquet and Arrow hold UTF-8, which
cannot encode a lone surrogate (``"\\ud800"``), yet actions may hold them and the JSONL store
keeps them faithfully. The export writes each lone surrogate as the six characters ``\\udXXX``
(lowercase hex, as JSON writes it); text without lone surrogates is written unchanged.

* In the JSON columns (``messages``, ``reward_components``) the escape lies inside JSON
  strings, so ``json.loads`` gives the original text back (as with any JSON reader, a high
  surrogate directly followed by a low one comes back as the character the pair encodes).
* In a plain text column (``action``, ``observation``, ``error``, ...) a value holding a lone
  surrogate is also written with each backslash doubled, and the row's ``escaped`` column
  lists that column's name; :func:`unescape_text` gives the original back exactly. Values of
  columns not listed in ``escaped`` are the original text.

pyarrow and datasets are optional (``pip install 'agentgym[export]'``); they are imported on use.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Iterable, Literal

from agentgym.trajectory import Trajectory, json_safe

Shape = Literal["episodes", "turns"]

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPE = re.compile(r"\\(\\|u[0-9a-fA-F]{4})")

# (column, type) with types named by pyarrow constructor; large_string for texts that may be huge
_EPISODE_COLUMNS = [
    ("env_id", "string"), ("task_id", "string"), ("seed", "int64"), ("group_id", "string"),
    ("policy", "string"), ("success", "bool_"), ("return", "float64"), ("turns", "int64"),
    ("terminated", "bool_"), ("truncated", "bool_"), ("error", "large_string"),
    ("messages", "large_string"), ("input_ids", "int64[]"), ("loss_mask", "int64[]"),
    ("token_exact", "bool_"), ("generated_tokens", "int64"), ("escaped", "string[]"),
]
_TURN_COLUMNS = [
    ("trajectory", "int64"), ("env_id", "string"), ("task_id", "string"), ("group_id", "string"),
    ("turn", "int64"), ("observation", "large_string"), ("action", "large_string"), ("reward", "float64"),
    ("reward_components", "large_string"), ("error", "large_string"), ("generated_tokens", "int64"),
    ("finish_reason", "string"), ("seconds", "float64"), ("escaped", "string[]"),
]
_EPISODE_TEXT = ("env_id", "task_id", "group_id", "policy", "error")
_TURN_TEXT = ("env_id", "task_id", "group_id", "observation", "action", "error", "finish_reason")


def escape_text(text: str) -> tuple[str, bool]:
    """``(text, False)`` when ``text`` is valid unicode; otherwise the escaped form (backslashes
    doubled, each lone surrogate as ``\\udXXX``) and ``True``. :func:`unescape_text` reverses it."""
    if _LONE_SURROGATE.search(text) is None:
        return text, False
    escaped = text.replace("\\", "\\\\")
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", escaped), True


def unescape_text(text: str) -> str:
    """The original of a value that :func:`escape_text` escaped (a column listed in ``escaped``)."""
    return _ESCAPE.sub(lambda m: "\\" if m.group(1) == "\\" else chr(int(m.group(1)[1:], 16)), text)


def _json_text(value: Any) -> str:
    """``value`` as JSON text that UTF-8 can hold (lone surrogates as JSON escapes)."""
    text = json.dumps(json_safe(value), ensure_ascii=False)
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _text_columns(row: dict[str, Any], columns: tuple[str, ...]) -> dict[str, Any]:
    """``row`` with its text columns made storable, and ``escaped`` naming those escaped."""
    escaped = []
    for column in columns:
        value = row[column]
        if value is None:
            continue
        if not isinstance(value, str):
            value = json.dumps(json_safe(value), ensure_ascii=False)
        row[column], was_escaped = escape_text(value)
        if was_escaped:
            escaped.append(column)
    row["escaped"] = escaped
    return row


def episode_rows(trajectories: Iterable[Trajectory]) -> list[dict[str, Any]]:
    """One flat row per trajectory (see the module docstring)."""
    rows = []
    for t in trajectories:
        token_level = t.token_ids is not None
        rows.append(_text_columns({
            "env_id": t.env_id, "task_id": t.task_id, "seed": t.seed, "group_id": t.group_id,
            "policy": t.policy, "success": bool(t.success), "return": t.episode_return, "turns": len(t.turns),
            "terminated": bool(t.terminated), "truncated": bool(t.truncated), "error": t.error,
            "messages": _json_text(t.messages),
            "input_ids": list(t.token_ids) if token_level else None,
            "loss_mask": t.loss_mask() if token_level else None,
            "token_exact": t.token_exact, "generated_tokens": t.generated_tokens,
        }, _EPISODE_TEXT))
    return rows


def turn_rows(trajectories: Iterable[Trajectory]) -> list[dict[str, Any]]:
    """One flat row per turn, keyed by the trajectory's task and group."""
    rows = []
    for number, t in enumerate(trajectories):
        for turn in t.turns:
            rows.append(_text_columns({
                "trajectory": number, "env_id": t.env_id, "task_id": t.task_id, "group_id": t.group_id,
                "turn": turn.index, "observation": turn.observation, "action": turn.action,
                "reward": float(turn.reward), "reward_components": _json_text(turn.reward_components),
                "error": turn.error, "generated_tokens": turn.num_generated_tokens,
                "finish_reason": turn.finish_reason, "seconds": float(turn.seconds),
            }, _TURN_TEXT))
    return rows


def _rows(trajectories: Iterable[Trajectory], shape: Shape) -> list[dict[str, Any]]:
    if shape == "episodes":
        return episode_rows(trajectories)
    if shape == "turns":
        return turn_rows(trajectories)
    raise ValueError(f"shape must be 'episodes' or 'turns', got {shape!r}")


def schema(shape: Shape) -> Any:
    """The ``pyarrow.Schema`` of a shape's table."""
    pyarrow = _require("pyarrow")
    columns = {"episodes": _EPISODE_COLUMNS, "turns": _TURN_COLUMNS}.get(shape)
    if columns is None:
        raise ValueError(f"shape must be 'episodes' or 'turns', got {shape!r}")

    def arrow_type(name: str) -> Any:
        if name.endswith("[]"):
            return pyarrow.list_(arrow_type(name[:-2]))
        return getattr(pyarrow, name)()

    return pyarrow.schema([(column, arrow_type(kind)) for column, kind in columns])


def to_parquet(trajectories: Iterable[Trajectory], path: str | os.PathLike[str], *,
               shape: Shape = "episodes") -> int:
    """Write the trajectories to a Parquet file; returns the number of rows."""
    pyarrow, parquet = _require("pyarrow"), _require("pyarrow.parquet")
    rows = _rows(trajectories, shape)
    parquet.write_table(pyarrow.Table.from_pylist(rows, schema=schema(shape)), path)
    return len(rows)


def to_hf_dataset(trajectories: Iterable[Trajectory], *, shape: Shape = "episodes") -> Any:
    """A Hugging Face ``datasets.Dataset`` of the trajectories."""
    datasets = _require("datasets")
    rows = _rows(trajectories, shape)
    return datasets.Dataset.from_list(rows, features=datasets.Features.from_arrow_schema(schema(shape)))


def _require(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"exporting trajectories needs {module.split('.')[0]}: "
                          "pip install 'agentgym[export]'") from None
