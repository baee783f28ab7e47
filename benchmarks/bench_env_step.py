"""Environment stepping speed, measured side by side in one run.

1. Our games against GEM's (``pip install gem-llm``, the ``bench`` extra) on the games both
   have: steps per second with random actions, resets included, each library's bare
   environment at its ``easy`` level. Mean episode lengths differ between the libraries (each
   has its own rules and turn budgets), so they are reported too, along with the cost of a
   reset alone.
2. The overhead of ``agentgym.make``'s default wrappers over the bare environment on the
   cheapest game.
3. Concurrent stepping of 64 environments whose step waits 10 ms (I/O-like) against stepping
   them one after another.

Every figure is a ratio against a baseline measured in the same run, alternating the two
sides over several rounds and keeping the median (the machines are noisy).

    python benchmarks/bench_env_step.py [--seconds 1.0] [--rounds 3] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import statistics
import sys
import time
import types
from pathlib import Path
from typing import Any, Callable

import agentgym
from agentgym import Feedback, LLMEnv

# our id, our kwargs, GEM id, how GEM's actions are drawn (None: its own sample_random_action)
PAIRS: list[tuple[str, str, dict[str, Any], str, Callable[[random.Random], str] | None]] = [
    ("GuessTheNumber", "games/GuessTheNumber-v0", {}, "game:GuessTheNumber-v0-easy", None),
    ("Minesweeper", "games/Minesweeper-v0", {}, "game:Minesweeper-v0-easy", None),
    ("Sokoban", "games/Sokoban-v0", {}, "game:Sokoban-v0-easy", None),
    ("Mastermind", "games/Mastermind-v0", {}, "game:Mastermind-v0-easy", None),
    ("2048", "games/2048-v0", {}, "game:Game2048-v0-easy", None),
    # GEM's TowerofHanoi and Sudoku raise NotImplementedError in sample_random_action: draw
    # actions in the format their instructions give.
    ("TowerOfHanoi", "games/TowerOfHanoi-v0", {}, "game:TowerofHanoi-v0-easy",
     lambda rng: "\\boxed{%s %s}" % tuple(rng.sample("ABC", 2))),
    ("Hangman", "games/Hangman-v0", {}, "game:Hangman-v0-easy", None),
    ("Sudoku", "games/Sudoku-v0", {}, "game:Sudoku-v0-easy",
     lambda rng: "\\boxed{%d %d %d}" % (rng.randint(1, 4), rng.randint(1, 4), rng.randint(1, 4))),
]
TARGETS = {"Sokoban": 5.0}  # everything else: >= 1.0x GEM


# ------------------------------------------------------------------------- measuring
def rate(step: Callable[[], bool], reset: Callable[[], None], seconds: float) -> tuple[float, float]:
    """Steps per second and mean steps per episode of ``step`` (returns True when the episode
    ended, after which ``reset`` runs and is counted in the time)."""
    reset()
    steps = episodes = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(64):
            steps += 1
            if step():
                episodes += 1
                reset()
        if time.perf_counter() > deadline:
            break
    elapsed = time.perf_counter() - start
    return steps / elapsed, steps / max(episodes, 1)


def reset_cost(reset: Callable[[], None], seconds: float) -> float:
    """Microseconds per reset."""
    count = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(16):
            reset()
        count += 16
    return (time.perf_counter() - start) / count * 1e6


def ours(env_id: str, kwargs: dict[str, Any], seed: int = 0):
    env = agentgym.make(env_id, max_turns=None, episode_statistics=False, **kwargs)
    rng = random.Random(seed)
    env.reset(seed=seed)

    def step() -> bool:
        _, _, terminated, truncated, _ = env.step(env.random_action(rng))
        return terminated or truncated

    return step, lambda: env.reset()


def theirs(gem_id: str, sampler: Callable[[random.Random], str] | None, seed: int = 0):
    import gem

    env = gem.make(gem_id)
    rng = random.Random(seed)
    env.reset(seed=seed)
    act = (lambda: sampler(rng)) if sampler else env.sample_random_action

    def step() -> bool:
        _, _, terminated, truncated, _ = env.step(act())
        return terminated or truncated

    return step, lambda: env.reset()


def patch_gem_offline() -> None:
    """GEM's word games call ``nltk.download`` at construction, which fails offline: give them
    our bundled word list through nltk's corpus reader instead (their rules are unchanged)."""
    import nltk

    from agentgym.envs.games.words import COMMON, load_words

    words = list(load_words(COMMON))
    nltk.download = lambda *args, **kwargs: True
    import gem.envs.game_env.hangman as gem_hangman

    gem_hangman.words = types.SimpleNamespace(words=lambda *_: words)


