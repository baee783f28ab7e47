"""Environment stepping speed, measured side by side in one run.

1. **Games, agentgym against GEM** (``pip install gem-llm``, the ``bench`` extra), on the
   games both have, built with *matched* level parameters (board size, mines, boxes, code
   length and colours, disks, word length, number range, turn budget: GEM's constructors take
   them as arguments, ours comes from a difficulty level) and played with *the same action
   stream*: one seeded list of moves per game, drawn in advance and written in each library's
   format (``7`` / ``\\boxed{7}``), so neither side's random policy is timed or favoured.
   Two figures per side, from the same episodes:

   - **steps/s, resets excluded**: the clock runs only while an episode's ``step`` calls run
     (it stops at the step that ends the episode and restarts after the next reset);
   - **µs per reset**: the resets between those episodes, timed on their own.

   The rules of the two libraries differ (what ends an episode, what an invalid move costs),
   so the mean episode length of each side is reported too; parameters that cannot be matched
   are named in the table.
2. The overhead of ``agentgym.make``'s default wrappers over the bare environment on the
   cheapest game (resets excluded the same way).
3. **Concurrent stepping**: 64 and 256 environments whose step waits 10 ms (I/O-like),
   stepped together by our ``ThreadVectorEnv`` and ``AsyncioVectorEnv``, by a
   ``concurrent.futures.ThreadPoolExecutor`` with one worker per environment, by Gymnasium's
   ``AsyncVectorEnv`` (one subprocess per environment), and one after another (the
   sequential baseline). Reported as steps/s and % of the ideal (every environment stepping
   once per 10 ms).

Every figure is the median over rounds in which the contenders take turns (the machines are
noisy, and a drift in load then hits every side).

    python benchmarks/bench_env_step.py [--seconds 1.0] [--rounds 3] [--envs 64 256]
                                        [--vector-steps 20] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import sys
import time
import types
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import agentgym
from agentgym import Feedback, LLMEnv
from bench_cli import ShowDefaults, output_folder, positive_float, positive_int

ACTION_STREAM = 4096  # moves drawn in advance per game (a power of two: indexed with a mask)
_DIRECTIONS = ("up", "down", "left", "right")


# ------------------------------------------------------------------------- the games
@dataclass(frozen=True)
class Pair:
    """One game in both libraries, on the same level parameters and the same moves.

    ``ours_max_turns`` is the ``TurnLimit`` our side gets (``None`` when the game counts its
    own moves); ``matched`` is the parameter set both sides are built with, ``unmatched``
    what could not be made equal."""

    name: str
    ours_id: str
    difficulty: str
    gem_id: str
    gem_kwargs: dict[str, Any]
    matched: str
    draw: Callable[[random.Random], tuple]
    ours_text: Callable[[tuple], str]
    gem_text: Callable[[tuple], str]
    ours_max_turns: int | None = None
    ours_reset_options: dict[str, Any] | None = None
    unmatched: str = ""


def _direction(rng: random.Random) -> tuple:
    return (_DIRECTIONS[rng.randrange(4)],)


def _mastermind_code(rng: random.Random) -> tuple:
    return tuple(rng.sample(range(1, 7), 4))


PAIRS: list[Pair] = [
    Pair("GuessTheNumber", "games/GuessTheNumber-v0", "easy", "game:GuessTheNumber-v0-easy",
         dict(min_number=1, max_number=20, max_turns=8), "numbers 1-20, 8 guesses",
         lambda rng: (rng.randint(1, 20),), lambda m: str(m[0]), lambda m: "\\boxed{%d}" % m),
    Pair("Minesweeper", "games/Minesweeper-v0", "easy", "game:Minesweeper-v0-easy",
         dict(rows=5, cols=5, num_mines=3, max_turns=25), "5×5, 3 mines, 25 actions",
         lambda rng: ("reveal" if rng.random() < 0.9 else "flag", rng.randrange(5), rng.randrange(5)),
         lambda m: f"{m[0]} {m[1] + 1} {m[2] + 1}", lambda m: "\\boxed{%s %d %d}" % m),
    Pair("Sokoban", "games/Sokoban-v0", "easy", "game:Sokoban-v0-easy",
         dict(dim_room=(6, 6), num_boxes=1, max_turns=50), "6×6 room, 1 box, 50 moves",
         _direction, lambda m: m[0], lambda m: "\\boxed{%s}" % m,
         unmatched="room generators differ (ours: 2 inner walls and a reverse play of 3 pulls; "
                   "GEM: a random-walk room and a search over reverse plays)"),
    Pair("Sokoban", "games/Sokoban-v0", "medium", "game:Sokoban-v0-easy",
         dict(dim_room=(7, 7), num_boxes=2, max_turns=75), "7×7 room, 2 boxes, 75 moves",
         _direction, lambda m: m[0], lambda m: "\\boxed{%s}" % m,
         unmatched="room generators differ (ours: 3 inner walls, 5 pulls)"),
    Pair("Mastermind", "games/Mastermind-v0", "easy", "game:Mastermind-v0-easy",
         dict(code_length=4, num_numbers=6, duplicate_numbers=False, max_turns=10),
         "4 pegs, 6 colours, no repeats, 10 guesses",
         _mastermind_code, lambda m: "".join(map(str, m)), lambda m: "\\boxed{%s}" % " ".join(map(str, m))),
    Pair("2048", "games/2048-v0", "easy", "game:Game2048-v0-easy",
         dict(target_tile=128, max_turns=1000), "4×4, target 128, 1000 moves",
         _direction, lambda m: m[0], lambda m: "\\boxed{%s}" % m, ours_max_turns=1000),
    Pair("TowerOfHanoi", "games/TowerOfHanoi-v0", "easy", "game:TowerofHanoi-v0-easy",
         dict(num_disks=3, max_turns=17), "3 disks, all on A, 17 moves",
         lambda rng: tuple(rng.sample("ABC", 2)), lambda m: "move %s %s" % m, lambda m: "\\boxed{%s %s}" % m,
         # our start is drawn at random unless given; our budget is 2 x 7 (minimum) + 3 = 17
         ours_reset_options={"start": "AAA"},
         unmatched="ours counts only legal moves against the 17, GEM every turn"),
    Pair("Hangman", "games/Hangman-v0", "easy", "game:Hangman-v0-easy",
         dict(word_length=9, max_turns=14), "the same word list, letters only",
         lambda rng: (rng.choice("abcdefghijklmnopqrstuvwxyz"),), lambda m: m[0], lambda m: "\\boxed{%s}" % m,
         unmatched="ours: words of 8-10 letters and 8 lives (misses); GEM: one length (9) and a "
                   "budget of 14 guesses (repeats included), set to give about the same episode length"),
    Pair("Sudoku", "games/Sudoku-v0", "easy", "game:Sudoku-v0-easy",
         dict(scale=4, clues=6, max_turns=100), "4×4, 6 clues, 100 moves",
         lambda rng: (rng.randint(1, 4), rng.randint(1, 4), rng.randint(1, 4)),
         lambda m: "%d %d %d" % m, lambda m: "\\boxed{%d %d %d}" % m, ours_max_turns=100,
         unmatched="ours loses at the 3rd wrong digit; GEM only counts moves"),
]


# ------------------------------------------------------------------------- measuring
def episodes(step: Callable[[str], tuple], reset: Callable[[], Any], actions: list[str],
             seconds: float) -> dict[str, float]:
    """Play whole episodes for about ``seconds``, the moves taken in turn from ``actions``.

    Two clocks: one runs only while an episode's steps run, the other only during the resets
    between episodes. Returns steps/s (steps over step time), µs per reset and mean steps per
    episode; and ``cpu_share``, the process's CPU time over the wall time of the whole
    measurement (below 1 when other jobs took the cores: the wall clocks then count the waits,
    on both sides alike as the sides alternate)."""
    clock = time.perf_counter
    mask = len(actions) - 1
    index = episode_count = 0
    step_time = reset_time = 0.0
    first, first_cpu = clock(), time.process_time()
    deadline = first + seconds
    while True:
        started = clock()
        reset()
        playing = clock()
        while True:
            _, _, terminated, truncated, _ = step(actions[index & mask])
            index += 1
            if terminated or truncated:
                break
        ended = clock()
        reset_time += playing - started
        step_time += ended - playing
        episode_count += 1
        if ended > deadline:
            break
    cpu_share = (time.process_time() - first_cpu) / (clock() - first)
    return {"steps_per_s": index / step_time, "reset_us": reset_time / episode_count * 1e6,
            "steps_per_episode": index / episode_count, "steps": index, "episodes": episode_count,
            "cpu_share": cpu_share}


def action_stream(pair: Pair, seed: int = 1_000_003) -> tuple[list[str], list[str]]:
    """The same seeded moves, as our text and as GEM's. The seed differs from the games'
    (0): GEM draws its secrets from the process-global ``random``, which ``reset(seed=0)``
    seeds, and a stream drawn from ``Random(0)`` would replay its secret codes as guesses."""
    rng = random.Random(seed)
    moves = [pair.draw(rng) for _ in range(ACTION_STREAM)]
    return [pair.ours_text(m) for m in moves], [pair.gem_text(m) for m in moves]


def ours(pair: Pair, seed: int = 0):
    env = agentgym.make(pair.ours_id, difficulty=pair.difficulty, max_turns=pair.ours_max_turns,
                        episode_statistics=False)
    options = pair.ours_reset_options
    env.reset(seed=seed, options=options)
    return env, env.step, (lambda: env.reset(options=options))


def theirs(pair: Pair, seed: int = 0):
    import gem

    env = gem.make(pair.gem_id, **pair.gem_kwargs)
    env.reset(seed=seed)
    return env, env.step, env.reset


def check_parameters(pair: Pair, our_env: Any, gem_env: Any) -> None:
    """Fail loudly if a level's parameters drift from what the table says is matched."""
    u, g = our_env.unwrapped, gem_env
    checks = {
        "GuessTheNumber": lambda: (u.high, u.max_guesses) == (g.max_number, g.max_turns) and g.min_number == 1,
        "Minesweeper": lambda: (u.rows, u.cols, u.mine_count, u.cells) == (g.rows, g.cols, g.num_mines, g.max_turns),
        "Sokoban": lambda: ((u.side, u.side), u.level_boxes, u.max_moves) == (tuple(g.dim_room), g.num_boxes,
                                                                              g.max_turns),
        "Mastermind": lambda: ((u.length, u.colours, u.repeats, u.max_guesses)
                               == (g.code_length, g.num_numbers, g.duplicate_numbers, g.max_turns)),
        "2048": lambda: u.target == g.target_tile and pair.ours_max_turns == g.max_turns,
        "TowerOfHanoi": lambda: (u.disks, u.max_moves) == (g.num_disks, g.max_turns),
        "Hangman": lambda: True,  # not matchable: see the table
        "Sudoku": lambda: (u.n, u.clues) == (g.scale, g.clues) and pair.ours_max_turns == g.max_turns,
    }
    if not checks[pair.name]():
        raise AssertionError(f"{pair.name}: the two sides' level parameters differ")


