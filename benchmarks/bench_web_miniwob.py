"""MiniWoB++ in a real Chromium: agentgym's ``MiniWoBEnv`` against BrowserGym's MiniWoB environments.

Both sides play the same MiniWoB++ task pages (the ``miniwob`` wheel's ``html/miniwob/`` folder,
served by agentgym's loopback server: BrowserGym reads it from ``MINIWOB_URL``) in the same
Chromium (the system's, :func:`agentgym.browser.chromium_executable`; BrowserGym's launches,
including the second browser of its chat window, are given that ``executable_path``), with the
same viewport (BrowserGym's MiniWoB one, 332 x 214) and the same random-but-valid action stream:
``click`` on a random interactive element (80%), ``fill`` of a random interactive element with a
word (15%, errors included: a button cannot be filled), ``noop(0)`` (5%); an episode ends when the
task ends it or after ``--episode-steps`` steps, and the environment is reset with a new seed.

How each side runs N environments concurrently, each its recommended way:

- **agentgym**: one process; N :class:`MiniWoBEnv` on one :class:`~agentgym.browser.BrowserPool`
  of ``--pools`` browsers (a fresh context per episode, several contexts per browser), one
  stepping thread per environment. Observation: the accessibility-tree text (the default), and
  once per N with ``screenshot=True`` (``{"text", "image"}``, what BrowserGym always returns).
- **BrowserGym** (``browsergym-miniwob``): its Playwright is a process-wide synchronous instance,
  so concurrent environments are separate processes (as AgentLab runs them): N processes of one
  environment each. Run with ``slow_mo=0``, ``pre_observation_delay=0`` and a 15 s Playwright
  timeout (its MiniWoB tasks default to a 100 ms ``slow_mo``, a 0.5 s sleep before every
  observation and 5 s, which page loads exceed on a busy machine; agentgym allows 15 s for a
  load); its defaults are measured separately with ``--browsergym-defaults``. Its observation (AXTree,
  DOM snapshot, screenshot) is turned into the text an LLM reads with its own
  ``flatten_axtree_to_str``, timed inside the step (its share is reported).

BrowserGym pins ``playwright==1.44`` (agentgym's environment has a newer one), so it runs from
a virtual environment of its own: ``--setup-browsergym`` makes it at ``.venv/browsergym``
(``--browsergym-python`` or ``AGENTGYM_BROWSERGYM_PYTHON`` name another interpreter).

Measured per configuration, in one run: **steps/s** of all N environments together over
``--duration`` seconds of wall time (resets included: they are part of every rollout); **CPU
per step**, the CPU time all the side's processes used in that window (browsers that exited
and renderers of closed contexts included, through their parents' reaped-children times)
divided by the steps -- unlike steps/s it does not depend on how the machine's cores were
shared with other programs, nor on how many processes each side runs to claim them; the median
step and reset latency, errors (exceptions; error observations are counted apart), and
**memory per environment**: the proportional set size (PSS: shared pages divided among the
processes that map them, so N browsers of one binary are not counted N times) of every process
of the side -- the Python process(es), Playwright's driver, every Chromium process -- summed
and divided by N (RSS alongside): the median of readings at 20%, 40% ... 100% of the window
and one after it with all environments open (an environment whose episode ended as the window
closed starts the next one first, untimed; renderers come and go with the episodes). PSS
splits a page among every process on the machine that maps it, so other programs running the
same Chromium (or Node.js) lower it, the more for the side with fewer processes of its own;
**own memory** per environment does not depend on them: the distinct physical pages of all the
side's processes, each counted once (``/proc/<pid>/pagemap``; needs root, blank otherwise),
read once after the window. The ratios are agentgym / BrowserGym at the same N (targets:
>= 1.5x steps/s, <= 0.7x memory per environment). After each configuration no process that
either side ran may be left.

    python benchmarks/bench_web_miniwob.py --setup-browsergym        # once
    python benchmarks/bench_web_miniwob.py [--envs 1 4 16] [--pools 1 2 4] [--duration 20]
        [--tasks click-button ...] [--episode-steps 10] [--browsergym-defaults] [--out benchmarks/results]
        [--driver-node /usr/bin/node]   # another Node.js for agentgym's Playwright driver
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from browser_bench import (BROWSERGYM_VENV, WorkerFleet, cpu_seconds, default_browsergym_python, first_line,
                           in_threads, make_browsergym_venv, memory_of, serve_steppers, still_running,
                           use_chromium_in_browsergym)
from bench_cli import ShowDefaults, cpus_and_load, output_file, output_folder, positive_float, positive_int

#: Easy and medium tasks with several interactive elements (BrowserGym has all of them).
DEFAULT_TASKS = ("click-button", "click-link", "click-dialog", "click-checkboxes", "click-tab",
                 "enter-text", "focus-text", "login-user")
#: BrowserGym's MiniWoB viewport, used on both sides (MiniWoBEnv's default, MINIWOB_VIEWPORT,
#: is the same; given explicitly here because the comparison depends on it, not on our default).
VIEWPORT = (332, 214)
WORDS = ("hello", "42", "submit", "yes", "blue", "Paris", "")
MESSAGE_PREFIX = "@@bench "
#: Memory readings during the timed window (the median of these and one after it is reported).
MEMORY_SAMPLES = 5


# ============================================================================ the workers
# A worker process hosts environments and talks to the parent in browser_bench's protocol; its
# window message is {"start": t0, "stop": t1}, the wall-clock window to step in (environments
# stay open after it for the memory measurement). The BrowserGym worker runs in BrowserGym's
# virtual environment: it imports nothing of agentgym.

def random_action(rng: random.Random, ids: list[str]) -> str:
    """The benchmark's action stream: the same draws on both sides, over each side's own list of
    interactive element ids."""
    roll = rng.random()
    if ids and roll < 0.80:
        return f"click('{rng.choice(ids)}')"
    if ids and roll < 0.95:
        return f"fill('{rng.choice(ids)}', {rng.choice(WORDS)!r})"
    return "noop(0)"


class Stepper:
    """One environment's stepping loop and its tallies (the env-specific parts are callables)."""

    def __init__(self, index: int, seed: int, reset, step, episode_steps: int) -> None:
        self.index, self.reset_fn, self.step_fn, self.episode_steps = index, reset, step, episode_steps
        self.rng = random.Random(seed * 7919 + index)
        self.seed = seed * 100_000 + index * 1_000
        self.ids: list[str] = []
        self.steps = self.episodes = self.successes = self.error_observations = 0
        self.step_s: list[float] = []
        self.reset_s: list[float] = []
        self.extra_s = 0.0  # time inside a step spent outside the environment (BrowserGym's flattening)
        self.text_chars: list[int] = []  # characters of each step's text observation
        self.errors: list[str] = []
        self.in_episode = 0

    def reset(self) -> None:
        start = time.perf_counter()
        self.seed += 1
        self.ids = self.reset_fn(self.seed)
        self.reset_s.append(time.perf_counter() - start)
        self.in_episode = 0

    def first_reset(self, attempts: int = 3) -> None:
        """The reset before the timed window, tried up to ``attempts`` times (a busy machine may
        time out a page load); failed tries are reported as errors."""
        for attempt in range(attempts):
            try:
                self.reset()
                return
            except Exception as exc:  # noqa: BLE001 - counted; the last one is raised
                self.errors.append(f"first reset: {type(exc).__name__}: {first_line(exc)}")
                if attempt == attempts - 1:
                    raise

    def run(self, start_at: float, stop_at: float) -> None:
        while time.time() < start_at:
            time.sleep(0.001)
        while time.time() < stop_at:
            try:
                if self.in_episode < 0:
                    self.reset()
                action = random_action(self.rng, self.ids)
                begin = time.perf_counter()
                ids, done, success, error_observation, extra, chars = self.step_fn(action)
                took = time.perf_counter() - begin
                if time.time() > stop_at:
                    break  # finished after the window: not counted
                self.ids = ids
                self.steps += 1
                self.step_s.append(took)
                self.extra_s += extra
                self.text_chars.append(chars)
                self.error_observations += error_observation
                self.in_episode += 1
                if done or self.in_episode >= self.episode_steps:
                    self.episodes += 1
                    self.successes += success
                    self.in_episode = -1
            except Exception as exc:  # noqa: BLE001 - counted and reported; the loop goes on
                self.errors.append(f"{type(exc).__name__}: {first_line(exc)}")
                self.in_episode = -1
                time.sleep(0.05)

    def settle(self) -> None:
        """After the window: start the next episode if the last one ended, so that every
        environment holds an open episode when memory is read after the window (an ended
        agentgym episode has closed its page already; BrowserGym's keeps it open). Not timed; a
        failure is an error."""
        if self.in_episode >= 0:
            return
        try:
            self.seed += 1
            self.ids = self.reset_fn(self.seed)
            self.in_episode = 0
        except Exception as exc:  # noqa: BLE001 - counted and reported
            self.errors.append(f"settle reset: {type(exc).__name__}: {first_line(exc)}")

    def result(self) -> dict[str, Any]:
        return {"steps": self.steps, "episodes": self.episodes, "successes": self.successes,
                "error_observations": self.error_observations, "step_s": self.step_s,
                "reset_s": self.reset_s, "extra_s": self.extra_s, "text_chars": self.text_chars,
                "errors": self.errors}


