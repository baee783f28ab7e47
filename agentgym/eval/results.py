"""The results of one evaluation run, as stored in its run directory's ``results.json``, and the
run's settings, stored in ``run.json`` before the first episode starts.

A run directory is *complete* when it holds ``results.json`` (written last, after the reports).
A directory with ``run.json`` and ``trajectories.jsonl`` but no ``results.json`` is a run that
was interrupted or crashed: ``agentgym report RUN_DIR`` summarises the episodes it finished.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import platform
import secrets
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

from agentgym.core import is_int
from agentgym.eval.metrics import Metrics

RESULTS_FILE = "results.json"
TRAJECTORIES_FILE = "trajectories.jsonl"
SETTINGS_FILE = "run.json"
RESULTS_SCHEMA_VERSION = 2

# The settings that change what a run measures, in the order reports and comparisons show them.
SETTING_NAMES = ("suite", "policy", "rollouts_per_task", "tasks_per_entry", "max_turns", "max_tokens",
                 "temperature", "top_p", "seed", "concurrency", "system_prompt", "step_timeout",
                 "episode_timeout", "agentgym_version", "started_at")

# Packages whose versions change results; read from installed metadata, never imported.
_VERSIONED_PACKAGES = ("agentgym", "gymnasium", "numpy", "torch", "transformers", "vllm", "openai", "matplotlib")


@dataclass
class RunResults:
    """What ``agentgym eval`` measured.

    Attributes:
        suite: the suite's name.
        policy: the policy spec (``oracle``, ``hf:PATH``...).
        sampling: the sampling settings (``SamplingParams`` as a dict).
        rollouts_per_task: rollouts of each task (the ``k`` of pass@k).
        tasks_per_entry: the ``--tasks`` limit on each entry's seeds (``None``: all seeds).
        environments: one row per suite entry, in suite order.
        overall: the row over every episode.
        stats: the rollout engine's statistics (episodes, errors, tokens per second, wall time...).
        versions: Python, platform and package versions.
        created_at: when the run finished (ISO 8601, UTC).
        trajectories: the trajectories file, relative to the run directory.
        settings: every setting of the run (:data:`SETTING_NAMES`: turn budget, sampling,
            concurrency, agentgym version, start date...); see :func:`run_settings`.
        complete: ``False`` for a run summarised after it was interrupted (``agentgym report``).
        expected_episodes: the episodes the run set out to play (``None``: unknown).
    """

    suite: str
    policy: str
    sampling: dict[str, Any]
    rollouts_per_task: int
    tasks_per_entry: int | None
    environments: list[Metrics]
    overall: Metrics
    stats: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=lambda: collect_versions())
    created_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    trajectories: str = TRAJECTORIES_FILE
    settings: dict[str, Any] = field(default_factory=dict)
    complete: bool = True
    expected_episodes: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": RESULTS_SCHEMA_VERSION,
            "suite": self.suite,
            "policy": self.policy,
            "sampling": self.sampling,
            "rollouts_per_task": self.rollouts_per_task,
            "tasks_per_entry": self.tasks_per_entry,
            "environments": [m.to_dict() for m in self.environments],
            "overall": self.overall.to_dict(),
            "stats": self.stats,
            "versions": self.versions,
            "created_at": self.created_at,
            "trajectories": self.trajectories,
            "settings": self.settings,
            "complete": self.complete,
            "expected_episodes": self.expected_episodes,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResults:
        """The results :meth:`to_dict` wrote; a ``KeyError`` for a missing field, a ``TypeError``
        naming a field that is not of its type (a damaged ``results.json``: its statistics a
        list, a row's label a number)."""
        _check_types(data)
        return cls(
            suite=data["suite"],
            policy=data["policy"],
            sampling=data.get("sampling", {}),
            rollouts_per_task=data["rollouts_per_task"],
            tasks_per_entry=data.get("tasks_per_entry"),
            environments=[Metrics.from_dict(row) for row in data["environments"]],
            overall=Metrics.from_dict(data["overall"]),
            stats=data.get("stats", {}),
            versions=data.get("versions", {}),
            created_at=data.get("created_at", ""),
            trajectories=data.get("trajectories", TRAJECTORIES_FILE),
            settings=data.get("settings") or _settings_of_schema_1(data),
            complete=data.get("complete", True),
            expected_episodes=data.get("expected_episodes"),
        )


#: The type of each top-level field of ``results.json`` a reader uses (``None`` allowed where listed).
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "suite": (str,), "policy": (str,), "sampling": (dict,), "rollouts_per_task": (int,),
    "tasks_per_entry": (int, type(None)), "environments": (list,), "overall": (dict,), "stats": (dict,),
    "versions": (dict,), "created_at": (str,), "trajectories": (str,), "settings": (dict, type(None)),
    "complete": (bool,), "expected_episodes": (int, type(None))}


