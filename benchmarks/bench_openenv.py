"""agentgym's environment server against OpenEnv's (``openenv-core``), on the same game.

Both sides serve ``games/GuessTheNumber-v0`` made by ``agentgym.make`` (OpenEnv's side through
:func:`agentgym.remote.openenv.openenv_app`, an OpenEnv ``Environment`` that calls the same
agentgym environment: identical game work per step, and the same observation, reward and
``info`` on the wire). Each server runs in a child process of its own with ``uvicorn.run``
(``log_level="warning"``, uvicorn's defaults otherwise), on loopback; the clients run here, each
side with its own project's client over its own recommended transport, the WebSocket:

- agentgym: ``serve_env`` (its defaults: 8 environment threads, and uvicorn's event loop:
  uvloop when installed) with ``inline_envs=[ENV_ID]``, the server's opt-in for environments
  whose steps are quick pure computation: the game's ``reset`` and ``step`` run on the event
  loop instead of a worker thread (the same game work per step; the client's input is
  validated and the environment's errors isolated as on the threads) +
  :class:`~agentgym.remote.AsyncRemoteEnv` (``/v1/ws``);
- OpenEnv: ``create_fastapi_app`` (``max_concurrent_envs`` above the session count, which
  switches its concurrent sessions on; a thread per session) + its ``EnvClient``
  (:class:`~agentgym.remote.openenv.AgentgymEnvClient`, ``/ws``; OpenEnv's HTTP ``/step`` makes
  a new environment per request, so sessions need the WebSocket). Its client connects with
  websockets' default, permessage-deflate, as OpenEnv ships it; ``--openenv-deflate off`` is a
  sensitivity check without it (written to ``bench_openenv_deflate_off.*``).

1 session, then ``--sessions`` concurrent sessions on one event loop; each session guesses at
random (the same guesses on both sides) and resets when an episode ends. Reported: steps per
second (all sessions together), the client-side round trip of each step (p50, p99), and the CPU
time the server process and the client process spent per step. Both servers stay up (idle when
not driven); one is driven at a time, the sides alternating within each of ``--rounds`` rounds
(who goes first alternates too); medians over the rounds, and the median of the per-round
(paired) ratios. Client and server share the machine's cores.

    python benchmarks/bench_openenv.py [--seconds 2] [--rounds 7] [--sessions 64] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Awaitable, Callable

import httpx
import psutil
from server_process import start_server_process, stop_server_process
from bench_cli import ShowDefaults, machine, output_folder, positive_float, positive_int

ENV_ID = "games/GuessTheNumber-v0"
SIDES = ("agentgym", "openenv")
TARGET_RATIO = 2.0
TARGET_P99_MS = 5.0


# ---------------------------------------------------------------------- the servers (child processes)
def serve(side: str, port: int, sessions: int) -> None:
    """Run one side's server in this process until it is terminated."""
    import uvicorn

    if side == "agentgym":
        from agentgym.remote import serve_env

        serve_env(port=port, max_sessions=sessions + 8, log_level="warning", inline_envs=[ENV_ID])
    else:
        from agentgym.remote.openenv import openenv_app

        uvicorn.run(openenv_app(ENV_ID, max_concurrent_envs=sessions + 8), host="127.0.0.1", port=port,
                    log_level="warning", timeout_graceful_shutdown=10)


def start_server(side: str, sessions: int, log: Path) -> tuple[subprocess.Popen, str]:
    """One side's server in a child process; its output goes to ``log`` (OpenEnv 0.3.0's server
    logs a traceback for each client that closes: its ``websocket.close()`` after the client's)."""
    def command(port: int) -> list[str]:
        return [sys.executable, __file__, "--serve", side, "--port", str(port), "--sessions", str(sessions)]

    with log.open("ab") as output:
        return start_server_process(command, f"the {side} server (its output: {log})", output=output)