def _serve_steppers(steppers: list[Stepper], close, *, threaded: bool = True) -> None:
    """The worker's protocol around ready steppers (already reset once); ``threaded=False`` runs
    the one stepper on this thread (Playwright's synchronous objects belong to their thread)."""
    serve_steppers(steppers, close, prefix=MESSAGE_PREFIX,
                   run=lambda s, window: s.run(window["start"], window["stop"]), settle=Stepper.settle,
                   threaded=threaded)


def worker_ours(args: argparse.Namespace) -> None:
    """N agentgym MiniWoB environments on one pool, a thread each."""
    from agentgym.browser import BrowserPool
    from agentgym.envs.web.miniwob.env import MiniWoBEnv

    pool = BrowserPool(args.pool)
    envs = [MiniWoBEnv(task=args.tasks[i % len(args.tasks)], pool=pool, viewport=VIEWPORT,
                       screenshot=args.screenshot) for i in range(args.n)]

    def make(env):
        def reset(seed: int) -> list[str]:
            env.reset(seed=seed)
            return env.interactive_ids

        def step(action: str):
            observation, _, terminated, truncated, info = env.step(action)
            text = observation["text"] if isinstance(observation, dict) else observation
            return env.interactive_ids, terminated or truncated, bool(info.get("success")), \
                info.get("error") is not None, 0.0, len(text)
        return reset, step

    steppers = [Stepper(i, args.seed, *make(env), args.episode_steps) for i, env in enumerate(envs)]
    in_threads(Stepper.first_reset, steppers)

    def close() -> None:
        for env in envs:
            env.close()
        pool.close()

    _serve_steppers(steppers, close)


