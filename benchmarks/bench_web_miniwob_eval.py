"""How baselines do on MiniWoB++ (``web/miniwob.*``), measured with agentgym's evaluator.

Three policies, each through :func:`agentgym.eval.evaluate` (the same path as ``agentgym eval``):

1. **random** (``random:0``): ``MiniWoBEnv.random_action`` -- clicks on the page's interactive
   elements, some typing, keys, scrolls, clicks at random points -- on suite ``web-miniwob-v0``
   (every included task, seeds 0-2), each task's registered turn budget (10 / 20 / 30 by
   difficulty).
2. **oracle**: the scripted oracles on ``web-miniwob-oracle-v0`` (their tasks, seeds 0-2).
3. **the embedded model** (SmolLM2-135M-Instruct, greedy), unless ``--no-model``: on a small
   subset of easy tasks (``--model-tasks``, ``--model-seeds`` seeds each, ``--model-turns``
   turns), the observation text as the user message and the environment's instructions as the
   system prompt. ``--model-tasks rest`` plays every task of ``web-miniwob-v0`` that has no
   scripted oracle, ``--model-tasks all`` every task; ``--only-model`` skips random and oracle.

Reported per policy: success rate (a positive raw reward, MiniWoB++'s convention; the outcome
reward is 1/0), its 95% Wilson interval, mean turns, invalid-action rate, errors, wall time;
per difficulty for the random agent, per task for every policy.

    python benchmarks/bench_web_miniwob_eval.py [--seeds 3] [--concurrency 4] [--no-model]
        [--model-tasks click-test click-button ...] [--model-seeds 2] [--model-turns 4]
        [--out benchmarks/results]
    python benchmarks/bench_web_miniwob_eval.py --quick     # a smoke run: 3 tasks, 1 seed, no model

``AGENTGYM_BROWSERS`` sets the browsers of the shared pool (default ``min(4, cpus)``).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import agentgym.envs.web.miniwob  # noqa: F401  (registers web/miniwob.* and its suites)
from agentgym.eval import evaluate
from agentgym.eval.metrics import summarize
from agentgym.envs.web.miniwob.tasks import task
from agentgym.policies.base import SamplingParams
from agentgym.policies.specs import EMBEDDED_SPEC
from agentgym.rollout import RolloutConfig
from agentgym.suites import Suite, SuiteEntry, get_suite
from bench_cli import ShowDefaults, cpus_and_load, output_folder, positive_int

#: Easy tasks the embedded model plays by default: one or two actions on a named element.
MODEL_TASKS = ("click-test", "click-button", "click-link", "click-dialog", "click-tab", "focus-text",
               "enter-text", "click-option")
QUICK_TASKS = ("click-test", "enter-text", "click-checkboxes")


def task_name(env_id: str) -> str:
    return env_id.removeprefix("web/miniwob.").removesuffix("-v0")


def subset(name: str, base: Suite, seeds: int) -> Suite:
    """``base`` with each entry's first ``seeds`` seeds (a Suite object: not registered)."""
    return Suite(name, tuple(SuiteEntry(e.env_id, e.seeds[:seeds], e.kwargs) for e in base.entries), base.description)


def tasks_suite(name: str, tasks: tuple[str, ...], seeds: int) -> Suite:
    return Suite(name, tuple(SuiteEntry(task(t).env_id, tuple(range(seeds))) for t in tasks))


def model_tasks(names: list[str]) -> tuple[str, ...]:
    """The tasks ``--model-tasks`` names: ``rest`` (every task without a scripted oracle),
    ``all``, or task names."""
    if names in (["rest"], ["all"]):
        every = [task_name(e.env_id) for e in get_suite("web-miniwob-v0").entries]
        with_oracle = {task_name(e.env_id) for e in get_suite("web-miniwob-oracle-v0").entries}
        return tuple(t for t in every if names == ["all"] or t not in with_oracle)
    return tuple(names)


