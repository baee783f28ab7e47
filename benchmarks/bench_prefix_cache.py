"""Multi-turn prefix caching in ``HFPolicy``: rollout throughput with the cache on and off.

The embedded model (SmolLM2-135M-Instruct) plays a multi-turn game for ``--episodes`` episodes
of 8 and of 16 turns, greedy. The default game, Mastermind, lasts the 16 turns with this model
(its malformed codes do not use up guesses; Wordle's episodes end after 6 to 8), and its
prompts grow by about 45 tokens a turn, so a rollout feeds about 25 (8 turns) and 40 (16 turns)
prompt tokens per generated token: close to the mix issue 16 measured. ``--env
games/TwentyQuestions-v0`` has far longer observations (an unanswerable question gets the list
of every property it can ask about, ~300 tokens a turn): prefill dominates even more there, and
a 16-turn rollout without the cache takes over half an hour on two CPU cores. Each round runs both sides on the same
tasks, alternating which goes first; a warm-up run of each side comes before. Per side: generated
tokens per second over the whole rollout (wall clock), prompt tokens prefilled and reused
(``policy.prefix_cache.stats``), and, against the other side of the same round, whether every
trajectory has the same tokens and the largest |log-prob difference|.

    python benchmarks/bench_prefix_cache.py [--env games/Mastermind-v0] [--turns 8 16] [--episodes 8]
                                            [--max-tokens 24] [--rounds 2] [--threads 1]

A second measurement times one call of a *mixed* batch -- conversations continuing after
``--mixed-turns`` turns (their prefixes cached) beside one new conversation (nothing cached) --
both ways ``HFPolicy`` can prefill it (:attr:`HFPolicy.prefill_misses_apart`): the new prompt
prefilled apart and the caches joined, or all rows in one forward pass whose cache region is
as wide as the longest reuse and whose suffix region is as wide as the new prompt.

Results go to ``benchmarks/results/bench_prefix_cache.{json,md}``. Medians over the rounds; the
target is 1.5x at 16 turns.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

from agentgym.policies.base import Request, SamplingParams
from agentgym.policies.hf import HFPolicy
from agentgym.rollout import RolloutConfig, RolloutResult, Task, rollout
from agentgym.wrappers.chat_history import DEFAULT_SYSTEM_PROMPT
from bench_cli import ShowDefaults, cpus_and_load, non_negative_int, output_folder, positive_int, registered_env

DEFAULT_ENV = "games/Mastermind-v0"
TARGET = 1.5


def run_side(policy: HFPolicy, env_id: str, episodes: int, turns: int,
             max_tokens: int) -> tuple[dict[str, Any], RolloutResult]:
    policy.prefix_cache.clear()
    policy.prefix_cache.reset_stats()
    tasks = [Task(env_id, seed) for seed in range(episodes)]
    config = RolloutConfig(max_turns=turns, max_batch_size=episodes, max_concurrent_episodes=episodes,
                           sampling=SamplingParams(max_tokens=max_tokens, temperature=0))
    start = time.perf_counter()
    result = rollout(policy, tasks, config, progress=False)
    seconds = time.perf_counter() - start
    stats, cache = result.stats, policy.prefix_cache.stats
    return {"generated_tokens": stats["generated_tokens"], "seconds": seconds,
            "tokens_per_second": stats["generated_tokens"] / seconds, "turns": stats["turns"],
            "policy_calls": stats["policy_calls"], "errors": stats["errors"],
            "token_mismatches": stats["token_mismatches"], "tokens_prefilled": cache.tokens_prefilled,
            "tokens_reused": cache.tokens_reused, "hits": cache.hits, "misses": cache.misses,
            "evictions": cache.evictions, "peak_cache_bytes": cache.peak_bytes,
            "longest_sequence": max(len(t.token_ids) for t in result.trajectories)}, result


def compare(first: RolloutResult, second: RolloutResult) -> tuple[bool, float]:
    """Whether every trajectory has the same tokens, and the largest |log-prob difference|."""
    same, worst = True, 0.0
    for a, b in zip(first.trajectories, second.trajectories, strict=True):
        if a.token_ids != b.token_ids:
            same = False
            continue
        for x, y in zip(a.turns, b.turns):
            worst = max([worst, *(abs(p - q) for p, q in zip(x.logprobs or [], y.logprobs or []))])
    return same, worst


def chat_prompt(tokenizer: Any, text: str) -> list[int]:
    """A new episode's prompt: the rollout engine's default system prompt and ``text``."""
    messages = [{"role": "system", "content": DEFAULT_SYSTEM_PROMPT}, {"role": "user", "content": text}]
    rendered = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return list(tokenizer.encode(rendered, add_special_tokens=False))


def mixed_call(policy: HFPolicy, conversations: int, turns: int, max_tokens: int) -> dict[str, Any]:
    """Play ``conversations`` conversations for ``turns`` turns (untimed), then time one call
    continuing them all beside a new conversation."""
    tokenizer, sampling = policy.tokenizer, SamplingParams(max_tokens=max_tokens, temperature=0)
    policy.prefix_cache.clear()
    observation = list(tokenizer.encode("<|im_end|>\n<|im_start|>user\nInvalid action: the code has 4 digits, "
                                        "not 1.<|im_end|>\n<|im_start|>assistant\n", add_special_tokens=False))
    prompts = [chat_prompt(tokenizer, f"Guess the 4-peg code (digits 1-6), game {i}. You have 10 guesses.")
               for i in range(conversations)]
    for _ in range(turns):
        generations = policy.generate([Request([], prompt_token_ids=p) for p in prompts], sampling)
        prompts = [g.prompt_token_ids + g.token_ids + observation for g in generations]
    new = chat_prompt(tokenizer, "A new game. Guess the 4-peg code (digits 1-6). You have 10 guesses.")
    batch = [Request([], prompt_token_ids=p) for p in [*prompts, new]]
    start = time.perf_counter()
    generations = policy.generate(batch, sampling)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "generated_tokens": sum(len(g.token_ids) for g in generations),
            "cached": [g.metadata["cached_prompt_tokens"] for g in generations],
            "prompt_lengths": [len(g.prompt_token_ids) for g in generations],
            "tokens": [g.token_ids for g in generations], "logprobs": [g.logprobs for g in generations]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=ShowDefaults)
    parser.add_argument("--env", type=registered_env, default=DEFAULT_ENV)
    parser.add_argument("--turns", type=positive_int, nargs="*", default=[8, 16])
    parser.add_argument("--episodes", type=positive_int, default=8)
    parser.add_argument("--max-tokens", type=positive_int, default=24)
    parser.add_argument("--rounds", type=positive_int, default=2)
    parser.add_argument("--mixed-turns", type=non_negative_int, default=6,
                        help="turns before the mixed batch (0: skip it)")
    parser.add_argument("--threads", type=positive_int, default=1, help="torch threads (1 on busy shared cores)")
    parser.add_argument("--out", type=output_folder, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from agentgym.policies.embedded import load_embedded_model

    model, tokenizer = load_embedded_model()
    sides = {"off": HFPolicy(model, tokenizer, name="smollm2-135m", prefix_cache=False),
             "on": HFPolicy(model, tokenizer, name="smollm2-135m")}
    for policy in sides.values():  # warm-up: allocator, kernels, templates
        run_side(policy, args.env, 2, 2, 8)
    report: dict[str, Any] = {"model": "smollm2-135m (embedded, float32)", "env_id": args.env,
                              "episodes": args.episodes, "max_tokens": args.max_tokens, "sampling": "greedy",
                              "rounds": args.rounds, "torch_threads": torch.get_num_threads(),
                              "prefix_cache_bytes": sides["on"].prefix_cache.max_bytes,
                              "machine": platform.processor() or platform.machine(),
                              **cpus_and_load(), "by_turns": {}}
    for turns in args.turns:
        runs = []
        for round_index in range(args.rounds):
            order = ["off", "on"] if round_index % 2 == 0 else ["on", "off"]
            measured, results = {}, {}
            for side in order:
                measured[side], results[side] = run_side(sides[side], args.env, args.episodes, turns, args.max_tokens)
                print(f"{turns} turns, round {round_index}, cache {side}: "
                      f"{measured[side]['tokens_per_second']:.1f} tok/s, {measured[side]['seconds']:.1f} s, "
                      f"{measured[side]['tokens_prefilled']} tokens prefilled", file=sys.stderr)
            same, worst = compare(results["on"], results["off"])
            runs.append({**measured, "same_tokens": same, "max_abs_logprob_diff": worst})
        on = statistics.median(run["on"]["tokens_per_second"] for run in runs)
        off = statistics.median(run["off"]["tokens_per_second"] for run in runs)
        report["by_turns"][str(turns)] = {
            "tokens_per_second_off": off, "tokens_per_second_on": on, "speedup": on / off,
            "tokens_prefilled_off": runs[0]["off"]["tokens_prefilled"],
            "tokens_prefilled_on": runs[0]["on"]["tokens_prefilled"],
            "generated_tokens": runs[0]["on"]["generated_tokens"],
            "same_tokens": all(run["same_tokens"] for run in runs),
            "max_abs_logprob_diff": max(run["max_abs_logprob_diff"] for run in runs), "runs": runs}
    if args.mixed_turns:
        policy, timings, outputs = sides["on"], {"apart": [], "together": []}, {}
        for round_index in range(args.rounds):
            for way in (["apart", "together"] if round_index % 2 == 0 else ["together", "apart"]):
                policy.prefill_misses_apart = way == "apart"
                outputs[way] = mixed_call(policy, args.episodes - 1, args.mixed_turns, args.max_tokens)
                timings[way].append(outputs[way]["seconds"])
                print(f"mixed batch, round {round_index}, prefilled {way}: {outputs[way]['seconds']:.2f} s",
                      file=sys.stderr)
        policy.prefill_misses_apart = True
        same = outputs["apart"]["tokens"] == outputs["together"]["tokens"]
        worst = max((abs(x - y) for a, b in zip(outputs["apart"]["logprobs"], outputs["together"]["logprobs"])
                     for x, y in zip(a, b)), default=0.0) if same else None
        report["mixed_batch"] = {
            "rows": args.episodes, "turns_before": args.mixed_turns,
            "prompt_lengths": outputs["apart"]["prompt_lengths"], "cached_tokens": outputs["apart"]["cached"],
            "seconds_apart": statistics.median(timings["apart"]),
            "seconds_together": statistics.median(timings["together"]), "same_tokens": same,
            "max_abs_logprob_diff": worst, "timings": timings}
    if "16" in report["by_turns"]:
        report["target"] = TARGET
        report["meets_target"] = report["by_turns"]["16"]["speedup"] >= TARGET
    rows = [f"| {turns} | {r['tokens_per_second_off']:.1f} | {r['tokens_per_second_on']:.1f} | "
            f"**{r['speedup']:.2f}x** | {r['tokens_prefilled_off']:,} → {r['tokens_prefilled_on']:,} | "
            f"{r['generated_tokens']:,} | {'yes' if r['same_tokens'] else '**no**'} | "
            f"{r['max_abs_logprob_diff']:.1e} |" for turns, r in report["by_turns"].items()]
    table = "" if not rows else "\n".join([
        f"### Multi-turn prefix caching in `HFPolicy` (SmolLM2-135M, {args.env}, {args.episodes} episodes, greedy, "
        f"≤ {args.max_tokens} tokens per turn, CPU, {torch.get_num_threads()} torch thread(s), "
        f"median of {args.rounds} rounds)", "",
        "| turns | cache off tok/s | cache on tok/s | speedup | prompt tokens prefilled (off → on) "
        "| generated tokens | same tokens | max \\|Δ log-prob\\| |",
        "|---:|---:|---:|---:|---:|---:|:---:|---:|", *rows, "",
        f"Target: ≥ {TARGET}x at 16 turns. Generated tokens per second over the whole rollout (wall clock: "
        "model, environments, chat templates)."])
    if "mixed_batch" in report:
        mixed = report["mixed_batch"]
        table += "\n".join([
            *(["", ""] if table else []), f"Mixed batch ({mixed['rows'] - 1} conversations after {mixed['turns_before']} turns, their "
            f"prefixes cached, beside 1 new conversation; one call, median of {args.rounds}):", "",
            "| prefill | seconds |", "|---|---:|",
            f"| new prompt apart, caches joined (default) | {mixed['seconds_apart']:.2f} |",
            f"| one forward pass, cache region + suffix region | {mixed['seconds_together']:.2f} |"])
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_prefix_cache.json").write_text(json.dumps(report, indent=2))
    (args.out / "bench_prefix_cache.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