def worker_browsergym(args: argparse.Namespace) -> None:
    """One BrowserGym MiniWoB environment (its processes are one per environment)."""
    import gymnasium as gym
    import browsergym.miniwob  # noqa: F401 - registers browsergym/miniwob.*
    from browsergym.utils.obs import flatten_axtree_to_str

    # The same Chromium binary as agentgym's, for the environment's browser and its chat's.
    use_chromium_in_browsergym(args.chromium)
    kwargs: dict[str, Any] = {}  # its MiniWoB tasks' viewport is VIEWPORT already
    if not args.browsergym_defaults:
        # No slow motion, no sleep before observing, and agentgym's patience for a page load
        # (its MiniWoB tasks allow 5 s; agentgym's load_timeout is 15 s).
        kwargs.update(slow_mo=0, pre_observation_delay=0.0, timeout=15_000)
    env = gym.make(f"browsergym/miniwob.{args.tasks[args.index % len(args.tasks)]}", **kwargs)

    def ids_of(obs) -> list[str]:
        return [bid for bid, p in obs["extra_element_properties"].items()
                if p.get("clickable") and (p.get("visibility") or 0) >= 0.5]

    def text_of(obs) -> tuple[str, float]:
        start = time.perf_counter()
        text = flatten_axtree_to_str(obs["axtree_object"], extra_properties=obs["extra_element_properties"])
        return text, time.perf_counter() - start

    def reset(seed: int) -> list[str]:
        obs, _ = env.reset(seed=seed)
        text_of(obs)
        return ids_of(obs)

    def step(action: str):
        obs, reward, terminated, truncated, _ = env.step(action)
        text, flatten_s = text_of(obs)
        return ids_of(obs), terminated or truncated, reward > 0, bool(obs["last_action_error"]), flatten_s, len(text)

    stepper = Stepper(args.index, args.seed, reset, step, args.episode_steps)
    stepper.first_reset()
    _serve_steppers([stepper], env.close, threaded=False)


