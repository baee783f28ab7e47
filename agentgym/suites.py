"""Named, versioned suites of environments for benchmarking.

A suite fixes *what* is evaluated — which environments, with which constructor arguments, on
which seeds — so that two runs of ``agentgym eval --suite games-v0`` measure the same tasks.
Changing a suite's content means a new version (``games-v1``), never an edit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from agentgym.registry import env_info


@dataclass(frozen=True)
class SuiteEntry:
    """One environment of a suite: the id, constructor arguments and the seeds (one task each)."""

    env_id: str
    seeds: tuple[int, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """A short row label, e.g. ``games/Wordle-v0[hard]``."""
        extras = ",".join(str(v) for v in self.kwargs.values())
        return f"{self.env_id}[{extras}]" if extras else self.env_id


@dataclass(frozen=True)
class Suite:
    name: str
    entries: tuple[SuiteEntry, ...]
    description: str = ""

    @property
    def num_tasks(self) -> int:
        return sum(len(e.seeds) for e in self.entries)


_SUITES: dict[str, Suite] = {}


def register_suite(
    name: str,
    entries: Iterable[SuiteEntry | tuple[str, Iterable[int]] | tuple[str, Iterable[int], dict]],
    description: str = "",
) -> Suite:
    """Register a suite; entries are :class:`SuiteEntry` or ``(env_id, seeds[, kwargs])`` tuples.

    Every environment id must already be registered, and the name must end in a version
    (``-v0``), so a typo fails here rather than halfway through an evaluation.
    """
    if not name.rsplit("-v", 1)[-1].isdigit():
        raise ValueError(f"suite name {name!r} must end in a version such as '-v0'")
    built = []
    for entry in entries:
        if not isinstance(entry, SuiteEntry):
            env_id, seeds, *rest = entry
            entry = SuiteEntry(env_id, tuple(seeds), dict(rest[0]) if rest else {})
        env_info(entry.env_id)  # raises with suggestions if unknown
        if not entry.seeds:
            raise ValueError(f"suite {name!r}: {entry.env_id} has no seeds")
        built.append(entry)
    suite = Suite(name, tuple(built), description)
    _SUITES[name] = suite
    return suite


def get_suite(name: str) -> Suite:
    try:
        return _SUITES[name]
    except KeyError:
        raise KeyError(
            f"no suite named {name!r}; known suites: {', '.join(sorted(_SUITES)) or 'none'}"
        ) from None


def list_suites() -> list[Suite]:
    return [_SUITES[k] for k in sorted(_SUITES)]
