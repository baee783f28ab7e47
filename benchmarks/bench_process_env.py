"""Process isolation's cost per environment: start time and memory of a ProcessEnv's child, from
a script that imports torch and transformers (as every training script does).

Two contenders, measured in one run, taking turns:

- **fresh interpreter**: ``ProcessEnv(functools.partial(agentgym.make, ID))``, the usual factory
  (``make_vec``, the ``process`` runtime): the child is a fresh interpreter that imports only
  what the factory needs (:mod:`agentgym.runtime.process_child`);
- **multiprocessing spawn** (the baseline, what every child was before): a factory defined in this
  script's ``__main__``, which ``multiprocessing``'s spawn re-imports in the child, torch with it.

Per child: seconds from ``ProcessEnv(...).start()`` to the built environment, and its memory
(USS and PSS, psutil) after one reset and step. Each figure is the median over ``--rounds``.

    python benchmarks/bench_process_env.py [--rounds 7] [--env games/GuessTheNumber-v0] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import time
from pathlib import Path

import psutil
import torch  # noqa: F401 - what a training script has imported: the point of the benchmark
import transformers  # noqa: F401

import agentgym
from agentgym.runtime import ProcessEnv
from bench_cli import ShowDefaults, machine, output_folder, positive_int, registered_env

ENV_ID = "games/GuessTheNumber-v0"


def make_in_main(env_id: str):
    """A factory that lives in ``__main__``: ProcessEnv must use multiprocessing's spawn for it."""
    return agentgym.make(env_id)


def one_child(factory) -> dict[str, float]:
    started = time.perf_counter()
    env = ProcessEnv(factory).start()
    seconds = time.perf_counter() - started
    try:
        env.reset(seed=0)
        env.step("50")
        memory = psutil.Process(env.pid).memory_full_info()
        return {"start_s": seconds, "uss_mb": memory.uss / 2**20, "pss_mb": memory.pss / 2**20}
    finally:
        env.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=ShowDefaults)
    parser.add_argument("--rounds", type=positive_int, default=7)
    parser.add_argument("--env", type=registered_env, default=ENV_ID)
    parser.add_argument("--out", type=output_folder, default=Path(__file__).parent / "results")
    args = parser.parse_args()

    contenders = {
        "fresh interpreter": functools.partial(agentgym.make, args.env),
        "multiprocessing spawn": functools.partial(make_in_main, args.env),
    }
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in contenders}
    for _ in range(args.rounds):
        for name, factory in contenders.items():
            samples[name].append(one_child(factory))
    results = {name: {key: statistics.median(s[key] for s in runs) for key in runs[0]}
               for name, runs in samples.items()}
    fresh, spawn = results["fresh interpreter"], results["multiprocessing spawn"]
    ratios = {key: fresh[key] / spawn[key] for key in fresh}

    lines = [f"# ProcessEnv child: fresh interpreter vs multiprocessing spawn ({args.env})", "",
             f"Parent script imports torch {torch.__version__} and transformers; median of {args.rounds} rounds; "
             f"{os.cpu_count()} CPUs, load average {', '.join(f'{x:.2f}' for x in os.getloadavg())} at the end.", "",
             "| child | start (s) | USS (MB) | PSS (MB) |", "|---|---:|---:|---:|"]
    for name, figures in results.items():
        lines.append(f"| {name} | {figures['start_s']:.2f} | {figures['uss_mb']:.0f} | {figures['pss_mb']:.0f} |")
    lines.append(f"| **ratio** | **{ratios['start_s']:.2f}x** | **{ratios['uss_mb']:.2f}x** | "
                 f"**{ratios['pss_mb']:.2f}x** |")
    report = "\n".join(lines) + "\n"
    print(report)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_process_env.md").write_text(report, encoding="utf-8")
    (args.out / "bench_process_env.json").write_text(json.dumps(
        {"env": args.env, "rounds": args.rounds, "python": platform.python_version(), "machine": machine(),
         "results": results,
         "ratios": ratios, "samples": samples}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