def patch_gem_offline() -> None:
    """GEM's word games call ``nltk.download`` at construction, which fails offline: give them
    our bundled word list through nltk's corpus reader instead (their rules are unchanged)."""
    import nltk

    from agentgym.envs.games.words import COMMON, load_words

    words = list(load_words(COMMON))
    nltk.download = lambda *args, **kwargs: True
    import gem.envs.game_env.hangman as gem_hangman

    gem_hangman.words = types.SimpleNamespace(words=lambda *_: words)


# ------------------------------------------------------------------------- sections
def bench_games(seconds: float, rounds: int) -> list[dict[str, Any]]:
    try:
        import gem  # noqa: F401
    except ImportError:
        sys.exit("GEM is not installed: pip install -e '.[bench]' (gem-llm)")
    patch_gem_offline()
    rows = []
    for pair in PAIRS:
        row: dict[str, Any] = {"game": pair.name, "ours": f"{pair.ours_id} ({pair.difficulty})",
                               "gem": f"{pair.gem_id} with {pair.gem_kwargs}", "matched": pair.matched,
                               "unmatched": pair.unmatched}
        try:
            our_actions, gem_actions = action_stream(pair)
            our_env, our_step, our_reset = ours(pair)
            gem_env, gem_step, gem_reset = theirs(pair)
            check_parameters(pair, our_env, gem_env)
            runs: dict[str, list[dict[str, float]]] = {"ours": [], "gem": []}
            for round_index in range(rounds):  # alternate (and swap the lead) so drifts hit both
                sides = [("ours", our_step, our_reset, our_actions), ("gem", gem_step, gem_reset, gem_actions)]
                for side, step, reset, actions in (sides if round_index % 2 == 0 else sides[::-1]):
                    runs[side].append(episodes(step, reset, actions, seconds))
            for side, results in runs.items():
                for key in ("steps_per_s", "reset_us", "steps_per_episode", "cpu_share"):
                    row[f"{side}_{key}"] = statistics.median(r[key] for r in results)
                row[f"{side}_runs"] = results
            row["step_ratio"] = row["ours_steps_per_s"] / row["gem_steps_per_s"]
            row["reset_ratio"] = row["gem_reset_us"] / row["ours_reset_us"]  # > 1: our resets are faster
        except Exception as exc:  # noqa: BLE001 - one failing peer must not hide the others
            row["error"] = f"{type(exc).__name__}: {exc}"[:300]
        rows.append(row)
        print(f"  {pair.name} ({pair.matched}): steps {row.get('step_ratio', float('nan')):.2f}x, "
              f"resets {row.get('reset_ratio', float('nan')):.2f}x {row.get('error', '')}", file=sys.stderr)
    return rows