def median_pair(measure_a: Callable[[], Any], measure_b: Callable[[], Any], rounds: int):
    a, b = [], []
    for _ in range(rounds):  # alternate, so drifts in machine load hit both sides
        a.append(measure_a())
        b.append(measure_b())
    return a, b


# ------------------------------------------------------------------------- sections
def bench_games(seconds: float, rounds: int) -> list[dict[str, Any]]:
    try:
        import gem  # noqa: F401
    except ImportError:
        sys.exit("GEM is not installed: pip install -e '.[bench]' (gem-llm)")
    notes = ""
    try:
        patch_gem_offline()
        notes = "GEM Hangman runs on agentgym's bundled word list (nltk.download fails offline)"
    except Exception as exc:  # noqa: BLE001 - reported in the table
        notes = f"could not patch GEM for offline use: {exc!r}"
    rows = []
    for name, env_id, kwargs, gem_id, sampler in PAIRS:
        row: dict[str, Any] = {"game": name, "ours": env_id, "gem": gem_id}
        try:
            our_step, our_reset = ours(env_id, kwargs)
            gem_step, gem_reset = theirs(gem_id, sampler)
            our_runs, gem_runs = median_pair(lambda: rate(our_step, our_reset, seconds),
                                             lambda: rate(gem_step, gem_reset, seconds), rounds)
            our_resets, gem_resets = median_pair(lambda: reset_cost(our_reset, seconds / 4),
                                                 lambda: reset_cost(gem_reset, seconds / 4), rounds)
            row.update(
                ours_steps_per_s=statistics.median(r for r, _ in our_runs),
                gem_steps_per_s=statistics.median(r for r, _ in gem_runs),
                ours_steps_per_episode=statistics.median(e for _, e in our_runs),
                gem_steps_per_episode=statistics.median(e for _, e in gem_runs),
                ours_reset_us=statistics.median(our_resets),
                gem_reset_us=statistics.median(gem_resets),
            )
            row["ratio"] = row["ours_steps_per_s"] / row["gem_steps_per_s"]
            row["target"] = TARGETS.get(name, 1.0)
            row["meets_target"] = row["ratio"] >= row["target"]
        except Exception as exc:  # noqa: BLE001 - one failing peer must not hide the others
            row["error"] = f"{type(exc).__name__}: {exc}"[:300]
        rows.append(row)
        print(f"  {name}: {row.get('ratio', float('nan')):.2f}x {row.get('error', '')}", file=sys.stderr)
    if rows:
        rows[0]["notes"] = notes
    return rows


def bench_wrapper_overhead(seconds: float, rounds: int) -> dict[str, Any]:
    env_id = "games/GuessTheNumber-v0"
    bare_step, bare_reset = ours(env_id, {})
    env = agentgym.make(env_id)  # the default stack: EpisodeStatistics(TurnLimit(env))
    rng = random.Random(0)
    unwrapped = env.unwrapped

    def wrapped_step() -> bool:
        _, _, terminated, truncated, _ = env.step(unwrapped.random_action(rng))
        return terminated or truncated

    bare, wrapped = median_pair(lambda: rate(bare_step, bare_reset, seconds),
                                lambda: rate(wrapped_step, lambda: env.reset(), seconds), rounds)
    bare_rate = statistics.median(r for r, _ in bare)
    wrapped_rate = statistics.median(r for r, _ in wrapped)
    overhead = bare_rate / wrapped_rate - 1
    return {"env": env_id, "wrappers": repr(env), "bare_steps_per_s": bare_rate,
            "wrapped_steps_per_s": wrapped_rate, "overhead": overhead, "target": 0.15,
            "meets_target": overhead <= 0.15}


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


class AsyncSlowEnv(SlowEnv):
    """The same wait, as a natively asynchronous environment."""

    async def astep(self, action: Any):
        await asyncio.sleep(self.delay)
        self.turn += 1
        return f"turn {self.turn}", 0.0, False, False, {"reward_components": {}, "error": None, "success": False}


