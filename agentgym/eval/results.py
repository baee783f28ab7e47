"""The results of one evaluation run, as stored in its run directory's ``results.json``."""

from __future__ import annotations

import json
import platform
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from agentgym.eval.metrics import Metrics

RESULTS_FILE = "results.json"
TRAJECTORIES_FILE = "trajectories.jsonl"
RESULTS_SCHEMA_VERSION = 1

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
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResults:
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
        )


def load_results(run_dir: str | Path) -> RunResults:
    """The results of the run in ``run_dir``; a clear error if it holds none."""
    path = Path(run_dir) / RESULTS_FILE
    if not path.is_file():
        raise ValueError(f"{run_dir} is not an evaluation run directory (no {RESULTS_FILE})")
    try:
        return RunResults.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"{path} is not a valid results file: {exc!r}") from None


def collect_versions() -> dict[str, str]:
    versions = {"python": sys.version.split()[0], "platform": platform.platform()}
    for package in _VERSIONED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions
