"""GUI environments in a real Chromium: agentgym's ``gui/Navigation-v0`` against BrowserGym's
coordinate actions, on the same page, with the same action stream.

The page: the generated phone of ``gui/Navigation-v0`` (seed ``--seed`` + environment index,
``--device``, ``--difficulty``), one self-contained HTML document (:func:`agentgym.envs.gui.runtime.page_html`).
agentgym loads it with ``page.set_content``; BrowserGym's task opens the very same HTML from a
loopback HTTP server of this process. Both run the system's Chromium
(:func:`agentgym.browser.chromium_executable`) at the same viewport.

The action stream (seeded, the same on both sides, so both pages go through the same states):
85% clicks at uniformly random points of the screen (the launcher's icons, rows, switches,
buttons... whatever is there), 15% the Escape key (the app's "back"). agentgym writes
``{"action": "click", "x": X, "y": Y}`` / ``{"action": "key", "key": "Escape"}``; BrowserGym
runs its ``coord`` action set's ``mouse_click(X, Y)`` / ``keyboard_press('Escape')``. An
episode is ``--episode-steps`` steps, then a reset on the same page.

What a step returns: agentgym's screenshot view (``{"text", "image"}``: the screenshot as an
array and the task's text); BrowserGym's observation (screenshot array, DOM snapshot,
accessibility tree, element properties: what it always extracts). Both are timed from the
action to the observation in hand, the screenshot included.

How each side runs N environments concurrently, each its recommended way: agentgym in one
process, N environments on one :class:`~agentgym.browser.BrowserPool` (``--pool`` browsers,
default as the shared pool: min(N, CPUs, 4); a context per environment), a thread each; BrowserGym, whose Playwright is a process-wide
synchronous instance, as N processes (it also launches its chat window's browser per
environment, as it always does). BrowserGym runs with ``slow_mo=0`` and
``pre_observation_delay=0`` (its defaults, a 0.5 s sleep before every observation, would only
make it slower).

Measured, in one run, in alternating windows (``--rounds`` x ``--window`` seconds per side, so
that a busy machine slows both alike): **steps/s** of the N environments together (step calls
only, and with the resets included), the median step latency, errors (exceptions), and
**memory per environment**: the proportional set size (PSS) of every process of the side (the
Python process(es), Playwright's driver, every Chromium process) with all environments open,
divided by N. Ratios are agentgym / BrowserGym (target: >= 1.5x steps/s). After each side closes,
none of its processes may be left.

Then, unless ``--baselines 0``, a table of baselines: the success rate and mean return of the
oracle and of the random agent on each task at each level (``--baselines`` seeds each;
``--only-baselines`` skips the comparison).

BrowserGym pins ``playwright==1.44`` (agentgym has a newer one), so it runs from a virtual
environment of its own, ``.venv/browsergym`` (``--setup-browsergym`` makes it;
``--browsergym-python`` names another interpreter)::

    python benchmarks/bench_gui.py --setup-browsergym            # once
    python benchmarks/bench_gui.py [--envs 1 4] [--pool P] [--rounds 3] [--window 8]
        [--episode-steps 20] [--device phone] [--difficulty medium] [--baselines 10] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from browser_bench import (REPO, WorkerFleet, default_browsergym_python, first_line, in_threads,
                           make_browsergym_venv, memory_of, serve_steppers, still_running,
                           use_chromium_in_browsergym)
from bench_cli import ShowDefaults, cpus_and_load, non_negative_int, output_folder, positive_float, positive_int

MESSAGE_PREFIX = "@@bench-gui "
SIZES = {"desktop": (1280, 800), "phone": (412, 915)}
#: Each task's default device (the registered environments').
DEVICE_OF = {"gui/Grounding-v0": "desktop", "gui/ActionPrediction-v0": "phone", "gui/Navigation-v0": "phone"}


# ============================================================================ the workers
# A worker hosts environments and talks to the parent in browser_bench's protocol; its window
# message is {"windows": [[t0, t1], ...]}, the wall-clock windows to step in (the environments
# stay open after the last one). The BrowserGym worker runs in BrowserGym's virtual environment
# and imports nothing of agentgym.

def next_action(rng: random.Random, size: tuple[int, int]) -> tuple[str, float, float]:
    """The benchmark's action stream: ``("click", x, y)`` or ``("escape", 0, 0)``."""
    if rng.random() < 0.85:
        return "click", round(rng.uniform(0, size[0] - 1), 1), round(rng.uniform(0, size[1] - 1), 1)
    return "escape", 0.0, 0.0


class Stepper:
    """One environment's loop over the windows, and its tallies."""

    def __init__(self, index: int, seed: int, size: tuple[int, int], reset, step, episode_steps: int) -> None:
        self.index, self.size, self.reset_fn, self.step_fn = index, size, reset, step
        self.episode_steps = episode_steps
        self.rng = random.Random(seed * 7919 + index)
        self.steps = self.resets = 0
        self.step_s: list[float] = []
        self.reset_s: list[float] = []
        self.busy_s = 0.0
        self.errors: list[str] = []
        self.in_episode = 0

    def reset(self) -> None:
        start = time.perf_counter()
        self.reset_fn()
        self.reset_s.append(time.perf_counter() - start)
        self.in_episode = 0

    def run(self, windows: list[list[float]]) -> None:
        for start_at, stop_at in windows:
            while time.time() < start_at:
                time.sleep(0.002)
            began = time.perf_counter()
            while time.time() < stop_at:
                try:
                    if self.in_episode >= self.episode_steps:
                        self.reset()
                        self.resets += 1
                    kind, x, y = next_action(self.rng, self.size)
                    start = time.perf_counter()
                    self.step_fn(kind, x, y)
                    took = time.perf_counter() - start
                    self.steps += 1
                    self.step_s.append(took)
                    self.in_episode += 1
                except Exception as exc:  # noqa: BLE001 - counted and reported; the loop goes on
                    self.errors.append(f"{type(exc).__name__}: {first_line(exc)}")
                    self.in_episode = self.episode_steps
                    time.sleep(0.05)
            self.busy_s += time.perf_counter() - began

    def result(self) -> dict[str, Any]:
        return {"steps": self.steps, "resets": self.resets, "step_s": self.step_s, "reset_s": self.reset_s,
                "busy_s": self.busy_s, "errors": self.errors}


def _serve(steppers: list[Stepper], close, *, threaded: bool) -> None:
    """browser_bench's worker protocol with this benchmark's prefix and window message
    (``threaded=False``: BrowserGym's one stepper, on this thread)."""
    serve_steppers(steppers, close, prefix=MESSAGE_PREFIX, run=lambda s, message: s.run(message["windows"]),
                   threaded=threaded)


def worker_ours(args: argparse.Namespace) -> None:
    """N agentgym navigation environments on one pool, a thread each."""
    from agentgym.browser import BrowserPool
    from agentgym.envs.gui.navigation import NavigationEnv

    pool = BrowserPool(args.pool)
    size = SIZES[args.device]
    envs = [NavigationEnv(args.difficulty, pool=pool, device=args.device) for _ in range(args.n)]

    def make(index: int, env: NavigationEnv):
        def reset() -> None:
            env.reset(seed=args.seed + index)

        def step(kind: str, x: float, y: float) -> None:
            action = ({"action": "click", "x": x, "y": y} if kind == "click" else {"action": "key", "key": "Escape"})
            observation, _, terminated, truncated, _ = env.step(json.dumps(action))
            assert observation["image"].shape == (size[1], size[0], 3)
            if terminated or truncated:
                reset()
        return reset, step

    steppers = [Stepper(i, args.seed, size, *make(i, env), args.episode_steps) for i, env in enumerate(envs)]
    in_threads(Stepper.reset, steppers)
    if args.pages:  # the very pages, for BrowserGym's side
        from agentgym.envs.gui.runtime import page_html

        for index, env in enumerate(envs):
            Path(args.pages, f"page-{index}.html").write_text(page_html({**env.app_spec, "nonce": 1}), encoding="utf-8")

    def close() -> None:
        for env in envs:
            env.close()
        pool.close()

    _serve(steppers, close, threaded=True)


