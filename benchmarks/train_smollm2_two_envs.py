"""Does the embedded SmolLM2-135M-Instruct learn, on CPU, on a game and on a tool-use task?

Two runs, each from the original weights, GRPO with LoRA adapters as in the quick start
(examples/quickstart.toml), on its own configuration:

* ``game``: Guess the Number, easy (a secret in 1..20, 8 guesses, higher/lower hints;
  examples/learn_guess_the_number.toml). The untrained model guesses almost at random and often
  repeats itself or ignores the hints; following them wins every game.
* ``tools``: tools/Python-v0, easy, arithmetic family (exact products of 7-10 digit numbers and
  sums of 6-9 long terms; examples/learn_python_arithmetic.toml). A 135M model cannot multiply
  10-digit numbers in its head; it wins by running ``print(a * b)`` in the sandbox and copying
  the printed number into ``<answer>``.

Each run: the original weights are evaluated on ``--eval-tasks`` held-out seeds (from
``eval.first_seed`` = 1,000,000; training draws its seeds from [0, 100000), so the two never
meet), then trained ``--steps`` GRPO steps, then evaluated again on the same seeds with the same
sampling seeds (sampled at T=1 unless ``--eval-temperature``). Success is reported with 95%
Wilson intervals; the claim is "learned" only where the intervals do not overlap.

Each environment's result goes to ``benchmarks/results/train_smollm2_two_envs-<env>.json`` as
soon as its run ends, and the table is rebuilt from every such file present, so the two runs can
go in two processes at once (one torch thread each on a 2-core machine):

    python benchmarks/train_smollm2_two_envs.py --envs game --threads 1 &
    python benchmarks/train_smollm2_two_envs.py --envs tools --threads 1
    python benchmarks/train_smollm2_two_envs.py --report     # the table again, from the results
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import torch
from bench_cli import ShowDefaults, output_folder

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {"game": ROOT / "examples" / "learn_guess_the_number.toml",
           "tools": ROOT / "examples" / "learn_python_arithmetic.toml"}
TITLES = {"game": "Guess the Number (easy, 1..20, 8 guesses)",
          "tools": "tools/Python-v0 (easy, arithmetic: products and long sums, Python sandbox)"}


def run(env: str, args: argparse.Namespace) -> dict[str, Any]:
    """Evaluate the original weights, train, evaluate the trained weights: the same held-out
    seeds and sampling seeds both times."""
    from agentgym.train import Trainer, load_config

    overrides: dict[str, Any] = {
        "run": {"name": f"two-envs-{env}", "out_dir": str(args.runs / env), "seed": args.seed},
        "eval": {"every": 0, "tasks": args.eval_tasks, "temperature": args.eval_temperature, "samples": 1},
        "logging": {"console": False, "plot": False},
    }
    if args.steps is not None:
        overrides["run"]["steps"] = args.steps
    if args.lr is not None:
        overrides["optimizer"] = {"lr": args.lr}
    config = load_config(CONFIGS[env], overrides=overrides)
    trainer = Trainer(config)
    seeds = range(config.eval.first_seed, config.eval.first_seed + config.eval.tasks)
    start = time.perf_counter()
    before = trainer.evaluate(seeds)
    _say(f"{env}: original weights {before['eval/success']:.0%} on {len(seeds)} held-out seeds "
         f"({time.perf_counter() - start:.0f} s)")
    sft: dict[str, Any] | None = None
    if args.sft_demos:
        sft = warm_start(trainer, args)
        sft.update(_stage(trainer.evaluate(seeds)))
        _say(f"{env}: after the SFT warm start {sft['success']:.0%} ({time.perf_counter() - start:.0f} s in all)")
    trained_from = time.perf_counter()
    history = trainer.train()
    train_seconds = time.perf_counter() - trained_from
    after = trainer.evaluate(seeds)
    _say(f"{env}: trained weights {after['eval/success']:.0%} ({time.perf_counter() - start:.0f} s in all)")
    return {
        "env": env, "config": str(CONFIGS[env].relative_to(ROOT)), "env_id": config.env.id,
        "env_kwargs": dict(config.env.kwargs), "steps": config.run.steps, "lr": config.optimizer.lr,
        "group_size": config.rollout.group_size, "tasks_per_step": config.env.tasks_per_step,
        "max_turns": config.rollout.max_turns, "max_tokens": config.rollout.max_tokens,
        "eval_seeds": [seeds.start, seeds.stop], "eval_temperature": config.eval.temperature,
        "episodes": int(before["eval/episodes"]),
        "before": _stage(before), "sft": sft, "after": _stage(after),
        "train_success": [r.get("success/train") for r in history],
        "train_seconds": train_seconds, "seconds": time.perf_counter() - start,
        "threads": torch.get_num_threads(), "command": " ".join(shlex.quote(a) for a in sys.argv),
    }


SFT_FIRST_SEED = 50_000  # the demonstrations' seeds: inside training's range, far from the held-out ones


def warm_start(trainer: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Behaviour cloning of the environment's oracle (agentgym.train.sft) on the run's own LoRA
    adapters, before GRPO: ``--sft-demos`` won episodes whose every reply fits the rollout's
    token budget (a demonstration the policy could not finish within it teaches nothing it can
    use), in the student's tokens with the run's system prompt."""
    from agentgym.train.sft import SFTSettings, demonstrations, fine_tune

    config = trainer.config
    started = time.perf_counter()
    budget = config.rollout.max_tokens
    seeds = range(SFT_FIRST_SEED, SFT_FIRST_SEED + 3 * args.sft_demos)
    played = demonstrations(trainer.tokenizer, config.env.id, seeds, env_kwargs=dict(config.env.kwargs),
                            max_turns=config.rollout.max_turns, system_prompt=trainer._system_prompt())
    fitting = [t for t in played if all(turn.action_span is None or turn.action_span[1] - turn.action_span[0] <= budget
                                        for turn in t.turns)][:args.sft_demos]
    if not fitting:
        raise RuntimeError(f"no oracle demonstration of {config.env.id} fits {budget} tokens a turn")
    trainer.model.train()
    history = fine_tune(trainer.model, fitting, SFTSettings(epochs=args.sft_epochs, lr=args.sft_lr,
                                                            rows_per_step=args.sft_rows_per_step, seed=args.seed))
    trainer.model.eval()
    return {"demos": len(fitting), "demos_played": len(played), "epochs": args.sft_epochs, "lr": args.sft_lr,
            "rows_per_step": args.sft_rows_per_step, "nll": [h["nll"] for h in history],
            "seconds": time.perf_counter() - started}


