"""Information-gain scoring speed: the two-pass scorer against brute force and one forward pass.

For batches of 5- and 10-turn trajectories, side by side in one run, same model, same batch:

* **ours**: ``InformationGainReward.values`` (one cached pass over each trajectory, one short
  pass for all the answer copies);
* **brute force**: ``brute_force_values``, one forward pass per context (batched across
  trajectories, answer logits only);
* **brute force with a shared prefix cache** (``cached_prefix_values`` here), the strongest
  simple alternative: per trajectory, one pass over the longest context fills a KV cache (no
  logits), then each context's answer is scored by its own short pass over the stub and
  answer on that cache cropped back to the context (contexts taken longest first, so each
  crop also drops the previous answer: nothing is copied). It does the same arithmetic as
  ours but with one small forward per context, where ours scores every context in one;
* **one forward**: a plain forward pass over the trajectories' whole token sequences, logits
  included, as a trainer runs to get log-probabilities; and, for reference, the same pass
  computing no logits but the last (``logits_to_keep=1``), since our prefix pass skips them.

The model is a randomly initialised Llama-style decoder built here (about 10M parameters,
float32, CPU by default); trajectories are built with realistic token lengths (a system prompt
and instructions, then each turn an action and an observation) and a short reference answer
behind a stub. Each round times every method once, in turn; the figures are medians over
rounds. The script also checks that ours and the cached-prefix baseline equal brute force
(to 1e-5).

On CPU the clock is the process's CPU time with torch on one thread (``--threads``): the
benchmark machines are shared, and under oversubscription multi-threaded wall times swing by
2x from one call to the next, while single-threaded CPU time measures the work done. On CUDA
the clock is wall time, synchronised.

Every method scores the same trajectories in batches of ``--batch-size``: by default 1 on
CPU, where padding a batch only adds work (each method is fastest unbatched there), and all of
them at once on CUDA.

    python benchmarks/bench_info_gain.py [--rounds 5] [--trajectories 4] [--batch-size N]
                                         [--device cpu] [--threads 1] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import DynamicCache, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from agentgym.policies.hf import cache_keyword
from agentgym.rewards import InformationGainReward, brute_force_values
from agentgym.rewards.info_gain import answer_queries
from agentgym.trajectory import Trajectory, Turn
from bench_cli import ShowDefaults, cpus_and_load, output_folder, positive_int, torch_device

TARGETS = {"speedup_vs_brute_force_at_5_turns": 3.0, "ratio_to_one_forward": 1.5}
# Token lengths: prompt (system prompt, instructions, first observation), then per turn.
PROMPT_TOKENS, ACTION_TOKENS, OBSERVATION_TOKENS = 320, 48, 72


def build_model(device: str) -> tuple[Any, Any]:
    """A ~10M-parameter Llama (vocabulary 8192, 4 layers, grouped-query attention) with random
    weights, and a byte-level BPE tokenizer trained here for the stub and answers."""
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=8192, hidden_size=384, intermediate_size=1024, num_hidden_layers=4,
                         num_attention_heads=6, num_key_value_heads=2, max_position_embeddings=4096,
                         tie_word_embeddings=True, attn_implementation="sdpa")
    model = LlamaForCausalLM(config).to(device).eval()
    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    corpus = ["The secret word is crane. The secret number is 42. Guess a five-letter word."] * 50
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    core.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=400, initial_alphabet=alphabet))
    return model, PreTrainedTokenizerFast(tokenizer_object=core)


def build_trajectories(count: int, turns: int, seed: int) -> list[Trajectory]:
    """Token-exact trajectories with lengths jittered by up to ±25% per span."""
    rng = random.Random(seed)

    def length(mean: int) -> int:
        return rng.randint(int(mean * 0.75), int(mean * 1.25))

    words = ["crane", "slate", "pious", "mound", "trick", "glyph", "vapor", "zesty"]
    trajectories = []
    for _ in range(count):
        tokens = [rng.randrange(8192) for _ in range(length(PROMPT_TOKENS))]
        trajectory = Trajectory(prompt_length=len(tokens), metadata={
            "reference_answer": rng.choice(words), "answer_stub": "The secret word is "})
        for index in range(turns):
            action = [rng.randrange(8192) for _ in range(length(ACTION_TOKENS))]
            turn = Turn(index, "", "", action_span=(len(tokens), len(tokens) + len(action)))
            tokens += action
            if index < turns - 1:
                observation = [rng.randrange(8192) for _ in range(length(OBSERVATION_TOKENS))]
                turn.observation_span = (len(tokens), len(tokens) + len(observation))
                tokens += observation
            trajectory.turns.append(turn)
        trajectory.token_ids = tokens
        trajectories.append(trajectory)
    return trajectories


def plain_forward(model: Any, trajectories: list[Trajectory], batch_size: int, device: str,
                  logits_to_keep: int = 0) -> None:
    """Forward passes over the whole sequences (right-padded: causal attention never looks at
    the padding), ``logits_to_keep=0`` meaning every position's logits."""
    with torch.inference_mode():
        for start in range(0, len(trajectories), batch_size):
            batch = [t.token_ids for t in trajectories[start: start + batch_size]]
            ids = torch.zeros((len(batch), max(map(len, batch))), dtype=torch.long)
            for row, tokens in enumerate(batch):
                ids[row, : len(tokens)] = torch.tensor(tokens)
            model(input_ids=ids.to(device), logits_to_keep=logits_to_keep)


