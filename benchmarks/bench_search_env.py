"""The search family end to end: environment speed with an oracle policy, and how the oracle and
the embedded model do on the search suite.

1. **Steps/s with the oracle** (``search/MultiHop-v0``, Search-R1 tags, ``top_k`` 3) over the
   generated corpus at each ``--sizes`` (default 10k and 100k documents): episodes of every
   question kind, the oracle's moves (one search per hop, then the answer) stepped in one
   thread; the share of the time spent inside the retriever is measured by timing its calls.
   The ratio reported is steps/s at each size against the smallest size of the same run (how
   the environment scales with the corpus). The first build of a corpus and its index is timed
   separately (it is cached on disk afterwards).
2. **The suite** ``search-v0`` (single, bridge, comparison and intersection questions) with
   ``agentgym.evaluate``: the oracle and, unless ``--no-model``, the embedded default model
   (SmolLM2-135M, greedy). Reported per policy: exact match, token F1, searches per question,
   gold-document recall, turns, and EM per question kind.

    python benchmarks/bench_search_env.py [--sizes 10000 100000] [--episodes 200] [--tasks 5]
        [--max-turns 6] [--no-model] [--cache-dir DIR] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import agentgym
from agentgym.envs.search.env import SearchEnv
from agentgym.envs.search.world import MIN_SIZE, NAME_SPACE
from agentgym.eval import evaluate
from agentgym.retrieval.base import Retriever
from agentgym.rollout import RolloutConfig
from agentgym.trajectory import Trajectory
from agentgym.policies.base import SamplingParams
from agentgym.policies.specs import EMBEDDED_SPEC
from bench_cli import ShowDefaults, cpus_and_load, integer_between, output_folder, positive_int


class TimedRetriever:
    """A retriever that adds up the seconds spent searching (the rest is delegated)."""

    def __init__(self, inner: Retriever) -> None:
        self.inner, self.seconds, self.calls = inner, 0.0, 0

    def search(self, query: str, k: int = 5):
        return self.search_many([query], k)[0]

    def search_many(self, queries, k: int = 5):
        start = time.perf_counter()
        try:
            return self.inner.search_many(queries, k)
        finally:
            self.seconds += time.perf_counter() - start
            self.calls += len(queries)

    def document(self, doc_id: str):
        return self.inner.document(doc_id)

    def __len__(self) -> int:
        return len(self.inner)

    def close(self) -> None:  # the shared index belongs to the process cache
        pass


def oracle_speed(size: int, episodes: int, cache_dir: Path, rounds: int) -> dict[str, Any]:
    """Steps/s of oracle episodes over ``World(size, 0)`` (median of ``rounds``)."""
    start = time.perf_counter()
    env = SearchEnv(size=size, seed=0, cache_dir=str(cache_dir))
    first_make_s = time.perf_counter() - start  # builds corpus + index on the first run only
    timed = TimedRetriever(env.retriever)
    env.retriever = timed
    results = []
    for _ in range(rounds):
        timed.seconds, timed.calls = 0.0, 0
        steps, solved = 0, 0
        start = time.perf_counter()
        for seed in range(episodes):
            env.reset(seed=seed)
            done = False
            while not done:
                _, _, terminated, truncated, info = env.step(env.oracle_action())
                steps += 1
                done = terminated or truncated
            solved += bool(info.get("success"))
        elapsed = time.perf_counter() - start
        results.append({"steps_per_s": steps / elapsed, "retrieval_share": timed.seconds / elapsed,
                        "steps": steps, "solved": solved, "searches": timed.calls})
    env.close()
    best = statistics.median(r["steps_per_s"] for r in results)
    return {"documents": size, "first_make_s": first_make_s, "steps_per_s": best,
            "retrieval_share": statistics.median(r["retrieval_share"] for r in results),
            "steps": results[0]["steps"], "episodes": episodes,
            "oracle_success": results[0]["solved"] / episodes}


def final_info(trajectory: Trajectory) -> dict[str, Any]:
    return trajectory.turns[-1].info if trajectory.turns else {}


def suite_metrics(trajectories: list[Trajectory]) -> dict[str, Any]:
    """EM, F1, searches per question, gold recall and turns, overall and EM per kind."""
    rows = []
    for trajectory in trajectories:
        last = final_info(trajectory)
        episode = last.get("episode") or {}
        searches = sum(len(turn.info.get("queries") or ()) for turn in trajectory.turns)
        rows.append({"em": float(last.get("em", 0.0)), "f1": float(last.get("f1", 0.0)), "searches": searches,
                     "gold_recall": float(episode.get("gold_recall", 0.0)), "turns": len(trajectory.turns),
                     "error": trajectory.error})
    mean = lambda key: statistics.fmean(row[key] for row in rows) if rows else float("nan")  # noqa: E731
    return {"episodes": len(rows), "em": mean("em"), "f1": mean("f1"), "searches_per_question": mean("searches"),
            "gold_recall": mean("gold_recall"), "turns": mean("turns"),
            "errors": sum(1 for row in rows if row["error"])}


def per_kind(evaluation: Any) -> dict[str, float]:
    """EM per suite entry (one entry per question kind)."""
    from agentgym.eval.metrics import group_by
    from agentgym.eval.evaluate import entry_label
    return {label: suite_metrics(group)["em"]
            for label, group in group_by(evaluation.trajectories, entry_label).items()}


def run_suite(policy: str, tasks: int, max_turns: int, max_tokens: int) -> dict[str, Any]:
    config = RolloutConfig(max_turns=max_turns, max_concurrent_episodes=8,
                           sampling=SamplingParams(max_tokens=max_tokens, temperature=0.0, seed=0))
    start = time.perf_counter()
    evaluation = evaluate(policy, "search-v0", tasks=tasks, config=config, progress=False)
    report = suite_metrics(evaluation.trajectories)
    report["em_by_entry"] = per_kind(evaluation)
    report["seconds"] = time.perf_counter() - start
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=ShowDefaults)
    parser.add_argument("--sizes", type=integer_between(MIN_SIZE, NAME_SPACE), nargs="+", default=[10_000, 100_000])
    parser.add_argument("--episodes", type=positive_int, default=200, help="oracle episodes per size and round")
    parser.add_argument("--rounds", type=positive_int, default=3)
    parser.add_argument("--tasks", type=positive_int, default=5, help="questions per suite entry (4 entries)")
    parser.add_argument("--max-turns", type=positive_int, default=6)
    parser.add_argument("--max-tokens", type=positive_int, default=64)
    parser.add_argument("--no-model", action="store_true", help="skip the embedded model")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="where corpora and indexes are built (default: a temporary folder)")
    parser.add_argument("--out", type=output_folder, default=Path(__file__).parent / "results")
    args = parser.parse_args()

    report: dict[str, Any] = {"machine": platform.platform(), "python": platform.python_version(),
                              **cpus_and_load(), "episodes": args.episodes, "rounds": args.rounds}
    with tempfile.TemporaryDirectory(prefix="bench_search_") as tmp:
        cache = args.cache_dir or Path(tmp)
        speeds = [oracle_speed(size, args.episodes, cache, args.rounds) for size in sorted(args.sizes)]
    base = speeds[0]["steps_per_s"]
    for row in speeds:
        row["ratio_to_smallest"] = row["steps_per_s"] / base
    report["oracle_speed"] = speeds
    policies = ["oracle"] + ([] if args.no_model else [EMBEDDED_SPEC])
    report["suite"] = {policy: run_suite(policy, args.tasks, args.max_turns, args.max_tokens) for policy in policies}

    lines = ["| documents | first build + make (s) | oracle steps/s | vs smallest | time in retrieval | oracle success |",
             "|---:|---:|---:|---:|---:|---:|"]
    for row in speeds:
        lines.append(f"| {row['documents']:,} | {row['first_make_s']:.1f} | {row['steps_per_s']:,.0f} | "
                     f"{row['ratio_to_smallest']:.2f}x | {row['retrieval_share']:.0%} | {row['oracle_success']:.0%} |")
    lines += ["", f"Suite `search-v0`, {args.tasks} questions per kind, at most {args.max_turns} turns:", "",
              "| policy | EM | F1 | searches / question | gold recall | turns | EM by kind |",
              "|---|---:|---:|---:|---:|---:|---|"]
    for policy, row in report["suite"].items():
        kinds = ", ".join(f"{label[label.find('[') + 1:].rstrip(']')}: {em:.2f}" for label, em in row["em_by_entry"].items())
        lines.append(f"| {policy} | {row['em']:.2f} | {row['f1']:.2f} | {row['searches_per_question']:.2f} | "
                     f"{row['gold_recall']:.2f} | {row['turns']:.1f} | {kinds} |")
    table = "\n".join(lines)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_search_env.json").write_text(json.dumps(report, indent=2))
    (args.out / "bench_search_env.md").write_text(table + "\n")
    print(f"\nwrote {args.out / 'bench_search_env.json'} and bench_search_env.md", file=sys.stderr)


if __name__ == "__main__":
    main()
