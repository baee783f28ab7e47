"""Several evaluation runs side by side: one row per environment, a column group per run.

Rows are the union of the runs' environments, in the order they first appear; an environment a
run did not play shows ``—`` in that run's columns. Each run contributes its success rate with
the 95% Wilson interval, mean return and mean turns; the last row is each run's overall row.
Columns name a run by number and policy (``#2 random``); :func:`run_legend` says which
directory each number is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.table import Table
from rich.text import Text

from agentgym.eval.metrics import Metrics
from agentgym.eval.results import RunResults, load_results
from agentgym.eval.tables import MISSING, number, success_with_ci

_RUN_COLUMNS = (("success [95% CI]", success_with_ci),
                ("return", lambda m: number(m.mean_return, 2)),
                ("turns", lambda m: number(m.mean_turns)))


@dataclass
class NamedRun:
    """A run's results and its directory, as the user named it."""

    name: str
    results: RunResults


def load_runs(run_dirs: list[str | Path]) -> list[NamedRun]:
    return [NamedRun(str(d), load_results(d)) for d in run_dirs]


def comparison_rows(runs: list[NamedRun]) -> list[tuple[str, list[Metrics | None]]]:
    """``(environment, [its row in each run or None])`` for every environment, then the
    overall rows under the label ``overall``."""
    labels: dict[str, None] = {}
    for run in runs:
        labels.update((m.label, None) for m in run.results.environments)
    by_run = [{m.label: m for m in run.results.environments} for run in runs]
    rows = [(label, [rows.get(label) for rows in by_run]) for label in labels]
    rows.append(("overall", [run.results.overall for run in runs]))
    return rows


def _cells(metrics: Metrics | None) -> list[str]:
    return [MISSING if metrics is None else cell(metrics) for _, cell in _RUN_COLUMNS]


def _run_title(number: int, run: NamedRun) -> str:
    return f"#{number} {run.results.policy}"


def run_legend(runs: list[NamedRun]) -> list[str]:
    """One line per run: its number, directory, suite, rollouts per task and date."""
    return [f"#{number} {run.name}: {run.results.policy} on {run.results.suite}, "
            f"{run.results.overall.episodes} episodes, k={run.results.rollouts_per_task}, {run.results.created_at}"
            for number, run in enumerate(runs, start=1)]


def warnings_for(runs: list[NamedRun]) -> list[str]:
    """Why the runs may not be comparable: different suites or task limits."""
    notes = []
    if len({run.results.suite for run in runs}) > 1:
        notes.append("the runs evaluated different suites: " + ", ".join(
            f"{run.name}: {run.results.suite}" for run in runs))
    if len({(run.results.tasks_per_entry, run.results.rollouts_per_task) for run in runs}) > 1:
        notes.append("the runs played different numbers of tasks or rollouts per task")
    return notes


def rich_comparison(runs: list[NamedRun]) -> Table:
    table = Table(title="comparison")
    table.add_column("environment", no_wrap=True)
    for position, run in enumerate(runs, start=1):
        for header, _ in _RUN_COLUMNS:
            table.add_column(Text(f"{_run_title(position, run)}\n{header}"), justify="right")
    rows = comparison_rows(runs)
    for index, (label, metrics) in enumerate(rows):
        if index == len(rows) - 1:
            table.add_section()
        # Text: labels like "Wordle-v0[easy]" are not rich markup
        table.add_row(*map(Text, [label, *(cell for m in metrics for cell in _cells(m))]),
                      style="bold" if index == len(rows) - 1 else None)
    return table


def markdown_comparison(runs: list[NamedRun]) -> str:
    """The comparison as GitHub Markdown; each header cell names its run."""
    headers = ["environment"] + [f"{_run_title(number, run)}: {header}"
                                 for number, run in enumerate(runs, start=1) for header, _ in _RUN_COLUMNS]
    lines = ["| " + " | ".join(h.replace("|", "\\|") for h in headers) + " |",
             "|---|" + "---:|" * (len(headers) - 1)]
    rows = comparison_rows(runs)
    for index, (label, metrics) in enumerate(rows):
        cells = [label] + [cell for m in metrics for cell in _cells(m)]
        if index == len(rows) - 1:
            cells = [f"**{cell}**" for cell in cells]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines.append("")
    lines += [f"- {line}" for line in run_legend(runs)]
    return "\n".join(lines)