def bench_concurrency(num_envs: int = 64, delay: float = 0.010, steps: int = 20) -> dict[str, Any]:
    from agentgym.vector import AsyncioVectorEnv, ThreadVectorEnv

    actions = ("go",) * num_envs
    sequential_envs = [SlowEnv(delay) for _ in range(num_envs)]
    for env in sequential_envs:
        env.reset(seed=0)
    start = time.perf_counter()
    for _ in range(steps // 4):  # the slow baseline: a quarter of the steps is enough
        for env in sequential_envs:
            env.step("go")
    sequential = (steps // 4) * num_envs / (time.perf_counter() - start)

    results = {"num_envs": num_envs, "step_delay_s": delay, "sequential_steps_per_s": sequential}
    for name, vector_class, env_class in (("thread", ThreadVectorEnv, SlowEnv),
                                          ("asyncio", AsyncioVectorEnv, AsyncSlowEnv)):
        vector = vector_class([lambda c=env_class: c(delay) for _ in range(num_envs)])
        vector.reset(seed=0)
        vector.step(actions)  # warm up the workers
        start = time.perf_counter()
        for _ in range(steps):
            vector.step(actions)
        concurrent = steps * num_envs / (time.perf_counter() - start)
        vector.close()
        results[f"{name}_steps_per_s"] = concurrent
        results[f"{name}_speedup"] = concurrent / sequential
    results["target"] = 40.0
    results["meets_target"] = results["thread_speedup"] >= 40.0
    return results


# ------------------------------------------------------------------------- report
def markdown(report: dict[str, Any]) -> str:
    lines = ["### Games: agentgym vs GEM (random actions, resets included, easy level)", "",
             "| game | agentgym steps/s | GEM steps/s | ratio | target | steps/episode (ours / GEM) "
             "| reset µs (ours / GEM) |", "|---|---:|---:|---:|---:|---:|---:|"]
    for row in report["games"]:
        if "error" in row:
            lines.append(f"| {row['game']} | | | error: {row['error']} | | | |")
            continue
        lines.append(
            f"| {row['game']} | {row['ours_steps_per_s']:,.0f} | {row['gem_steps_per_s']:,.0f} "
            f"| **{row['ratio']:.2f}x** | ≥ {row['target']:.1f}x{'' if row['meets_target'] else ' ✗'} "
            f"| {row['ours_steps_per_episode']:.1f} / {row['gem_steps_per_episode']:.1f} "
            f"| {row['ours_reset_us']:.1f} / {row['gem_reset_us']:.1f} |")
    if report["games"] and report["games"][0].get("notes"):
        lines += ["", f"Note: {report['games'][0]['notes']}."]
    w = report["wrapper_overhead"]
    c = report["concurrency"]
    lines += ["", "### Wrapper overhead and concurrent stepping", "",
              "| measurement | baseline | measured | result | target |", "|---|---:|---:|---:|---:|",
              f"| `agentgym.make` wrappers on {w['env']} (steps/s) | {w['bare_steps_per_s']:,.0f} "
              f"| {w['wrapped_steps_per_s']:,.0f} | **{w['overhead']:+.1%}** | ≤ +15% |",
              f"| {c['num_envs']} envs, {c['step_delay_s'] * 1000:.0f} ms steps, ThreadVectorEnv (steps/s) "
              f"| {c['sequential_steps_per_s']:,.0f} | {c['thread_steps_per_s']:,.0f} "
              f"| **{c['thread_speedup']:.1f}x** | ≥ 40x |",
              f"| {c['num_envs']} envs, {c['step_delay_s'] * 1000:.0f} ms steps, AsyncioVectorEnv (steps/s) "
              f"| {c['sequential_steps_per_s']:,.0f} | {c['asyncio_steps_per_s']:,.0f} "
              f"| **{c['asyncio_speedup']:.1f}x** | ≥ 40x |"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="duration of one measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per comparison")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    print("games vs GEM...", file=sys.stderr)
    report = {
        "machine": {"python": platform.python_version(), "processor": platform.processor() or platform.machine()},
        "games": bench_games(args.seconds, args.rounds),
    }
    print("wrapper overhead...", file=sys.stderr)
    report["wrapper_overhead"] = bench_wrapper_overhead(args.seconds, args.rounds)
    print("concurrency...", file=sys.stderr)
    report["concurrency"] = bench_concurrency()
    table = markdown(report)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_env_step.json").write_text(json.dumps(report, indent=2))
    (args.out / "bench_env_step.md").write_text(table + "\n")
    print(f"\nwrote {args.out / 'bench_env_step.json'} and bench_env_step.md", file=sys.stderr)


if __name__ == "__main__":
    main()
