"""Asynchronous off-policy training against the synchronous trainer: wall time per 100 trajectories.

The same run both ways -- a tiny random Llama over a word-level vocabulary learning FindTheWord
(the world of ``tests/train/word_world.py``: name the hidden one of three words within three
turns), GRPO, the same seed, configuration and starting weights -- once with the synchronous
trainer and once with ``[async_training] enabled = true`` (rollouts on their own thread, one
step ahead of the updates, ``max_staleness = 1``). ``--steps x --tasks x --group`` trajectories
per run (at least 100). Rounds alternate which side goes first; a short warm-up run of each side
comes before. Per side: the median wall time of ``Trainer.train()`` per 100 trajectories, the
CPU time of the process (all threads) per 100 trajectories, the mean rollout and update seconds
of a step, and the sampled success of the last steps (both
sides learn the same task; async runs are not bitwise reproducible, so the figures differ).

    python benchmarks/bench_async_training.py [--steps 8] [--tasks 4] [--group 8] [--hidden 128]
                                              [--layers 2] [--max-tokens 4] [--env-latency 0]
                                              [--rounds 3] [--threads 1]

``--env-latency S`` makes every environment step take ``S`` seconds more (a sleep in the
world's ``play``, as a web page load or a tool call would): the agent-scale case, where the
rollout waits on environments and the learner can use that time. Without it both sides compete
for the same compute: the overlap can only pay where they find compute to share (on a CPU,
spare cores -- each side runs torch with ``--threads`` threads; on a GPU, the rollout's small
decode kernels beside the update's), and the asynchronous learner does one more forward pass
per step (the proximal log-probs of the decoupled objective). Prints a Markdown table and writes
``bench_async_training.json`` (settings, every round, medians, the ratio) to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from bench_cli import ShowDefaults, machine, non_negative_float, output_folder, positive_int

REPOSITORY = Path(__file__).resolve().parents[1]
if str(REPOSITORY) not in sys.path:  # the tests folder holds the tiny world and its tokenizer
    sys.path.insert(0, str(REPOSITORY))

from agentgym.train.config import TrainConfig, merge  # noqa: E402
from agentgym.train.trainer import Trainer  # noqa: E402
from tests.train.word_world import ENV_ID, MAX_TURNS, FindTheWord, register, tiny_model, word_tokenizer  # noqa: E402

SLOW_ENV_ID = "benchworld/SlowFindTheWord-v0"


class SlowFindTheWord(FindTheWord):
    """FindTheWord whose steps take ``latency`` seconds more (waiting, as on a remote service)."""

    def __init__(self, latency: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.latency = latency

    def play(self, action: str) -> Any:
        time.sleep(self.latency)
        return super().play(action)


def configuration(out_dir: str, args: argparse.Namespace, *, asynchronous: bool, steps: int) -> TrainConfig:
    data = {
        "run": {"steps": steps, "seed": 0, "out_dir": out_dir, "device": "cpu"},
        "env": {"id": SLOW_ENV_ID if args.env_latency else ENV_ID, "tasks_per_step": args.tasks,
                "train_seeds": [0, 10_000], "kwargs": {"latency": args.env_latency} if args.env_latency else {}},
        "rollout": {"group_size": args.group, "max_tokens": args.max_tokens, "temperature": 1.0,
                    "system_prompt": ""},
        "algorithm": {"name": "grpo"},
        "optimizer": {"lr": 3e-3},
        "batching": {"mini_batches": 2},
        "checkpoint": {"every": 0, "save_final": False},
        "logging": {"console": False, "jsonl": False, "plot": False},
        "async_training": {"enabled": asynchronous, "max_staleness": 1},
    }
    return TrainConfig.from_dict(merge(data, {}))


def run_side(args: argparse.Namespace, *, asynchronous: bool, steps: int) -> dict[str, Any]:
    model = tiny_model(1, hidden_size=args.hidden, layers=args.layers, initializer_range=0.2)
    with tempfile.TemporaryDirectory() as out_dir:
        trainer = Trainer(configuration(out_dir, args, asynchronous=asynchronous, steps=steps), model=model,
                          tokenizer=word_tokenizer())
        start, cpu_start = time.perf_counter(), time.process_time()
        history = trainer.train()
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    trajectories = sum(record["rollout/episodes"] for record in history)
    last = history[-3:]
    return {
        "seconds": seconds,
        "trajectories": trajectories,
        "per_100": seconds / trajectories * 100,
        "cpu_per_100": cpu_seconds / trajectories * 100,
        "rollout_seconds": statistics.mean(r["time/rollout_seconds"] for r in history),
        "update_seconds": statistics.mean(r.get("time/update_seconds", 0.0) for r in history),
        "success_last3": statistics.mean(r["success/train"] for r in last),
        "turns": statistics.mean(r["rollout/turns"] for r in history),
        "lag_max": max((r.get("async/lag_max", 0.0) for r in history), default=0.0),
        "stale_dropped": sum(r.get("async/stale_dropped", 0.0) for r in history),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=ShowDefaults)
    parser.add_argument("--steps", type=positive_int, default=8)
    parser.add_argument("--tasks", type=positive_int, default=4, help="tasks per step")
    parser.add_argument("--group", type=positive_int, default=8, help="rollouts per task")
    parser.add_argument("--hidden", type=positive_int, default=128, help="the tiny model's hidden size")
    parser.add_argument("--layers", type=positive_int, default=2)
    parser.add_argument("--max-tokens", type=positive_int, default=4, help="tokens per turn")
    parser.add_argument("--env-latency", type=non_negative_float, default=0.0,
                        help="seconds added to every environment step")
    parser.add_argument("--rounds", type=positive_int, default=3)
    parser.add_argument("--threads", type=positive_int, default=1,
                        help="torch threads (each side's threads share them)")
    parser.add_argument("--out", type=output_folder, default=Path(__file__).parent / "results",
                        help="folder of the JSON report (bench_async_training.json)")
    args = parser.parse_args(argv)
    if args.steps * args.tasks * args.group < 100:
        parser.error("a run must hold at least 100 trajectories (--steps x --tasks x --group)")
    torch.set_num_threads(args.threads)
    register()
    import agentgym

    agentgym.register(SLOW_ENV_ID, SlowFindTheWord, max_turns=MAX_TURNS, description="FindTheWord, slow steps")
    sides = {"sync": False, "async": True}
    for name, asynchronous in sides.items():  # warm-up: imports, allocator, first-call costs
        run_side(args, asynchronous=asynchronous, steps=2)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in sides}
    for round_index in range(args.rounds):
        order = list(sides) if round_index % 2 == 0 else list(reversed(sides))
        for name in order:
            runs[name].append(run_side(args, asynchronous=sides[name], steps=args.steps))
            print(f"round {round_index + 1} {name}: {runs[name][-1]['per_100']:.2f} s / 100 trajectories",
                  file=sys.stderr)
    median = {name: {key: statistics.median(r[key] for r in runs[name]) for key in runs[name][0]} for name in sides}
    ratio = median["sync"]["per_100"] / median["async"]["per_100"]
    print(f"Asynchronous vs synchronous training, FindTheWord, tiny Llama (hidden {args.hidden}, "
          f"{args.layers} layers), environment latency {args.env_latency:g} s per step, "
          f"{int(median['sync']['trajectories'])} trajectories per run "
          f"({args.steps} steps x {args.tasks} tasks x {args.group}), {args.max_tokens} tokens per turn, "
          f"torch threads {args.threads}, {platform.processor() or platform.machine()}, "
          f"medians of {args.rounds} alternating rounds\n")
    print("| trainer | s / 100 trajectories | each round | CPU s / 100 trajectories | rollout s / step "
          "| update s / step | turns / episode | success (last 3 steps) | max lag | stale dropped |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in sides:
        m = median[name]
        rounds = ", ".join(f"{r['per_100']:.2f}" for r in runs[name])
        print(f"| {name} | {m['per_100']:.2f} | {rounds} | {m['cpu_per_100']:.2f} | {m['rollout_seconds']:.2f} "
              f"| {m['update_seconds']:.2f} | {m['turns']:.2f} "
              f"| {m['success_last3']:.2f} | {m['lag_max']:.0f} | {m['stale_dropped']:.0f} |")
    print(f"\nasync speed-up (sync time / async time per 100 trajectories): **{ratio:.2f}x**")
    report = {"machine": machine(), "settings": {key: value for key, value in vars(args).items() if key != "out"},
              "median": median, "runs": runs, "ratio": ratio}
    (args.out / "bench_async_training.json").write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out / 'bench_async_training.json'}", file=sys.stderr)
    return report


if __name__ == "__main__":
    main()
