"""Benchmark a policy on a suite: roll it out on every task, measure, write the run directory.

    from agentgym.eval import evaluate

    evaluation = evaluate("oracle", "quick-v0", rollouts=4, out_dir="runs/oracle")
    print(evaluation.results.overall.success_rate)

A suite entry's seeds are its tasks; each is played ``rollouts`` times by the rollout engine
(one group, same seed), so pass@k and avg@k use ``k = rollouts``.

The run directory is written in this order: ``run.json`` (the settings) before the first
episode, ``trajectories.jsonl`` while the run goes, then ``report.md``, ``report.html`` and last
``results.json``, each replaced atomically. A run killed before the end has no ``results.json``;
:func:`summarise_run` (``agentgym report RUN_DIR``) summarises the episodes it finished.
"""

from __future__ import annotations

import json
import re
import warnings
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any


from agentgym.eval.metrics import failure_summary, group_by, summarize
from agentgym.eval.report import HTML_FILE, MARKDOWN_FILE, Report, write_report
from agentgym.core import ConfigError, is_int
from agentgym.eval.results import (RESULTS_FILE, SETTINGS_FILE, TRAJECTORIES_FILE, RunResults, load_results,
                                   load_settings, remove_leftovers, run_settings, write_new)
from agentgym.policies.base import Policy, SamplingParams
from agentgym.policies.specs import canonical_spec, make_policy
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.rollout.engine import failure_kind
from agentgym.suites import Suite, env_label, get_suite
from agentgym.trajectory import Trajectory, TrajectoryReader


@dataclass
class Evaluation:
    """An evaluation's results, its trajectories and, when written, its run directory.

    ``unreadable_lines`` lists the lines of ``trajectories.jsonl`` that :func:`summarise_run`
    had to skip (the partial last line a crash leaves).
    """

    results: RunResults
    trajectories: list[Trajectory]
    run_dir: Path | None = None
    report: Report | None = None
    unreadable_lines: list[int] = field(default_factory=list)


def suite_tasks(suite: Suite, tasks_per_entry: int | None = None) -> list[Task]:
    """One :class:`Task` per seed of each entry (its first ``tasks_per_entry`` seeds if given)."""
    if tasks_per_entry is not None and not (is_int(tasks_per_entry) and tasks_per_entry >= 1):
        raise ConfigError(f"tasks must be a positive integer, got {tasks_per_entry!r}")
    return [Task(entry.env_id, seed, dict(entry.kwargs))
            for entry in suite.entries for seed in entry.seeds[:tasks_per_entry]]


def entry_label(trajectory: Trajectory) -> str:
    """The suite-entry label of a trajectory (the engine records the task's kwargs)."""
    kwargs = trajectory.metadata.get("env_kwargs") or {}
    return env_label(trajectory.env_id or "unknown", kwargs)


