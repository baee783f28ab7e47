"""What happened in an episode, turn by turn, and a crash-safe JSONL store for it.

A :class:`Trajectory` is a plain dataclass of :class:`Turn` records; both convert to and from
JSON-ready dicts (``to_dict`` / ``from_dict``). Fields are added by extending the dataclasses:
``from_dict`` fills what a record holds and leaves new fields at their defaults, and ignores
keys it does not know, so files written by older and newer versions stay readable.

On disk a trajectory is one JSON object per line (JSONL). :class:`TrajectoryWriter` appends and
flushes each line whole (optionally ``fsync``-ing it), so after a crash the file holds every
finished trajectory and at most one partial line; :class:`TrajectoryReader` skips such lines
and says which it skipped. Values JSON cannot hold are made safe by :func:`json_safe`: arrays
become a short description, never inline data; non-finite floats are written as
``"nan"`` / ``"inf"`` / ``"-inf"``, and a turn's rewards, reward components, log-probs and
timings read back as floats.

**Images are stored by reference, as PNG files beside the JSONL.** In memory an image is a
``uint8`` array (:func:`agentgym.images.is_image`) in an *image part* of a message's content,
``{"type": "image", "image": <array>}`` (what :class:`~agentgym.wrappers.ChatHistory` makes of
a ``{"text", "image"}`` observation), and in :attr:`Turn.observation_image`. The writer stores
each distinct image once, content-addressed, as ``<jsonl stem>.images/<sha256>.png``
(:class:`~agentgym.images.ImageStore`; the file is written, and renamed into place, before the
line that refers to it), and the record holds, in place of the array::

    {"type": "image", "image_ref": "trajectories.images/3f9c….png", "shape": [32, 32, 3]}   # a part
    "observation_image": {"image_ref": "trajectories.images/3f9c….png", "shape": [32, 32, 3]}

References are relative to the JSONL file's folder. :class:`TrajectoryReader` loads them back
as equal (read-only) arrays, and raises :class:`~agentgym.images.ImageFileError` naming the
file when one is missing or damaged; with ``lazy_images=True`` it reads no image and puts an
:class:`~agentgym.images.ImageRef` in each array's place (loaded on demand; written again as
the image it names). Only image parts and ``observation_image`` are stored this way; an array
anywhere else (a step's ``info``, ``metadata``) is described as before.

Without a store, ``to_dict()`` keeps the image arrays themselves (the record is then JSON-ready
apart from them) and ``from_dict`` takes them back as they are, so an in-memory copy,
``Trajectory.from_dict(t.to_dict())``, keeps the pixels. ``to_dict(images=store)`` writes them
to an :class:`~agentgym.images.ImageStore` and ``from_dict(record, images=loader)`` loads them
with an :class:`~agentgym.images.ImageLoader`; ``from_dict`` without a loader leaves references
as they are. So that every part reads back as it was, a dict in the messages that would read as
a reference (it holds ``image_ref``, or an image beside a ``shape`` key, or is itself a single
``verbatim_part`` key) is written wrapped, ``{"verbatim_part": {...}}``, its image (if any) as
``{"image_ref", "shape"}`` under its ``image`` key.

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

import errno
import json
import math
import os
import threading
import warnings
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from agentgym.images import ImageFileError, ImageLoader, ImageRef, ImageStore, is_image

SCHEMA_VERSION = 2  # 2: message contents equal to a turn's action/observation are references
MIN_SHARED_CHARS = 32  # shorter contents stay inline: a reference would save next to nothing
_CONTENT_MARKERS = {"action_of_turn": "action", "observation_of_turn": "observation"}
_VERBATIM = "verbatim_message"
_RESERVED_KEYS = _CONTENT_MARKERS.keys() | {_VERBATIM}
_MAX_DEPTH = 32  # deeper (or cyclic) structures are cut off rather than recursed into
_MAX_REPR_CHARS = 200
_MAX_INT_BITS = 14_000  # at most 4,215 digits: Python refuses to convert ints of over 4,300 to or from text
_IMAGE_REF, _SHAPE, _IMAGE = "image_ref", "shape", "image"
_VERBATIM_PART = "verbatim_part"


@dataclass
class Turn:
    """One action and what it brought.

    Attributes:
        index: position in the episode, from 0.
        observation: the text the agent saw before acting.
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
        observation_image: the image the agent saw before acting (a ``uint8`` array), or
            ``None``; stored as a file (see the module docstring); an
            :class:`~agentgym.images.ImageRef` when read lazily.
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
    observation_image: Any = None

    @property
    def num_generated_tokens(self) -> int:
        return 0 if self.action_span is None else self.action_span[1] - self.action_span[0]

    def to_dict(self, images: ImageStore | None = None) -> dict[str, Any]:
        """The JSON-ready record; ``observation_image`` is written to ``images`` and referred to,
        or kept as the array without a store (see the module docstring)."""
        data = json_safe({f.name: getattr(self, f.name) for f in fields(self) if f.name != "observation_image"})
        image = self.observation_image
        if _is_image(image):
            data["observation_image"] = image if images is None else _reference(image, images)
        else:
            data["observation_image"] = json_safe(image)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], images: ImageLoader | None = None) -> Turn:
        """The turn of a record; ``images`` loads a referenced ``observation_image``. A reward
        or time that is no number, or a span that is no pair of integers, is a damaged record
        (``ValueError``)."""
        values = _checked_kinds(_known_fields(cls, data), _TURN_KINDS, "turn")
        image = values.get("observation_image")
        if images is not None and _is_reference(image) and image.keys() == {_IMAGE_REF, _SHAPE}:
            values["observation_image"] = images.load(image[_IMAGE_REF], image[_SHAPE])
        for key in ("action_span", "observation_span"):
            if values.get(key) is not None:
                values[key] = _span(values[key], key)
        for key in ("reward", "seconds", "generation_seconds"):  # json_safe wrote NaN/inf as text
            if key in values:
                values[key] = _number(_float(values[key]), key)
        if isinstance(values.get("reward_components"), dict):
            values["reward_components"] = {k: _float(v) for k, v in values["reward_components"].items()}
        if isinstance(values.get("logprobs"), list):
            values["logprobs"] = [_float(v) for v in values["logprobs"]]
        return cls(**values)

    def __eq__(self, other: object) -> bool:
        """Field by field, images by their pixels (see :func:`same_values`)."""
        return _fields_equal(self, other)


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
        """1 on the tokens the policy generated, 0 on prompt and observation tokens: one entry per
        token id. ``ValueError`` for a text-only trajectory, and for a turn whose ``action_span``
        is not ``[start, end)`` with ``0 <= start <= end <= len(token_ids)``."""
        if self.token_ids is None:
            raise ValueError("a text-only trajectory has no tokens to mask")
        mask = [0] * len(self.token_ids)
        for turn in self.turns:
            if turn.action_span is not None:
                start, end = turn.action_span
                if not 0 <= start <= end <= len(mask):  # slicing would lengthen the mask, or mask nothing
                    raise ValueError(f"turn {turn.index}: action_span {turn.action_span} lies outside the "
                                     f"{len(mask)} recorded tokens")
                mask[start:end] = [1] * (end - start)
        return mask

    @property
    def generated_tokens(self) -> int:
        return sum(turn.num_generated_tokens for turn in self.turns)

    @property
    def episode_return(self) -> float:
        """The undiscounted return: the sum of the turns' rewards (``"return"`` in the dict)."""
        return float(sum(turn.reward for turn in self.turns))

    def describe(self, index: int) -> str:
        """``trajectory 3 ('Wordle-easy-7-0')``: how an error names the ``index``-th trajectory of
        a batch (its task id, or else its environment id, when known)."""
        name = self.task_id or self.env_id
        return f"trajectory {index}" + (f" ({name!r})" if name else "")

    def to_dict(self, images: ImageStore | None = None) -> dict[str, Any]:
        """The record; message contents equal to a turn's text become references, and images
        are written to ``images`` and referred to (without a store the arrays are kept: see the
        module docstring)."""
        data: dict[str, Any] = {"version": SCHEMA_VERSION}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "turns":
                data[f.name] = [t.to_dict(images) for t in value]
            elif f.name == "messages":
                data[f.name] = _parts_out(value, images)
            else:
                data[f.name] = json_safe(value)
        data["messages"] = _share_contents(data["messages"], data["turns"])
        data["return"] = json_safe(self.episode_return)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], images: ImageLoader | None = None) -> Trajectory:
        """The trajectory of a record written by any version; ``images`` loads the images it
        refers to. Raises ``ValueError`` or ``TypeError`` for a damaged record (one whose
        ``token_ids`` are no list of integers, or a damaged turn: :meth:`Turn.from_dict`), and
        :class:`~agentgym.images.ImageFileError` for a missing or damaged image file."""
        values = _checked_kinds(_known_fields(cls, data), _TRAJECTORY_KINDS, "trajectory")
        values["turns"] = [Turn.from_dict(turn, images) for turn in values.get("turns", [])]
        if values.get("token_ids") is not None and not _is_index_list(values["token_ids"]):
            raise ValueError(f"a trajectory's token_ids must be a list of integers, got {values['token_ids']!r:.60}")
        version = data.get("version", 1)
        if isinstance(version, int) and version >= 2 and isinstance(values.get("messages"), list):
            values["messages"] = [_restore_content(m, values["turns"]) for m in values["messages"]]
        if "messages" in values:
            values["messages"] = _parts_in(values["messages"], images)
        return cls(**values)

    def message_images(self) -> list[Any]:
        """The images of the messages' image parts (arrays, or :class:`~agentgym.images.ImageRef`
        when read lazily), in order of appearance, repeats included."""
        found: list[Any] = []
        _collect_images(self.messages, found, 0)
        return found

    def __eq__(self, other: object) -> bool:
        """Field by field, images (the turns' and the messages') by their pixels (see
        :func:`same_values`): an array in a message no longer makes ``==`` raise."""
        return _fields_equal(self, other)


# ------------------------------------------------------------------ equality
def _fields_equal(a: Any, b: Any) -> Any:
    if a.__class__ is not b.__class__:
        return NotImplemented
    return all(same_values(getattr(a, f.name), getattr(b, f.name)) for f in fields(a))


def same_values(a: Any, b: Any, _depth: int = 0) -> bool:
    """``a == b`` for the values a trajectory holds, where an image counts as its pixels: an
    array (or an :class:`~agentgym.images.ImageRef`, read to compare) equals another of the same
    shape, dtype and pixels; dicts, lists and tuples are compared item by item (a list never
    equals a tuple, as ``==`` has it); anything else by ``==``. Structures deeper than
    ``_MAX_DEPTH`` (or cyclic) compare by identity below that depth."""
    if isinstance(a, (np.ndarray, ImageRef)) or isinstance(b, (np.ndarray, ImageRef)):
        if not isinstance(a, (np.ndarray, ImageRef)) or not isinstance(b, (np.ndarray, ImageRef)):
            return False
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b))
    if _depth > _MAX_DEPTH:
        return a is b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_values(a[k], b[k], _depth + 1) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return (isinstance(a, list) == isinstance(b, list) and len(a) == len(b)
                and all(same_values(x, y, _depth + 1) for x, y in zip(a, b)))
    return bool(a == b)