def _check_types(data: Any) -> None:
    """A ``TypeError`` naming the first field of ``data`` (a ``results.json``) whose type is wrong."""
    if not isinstance(data, dict):
        raise TypeError(f"it holds {type(data).__name__}, not a JSON object")
    for name, types in _FIELD_TYPES.items():
        value = data.get(name)
        if name in data and (not isinstance(value, types) or isinstance(value, bool) and bool not in types):
            raise TypeError(f"field {name!r} is {type(value).__name__}, not "
                            + " or ".join("null" if kind is type(None) else kind.__name__ for kind in types))


def _settings_of_schema_1(data: dict[str, Any]) -> dict[str, Any]:
    """What a schema-1 ``results.json`` (no ``settings``) recorded; the rest stays unknown."""
    sampling = data.get("sampling", {})
    return {"suite": data.get("suite"), "policy": data.get("policy"),
            "rollouts_per_task": data.get("rollouts_per_task"), "tasks_per_entry": data.get("tasks_per_entry"),
            **{name: sampling[name] for name in ("max_tokens", "temperature", "top_p", "seed") if name in sampling}}


def run_settings(*, suite: str, policy: str, rollouts_per_task: int, tasks_per_entry: int | None,
                 sampling: dict[str, Any], max_turns: int | None, concurrency: int,
                 system_prompt: str | None, step_timeout: float | None, episode_timeout: float | None,
                 environments: list[str], expected_episodes: int) -> dict[str, Any]:
    """The settings of a run, as stored in ``run.json`` and in ``results.json["settings"]``.

    ``max_turns`` ``None`` means each environment's registered turn budget. ``environments``
    (the suite's row labels, in order) and ``expected_episodes`` let an interrupted run be
    summarised without the suite being registered in the summarising process. ``sampling`` is
    kept as JSON holds it (a tuple, such as the stop strings, as a list), so the results of a
    run equal those read back from its directory.
    """
    from agentgym import __version__

    sampling = {name: list(value) if isinstance(value, tuple) else value for name, value in sampling.items()}
    return {
        "suite": suite, "policy": policy, "rollouts_per_task": rollouts_per_task,
        "tasks_per_entry": tasks_per_entry, "max_turns": max_turns,
        "max_tokens": sampling.get("max_tokens"), "temperature": sampling.get("temperature"),
        "top_p": sampling.get("top_p"), "seed": sampling.get("seed"), "concurrency": concurrency,
        "system_prompt": system_prompt, "step_timeout": step_timeout, "episode_timeout": episode_timeout,
        "agentgym_version": __version__,
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "sampling": sampling, "environments": environments, "expected_episodes": expected_episodes,
    }


