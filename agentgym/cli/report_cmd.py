"""``agentgym report RUN_DIR``: (re)write a run's results and reports from its trajectories.

For a run that was interrupted or crashed (it has ``trajectories.jsonl`` but no
``results.json``), this summarises the episodes it finished; for a finished run it redraws the
reports (after an upgrade, say). Exit status as ``agentgym eval``'s: 1 when every episode
recorded failed with an error, or when no episode was recorded at all.
"""

from __future__ import annotations

import argparse
import sys

from agentgym.cli.eval_cmd import failure_exit_code, print_summary
from agentgym.cli.options import path_argument
from agentgym.eval.evaluate import summarise_run


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "report", help="summarise a run directory (also an interrupted one) from its trajectories",
        description="Rebuild results.json, report.md and report.html of an evaluation run from its "
                    "trajectories.jsonl: the way to summarise a run that was interrupted or crashed "
                    "(its unfinished episodes are left out and the results are marked incomplete).")
    parser.add_argument("run_dir", type=path_argument, metavar="RUN_DIR",
                        help="a run directory written by `agentgym eval`")


def run(args: argparse.Namespace) -> int:
    evaluation = summarise_run(args.run_dir)
    if evaluation.unreadable_lines:
        print(f"note: skipped {len(evaluation.unreadable_lines)} unreadable line(s) of trajectories.jsonl "
              f"{evaluation.unreadable_lines} (cut off or damaged: a run stopped while writing an episode leaves its "
              f"last line so)", file=sys.stderr)
    if not evaluation.trajectories:
        print(f"agentgym report: error: {args.run_dir} holds no finished episode", file=sys.stderr)
        return 1
    print_summary(evaluation)
    return failure_exit_code(evaluation)