def worker_browsergym(args: argparse.Namespace) -> None:
    """One BrowserGym environment with the coordinate action set, on the served page."""
    from browsergym.core.action.highlevel import HighLevelActionSet
    from browsergym.core.env import BrowserEnv
    from browsergym.core.task import AbstractBrowserTask

    size = SIZES[args.device]
    url = f"{args.url}/page-{args.index}.html"

    class ServedPage(AbstractBrowserTask):
        @classmethod
        def get_task_id(cls) -> str:
            return "agentgym-gui-page"

        def __init__(self, seed: int) -> None:
            super().__init__(seed)
            self.viewport = {"width": size[0], "height": size[1]}
            self.slow_mo = 0
            self.timeout = 10_000

        def setup(self, page):
            page.goto(url, wait_until="load")
            return "Operate the phone.", {}

        def validate(self, page, chat_messages):
            return 0.0, False, "", {}

    use_chromium_in_browsergym(args.chromium)
    env = BrowserEnv(task_entrypoint=ServedPage, headless=True, pre_observation_delay=0.0,
                     action_mapping=HighLevelActionSet(subsets=["coord"], strict=False).to_python_code)

    def reset() -> None:
        env.reset(seed=args.seed + args.index)

    def step(kind: str, x: float, y: float) -> None:
        action = f"mouse_click({x}, {y})" if kind == "click" else "keyboard_press('Escape')"
        observation, _, terminated, truncated, _ = env.step(action)
        assert observation["screenshot"].shape == (size[1], size[0], 3)
        if terminated or truncated:
            reset()

    stepper = Stepper(args.index, args.seed, size, reset, step, args.episode_steps)
    stepper.reset()
    _serve([stepper], env.close, threaded=False)


# ============================================================================= the parent
def serve(directory: Path) -> tuple[ThreadingHTTPServer, str]:
    class Quiet(SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(directory), **kw)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def summarise(results: list[dict[str, Any]], n: int, window_s: float) -> dict[str, Any]:
    steps = sum(r["steps"] for r in results)
    step_s = [s for r in results for s in r["step_s"]]
    reset_s = [s for r in results for s in r["reset_s"]]
    busy = max(r["busy_s"] for r in results) or window_s
    stepping = sum(step_s) / n if step_s else 0.0
    return {
        "steps": steps, "resets": sum(r["resets"] for r in results),
        "steps_per_s": steps / busy,
        "steps_per_s_without_resets": steps / stepping if stepping else 0.0,
        "median_step_ms": 1000 * statistics.median(step_s) if step_s else None,
        "mean_step_ms": 1000 * statistics.fmean(step_s) if step_s else None,
        "median_reset_ms": 1000 * statistics.median(reset_s) if reset_s else None,
        "errors": [e for r in results for e in r["errors"]][:10],
        "error_count": sum(len(r["errors"]) for r in results),
    }


def run_pair(n: int, args: argparse.Namespace, url: str, pages: Path, log_dir: Path) -> dict[str, Any]:
    """Both sides at N environments, in alternating windows."""
    common = ["--seed", str(args.seed), "--episode-steps", str(args.episode_steps), "--device", args.device,
              "--difficulty", args.difficulty, "--chromium", args.chromium]
    base_env = {**os.environ, "PYTHONPATH": str(REPO)}
    sides = {"agentgym": WorkerFleet("agentgym", [[sys.executable, __file__, "--worker", "ours", "--n", str(n),
                                             "--pool", str(args.pool or max(1, min(n, os.cpu_count() or 1, 4))),
                                             "--pages", str(pages), *common]],
                                     base_env, log_dir, prefix=MESSAGE_PREFIX)}
    out: dict[str, Any] = {"envs": n}
    try:
        ready = {"agentgym": sides["agentgym"].gather("ready", 300)}  # it writes the pages
        sides["browsergym"] = WorkerFleet("browsergym", [[args.browsergym_python, __file__, "--worker", "browsergym",
                                                           "--index", str(i), "--url", url, *common] for i in range(n)],
                                          {k: v for k, v in base_env.items() if k != "PYTHONPATH"}, log_dir,
                                          prefix=MESSAGE_PREFIX)
        ready["browsergym"] = sides["browsergym"].gather("ready", 300)
        start = time.time() + 2.0
        windows: dict[str, list[list[float]]] = {"agentgym": [], "browsergym": []}
        for round_index in range(args.rounds):
            order = ("agentgym", "browsergym") if round_index % 2 == 0 else ("browsergym", "agentgym")
            for label in order:
                windows[label].append([start, start + args.window])
                start += args.window + 1.0
        for label, side in sides.items():
            side.tell({"windows": windows[label]})
        results = {label: side.gather("result", args.rounds * 2 * (args.window + 1) + 120) for label, side in sides.items()}
        for label, side in sides.items():
            memory = memory_of(side.pids())
            flat = [r for worker in results[label] for r in worker]
            summary = summarise(flat, n, args.rounds * args.window)
            summary["first_reset_ms"] = 1000 * statistics.median([s for worker in ready[label] for s in worker["reset_s"]])
            summary["memory_per_env_mb"] = memory["pss"] / n / 2**20
            summary["rss_per_env_mb"] = memory["rss"] / n / 2**20
            summary["processes"] = memory["processes"]
            side.tell({"close": True})
            side.gather("closed", 120)
            side.finish()
            summary["processes_left"] = still_running(memory["seen"])
            out[label] = summary
    except BaseException:
        for side in sides.values():
            side.kill()
        raise
    ours, theirs = out["agentgym"], out["browsergym"]
    out["ratio_steps_per_s"] = ours["steps_per_s"] / theirs["steps_per_s"] if theirs["steps_per_s"] else None
    out["ratio_steps_per_s_without_resets"] = (ours["steps_per_s_without_resets"] / theirs["steps_per_s_without_resets"]
                                               if theirs["steps_per_s_without_resets"] else None)
    out["ratio_memory_per_env"] = ours["memory_per_env_mb"] / theirs["memory_per_env_mb"]
    return out