def bench_wrapper_overhead(seconds: float, rounds: int) -> dict[str, Any]:
    pair = PAIRS[0]
    actions, _ = action_stream(pair)
    bare = agentgym.make(pair.ours_id, max_turns=None, episode_statistics=False)
    wrapped = agentgym.make(pair.ours_id)  # the default stack
    bare.reset(seed=0)
    wrapped.reset(seed=0)
    bare_runs, wrapped_runs = [], []
    for _ in range(rounds):
        bare_runs.append(episodes(bare.step, bare.reset, actions, seconds))
        wrapped_runs.append(episodes(wrapped.step, wrapped.reset, actions, seconds))
    bare_rate = statistics.median(r["steps_per_s"] for r in bare_runs)
    wrapped_rate = statistics.median(r["steps_per_s"] for r in wrapped_runs)
    overhead = bare_rate / wrapped_rate - 1
    return {"env": pair.ours_id, "wrappers": repr(wrapped), "bare_steps_per_s": bare_rate,
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


class _Sequential:
    """The baseline: step each environment in turn."""

    def __init__(self, num_envs: int, delay: float) -> None:
        self.envs = [SlowEnv(delay) for _ in range(num_envs)]
        for env in self.envs:
            env.reset(seed=0)

    def step(self, action: str) -> None:
        for env in self.envs:
            env.step(action)

    def close(self) -> None:
        for env in self.envs:
            env.close()


class _Pool(_Sequential):
    """A ``ThreadPoolExecutor`` with one worker per environment, mapping ``step`` over them."""

    def __init__(self, num_envs: int, delay: float) -> None:
        super().__init__(num_envs, delay)
        self.pool = ThreadPoolExecutor(max_workers=num_envs)

    def step(self, action: str) -> None:
        list(self.pool.map(lambda env: env.step(action), self.envs))

    def close(self) -> None:
        self.pool.shutdown()
        super().close()


class _Vector:
    """A Gymnasium-style vector env stepping every sub-environment at once."""

    def __init__(self, vector: Any) -> None:
        self.vector = vector
        self.actions = ("go",) * vector.num_envs
        vector.reset(seed=0)

    def step(self, action: str) -> None:
        self.vector.step(self.actions)

    def close(self) -> None:
        self.vector.close()


def _memory_mib() -> float:
    """Proportional set size (PSS: shared pages split between the processes sharing them) of
    this process and its children, MiB; NaN without psutil."""
    try:
        import psutil
    except ImportError:
        return float("nan")
    total = 0
    for process in [psutil.Process(), *psutil.Process().children(recursive=True)]:
        try:
            total += process.memory_full_info().pss
        except psutil.Error:
            pass
    return total / 2**20


def bench_concurrency(sizes: list[int], delay: float, vector_steps: int, rounds: int) -> list[dict[str, Any]]:
    """Each size: every contender built once, then ``rounds`` rounds in which each takes
    ``vector_steps`` steps of all environments in turn (the sequential loop takes one)."""
    from gymnasium.vector import AsyncVectorEnv

    from agentgym.vector import AsyncioVectorEnv, ThreadVectorEnv

    results = []
    for num_envs in sizes:
        print(f"  {num_envs} environments...", file=sys.stderr)
        row: dict[str, Any] = {"num_envs": num_envs, "step_delay_s": delay, "ideal_steps_per_s": num_envs / delay,
                               "contenders": {}}
        builders: dict[str, Callable[[], Any]] = {
            # Gymnasium's subprocesses first, before this process has extra threads to fork;
            # its text observations cannot go through shared memory.
            "gymnasium AsyncVectorEnv": lambda: _Vector(AsyncVectorEnv(
                [lambda: SlowEnv(delay) for _ in range(num_envs)], shared_memory=False)),
            "agentgym ThreadVectorEnv": lambda: _Vector(ThreadVectorEnv(
                [lambda: SlowEnv(delay) for _ in range(num_envs)])),
            "agentgym AsyncioVectorEnv": lambda: _Vector(AsyncioVectorEnv(
                [lambda: AsyncSlowEnv(delay) for _ in range(num_envs)])),
            f"ThreadPoolExecutor({num_envs} workers)": lambda: _Pool(num_envs, delay),
            "sequential loop": lambda: _Sequential(num_envs, delay),
        }
        contenders: dict[str, Any] = {}
        for name, build in builders.items():
            before = _memory_mib()
            started = time.perf_counter()
            try:
                contenders[name] = build()
                contenders[name].step("go")  # warm up: threads, processes, first calls
                row["contenders"][name] = {"build_s": time.perf_counter() - started,
                                           "memory_mib": _memory_mib() - before, "rates": []}
            except Exception as exc:  # noqa: BLE001 - reported in the table
                row["contenders"][name] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
        try:
            for _ in range(rounds):
                for name, contender in contenders.items():
                    steps = 1 if name == "sequential loop" else vector_steps
                    started = time.perf_counter()
                    for _ in range(steps):
                        contender.step("go")
                    row["contenders"][name]["rates"].append(steps * num_envs / (time.perf_counter() - started))
        finally:
            for contender in contenders.values():
                contender.close()
        sequential = row["contenders"]["sequential loop"]
        sequential_rate = statistics.median(sequential["rates"]) if sequential.get("rates") else float("nan")
        for name, result in row["contenders"].items():
            if result.get("rates"):
                result["steps_per_s"] = statistics.median(result["rates"])
                result["of_ideal"] = result["steps_per_s"] / row["ideal_steps_per_s"]
                result["vs_sequential"] = result["steps_per_s"] / sequential_rate
            print(f"    {name}: {result.get('steps_per_s', float('nan')):,.0f} steps/s "
                  f"({result.get('of_ideal', float('nan')):.0%} of ideal) {result.get('error', '')}", file=sys.stderr)
        results.append(row)
    return results


# ------------------------------------------------------------------------- report
def markdown(report: dict[str, Any]) -> str:
    lines = ["### Games: agentgym vs GEM on matched levels, the same moves on both sides", "",
             "Steps/s: the clock runs only during `step` calls (stopped around every reset); reset µs: the "
             "resets between those episodes, timed alone. Ratios > 1 favour agentgym.", "",
             "| game | matched parameters | agentgym steps/s | GEM steps/s | step ratio | reset µs (ours / GEM) "
             "| reset ratio | steps/episode (ours / GEM) | not matched |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for row in report["games"]:
        if "error" in row:
            lines.append(f"| {row['game']} | {row['matched']} | | | error: {row['error']} | | | | |")
            continue
        lines.append(
            f"| {row['game']} | {row['matched']} | {row['ours_steps_per_s']:,.0f} | {row['gem_steps_per_s']:,.0f} "
            f"| **{row['step_ratio']:.2f}x** | {row['ours_reset_us']:,.1f} / {row['gem_reset_us']:,.1f} "
            f"| **{row['reset_ratio']:.2f}x** "
            f"| {row['ours_steps_per_episode']:.1f} / {row['gem_steps_per_episode']:.1f} | {row['unmatched'] or '—'} |")
    shares = [row[f"{side}_cpu_share"] for row in report["games"] if "error" not in row for side in ("ours", "gem")]
    if shares:
        lines += ["", f"This process ran {statistics.median(shares):.0%} of the wall time of a game measurement "
                  f"(median; range {min(shares):.0%}-{max(shares):.0%}): the rest, other jobs had the cores."]
    w = report["wrapper_overhead"]
    lines += ["", "### Wrapper overhead (steps only)", "",
              "| measurement | bare steps/s | wrapped steps/s | overhead | target |", "|---|---:|---:|---:|---:|",
              f"| `agentgym.make` default stack on {w['env']} | {w['bare_steps_per_s']:,.0f} "
              f"| {w['wrapped_steps_per_s']:,.0f} | **{w['overhead']:+.1%}** | ≤ +15% |"]
    for row in report["concurrency"]:
        lines += ["", f"### {row['num_envs']} environments, each step waits {row['step_delay_s'] * 1000:.0f} ms "
                  f"(ideal {row['ideal_steps_per_s']:,.0f} steps/s)", "",
                  "| contender | steps/s | % of ideal | vs sequential | build + first step (s) | memory, PSS (MiB) |",
                  "|---|---:|---:|---:|---:|---:|"]
        for name, result in row["contenders"].items():
            if "steps_per_s" not in result:
                lines.append(f"| {name} | error: {result.get('error', 'no measurement')} | | | | |")
                continue
            lines.append(f"| {name} | {result['steps_per_s']:,.0f} | {result['of_ideal']:.0%} "
                         f"| {result['vs_sequential']:.1f}x | {result['build_s']:.2f} | {result['memory_mib']:,.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=ShowDefaults)
    parser.add_argument("--seconds", type=positive_float, default=1.0, help="duration of one game measurement")
    parser.add_argument("--rounds", type=positive_int, default=3, help="alternating rounds per comparison")
    parser.add_argument("--envs", type=positive_int, nargs="+", default=[64, 256], help="concurrent environment counts")
    parser.add_argument("--vector-steps", type=positive_int, default=20,
                        help="vector steps per concurrency measurement")
    parser.add_argument("--delay", type=positive_float, default=0.010, help="seconds each concurrent step waits")
    parser.add_argument("--skip", choices=["games", "concurrency"], nargs="*", default=[])
    parser.add_argument("--out", type=output_folder, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    report: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "processor": platform.processor() or platform.machine(),
                    "cpus": os.cpu_count(), "load_average_at_start": list(os.getloadavg())},
        "command": " ".join(["python", "benchmarks/bench_env_step.py", *sys.argv[1:]]),
        "date": time.strftime("%Y-%m-%d"),
        "games": [], "concurrency": [],
    }
    if "games" not in args.skip:
        print("games vs GEM...", file=sys.stderr)
        report["games"] = bench_games(args.seconds, args.rounds)
    print("wrapper overhead...", file=sys.stderr)
    report["wrapper_overhead"] = bench_wrapper_overhead(args.seconds, args.rounds)
    if "concurrency" not in args.skip:
        print("concurrency...", file=sys.stderr)
        report["concurrency"] = bench_concurrency(args.envs, args.delay, args.vector_steps, args.rounds)
    report["machine"]["load_average_at_end"] = list(os.getloadavg())
    table = markdown(report)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_env_step.json").write_text(json.dumps(report, indent=2))
    (args.out / "bench_env_step.md").write_text(table + "\n")
    print(f"\nwrote {args.out / 'bench_env_step.json'} and bench_env_step.md", file=sys.stderr)


if __name__ == "__main__":
    main()
