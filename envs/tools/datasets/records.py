"""Problems from a file or a list: JSONL, JSON, Parquet, a Hugging Face ``datasets`` dataset.

:func:`load_problems` reads a source into :class:`Problem` records, with the field names the
data uses (:class:`Fields`) and checks every record: a non-empty question, and an answer
(``kind="math"``) or tests (``kind="code"``). A field holding ``None``, NaN or ``pandas.NA`` (a
DataFrame's missing value) is missing. A bad record is a
:class:`~agentgym.core.ConfigError` naming the source, the record (the line, for JSONL) and the
field, with the fields the record has — never a half-loaded dataset.

Sources:

* a list (or tuple) of dicts;
* a path (``str`` or ``Path``) to a ``.jsonl`` file (one JSON object per line; blank lines are
  skipped), a ``.json`` file holding a list of objects (or JSON lines, as ``datasets``'
  ``Dataset.to_json`` writes), a ``.parquet`` file (needs
  ``pyarrow``), or a folder written by ``datasets.Dataset.save_to_disk`` (needs ``datasets``);
* a ``datasets.Dataset`` (or anything iterable over dicts, e.g. a loaded split), or a pandas
  ``DataFrame``. A ``DatasetDict`` needs ``split=`` (``"train"``, ``"test"``...).

Files are read once per (path, modification time, size, settings) and the problems kept in
memory, so many environments over one file cost one read.
"""

from __future__ import annotations

import json
import math
import os
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields as dataclass_fields
from pathlib import Path
from typing import Any

from agentgym.core import ConfigError
from agentgym.envs.tools.datasets.code_tests import normalize_tests
from agentgym.envs.tools.datasets.math_answers import reference_answer

KINDS = ("math", "code")
_CACHE: OrderedDict[tuple, tuple[Problem, ...]] = OrderedDict()
_CACHE_SIZE = 16


@dataclass(frozen=True)
class Fields:
    """The names of the fields a dataset's records use (defaults in parentheses).

    ``question`` ("question") and, by kind, ``answer`` ("answer", math) or ``tests`` ("tests",
    code) are required; ``solution`` ("solution": a reference program, the code oracle's),
    ``id`` ("id") and ``difficulty`` ("difficulty": the level an environment can be restricted
    to) are optional."""

    question: str = "question"
    answer: str = "answer"
    tests: str = "tests"
    solution: str = "solution"
    id: str = "id"
    difficulty: str = "difficulty"

    def __post_init__(self) -> None:
        for item in dataclass_fields(self):
            value = getattr(self, item.name)
            if not isinstance(value, str) or not value:
                raise ConfigError(f"the {item.name} field name must be a non-empty string, got {value!r}")


@dataclass(frozen=True)
class Problem:
    """One checked record.

    Attributes:
        index: its position in the source (0-based).
        id: its ``id`` field, or ``"<index>"``.
        question: what the agent is asked.
        answer: the reference answer (math; GSM8K's ``#### 72`` and a worked solution's
            ``\\boxed{}`` already reduced to the answer), else ``None``.
        tests: the tests (code): a string of code or a tuple of test strings, else ``None``.
        solution: a reference solution, or ``None``.
        level: its difficulty, or ``None``.
    """

    index: int
    id: str
    question: str
    answer: str | None = None
    tests: str | tuple[str, ...] | None = None
    solution: str | None = None
    level: str | None = None


def load_problems(source: Any, kind: str, fields: Fields | None = None, *,
                  split: str | None = None) -> tuple[Problem, ...]:
    """The problems of ``source`` (see the module docstring); :class:`ConfigError` for a source
    that cannot be read or a record that does not fit ``kind``, ImportError (naming the
    package) for a format whose reader is not installed."""
    if kind not in KINDS:
        raise ConfigError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    fields = fields or Fields()
    if isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        if not path.exists():
            raise ConfigError(f"dataset file {str(source)!r} does not exist")
        stat = path.stat()
        key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, kind, fields, split)
        cached = _CACHE.get(key)
        if cached is not None:
            _CACHE.move_to_end(key)
            return cached
        problems = _check_all(_read_path(path, split), kind, fields, str(source))
        _CACHE[key] = problems
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
        return problems
    return _check_all(_read_object(source, split), kind, fields, type(source).__name__)