# ------------------------------------------------------------------ images in messages
def _is_image(value: Any) -> bool:
    """An image array, or an image not loaded yet."""
    return is_image(value) or isinstance(value, ImageRef)


def _reference(image: np.ndarray | ImageRef, store: ImageStore) -> dict[str, Any]:
    return {_IMAGE_REF: store.put(image), _SHAPE: list(image.shape)}


def _is_reference(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get(_IMAGE_REF), str) and _SHAPE in value \
        and _IMAGE not in value


def storable_messages(messages: Any, images: Any) -> Any:
    """``messages`` as a record holds them: JSON-safe, each image part's array replaced by
    ``image_ref`` (what ``images.put(array)`` returns) and ``shape`` (see the module docstring).
    ``images`` is an :class:`~agentgym.images.ImageStore` or anything with its ``put``; the
    images are put in the order the parts appear in the JSON text."""
    return _parts_out(messages, images)


def _parts_out(value: Any, images: ImageStore | None, depth: int = 0) -> Any:
    """:func:`json_safe` for messages, but an image part's array is written to ``images``
    (flattened into the part as ``image_ref`` and ``shape``), or kept as it is without a store;
    dicts that would read back as something else are wrapped (see the module docstring)."""
    if depth >= _MAX_DEPTH or not isinstance(value, (dict, list, tuple, set, frozenset)):
        return json_safe(value, depth)
    if not isinstance(value, dict):
        return [_parts_out(item, images, depth + 1) for item in value]
    image = value.get(_IMAGE)
    has_image = _is_image(image)
    if _IMAGE_REF in value or (has_image and _SHAPE in value) or value.keys() == {_VERBATIM_PART}:
        inner = {_key(key): (_image_out(item, images) if key == _IMAGE and has_image
                             else _parts_out(item, images, depth + 2))
                 for key, item in value.items()}
        return {_VERBATIM_PART: inner}
    if not has_image or images is None:
        return {_key(key): (item if key == _IMAGE and has_image else _parts_out(item, images, depth + 1))
                for key, item in value.items()}
    part: dict[str, Any] = {}
    for key, item in value.items():
        if key == _IMAGE:
            part.update(_reference(image, images))
        else:
            part[_key(key)] = _parts_out(item, images, depth + 1)
    return part