def cached_prefix_values(model: Any, tokenizer: Any, trajectories: list[Trajectory]) -> list[list[float]]:
    """``[v_0, ..., v_{T-1}]`` per trajectory by brute force on a shared prefix cache: one pass
    over ``token_ids[:P]`` (``P`` = the longest context minus one) fills the cache, then for
    each context length ``b``, longest first, the cache is cropped to ``b - 1`` and
    ``[x[b - 1]] + stub + answer[:-1]`` goes through the model behind it; the last ``L``
    logits predict the ``L`` answer tokens. One trajectory at a time."""
    device = next(model.parameters()).device
    keyword = cache_keyword(model)
    values = []
    with torch.inference_mode():
        for trajectory in trajectories:
            (query,) = answer_queries(trajectory, tokenizer)  # token-exact: one nested query
            block, length = list(query.block_ids), query.answer_length
            answer = torch.tensor(block[-length:], device=device)
            cache = DynamicCache()
            width = max(query.boundaries) - 1
            prefix = torch.tensor([list(query.token_ids[:width])], device=device)
            model(input_ids=prefix, use_cache=True, logits_to_keep=1, **{keyword: cache})
            scores = {}
            for boundary in sorted(query.boundaries, reverse=True):
                extra = cache.get_seq_length() - (boundary - 1)
                if extra > 0:
                    cache.crop(-extra)  # a negative count removes that many tokens (every version)
                ids = torch.tensor([[int(query.token_ids[boundary - 1]), *block[:-1]]], device=device)
                positions = torch.arange(boundary - 1, boundary - 1 + len(block), device=device)[None]
                logits = model(input_ids=ids, position_ids=positions, use_cache=True, logits_to_keep=length,
                               **{keyword: cache}).logits[0]
                log_probs = torch.log_softmax(logits.float(), dim=-1)
                scores[boundary] = float(log_probs.gather(-1, answer[:, None]).mean())
            values.append([scores[b] for b in query.boundaries])
    return values


def timed(fn: Callable[[], Any], device: str) -> tuple[float, Any]:
    """Seconds ``fn`` took (CPU time on CPU, synchronised wall time on CUDA) and its value."""
    if device == "cpu":
        start = time.process_time()
        value = fn()
        return time.process_time() - start, value
    torch.cuda.synchronize()
    start = time.perf_counter()
    value = fn()
    torch.cuda.synchronize()
    return time.perf_counter() - start, value


def bench(model: Any, tokenizer: Any, turns: int, count: int, batch: int, rounds: int,
          device: str) -> dict[str, Any]:
    trajectories = build_trajectories(count, turns, seed=turns)
    reward = InformationGainReward(model, tokenizer, batch_size=batch)
    methods: dict[str, Callable[[], Any]] = {
        "ours": lambda: reward.values(trajectories),
        "brute_force": lambda: brute_force_values(model, tokenizer, trajectories, batch_size=batch),
        "cached_prefix": lambda: cached_prefix_values(model, tokenizer, trajectories),
        "one_forward": lambda: plain_forward(model, trajectories, batch, device),
        "one_forward_no_logits": lambda: plain_forward(model, trajectories, batch, device, logits_to_keep=1),
    }
    methods["ours"]()  # warm-up (allocator, kernels) outside the timings
    times: dict[str, list[float]] = {name: [] for name in methods}
    outputs: dict[str, Any] = {}
    for _ in range(rounds):  # alternate, so drifts in machine load hit every method
        for name, fn in methods.items():
            seconds, outputs[name] = timed(fn, device)
            times[name].append(seconds)
    def gap(name: str) -> float:
        return max(abs(a - b) for mine, brute in zip(outputs[name], outputs["brute_force"])
                   for a, b in zip(mine, brute, strict=True))

    median = {name: statistics.median(values) for name, values in times.items()}
    lengths = [len(t.token_ids) for t in trajectories]
    return {
        "turns": turns, "trajectories": count, "batch_size": batch, "mean_tokens": statistics.mean(lengths),
        "seconds": median, "all_seconds": times,
        "speedup_vs_brute_force": median["brute_force"] / median["ours"],
        "speedup_vs_cached_prefix": median["cached_prefix"] / median["ours"],
        "ratio_to_one_forward": median["ours"] / median["one_forward"],
        "ratio_to_one_forward_no_logits": median["ours"] / median["one_forward_no_logits"],
        "max_abs_difference_vs_brute_force": gap("ours"),
        "cached_prefix_max_abs_difference_vs_brute_force": gap("cached_prefix"),
    }


