r"""Environments on Ray workers against threads, measured side by side in one run.

64 environments whose step waits 10 ms (I/O-like, ``SlowEnv``), on a local Ray instance:

* **Vector envs**: steps per second of a ``ThreadVectorEnv`` of the environments themselves,
  and of :class:`~agentgym.ray.RayVectorEnv` — the same ``SlotVectorEnv`` with
  ``RayHandle``\ s on a :class:`~agentgym.ray.RayEnvPool` of 1, 2 and 4 worker processes,
  whose steps are coalesced into one Ray call per worker per vector step (counted) — and, for
  comparison, of the environments on a 2-worker pool driven with one plain Ray call per
  environment per step (``RayEnvRef.step``, not coalesced). Every round runs each
  configuration once, in turn, for the same number of steps; the medians are reported and the
  ratio ThreadVectorEnv / Ray is checked against the target (within 2x). Start-up (the
  workers, then the 64 environments opened on them) is timed separately, not in steps/s.
* **Rollout engine**: the wall time of ``rollout(ScriptedPolicy(...), 64 tasks, ...)`` with
  ``env_runtime=RayRuntime(2)`` against ``env_runtime="thread"`` (each episode ``--turns``
  steps; the Ray side includes opening and closing every episode's environment on the
  workers), alternating, median of ``--engine-rounds``; and the Ray calls per environment
  step that coalescing left.

    python benchmarks/bench_ray.py [--envs 64] [--steps 20] [--rounds 5] [--workers 1 2 4]
                                   [--turns 10] [--engine-rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import ray

import agentgym
import bench_env_step
from bench_env_step import SlowEnv
from agentgym.ray import RayEnvPool, RayVectorEnv
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.runtime.runtimes import RayRuntime
from agentgym.vector import ThreadVectorEnv
from agentgym.policies.scripted import ScriptedPolicy
from bench_cli import ShowDefaults, machine, non_negative_int, output_folder, positive_int

TARGET = 2.0  # ThreadVectorEnv / Ray steps per second, at most
HEADLINE_WORKERS = 2  # one worker per core on the development machine
SLOW_ENV_ID = "bench/Slow10ms-v0"


def slow_env_10ms() -> SlowEnv:
    return SlowEnv(0.010)


# SlowEnv is bench_env_step's; Ray's workers cannot import benchmarks/, so its module goes by value
ray.cloudpickle.register_pickle_by_value(bench_env_step)
agentgym.register(SLOW_ENV_ID, SlowEnv, max_turns=1000)


def steps_per_second(vector: Any, num_envs: int, steps: int) -> float:
    actions = ("go",) * num_envs
    start = time.perf_counter()
    for _ in range(steps):
        vector.step(actions)
    return steps * num_envs / (time.perf_counter() - start)


def start_ray_vector(num_envs: int, num_workers: int) -> tuple[RayVectorEnv, float, float]:
    """A RayVectorEnv on a fresh pool; the seconds the workers and then the environments took."""
    start = time.perf_counter()
    pool = RayEnvPool(num_workers, num_cpus_per_worker=1.0)
    workers_s = time.perf_counter() - start
    start = time.perf_counter()
    vector = RayVectorEnv([slow_env_10ms] * num_envs, pool=pool)
    return vector, workers_s, time.perf_counter() - start


class PerEnvCalls:
    """The environments on a pool driven one plain Ray call per environment per step
    (``RayEnvRef.step``, not coalesced), for comparison."""

    def __init__(self, num_envs: int, num_workers: int) -> None:
        self.pool = RayEnvPool(num_workers, num_cpus_per_worker=1.0)
        self.refs = self.pool.open_many([slow_env_10ms] * num_envs)

    def reset(self, seed: int) -> None:
        ray.get([ref.reset(seed=seed + i) for i, ref in enumerate(self.refs)])

    def step(self, actions: Any) -> None:
        ray.get([ref.step(action) for ref, action in zip(self.refs, actions)])

    def close(self) -> None:
        self.pool.shutdown()


def ray_calls(pool: RayEnvPool) -> int:
    """Ray calls that carried coalesced resets and steps so far (batches and their follow-ups)."""
    return sum((w["batches"] or 0) + (w["collects"] or 0) for w in pool.stats()["per_worker"])


def engine_wall_s(runtime: Any, num_envs: int, turns: int) -> float:
    """Seconds one rollout of ``num_envs`` episodes of ``turns`` steps takes on ``runtime``."""
    tasks = [Task(SLOW_ENV_ID, seed) for seed in range(num_envs)]
    config = RolloutConfig(env_runtime=runtime, max_turns=turns, max_concurrent_episodes=num_envs,
                           max_batch_size=num_envs, step_timeout=60.0)
    start = time.perf_counter()
    result = rollout(ScriptedPolicy(["go"] * turns), tasks, config, progress=False)
    wall = time.perf_counter() - start
    if result.stats["errors"] or any(len(t.turns) != turns for t in result.trajectories):
        raise RuntimeError(f"the rollout on {runtime!r} did not play every episode through: {result.stats}")
    return wall


def bench_engine(num_envs: int, turns: int, rounds: int) -> dict[str, Any]:
    runtime = RayRuntime(HEADLINE_WORKERS, num_cpus_per_worker=1.0)
    runtime.start()
    try:
        engine_wall_s("thread", num_envs, turns)  # warm up both sides
        engine_wall_s(runtime, num_envs, turns)
        calls_before = ray_calls(runtime.pool)
        walls: dict[str, list[float]] = {"thread": [], "ray": []}
        for _ in range(rounds):
            walls["thread"].append(engine_wall_s("thread", num_envs, turns))
            walls["ray"].append(engine_wall_s(runtime, num_envs, turns))
        calls = ray_calls(runtime.pool) - calls_before
    finally:
        runtime.close()
    thread_s, ray_s = statistics.median(walls["thread"]), statistics.median(walls["ray"])
    env_calls = rounds * num_envs * (turns + 1)  # a reset and the steps of every episode
    return {"num_envs": num_envs, "turns": turns, "rounds": rounds, "workers": HEADLINE_WORKERS,
            "thread_wall_s": thread_s, "ray_wall_s": ray_s, "ray_over_thread": ray_s / thread_s,
            "ray_calls_per_env_call": calls / env_calls, "ideal_wall_s": turns * 0.010, "rounds_wall_s": walls}


def bench(num_envs: int, steps: int, rounds: int, worker_counts: list[int]) -> dict[str, Any]:
    threads = ThreadVectorEnv([slow_env_10ms] * num_envs)
    ray_envs, startup = {}, {}
    for n in worker_counts:
        ray_envs[n], workers_s, envs_s = start_ray_vector(num_envs, n)
        startup[n] = {"workers_s": workers_s, "open_envs_s": envs_s}
    per_env = PerEnvCalls(num_envs, HEADLINE_WORKERS)
    contenders: dict[str, Any] = {"threads": threads, **{f"ray_{n}": v for n, v in ray_envs.items()},
                                  "per_env_calls": per_env}
    for vector in contenders.values():
        vector.reset(seed=0)
        vector.step(("go",) * num_envs)  # warm up
    calls_before = {n: ray_calls(v.pool) for n, v in ray_envs.items()}
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, vector in contenders.items():
            rates[name].append(steps_per_second(vector, num_envs, steps))
    calls_per_step = {n: (ray_calls(v.pool) - calls_before[n]) / (rounds * steps) for n, v in ray_envs.items()}
    for vector in contenders.values():
        vector.close()
    thread_rate = statistics.median(rates["threads"])
    per_workers = []
    for n in worker_counts:
        rate = statistics.median(rates[f"ray_{n}"])
        per_workers.append({"workers": n, "steps_per_s": rate, "thread_over_ray": thread_rate / rate,
                            "ray_calls_per_vector_step": calls_per_step[n], **startup[n],
                            "rounds_steps_per_s": rates[f"ray_{n}"]})
    headline = next((r for r in per_workers if r["workers"] == HEADLINE_WORKERS), per_workers[0])
    per_env_rate = statistics.median(rates["per_env_calls"])
    return {"num_envs": num_envs, "step_delay_s": 0.010, "steps_per_round": steps, "rounds": rounds,
            "thread_steps_per_s": thread_rate, "thread_rounds_steps_per_s": rates["threads"],
            "ray": per_workers, "headline_workers": headline["workers"],
            "per_env_calls": {"workers": HEADLINE_WORKERS, "steps_per_s": per_env_rate,
                              "thread_over_ray": thread_rate / per_env_rate,
                              "ray_calls_per_vector_step": num_envs, "rounds_steps_per_s": rates["per_env_calls"]},
            "thread_over_ray": headline["thread_over_ray"], "target": TARGET,
            "meets_target": headline["thread_over_ray"] <= TARGET, "ideal_steps_per_s": num_envs / 0.010}


def markdown(report: dict[str, Any]) -> str:
    r = report["ray_vs_threads"]
    m = report["machine"]
    pools = " / ".join(str(row["workers"]) for row in r["ray"])
    lines = [
        "#### Environments on Ray workers vs ThreadVectorEnv (one machine)", "",
        f"{r['num_envs']} environments whose step waits {r['step_delay_s'] * 1000:.0f} ms, "
        f"{r['steps_per_round']} vector steps per round, median of {r['rounds']} rounds (each round runs every "
        f"configuration in turn); {m['cpus']} CPU cores for pools of {pools} workers, Ray {m['ray']}, "
        f"Python {m['python']}. `RayVectorEnv` is `SlotVectorEnv` with `RayHandle`s on a `RayEnvPool` (each "
        "environment in its own thread in its worker); their steps are coalesced into one Ray call per worker "
        "per vector step (the column counts them).", "",
        "| backend | steps/s | ratio (threads / Ray) | target | Ray calls per vector step | start workers (s) "
        f"| open {r['num_envs']} envs (s) |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| ThreadVectorEnv of the envs (baseline) | {r['thread_steps_per_s']:,.0f} | | | | | |"]
    for row in r["ray"]:
        headline = row["workers"] == r["headline_workers"]
        ratio = f"**{row['thread_over_ray']:.2f}x**" if headline else f"{row['thread_over_ray']:.2f}x"
        target = f"≤ {r['target']:g}x{'' if row['thread_over_ray'] <= r['target'] else ' ✗'}"
        lines.append(f"| RayVectorEnv, {row['workers']} worker{'s' if row['workers'] > 1 else ''} "
                     f"| {row['steps_per_s']:,.0f} | {ratio} | {target} | {row['ray_calls_per_vector_step']:g} "
                     f"| {row['workers_s']:.2f} | {row['open_envs_s']:.2f} |")
    p = r["per_env_calls"]
    lines.append(f"| for comparison: a pool of {p['workers']} workers, one `RayEnvRef` call per environment "
                 f"| {p['steps_per_s']:,.0f} | {p['thread_over_ray']:.2f}x | | {p['ray_calls_per_vector_step']} | | |")
    lines += ["", f"The ideal rate is {r['ideal_steps_per_s']:,.0f} steps/s."]
    e = report.get("engine")
    if e:
        lines += ["", "#### The rollout engine on Ray vs threads", "",
                  f"`rollout(ScriptedPolicy(...), {e['num_envs']} tasks, RolloutConfig(env_runtime=...))`, every "
                  f"episode {e['turns']} steps of {r['step_delay_s'] * 1000:.0f} ms (ideal "
                  f"{e['ideal_wall_s']:.2f} s), all episodes at once; median wall time of {e['rounds']} alternating "
                  "rounds. The Ray side opens, resets, steps and closes each episode's environment on the "
                  "workers.", "",
                  "| env_runtime | wall (s) | ratio (Ray / threads) | Ray calls per reset or step |",
                  "|---|---:|---:|---:|",
                  f"| `\"thread\"` (baseline) | {e['thread_wall_s']:.2f} | | |",
                  f"| `RayRuntime({e['workers']})` | {e['ray_wall_s']:.2f} | **{e['ray_over_thread']:.2f}x** "
                  f"| {e['ray_calls_per_env_call']:.3f} |"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=ShowDefaults)
    parser.add_argument("--envs", type=positive_int, default=64)
    parser.add_argument("--steps", type=positive_int, default=20, help="vector steps per round")
    parser.add_argument("--rounds", type=positive_int, default=5)
    parser.add_argument("--workers", type=positive_int, nargs="+", default=[1, 2, 4],
                        help="Ray worker counts to measure")
    parser.add_argument("--turns", type=positive_int, default=10,
                        help="steps per episode of the rollout-engine comparison")
    parser.add_argument("--engine-rounds", type=non_negative_int, default=3,
                        help="rounds of the rollout-engine comparison (0: skip it)")
    parser.add_argument("--out", type=output_folder, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    # logical CPUs for the local Ray instance: every pool's workers reserve 1 CPU each (all pools
    # live at once, so that the rounds can alternate)
    ray.init(num_cpus=sum(args.workers) + HEADLINE_WORKERS, include_dashboard=False, log_to_driver=False)
    try:
        report = {"machine": {**machine(), "ray": ray.__version__},
                  "ray_vs_threads": bench(args.envs, args.steps, args.rounds, sorted(args.workers))}
        if args.engine_rounds > 0:
            report["engine"] = bench_engine(args.envs, args.turns, args.engine_rounds)
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
