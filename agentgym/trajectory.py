"""What happened in an episode, turn by turn, and a crash-safe JSONL store for it.

A :class:`Trajectory` is a plain dataclass of :class:`Turn` records; both convert to and from
JSON-ready dicts (``to_dict`` / ``from_dict``). Fields are added by extending the dataclasses:
``from_dict`` fills what a record holds and leaves new fields at their defaults, and ignores
keys it does not know, so files written by older and newer versions stay readable.

On disk a trajectory is one JSON object per line (JSONL). :class:`TrajectoryWriter` appends and
flushes each line whole (optionally ``fsync``-ing it), so after a crash the file holds every
finished trajectory and at most one partial line; :class:`TrajectoryReader` skips such lines
and says which it skipped. Values JSON cannot hold are made safe by :func:`json_safe`: arrays
(images) become a short description, never inline data; non-finite floats are written as
``"nan"`` / ``"inf"`` / ``"-inf"``, and a turn's rewards, reward components, log-probs and
timings read back as floats.

**Each text is stored once** (record ``"version": 2``). In memory ``trajectory.messages`` holds
the whole conversation, so every action is also the content of an assistant message and most
observations the content of a user or tool message. In the dict form, a message whose
``content`` is a string of at least :data:`MIN_SHARED_CHARS` characters equal to a turn's
``action`` (or, failing that, a turn's ``observation``) is written without ``content`` and with
a reference to that turn, its position in ``turns``::

    {"role": "assistant", "action_of_turn": 3}
    {"role": "user", "observation_of_turn": 4}

The marker takes ``content``'s place among the message's keys; ``from_dict`` puts the turn's
text back there, so readers see whole messages (and the restored content is the very string
object the turn holds). Content that differs from every turn's text (a wrapper rewrote it, tool
messages, content parts with images, short texts) is written inline as before. Records
without a version or with ``"version": 1`` (written before this scheme) hold every content
inline and load unchanged; a version-2 record whose reference points at no turn, or at a turn
whose field is not text, is a damaged record (``ValueError``). So that every message reads back
as it was, a message without ``content`` that itself holds a marker key (or the escape key) is
written wrapped, ``{"verbatim_message": {...}}``, and unwrapped on reading.
"""

from __future__ import annotations

import json
import math
import os
import threading
import warnings
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import numpy as np

SCHEMA_VERSION = 2  # 2: message contents equal to a turn's action/observation are references
MIN_SHARED_CHARS = 32  # shorter contents stay inline: a reference would save next to nothing
_CONTENT_MARKERS = {"action_of_turn": "action", "observation_of_turn": "observation"}
_VERBATIM = "verbatim_message"
_RESERVED_KEYS = _CONTENT_MARKERS.keys() | {_VERBATIM}
_MAX_DEPTH = 32  # deeper (or cyclic) structures are cut off rather than recursed into
_MAX_REPR_CHARS = 200


@dataclass
class Turn:
    """One action and what it brought.

    Attributes:
        index: position in the episode, from 0.
        observation: the text the agent saw before acting (images are not stored).
        action: the agent's action as text (a message dict is stored as its JSON).
        reward: the step's reward, the sum of ``reward_components``.
        reward_components: the reward by component.
        error: why the action was invalid, or ``None``.
        info: the JSON-serialisable part of the step's ``info`` not stored elsewhere.
        seconds: wall time of the step.
        action_span: ``[start, end)`` of the tokens the policy generated for this turn, in
            ``Trajectory.token_ids`` (``None`` for text-only trajectories).
        observation_span: ``[start, end)`` of the tokens appended after the action (end of the
            assistant turn, the next observation or tool results, the next generation prompt).
        logprobs: the sampling log-probability of each generated token (``action_span``).
        finish_reason: why generation stopped: ``stop``, ``length`` or ``error``.
        generation_seconds: time the policy took for this turn's generation.
    """

    index: int
    observation: str
    action: str
    reward: float = 0.0
    reward_components: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    action_span: tuple[int, int] | None = None
    observation_span: tuple[int, int] | None = None
    logprobs: list[float] | None = None
    finish_reason: str | None = None
    generation_seconds: float = 0.0

    @property
    def num_generated_tokens(self) -> int:
        return 0 if self.action_span is None else self.action_span[1] - self.action_span[0]

    def to_dict(self) -> dict[str, Any]:
        return json_safe({f.name: getattr(self, f.name) for f in fields(self)})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Turn:
        values = _known_fields(cls, data)
        for key in ("action_span", "observation_span"):
            if values.get(key) is not None:
                values[key] = tuple(values[key])
        for key in ("reward", "seconds", "generation_seconds"):  # json_safe wrote NaN/inf as text
            if key in values:
                values[key] = _float(values[key])
        if isinstance(values.get("reward_components"), dict):
            values["reward_components"] = {k: _float(v) for k, v in values["reward_components"].items()}
        if isinstance(values.get("logprobs"), list):
            values["logprobs"] = [_float(v) for v in values["logprobs"]]
        return cls(**values)


