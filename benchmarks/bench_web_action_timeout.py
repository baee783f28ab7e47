"""What a browser environment's ``action_timeout`` costs and what it buys, on MiniWoB++.

Playwright spends an action's timeout waiting for its element to become actionable (uncovered,
still, enabled, inside the page), so an action on an element that never does -- the usual
mistake of an untrained agent -- costs the whole timeout, and every other page of the same
browser waits with it (one thread runs all of a browser's Playwright calls). A short timeout makes
those mistakes cheap; too short a one would fail clicks that only needed a moment (an
animation, a loaded machine). Both sides are measured in one run, with agentgym's evaluator
(the path of ``agentgym eval``), for each ``--timeouts`` value:

1. **random** (``random:0``) on every ``web/miniwob.click-*`` task (``--seeds`` seeds each): wall
   time (its ratio to the first timeout's, the baseline: 5 s, the default before 2026-12-06),
   success, invalid actions, and how many actions ran out of time.
2. **oracle** on ``web-miniwob-oracle-v0`` (every scripted oracle, ``--oracle-seeds`` seeds): its
   success must stay 100% -- legitimate actions must never run out of time.

    python benchmarks/bench_web_action_timeout.py [--timeouts 5 2 1 0.5] [--seeds 2]
        [--oracle-seeds 1] [--concurrency 32] [--out benchmarks/results]
    python benchmarks/bench_web_action_timeout.py --quick   # a smoke run: two tasks each, 2 s and 0.5 s, 3 turns

Writes ``bench_web_action_timeout.{json,md}`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import agentgym
import agentgym.envs.web.miniwob  # noqa: F401  (registers web/miniwob.* and its suites)
from agentgym.eval import evaluate
from agentgym.rollout import RolloutConfig
from agentgym.suites import Suite, SuiteEntry, get_suite
from bench_cli import ShowDefaults, cpus_and_load, output_folder, positive_float, positive_int

TIMED_OUT = "did not finish within"
#: ``--quick``: the random agent's tasks (one has elements that never become clickable) and the oracles'.
QUICK_RANDOM = ("web/miniwob.click-pie-v0", "web/miniwob.click-test-v0")
QUICK_ORACLE = ("web/miniwob.click-test-v0", "web/miniwob.enter-text-v0")


def with_timeout(suite: Suite, seconds: float, seeds: int) -> Suite:
    """``suite``'s entries on their first ``seeds`` seeds, each built with ``action_timeout``."""
    return Suite(f"{suite.name}@{seconds:g}s", tuple(
        SuiteEntry(e.env_id, e.seeds[:seeds], {**e.kwargs, "action_timeout": seconds}) for e in suite.entries))


def run(policy: str, suite: Suite, timeout: float, config: RolloutConfig) -> dict[str, Any]:
    start = time.perf_counter()
    evaluation = evaluate(policy, suite, config=config, progress=False)
    seconds = time.perf_counter() - start
    overall = evaluation.results.overall
    trajectories = sorted(evaluation.trajectories, key=lambda t: (t.env_id or "", t.seed))
    turn_errors = [turn.error or "" for t in trajectories for turn in t.turns]
    return {"policy": policy, "action_timeout": timeout, "episodes": overall.episodes, "seconds": seconds,
            "success_rate": overall.success_rate, "invalid_rate": overall.invalid_rate or 0.0,
            "errors": overall.errors, "actions": len(turn_errors),
            "timed_out_actions": sum(TIMED_OUT in error for error in turn_errors),
            "outcomes": {f"{t.env_id}[{t.seed}]": bool(t.success) for t in trajectories}}


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| policy | action_timeout | episodes | seconds | speed x first | success | same outcomes as first | "
             "invalid | actions timed out | errors |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(f"| {row['policy']} | {row['action_timeout']:g} s | {row['episodes']} | {row['seconds']:.1f} | "
                     f"{row['speed_ratio']:.2f}x | {row['success_rate']:.1%} | {row['same_outcomes']} | "
                     f"{row['invalid_rate']:.0%} | {row['timed_out_actions']} of {row['actions']} | {row['errors']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=ShowDefaults)
    parser.add_argument("--timeouts", type=positive_float, nargs="+", default=[5.0, 2.0, 1.0, 0.5],
                        help="action_timeout values; the first is the baseline of the speed ratios")
    parser.add_argument("--seeds", type=positive_int, default=2, help="seeds per click-* task for the random agent")
    parser.add_argument("--oracle-seeds", type=positive_int, default=1,
                        help="seeds per task for the oracles (at most 3)")
    parser.add_argument("--concurrency", type=positive_int, default=RolloutConfig().max_concurrent_episodes)
    parser.add_argument("--quick", action="store_true", help="a smoke run: two tasks each, 2 s and 0.5 s, one seed, three turns")
    parser.add_argument("--out", type=output_folder, default=Path(__file__).parent / "results")
    args = parser.parse_args()

    config = RolloutConfig(max_concurrent_episodes=args.concurrency, step_timeout=120.0,
                           max_turns=3 if args.quick else None)
    if args.quick:
        args.timeouts, args.seeds, args.oracle_seeds = [2.0, 0.5], 1, 1
        clicks = agentgym.env_suite(QUICK_RANDOM, range(1))
        oracles = agentgym.env_suite(QUICK_ORACLE, range(1))
    else:
        clicks = agentgym.env_suite(["web/miniwob.click-*"], range(args.seeds))
        oracles = get_suite("web-miniwob-oracle-v0")
    rows = []
    for policy, suite, seeds in (("random:0", clicks, args.seeds), ("oracle", oracles, args.oracle_seeds)):
        first = None
        for timeout in args.timeouts:
            row = run(policy, with_timeout(suite, timeout, seeds), timeout, config)
            first = first or row
            row["speed_ratio"] = first["seconds"] / row["seconds"]
            same = sum(row["outcomes"][k] == first["outcomes"].get(k) for k in row["outcomes"])
            row["same_outcomes"] = f"{same} of {len(row['outcomes'])}"
            rows.append(row)
            print(f"{policy} action_timeout={timeout:g}: {row['seconds']:.1f} s, success {row['success_rate']:.1%}, "
                  f"{row['timed_out_actions']} actions timed out", file=sys.stderr)

    text = table(rows)
    print(text)
    report = {"machine": platform.platform(), "python": platform.python_version(), **cpus_and_load(),
              "timeouts": args.timeouts, "seeds": args.seeds, "oracle_seeds": args.oracle_seeds,
              "concurrency": args.concurrency, "quick": args.quick, "runs": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_web_action_timeout.json").write_text(json.dumps(report, indent=2))
    (args.out / "bench_web_action_timeout.md").write_text(text + "\n")
    print(f"wrote {args.out / 'bench_web_action_timeout.json'} and bench_web_action_timeout.md", file=sys.stderr)


if __name__ == "__main__":
    main()