def _image_out(image: np.ndarray | ImageRef, images: ImageStore | None) -> Any:
    return image if images is None else _reference(image, images)


def _parts_in(value: Any, images: ImageLoader | None, depth: int = 0) -> Any:
    """The inverse of :func:`_parts_out` (references loaded with ``images``, or kept without)."""
    if depth >= _MAX_DEPTH:
        return value
    if isinstance(value, list):
        return [_parts_in(item, images, depth + 1) for item in value]
    if not isinstance(value, dict):
        return value
    if value.keys() == {_VERBATIM_PART} and isinstance(value[_VERBATIM_PART], dict):
        return {key: (_image_in(item, images) if key == _IMAGE else _parts_in(item, images, depth + 2))
                for key, item in value[_VERBATIM_PART].items()}
    if images is not None and _is_reference(value):
        part = {}
        for key, item in value.items():
            if key == _IMAGE_REF:
                part[_IMAGE] = images.load(item, value[_SHAPE])
            elif key != _SHAPE:
                part[key] = _parts_in(item, images, depth + 1)
        return part
    return {key: _parts_in(item, images, depth + 1) for key, item in value.items()}


def _image_in(value: Any, images: ImageLoader | None) -> Any:
    if images is not None and _is_reference(value) and value.keys() == {_IMAGE_REF, _SHAPE}:
        return images.load(value[_IMAGE_REF], value[_SHAPE])
    return _parts_in(value, images)


def _collect_images(value: Any, found: list[Any], depth: int) -> None:
    if depth >= _MAX_DEPTH:
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            _collect_images(item, found, depth + 1)
    elif isinstance(value, dict):
        if _is_image(value.get(_IMAGE)):
            found.append(value[_IMAGE])
        for key, item in value.items():
            if key != _IMAGE:
                _collect_images(item, found, depth + 1)


def _key(key: Any) -> str:
    return key if isinstance(key, str) else _short_repr(key)