@dataclass
class Trajectory:
    """One episode.

    Attributes:
        env_id: the registered id (``games/Wordle-v0``), when known.
        task_id: the ``task_id`` from ``reset``.
        seed: the seed given to ``reset`` (``None`` when it was not seeded).
        group_id: the group of rollouts sharing a task (GRPO-style baselines), if any.
        instructions: what the agent was told.
        turns: the turns, in order.
        terminated / truncated: how the episode ended (both ``False`` if it did not).
        success: the last step's ``info["success"]``.
        error: why the episode was cut short (closed, reset early, the environment raised).
        error_kind: why, as data: the value of an :class:`~agentgym.info.ErrorKind`
            (``"timeout"``, ``"policy"``, ``"environment"``...) set where the failure was
            caught; ``None`` with no error, and in records written before it existed.
        created_at: when the episode started (ISO 8601, UTC).
        metadata: free-form, e.g. the policy's name.
        policy: the name of the policy that acted.
        messages: the conversation as the policy saw it at the end (system prompt, observations,
            actions, tool messages).
        token_ids: the whole token sequence (prompt, then each turn's action and observation
            spans) for token-level policies; ``None`` for text-only trajectories.
        prompt_length: the number of tokens of the first prompt.
        token_mismatches: turns at which the prefix property broke (the sequence given to the
            policy was not the previous one extended); a trainer refuses such trajectories.
    """

    env_id: str | None = None
    task_id: str | None = None
    seed: int | None = None
    group_id: str | None = None
    instructions: str = ""
    turns: list[Turn] = field(default_factory=list)
    terminated: bool = False
    truncated: bool = False
    success: bool = False
    error: str | None = None
    error_kind: str | None = None
    created_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat())
    metadata: dict[str, Any] = field(default_factory=dict)
    policy: str | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    token_ids: list[int] | None = None
    prompt_length: int = 0
    token_mismatches: int = 0

    @property
    def token_exact(self) -> bool:
        """Trainable token by token: token ids recorded and no broken prefix."""
        return self.token_ids is not None and self.token_mismatches == 0

    def loss_mask(self) -> list[int]:
        """1 on the tokens the policy generated, 0 on prompt and observation tokens."""
        if self.token_ids is None:
            raise ValueError("a text-only trajectory has no tokens to mask")
        mask = [0] * len(self.token_ids)
        for turn in self.turns:
            if turn.action_span is not None:
                start, end = turn.action_span
                mask[start:end] = [1] * (end - start)
        return mask

    @property
    def generated_tokens(self) -> int:
        return sum(turn.num_generated_tokens for turn in self.turns)

    @property
    def episode_return(self) -> float:
        """The undiscounted return: the sum of the turns' rewards (``"return"`` in the dict)."""
        return float(sum(turn.reward for turn in self.turns))

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready record; message contents equal to a turn's text become references
        (see the module docstring)."""
        data: dict[str, Any] = {"version": SCHEMA_VERSION}
        for f in fields(self):
            value = getattr(self, f.name)
            data[f.name] = [t.to_dict() for t in value] if f.name == "turns" else json_safe(value)
        data["messages"] = _share_contents(data["messages"], data["turns"])
        data["return"] = json_safe(self.episode_return)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trajectory:
        """The trajectory of a record written by any version; raises ``ValueError`` or
        ``TypeError`` for a damaged one."""
        values = _known_fields(cls, data)
        values["turns"] = [Turn.from_dict(turn) for turn in values.get("turns", [])]
        version = data.get("version", 1)
        if isinstance(version, int) and version >= 2 and isinstance(values.get("messages"), list):
            values["messages"] = [_restore_content(m, values["turns"]) for m in values["messages"]]
        return cls(**values)


def _share_contents(messages: Any, turns: list[dict[str, Any]]) -> Any:
    """``messages`` (JSON-safe) with contents equal to a turn's action or observation replaced
    by a reference to that turn; the first turn holding the text is named."""
    if not isinstance(messages, list) or not turns:
        return messages
    texts: dict[str, dict[str, int]] = {marker: {} for marker in _CONTENT_MARKERS}
    for position, turn in enumerate(turns):
        for marker, name in _CONTENT_MARKERS.items():
            text = turn.get(name)
            if isinstance(text, str) and len(text) >= MIN_SHARED_CHARS:
                texts[marker].setdefault(text, position)
    shared = []
    for message in messages:
        if isinstance(message, dict) and "content" not in message and _RESERVED_KEYS & message.keys():
            shared.append({_VERBATIM: message})  # it would otherwise read back as a reference
            continue
        content = message.get("content") if isinstance(message, dict) else None
        if (isinstance(content, str) and len(content) >= MIN_SHARED_CHARS
                and not _CONTENT_MARKERS.keys() & message.keys()):
            for marker in _CONTENT_MARKERS:
                position = texts[marker].get(content)
                if position is not None:
                    message = _rekey(message, "content", marker, position)
                    break
        shared.append(message)
    return shared


def _restore_content(message: Any, turns: list[Turn]) -> Any:
    """The message with a turn reference (written by :func:`_share_contents`) replaced by the
    turn's text, in the same place among its keys."""
    if not isinstance(message, dict) or "content" in message:
        return message
    if message.keys() == {_VERBATIM}:
        return message[_VERBATIM]
    markers = _CONTENT_MARKERS.keys() & message.keys()
    if not markers:
        return message
    if len(markers) > 1:
        raise ValueError(f"a message refers to two turns: {sorted(markers)}")
    (marker,) = markers
    position, name = message[marker], _CONTENT_MARKERS[marker]
    if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position < len(turns):
        raise ValueError(f"a message's {marker}={position!r} names no turn (the record has {len(turns)})")
    text = getattr(turns[position], name)
    if not isinstance(text, str):
        raise ValueError(f"a message's {marker}={position} names a turn whose {name} is not text")
    return _rekey(message, marker, "content", text)