def run(policy: str, suite: Suite, config: RolloutConfig) -> dict[str, Any]:
    start = time.perf_counter()
    evaluation = evaluate(policy, suite, config=config, progress=False)
    seconds = time.perf_counter() - start
    trajectories = evaluation.trajectories
    overall = evaluation.results.overall
    by_task: dict[str, list] = defaultdict(list)
    by_level: dict[str, list] = defaultdict(list)
    for t in trajectories:
        name = task_name(t.env_id or "")
        by_task[name].append(t)
        by_level[task(name).difficulty].append(t)
    raw = [t.turns[-1].info.get("raw_reward") for t in trajectories if t.turns and t.terminated]
    errors = [f"{task_name(t.env_id or '')}[{t.seed}]: {t.error}" for t in trajectories if t.error]
    return {
        "policy": policy, "suite": suite.name, "episodes": overall.episodes, "tasks": len(by_task),
        "success_rate": overall.success_rate, "success_ci": list(overall.success_ci),
        "mean_turns": overall.mean_turns, "invalid_rate": overall.invalid_rate, "errors": overall.errors,
        "error_examples": errors[:5], "seconds": seconds,
        "ended_by_page": len(raw), "partial_credit_successes": sum(1 for r in raw if r is not None and 0 < r < 1),
        "by_difficulty": {level: summarize(ts, level).success_rate for level, ts in sorted(by_level.items())},
        "by_task": {name: {"success_rate": summarize(ts, name).success_rate, "episodes": len(ts),
                           "mean_turns": summarize(ts, name).mean_turns}
                    for name, ts in sorted(by_task.items())},
    }


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| policy | suite | tasks | episodes | success | 95% CI | easy | medium | hard | turns | invalid | "
             "errors | seconds |",
             "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        level = {k: (f"{v:.0%}" if v is not None else "-") for k, v in row["by_difficulty"].items()}
        low, high = row["success_ci"]
        lines.append(f"| {row['policy']} | {row['suite']} | {row['tasks']} | {row['episodes']} | "
                     f"{row['success_rate']:.1%} | {low:.0%}-{high:.0%} | {level.get('easy', '-')} | "
                     f"{level.get('medium', '-')} | {level.get('hard', '-')} | {row['mean_turns']:.1f} | "
                     f"{(row['invalid_rate'] or 0):.0%} | {row['errors']} | {row['seconds']:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=ShowDefaults)
    parser.add_argument("--seeds", type=positive_int, default=3,
                        help="seeds per task for random and oracle (at most 3)")
    parser.add_argument("--concurrency", type=positive_int, default=4, help="episodes in flight at once")
    parser.add_argument("--no-model", action="store_true", help="skip the embedded model")
    parser.add_argument("--model-tasks", nargs="+", default=list(MODEL_TASKS))
    parser.add_argument("--model-seeds", type=positive_int, default=2)
    parser.add_argument("--model-turns", type=positive_int, default=4)
    parser.add_argument("--max-tokens", type=positive_int, default=48)
    parser.add_argument("--only-model", action="store_true", help="skip the random and oracle runs")
    parser.add_argument("--quick", action="store_true", help="a smoke run: three tasks, one seed, no model")
    parser.add_argument("--out", type=output_folder, default=Path(__file__).parent / "results")
    args = parser.parse_args()

    config = RolloutConfig(max_concurrent_episodes=args.concurrency, step_timeout=120.0)
    if args.quick:
        suites = {"random:0": tasks_suite("miniwob-quick", QUICK_TASKS, 1),
                  "oracle": tasks_suite("miniwob-quick", QUICK_TASKS, 1)}
        args.no_model = True
    else:
        suites = {"random:0": subset("web-miniwob-v0", get_suite("web-miniwob-v0"), args.seeds),
                  "oracle": subset("web-miniwob-oracle-v0", get_suite("web-miniwob-oracle-v0"), args.seeds)}
    rows = [] if args.only_model else [run(policy, suite, config) for policy, suite in suites.items()]
    if not args.no_model:
        model_config = RolloutConfig(max_concurrent_episodes=args.concurrency, step_timeout=300.0,
                                     max_turns=args.model_turns,
                                     sampling=SamplingParams(max_tokens=args.max_tokens, temperature=0.0, seed=0))
        suite = tasks_suite(f"miniwob-model-{args.model_tasks[0] if args.model_tasks[0] in ('rest', 'all') else 'easy'}",
                            model_tasks(args.model_tasks), args.model_seeds)
        rows.append(run(EMBEDDED_SPEC, suite, model_config))

    report = {"machine": platform.platform(), "python": platform.python_version(), **cpus_and_load(),
              "seeds": args.seeds, "quick": args.quick, "runs": rows}
    text = table(rows)
    print(text)
    for row in rows:
        solved = [name for name, r in row["by_task"].items() if r["success_rate"]]
        print(f"\n{row['policy']}: solved at least once: {len(solved)} of {row['tasks']} tasks; "
              f"{row['partial_credit_successes']} successes on partial credit; errors: {row['error_examples']}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_web_miniwob_eval.json").write_text(json.dumps(report, indent=2))
    (args.out / "bench_web_miniwob_eval.md").write_text(text + "\n")
    print(f"\nwrote {args.out / 'bench_web_miniwob_eval.json'} and bench_web_miniwob_eval.md", file=sys.stderr)


if __name__ == "__main__":
    main()
