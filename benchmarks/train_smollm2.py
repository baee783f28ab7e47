"""Train the embedded SmolLM2-135M-Instruct on CPU with GRPO and with IGPO, and measure it.

Both runs start from the same weights and play Guess the Number (easy, 1..20) with the same
settings (examples/grpo_guess_the_number.toml, the algorithm swapped for IGPO: information-gain
turn rewards on the hidden number plus the outcome). Success is measured greedily on held-out
seeds — never used for training — before training and every few steps; the learning curves
of both runs are plotted side by side.

    python benchmarks/train_smollm2.py [--steps 12] [--eval-every 4] [--eval-tasks 16] [--lr 1e-5]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
ALGORITHMS = {"grpo": {"name": "grpo"},
              "igpo": {"name": "igpo", "ig_mode": "prob_diff", "ig_normalization": "separate", "outcome": "success"}}


def run(algorithm: str, args: argparse.Namespace) -> dict[str, Any]:
    from agentgym.train import Trainer, load_config

    out = args.out / f"smollm2-{algorithm}"
    config = load_config(ROOT / "examples" / "grpo_guess_the_number.toml", overrides={
        "run": {"name": f"smollm2-{algorithm}", "out_dir": str(out), "steps": args.steps, "seed": 0},
        "algorithm": ALGORITHMS[algorithm],
        "optimizer": {"lr": args.lr},
        "filters": {"zero_variance": "keep" if algorithm == "igpo" else "drop"},
        "eval": {"every": args.eval_every, "tasks": args.eval_tasks},
        "checkpoint": {"every": args.steps},
    })
    start = time.perf_counter()
    history = Trainer(config).train()
    evals = [(r["step"], r["eval/success"]) for r in history if "eval/success" in r]
    return {"algorithm": algorithm, "steps": args.steps, "seconds": time.perf_counter() - start,
            "success_before": evals[0][1], "success_after": evals[-1][1], "eval_curve": evals,
            "train_success": [(r["step"], r["success/train"]) for r in history if "success/train" in r],
            "out_dir": str(out)}


def plot(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 3.5))
    held_out, train = figure.subplots(1, 2)
    for result in results:
        steps, success = zip(*result["eval_curve"])
        held_out.plot(steps, success, marker="o", label=result["algorithm"].upper())
        points = [(s, v) for s, v in result["train_success"] if v is not None]
        if points:
            train.plot(*zip(*points), label=result["algorithm"].upper())
    held_out.set(title="held-out success (greedy)", xlabel="step", ylabel="success rate", ylim=(-0.02, 1.02))
    train.set(title="training rollouts' success (sampled)", xlabel="step", ylim=(-0.02, 1.02))
    for axis in (held_out, train):
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--eval-every", type=int, default=4)
    parser.add_argument("--eval-tasks", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-5)
    parser.add_argument("--algorithms", nargs="+", default=list(ALGORITHMS), choices=list(ALGORITHMS))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()
    results = []
    for algorithm in args.algorithms:
        print(f"training with {algorithm}...", file=sys.stderr)
        results.append(run(algorithm, args))
    args.out.mkdir(parents=True, exist_ok=True)
    plot(results, args.out / "train_smollm2.png")
    table = "\n".join([
        f"### SmolLM2-135M on Guess the Number (easy), CPU, {args.steps} steps, lr {args.lr:g}", "",
        "| algorithm | held-out success before | after | wall time | torch threads |", "|---|---:|---:|---:|---:|",
        *(f"| {r['algorithm'].upper()} | {r['success_before']:.0%} | {r['success_after']:.0%} | "
          f"{r['seconds'] / 60:.0f} min | {torch.get_num_threads()} |" for r in results)])
    print(table)
    (args.out / "train_smollm2.json").write_text(json.dumps(results, indent=2))
    (args.out / "train_smollm2.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