def baselines(episodes: int, device_of: dict[str, str]) -> list[dict[str, Any]]:
    """Success rate and mean return of the oracle and the random agent on each task and level
    (``episodes`` seeds each, grounding twice as many; the registered turn budgets: 1 click for
    grounding, 40 predictions, 30 navigation steps)."""
    from agentgym.browser import BrowserPool
    from agentgym.envs.gui.action_prediction import ActionPredictionEnv
    from agentgym.envs.gui.grounding import GroundingEnv
    from agentgym.envs.gui.navigation import NavigationEnv

    tasks = [("gui/Grounding-v0", GroundingEnv, 2 * episodes, 1), ("gui/ActionPrediction-v0", ActionPredictionEnv, episodes, 40),
             ("gui/Navigation-v0", NavigationEnv, episodes, 30)]
    rows = []
    with BrowserPool(1) as pool:
        for env_id, cls, count, budget in tasks:
            for difficulty in ("easy", "medium", "hard"):
                env = cls(difficulty, pool=pool, device=device_of[env_id])
                try:
                    for policy in ("oracle", "random"):
                        rng = random.Random(0)
                        successes, returns, steps = 0, [], 0
                        for seed in range(count):
                            env.reset(seed=seed)
                            total = 0.0
                            for _ in range(budget):
                                action = env.oracle_action() if policy == "oracle" else env.random_action(rng)
                                _, reward, terminated, _, info = env.step(action)
                                total += reward
                                steps += 1
                                if terminated:
                                    successes += bool(info["success"])
                                    break
                            returns.append(total)
                        rows.append({"env": env_id, "difficulty": difficulty, "device": env.device, "policy": policy,
                                     "episodes": count, "success": successes / count, "mean_return": statistics.fmean(returns),
                                     "steps_per_episode": steps / count})
                        print(f"{env_id} {difficulty} {policy}: success {successes}/{count}", flush=True)
                finally:
                    env.close()
    return rows


def setup_browsergym(python: str) -> None:
    """Make BrowserGym's virtual environment (browsergym-core pins playwright 1.44)."""
    make_browsergym_venv(python, ["browsergym-core"])


