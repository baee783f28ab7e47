"""Tables of evaluation results for the terminal and for Markdown."""

from __future__ import annotations

from rich.table import Table

from agentgym.eval.runner import EnvResult


def results_table(results: list[EnvResult], title: str = "") -> Table:
    """A rich table: one row per environment plus an overall row."""
    table = Table(title=title or None)
    for column, justify in (("environment", "left"), ("episodes", "right"), ("success", "right"),
                            ("mean return", "right"), ("mean turns", "right"), ("invalid", "right")):
        table.add_column(column, justify=justify)
    for r in results:
        table.add_row(r.label, str(len(r.episodes)), f"{r.success_rate:.0%}", f"{r.mean_return:.2f}",
                      f"{r.mean_turns:.1f}", f"{r.invalid_rate:.0%}")
    if len(results) > 1:
        episodes = [e for r in results for e in r.episodes]
        turns = sum(e.turns for e in episodes)
        table.add_section()
        table.add_row(
            "[bold]all", str(len(episodes)),
            f"{sum(e.success for e in episodes) / len(episodes):.0%}",
            f"{sum(e.total_return for e in episodes) / len(episodes):.2f}",
            f"{turns / len(episodes):.1f}",
            f"{sum(e.invalid_actions for e in episodes) / turns:.0%}" if turns else "0%",
        )
    return table


def markdown_table(results: list[EnvResult]) -> str:
    """The same table as GitHub Markdown."""
    lines = ["| environment | episodes | success | mean return | mean turns | invalid |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r.label} | {len(r.episodes)} | {r.success_rate:.0%} | {r.mean_return:.2f} "
                     f"| {r.mean_turns:.1f} | {r.invalid_rate:.0%} |")
    return "\n".join(lines)