def _share_contents(messages: Any, turns: list[dict[str, Any]]) -> Any:
    """``messages`` (JSON-safe) with contents equal to a turn's action or observation replaced
    by a reference to that turn; the first turn holding the text is named."""
    if not isinstance(messages, list):
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


def _number(value: Any, name: str) -> int | float:
    """A turn's ``name`` read from a record: a number (``ValueError``: a damaged record)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"a turn's {name} must be a number, got {value!r:.40}")
    return value


def _span(value: Any, name: str) -> tuple[int, int]:
    """A turn's ``name`` read from a record: ``[start, end)`` token indices, as a tuple."""
    if not isinstance(value, (list, tuple)) or len(value) != 2 or not _is_index_list(value):
        raise ValueError(f"a turn's {name} must be [start, end] token indices, got {value!r:.40}")
    return tuple(value)


def _is_index_list(value: Any) -> bool:
    """A list or tuple of integers (not bools); by the types present, so that a million token ids
    are checked in milliseconds (each line read, and each trajectory written, checks them)."""
    return isinstance(value, (list, tuple)) and all(issubclass(kind, int) and not issubclass(kind, bool)
                                                    for kind in set(map(type, value)))


#: What a record's plain fields must hold, by the words an error uses (a field a record lacks
#: keeps its default; numbers, spans, token ids, messages and images are read by their own code).
_KIND_TESTS: dict[str, Callable[[Any], bool]] = {
    "text": lambda v: isinstance(v, str),
    "text or null": lambda v: v is None or isinstance(v, str),
    "true or false": lambda v: isinstance(v, bool),
    "an integer or null": lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)),
    "a count (an integer >= 0)": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
    "an object": lambda v: isinstance(v, dict),
    "a list": lambda v: isinstance(v, list),
}
_TURN_KINDS = {"index": "a count (an integer >= 0)", "observation": "text", "action": "text",
               "reward_components": "an object", "error": "text or null", "info": "an object",
               "finish_reason": "text or null"}
_TRAJECTORY_KINDS = {"env_id": "text or null", "task_id": "text or null", "seed": "an integer or null",
                     "group_id": "text or null", "instructions": "text", "turns": "a list",
                     "terminated": "true or false", "truncated": "true or false", "success": "true or false",
                     "error": "text or null", "error_kind": "text or null", "created_at": "text",
                     "metadata": "an object", "policy": "text or null", "messages": "a list",
                     "prompt_length": "a count (an integer >= 0)", "token_mismatches": "a count (an integer >= 0)"}


def _checked_kinds(values: dict[str, Any], kinds: dict[str, str], owner: str) -> dict[str, Any]:
    """``values``, after checking each field named in ``kinds`` holds that kind of value: a record
    with ``"success": null`` or ``"error": 5`` is damaged (``ValueError``), not a trajectory
    that fails later in a statistic or a report."""
    for name, kind in kinds.items():
        if name in values and not _KIND_TESTS[kind](values[name]):
            raise ValueError(f"a {owner}'s {name} must be {kind}, got {values[name]!r:.40}")
    return values


