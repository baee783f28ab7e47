"""Environments on Ray actors against ThreadVectorEnv, measured side by side in one run.

64 environments whose step waits 10 ms (I/O-like, ``SlowEnv``): steps per second of a
``ThreadVectorEnv`` of the environments themselves, and of a ``ThreadVectorEnv`` of
:class:`~agentgym.ray.RayEnv` (each environment in its own Ray actor, one worker process each,
on a local Ray instance), the same number of steps, alternating the two over several rounds
and keeping the median. The ratio is Ray's overhead on one machine (target: within 2x).
Actor start-up is timed separately and not counted in steps/s.

    python benchmarks/bench_ray.py [--envs 64] [--steps 20] [--rounds 3] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import ray

from agentgym import Feedback, LLMEnv
from agentgym.ray import RayEnv
from agentgym.vector import ThreadVectorEnv


class SlowEnv(LLMEnv):
    """Every step waits ``delay`` seconds, like a call to a browser or a remote service."""

    def __init__(self, delay: float = 0.010, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.delay = delay

    def new_episode(self, options: dict[str, Any]) -> str:
        self.turn = 0
        return "ready"

    def play(self, action: str) -> Feedback:
        time.sleep(self.delay)
        self.turn += 1
        return Feedback(f"turn {self.turn}", {"outcome": 0.0}, terminated=self.turn >= 1000)


def slow_env_10ms() -> SlowEnv:
    return SlowEnv(0.010)


def steps_per_second(vector: ThreadVectorEnv, num_envs: int, steps: int) -> float:
    actions = ("go",) * num_envs
    start = time.perf_counter()
    for _ in range(steps):
        vector.step(actions)
    return steps * num_envs / (time.perf_counter() - start)


def bench(num_envs: int, steps: int, rounds: int, actor_num_cpus: float) -> dict[str, Any]:
    threads = ThreadVectorEnv([slow_env_10ms] * num_envs)
    start = time.perf_counter()
    actors = ThreadVectorEnv([lambda: RayEnv(env_fn=slow_env_10ms, num_cpus=actor_num_cpus)] * num_envs,
                             step_timeout=600.0)  # 64 worker processes start slowly on a busy machine
    actor_startup_s = time.perf_counter() - start
    for vector in (threads, actors):
        vector.reset(seed=0)
        vector.step(("go",) * num_envs)  # warm up
    thread_rates, ray_rates = [], []
    for _ in range(rounds):
        thread_rates.append(steps_per_second(threads, num_envs, steps))
        ray_rates.append(steps_per_second(actors, num_envs, steps))
    threads.close()
    actors.close()
    thread_rate, ray_rate = statistics.median(thread_rates), statistics.median(ray_rates)
    return {"num_envs": num_envs, "step_delay_s": 0.010, "steps_per_round": steps, "rounds": rounds,
            "actor_num_cpus": actor_num_cpus, "actor_startup_s": actor_startup_s,
            "thread_steps_per_s": thread_rate, "ray_steps_per_s": ray_rate,
            "thread_over_ray": thread_rate / ray_rate, "target": 2.0,
            "meets_target": thread_rate / ray_rate <= 2.0,
            "ideal_steps_per_s": num_envs / 0.010}


def markdown(report: dict[str, Any]) -> str:
    r = report["ray_vs_threads"]
    return "\n".join([
        "### Environments on Ray actors vs ThreadVectorEnv (one machine)", "",
        f"{r['num_envs']} environments whose step waits {r['step_delay_s'] * 1000:.0f} ms, "
        f"{r['steps_per_round']} vector steps per round, median of {r['rounds']} alternating rounds; "
        f"{report['machine']['cpus']} CPU cores, Ray {report['machine']['ray']}, "
        f"{r['actor_num_cpus']} CPU per actor.", "",
        "| backend | steps/s | ratio (threads / Ray) | target |", "|---|---:|---:|---:|",
        f"| ThreadVectorEnv of the envs | {r['thread_steps_per_s']:,.0f} | | |",
        f"| ThreadVectorEnv of RayEnv (one actor each) | {r['ray_steps_per_s']:,.0f} "
        f"| **{r['thread_over_ray']:.2f}x** | ≤ 2x{'' if r['meets_target'] else ' ✗'} |", "",
        f"Starting the {r['num_envs']} actors took {r['actor_startup_s']:.1f} s (not counted above); "
        f"the ideal rate is {r['ideal_steps_per_s']:,.0f} steps/s."])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--envs", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20, help="vector steps per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ray-cpus", type=int, default=16,
                        help="logical CPUs of the local Ray instance (the actors reserve ray-cpus / envs each)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    ray.init(num_cpus=args.ray_cpus, include_dashboard=False, log_to_driver=False)
    try:
        report = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "ray": ray.__version__},
                  "ray_vs_threads": bench(args.envs, args.steps, args.rounds, args.ray_cpus / args.envs)}
    finally:
        ray.shutdown()
    table = markdown(report)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_ray.json").write_text(json.dumps(report, indent=2))
    (args.out / "bench_ray.md").write_text(table + "\n")
    print(f"\nwrote {args.out / 'bench_ray.json'} and bench_ray.md", file=sys.stderr)


if __name__ == "__main__":
    main()
