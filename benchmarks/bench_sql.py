"""Text2SQL environment speed: agentgym's ``tools/SQL-v0`` against SkyRL-gym's ``text2sql``
environment (``pip install skyrl-gym``), on the same databases, questions and actions.

Episodes come from agentgym's environment (seeds 0..N-1, the three levels, the three schemas);
each database it used is written to a SQLite file where SkyRL-gym's ``SQLEnv`` looks for it
(``<db_path>/SynSQL-2.5M/databases/<db_id>/<db_id>.sqlite``), with the episode's gold query
as SkyRL's ``ground_truth``. Both environments then play the same scripted actions, strings
that both parse: two explorations (a random query on one table, then the gold query, each as
``<think>...</think><sql>...</sql>``) and a submission (``<think>...</think><solution>...
</solution>``) of the gold query, or of the random query in every fourth episode. The rewards
of the two sides are compared episode by episode (reported as their agreement; a difference is
printed).

A measured episode includes each library's per-episode setup: agentgym's ``reset`` (which
draws the question and runs its gold query; the databases are cached) and the construction of
SkyRL's ``SQLEnv`` with ``init``; steps are counted as the three actions. The two sides
alternate over ``--rounds`` and the medians are reported with the ratio (target: agentgym
>= 1x SkyRL-gym). Also reported: steps alone (setup excluded), and the time to generate one
database of each schema from scratch (target < 0.2 s).

    python benchmarks/bench_sql.py [--episodes 90] [--rounds 9] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import agentgym
from agentgym.envs.tools.sql.schemas import SCHEMAS, _build
from agentgym.envs.tools.sql.env import SQLEnv
from bench_cli import ShowDefaults, cpus_and_load, output_folder, positive_int

LEVELS = ("easy", "medium", "hard")
TARGET = 1.0
GENERATION_TARGET_S = 0.2


def script(env: SQLEnv, rng: random.Random, wrong: bool) -> list[str]:
    """The actions of one episode: a random exploration, the gold query explored, and the gold
    query submitted (or, when ``wrong``, the random query), in a format both environments parse."""
    exploration = env.random_action(rng)
    query = exploration[exploration.index(">") + 1: exploration.rindex("<")]
    gold = env.question.gold_sql
    return [f"<think>Let me look at the data.</think>\n<sql>{query}</sql>",
            f"<think>Let me check my query.</think>\n<sql>{gold}</sql>",
            f"<think>This answers the question.</think>\n<solution>{query if wrong else gold}</solution>"]


def build_episodes(count: int, folder: Path) -> list[dict[str, Any]]:
    """Episodes from agentgym's environment; their databases written where SkyRL looks."""
    episodes = []
    rng = random.Random(0)
    for index in range(count):
        level, schema = LEVELS[index % 3], SCHEMAS[(index // 3) % 3]
        env = SQLEnv(level, schema=schema)
        observation, _ = env.reset(seed=index)
        database = env.database
        target = folder / "SynSQL-2.5M" / "databases" / database.name / f"{database.name}.sqlite"
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(database.image)
        episodes.append({"seed": index, "difficulty": level, "schema": schema, "db_id": database.name,
                         "prompt": observation, "gold": env.question.gold_sql,
                         "actions": script(env, rng, wrong=index % 4 == 3)})
        env.close()
    return episodes


def run_ours(episodes: list[dict[str, Any]]) -> Callable[[], tuple[int, float, list[float]]]:
    envs = {(e["difficulty"], e["schema"]): agentgym.make("tools/SQL-v0", difficulty=e["difficulty"],
                                                          schema=e["schema"], max_turns=None,
                                                          episode_statistics=False)
            for e in episodes}

    def once() -> tuple[int, float, list[float]]:
        steps, stepping, rewards = 0, 0.0, []
        for episode in episodes:
            env = envs[(episode["difficulty"], episode["schema"])]
            env.reset(seed=episode["seed"])
            start = time.perf_counter()
            for action in episode["actions"]:
                _, reward, terminated, truncated, _ = env.step(action)
                steps += 1
            stepping += time.perf_counter() - start
            assert terminated, "agentgym's episode did not end on the submission"
            rewards.append(reward)
        return steps, stepping, rewards

    return once


def run_skyrl(episodes: list[dict[str, Any]], folder: Path) -> Callable[[], tuple[int, float, list[float]]]:
    from skyrl_gym.envs.sql.env import SQLEnv as SkyRLSQLEnv, Text2SQLEnvConfig

    config = Text2SQLEnvConfig(db_path=str(folder))

    def once() -> tuple[int, float, list[float]]:
        steps, stepping, rewards = 0, 0.0, []
        for episode in episodes:
            env = SkyRLSQLEnv(config, extras={"db_id": episode["db_id"], "data": "synsql", "max_turns": 5,
                                              "reward_spec": {"ground_truth": episode["gold"]}})
            env.init([{"role": "user", "content": episode["prompt"]}])
            start = time.perf_counter()
            for action in episode["actions"]:
                output = env.step(action)
                steps += 1
            stepping += time.perf_counter() - start
            assert output["done"], "SkyRL's episode did not end on the solution"
            rewards.append(float(output["reward"]))
            env.close()
        return steps, stepping, rewards

    return once


def measure(once: Callable[[], tuple[int, float, list[float]]]) -> dict[str, Any]:
    start = time.perf_counter()
    steps, stepping, rewards = once()
    elapsed = time.perf_counter() - start
    return {"steps_per_s": steps / elapsed, "steps_only_per_s": steps / stepping, "rewards": rewards}


def generation_times(seeds: range) -> dict[str, float]:
    """Median seconds to generate one database of each schema, uncached (schemas interleaved,
    so that a burst of load on the machine does not fall on one schema)."""
    samples: dict[str, list[float]] = {schema: [] for schema in SCHEMAS}
    for schema in SCHEMAS:
        _build.__wrapped__(schema, 9_999)  # warm-up
    for seed in seeds:
        for schema in SCHEMAS:
            start = time.perf_counter()
            _build.__wrapped__(schema, 10_000 + seed)
            samples[schema].append(time.perf_counter() - start)
    return {schema: statistics.median(times) for schema, times in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=ShowDefaults)
    parser.add_argument("--episodes", type=positive_int, default=90)
    parser.add_argument("--rounds", type=positive_int, default=9)
    parser.add_argument("--out", type=output_folder, default=Path(__file__).parent / "results")
    args = parser.parse_args()

    report: dict[str, Any] = {"machine": platform.platform(), "python": platform.python_version(),
                              **cpus_and_load(), "episodes": args.episodes, "rounds": args.rounds}
    generation = generation_times(range(9))
    report["generation_s"] = generation
    with tempfile.TemporaryDirectory(prefix="bench_sql_") as tmp:
        folder = Path(tmp)
        episodes = build_episodes(args.episodes, folder)
        report["databases"] = len({e["db_id"] for e in episodes})
        ours = run_ours(episodes)
        try:
            theirs = run_skyrl(episodes, folder)
            report["skyrl_gym"] = metadata.version("skyrl-gym")
        except ImportError as exc:
            theirs = None
            report["skyrl_gym"] = f"not installed ({exc})"
        ours()  # warm-up: caches, imports
        if theirs:
            theirs()
        rounds: dict[str, list[dict[str, Any]]] = {"agentgym": [], "skyrl": []}
        for _ in range(args.rounds):
            rounds["agentgym"].append(measure(ours))
            if theirs:
                rounds["skyrl"].append(measure(theirs))
    for side, results in rounds.items():
        if not results:
            continue
        rewards = results[0]["rewards"]
        assert all(r["rewards"] == rewards for r in results), f"{side}: rewards changed between rounds"
        report[side] = {"steps_per_s": statistics.median(r["steps_per_s"] for r in results),
                        "steps_only_per_s": statistics.median(r["steps_only_per_s"] for r in results),
                        "mean_reward": sum(rewards) / len(rewards)}
    if rounds["skyrl"]:
        ours_rewards, their_rewards = rounds["agentgym"][0]["rewards"], rounds["skyrl"][0]["rewards"]
        report["reward_agreement"] = sum(a == b for a, b in zip(ours_rewards, their_rewards)) / len(episodes)
        for episode, a, b in zip(episodes, ours_rewards, their_rewards):
            if a != b:
                print(f"rewards differ ({a} vs {b}) on seed {episode['seed']}: {episode['actions'][-1]}",
                      file=sys.stderr)
        report["ratio"] = report["agentgym"]["steps_per_s"] / report["skyrl"]["steps_per_s"]
        report["ratio_steps_only"] = report["agentgym"]["steps_only_per_s"] / report["skyrl"]["steps_only_per_s"]

    lines = ["| measurement | agentgym | SkyRL-gym | ratio | target |", "|---|---:|---:|---:|---:|"]
    if "ratio" in report:
        lines.append(f"| steps/s, per-episode setup included | {report['agentgym']['steps_per_s']:,.0f} | "
                     f"{report['skyrl']['steps_per_s']:,.0f} | **{report['ratio']:.1f}x** | ≥ {TARGET:.0f}x |")
        lines.append(f"| steps/s, steps only | {report['agentgym']['steps_only_per_s']:,.0f} | "
                     f"{report['skyrl']['steps_only_per_s']:,.0f} | {report['ratio_steps_only']:.1f}x | |")
        lines.append(f"| mean reward (gold submitted in 3 episodes of 4) | {report['agentgym']['mean_reward']:.2f} | "
                     f"{report['skyrl']['mean_reward']:.2f} | agree on {report['reward_agreement']:.0%} | equal |")
    else:
        lines.append(f"| steps/s, per-episode setup included | {report['agentgym']['steps_per_s']:,.0f} | "
                     f"{report['skyrl_gym']} | | |")
    for schema, seconds in generation.items():
        lines.append(f"| generate one `{schema}` database (s) | {seconds:.3f} | | | < {GENERATION_TARGET_S} |")
    table = "\n".join(lines)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_sql.json").write_text(json.dumps(report, indent=2))
    (args.out / "bench_sql.md").write_text(table + "\n")
    print(f"\nwrote {args.out / 'bench_sql.json'} and bench_sql.md", file=sys.stderr)


if __name__ == "__main__":
    main()
