"""Train the embedded SmolLM2-135M-Instruct on CPU with GRPO and with IGPO, and measure it.

Both runs start from the same weights and play Guess the Number (easy, 1..20) with the same
settings (examples/grpo_guess_the_number.toml, the algorithm swapped for IGPO: information-gain
turn rewards on the hidden number plus the outcome). Success is measured on held-out seeds —
never used for training — before training and every few steps, sampled at temperature 1 with
the same sampling seeds each time (``--eval-temperature 0`` for greedy: the untrained model
repeats one guess greedily and scores 0%, which says little); the learning curves of both runs
are plotted side by side.

Each algorithm's result is written to ``train_smollm2-<algorithm>.json`` as soon as its run
ends, and the table and plot are rebuilt from every such file present, so the two runs can go
in two processes at once (one torch thread each on a small machine):

    python benchmarks/train_smollm2.py [--steps 10] [--eval-every 5] [--eval-tasks 16] [--lr 2e-5]
    python benchmarks/train_smollm2.py --algorithms grpo --threads 1 &
    python benchmarks/train_smollm2.py --algorithms igpo --threads 1
    python benchmarks/train_smollm2.py --report     # the table and plot again, from the results
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
        "eval": {"every": args.eval_every, "tasks": args.eval_tasks, "temperature": args.eval_temperature,
                 "samples": args.eval_samples},
        "checkpoint": {"every": args.steps},
    })
    start = time.perf_counter()
    history = Trainer(config).train()
    evals = [(r["step"], r["eval/success"]) for r in history if "eval/success" in r]
    return {"algorithm": algorithm, "steps": args.steps, "lr": args.lr, "seconds": time.perf_counter() - start,
            "threads": torch.get_num_threads(), "eval_temperature": args.eval_temperature,
            "eval_episodes": history[0].get("eval/episodes"),
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
    temperature = results[0]["eval_temperature"]
    decoding = f"sampled, T={temperature:g}" if temperature else "greedy"
    held_out.set(title=f"held-out success ({decoding})", xlabel="step", ylabel="success rate", ylim=(-0.02, 1.02))
    train.set(title="training rollouts' success (sampled)", xlabel="step", ylim=(-0.02, 1.02))
    for axis in (held_out, train):
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def table(results: list[dict[str, Any]]) -> str:
    from agentgym.eval.metrics import wilson_interval

    episodes = int(results[0]["eval_episodes"])

    def rate(success: float) -> str:
        low, high = wilson_interval(round(success * episodes), episodes)
        return f"{success:.0%} [{low:.0%}–{high:.0%}]"

    temperature = results[0]["eval_temperature"]
    decoding = f"sampled at T={temperature:g}" if temperature else "greedy"
    return "\n".join([
        f"### SmolLM2-135M on Guess the Number (easy), CPU, {results[0]['steps']} steps, lr {results[0]['lr']:g}", "",
        f"Held-out success: {episodes} episodes on unseen seeds, {decoding}, the same sampling seeds at every "
        "evaluation; 95% Wilson intervals in brackets. Training success: the step's 32 sampled rollouts.", "",
        "| algorithm | held-out success before | after | held-out curve | training success, first step | last step "
        "| wall time | torch threads |", "|---|---:|---:|---|---:|---:|---:|---:|",
        *(f"| {r['algorithm'].upper()} | {rate(r['success_before'])} | {rate(r['success_after'])} | "
          + " → ".join(f"{v:.0%}" for _, v in r["eval_curve"])
          + f" | {r['train_success'][0][1]:.0%} | {r['train_success'][-1][1]:.0%} | {r['seconds'] / 60:.0f} min "
          f"| {r['threads']} |" for r in results)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--eval-every", type=int, default=5)
    parser.add_argument("--eval-tasks", type=int, default=16)
    parser.add_argument("--eval-samples", type=int, default=2, help="episodes per held-out seed (sampled only)")
    parser.add_argument("--eval-temperature", type=float, default=1.0, help="0: greedy")
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--algorithms", nargs="+", default=list(ALGORITHMS), choices=list(ALGORITHMS))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--report", action="store_true", help="train nothing: rebuild the table and plot from "
                        "the results already written")
    args = parser.parse_args()
    if args.eval_temperature == 0:
        args.eval_samples = 1
    if args.threads:
        torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    for algorithm in [] if args.report else args.algorithms:
        print(f"training with {algorithm}...", file=sys.stderr)
        result = run(algorithm, args)
        (args.out / f"train_smollm2-{algorithm}.json").write_text(json.dumps(result, indent=2))
    results = [json.loads(path.read_text()) for name in ALGORITHMS
               if (path := args.out / f"train_smollm2-{name}.json").is_file()]
    if not results:
        parser.error(f"no train_smollm2-<algorithm>.json in {args.out}: train first")
    plot(results, args.out / "train_smollm2.png")
    text = table(results)
    print(text)
    (args.out / "train_smollm2.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