def _stage(metrics: dict[str, float]) -> dict[str, float]:
    return {"success": metrics["eval/success"], "reward": metrics["eval/reward"], "turns": metrics["eval/turns"]}


def interval(success: float, episodes: int) -> tuple[float, float]:
    from agentgym.eval.metrics import wilson_interval

    return wilson_interval(round(success * episodes), episodes)


def table(result: dict[str, Any]) -> str:
    n = result["episodes"]
    (low0, high0), (low1, high1) = (interval(result[s]["success"], n) for s in ("before", "after"))
    separated = low1 > high0 or low0 > high1
    ls, hs = interval(result["sft"]["success"], n) if result.get("sft") else (0.0, 1.0)
    rl_separated = low1 > hs or ls > high1
    decoding = f"sampled at T={result['eval_temperature']:g}" if result["eval_temperature"] else "greedy"
    curve = [v for v in result["train_success"] if v is not None]
    lines = [
        f"### SmolLM2-135M, {TITLES[result['env']]}: GRPO + LoRA on CPU", "",
        f"{n} held-out episodes (seeds [{result['eval_seeds'][0]}, {result['eval_seeds'][1]}), never trained on), "
        f"{decoding}, the same sampling seeds at both evaluations; 95% Wilson intervals. "
        f"{result['steps']} steps x {result['tasks_per_step']} tasks x {result['group_size']} rollouts, "
        f"lr {result['lr']:g}, {result['threads']} torch thread(s); config `{result['config']}`.", "",
        "| stage | held-out success | 95% interval | mean turns |", "|---|---:|---:|---:|",
        f"| original weights | {result['before']['success']:.1%} | [{low0:.1%}, {high0:.1%}] | "
        f"{result['before']['turns']:.1f} |",
        *([f"| after the SFT warm start ({result['sft']['demos']} oracle demos, {result['sft']['epochs']} epochs) | "
           f"{result['sft']['success']:.1%} | [{ls:.1%}, {hs:.1%}] | {result['sft']['turns']:.1f} |"]
          if result.get("sft") else []),
        f"| after GRPO | {result['after']['success']:.1%} | [{low1:.1%}, {high1:.1%}] | "
        f"{result['after']['turns']:.1f} |", "",
        f"Original vs final: intervals {'do not overlap' if separated else 'OVERLAP (not demonstrated)'}"
        + (f"; SFT-only vs final: {'do not overlap' if rl_separated else 'OVERLAP (RL not demonstrated)'}"
           if result.get("sft") else "") + ". "
        f"Training rollouts' success, first 3 steps {_mean(curve[:3]):.0%}, last 3 steps {_mean(curve[-3:]):.0%}. "
        f"Wall time {result['seconds'] / 60:.1f} min (training {result['train_seconds'] / 60:.1f} min). "
        f"Command: `{result['command']}`.",
    ]
    return "\n".join(lines)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=ShowDefaults)
    parser.add_argument("--envs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--steps", type=int, default=None, help="GRPO steps (default: the configuration's)")
    parser.add_argument("--lr", type=float, default=None, help="learning rate (default: the configuration's)")
    parser.add_argument("--eval-tasks", type=int, default=64, help="held-out seeds, one episode each")
    parser.add_argument("--eval-temperature", type=float, default=1.0, help="0: greedy")
    parser.add_argument("--sft-demos", type=int, default=0,
                        help="warm start: behaviour-clone this many oracle wins before GRPO (0: none)")
    parser.add_argument("--sft-epochs", type=int, default=2)
    parser.add_argument("--sft-lr", type=float, default=3e-4, help="the adapters' learning rate in the warm start")
    parser.add_argument("--sft-rows-per-step", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "train_smollm2_two_envs",
                        help="where the runs' checkpoints and metrics go")
    parser.add_argument("--out", type=output_folder, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--report", action="store_true", help="train nothing: print the tables from the results")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    for env in [] if args.report else args.envs:
        _say(f"{env}: {CONFIGS[env].name}")
        result = run(env, args)
        (args.out / f"train_smollm2_two_envs-{env}.json").write_text(json.dumps(result, indent=2) + "\n")
    results = [json.loads(path.read_text()) for env in CONFIGS
               if (path := args.out / f"train_smollm2_two_envs-{env}.json").is_file()]
    if not results:
        parser.error(f"no train_smollm2_two_envs-<env>.json in {args.out}: train first")
    print("\n\n".join(table(result) for result in results))


if __name__ == "__main__":
    main()
