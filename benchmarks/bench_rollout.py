"""Rollout engine throughput against the model's own batched ``generate``, same model, same prompts.

The engine plays a multi-turn games suite with a Hugging Face policy (batched generation,
environments stepped concurrently, token-exact transcripts). Every policy call it makes is
recorded — the exact prompt token ids of the batch and how many tokens each row generated.
The baseline then replays those same batches through ``model.generate`` (sampling, left
padding, every row forced to generate the batch's longest length), and both sides are
compared in generated tokens per second. The ratio is the engine's efficiency: its decode
loop, its batching across episodes, environment stepping, chat templating and bookkeeping,
against the library's own generation loop doing the same model work.

    python benchmarks/bench_rollout.py [--model smollm2|tiny] [--episodes 16] [--turns 3] [--max-tokens 24]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import torch

from agentgym.policies.base import Generation, Policy, Request, SamplingParams
from agentgym.rollout import RolloutConfig, Task, rollout

GAMES = ["games/GuessTheNumber-v0", "games/Wordle-v0", "games/Hangman-v0", "games/TicTacToe-v0",
         "games/Mastermind-v0", "games/TowerOfHanoi-v0", "games/FrozenLake-v0", "games/Sudoku-v0"]


class RecordingPolicy(Policy):
    """Passes calls through to ``inner`` and records each batch's prompts and output lengths."""

    def __init__(self, inner: Policy) -> None:
        self.inner, self.name, self.tokenizer = inner, inner.name, inner.tokenizer
        self.batches: list[tuple[list[list[int]], list[int]]] = []

    async def agenerate(self, requests: Sequence[Request], sampling: SamplingParams) -> list[Generation]:
        generations = await self.inner.agenerate(requests, sampling)
        self.batches.append(([g.prompt_token_ids for g in generations], [len(g.token_ids or []) for g in generations]))
        return generations


def load_policy(kind: str):
    from agentgym.policies.hf import HFPolicy

    if kind == "smollm2":
        from agentgym.policies.embedded import embedded_policy

        return embedded_policy()
    from transformers import LlamaConfig, LlamaForCausalLM

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests package, for its tokenizer
    from tests.rollout.chat_tokenizers import smollm2_tokenizer  # the real chat template, a small random model

    tokenizer = smollm2_tokenizer()
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=256, intermediate_size=688, num_hidden_layers=4,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096)
    return HFPolicy(LlamaForCausalLM(config).eval(), tokenizer, name="tiny-llama")


def engine_run(policy: Policy, episodes: int, turns: int, max_tokens: int, seed: int) -> tuple[dict, RecordingPolicy]:
    recorder = RecordingPolicy(policy)
    tasks = [Task(GAMES[i % len(GAMES)], seed + i) for i in range(episodes)]
    config = RolloutConfig(max_turns=turns, max_batch_size=episodes, max_concurrent_episodes=episodes,
                           sampling=SamplingParams(max_tokens=max_tokens, temperature=1.0, seed=seed))
    result = rollout(recorder, tasks, config, progress=False)
    stats = result.stats
    return {"generated_tokens": stats["generated_tokens"], "seconds": stats["wall_seconds"],
            "tokens_per_second": stats["tokens_per_second"], "policy_calls": stats["policy_calls"],
            "token_mismatches": stats["token_mismatches"], "errors": stats["errors"]}, recorder


@torch.inference_mode()
def generate_replay(model: Any, pad_id: int, batches: list[tuple[list[list[int]], list[int]]], seed: int) -> dict:
    """Replay the engine's batches with ``model.generate`` (same prompts, same lengths)."""
    torch.manual_seed(seed)
    tokens = 0
    start = time.perf_counter()
    for prompts, lengths in batches:
        width = max(len(p) for p in prompts)
        new = max(max(lengths), 1)
        ids = torch.tensor([[pad_id] * (width - len(p)) + p for p in prompts])
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
        model.generate(input_ids=ids, attention_mask=mask, do_sample=True, temperature=1.0, top_p=1.0, top_k=0,
                       max_new_tokens=new, min_new_tokens=new, pad_token_id=pad_id)
        tokens += new * len(prompts)
    seconds = time.perf_counter() - start
    return {"generated_tokens": tokens, "seconds": seconds, "tokens_per_second": tokens / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=["smollm2", "tiny"], default="smollm2")
    parser.add_argument("--episodes", type=int, default=16)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    policy = load_policy(args.model)
    pad = policy.tokenizer.pad_token_id if policy.tokenizer.pad_token_id is not None else policy.tokenizer.eos_token_id
    engine_tps, generate_tps, runs = [], [], []
    for round_index in range(args.rounds):  # alternate the two sides; keep the median
        engine, recorder = engine_run(policy, args.episodes, args.turns, args.max_tokens, seed=round_index)
        baseline = generate_replay(policy.model, pad, recorder.batches, seed=round_index)
        engine_tps.append(engine["tokens_per_second"])
        generate_tps.append(baseline["tokens_per_second"])
        runs.append({"engine": engine, "generate": baseline})
        print(f"round {round_index}: engine {engine['tokens_per_second']:.1f} tok/s, "
              f"generate {baseline['tokens_per_second']:.1f} tok/s", file=sys.stderr)
    ratio = statistics.median(engine_tps) / statistics.median(generate_tps)
    report = {"model": policy.name, "episodes": args.episodes, "turns": args.turns, "max_tokens": args.max_tokens,
              "games": GAMES, "engine_tokens_per_second": statistics.median(engine_tps),
              "generate_tokens_per_second": statistics.median(generate_tps), "ratio": ratio, "target": 0.9,
              "meets_target": ratio >= 0.9, "rounds": runs, "torch_threads": torch.get_num_threads(),
              "machine": platform.processor() or platform.machine()}
    table = "\n".join([
        f"### Rollout engine vs `model.generate` ({policy.name}, {args.episodes} episodes × {args.turns} turns, "
        f"≤ {args.max_tokens} tokens per turn, CPU)", "",
        "| side | generated tokens/s |", "|---|---:|",
        f"| `model.generate` on the engine's own prompt batches | {report['generate_tokens_per_second']:.1f} |",
        f"| agentgym rollout engine (multi-turn, envs stepped, token-exact) | {report['engine_tokens_per_second']:.1f} |",
        f"| **ratio** | **{ratio:.2f}x** (target ≥ 0.9x) |"])
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_rollout.json").write_text(json.dumps(report, indent=2))
    (args.out / "bench_rollout.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