# ---------------------------------------------------------------------- the clients (this process)
class Session:
    """One client session: ``open``, ``reset(seed)``, ``step(action) -> done``, ``close``."""

    open: Callable[[], Awaitable[None]]
    reset: Callable[[int | None], Awaitable[None]]
    step: Callable[[str], Awaitable[bool]]
    close: Callable[[], Awaitable[None]]


def agentgym_session(url: str) -> Session:
    from agentgym.remote import AsyncRemoteEnv

    env, session = AsyncRemoteEnv(ENV_ID, server=url), Session()

    async def reset(seed: int | None) -> None:
        _, info = await env.areset(seed=seed)
        assert "remote_error" not in info, info

    async def step(action: str) -> bool:
        _, _, terminated, truncated, info = await env.astep(action)
        assert "remote_error" not in info, info
        return terminated or truncated

    session.open, session.reset, session.step, session.close = env.open, reset, step, env.aclose
    return session


def openenv_session(url: str) -> Session:
    from agentgym.remote.openenv import AgentgymAction, AgentgymEnvClient

    client, session = AgentgymEnvClient(base_url=url), Session()

    async def open_() -> None:
        await client.connect()

    async def reset(seed: int | None) -> None:
        await client.reset(seed=seed)

    async def step(action: str) -> bool:
        return (await client.step(AgentgymAction(action=action))).done

    session.open, session.reset, session.step, session.close = open_, reset, step, client.close
    return session


def _cpu(process: psutil.Process | None) -> float:
    if process is None:
        return 0.0
    times = process.cpu_times()
    return times.user + times.system


def _percentiles(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    at = lambda q: 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"p50_ms": round(at(0.5), 3), "p99_ms": round(at(0.99), 3)}


def measure(side: str, url: str, sessions: int, seconds: float, server_pid: int | None = None) -> dict[str, Any]:
    """One measurement; with ``server_pid``, also the CPU time the server and this process spent
    per step (user + system: less sensitive than wall time to other load on the machine)."""
    make = agentgym_session if side == "agentgym" else openenv_session
    server = psutil.Process(server_pid) if server_pid else None
    client = psutil.Process()

    async def run() -> dict[str, Any]:
        clients = [make(url) for _ in range(sessions)]
        await asyncio.gather(*(client.open() for client in clients))
        latencies: list[float] = []
        episodes = [0]
        ready = asyncio.Event()
        deadline: list[float] = []

        async def play(index: int) -> None:
            client, rng = clients[index], random.Random(index)
            await client.reset(index)
            await ready.wait()
            while time.perf_counter() < deadline[0]:
                started = time.perf_counter()
                done = await client.step(str(rng.randint(1, 20)))
                latencies.append(time.perf_counter() - started)
                if done:
                    episodes[0] += 1
                    await client.reset(None)

        tasks = [asyncio.create_task(play(index)) for index in range(sessions)]
        await asyncio.sleep(0.3)  # every session reset
        cpu_before = [_cpu(process) for process in (server, client)]
        began = time.perf_counter()
        deadline.append(began + seconds)
        ready.set()
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - began
        server_cpu, client_cpu = (_cpu(process) - before for process, before in zip((server, client), cpu_before))
        await asyncio.gather(*(client.close() for client in clients))
        steps = len(latencies)
        return {"steps_per_s": steps / elapsed, **_percentiles(latencies),
                "server_cpu_us_per_step": round(1e6 * server_cpu / steps, 1) if server else None,
                "client_cpu_us_per_step": round(1e6 * client_cpu / steps, 1),
                "steps_per_episode": round(steps / max(1, episodes[0]), 2)}

    return asyncio.run(run())


