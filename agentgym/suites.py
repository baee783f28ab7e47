"""Named, versioned suites of environments for benchmarking.

A suite fixes *what* is evaluated — which environments, with which constructor arguments, on
which seeds — so that two runs of ``agentgym eval --suite games-v0`` measure the same tasks.
Changing a suite's content means a new version (``games-v1``), never an edit: registering a
taken name with different content raises :class:`~agentgym.core.ConfigError` unless
``override=True`` is passed (then it warns). Third-party packages can ship suites through the
``agentgym.suites`` entry-point group (see :mod:`agentgym.registry`); ``agentgym --import
MODULE`` reaches a suite registered in your own module.

For a quick look without registering anything, :func:`env_suite` builds an unnamed-version suite
from environment ids or patterns and seeds (what ``agentgym eval --env ID`` runs);
:func:`build_suite` checks any list of entries the way :func:`register_suite` does.
"""

from __future__ import annotations

import difflib
import fnmatch
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterable

from agentgym.core import ConfigError, is_int
from agentgym.registry import check_env_kwargs, env_info, list_envs, load_plugins
from agentgym.trajectory import json_safe


def env_label(env_id: str, kwargs: dict[str, Any]) -> str:
    """A short row label for an environment and its constructor arguments: the id, then the
    arguments' values in brackets (``games/Wordle-v0[hard]``). The values are written as a
    trajectory stores them (:func:`~agentgym.trajectory.json_safe`: a tuple as a list), so
    the label read back from a trajectory's kwargs is its suite entry's."""
    extras = ",".join(str(v) for v in json_safe(dict(kwargs)).values())
    return f"{env_id}[{extras}]" if extras else env_id


