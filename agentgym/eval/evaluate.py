"""Benchmark a policy on a suite: roll it out on every task, measure, write the run directory.

    from agentgym.eval import evaluate

    evaluation = evaluate("oracle", "quick-v0", rollouts=4, out_dir="runs/oracle")
    print(evaluation.results.overall.success_rate)

A suite entry's seeds are its tasks; each is played ``rollouts`` times by the rollout engine
(one group, same seed), so pass@k and avg@k use ``k = rollouts``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from agentgym.eval.metrics import group_by, summarize
from agentgym.eval.report import Report, write_report
from agentgym.eval.results import RESULTS_FILE, TRAJECTORIES_FILE, RunResults
from agentgym.policies.base import Policy, SamplingParams
from agentgym.policies.specs import DEFAULT_POLICY, make_policy
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.suites import Suite, get_suite
from agentgym.trajectory import Trajectory


@dataclass
class Evaluation:
    """An evaluation's results, its trajectories and, when written, its run directory."""

    results: RunResults
    trajectories: list[Trajectory]
    run_dir: Path | None = None
    report: Report | None = None


def suite_tasks(suite: Suite, tasks_per_entry: int | None = None) -> list[Task]:
    """One :class:`Task` per seed of each entry (its first ``tasks_per_entry`` seeds if given)."""
    if tasks_per_entry is not None and tasks_per_entry < 1:
        raise ValueError(f"--tasks must be a positive number, got {tasks_per_entry}")
    return [Task(entry.env_id, seed, dict(entry.kwargs))
            for entry in suite.entries for seed in entry.seeds[:tasks_per_entry]]


def entry_label(trajectory: Trajectory) -> str:
    """The suite-entry label of a trajectory (the engine records the task's kwargs)."""
    kwargs = trajectory.metadata.get("env_kwargs") or {}
    return Task(trajectory.env_id or "unknown", trajectory.seed or 0, kwargs).label


def default_run_dir(suite: str, policy: str, root: str | Path = "runs") -> Path:
    """``runs/<suite>-<policy>-<YYYYmmdd-HHMMSS>`` that does not exist yet (``-2``, ``-3``...
    is added for runs started in the same second), the policy spec made file-name safe."""
    safe_policy = re.sub(r"[^A-Za-z0-9._-]+", "_", policy).strip("_") or "policy"
    base = Path(root) / f"{suite}-{safe_policy}-{datetime.now():%Y%m%d-%H%M%S}"
    candidate, number = base, 1
    while candidate.exists():
        number += 1
        candidate = base.with_name(f"{base.name}-{number}")
    return candidate


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
        rollouts: rollouts per task (the ``k`` of pass@k / avg@k).
        tasks: only the first ``tasks`` seeds of each entry.
        sampling: sampling settings (``config.sampling`` or the defaults if omitted).
        config: further rollout settings; its ``group_size`` is replaced by ``rollouts``.
        out_dir: a new run directory to write (trajectories while the run goes, then
            ``results.json`` and the reports); ``None`` writes nothing.
        progress: show the engine's progress bar.
    """
    suite = get_suite(suite) if isinstance(suite, str) else suite
    task_list = suite_tasks(suite, tasks)
    config = config or RolloutConfig()
    config = RolloutConfig(**{**_config_fields(config), "group_size": rollouts,
                              "sampling": sampling or config.sampling})
    run_dir = _unused_run_dir(out_dir) if out_dir is not None else None
    owned = not isinstance(policy, Policy)
    policy_object = make_policy(policy) if owned else policy
    spec = (policy or DEFAULT_POLICY) if owned else policy_object.name
    try:
        if run_dir is not None:  # only now: a bad policy spec leaves no empty directory behind
            run_dir.mkdir(parents=True, exist_ok=True)
        result = rollout(policy_object, task_list, config, progress=progress,
                         trajectories_path=run_dir / TRAJECTORIES_FILE if run_dir else None)
    finally:
        if owned:
            policy_object.close()
    groups = group_by(result.trajectories, entry_label)
    results = RunResults(
        suite=suite.name,
        policy=spec,
        sampling=asdict(config.sampling),
        rollouts_per_task=rollouts,
        tasks_per_entry=tasks,
        environments=[summarize(groups[entry.label], entry.label, k=rollouts)
                      for entry in suite.entries if entry.label in groups],
        overall=summarize(result.trajectories, "overall", k=rollouts),
        stats=result.stats,
    )
    evaluation = Evaluation(results, result.trajectories, run_dir)
    if run_dir is not None:
        evaluation.report = write_report(run_dir, results, groups)
    return evaluation


def _config_fields(config: RolloutConfig) -> dict:
    # Not dataclasses.asdict: it would deep-copy the wrappers and turn SamplingParams into a dict.
    return {name: getattr(config, name) for name in config.__dataclass_fields__}


def _unused_run_dir(out_dir: str | Path) -> Path:
    """``out_dir``, refused if it already holds a run (trajectories would be appended to it)."""
    run_dir = Path(out_dir)
    for name in (RESULTS_FILE, TRAJECTORIES_FILE):
        if (run_dir / name).exists():
            raise ValueError(f"{run_dir} already holds a run ({name}); choose another output directory")
    return run_dir