def bench(sessions: int, seconds: float, rounds: int, logs: Path) -> dict[str, Any]:
    """Both servers up (a child process each), driven one at a time: in every round, for 1 then
    ``sessions`` sessions, one side then the other (who goes first alternates), so the two
    measurements of a pair are seconds apart. Reported: each figure's median over the rounds,
    and the median of the paired ratios (steadier than a ratio of medians on a shared machine)."""
    servers: dict[str, tuple[subprocess.Popen, str]] = {}
    runs: dict[str, dict[int, list[dict[str, Any]]]] = {side: {} for side in SIDES}
    inline: dict[str, Any] = {}
    try:
        for side in SIDES:  # one failing to start stops those already up (the finally below)
            servers[side] = start_server(side, sessions, logs / f"{side}-server.log")
        for side, (_, url) in servers.items():
            measure(side, url, 1, min(0.5, seconds))  # warm-up: imports, first connections
        for index in range(rounds):
            for count in sorted({1, sessions}):  # --sessions 1: one measurement, not the same one twice
                for side in (SIDES if index % 2 == 0 else SIDES[::-1]):
                    process, url = servers[side]
                    result = measure(side, url, count, seconds, server_pid=process.pid)
                    runs[side].setdefault(count, []).append(result)
                    print(f"round {index + 1} {side:8s} {count:3d} sessions: {result}", file=sys.stderr)
        # The inline steps' guard: were the game's steps on the event loop the whole time?
        inline = httpx.get(servers["agentgym"][1] + "/metrics", timeout=10).json()["inline"]
        if inline["demoted"]:
            print(f"warning: the agentgym server demoted {inline['demoted']} to its threads", file=sys.stderr)
    finally:
        for process, _ in servers.values():
            stop_server_process(process)
    report: dict[str, Any] = {"agentgym_inline": inline}
    for side, by_count in runs.items():
        report[side] = {}
        for count, results in by_count.items():  # each figure: its median over the rounds
            report[side][str(count)] = {key: round(statistics.median(result[key] for result in results), 3)
                                        for key in results[0]}
            report[side][str(count)]["rounds"] = results
    report["paired_ratio"] = {}
    for count in runs["agentgym"]:
        ratios = [ours["steps_per_s"] / theirs["steps_per_s"]
                  for ours, theirs in zip(runs["agentgym"][count], runs["openenv"][count])]
        report["paired_ratio"][str(count)] = {"median": round(statistics.median(ratios), 3),
                                              "rounds": [round(ratio, 3) for ratio in ratios]}
    return report


