"""``agentgym compare RUN_DIR [RUN_DIR ...]``: evaluation runs side by side."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from agentgym.eval.compare import load_runs, markdown_comparison, rich_comparison, run_legend, warnings_for


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "compare", help="compare evaluation runs side by side",
        description="One row per environment, columns per run: success with its 95% Wilson interval, "
                    "mean return, mean turns; then the overall row.")
    parser.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR",
                        help="run directories written by `agentgym eval` (they hold results.json)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")


def run(args: argparse.Namespace) -> int:
    runs = load_runs(args.run_dirs)
    for warning in warnings_for(runs):
        print(f"warning: {warning}", file=sys.stderr)
    if args.markdown:
        print(markdown_comparison(runs))
        return 0
    console = Console() if sys.stdout.isatty() else Console(width=200)
    console.print(rich_comparison(runs))
    for line in run_legend(runs):
        console.print(line, highlight=False, soft_wrap=True, markup=False)
    return 0