def markdown(report: dict[str, Any]) -> str:
    m = report["model"]
    lines = [f"### Information-gain scoring ({m['parameters'] / 1e6:.1f}M-parameter Llama, {m['dtype']}, "
             f"{report['device']}, {report['clock']}, batches of {report['batch_size']}; "
             f"medians of {report['rounds']} alternating rounds)", "",
             "| turns | trajectories × mean tokens | ours (s) | brute force (s) | brute force, shared prefix cache (s) "
             "| one forward (s) | one forward, no logits (s) | speedup vs brute force "
             "| speedup vs shared-cache brute force | ours / one forward "
             "| ours / forward without logits | max abs diff (ours / shared cache) |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in report["results"]:
        s = row["seconds"]
        target = (f" (≥ {TARGETS['speedup_vs_brute_force_at_5_turns']:.0f}x)" if row["turns"] == 5 else "")
        lines.append(
            f"| {row['turns']} | {row['trajectories']} × {row['mean_tokens']:.0f} | {s['ours']:.3f} "
            f"| {s['brute_force']:.3f} | {s['cached_prefix']:.3f} | {s['one_forward']:.3f} "
            f"| {s['one_forward_no_logits']:.3f} | **{row['speedup_vs_brute_force']:.2f}x**{target} "
            f"| **{row['speedup_vs_cached_prefix']:.2f}x** "
            f"| **{row['ratio_to_one_forward']:.2f}x** (≤ {TARGETS['ratio_to_one_forward']:.1f}x) "
            f"| {row['ratio_to_one_forward_no_logits']:.2f}x | {row['max_abs_difference_vs_brute_force']:.1e} / "
            f"{row['cached_prefix_max_abs_difference_vs_brute_force']:.1e} |")
    lines += ["", f"Targets met: {'yes' if report['meets_targets'] else 'NO'}. "
              f"The LM head is {m['lm_head_share']:.0%} of the model's per-token FLOPs; our prefix pass "
              "skips it, which the no-logits column isolates. The shared-cache brute force "
              f"{'agrees with' if report['cached_prefix_agrees'] else 'DIFFERS from'} plain brute force to 1e-5"
              + ("." if report["batch_size"] == 1 else
                 f" and runs one trajectory at a time (the others in batches of {report['batch_size']}).")]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=ShowDefaults)
    parser.add_argument("--rounds", type=positive_int, default=5, help="alternating rounds per measurement")
    parser.add_argument("--trajectories", type=positive_int, default=4, help="trajectories per measurement")
    parser.add_argument("--batch-size", type=positive_int,
                        help="trajectories per forward (default: 1 on CPU, all on CUDA)")
    parser.add_argument("--device", type=torch_device, default="cpu")
    parser.add_argument("--threads", type=positive_int, default=1, help="torch CPU threads")
    parser.add_argument("--out", type=output_folder, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    batch_size = args.batch_size or (1 if args.device == "cpu" else args.trajectories)
    model, tokenizer = build_model(args.device)
    parameters = sum(p.numel() for p in model.parameters())
    head = model.config.vocab_size * model.config.hidden_size
    report: dict[str, Any] = {
        "command": " ".join(["python", "benchmarks/bench_info_gain.py", *sys.argv[1:]]),
        "date": time.strftime("%Y-%m-%d"),
        "machine": {"python": platform.python_version(), "processor": platform.processor() or platform.machine(),
                    **cpus_and_load(), "torch": torch.__version__, "threads": torch.get_num_threads()},
        "device": args.device, "rounds": args.rounds, "batch_size": batch_size,
        "clock": f"CPU time, {args.threads} thread(s)" if args.device == "cpu" else "wall time",
        "model": {"parameters": parameters, "dtype": str(model.dtype).removeprefix("torch."),
                  # tied embeddings: the head's weights are counted once in `parameters`
                  "lm_head_share": head / (parameters - model.config.vocab_size * model.config.hidden_size + head)},
        "results": [],
    }
    for turns in (5, 10):
        print(f"{turns}-turn trajectories...", file=sys.stderr)
        report["results"].append(bench(model, tokenizer, turns, args.trajectories, batch_size, args.rounds,
                                       args.device))
    five = report["results"][0]
    report["meets_targets"] = (
        five["speedup_vs_brute_force"] >= TARGETS["speedup_vs_brute_force_at_5_turns"]
        and all(r["ratio_to_one_forward"] <= TARGETS["ratio_to_one_forward"] for r in report["results"])
        and all(r["max_abs_difference_vs_brute_force"] < 1e-5 for r in report["results"]))
    report["cached_prefix_agrees"] = all(r["cached_prefix_max_abs_difference_vs_brute_force"] < 1e-5
                                         for r in report["results"])
    table = markdown(report)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_info_gain.json").write_text(json.dumps(report, indent=2))
    (args.out / "bench_info_gain.md").write_text(table + "\n")
    print(f"\nwrote {args.out / 'bench_info_gain.json'} and bench_info_gain.md", file=sys.stderr)


if __name__ == "__main__":
    main()
