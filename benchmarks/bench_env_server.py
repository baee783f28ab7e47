"""The environment server's throughput and latency, over HTTP and over the WebSocket.

The server runs in its own process (``serve_env`` on loopback, no access log); the clients run here:

- HTTP: :class:`~agentgym.remote.RemoteEnv` (the sync client), 1 session, then 64 sessions on
  64 threads;
- WebSocket: :class:`~agentgym.remote.AsyncRemoteEnv`, 1 session, then 64 sessions on one
  event loop.

Each session plays ``games/GuessTheNumber-v0`` with random guesses, resetting when an episode
ends, for ``--seconds``. Reported: steps per second (all sessions together) and the client-side
round trip of each step (p50, p99). Rounds alternate the transports and the median round is
kept (the machines are noisy). Client and server share the machine's cores, so the figures are
a floor for a server with cores of its own.

    python benchmarks/bench_env_server.py [--seconds 3] [--rounds 3] [--sessions 64] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any


from agentgym.remote import AsyncRemoteEnv, RemoteEnv
from server_process import start_server_process, stop_server_process
from bench_cli import ShowDefaults, machine, output_folder, positive_float, positive_int

ENV_ID = "games/GuessTheNumber-v0"


def start_server(max_sessions: int) -> tuple[subprocess.Popen, str]:
    """``serve_env`` in a child process, without access logs (they would cost the server CPU)."""
    def command(port: int) -> list[str]:
        return [sys.executable, "-c", "from agentgym.remote import serve_env; "
                f"serve_env(port={port}, max_sessions={max_sessions}, log_level='warning')"]

    return start_server_process(command, "the environment server")


def _percentiles(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    at = lambda q: 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"p50_ms": round(at(0.5), 3), "p99_ms": round(at(0.99), 3)}


def http_round(url: str, sessions: int, seconds: float) -> dict[str, Any]:
    envs = [RemoteEnv(ENV_ID, server=url) for _ in range(sessions)]
    latencies: list[list[float]] = [[] for _ in envs]
    barrier = threading.Barrier(sessions + 1)
    stop = threading.Event()

    def play(index: int) -> None:
        env, rng = envs[index], random.Random(index)
        env.reset(seed=index)
        barrier.wait()
        while not stop.is_set():
            started = time.perf_counter()
            _, _, terminated, truncated, info = env.step(str(rng.randint(1, 20)))
            latencies[index].append(time.perf_counter() - started)
            assert "remote_error" not in info, info
            if terminated or truncated:
                env.reset()

    threads = [threading.Thread(target=play, args=(index,)) for index in range(sessions)]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    for env in envs:
        env.close()
    flat = [x for each in latencies for x in each]
    return {"steps_per_s": len(flat) / elapsed, **_percentiles(flat)}


def ws_round(url: str, sessions: int, seconds: float) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        envs = [AsyncRemoteEnv(ENV_ID, server=url) for _ in range(sessions)]
        await asyncio.gather(*(env.open() for env in envs))
        latencies: list[float] = []
        ready = asyncio.Event()
        deadline: list[float] = []

        async def play(index: int) -> None:
            env, rng = envs[index], random.Random(index)
            await env.areset(seed=index)
            await ready.wait()
            while time.perf_counter() < deadline[0]:
                started = time.perf_counter()
                _, _, terminated, truncated, info = await env.astep(str(rng.randint(1, 20)))
                latencies.append(time.perf_counter() - started)
                assert "remote_error" not in info, info
                if terminated or truncated:
                    await env.areset()

        tasks = [asyncio.create_task(play(index)) for index in range(sessions)]
        await asyncio.sleep(0.2)  # every session reset
        began = time.perf_counter()
        deadline.append(began + seconds)
        ready.set()
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - began
        await asyncio.gather(*(env.aclose() for env in envs))
        return {"steps_per_s": len(latencies) / elapsed, **_percentiles(latencies)}

    return asyncio.run(run())


def bench(url: str, sessions: int, seconds: float, rounds: int) -> dict[str, Any]:
    results: dict[str, dict[int, list[dict[str, Any]]]] = {"http": {}, "websocket": {}}
    for _ in range(rounds):
        for count in sorted({1, sessions}):  # --sessions 1: one measurement, not the same one twice
            for transport, one_round in (("http", http_round), ("websocket", ws_round)):
                results[transport].setdefault(count, []).append(one_round(url, count, seconds))
    report: dict[str, Any] = {}
    for transport, by_count in results.items():
        report[transport] = {}
        for count, runs in by_count.items():
            median = statistics.median(run["steps_per_s"] for run in runs)
            kept = min(runs, key=lambda run: abs(run["steps_per_s"] - median))
            report[transport][str(count)] = {key: round(value, 1) if key == "steps_per_s" else value
                                             for key, value in kept.items()}
    return report


def markdown(report: dict[str, Any]) -> str:
    n = report["sessions"]
    lines = [f"### Environment server: {ENV_ID}, server and client on one machine "
             f"({report['machine']['cpus']} CPUs)", "",
             "| transport | sessions | steps/s | step p50 (ms) | step p99 (ms) |", "|---|---:|---:|---:|---:|"]
    for transport, label in (("http", "HTTP (RemoteEnv, a thread per session)"),
                             ("websocket", "WebSocket (AsyncRemoteEnv, one event loop)")):
        for count in sorted({"1", str(n)}, key=int):
            row = report["results"][transport][count]
            lines.append(f"| {label} | {count} | {row['steps_per_s']:,.0f} | {row['p50_ms']:.2f} | "
                         f"{row['p99_ms']:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=ShowDefaults)
    parser.add_argument("--seconds", type=positive_float, default=3.0, help="duration of one measurement")
    parser.add_argument("--rounds", type=positive_int, default=3, help="alternating rounds; the median is kept")
    parser.add_argument("--sessions", type=positive_int, default=64,
                        help="concurrent sessions of the second measurement")
    parser.add_argument("--out", type=output_folder, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    process, url = start_server(max_sessions=2 * args.sessions + 8)
    try:
        results = bench(url, args.sessions, args.seconds, args.rounds)
    finally:
        stop_server_process(process)
    report = {"machine": machine(),
              "env_id": ENV_ID, "sessions": args.sessions, "seconds": args.seconds, "rounds": args.rounds,
              "results": results}
    table = markdown(report)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_env_server.json").write_text(json.dumps(report, indent=2))
    (args.out / "bench_env_server.md").write_text(table + "\n")
    print(f"\nwrote {args.out / 'bench_env_server.json'} and bench_env_server.md", file=sys.stderr)


if __name__ == "__main__":
    main()
