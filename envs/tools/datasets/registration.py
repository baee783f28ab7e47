"""Registering a dataset as an environment in one line."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Iterable

from agentgym.core import ConfigError
from agentgym.registry import EnvInfo, register

ENTRY_POINT = "agentgym.envs.tools.datasets.env:DatasetEnv"


def register_dataset(id: str, source: Any, *, kind: str, max_turns: int | None = None, description: str = "",
                     tags: Iterable[str] = (), family: str = "tools", override: bool = False,
                     **env_kwargs: Any) -> EnvInfo:
    """Register ``source`` (a dataset file, a list of dicts, a ``datasets.Dataset``) as the
    environment ``id``, a :class:`~agentgym.envs.tools.datasets.env.DatasetEnv` of ``kind``
    (``"math"`` or ``"code"``) with ``env_kwargs`` (field names, ``max_attempts``, ``tools``...)::

        from agentgym.envs.tools.datasets import register_dataset
        register_dataset("mine/Algebra-v0", "algebra.jsonl", kind="math", max_attempts=2)
        env = agentgym.make("mine/Algebra-v0")

    The source is read and every record checked now, so a wrong path or field name fails here
    (:class:`~agentgym.core.ConfigError`), not at the first ``make``. A path is stored
    absolute; a one-shot iterable (a generator, a ``map``) is read once and its records stored
    as a list. ``max_turns`` (the turn budget) defaults to the attempts, plus the code runs
    with ``tools``, plus 4 for malformed replies. ``tags`` add to ``("dataset", kind)``.
    """
    from agentgym.envs.tools.datasets.env import DatasetEnv

    if isinstance(source, (str, os.PathLike)):
        source = str(Path(source).expanduser().resolve())
    elif isinstance(source, Iterator):  # every make reads the source again: a generator would be used up
        source = list(source)
    probe = DatasetEnv(source, kind, **env_kwargs)  # checks the data and every argument
    probe.close()
    if max_turns is None:
        max_turns = probe.max_attempts + (probe.code_runs if probe.python_sandbox is not None else 0) + 4
    if isinstance(tags, str):
        raise ConfigError(f"register_dataset({id!r}): tags must be a list of strings, got the string {tags!r}")
    name = Path(source).name if isinstance(source, str) else f"{len(probe.problems)} records"
    return register(id, ENTRY_POINT, family=family, tags=("dataset", kind, *tags), max_turns=max_turns,
                    description=description or f"{kind.capitalize()} problems from {name}.",
                    kwargs={"source": source, "kind": kind, **env_kwargs}, override=override)