def markdown(report: dict[str, Any]) -> str:
    lines = ["# GUI environments: agentgym vs BrowserGym (coordinate actions)", "", report["machine"], ""]
    if report["pairs"]:
        lines += [f"{report['device']} ({report['difficulty']}), {report['rounds']} x {report['window_s']:.0f} s per side, "
                  f"episodes of {report['episode_steps']} steps.", "",
                  "| envs | side | steps/s | steps/s (no resets) | median step ms | median reset ms | MB/env (PSS) | errors |",
                  "|---:|---|---:|---:|---:|---:|---:|---:|"]
    for pair in report["pairs"]:
        for label in ("agentgym", "browsergym"):
            s = pair[label]
            lines.append(f"| {pair['envs']} | {label} | {s['steps_per_s']:.1f} | {s['steps_per_s_without_resets']:.1f} | "
                         f"{s['median_step_ms']:.0f} | {s['median_reset_ms'] or 0:.0f} | {s['memory_per_env_mb']:.0f} | "
                         f"{s['error_count']} |")
        lines.append(f"| {pair['envs']} | **ratio** | **{pair['ratio_steps_per_s']:.2f}x** | "
                     f"{pair['ratio_steps_per_s_without_resets']:.2f}x | | | {pair['ratio_memory_per_env']:.2f}x | |")
    if report.get("baselines"):
        lines += ["", "## Baselines (oracle and random agent)", "",
                  "| environment | level | device | policy | episodes | success | mean return | steps/episode |",
                  "|---|---|---|---|---:|---:|---:|---:|"]
        for row in report["baselines"]:
            lines.append(f"| {row['env']} | {row['difficulty']} | {row['device']} | {row['policy']} | {row['episodes']} | "
                         f"{row['success']:.0%} | {row['mean_return']:.2f} | {row['steps_per_episode']:.1f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=ShowDefaults)
    parser.add_argument("--envs", type=positive_int, nargs="+", default=[1, 4])
    parser.add_argument("--pool", type=positive_int, default=None,
                        help="browsers of agentgym's pool (default as its shared pool: min(N, CPUs, 4))")
    parser.add_argument("--rounds", type=positive_int, default=3)
    parser.add_argument("--window", type=positive_float, default=8.0, help="seconds per side per round")
    parser.add_argument("--episode-steps", type=positive_int, default=20)
    parser.add_argument("--device", choices=sorted(SIZES), default="phone")
    parser.add_argument("--difficulty", choices=["easy", "medium", "hard"], default="medium")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--baselines", type=non_negative_int, default=10,
                        help="episodes per task and level for the oracle / random table (0: none)")
    parser.add_argument("--only-baselines", action="store_true", help="the baselines table alone")
    parser.add_argument("--out", type=output_folder, default=str(REPO / "benchmarks" / "results"))
    parser.add_argument("--browsergym-python", default=default_browsergym_python())
    parser.add_argument("--setup-browsergym", action="store_true")
    parser.add_argument("--chromium", default=None)
    # worker arguments
    parser.add_argument("--worker", choices=["ours", "browsergym"])
    parser.add_argument("--n", type=int, default=1)
    parser.add_argument("--index", type=int, default=0)
    parser.add_argument("--url", default="")
    parser.add_argument("--pages", default="")
    args = parser.parse_args()
    if args.worker == "ours":
        return worker_ours(args)
    if args.worker == "browsergym":
        return worker_browsergym(args)
    if args.setup_browsergym:
        setup_browsergym(args.browsergym_python)
        return
    if args.only_baselines:
        report = {"machine": f"{platform.node()} ({os.cpu_count()} CPUs, Python {platform.python_version()})",
                  "device": args.device, "difficulty": args.difficulty, "rounds": 0, "window_s": 0.0,
                  "episode_steps": args.episode_steps, "command": " ".join(sys.argv), "pairs": [],
                  "baselines": baselines(args.baselines, DEVICE_OF)}
        print(markdown(report))
        return
    if not Path(args.browsergym_python).exists():
        raise SystemExit(f"BrowserGym's interpreter {args.browsergym_python} is missing: run with --setup-browsergym")
    from agentgym.browser import chromium_executable

    args.chromium = args.chromium or chromium_executable()
    with tempfile.TemporaryDirectory(prefix="bench-gui-") as tmp:
        pages, logs = Path(tmp) / "pages", Path(tmp) / "logs"
        pages.mkdir()
        logs.mkdir()
        server, url = serve(pages)
        try:
            pairs = []
            for n in args.envs:
                pair = run_pair(n, args, url, pages, logs)
                pairs.append(pair)
                print(f"N={n}: agentgym {pair['agentgym']['steps_per_s']:.1f} steps/s "
                      f"({pair['agentgym']['median_step_ms']:.0f} ms/step, {pair['agentgym']['memory_per_env_mb']:.0f} MB/env), "
                      f"BrowserGym {pair['browsergym']['steps_per_s']:.1f} steps/s "
                      f"({pair['browsergym']['median_step_ms']:.0f} ms/step, {pair['browsergym']['memory_per_env_mb']:.0f} MB/env): "
                      f"{pair['ratio_steps_per_s']:.2f}x steps/s, {pair['ratio_memory_per_env']:.2f}x memory", flush=True)
        finally:
            server.shutdown()
    report = {"machine": f"{platform.node()} ({os.cpu_count()} CPUs, Python {platform.python_version()})",
              **cpus_and_load(),
              "device": args.device, "difficulty": args.difficulty, "rounds": args.rounds, "window_s": args.window,
              "episode_steps": args.episode_steps, "pool": args.pool, "command": " ".join(sys.argv), "pairs": pairs,
              "baselines": baselines(args.baselines, DEVICE_OF) if args.baselines else []}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_gui.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "bench_gui.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