# ----------------------------------------------------------------------------- reading
def _read_path(path: Path, split: str | None) -> Iterable[tuple[str, Any]]:
    """``(where, record)`` pairs, ``where`` naming the record for error messages."""
    if path.is_dir():
        try:
            import datasets
        except ImportError:
            raise ImportError(f"reading the saved Hugging Face dataset {str(path)!r} needs the `datasets` package: "
                              "pip install datasets") from None
        return _read_object(datasets.load_from_disk(str(path)), split)
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return list(_read_jsonl(path))
    if suffix == ".json":
        lines = False
        try:
            text = path.read_text(encoding="utf-8-sig")  # a leading BOM is skipped
            try:
                data = json.loads(text)
            except ValueError:
                if not text.lstrip().startswith("{"):
                    raise
                lines = True  # objects one per line, as datasets' Dataset.to_json writes them
        except (ValueError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{str(path)!r} is not valid JSON: {exc}") from None
        if lines:
            return list(_read_jsonl(path))
        if not isinstance(data, list):
            raise ConfigError(f"{str(path)!r} must hold a JSON list of objects (use .jsonl for one object per line)")
        return [(f"item {n}", record) for n, record in enumerate(data)]
    if suffix == ".parquet":
        try:
            import pyarrow.parquet as parquet
        except ImportError:
            raise ImportError(f"reading the Parquet file {str(path)!r} needs pyarrow: pip install pyarrow "
                              "(or pip install 'agentgym[export]')") from None
        try:
            rows = parquet.read_table(str(path)).to_pylist()
        except Exception as exc:  # noqa: BLE001 - pyarrow's errors vary by version
            raise ConfigError(f"{str(path)!r} is not a readable Parquet file: {exc}") from None
        return [(f"row {n}", record) for n, record in enumerate(rows)]
    raise ConfigError(f"unknown dataset format {suffix or '(no suffix)'!r} of {str(path)!r}: use .jsonl, .json, "
                      ".parquet or a folder saved by datasets' save_to_disk")


def _read_jsonl(path: Path) -> Iterable[tuple[str, Any]]:
    with open(path, encoding="utf-8-sig") as handle:  # a leading BOM is skipped
        try:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    yield f"line {number}", json.loads(line)
                except ValueError as exc:
                    raise ConfigError(f"{str(path)!r} line {number} is not valid JSON: {exc}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{str(path)!r} is not UTF-8 text: {exc}") from None


def _read_object(source: Any, split: str | None) -> list[tuple[str, Any]]:
    if isinstance(source, Mapping):  # a DatasetDict (or a plain dict of splits)
        if split is None:
            raise ConfigError(f"the dataset has several splits ({', '.join(map(str, source))}): pass split=")
        if split not in source:
            raise ConfigError(f"the dataset has no split {split!r}; its splits: {', '.join(map(str, source))}")
        source = source[split]
    elif split is not None:
        raise ConfigError(f"split={split!r} was given but the source has no splits")
    if hasattr(source, "to_dict") and hasattr(source, "columns") and not hasattr(source, "column_names"):
        source = source.to_dict("records")  # a pandas DataFrame
    if isinstance(source, (str, bytes)) or not isinstance(source, Iterable):
        raise ConfigError(f"a dataset source must be a path, a list of dicts or a datasets.Dataset, got {source!r}")
    return [(f"record {n}", record) for n, record in enumerate(source)]


# ----------------------------------------------------------------------------- checking
def _check_all(records: Iterable[tuple[str, Any]], kind: str, fields: Fields, name: str) -> tuple[Problem, ...]:
    problems = tuple(_check(index, where, record, kind, fields, name) for index, (where, record) in enumerate(records))
    if not problems:
        raise ConfigError(f"the dataset {name!r} has no records")
    return problems


def _check(index: int, where: str, record: Any, kind: str, fields: Fields, name: str) -> Problem:
    place = f"{name!r} {where}"
    if not isinstance(record, Mapping):
        raise ConfigError(f"{place} must be an object with a {fields.question!r} field, got {type(record).__name__}")

    def field(key: str, required: bool) -> Any:
        value = record.get(key)
        if _missing(value):  # a DataFrame's missing value is NaN (or pandas.NA), not None
            value = None
        if value is None and required:
            have = ", ".join(map(repr, record)) or "none"
            raise ConfigError(f"{place} has no {key!r} field (its fields: {have}); name the right one with "
                              f"{_argument_for(key, fields)}=")
        return value

    question = field(fields.question, True)
    if not isinstance(question, str) or not question.strip():
        raise ConfigError(f"{place}: {fields.question!r} must be non-empty text, got {question!r}")
    answer = tests = None
    if kind == "math":
        raw = field(fields.answer, True)
        try:
            answer = reference_answer(raw)
        except TypeError as exc:
            raise ConfigError(f"{place}: {fields.answer!r}: {exc}") from None
        if not answer:
            raise ConfigError(f"{place}: {fields.answer!r} is empty")
    else:
        try:
            tests = normalize_tests(field(fields.tests, True))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{place}: {fields.tests!r}: {exc}") from None
    solution = field(fields.solution, False)
    if solution is not None and not isinstance(solution, str):
        raise ConfigError(f"{place}: {fields.solution!r} must be text, got {type(solution).__name__}")
    ident = field(fields.id, False)
    level = field(fields.difficulty, False)
    if level is not None and (not isinstance(level, str) or not level.strip()):
        raise ConfigError(f"{place}: {fields.difficulty!r} must be a non-empty string, got {level!r}")
    return Problem(index, str(index) if ident is None else str(ident), question, answer, tests, solution,
                   None if level is None else level.strip())


def _missing(value: Any) -> bool:
    """Whether ``value`` is a missing value: ``None``, a float NaN or ``pandas.NA``."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return type(value).__name__ == "NAType"


def _argument_for(key: str, fields: Fields) -> str:
    for item in dataclass_fields(fields):
        if getattr(fields, item.name) == key:
            return f"{item.name}_field"
    return "the field argument"