@dataclass(frozen=True)
class SuiteEntry:
    """One environment of a suite: the id, constructor arguments and the seeds (one task each)."""

    env_id: str
    seeds: tuple[int, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """A short row label, e.g. ``games/Wordle-v0[hard]`` (see :func:`env_label`)."""
        return env_label(self.env_id, self.kwargs)


@dataclass(frozen=True)
class Suite:
    name: str
    entries: tuple[SuiteEntry, ...]
    description: str = ""

    @property
    def num_tasks(self) -> int:
        return sum(len(e.seeds) for e in self.entries)


_SUITES: dict[str, Suite] = {}


def build_suite(
    name: str,
    entries: Iterable[SuiteEntry | tuple[str, Iterable[int]] | tuple[str, Iterable[int], dict]],
    description: str = "",
) -> Suite:
    """A suite, checked but not registered; entries are :class:`SuiteEntry` or ``(env_id,
    seeds[, kwargs])`` tuples (both checked alike).

    An entry's seeds become a tuple of plain ``int`` however they were given (a list, numpy
    integers), so two suites with the same content compare equal.

    Raises:
        ConfigError: no entries (a suite that measures nothing), an entry of the wrong shape
            (an argument name that is not a string too), no seeds, a negative or repeated one,
            or two entries with the same label (the same id and argument values: one row of
            the results).
        KeyError: an unknown environment id (with the nearest registered ones).
    """
    if isinstance(entries, (str, bytes, dict)) or not hasattr(entries, "__iter__"):
        raise ConfigError(f"suite {name!r}: entries must be a list of (env_id, seeds[, kwargs]), got {entries!r}")
    built = []
    for entry in entries:
        if isinstance(entry, SuiteEntry):  # checked as the tuple it holds: SuiteEntry does not check
            env_id, seeds, rest = entry.env_id, entry.seeds, [entry.kwargs]
        elif isinstance(entry, (tuple, list)) and len(entry) in (2, 3):
            env_id, seeds, *rest = entry
        else:
            raise ConfigError(f"suite {name!r}: each entry is (env_id, seeds[, kwargs]), got {entry!r}")
        if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
            raise ConfigError(f"suite {name!r}: the seeds of {env_id} must be a list of integers, got {seeds!r}")
        if rest and not isinstance(rest[0], dict):
            raise ConfigError(f"suite {name!r}: the kwargs of {env_id} must be a dict, got {rest[0]!r}")
        entry = SuiteEntry(env_id, tuple(seeds), dict(rest[0]) if rest else {})
        env_info(entry.env_id)  # raises with suggestions if unknown
        _check_argument_names(entry.kwargs, f"suite {name!r}: {entry.env_id}")
        if not entry.seeds:
            raise ConfigError(f"suite {name!r}: {entry.env_id} has no seeds")
        bad = [s for s in entry.seeds if not is_int(s) or s < 0]
        if bad:
            raise ConfigError(f"suite {name!r}: seeds must be non-negative integers; {entry.env_id} has {bad[:3]!r}")
        built.append(SuiteEntry(entry.env_id, tuple(int(s) for s in entry.seeds), dict(entry.kwargs)))
        _check_unique(name, built)
    if not built:
        raise ConfigError(f"suite {name!r} has no environments")
    return Suite(name, tuple(built), description)


def _check_argument_names(kwargs: dict[Any, Any], where: str) -> None:
    """Constructor arguments are passed by name: a ``ConfigError`` starting with ``where`` and
    naming the first key of ``kwargs`` that is not a string."""
    bad = [key for key in kwargs if not isinstance(key, str)]
    if bad:
        raise ConfigError(f"{where}: constructor argument names must be strings, got {bad[0]!r:.60}")


def _check_unique(name: str, built: list[SuiteEntry]) -> None:
    """The last of ``built`` repeats no seed and no earlier entry's label: a seed is one task
    (``rollouts`` repeats a task), and results are reported per label, so a repeated one would
    count its episodes twice.

    Raises:
        ConfigError: naming the seed, or the label and both entries (numbered from 1).
    """
    entry = built[-1]
    seen: set[int] = set()
    repeated = next((seed for seed in entry.seeds if seed in seen or seen.add(seed)), None)  # linear in seeds
    if repeated is not None:
        raise ConfigError(f"suite {name!r}: {entry.label} lists seed {repeated} more than once (a seed is one "
                          "task; rollouts per task repeat it)")
    first = next((i for i, other in enumerate(built[:-1], 1) if other.label == entry.label), None)
    if first is not None:
        raise ConfigError(f"suite {name!r}: entries {first} and {len(built)} are both {entry.label} (results are "
                          "reported per entry label): give one entry all of its seeds")


def env_suite(env_ids: Iterable[str], seeds: Iterable[int], kwargs: dict[str, Any] | None = None) -> Suite:
    """An unregistered suite of ``env_ids``, each on ``seeds`` with the same constructor
    ``kwargs`` (what ``agentgym eval --env ID`` evaluates). An id may hold shell-style
    wildcards (``web/miniwob.click-*``): every registered id it matches, sorted, joins the suite.
    The suite's name is the ids as given, each with the kwargs' values as in an entry's label
    (``games/Wordle-v0[hard]``), joined by ``+``, with ``@first`` when the seeds do not start at 0.

    Raises:
        ConfigError: ``env_ids`` or ``seeds`` not a list (a lone string, a number), ``kwargs``
            not a dict, no ids, a
            pattern no registered id matches, no seeds, or a constructor
            argument an environment does not take (checked here, before any episode: the
            environments' modules are imported).
        KeyError: an unknown id.
    """
    if isinstance(env_ids, (str, bytes)):
        raise ConfigError(f"env_suite: env_ids must be a list of ids, got the string {env_ids!r} (write [{env_ids!r}])")
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
        raise ConfigError(f"env_suite: seeds must be a list of integers, got {seeds!r}")
    if kwargs is not None and not isinstance(kwargs, dict):
        raise ConfigError(f"env_suite: kwargs must be a dict of constructor arguments, got {kwargs!r:.80}")
    given, seeds, kwargs = list(env_ids), tuple(seeds), dict(kwargs or {})
    if not given:
        raise ConfigError("env_suite: no environment ids")
    ids = list(dict.fromkeys(env_id for pattern in given for env_id in _matching_ids(pattern)))
    _check_argument_names(kwargs, "env_suite")
    for env_id in ids:
        check_env_kwargs(env_id, kwargs)
    name = "+".join(env_label(pattern, kwargs) for pattern in dict.fromkeys(given))
    if seeds and seeds[0] != 0:
        name += f"@{seeds[0]}"
    description = f"{len(seeds)} seeds of each environment, from {seeds[0] if seeds else 0}"
    return build_suite(name, [SuiteEntry(env_id, seeds, dict(kwargs)) for env_id in ids], description)


def _matching_ids(pattern: str) -> list[str]:
    """``[pattern]`` for a plain id; for one with wildcards, the registered ids it matches."""
    if not isinstance(pattern, str) or not any(c in pattern for c in "*?["):
        return [pattern]
    matches = [info.id for info in list_envs() if fnmatch.fnmatchcase(info.id, pattern)]
    if not matches:
        raise ConfigError(f"no registered environment matches {pattern!r} (`agentgym list` shows them)")
    return matches


def register_suite(
    name: str,
    entries: Iterable[SuiteEntry | tuple[str, Iterable[int]] | tuple[str, Iterable[int], dict]],
    description: str = "",
    *,
    override: bool = False,
) -> Suite:
    """Register a suite; entries are :class:`SuiteEntry` or ``(env_id, seeds[, kwargs])`` tuples.

    Every environment id must already be registered, seeds must be non-negative integers, and
    the name must be a name then a version (``games-v0``), so a typo fails here rather than
    halfway through an evaluation (see :func:`build_suite`). The entries' constructor arguments are checked when
    the suite is asked for by name (:func:`get_suite`, before an evaluation starts): checking
    them needs the environments' modules, which registering does not import. A name already
    taken by a different suite raises :class:`~agentgym.core.ConfigError` unless
    ``override=True`` (then a warning); the same suite registered again is a no-op.
    """
    stem, _, version = name.rpartition("-v") if isinstance(name, str) else ("", "", "")
    if not stem or not version.isdigit():
        raise ConfigError(f"suite name {name!r} must end in a version such as '-v0'")
    if not isinstance(override, bool):
        raise ConfigError(f"register_suite({name!r}): override must be True or False, got {override!r:.80}")
    if not isinstance(description, str):
        raise ConfigError(f"register_suite({name!r}): description must be a string, got {description!r:.80}")
    suite = build_suite(name, entries, description)
    existing = _SUITES.get(name)
    if existing is not None and existing != suite:
        if not override:
            raise ConfigError(f"suite {name!r} is already registered with other content; a changed suite "
                              f"needs a new version name, or pass override=True to replace it")
        warnings.warn(f"agentgym: suite {name!r} is replaced (override=True)", stacklevel=2)
    _SUITES[name] = suite
    return suite


def get_suite(name: str) -> Suite:
    """The suite called ``name`` (plugins' suites included), its entries' constructor arguments
    checked (their environments' modules are imported: registering a suite does not, so that
    importing agentgym stays cheap; asking for one by name is the last moment before an
    evaluation starts).

    Raises:
        KeyError: no suite of that name (with the closest names and the known ones).
        ConfigError: an entry's argument its environment's constructor does not take.
    """
    load_plugins()
    suite = _SUITES.get(name) if isinstance(name, str) else None
    if suite is None:
        close = difflib.get_close_matches(str(name), list(_SUITES), n=3, cutoff=0.6)
        hint = f". Did you mean {', '.join(close)}?" if close else ";"
        raise KeyError(f"no suite named {name!r}{hint} known suites: {', '.join(sorted(_SUITES)) or 'none'}")
    for entry in suite.entries:
        try:
            check_env_kwargs(entry.env_id, entry.kwargs)
        except ConfigError as exc:
            raise ConfigError(f"suite {name!r}: {exc}") from None
    return suite


def list_suites() -> list[Suite]:
    """Every registered suite, sorted by name (plugins' suites included)."""
    load_plugins()
    return [_SUITES[k] for k in sorted(_SUITES)]