def setting_text(name: str, value: Any) -> str:
    """A setting's value as people read it (``max_turns`` ``None`` is the registered budget)."""
    if value is None:
        return {"max_turns": "registered budget", "tasks_per_entry": "all seeds", "seed": "none",
                "episode_timeout": "none", "step_timeout": "none", "system_prompt": "none"}.get(name, "not recorded")
    if name == "stop" and isinstance(value, (list, tuple)):  # the sampling's stop strings
        return ", ".join(map(repr, value)) or "none"
    if name == "system_prompt":
        text = " ".join(str(value).split())
        return repr(text if len(text) <= 60 else text[:57] + "...")
    return str(value)


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` so that ``path`` is either its old self or complete: a temporary
    file in the same directory, flushed to disk, then renamed over ``path`` (``os.replace``).
    A crash leaves at most a ``.NAME.*.tmp`` file beside it, never a half-written ``path``.
    ``path`` gets the permissions of a file made by ``open`` (the umask's), not a temporary
    file's owner-only ones: a report is shared like the trajectories beside it. Text that UTF-8
    cannot hold (a lone surrogate a model wrote) is written escaped (``\\ud800``)."""
    path = Path(path)
    with _flushed_temporary(path, text) as temporary:
        os.replace(temporary, path)  # while the file is open: its lock says a writer is at work


def remove_leftovers(folder: str | os.PathLike[str], name: str) -> None:
    """Delete the temporary files of ``name`` (``.NAME.*.tmp``) that killed writers of
    :func:`write_atomic` or :func:`write_new` left in ``folder``; those of a writer still at work
    (another process, about to rename it) are locked by it and kept."""
    for leftover in Path(folder).glob(f".{name}.*.tmp"):
        try:
            handle = os.open(leftover, os.O_RDONLY)
        except OSError:  # gone already: renamed or removed by its writer
            continue
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            leftover.unlink(missing_ok=True)
        except OSError:  # locked: its writer is alive
            continue
        finally:
            os.close(handle)


def write_new(path: str | os.PathLike[str], text: str) -> bool:
    """Write ``text`` to ``path`` only if no ``path`` exists, as one atomic step; returns whether
    it did. Like :func:`write_atomic`, ``path`` is complete or absent at every instant (a
    temporary file, flushed, then hard-linked to ``path``, which fails if ``path`` exists); on a
    file system without hard links, ``path`` is created exclusively and written in place."""
    path = Path(path)
    with _flushed_temporary(path, text) as temporary:
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        except OSError:  # no hard links here: an exclusive create is still atomic about *who* writes
            try:
                with open(path, "x", encoding="utf-8", errors="backslashreplace") as created:
                    created.write(text)
            except FileExistsError:
                return False
        return True


@contextlib.contextmanager
def _flushed_temporary(path: Path, text: str) -> Iterator[str]:
    """``text`` in a new temporary file beside ``path`` (``.NAME.*.tmp``), flushed to disk and
    locked while the block runs (see :func:`_new_file`); removed afterwards unless the block
    renamed it away."""
    handle, temporary = _new_file(path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", errors="backslashreplace") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
            yield temporary
    finally:
        Path(temporary).unlink(missing_ok=True)


def _new_file(folder: Path, *, prefix: str, suffix: str) -> tuple[int, str]:
    """A new file of an unused random name in ``folder``, opened for writing, with the mode
    ``open`` gives (0o666 less the umask; ``tempfile.mkstemp`` would make it 0o600), locked
    (``flock``) while the handle is open, so :func:`remove_leftovers` leaves it alone."""
    for _ in range(100):
        candidate = folder / f"{prefix}{secrets.token_hex(4)}{suffix}"
        try:
            handle = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        fcntl.flock(handle, fcntl.LOCK_EX)
        return handle, str(candidate)
    raise FileExistsError(f"no unused temporary name {prefix}*{suffix} in {folder}")


def load_settings(run_dir: str | Path) -> dict[str, Any] | None:
    """The settings a run recorded in ``run.json`` before it started; ``None`` if it has none,
    a ``ValueError`` naming the file if it is damaged (not a JSON object, or a setting a summary
    reads of the wrong type: the expected episodes as text, the sampling as a list)."""
    path = Path(run_dir) / SETTINGS_FILE
    if not path.is_file():
        return None
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:  # damaged: not even UTF-8 text
        raise ValueError(f"{path} is not a valid settings file: {exc}") from None
    if not isinstance(settings, dict):
        raise ValueError(f"{path} is not a valid settings file: it holds {type(settings).__name__}, "
                         "not a JSON object")
    for name, (valid, expected) in _SETTING_TYPES.items():
        if name in settings and not valid(settings[name]):
            raise ValueError(f"{path} is not a valid settings file: {name} must be {expected}, "
                             f"got {settings[name]!r:.80}")
    return settings


def _text_or_none(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _count_or_none(value: Any, minimum: int) -> bool:
    return value is None or is_int(value) and value >= minimum


#: The settings of ``run.json`` a summary reads (see :func:`run_settings`): how to check each, and
#: what it must be.
_SETTING_TYPES: dict[str, tuple[Any, str]] = {
    "suite": (_text_or_none, "text or null"),
    "policy": (_text_or_none, "text or null"),
    "rollouts_per_task": (lambda value: _count_or_none(value, 1), "a positive integer or null"),
    "tasks_per_entry": (lambda value: _count_or_none(value, 1), "a positive integer or null"),
    "expected_episodes": (lambda value: _count_or_none(value, 0), "an integer of at least 0 or null"),
    "sampling": (lambda value: isinstance(value, dict), "an object"),
    "environments": (lambda value: isinstance(value, list) and all(isinstance(label, str) for label in value),
                     "a list of labels"),
}


def load_results(run_dir: str | Path) -> RunResults:
    """The results of the run in ``run_dir``; a clear error (``ValueError`` naming the file) if
    it holds none, a damaged one (not JSON, a field missing or of the wrong type) or one of a newer
    schema than :data:`RESULTS_SCHEMA_VERSION`."""
    path = Path(run_dir) / RESULTS_FILE
    if not path.is_file():
        if (Path(run_dir) / TRAJECTORIES_FILE).is_file():
            raise ValueError(f"{run_dir} holds an unfinished run ({TRAJECTORIES_FILE} but no {RESULTS_FILE}: "
                             f"it was interrupted or crashed); summarise the episodes it finished with "
                             f"`agentgym report {run_dir}`")
        if not Path(run_dir).exists():
            raise ValueError(f"{run_dir} does not exist (an evaluation run directory was expected)")
        raise ValueError(f"{run_dir} is not an evaluation run directory (no {RESULTS_FILE})")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        schema = data.get("schema_version", 1) if isinstance(data, dict) else None
        if is_int(schema) and schema > RESULTS_SCHEMA_VERSION:  # its fields may mean something else now
            raise ValueError(f"{path} is of results schema {schema}, newer than this version of agentgym reads "
                             f"({RESULTS_SCHEMA_VERSION}): it was written by a newer agentgym; upgrade to read it")
        return RunResults.from_dict(data)
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as exc:  # UnicodeDecodeError: not text
        raise ValueError(f"{path} is not a valid results file: {exc!r}") from None


def collect_versions() -> dict[str, str]:
    versions = {"python": sys.version.split()[0], "platform": platform.platform()}
    for package in _VERSIONED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions
