"""Trajectories as tables: Parquet files and Hugging Face ``datasets``.

Two shapes, one row each:

* ``episodes`` — one row per trajectory, for analysis and SFT warm starts: the environment,
  task, seed, group, outcome, return, turns, the chat ``messages`` (JSON text, since messages
  are heterogeneous), and for token-level trajectories ``input_ids`` with the matching
  ``loss_mask`` (1 on generated tokens) — what a supervised fine-tuning step trains on.
* ``turns`` — one row per turn: observation, action, reward, reward components (JSON text),
  error, generated-token count and timing.

Every column has a fixed type (:func:`schema`), whatever the trajectories hold; text columns
take any value (a non-string ``task_id`` is written as its JSON); a ``seed`` must be an integer
of 64 bits or ``None`` (anything else is a ``ValueError`` naming its trajectory).

**Images travel inside the table, as PNG bytes** (the file is self-contained; nothing is
written beside it). Each image is a ``{"bytes": <PNG>, "path": "images/<sha256>.png"}`` struct,
the storage of Hugging Face's ``datasets.Image`` feature:

* ``episodes`` has an ``images`` column: one image per image part of ``messages``, in the order
  the parts appear in the JSON text (repeats included, so the k-th image part is
  ``images[k]``, as vision-language SFT data is laid out). In ``messages`` an image part is
  written ``{"type": "image", "image_ref": "images/<sha256>.png", "shape": [H, W, 3]}``, its
  ``image_ref`` equal to that image's ``path``.
* ``turns`` has an ``observation_image`` column (``None`` for a turn without one).

:func:`to_hf_dataset` types those columns ``List(Image())`` and ``Image()`` (rows give PIL
images), and :func:`to_parquet` records the same features in the file's metadata when
``datasets`` is installed, so ``datasets.Dataset.from_parquet`` decodes them too; read with
pyarrow alone, :func:`~agentgym.images.decode_png` of ``bytes`` gives the array back, equal to
the one exported (a one-channel ``H x W x 1`` image comes back ``H x W``, as PNG stores grey: in
``episodes`` the part's ``shape`` restores it, ``decode_png(bytes, shape)``; a turn's
``observation_image`` records no shape). Trajectories read lazily (:class:`~agentgym.images.ImageRef`) are loaded
image by image as they are exported.

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
from pathlib import Path
from typing import Any, Iterable, Literal

from agentgym.core import is_int
from agentgym.images import ImageRef, _new_temporary, encode_png, image_digest, is_image
from agentgym.trajectory import Trajectory, json_safe, storable_messages

Shape = Literal["episodes", "turns"]

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPE = re.compile(r"\\(\\|u[0-9a-fA-F]{4})")

# (column, type) with types named by pyarrow constructor; large_string for texts that may be huge
_EPISODE_COLUMNS = [
    ("env_id", "string"), ("task_id", "string"), ("seed", "int64"), ("group_id", "string"),
    ("policy", "string"), ("success", "bool_"), ("return", "float64"), ("turns", "int64"),
    ("terminated", "bool_"), ("truncated", "bool_"), ("error", "large_string"),
    ("messages", "large_string"), ("input_ids", "int64[]"), ("loss_mask", "int64[]"),
    ("token_exact", "bool_"), ("generated_tokens", "int64"), ("escaped", "string[]"), ("images", "image[]"),
]
_TURN_COLUMNS = [
    ("trajectory", "int64"), ("env_id", "string"), ("task_id", "string"), ("group_id", "string"),
    ("turn", "int64"), ("observation", "large_string"), ("action", "large_string"), ("reward", "float64"),
    ("reward_components", "large_string"), ("error", "large_string"), ("generated_tokens", "int64"),
    ("finish_reason", "string"), ("seconds", "float64"), ("escaped", "string[]"),
    ("observation_image", "image"),
]
_EPISODE_TEXT = ("env_id", "task_id", "group_id", "policy", "error")
_TURN_TEXT = ("env_id", "task_id", "group_id", "observation", "action", "error", "finish_reason")
_IMAGE_FOLDER = "images"
_IMAGE_COLUMNS = {"episodes": {"images": "list"}, "turns": {"observation_image": "image"}}


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


def _json_text(value: Any, *, safe: bool = False) -> str:
    """``value`` (already JSON-safe when ``safe``) as JSON text that UTF-8 can hold (lone
    surrogates as JSON escapes)."""
    text = json.dumps(value if safe else json_safe(value), ensure_ascii=False)
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class _PngImages:
    """Images as ``datasets.Image`` values, PNG-encoded once per distinct image per export;
    :meth:`put` (the :class:`~agentgym.images.ImageStore` protocol) appends to :attr:`items`."""

    def __init__(self) -> None:
        self._png: dict[str, bytes] = {}
        self.items: list[dict[str, Any]] = []

    def put(self, image: Any) -> str:
        self.items.append(self.value(image))
        return self.items[-1]["path"]

    def value(self, image: Any) -> dict[str, Any]:
        if isinstance(image, ImageRef):
            image = image.load()
        digest = image_digest(image)
        png = self._png.get(digest)
        if png is None:
            png = self._png[digest] = encode_png(image)
        return {"bytes": png, "path": f"{_IMAGE_FOLDER}/{digest}.png"}

    def row(self) -> list[dict[str, Any]]:
        """The images put since the last call."""
        items, self.items = self.items, []
        return items


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
    rows, images = [], _PngImages()
    for index, t in enumerate(trajectories):
        token_level = t.token_ids is not None
        messages = _json_text(storable_messages(t.messages, images), safe=True)
        rows.append(_text_columns({
            "env_id": t.env_id, "task_id": t.task_id, "seed": _seed(t, index), "group_id": t.group_id,
            "policy": t.policy, "success": bool(t.success), "return": t.episode_return, "turns": len(t.turns),
            "terminated": bool(t.terminated), "truncated": bool(t.truncated), "error": t.error,
            "messages": messages,
            "input_ids": list(t.token_ids) if token_level else None,
            "loss_mask": _loss_mask(t, index) if token_level else None,
            "token_exact": t.token_exact, "generated_tokens": t.generated_tokens,
        }, _EPISODE_TEXT))
        rows[-1]["images"] = images.row()
    return rows


def _loss_mask(trajectory: Trajectory, index: int) -> list[int]:
    """The trajectory's loss mask, one entry per token id; ``ValueError`` naming the trajectory
    when a turn's span lies outside its tokens."""
    try:
        return trajectory.loss_mask()
    except ValueError as exc:
        raise ValueError(f"{trajectory.describe(index)}: {exc}") from None


