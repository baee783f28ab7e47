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
from bench_cli import ShowDefaults, output_folder

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


CONFIRM_OFFSET = 10_000  # the confirmation's seeds start here past eval.first_seed: unseen by the curves too


def confirm(algorithm: str, args: argparse.Namespace) -> dict[str, Any]:
    """A larger evaluation on fresh held-out seeds (disjoint from training's and from the
    curves'): the initial weights and the run's final checkpoint, same seeds, same sampling."""
    from agentgym.train import Trainer

    run_dir = args.out / f"smollm2-{algorithm}"
    trained = Trainer.resume(run_dir)
    first = trained.config.eval.first_seed + CONFIRM_OFFSET
    seeds = range(first, first + args.confirm)
    after = trained.evaluate(seeds)
    before = Trainer(trained.config).evaluate(seeds)  # the same run, not trained: the initial weights
    return {"seeds": [seeds.start, seeds.stop], "episodes": before["eval/episodes"],
            "before": before["eval/success"], "after": after["eval/success"]}


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

    def rate(success: float, episodes: float) -> str:
        low, high = wilson_interval(round(success * episodes), int(episodes))
        return f"{success:.0%} [{low:.0%}–{high:.0%}]"

    def confirmed(result: dict[str, Any]) -> str:
        check = result.get("confirm")
        if not check:
            return "— | —"
        return f"{rate(check['before'], check['episodes'])} | {rate(check['after'], check['episodes'])}"

    first = results[0]
    episodes = first["eval_episodes"]
    temperature = first["eval_temperature"]
    decoding = f"sampled at T={temperature:g}" if temperature else "greedy"
    checks = [r["confirm"] for r in results if r.get("confirm")]
    lines = [
        f"### SmolLM2-135M on Guess the Number (easy), CPU, {first['steps']} steps, lr {first['lr']:g}", "",
        f"Held-out curve: {episodes:.0f} episodes on unseen seeds, {decoding}, the same sampling seeds at every "
        "evaluation." + (f" Fresh check: {checks[0]['episodes']:.0f} episodes on seeds "
                         f"[{checks[0]['seeds'][0]}, {checks[0]['seeds'][1]}) seen neither in training nor in the "
                         "curve, initial vs final weights, same sampling." if checks else "")
        + " 95% Wilson intervals in brackets; training success: the mean over steps of each step's 32 sampled "
        "rollouts.", "",
        "| algorithm | held-out before | after | curve | fresh check before | after | training success, "
        "first 3 steps | last 3 steps | wall time | torch threads |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        curve = " → ".join(f"{v:.0%}" for _, v in r["eval_curve"])
        lines.append(f"| {r['algorithm'].upper()} | {rate(r['success_before'], episodes)} | "
                     f"{rate(r['success_after'], episodes)} | {curve} | {confirmed(r)} | "
                     f"{_mean(r['train_success'][:3]):.0%} | {_mean(r['train_success'][-3:]):.0%} | "
                     f"{r['seconds'] / 60:.0f} min | {r['threads']} |")
    return "\n".join(lines)


def _mean(points: list[list[float]]) -> float:
    return sum(value for _, value in points) / len(points)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=ShowDefaults)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--eval-every", type=int, default=5)
    parser.add_argument("--eval-tasks", type=int, default=16)
    parser.add_argument("--eval-samples", type=int, default=2, help="episodes per held-out seed (sampled only)")
    parser.add_argument("--eval-temperature", type=float, default=1.0, help="0: greedy")
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--algorithms", nargs="+", default=list(ALGORITHMS), choices=list(ALGORITHMS))
    parser.add_argument("--out", type=output_folder, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--confirm", type=int, default=0, metavar="N",
                        help="after training, evaluate the initial and final weights on N fresh held-out seeds "
                        "(x eval-samples episodes each); alone with --report: on runs already trained")
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
    if args.confirm:
        for algorithm in args.algorithms:
            path = args.out / f"train_smollm2-{algorithm}.json"
            if not path.is_file():
                continue
            print(f"confirming {algorithm} on {args.confirm} fresh seeds...", file=sys.stderr)
            result = json.loads(path.read_text())
            result["confirm"] = confirm(algorithm, args)
            path.write_text(json.dumps(result, indent=2))
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
