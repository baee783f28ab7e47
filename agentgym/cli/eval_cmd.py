"""``agentgym eval --suite S --policy P``: play an agent on a suite and print the results."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console

from agentgym.eval import evaluate, results_table
from agentgym.policies import AGENT_SPECS, make_agent
from agentgym.suites import get_suite


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("eval", help="evaluate a policy on a suite of environments")
    parser.add_argument("--suite", default="quick-v0", help="suite name (`agentgym list --suites`)")
    parser.add_argument("--policy", default="random",
                        help="; ".join(f"{k}: {v}" for k, v in AGENT_SPECS.items()))
    parser.add_argument("--tasks", type=int, default=None, help="only the first N seeds of each entry")
    parser.add_argument("--json", type=Path, default=None, help="also write the summary rows as JSON")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run(args: argparse.Namespace) -> int:
    suite = get_suite(args.suite)
    agent = make_agent(args.policy)
    results = evaluate(suite, agent, tasks=args.tasks, progress=not args.no_progress)
    Console().print(results_table(results, title=f"{args.policy} on {suite.name}"))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(
            {"suite": suite.name, "policy": args.policy, "results": [r.summary() for r in results]},
            indent=2))
    return 0
