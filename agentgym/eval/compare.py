"""Several evaluation runs side by side: one row per environment, a column group per run.

Rows are the union of the runs' environments, in the order they first appear; an environment a
run did not play shows ``—`` in that run's columns. Each run contributes its success rate with
the 95% Wilson interval, mean return and mean turns; the last row is each run's overall row.
Columns name a run by number and policy (``#2 random``); :func:`run_legend` says which
directory each number is, and :func:`settings_differences` which settings (turn budget,
sampling, tasks, rollouts...) are not the same in every run, so numbers measured under
different budgets are never put side by side silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.table import Table

from agentgym.eval.metrics import Metrics
from agentgym.eval.results import RunResults, load_results, setting_text
from agentgym.eval.tables import (MISSING, label_column, markdown_cell, markdown_text, number, success_with_ci,
                                  terminal_cell)

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
    """One line per run: its number, directory, suite, rollouts per task, turn budget and date."""
    return [f"#{number} {run.name}: {run.results.policy} on {run.results.suite}, "
            f"{run.results.overall.episodes} episodes, k={run.results.rollouts_per_task}, "
            f"max_turns {_text(run, 'max_turns')}, {run.results.created_at}"
            for number, run in enumerate(runs, start=1)]


def _text(run: NamedRun, name: str) -> str:
    return _value_text(name, _setting(run, name))


# Settings that change what a run measures; the policy is what a comparison compares, and the
# start date, concurrency and version are shown in the legend, not flagged.
COMPARED_SETTINGS = ("suite", "tasks_per_entry", "rollouts_per_task", "max_turns", "max_tokens", "temperature",
                     "top_p", "stop", "seed", "system_prompt", "step_timeout", "episode_timeout", "agentgym_version")
#: The sampling settings compared, read from a run's ``sampling``.
_SAMPLING_SETTINGS = ("max_tokens", "temperature", "top_p", "stop", "seed")


def _setting(run: NamedRun, name: str):
    results = run.results
    fields = {"suite": results.suite, "tasks_per_entry": results.tasks_per_entry,
              "rollouts_per_task": results.rollouts_per_task}
    if name in fields:
        return fields[name]
    if name in results.settings:
        return results.settings[name]
    return results.sampling.get(name, _UNRECORDED) if name in _SAMPLING_SETTINGS else _UNRECORDED


_UNRECORDED = object()  # a setting an older results.json did not record


def settings_differences(runs: list[NamedRun]) -> list[str]:
    """One line per setting whose value is not the same in every run, e.g.
    ``max_turns: 4 (#1) vs registered budget (#2, #3)``; empty when the runs agree. Runs are
    grouped by the value itself (temperature ``1`` and ``1.0`` agree), shown as
    :func:`~agentgym.eval.results.setting_text` writes it, or whole (``repr``) where two
    different values would be shown alike (system prompts cut after the same 57 characters)."""
    lines = []
    for name in COMPARED_SETTINGS:
        groups: list[tuple[object, list[str]]] = []  # (value, the runs holding it), in first-seen order
        for index, run in enumerate(runs, start=1):
            value = _setting(run, name)
            group = next((numbers for known, numbers in groups if _same(known, value)), None)
            if group is None:
                groups.append((value, group := []))
            group.append(f"#{index}")
        if len(groups) > 1:
            texts = [_value_text(name, value) for value, _ in groups]
            if len(set(texts)) < len(texts):
                texts = [_value_text(name, value, whole=True) for value, _ in groups]
            lines.append(f"{name}: " + " vs ".join(f"{text} ({', '.join(numbers)})"
                                                   for text, (_, numbers) in zip(texts, groups)))
    return lines


def _same(a: object, b: object) -> bool:
    """Whether two settings' values agree (an unrecorded setting agrees only with another)."""
    if a is _UNRECORDED or b is _UNRECORDED:
        return a is b
    return a == b and (type(a) is type(b) or _is_number(a) and _is_number(b))  # True is no 1


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _value_text(name: str, value: object, *, whole: bool = False) -> str:
    if value is _UNRECORDED:
        return "not recorded"
    return repr(value) if whole and value is not None else setting_text(name, value)


def warnings_for(runs: list[NamedRun]) -> list[str]:
    """Why the runs may not be comparable: settings that differ (one line each, see
    :func:`settings_differences`), runs summarised after they stopped early."""
    notes = [f"settings differ: {line}" for line in settings_differences(runs)]
    for index, run in enumerate(runs, start=1):
        if not run.results.complete:
            expected = run.results.expected_episodes
            notes.append(f"#{index} {run.name} is incomplete: {run.results.overall.episodes} of "
                         f"{'?' if expected is None else expected} episodes (the run was interrupted)")
    return notes


def rich_comparison(runs: list[NamedRun]) -> Table:
    table = Table(title="comparison")
    label_column(table, "environment")
    for position, run in enumerate(runs, start=1):
        for header, _ in _RUN_COLUMNS:
            table.add_column(terminal_cell(f"{_run_title(position, run)}\n{header}"), justify="right")
    rows = comparison_rows(runs)
    for index, (label, metrics) in enumerate(rows):
        if index == len(rows) - 1:
            table.add_section()
        table.add_row(*map(terminal_cell, [label, *(cell for m in metrics for cell in _cells(m))]),
                      style="bold" if index == len(rows) - 1 else None)
    return table


def markdown_comparison(runs: list[NamedRun]) -> str:
    """The comparison as GitHub Markdown; each header cell names its run; the legend and the
    warnings are list items on one line each (a suite's name holds its arguments' values), all
    shown as written (:func:`~agentgym.eval.tables.markdown_text`)."""
    headers = ["environment"] + [f"{_run_title(number, run)}: {header}"
                                 for number, run in enumerate(runs, start=1) for header, _ in _RUN_COLUMNS]
    lines = ["| " + " | ".join(map(markdown_cell, headers)) + " |",
             "|---|" + "---:|" * (len(headers) - 1)]
    rows = comparison_rows(runs)
    for index, (label, metrics) in enumerate(rows):
        cells = [markdown_cell(cell) for cell in [label, *(cell for m in metrics for cell in _cells(m))]]
        if index == len(rows) - 1:
            cells = [f"**{cell}**" for cell in cells]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += [f"- {markdown_text(line)}" for line in run_legend(runs)]
    warnings = warnings_for(runs)
    if warnings:
        lines += ["", "**Not like for like:**", ""] + [f"- {markdown_text(warning)}" for warning in warnings]
    return "\n".join(lines)
