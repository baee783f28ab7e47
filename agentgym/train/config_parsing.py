"""Reading plain data into the training configuration's dataclasses (:mod:`agentgym.train.config`).

Contract: :func:`build_section` turns nested dicts (a TOML file's tables, ``--set`` overrides)
into a dataclass instance, collecting one sentence per problem instead of stopping at the first:
an unknown section or key (with the closest known name suggested, :func:`_suggestion`), a value
whose type does not fit the field's hint (:func:`_conforms`, described in words by
:func:`_describe`); a value that failed keeps its field's default so that the cross-field checks
(:mod:`agentgym.train.config_checks`) can still run. Integers given for float options become
floats (:func:`_coerce`). :func:`parse_overrides` reads ``KEY=VALUE`` assignments and
:func:`merge` applies them over the file's data. Nothing here judges whether values make sense
together. :func:`toml_literal` and :func:`problem_message` format values and problem lists for
all three modules.

The option names come from :class:`~agentgym.train.config.TrainConfig`, which imports this
module when it loads; the two functions that need the class import it when they run.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import types
import typing
from collections.abc import Sequence
from typing import Any, Literal

import tomllib


def parse_overrides(assignments: Sequence[str]) -> dict[str, Any]:
    """Nested overrides from ``KEY=VALUE`` assignments (``agentgym train --set``).

    ``KEY`` is a dotted option name as in the file (``rollout.group_size``, ``model.lora.r``);
    ``VALUE`` is read as a TOML value (``4``, ``1e-5``, ``true``, ``[0, 100]``,
    ``{difficulty = "easy"}``), or else taken as a string (``model.path=/models/mine``). A later
    assignment of the same key wins. Raises :class:`ConfigError` on an assignment without ``=``,
    an unknown key (with the closest names) or a value of the wrong type; combinations are
    checked once the overrides are applied (:func:`load_config`).
    """
    from agentgym.train.config import ConfigError, TrainConfig  # not at the top: config imports this module

    known = _option_hints()
    overrides: dict[str, Any] = {}
    problems: list[str] = []
    for assignment in assignments:
        key, equals, text = assignment.partition("=")
        key = key.strip()
        if not equals or not key:
            problems.append(f"expected KEY=VALUE (e.g. rollout.group_size=4), got {toml_literal(assignment)}")
        elif key not in known:
            close = _options_named(key.rsplit(".", 1)[-1]) or difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            hint = f"; did you mean {' or '.join(close)}?" if close else "; options are section.key, as in the file"
            problems.append(f"unknown option {key!r}{hint}")
        else:
            *sections, name = key.split(".")
            table = overrides
            for section in sections:
                if not isinstance(table.get(section), dict):
                    table[section] = {}
                table = table[section]
            table[name] = _toml_value(text.strip())
    if not problems:
        build_section(TrainConfig, overrides, "", problems)  # the types, as for the file
    if problems:
        raise ConfigError(problem_message(problems, "--set"))
    return overrides


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` applied recursively (a new dict)."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def build_section(cls: type, data: Any, where: str, problems: list[str]) -> Any:
    """An instance of dataclass ``cls`` from ``data``; type problems go to ``problems``."""
    label = f"[{where}]" if where else "the top level"
    if not isinstance(data, dict):
        problems.append(f"{label} must be a table, got {toml_literal(data)}")
        return cls()
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    values = {}
    for key, value in data.items():
        path = f"{where}.{key}" if where else key
        if key not in names:
            problems.append(f"unknown {'key' if where else 'section'} {key!r} in {label}{_suggestion(key, names)}")
            continue
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            values[key] = build_section(hint, value, path, problems)
        elif _conforms(value, hint):
            values[key] = _coerce(value, hint)
        else:
            problems.append(f"{path} must be {_describe(hint)}, got {toml_literal(value)}")
    return cls(**values)


def _conforms(value: Any, hint: Any) -> bool:
    """Whether a TOML value fits a field's type hint.

    Both union spellings (``Optional[int]``, ``int | None``) accept a value that fits one member
    (``None`` only says the key may be left out: TOML has no null); ``bool`` is not an integer
    here; an integer is a number; a number must be finite (``nan`` and ``inf`` configure
    nothing); lists and fixed-length tuples (``tuple[float, float]``) are TOML arrays whose items
    fit, and typed tables (``dict[str, float]``) TOML tables whose values fit. A hint this function does not know raises ``TypeError``, so that no new field goes
    unchecked.
    """
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_conforms(value, option) for option in args if option is not type(None))
    if origin is Literal:
        return any(type(value) is type(option) and value == option for option in args)
    if origin is list or origin is tuple and args[-1] is Ellipsis:
        return isinstance(value, list) and all(_conforms(item, args[0]) for item in value)
    if origin is tuple:
        return isinstance(value, list) and len(value) == len(args) and all(map(_conforms, value, args))
    if origin is dict:
        return isinstance(value, dict) and all(_conforms(item, args[1]) for item in value.values())
    if hint is dict:
        return isinstance(value, dict)
    if hint is Any:
        return True
    if hint is bool or hint is str:
        return isinstance(value, hint)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    raise TypeError(f"the configuration checker has no rule for {hint!r}")


def _describe(hint: Any, *, plural: bool = False) -> str:
    """What :func:`_conforms` accepts for ``hint``, in words: ``an integer or omitted``,
    ``a list of integers``, ``one of "grpo", "ppo"``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        options = [option for option in args if option is not type(None)]
        words = " or ".join(_describe(option, plural=plural) for option in options)
        return f"{words} or omitted" if len(options) < len(args) else words
    if origin is Literal:
        return ("any of " if plural else "one of ") + ", ".join(toml_literal(option) for option in args)
    if origin is list or origin is tuple and args[-1] is Ellipsis:
        return ("lists of " if plural else "a list of ") + _describe(args[0], plural=True)
    if origin is tuple:
        return ("lists " if plural else "a list ") + "[" + ", ".join(_describe(option) for option in args) + "]"
    if origin is dict and args[1] is not Any:
        return ("tables of " if plural else "a table of ") + _describe(args[1], plural=True)
    if origin is dict or hint is dict:
        return "tables" if plural else "a table"
    one, many = _WORDS[hint]
    return many if plural else one