def _seed(trajectory: Trajectory, index: int) -> int | None:
    """The trajectory's seed for the ``int64`` seed column; ``ValueError`` naming the trajectory
    when it is not an integer that column holds (pyarrow would truncate a float, and fail on a
    seed past 64 bits with an ``OverflowError`` that names neither)."""
    seed = trajectory.seed
    if seed is None or (is_int(seed) and -2**63 <= seed < 2**63):
        return seed
    raise ValueError(f"{trajectory.describe(index)}: seed {seed!r} does not fit the export's seed column "
                     "(a signed 64-bit integer)")


def turn_rows(trajectories: Iterable[Trajectory]) -> list[dict[str, Any]]:
    """One flat row per turn, keyed by the trajectory's task and group."""
    rows, images = [], _PngImages()
    for number, t in enumerate(trajectories):
        for turn in t.turns:
            rows.append(_text_columns({
                "trajectory": number, "env_id": t.env_id, "task_id": t.task_id, "group_id": t.group_id,
                "turn": turn.index, "observation": turn.observation, "action": turn.action,
                "reward": float(turn.reward), "reward_components": _json_text(turn.reward_components),
                "error": turn.error, "generated_tokens": turn.num_generated_tokens,
                "finish_reason": turn.finish_reason, "seconds": float(turn.seconds),
            }, _TURN_TEXT))
            image = turn.observation_image
            rows[-1]["observation_image"] = images.value(image) if _is_image(image) else None
    return rows


def _is_image(value: Any) -> bool:
    return is_image(value) or isinstance(value, ImageRef)


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
        if name == "image":  # the storage of datasets.Image
            return pyarrow.struct([("bytes", pyarrow.binary()), ("path", pyarrow.string())])
        return getattr(pyarrow, name)()

    return pyarrow.schema([(column, arrow_type(kind)) for column, kind in columns])


def to_parquet(trajectories: Iterable[Trajectory], path: str | os.PathLike[str], *,
               shape: Shape = "episodes") -> int:
    """Write the trajectories to a Parquet file; returns the number of rows. The file is written
    beside ``path``, under a temporary name of its own, and renamed into place: an export that
    fails leaves an earlier file at ``path`` whole (and no partial file), and any path the file
    system takes works (pyarrow's own opening refused a name that is not valid UTF-8)."""
    pyarrow, parquet = _require("pyarrow"), _require("pyarrow.parquet")
    rows = _rows(trajectories, shape)
    table_schema = schema(shape)
    try:
        features = hf_features(shape)
    except ImportError:  # without datasets the file is the same, less the features it would decode with
        pass
    else:
        hf_info = json.dumps({"info": {"features": features.to_dict()}})
        table_schema = table_schema.with_metadata({"huggingface": hf_info})
    table = pyarrow.Table.from_pylist(rows, schema=table_schema)
    path = os.fspath(path)
    # a short name of its own: '.<path's name>.partial' failed for names near the 255-byte limit,
    # and a second export to the same path at once (another thread) would have shared it
    descriptor, partial = _new_temporary(Path(os.path.dirname(path) or os.curdir), os.path.basename(path)[:32])
    try:
        with os.fdopen(descriptor, "wb") as out:
            parquet.write_table(table, out)
        os.replace(partial, path)
    finally:
        if os.path.lexists(partial):
            os.unlink(partial)
    return len(rows)


def hf_features(shape: Shape) -> Any:
    """The ``datasets.Features`` of a shape's table: :func:`schema`'s types, images as ``Image``
    (a list of images as ``List(Image())``, or with ``datasets`` before 4.0, which has no
    ``List``, ``Sequence(Image())``)."""
    datasets = _require("datasets")
    features = datasets.Features.from_arrow_schema(schema(shape))
    list_of = getattr(datasets, "List", None) or datasets.Sequence
    for column, kind in _IMAGE_COLUMNS[shape].items():
        features[column] = list_of(datasets.Image()) if kind == "list" else datasets.Image()
    return features


def to_hf_dataset(trajectories: Iterable[Trajectory], *, shape: Shape = "episodes") -> Any:
    """A Hugging Face ``datasets.Dataset`` of the trajectories (image columns typed ``Image``);
    no trajectories give an empty dataset with the same columns."""
    datasets = _require("datasets")
    rows = _rows(trajectories, shape)
    features = hf_features(shape)
    # by column, not from_list: from_list takes the columns from the first row, and finds none in []
    return datasets.Dataset.from_dict({name: [row[name] for row in rows] for name in features}, features=features)


def _require(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"exporting trajectories needs {module.split('.')[0]}: "
                          "pip install 'agentgym[export]'") from None