# ============================================================================= the parent
def run_config(config: dict[str, Any], args: argparse.Namespace, base_env: dict[str, str],
               log_dir: Path) -> dict[str, Any]:
    """Start the workers of ``config``, time them over one window, measure memory, close."""
    n = config["envs"]
    common = ["--tasks", *args.tasks, "--seed", str(args.seed), "--episode-steps", str(args.episode_steps),
              "--chromium", args.chromium]
    if config["side"] == "agentgym":
        commands = [[sys.executable, __file__, "--worker", "ours", "--n", str(n), "--pool", str(config["pool"]),
                     *(["--screenshot"] if config.get("screenshot") else []), *common]]
    else:
        commands = [[args.browsergym_python, __file__, "--worker", "browsergym", "--index", str(i),
                     *(["--browsergym-defaults"] if config.get("defaults") else []), *common] for i in range(n)]
    env = base_env
    if config["side"] == "agentgym" and args.driver_node:
        env = dict(base_env, PLAYWRIGHT_NODEJS_PATH=args.driver_node)
    side = WorkerFleet(config["label"], commands, env, log_dir, prefix=MESSAGE_PREFIX)
    started = time.perf_counter()
    try:
        ready = side.gather("ready", args.startup_timeout)
        startup_s = time.perf_counter() - started
        start = time.time() + 1.0
        side.tell({"start": start, "stop": start + args.duration})
        time.sleep(max(0.0, start - time.time()))
        cpu_start = cpu_seconds(side.pids())
        samples = []  # memory at 20%, 40% ... 100% of the window: steps and resets under way
        for k in range(1, MEMORY_SAMPLES + 1):
            time.sleep(max(0.0, start + args.duration * k / MEMORY_SAMPLES - time.time()))
            if k == MEMORY_SAMPLES:
                cpu_used = cpu_seconds(side.pids()) - cpu_start
            samples.append(memory_of(side.pids()))
        results = [r for worker in side.gather("result", args.duration + 120.0) for r in worker]
        # And after it, all environments open (nothing steps: the distinct pages, a slower read
        # of every process's page table, are counted here only).
        samples.append(memory_of(side.pids(), distinct=True))
        own = samples[-1]["distinct"]
        memory = sorted(samples, key=lambda sample: sample["pss"])[len(samples) // 2]
        side.tell({"close": True})
        closed = side.gather("closed", 120.0)
        side.finish()
    except BaseException:
        side.kill()
        raise
    time.sleep(0.5)
    leftover = still_running(sorted({process for sample in samples for process in sample["seen"]}))
    steps = sum(r["step_s"].__len__() for r in results)
    step_s = [x for r in results for x in r["step_s"]]
    reset_s = [x for r in results for x in r["reset_s"]]
    errors = [e for r in results for e in r["errors"]]
    extra = sum(r["extra_s"] for r in results)
    chars = [c for r in results for c in r["text_chars"]]
    return {
        **config,
        "steps": steps,
        "steps_per_s": steps / args.duration,
        "cpu_ms_per_step": 1000 * cpu_used / steps if steps else None,
        "cpu_share": cpu_used / args.duration / (os.cpu_count() or 1),
        "episodes": sum(r["episodes"] for r in results),
        "successes": sum(r["successes"] for r in results),
        "error_observations": sum(r["error_observations"] for r in results),
        "errors": len(errors),
        "error_examples": sorted(set(errors))[:5],
        "step_ms_p50": 1000 * statistics.median(step_s) if step_s else None,
        "step_ms_p90": 1000 * statistics.quantiles(step_s, n=10)[-1] if len(step_s) >= 10 else None,
        "reset_s_p50": statistics.median(reset_s) if reset_s else None,
        "resets": len(reset_s),
        "first_reset_s_p50": statistics.median([x for w in ready for x in w["reset_s"]]),
        "startup_s": startup_s,
        "close_s": max(c["close_s"] for c in closed),
        "flatten_share": extra / sum(step_s) if step_s else 0.0,
        "text_chars_mean": statistics.mean(chars) if chars else None,
        "pss_mb_per_env": memory["pss"] / n / 2**20,
        "rss_mb_per_env": memory["rss"] / n / 2**20,
        "own_mb_per_env": None if own is None else own / n / 2**20,
        "processes": memory["processes"],
        "pss_mb_per_env_by_kind": {k: v / n / 2**20 for k, v in memory["pss_by_kind"].items()},
        "left_running": leftover,
    }


def plan(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The configurations, BrowserGym's and agentgym's interleaved per N."""
    configs: list[dict[str, Any]] = []
    for n in args.envs:
        if not args.no_browsergym:
            configs.append({"label": f"BrowserGym N={n}", "side": "browsergym", "envs": n})
        pools = sorted({min(p, n) for p in args.pools})
        for pool in pools:
            configs.append({"label": f"agentgym N={n} pool={pool}", "side": "agentgym", "envs": n, "pool": pool})
        if not args.no_screenshot:
            pool = min(args.screenshot_pool, n)
            configs.append({"label": f"agentgym+screenshot N={n} pool={pool}", "side": "agentgym", "envs": n,
                            "pool": pool, "screenshot": True})
        if args.browsergym_defaults and not args.no_browsergym and n == min(args.envs):
            configs.append({"label": f"BrowserGym defaults N={n}", "side": "browsergym", "envs": n,
                            "defaults": True})
    return configs


def add_ratios(rows: list[dict[str, Any]]) -> None:
    """agentgym / BrowserGym (tuned) at the same N, on each agentgym row."""
    reference = {r["envs"]: r for r in rows if r["side"] == "browsergym" and not r.get("defaults")}
    for row in rows:
        base = reference.get(row["envs"])
        if row["side"] == "agentgym" and base is not None and base["steps_per_s"] > 0:
            row["speed_ratio"] = row["steps_per_s"] / base["steps_per_s"]
            row["memory_ratio"] = row["pss_mb_per_env"] / base["pss_mb_per_env"]
            if row.get("own_mb_per_env") and base.get("own_mb_per_env"):
                row["own_ratio"] = row["own_mb_per_env"] / base["own_mb_per_env"]
            if row["cpu_ms_per_step"] and base["cpu_ms_per_step"]:
                row["cpu_ratio"] = row["cpu_ms_per_step"] / base["cpu_ms_per_step"]


def markdown(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    def fmt(value: Any, spec: str) -> str:
        return "" if value is None else format(value, spec)

    lines = [
        f"MiniWoB++ ({', '.join(args.tasks)}), random actions, episodes of at most {args.episode_steps} steps, "
        f"{args.duration:g} s per configuration; {os.cpu_count()} CPUs.",
        "",
        "| configuration | steps/s | x BrowserGym | CPU ms/step | x BrowserGym | step ms p50 / p90 | reset s p50 | "
        "errors | error obs | PSS MB/env | x BrowserGym | own MB/env | x BrowserGym | RSS MB/env | processes | "
        "left running |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in rows:
        procs = ", ".join(f"{v} {k}" for k, v in sorted(r["processes"].items()))
        lines.append(
            f"| {r['label']} | {r['steps_per_s']:.2f} | {fmt(r.get('speed_ratio'), '.2f')} | "
            f"{fmt(r['cpu_ms_per_step'], '.0f')} | {fmt(r.get('cpu_ratio'), '.2f')} | "
            f"{fmt(r['step_ms_p50'], '.0f')} / {fmt(r['step_ms_p90'], '.0f')} | {fmt(r['reset_s_p50'], '.2f')} | "
            f"{r['errors']} | {r['error_observations']} | {r['pss_mb_per_env']:.0f} | "
            f"{fmt(r.get('memory_ratio'), '.2f')} | {fmt(r.get('own_mb_per_env'), '.0f')} | "
            f"{fmt(r.get('own_ratio'), '.2f')} | {r['rss_mb_per_env']:.0f} | {procs} | {r['left_running']} |")
    lines += ["", "PSS: the median of the readings during the window and one after it. Own: the distinct "
              "physical pages of the side's processes after the window, each counted once (what PSS "
              "would sum to with nothing else running; PSS gives part of a page shared with other "
              "programs, e.g. another Chromium on the machine, to them)."]
    sizes = [r for r in rows if r.get("text_chars_mean") and not r.get("screenshot")]
    if sizes:
        lines += ["", "Text an LLM reads per step, mean characters (agentgym: the whole observation, goal, "
                  "page and focus lines included; BrowserGym: `flatten_axtree_to_str` with its element "
                  "properties, the goal given apart): "
                  + ", ".join(f"{r['label']}: {r['text_chars_mean']:.0f}" for r in sizes) + "."]
    flatten = [r for r in rows if r["side"] == "browsergym"]
    if flatten:
        lines += ["", "BrowserGym's step time includes `flatten_axtree_to_str` (the text an LLM reads): "
                  + ", ".join(f"{r['label']}: {100 * r['flatten_share']:.1f}%" for r in flatten) + "."]
    return "\n".join(lines)


def setup_browsergym() -> None:
    """Make ``.venv/browsergym`` with ``browsergym-miniwob`` and psutil (from the configured index)."""
    make_browsergym_venv(BROWSERGYM_VENV / "bin" / "python", ["browsergym-miniwob", "psutil"])
    print(f"BrowserGym's MiniWoB installed in {BROWSERGYM_VENV}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=ShowDefaults)
    parser.add_argument("--envs", type=positive_int, nargs="+", default=[1, 4, 16], help="concurrent environments")
    parser.add_argument("--pools", type=positive_int, nargs="+", default=[1, 2, 4],
                        help="agentgym: browsers in the pool (capped at N)")
    parser.add_argument("--screenshot-pool", type=positive_int, default=2, help="agentgym+screenshot: browsers")
    parser.add_argument("--duration", type=positive_float, default=20.0, help="seconds of stepping per configuration")
    parser.add_argument("--tasks", nargs="+", default=list(DEFAULT_TASKS))
    parser.add_argument("--episode-steps", type=positive_int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--startup-timeout", type=positive_float, default=600.0)
    parser.add_argument("--browsergym-python", default=default_browsergym_python())
    parser.add_argument("--browsergym-defaults", action="store_true",
                        help="also run BrowserGym with its MiniWoB defaults (slow_mo 100 ms, 0.5 s pre-observation "
                             "delay) at the smallest N")
    parser.add_argument("--driver-node", default=None, metavar="NODE",
                        help="the Node.js that runs agentgym's Playwright driver (PLAYWRIGHT_NODEJS_PATH; "
                             "default: the one bundled with Playwright)")
    parser.add_argument("--no-browsergym", action="store_true", help="agentgym only")
    parser.add_argument("--no-screenshot", action="store_true", help="skip the agentgym+screenshot rows")
    parser.add_argument("--setup-browsergym", action="store_true", help="make BrowserGym's virtual environment")
    parser.add_argument("--out", type=output_folder, default=Path(__file__).parent / "results")
    parser.add_argument("--json", type=output_file, default=None, help="also write the JSON report here")
    # Worker mode (internal).
    parser.add_argument("--worker", choices=["ours", "browsergym"], help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--pool", type=int, default=2, help=argparse.SUPPRESS)
    parser.add_argument("--index", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--screenshot", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--chromium", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker == "ours":
        worker_ours(args)
        return 0
    if args.worker == "browsergym":
        worker_browsergym(args)
        return 0
    if args.setup_browsergym:
        setup_browsergym()
        return 0

    from agentgym.browser import chromium_executable
    from agentgym.envs.web.miniwob.server import MiniWoBServer
    from agentgym.envs.web.miniwob.tasks import task_names

    unknown = [task for task in args.tasks if task not in task_names()]
    if unknown:  # checked here, not as an argument type: BrowserGym's workers parse --tasks without agentgym
        parser.error(f"--tasks: no MiniWoB++ task named {', '.join(unknown)} "
                     f"(agentgym.envs.web.miniwob.tasks.task_names() lists the {len(task_names())})")
    args.chromium = chromium_executable()
    if not args.no_browsergym and not Path(args.browsergym_python).exists():
        parser.error(f"no BrowserGym interpreter at {args.browsergym_python}: run with --setup-browsergym first "
                     f"(or pass --browsergym-python, or --no-browsergym)")
    rows: list[dict[str, Any]] = []
    logs = args.out / "bench_web_miniwob_logs"
    logs.mkdir(parents=True, exist_ok=True)
    with MiniWoBServer() as server:
        env = dict(os.environ, MINIWOB_URL=server.base_url + "miniwob/", PYTHONUNBUFFERED="1")
        for config in plan(args):
            print(f"{config['label']} ...", file=sys.stderr, flush=True)
            try:
                row = run_config(config, args, env, logs)
            except Exception as exc:  # noqa: BLE001 - one failed configuration is reported, the rest run
                print(f"  FAILED: {exc}", file=sys.stderr, flush=True)
                rows.append({**config, "failed": str(exc)})
                continue
            rows.append(row)
            print(f"  {row['steps_per_s']:.2f} steps/s, {row['pss_mb_per_env']:.0f} MB PSS/env, "
                  f"{row['errors']} errors, {row['left_running']} left running", file=sys.stderr, flush=True)
    measured = [r for r in rows if "failed" not in r]
    add_ratios(measured)
    table = markdown(measured, args)
    failed = [r for r in rows if "failed" in r]
    if failed:
        table += "\n\nFailed configurations:\n" + "\n".join(f"- {r['label']}: {r['failed']}" for r in failed)
    print(table)
    report = {
        "benchmark": "bench_web_miniwob",
        "machine": {**cpus_and_load(), "platform": platform.platform(), "python": platform.python_version()},
        "chromium": args.chromium,
        "driver_node": args.driver_node or "bundled",
        "tasks": args.tasks, "duration_s": args.duration, "episode_steps": args.episode_steps,
        "viewport": VIEWPORT,
        "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_web_miniwob.json").write_text(json.dumps(report, indent=2))
    (args.out / "bench_web_miniwob.md").write_text(table + "\n")
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {args.out / 'bench_web_miniwob.json'} and bench_web_miniwob.md", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
