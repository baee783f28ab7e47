"""``agentgym compare RUN_DIR [RUN_DIR ...]``: evaluation runs side by side."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agentgym.cli.options import console as table_console
from agentgym.eval.compare import load_runs, markdown_comparison, rich_comparison, run_legend, warnings_for


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "compare", help="compare evaluation runs side by side",
        description="One row per environment, columns per run: success with its 95% Wilson interval, "
                    "mean return, mean turns; then the overall row.")
    parser.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR",
                        help="run directories written by `agentgym eval` (they hold results.json; "
                             "summarise an interrupted run first with `agentgym report RUN_DIR`)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")


def run(args: argparse.Namespace) -> int:
    """Print the comparison, then (in both formats) a block naming every setting that differs
    between the runs and every run that stopped early."""
    runs = load_runs(args.run_dirs)
    warnings = warnings_for(runs)
    if warnings:
        print(f"warning: the runs are not like for like ({len(warnings)} difference"
              f"{'s' * (len(warnings) > 1)}, listed under the table)", file=sys.stderr)
    if args.markdown:
        print(markdown_comparison(runs))
        return 0
    console = table_console()  # piped output (logs, CI): wide, not squeezed to 80 columns
    console.print(rich_comparison(runs))
    for line in run_legend(runs):
        console.print(line, highlight=False, soft_wrap=True, markup=False)
    if warnings:
        console.print("\nnot like for like:", style="bold yellow", highlight=False)
        for warning in warnings:
            console.print(f"  {warning}", highlight=False, soft_wrap=True, markup=False)
    return 0