def _known_fields(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise TypeError(f"a {cls.__name__} record must be a JSON object, got {type(data).__name__}")
    return {f.name: data[f.name] for f in fields(cls) if f.name in data}


def json_safe(value: Any, _depth: int = 0) -> Any:
    """``value`` with everything JSON cannot hold replaced; never raises.

    Containers are converted recursively (tuples and sets become lists, keys become strings),
    numpy scalars become Python numbers (``longdouble`` a float), non-finite floats become
    ``"nan"`` / ``"inf"`` / ``"-inf"``, an integer too long for JSON text (Python converts at most
    4,300 digits, writing or reading) becomes ``"<int of 16610 bits>"``, arrays (images) become
    ``"<ndarray shape=(64, 64, 3) dtype=uint8>"`` and any other object its (shortened) ``repr``.
    A container inside itself (a node's pointer to its parent) is cut where it recurs, as
    ``"<dict nested too deep: it contains itself>"``; one nested deeper than 32 levels is cut there.
    A container is converted from a snapshot of its items (one that another thread, or an item's
    ``repr``, changes meanwhile is written as it was), and one that cannot be iterated as its ``repr``.
    """
    return _json_safe(value, _depth, set())


def _json_safe(value: Any, depth: int, within: set[int]) -> Any:
    """:func:`json_safe`; ``within`` holds the ids of the containers ``value`` lies in."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if value.bit_length() <= _MAX_INT_BITS else f"<int of {value.bit_length()} bits>"
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, np.generic):
        return _json_safe(_python_scalar(value), depth, within)
    if isinstance(value, np.ndarray):
        return f"<ndarray shape={value.shape} dtype={value.dtype}>"
    if depth >= _MAX_DEPTH:
        return f"<{type(value).__name__} nested too deep>"
    if not isinstance(value, (dict, list, tuple, set, frozenset)):
        return _short_repr(value)
    if id(value) in within:  # recursing into it again would copy it 32 levels deep, once per path
        return f"<{type(value).__name__} nested too deep: it contains itself>"
    try:  # a snapshot: the container may change while its items are converted (another thread's)
        items = list(value.items()) if isinstance(value, dict) else list(value)
    except Exception:  # noqa: BLE001 - a container that cannot be read (its __iter__ raised)
        return _short_repr(value)
    within.add(id(value))
    try:
        if isinstance(value, dict):
            return {k if isinstance(k, str) else _short_repr(k): _json_safe(v, depth + 1, within) for k, v in items}
        return [_json_safe(v, depth + 1, within) for v in items]
    finally:
        within.discard(id(value))


def _python_scalar(value: np.generic) -> Any:
    """The Python value of a numpy scalar; ``item()`` gives back a ``longdouble`` or
    ``clongdouble`` itself (no Python type holds them): a float, or the scalar's ``repr``."""
    item = value.item()
    if not isinstance(item, np.generic):
        return item
    return float(item) if isinstance(item, np.floating) else _short_repr(item)


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
    partial line cannot corrupt the next trajectory (a pipe or FIFO, which has no last line to
    look at and nothing to force to disk, is written to as it is). One writer may be shared by
    several threads (each line is written under a lock).

    Images are written to :attr:`images` (the folder ``<stem>.images`` beside the file, made
    on the first image) before the line that refers to them; with ``fsync=True`` the image
    files and the folder are forced to disk first too. See the module docstring.
    """

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = False) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.images = ImageStore(image_folder(self.path), self.path.parent, fsync=fsync)
        self._lock = threading.Lock()
        # Unbuffered: a line is written by write() or not at all from this writer's side -- a
        # buffered file kept the rest of a line whose write failed (a full disk) and wrote it
        # with the next line.
        self._file = open(self.path, "ab", buffering=0)  # noqa: SIM115 - held open until close()
        self._regular = self._file.seekable()  # not a pipe: it has a last line, and can be synced
        # Whether a deletion can be seen: the file has a link now (a file system that reports
        # none for live files is not watched).
        self._watch_deletion = self._regular and os.fstat(self._file.fileno()).st_nlink > 0
        # A line cut off (by a crash before this writer, or by a failed write of this writer's)
        # is ended before the next one starts.
        self._torn = self._regular and self._file.tell() > 0 and not _ends_with_newline(self.path)
        if self._torn:
            self._write_all(b"\n")
            self._torn = False

    def write(self, trajectory: Trajectory) -> None:
        """Append ``trajectory`` as one line. If writing it fails (``OSError``: a full disk), the
        part of the line that reached the file is ended by the next line's write, so the reader
        skips it as one damaged line and every later line is whole. A trajectory whose record
        :meth:`Trajectory.from_dict` would refuse (a turn's ``error`` that is no text, a
        ``success`` of ``None``...), which the reader would skip as a damaged line, is not
        written: ``ValueError`` naming the field. A file deleted while it is written (its folder
        removed mid-run) is a ``FileNotFoundError``: writing on into the deleted file would lose
        every later trajectory without a word."""
        if self._watch_deletion and os.fstat(self._file.fileno()).st_nlink == 0:
            raise FileNotFoundError(errno.ENOENT, "the trajectory file was deleted while it was being written "
                                                  "(nothing written after that could be read back)", str(self.path))
        record = trajectory.to_dict(images=self.images)  # the image files are in place after this
        try:
            Trajectory.from_dict(record)  # the reader's checks (images left as references)
        except (ValueError, TypeError) as exc:
            name = trajectory.task_id or trajectory.env_id
            raise ValueError(f"trajectory {'' if name is None else repr(name) + ' '}not written: it would read "
                             f"back as a damaged line ({exc})") from None
        line = json.dumps(record, ensure_ascii=True, allow_nan=False).encode("ascii") + b"\n"
        self.images.sync()
        with self._lock:
            if self._torn:
                line = b"\n" + line
            self._torn = True  # until the whole line is in
            self._write_all(line)
            self._torn = False
            if self.fsync and self._regular:
                os.fsync(self._file.fileno())

    def _write_all(self, data: bytes) -> None:
        while data:  # an unbuffered write may take part of the data (a signal, a pipe's capacity)
            data = data[self._file.write(data):]

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


def image_folder(path: str | os.PathLike[str]) -> Path:
    """The folder a trajectory file's images are written to: ``<stem>.images`` beside it."""
    path = Path(path)
    return path.parent / f"{path.stem}.images"


class TrajectoryReader:
    """Iterate over the trajectories of a JSONL file.

    A line that is not a valid trajectory (the partial last line a crash leaves, any other
    damaged line, JSON that is no trajectory record: one without a list of ``turns``) is skipped; ``bad_lines`` lists the 1-based numbers of the lines skipped by
    the latest iteration. Images are loaded from the files the records refer to (relative to
    the file's folder); a missing or damaged image file raises
    :class:`~agentgym.images.ImageFileError` (it is not a damaged line: the line is whole and
    its image is lost, so the reader says so rather than skip the trajectory). With
    ``lazy_images=True`` no image file is read: each image is an
    :class:`~agentgym.images.ImageRef` in the array's place (``.load()`` or ``np.asarray`` reads
    it), for readers that need no pixels (reports) or only some.
    """

    def __init__(self, path: str | os.PathLike[str], *, lazy_images: bool = False) -> None:
        self.path = Path(path)
        self.lazy_images = lazy_images
        self.bad_lines: list[int] = []

    def __iter__(self) -> Iterator[Trajectory]:
        self.bad_lines = []
        images = ImageLoader(self.path.parent, lazy=self.lazy_images)
        with open(self.path, "rb") as file:
            for number, line in enumerate(file, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except (ValueError, RecursionError):
                    self.bad_lines.append(number)
                    continue
                if not isinstance(record, dict) or not isinstance(record.get("turns"), list):
                    self.bad_lines.append(number)  # JSON, but no trajectory (every version writes turns)
                    continue
                try:
                    trajectory = Trajectory.from_dict(record, images)
                except ImageFileError as exc:
                    raise ImageFileError(f"{self.path}, line {number}: {exc}") from None
                except (ValueError, TypeError, AttributeError, RecursionError):
                    self.bad_lines.append(number)
                    continue
                finally:
                    images.forget()  # arrays are shared within a trajectory, not across the file
                yield trajectory


def read_trajectories(path: str | os.PathLike[str], *, lazy_images: bool = False) -> list[Trajectory]:
    """All readable trajectories of a JSONL file; warns about the lines it had to skip."""
    reader = TrajectoryReader(path, lazy_images=lazy_images)
    trajectories = list(reader)
    if reader.bad_lines:
        warnings.warn(
            f"{path}: skipped {len(reader.bad_lines)} unreadable line(s) {reader.bad_lines} "
            "(a crash while writing leaves a partial last line)",
            stacklevel=2,
        )
    return trajectories
