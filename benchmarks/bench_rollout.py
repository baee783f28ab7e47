"""Rollout engine throughput against a plain multi-turn loop over ``model.generate``: the same
episodes, the same model, end to end.

Both sides play the same tasks (a mix of eight games, the same seeds) for the same number of
turns with greedy decoding, so they do the same model work up to the rare token that the two
decode loops round differently:

* **engine**: :func:`agentgym.rollout.rollout` with :class:`~agentgym.policies.hf.HFPolicy`
  (batched decoding across episodes, environments stepped concurrently, token-exact transcripts);
* **generate loop**: what one writes by hand with transformers -- every turn, the chat template
  over each live episode's conversation, one left-padded ``model.generate`` call for all of them
  (stopping at EOS), the replies decoded and stepped in their environments one by one.

Only real tokens count on either side: a row's tokens up to and including its end-of-turn
token, never the padding ``generate`` adds after a row has finished. Each side is warmed up
first (one untimed round), the sides alternate which goes first, and the medians over
``--rounds`` (at least 3) are compared. The report also says how many of the two sides' replies
were identical (greedy decoding in two loops).

    python benchmarks/bench_rollout.py [--model smollm2|tiny] [--episodes 16] [--turns 3] [--max-tokens 24] [--rounds 3]
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

import agentgym
from agentgym.policies.base import SamplingParams
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.wrappers import ChatHistory
from bench_cli import ShowDefaults, cpus_and_load, output_folder, positive_int

GAMES = ["games/GuessTheNumber-v0", "games/Wordle-v0", "games/Hangman-v0", "games/TicTacToe-v0",
         "games/Mastermind-v0", "games/TowerOfHanoi-v0", "games/FrozenLake-v0", "games/Sudoku-v0"]
REPOSITORY = Path(__file__).resolve().parents[1]


def load_policy(kind: str):
    from agentgym.policies.hf import HFPolicy

    if kind == "smollm2":
        from agentgym.policies.embedded import embedded_policy

        return embedded_policy()
    from transformers import LlamaConfig, LlamaForCausalLM

    if str(REPOSITORY) not in sys.path:  # the tests folder holds the tokenizer builder
        sys.path.insert(0, str(REPOSITORY))
    from tests.rollout.chat_tokenizers import smollm2_tokenizer  # the real chat template, a small random model

    tokenizer = smollm2_tokenizer()
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=256, intermediate_size=688, num_hidden_layers=4,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096)
    return HFPolicy(LlamaForCausalLM(config).eval(), tokenizer, name="tiny-llama")


def tasks_for(episodes: int) -> list[Task]:
    return [Task(GAMES[i % len(GAMES)], i) for i in range(episodes)]


def engine_run(policy: Any, episodes: int, turns: int, max_tokens: int) -> dict[str, Any]:
    config = RolloutConfig(max_turns=turns, max_batch_size=episodes, max_concurrent_episodes=episodes,
                           sampling=SamplingParams(max_tokens=max_tokens, temperature=0.0))
    start = time.perf_counter()
    result = rollout(policy, tasks_for(episodes), config, progress=False)
    seconds = time.perf_counter() - start
    tokens = sum(len(turn.logprobs or []) for t in result.trajectories for turn in t.turns)
    return {"generated_tokens": tokens, "seconds": seconds, "tokens_per_second": tokens / seconds,
            "policy_calls": result.stats["policy_calls"], "errors": result.stats["errors"],
            "actions": [[turn.action for turn in t.turns] for t in result.trajectories]}


@torch.inference_mode()
def generate_loop(model: Any, tokenizer: Any, episodes: int, turns: int, max_tokens: int,
                  eos_ids: list[int]) -> dict[str, Any]:
    """The hand-written loop (module docstring); counts real tokens only."""
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos_ids[0]
    start = time.perf_counter()
    envs, conversations, actions = [], [], []
    for task in tasks_for(episodes):
        env = ChatHistory(agentgym.make(task.env_id, max_turns=turns))
        _, info = env.reset(seed=task.seed)
        envs.append(env)
        conversations.append(info["messages"])
        actions.append([])
    live = list(range(episodes))
    tokens = 0
    while live:
        prompts = [tokenizer.apply_chat_template(conversations[i], tokenize=False, add_generation_prompt=True)
                   for i in live]
        encoded = [tokenizer.encode(p, add_special_tokens=False) for p in prompts]
        width = max(map(len, encoded))
        ids = torch.tensor([[pad] * (width - len(e)) + e for e in encoded])
        mask = torch.tensor([[0] * (width - len(e)) + [1] * len(e) for e in encoded])
        output = model.generate(input_ids=ids, attention_mask=mask, do_sample=False, max_new_tokens=max_tokens,
                                eos_token_id=eos_ids, pad_token_id=pad)[:, width:].tolist()
        still = []
        for i, row in zip(live, output):
            real = next((k + 1 for k, token in enumerate(row) if token in eos_ids), len(row))
            tokens += real
            text = tokenizer.decode(row[:real], skip_special_tokens=True)
            actions[i].append(text)
            _, _, terminated, truncated, info = envs[i].step(text)
            conversations[i] = info["messages"]
            if not (terminated or truncated):
                still.append(i)
        live = still
    for env in envs:
        env.close()
    seconds = time.perf_counter() - start
    return {"generated_tokens": tokens, "seconds": seconds, "tokens_per_second": tokens / seconds,
            "policy_calls": None, "errors": 0, "actions": actions}


def same_actions(a: list[list[str]], b: list[list[str]]) -> float:
    pairs = [(x, y) for left, right in zip(a, b) for x, y in zip(left, right)]
    return sum(x.strip() == y.strip() for x, y in pairs) / max(len(pairs), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=ShowDefaults)
    parser.add_argument("--model", choices=["smollm2", "tiny"], default="smollm2")
    parser.add_argument("--episodes", type=positive_int, default=16)
    parser.add_argument("--turns", type=positive_int, default=3)
    parser.add_argument("--max-tokens", type=positive_int, default=24)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=output_folder, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    if args.rounds < 3:
        parser.error("--rounds must be at least 3 (medians of fewer rounds say little on a noisy machine)")
    policy = load_policy(args.model)
    eos = sorted(policy.eos_token_ids)
    sides = {
        "engine": lambda: engine_run(policy, args.episodes, args.turns, args.max_tokens),
        "generate": lambda: generate_loop(policy.model, policy.tokenizer, args.episodes, args.turns,
                                          args.max_tokens, eos),
    }
    for run in sides.values():  # warm-up: allocator, kernels, tokenizer caches
        run()
    results: dict[str, list[dict[str, Any]]] = {"engine": [], "generate": []}
    for round_index in range(args.rounds):
        order = ["engine", "generate"] if round_index % 2 == 0 else ["generate", "engine"]
        for name in order:
            results[name].append(sides[name]())
        print(f"round {round_index}: " + ", ".join(f"{name} {results[name][-1]['tokens_per_second']:.1f} tok/s"
                                                   for name in ("engine", "generate")), file=sys.stderr)
    engine_tps = statistics.median(r["tokens_per_second"] for r in results["engine"])
    generate_tps = statistics.median(r["tokens_per_second"] for r in results["generate"])
    ratio = engine_tps / generate_tps
    agreement = same_actions(results["engine"][0]["actions"], results["generate"][0]["actions"])
    for runs in results.values():
        for run in runs:
            run.pop("actions")
    report = {"model": policy.name, "episodes": args.episodes, "turns": args.turns, "max_tokens": args.max_tokens,
              "games": GAMES, "engine_tokens_per_second": engine_tps, "generate_tokens_per_second": generate_tps,
              "ratio": ratio, "same_replies": agreement, "rounds": results, "torch_threads": torch.get_num_threads(),
              "machine": platform.processor() or platform.machine(), **cpus_and_load()}
    table = "\n".join([
        f"### Rollout engine vs a `model.generate` loop ({policy.name}, {args.episodes} episodes × "
        f"{args.turns} turns, ≤ {args.max_tokens} tokens per turn, greedy, CPU, median of {args.rounds} rounds)", "",
        "| side | generated tokens/s (real tokens only) |", "|---|---:|",
        f"| hand-written multi-turn loop: one batched `model.generate` per turn | {generate_tps:.1f} |",
        f"| agentgym rollout engine (envs stepped concurrently, token-exact) | {engine_tps:.1f} |",
        f"| **ratio** | **{ratio:.2f}x** |", "",
        f"Identical replies on both sides (greedy): {agreement:.0%}."])
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_rollout.json").write_text(json.dumps(report, indent=2))
    (args.out / "bench_rollout.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
