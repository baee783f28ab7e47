"""``agentgym compare RUN_DIR [RUN_DIR ...]``: evaluation runs side by side."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agentgym.cli.options import console as table_console, file_in_the_way, path_argument
from agentgym.core import ConfigError
from agentgym.eval.compare import (
    NamedRun,
    comparison_rows,
    load_runs,
    markdown_comparison,
    rich_comparison,
    run_legend,
    warnings_for,
)
from agentgym.eval.plots import MissingPlottingDependency, comparison_plot
from agentgym.eval.tables import terminal_text


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "compare", help="compare evaluation runs side by side",
        description="One row per environment, columns per run: success with its 95% Wilson interval, "
                    "mean return, mean turns; then the overall row.")
    parser.add_argument("run_dirs", nargs="+", type=path_argument, metavar="RUN_DIR",
                        help="run directories written by `agentgym eval` (they hold results.json; "
                             "summarise an interrupted run first with `agentgym report RUN_DIR`)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--plot", type=path_argument, default=None, metavar="PNG",
                        help="also draw success per environment, a bar per run with its 95%% interval, "
                             "into this PNG file (needs matplotlib: pip install 'agentgym[eval]')")


def run(args: argparse.Namespace) -> int:
    """Print the comparison, then (in both formats) a block naming every setting that differs
    between the runs and every run that stopped early; on the terminal, what the runs recorded
    (suite names, settings, directories) has its control characters escaped."""
    runs = load_runs(args.run_dirs)
    warnings = warnings_for(runs)
    if warnings:
        print(f"warning: the runs are not like for like ({len(warnings)} difference"
              f"{'s' * (len(warnings) > 1)}, listed under the table)", file=sys.stderr)
    if args.plot is not None:
        write_plot(runs, args.plot)
    if args.markdown:
        print(markdown_comparison(runs))
        return 0
    console = table_console()  # piped output (logs, CI): wide, not squeezed to 80 columns
    console.print(rich_comparison(runs))
    for line in run_legend(runs):
        console.print(terminal_text(line), highlight=False, soft_wrap=True, markup=False)
    if warnings:
        console.print("\nnot like for like:", style="bold yellow", highlight=False)
        for warning in warnings:
            console.print(f"  {terminal_text(warning)}", highlight=False, soft_wrap=True, markup=False)
    return 0


def write_plot(runs: list[NamedRun], path: Path) -> None:
    """Draw :func:`~agentgym.eval.plots.comparison_plot` of ``runs`` into ``path`` (its folder is
    made); the runs are named as in the table's legend (``#1 oracle``).

    Raises:
        ConfigError: a file stands where one of ``path``'s folders would be made (checked before
            the plot is drawn), or matplotlib is not installed.
    """
    if (in_the_way := file_in_the_way(path.parent)) is not None:
        raise ConfigError(f"--plot {path}: {in_the_way} is a file, not a folder; give another path for the PNG")
    try:
        png = comparison_plot(comparison_rows(runs), [f"#{n} {run.results.policy}" for n, run in enumerate(runs, 1)])
    except MissingPlottingDependency as exc:
        raise ConfigError(f"--plot: {exc}") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)
    print(f"plot: {path}", file=sys.stderr)