def markdown(report: dict[str, Any]) -> str:
    results, n, paired = report["results"], report["sessions"], report["results"]["paired_ratio"]
    lines = [f"#### agentgym vs OpenEnv {report['versions']['openenv-core']} environment servers: {ENV_ID}, "
             f"WebSocket, server and client on one machine ({report['machine']['cpus']} CPUs)"
             + ("" if report["openenv_client_deflate"] == "on" else "; OpenEnv's client without permessage-deflate"), "",
             "| sessions | agentgym steps/s | OpenEnv steps/s | ratio, paired rounds (target ≥ 2x) | agentgym p50 / p99 (ms) | "
             "OpenEnv p50 / p99 (ms) | agentgym p99 target < 5 ms |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for count in sorted({"1", str(n)}, key=int):
        ours, theirs = results["agentgym"][count], results["openenv"][count]
        ratio = paired[count]["median"]
        p99_note = ("met" if ours["p99_ms"] < TARGET_P99_MS else "missed") if count == str(n) else "—"
        lines.append(f"| {count} | {ours['steps_per_s']:,.0f} | {theirs['steps_per_s']:,.0f} | "
                     f"**{ratio:.2f}x** ({'met' if ratio >= TARGET_RATIO else 'missed'}) | "
                     f"{ours['p50_ms']:.2f} / {ours['p99_ms']:.2f} | {theirs['p50_ms']:.2f} / {theirs['p99_ms']:.2f} | "
                     f"{p99_note} |")
    lines += ["", "CPU time per step, µs (user + system; steadier than wall time when other jobs share the machine):", "",
              "| sessions | agentgym server | OpenEnv server | server ratio | agentgym client | OpenEnv client | "
              "server + client ratio |", "|---:|---:|---:|---:|---:|---:|---:|"]
    for count in sorted({"1", str(n)}, key=int):
        ours, theirs = results["agentgym"][count], results["openenv"][count]
        both = ((theirs["server_cpu_us_per_step"] + theirs["client_cpu_us_per_step"])
                / (ours["server_cpu_us_per_step"] + ours["client_cpu_us_per_step"]))
        lines.append(f"| {count} | {ours['server_cpu_us_per_step']:.0f} | {theirs['server_cpu_us_per_step']:.0f} | "
                     f"{theirs['server_cpu_us_per_step'] / ours['server_cpu_us_per_step']:.2f}x | "
                     f"{ours['client_cpu_us_per_step']:.0f} | {theirs['client_cpu_us_per_step']:.0f} | {both:.2f}x |")
    lines += ["", "Paired ratios by round: " + "; ".join(
        f"{count} session(s): {', '.join(f'{ratio:.2f}' for ratio in paired[count]['rounds'])}" for count in sorted({"1", str(n)}, key=int))
        + f". Load average before / after: {report['load_average']['before']} / {report['load_average']['after']}."
        + f" agentgym's server ran the game's reset and step on its event loop (inline_envs; "
        f"{results['agentgym_inline']['calls']:,} inline calls, demoted to threads: "
        f"{results['agentgym_inline']['demoted'] or 'never'}); event loop: "
        f"{'uvloop' if report['versions']['uvloop'] else 'asyncio'} on both servers; agentgym's answers written by "
        f"{'orjson' if report['versions'].get('orjson') else 'the standard library'}."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=ShowDefaults)
    parser.add_argument("--seconds", type=positive_float, default=2.0, help="duration of one measurement")
    parser.add_argument("--rounds", type=positive_int, default=7, help="alternating rounds; medians are reported")
    parser.add_argument("--sessions", type=positive_int, default=64,
                        help="concurrent sessions of the second measurement")
    parser.add_argument("--out", type=output_folder, default=Path(__file__).parent / "results")
    parser.add_argument("--openenv-deflate", choices=("on", "off"), default="on",
                        help="OpenEnv's client negotiates permessage-deflate (websockets' default, which its "
                             "EnvClient keeps); 'off' connects it without, as agentgym's client does (a "
                             "sensitivity check: not OpenEnv's out-of-the-box configuration)")
    parser.add_argument("--serve", choices=SIDES, help=argparse.SUPPRESS)  # the child process's role
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.sessions)
        return
    try:
        from agentgym.remote.openenv import AgentgymEnvClient  # noqa: F401 - needs the baseline's package
    except ImportError as exc:
        sys.exit(f"bench_openenv.py: {exc}")
    load_before = os.getloadavg()[0]
    if args.openenv_deflate == "off":
        import functools

        import openenv.core.env_client as openenv_client

        openenv_client.ws_connect = functools.partial(openenv_client.ws_connect, compression=None)
    logs = Path(tempfile.mkdtemp(prefix="bench_openenv-"))
    print(f"server output: {logs}", file=sys.stderr)
    results = bench(args.sessions, args.seconds, args.rounds, logs)
    versions = {name: metadata.version(name) for name in ("openenv-core", "fastapi", "uvicorn", "websockets",
                                                          "pydantic")}
    for optional in ("uvloop", "httptools", "orjson"):
        try:
            versions[optional] = metadata.version(optional)
        except metadata.PackageNotFoundError:
            versions[optional] = None
    report = {"machine": machine(),
              "env_id": ENV_ID, "openenv_client_deflate": args.openenv_deflate, "sessions": args.sessions,
              "seconds": args.seconds, "rounds": args.rounds,
              "versions": versions, "load_average": {"before": round(load_before, 2),
                                                     "after": round(os.getloadavg()[0], 2)}, "targets": {"ratio": TARGET_RATIO, "p99_ms_at_sessions": TARGET_P99_MS},
              "results": results}
    table = markdown(report)
    print(table)
    name = "bench_openenv" if args.openenv_deflate == "on" else "bench_openenv_deflate_off"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / f"{name}.md").write_text(table + "\n")
    print(f"\nwrote {args.out / name}.json and {name}.md", file=sys.stderr)


if __name__ == "__main__":
    main()