def _file_name_safe(text: str, fallback: str) -> str:
    """``text`` with every run of characters other than letters, digits, ``.``, ``_`` and ``-``
    made one ``_`` (none at either end), or ``fallback`` when nothing is left."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_.") or fallback


def default_run_dir(suite: str, policy: str, root: str | Path = "runs") -> Path:
    """``runs/<suite>-<policy>-<YYYYmmdd-HHMMSS>``, made here, empty (``-2``, ``-3``... is added
    for runs started in the same second: making it is what reserves the name, so evaluations
    started together never share a directory), the suite's name and the policy spec made
    file-name safe (``games/Wordle-v0[hard]`` -> ``games_Wordle-v0_hard``) and cut to 80
    characters each (a policy's end: the model's name ends a long path)."""
    safe_suite = _file_name_safe(suite, "suite")[:80]
    safe_policy = _file_name_safe(canonical_spec(policy), "policy")[-80:].lstrip("_.")
    base = Path(root) / f"{safe_suite}-{safe_policy}-{datetime.now():%Y%m%d-%H%M%S}"
    candidate, number = base, 1
    while True:
        try:
            candidate.mkdir(parents=True)
            return candidate
        except FileExistsError:
            number += 1
            candidate = base.with_name(f"{base.name}-{number}")


def evaluate(
    policy: Policy | str | None,
    suite: Suite | str,
    *,
    rollouts: int = 1,
    tasks: int | None = None,
    sampling: SamplingParams | None = None,
    config: RolloutConfig | None = None,
    out_dir: str | Path | None = None,
    progress: bool = True,
) -> Evaluation:
    """Roll ``policy`` out on ``suite`` and summarise it per suite entry and overall.

    Args:
        policy: a :class:`Policy`, or a spec for :func:`make_policy` (``None``: the default
            model). A policy built here from a spec is closed here.
        suite: a suite or its name.
        rollouts: rollouts per task (the ``k`` of pass@k / avg@k), a positive integer.
        tasks: only the first ``tasks`` seeds of each entry.
        sampling: sampling settings (``config.sampling`` or the defaults if omitted).
        config: further rollout settings; its ``group_size`` is replaced by ``rollouts``.
        out_dir: a new run directory to write (trajectories while the run goes, then
            ``results.json`` and the reports; one holding a run or a report is refused);
            ``None`` writes nothing. Its ``run.json``,
            written before the first episode only if none is there, claims it: another
            evaluation that started there meanwhile is a ``ValueError``, never a mixed run.
        progress: show progress on standard error: a live bar on a terminal, plain lines in a
            log (episodes done of all, success so far; see
            :class:`~agentgym.rollout.progress.RolloutProgress`).
    """
    suite = get_suite(suite) if isinstance(suite, str) else suite
    if not isinstance(suite, Suite):
        raise ConfigError(f"suite must be a Suite or a suite name, got {suite!r}")
    if config is not None and not isinstance(config, RolloutConfig):
        raise ConfigError(f"config must be a RolloutConfig, got {config!r}")
    if not (is_int(rollouts) and rollouts >= 1):  # the engine's check would name its group_size
        raise ConfigError(f"rollouts must be a positive integer, got {rollouts!r}")
    task_list = suite_tasks(suite, tasks)
    config = config or RolloutConfig()
    config = RolloutConfig(**{**_config_fields(config), "group_size": rollouts,
                              "sampling": sampling or config.sampling})
    run_dir = _unused_run_dir(out_dir) if out_dir is not None else None
    owned = not isinstance(policy, Policy)
    policy_object = make_policy(policy) if owned else policy
    spec = canonical_spec(policy) if owned else policy_object.name
    settings = run_settings(
        suite=suite.name, policy=spec, rollouts_per_task=rollouts, tasks_per_entry=tasks,
        sampling=asdict(config.sampling), max_turns=config.max_turns, concurrency=config.max_concurrent_episodes,
        system_prompt=config.system_prompt, step_timeout=config.step_timeout,
        episode_timeout=config.episode_timeout, environments=[entry.label for entry in suite.entries],
        expected_episodes=len(task_list) * rollouts)
    runtime = config.env_runtime
    settings["env_runtime"] = runtime if isinstance(runtime, str) else runtime.name
    try:
        if run_dir is not None:  # only now: a bad policy spec leaves no empty directory behind
            _claim_run_dir(run_dir, settings)
        trajectories_path = run_dir / TRAJECTORIES_FILE if run_dir else None
        result = rollout(policy_object, task_list, config, progress="eval" if progress else False,
                         trajectories_path=trajectories_path)
    finally:
        if owned:
            policy_object.close()
    results = build_results(settings, result.trajectories, result.stats)
    evaluation = Evaluation(results, result.trajectories, run_dir)
    if run_dir is not None:
        evaluation.report = write_report(run_dir, results, group_by(result.trajectories, entry_label))
    return evaluation


def build_results(settings: dict[str, Any], trajectories: list[Trajectory], stats: dict[str, Any],
                  *, complete: bool = True) -> RunResults:
    """The :class:`RunResults` of ``trajectories`` played with ``settings`` (see
    :func:`~agentgym.eval.results.run_settings`): rows in the suite's order, then any
    environment the settings do not list, in first-seen order; one row per label (two entries
    of a hand-built suite with one label share it)."""
    k = settings.get("rollouts_per_task") or 1
    groups = group_by(trajectories, entry_label)
    labels = list(dict.fromkeys(label for label in settings.get("environments", []) if label in groups))
    labels += [label for label in groups if label not in labels]
    failures = failure_summary(trajectories)
    if failures is not None:
        stats = {**stats, "first_error": failures.first_error, "first_error_episodes": failures.first_error_episodes}
    return RunResults(
        suite=settings.get("suite") or "unknown",
        policy=settings.get("policy") or "unknown",
        sampling=settings.get("sampling", {}),
        rollouts_per_task=k,
        tasks_per_entry=settings.get("tasks_per_entry"),
        environments=[summarize(groups[label], label, k=k) for label in labels],
        overall=summarize(trajectories, "overall", k=k),
        stats=stats,
        settings={name: value for name, value in settings.items() if name not in ("sampling", "environments")},
        complete=complete,
        expected_episodes=settings.get("expected_episodes"),
    )


def trajectory_stats(trajectories: list[Trajectory]) -> dict[str, Any]:
    """The engine statistics that can be recomputed from stored trajectories (no timings; the
    errors by kind counted as the engine counts them)."""
    return {
        "episodes": len(trajectories),
        "successes": sum(t.success for t in trajectories),
        "success_rate": sum(t.success for t in trajectories) / len(trajectories) if trajectories else 0.0,
        "errors": sum(t.error is not None for t in trajectories),
        "error_kinds": dict(Counter(failure_kind(t) for t in trajectories if t.error)),
        "token_exact_episodes": sum(t.token_exact for t in trajectories),
        "token_mismatches": sum(t.token_mismatches for t in trajectories),
        "turns": sum(len(t.turns) for t in trajectories),
        "generated_tokens": sum(t.generated_tokens for t in trajectories),
    }


def summarise_run(run_dir: str | Path) -> Evaluation:
    """(Re)write the results and reports of ``run_dir`` from its ``trajectories.jsonl``.

    For a run that was interrupted or crashed (no ``results.json``) this summarises the episodes
    it finished, skipping the partial last line a kill can leave, and marks the results
    incomplete (``complete: false``, with ``expected_episodes``) when episodes are missing. The
    settings come from ``run.json`` (or an earlier ``results.json``); a directory with neither
    is summarised with the suite and settings unknown. Engine timings (wall time, tokens per
    second), when the run finished and the versions it ran on are not in the trajectories: they
    are kept from an earlier ``results.json`` of the same episodes (a redrawn finished run keeps
    its date and versions), else timings are left out and the date and versions are this
    summary's. An earlier ``results.json`` that cannot be read (damaged, or of a format this
    version does not know) is replaced, with a warning.
    """
    run_dir = Path(run_dir)
    path = run_dir / TRAJECTORIES_FILE
    if not path.is_file():
        raise ValueError(f"{run_dir} has no {TRAJECTORIES_FILE}: nothing to summarise")
    reader = TrajectoryReader(path, lazy_images=True)  # a summary needs no pixels: missing images do not matter
    trajectories = list(reader)
    previous = _previous_results(run_dir)
    settings = load_settings(run_dir)
    if settings is None and previous is not None:
        settings = {**previous.settings, "sampling": previous.sampling,
                    "environments": [m.label for m in previous.environments],
                    "expected_episodes": previous.expected_episodes or previous.overall.episodes}
    if settings is None:
        policies = sorted({t.policy for t in trajectories if t.policy})
        settings = {"suite": None, "policy": ", ".join(policies) or None, "rollouts_per_task": None,
                    "expected_episodes": None}
    if not settings.get("rollouts_per_task"):
        rollouts = {t.metadata.get("rollout_index", 0) for t in trajectories}
        settings["rollouts_per_task"] = max(rollouts, default=0) + 1
    expected = settings.get("expected_episodes")
    complete = expected is not None and len(trajectories) >= expected
    stats = trajectory_stats(trajectories)
    same_episodes = previous is not None and previous.overall.episodes == len(trajectories)
    if same_episodes:
        stats = {**previous.stats, **stats}  # keep the engine's timings of the same episodes
    results = build_results(settings, trajectories, stats, complete=complete)
    if same_episodes:  # the run, not this summary, finished then and ran on those versions
        results.created_at = previous.created_at or results.created_at
        results.versions = previous.versions or results.versions
    for name in (RESULTS_FILE, MARKDOWN_FILE, HTML_FILE):  # left by a writer killed before its rename
        remove_leftovers(run_dir, name)
    report = write_report(run_dir, results, group_by(trajectories, entry_label))
    return Evaluation(results, trajectories, run_dir, report, reader.bad_lines)


def _previous_results(run_dir: Path) -> RunResults | None:
    """The run's earlier ``results.json``, ``None`` if it has none or it cannot be read (a
    warning says so: the summary is rebuilt without it)."""
    if not (run_dir / RESULTS_FILE).is_file():
        return None
    try:
        return load_results(run_dir)
    except ValueError as exc:
        warnings.warn(f"{exc}; it is rebuilt from {TRAJECTORIES_FILE} (the engine's timings are lost)", stacklevel=3)
        return None


def _config_fields(config: RolloutConfig) -> dict:
    # Not dataclasses.asdict: it would deep-copy the wrappers and turn SamplingParams into a dict.
    return {name: getattr(config, name) for name in config.__dataclass_fields__}


def _claim_run_dir(run_dir: Path, settings: dict[str, Any]) -> None:
    """Make ``run_dir`` and write its ``run.json``, unless one is there by now: another
    evaluation started in it since :func:`_unused_run_dir` looked (while the policy loaded)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    if not write_new(run_dir / SETTINGS_FILE, json.dumps(settings, indent=2) + "\n"):
        raise ValueError(f"{run_dir} already holds a run ({SETTINGS_FILE}: another evaluation started there "
                         "meanwhile); choose another output directory")


def _unused_run_dir(out_dir: str | Path) -> Path:
    """``out_dir``, refused if it is a file, lies under one (it could not be made), already
    holds a run (trajectories would be appended to it) or a file the reports would replace
    (``report.md``, ``report.html``); checked before the policy loads."""
    run_dir = Path(out_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise ValueError(f"{run_dir} is a file, not a run directory; choose another output directory")
    existing = next((folder for folder in run_dir.parents if folder.exists()), None)
    if existing is not None and not existing.is_dir():
        raise ValueError(f"{existing} is a file, not a folder: {run_dir} cannot be made; choose another "
                         "output directory")
    for name in (RESULTS_FILE, TRAJECTORIES_FILE, SETTINGS_FILE):
        if (run_dir / name).exists():
            raise ValueError(f"{run_dir} already holds a run ({name}); choose another output directory")
    for name in (MARKDOWN_FILE, HTML_FILE):  # not a run's: a file of the user's, which the report would replace
        if (run_dir / name).exists():
            raise ValueError(f"{run_dir} already holds a {name} (the run's report would replace it); choose "
                             "another output directory")
    return run_dir