def _rekey(message: dict[str, Any], old: str, new: str, value: Any) -> dict[str, Any]:
    """A copy of ``message`` with the item ``old`` replaced by ``new: value`` in its place."""
    return {(new if key == old else key): (value if key == old else item) for key, item in message.items()}


def _float(value: Any) -> Any:
    """``"nan"`` / ``"inf"`` / ``"-inf"`` (how :func:`json_safe` writes non-finite floats) back
    to floats; anything else unchanged."""
    return float(value) if isinstance(value, str) and value in ("nan", "inf", "-inf") else value


def _known_fields(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise TypeError(f"a {cls.__name__} record must be a JSON object, got {type(data).__name__}")
    return {f.name: data[f.name] for f in fields(cls) if f.name in data}


def json_safe(value: Any, _depth: int = 0) -> Any:
    """``value`` with everything JSON cannot hold replaced; never raises.

    Containers are converted recursively (tuples and sets become lists, keys become strings),
    numpy scalars become Python numbers, non-finite floats become ``"nan"`` / ``"inf"`` /
    ``"-inf"``, arrays (images) become ``"<ndarray shape=(64, 64, 3) dtype=uint8>"`` and any
    other object its (shortened) ``repr``.
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, np.generic):
        return json_safe(value.item(), _depth)
    if isinstance(value, np.ndarray):
        return f"<ndarray shape={value.shape} dtype={value.dtype}>"
    if _depth >= _MAX_DEPTH:
        return f"<{type(value).__name__} nested too deep>"
    if isinstance(value, dict):
        return {k if isinstance(k, str) else _short_repr(k): json_safe(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v, _depth + 1) for v in value]
    return _short_repr(value)


def _short_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not lose the trajectory
        text = f"<{type(value).__name__}>"
    return text if len(text) <= _MAX_REPR_CHARS else text[:_MAX_REPR_CHARS] + "…"


class TrajectoryWriter:
    """Append trajectories to a JSONL file, one line each, flushed as soon as it is written.

    Lines are ASCII JSON (non-ASCII is escaped, so even invalid unicode such as a lone surrogate
    in an action is stored faithfully). With ``fsync=True`` each line is also forced to disk.
    Opening a file whose last line was cut off by a crash starts a new line first, so the
    partial line cannot corrupt the next trajectory. One writer may be shared by several
    threads (each line is written under a lock).
    """

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = False) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._file = open(self.path, "ab")  # noqa: SIM115 - held open until close()
        if self._file.tell() > 0 and not _ends_with_newline(self.path):
            self._file.write(b"\n")
            self._file.flush()

    def write(self, trajectory: Trajectory) -> None:
        line = json.dumps(trajectory.to_dict(), ensure_ascii=True, allow_nan=False).encode("ascii") + b"\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()
            if self.fsync:
                os.fsync(self._file.fileno())

    @property
    def closed(self) -> bool:
        return self._file.closed

    def close(self) -> None:
        with self._lock:
            self._file.close()

    def __enter__(self) -> TrajectoryWriter:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as file:
        file.seek(-1, os.SEEK_END)
        return file.read(1) == b"\n"


class TrajectoryReader:
    """Iterate over the trajectories of a JSONL file.

    A line that is not a valid trajectory (the partial last line a crash leaves, or any other
    damaged line) is skipped; ``bad_lines`` lists the 1-based numbers of the lines skipped by
    the latest iteration.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.bad_lines: list[int] = []

    def __iter__(self) -> Iterator[Trajectory]:
        self.bad_lines = []
        with open(self.path, "rb") as file:
            for number, line in enumerate(file, start=1):
                if not line.strip():
                    continue
                try:
                    trajectory = Trajectory.from_dict(json.loads(line))
                except (ValueError, TypeError, AttributeError, RecursionError):
                    self.bad_lines.append(number)
                    continue
                yield trajectory


def read_trajectories(path: str | os.PathLike[str]) -> list[Trajectory]:
    """All readable trajectories of a JSONL file; warns about the lines it had to skip."""
    reader = TrajectoryReader(path)
    trajectories = list(reader)
    if reader.bad_lines:
        warnings.warn(
            f"{path}: skipped {len(reader.bad_lines)} unreadable line(s) {reader.bad_lines} "
            "(a crash while writing leaves a partial last line)",
            stacklevel=2,
        )
    return trajectories