_WORDS: dict[Any, tuple[str, str]] = {
    bool: ("true or false", "true or false values"), int: ("an integer", "integers"),
    float: ("a finite number", "finite numbers"), str: ("a string", "strings"), Any: ("any value", "any values"),
}


def _coerce(value: Any, hint: Any) -> Any:
    """Integers given for float options (and a typed list's items or table's values) become
    floats (TOML writes ``1`` for ``1.0``)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is list:
        return [_coerce(item, args[0]) for item in value]
    if origin is dict:
        return {key: _coerce(item, args[1]) for key, item in value.items()}
    if origin in (typing.Union, types.UnionType):
        if float in args and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        fitting = [option for option in args if option is not type(None) and _conforms(value, option)]
        return _coerce(value, fitting[0]) if fitting else value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def toml_literal(value: Any) -> str:
    """``value`` as TOML would write it (``"five"``, ``true``, ``inf``, ``[1]``), for messages."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, list):
        return "[" + ", ".join(toml_literal(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key} = {toml_literal(item)}" for key, item in value.items()) + "}"
    try:
        return json.dumps(value, ensure_ascii=False)
    except TypeError:  # dates and times
        return str(value)


def _toml_value(text: str) -> Any:
    """A ``--set`` value: ``text`` read as a TOML value, else ``text`` itself as a string."""
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def _option_hints(cls: type = None, where: str = "") -> dict[str, Any]:
    """Every option's and section's dotted name (``rollout.group_size``, ``model.lora``) and
    type hint."""
    if cls is None:
        from agentgym.train.config import TrainConfig  # not at the top: config imports this module

        cls = TrainConfig
    hints: dict[str, Any] = {}
    for name, hint in typing.get_type_hints(cls).items():
        path = f"{where}.{name}" if where else name
        hints[path] = hint
        if dataclasses.is_dataclass(hint):
            hints.update(_option_hints(hint, path))
    return hints


def _options_named(name: str) -> list[str]:
    """The dotted options called ``name`` in any section (``lr``: ``optimizer.lr``)."""
    return [path for path in _option_hints() if path.rsplit(".", 1)[-1] == name]


def _suggestion(key: str, names: list[str]) -> str:
    """``; did you mean ...?`` for an unknown key: a close name in the same table, else the
    same name in another section (``lr`` in ``[rollout]``: ``optimizer.lr``)."""
    close = difflib.get_close_matches(key, names, n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    elsewhere = _options_named(key)
    if elsewhere:
        return f"; did you mean {' or '.join(elsewhere)}?"
    return f"; known keys: {', '.join(names)}"


def drop_none(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: drop_none(v) for k, v in data.items() if v is not None}
    if isinstance(data, list):
        return [drop_none(v) for v in data]
    return data


def problem_message(problems: list[str], source: str = "invalid training configuration") -> str:
    """One problem on one line (``<source>: <problem>``), several as a list."""
    if len(problems) == 1:
        return f"{source}: {problems[0]}"
    return f"{source}:\n" + "\n".join(f"  - {p}" for p in problems)
