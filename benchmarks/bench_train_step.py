"""One GRPO policy update: agentgym's ``PolicyUpdater`` against TRL's ``GRPOTrainer``.

Both sides get the same randomly initialised Llama (built here from a seed), the same batch and
the same loss, and each takes optimizer steps on that batch:

- **batch**: ``groups x group_size`` single-turn rollouts, a prompt and a completion of random
  token ids with seeded lengths, a reward per rollout, GRPO advantages from
  :class:`agentgym.credit.GRPO` (the same per-rollout value goes to TRL), and "old" log-probs
  computed once by the initial model (our trajectories carry them as sampling log-probs, TRL's
  batch as ``old_per_token_logps``);
- **loss**: PPO-clip with ``eps = 0.2`` both ways, no KL term, no entropy bonus, the mean over
  all completion tokens of the batch (our ``token-mean``; TRL's default ``dapo`` loss, which
  divides by the batch's completion-token count), gradient clipping at norm 1.0;
- **optimizer**: the same ``torch.optim.AdamW`` built the same way on both sides (TRL gets it
  through ``optimizers=``), a constant learning rate, weights in ``--dtype``; no gradient
  checkpointing on our side (agentgym has none) nor on the ``trl`` side compared for speed.
  TRL turns it on by default (``GRPOConfig.gradient_checkpointing=True``), so a third side,
  ``trl-gc``, is TRL with that default: checkpointing switched on the way ``Trainer.train()``
  does before its loop. It trades time for memory; both are reported.

Model shapes (``--params``): ``tiny`` (19M, an untied head that is 74% of its per-token matmul
FLOPs: a model where scoring only the trained tokens pays off most), ``small-tied`` (a
scaled-down SmolLM2: tied embeddings, 7 layers of width 384 and a vocabulary of 8192, so
the head is 22% of the per-token matmul FLOPs, as in SmolLM2-135M's 21%), ``smollm2-135m``
(SmolLM2-135M's own shape: width 576, 30 layers, vocabulary 49152, tied) and ``0.5B``
(Qwen2.5-0.5B's shape, for a GPU). The table gives the head's share of each.

What is timed, per optimizer step (wall clock, ``torch.cuda.synchronize`` around it on a GPU):

- agentgym: ``training_rows(trajectories, advantages)`` (trajectories to packed-ready rows)
  plus ``PolicyUpdater.update(rows)`` (packing, forward, loss, backward, clipping, step).
- TRL: ``GRPOTrainer.training_step(model, batch)`` with ``_prepare_inputs`` returning the
  prepared batch in the exact format ``_generate_and_score_completions`` produces (so no
  generation or reward call is timed), then what ``Trainer``'s loop does after it: gradient
  clipping, ``optimizer.step()``, ``lr_scheduler.step()``, ``model.zero_grad()``.

Both start from the same weights, so their first steps must agree: the table shows each side's
first-step loss and pre-clip gradient norm, which must match to float rounding (a mismatch means
the two sides are not computing the same update, and the speed comparison is void).

Each round runs three fresh subprocesses (the order of the sides alternates from round to round):

- one per side for **memory**: its first step's peak above the process's resident set just
  before it (CPU: ``VmHWM`` after resetting it through ``/proc/self/clear_refs``; GPU:
  ``torch.cuda.max_memory_allocated`` above the allocation before it), with that step's loss
  and gradient norm;
- one for **time**, holding both sides: after a warm-up step each, the sides take turns step by
  step (A B B A A B ...) for ``--steps`` steps each, so that a change of machine load hits
  both alike.

Reported: the median step time over all rounds, tokens/s = batch tokens (prompt + completion,
no padding) / that time, and the median peak memory. On a shared machine, ``--threads 1``
keeps the sides from fighting other processes for cores inside every parallel region.

    python benchmarks/bench_train_step.py                       # tiny Llama (~19M), CPU, fp32
    python benchmarks/bench_train_step.py --params small-tied --threads 1
    python benchmarks/bench_train_step.py --device cuda --dtype bfloat16 --params 0.5B \\
        --groups 8 --group-size 8 --prompt-tokens 256 512 --completion-tokens 256 1024
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

# Model shapes (see the module docstring): Llama configurations, randomly initialised.
MODEL_SHAPES: dict[str, dict[str, Any]] = {
    "tiny": dict(vocab_size=32000, hidden_size=256, intermediate_size=688, num_hidden_layers=4,
                 num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False),
    "small-tied": dict(vocab_size=8192, hidden_size=384, intermediate_size=1024, num_hidden_layers=7,
                       num_attention_heads=6, num_key_value_heads=2, tie_word_embeddings=True),
    "smollm2-135m": dict(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                         num_attention_heads=9, num_key_value_heads=3, tie_word_embeddings=True),
    "0.5B": dict(vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                 num_attention_heads=14, num_key_value_heads=2, tie_word_embeddings=True),
}
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
CLIP_EPS = 0.2
MAX_GRAD_NORM = 1.0
LEARNING_RATE = 1e-5
SIDES = ("agentgym", "trl", "trl-gc")  # trl-gc: TRL with its default gradient checkpointing


def head_flop_share(shape: dict[str, Any]) -> float:
    """The LM head's share of a token's matmul FLOPs (weights only: attention scores, norms and
    the softmax left out), from a Llama configuration."""
    hidden, layers = shape["hidden_size"], shape["num_hidden_layers"]
    kv = hidden // shape["num_attention_heads"] * shape["num_key_value_heads"]
    per_layer = hidden * (2 * hidden + 2 * kv) + 3 * hidden * shape["intermediate_size"]
    head = hidden * shape["vocab_size"]
    return head / (layers * per_layer + head)


# ----------------------------------------------------------------------------- shared set-up
def build_model(params: str, dtype: torch.dtype, device: str, seed: int, context: int) -> Any:
    """A randomly initialised Llama of the given shape; the same seed gives the same weights."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(**MODEL_SHAPES[params], max_position_embeddings=context, bos_token_id=1, eos_token_id=2,
                         pad_token_id=0, attn_implementation="sdpa")
    torch.manual_seed(seed)
    return LlamaForCausalLM(config).to(dtype=dtype, device=device).eval()


@dataclass
class Batch:
    """The rollouts both sides train on (see the module docstring)."""

    prompts: list[list[int]]
    completions: list[list[int]]
    rewards: list[float]
    group_size: int
    old_logprobs: list[list[float]]  # per completion token, under the initial model

    @property
    def tokens(self) -> int:
        return sum(len(p) + len(c) for p, c in zip(self.prompts, self.completions))

    @property
    def completion_tokens(self) -> int:
        return sum(len(c) for c in self.completions)


def make_batch(args: argparse.Namespace, vocab_size: int) -> tuple[list[list[int]], list[list[int]], list[float]]:
    """Seeded prompts, completions and rewards. Rewards differ within every group, so no group
    has all-zero advantages."""
    rng = np.random.default_rng(args.seed)
    size = args.groups * args.group_size
    prompts = [rng.integers(3, vocab_size, rng.integers(args.prompt_tokens[0], args.prompt_tokens[1] + 1)).tolist()
               for _ in range(size)]
    completions = [rng.integers(3, vocab_size,
                                rng.integers(args.completion_tokens[0], args.completion_tokens[1] + 1)).tolist()
                   for _ in range(size)]
    rewards = [float(i % args.group_size == 0) + float(rng.random()) for i in range(size)]
    return prompts, completions, rewards


@torch.no_grad()
def completion_logprobs(model: Any, prompts: list[list[int]], completions: list[list[int]]) -> list[list[float]]:
    """Log-probs of each completion token under ``model``, one unpadded sequence at a time."""
    device = next(model.parameters()).device
    result = []
    for prompt, completion in zip(prompts, completions):
        ids = torch.tensor([prompt + completion], device=device)
        logits = model(input_ids=ids, use_cache=False).logits[0, len(prompt) - 1: -1].float()
        target = torch.tensor(completion, device=device)
        result.append(torch.log_softmax(logits, -1).gather(-1, target[:, None]).squeeze(-1).tolist())
    return result


def make_optimizer(model: Any) -> torch.optim.Optimizer:
    """The same optimizer for both sides."""
    return torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=0.0)


def grpo_advantages(batch: Batch) -> tuple[list[Any], Any]:
    """GRPO advantages (and the trajectories they were computed from), from agentgym's estimator."""
    from agentgym.credit import GRPO
    from agentgym.trajectory import Trajectory, Turn

    trajectories = []
    for i, (prompt, completion, reward, old) in enumerate(zip(batch.prompts, batch.completions, batch.rewards,
                                                              batch.old_logprobs)):
        start, end = len(prompt), len(prompt) + len(completion)
        turn = Turn(index=0, observation="", action="", reward=reward, action_span=(start, end), logprobs=old,
                    finish_reason="length")
        trajectories.append(Trajectory(group_id=f"group-{i // batch.group_size}", turns=[turn],
                                       token_ids=prompt + completion, prompt_length=start))
    return trajectories, GRPO()(trajectories)


# ----------------------------------------------------------------------------- the two sides
class AgentgymSide:
    """One optimizer step = ``training_rows`` + ``PolicyUpdater.update``."""

    def __init__(self, model: Any, batch: Batch, args: argparse.Namespace) -> None:
        from agentgym.train.update import PolicyUpdater, UpdateSettings

        self.trajectories, self.advantages = grpo_advantages(batch)
        settings = UpdateSettings(epochs=1, mini_batches=1, micro_batch_tokens=args.micro_batch_tokens,
                                  max_grad_norm=MAX_GRAD_NORM, eps_low=CLIP_EPS, eps_high=CLIP_EPS,
                                  aggregation="token-mean", kl_coef=0.0, entropy_coef=0.0)
        self.model = model
        self.updater = PolicyUpdater(model, make_optimizer(model), settings)

    def step(self) -> tuple[float, float]:
        from agentgym.train.batching import training_rows

        rows, _ = training_rows(self.trajectories, self.advantages, on_untrainable="error")
        metrics = self.updater.update(rows)
        return metrics["loss"], metrics["grad_norm"]


class TRLSide:
    """One optimizer step = ``GRPOTrainer.training_step`` on the prepared batch + what
    ``Trainer``'s loop does after it (clip, optimizer and scheduler step, zero grad)."""

    def __init__(self, model: Any, batch: Batch, args: argparse.Namespace, checkpointing: bool = False) -> None:
        from datasets import Dataset
        from trl import GRPOConfig, GRPOTrainer

        vocab_size = model.config.vocab_size
        # checkpointing=True leaves GRPOConfig's default (on); False turns it off explicitly.
        switch = {} if checkpointing else {"gradient_checkpointing": False}
        config = GRPOConfig(
            output_dir=tempfile.mkdtemp(prefix="bench-trl-"), report_to="none", save_strategy="no",
            use_cpu=args.device == "cpu", bf16=False, fp16=False, **switch,
            per_device_train_batch_size=len(batch.prompts), num_generations=batch.group_size,
            max_completion_length=max(len(c) for c in batch.completions), loss_type="dapo", beta=0.0,
            epsilon=CLIP_EPS, max_grad_norm=MAX_GRAD_NORM, learning_rate=LEARNING_RATE, logging_steps=1,
            seed=args.seed)
        optimizer = make_optimizer(model)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)
        dataset = Dataset.from_dict({"prompt": ["t3"] * len(batch.prompts)})  # never generated from
        self.trainer = GRPOTrainer(model=model, reward_funcs=_constant_reward, args=config, train_dataset=dataset,
                                   processing_class=_word_level_tokenizer(vocab_size),
                                   optimizers=(optimizer, scheduler))
        # What Trainer's loop sets before its first micro-batch (one micro-batch per step here).
        self.trainer.current_gradient_accumulation_steps = 1
        self.checkpointing = _enable_checkpointing_like_train(self.trainer)
        if self.checkpointing != checkpointing:
            raise RuntimeError(f"TRL's gradient checkpointing is {self.checkpointing}, expected {checkpointing}")
        self.inputs = _trl_inputs(batch, self.trainer.accelerator.device)
        # Generation is not part of the update: hand the trainer the prepared batch instead.
        self.trainer._prepare_inputs = lambda _generation_batch: self.inputs
        self.model = model

    def step(self) -> tuple[float, float]:
        trainer = self.trainer
        loss = trainer.training_step(self.model, self.inputs, self.inputs["num_items_in_batch"])
        grad_norm = trainer._clip_grad_norm(self.model)
        trainer.optimizer.step()
        trainer.lr_scheduler.step()
        self.model.zero_grad()
        return float(loss), float(grad_norm)


def _enable_checkpointing_like_train(trainer: Any) -> bool:
    """Switch on gradient checkpointing when the trainer's arguments ask for it, as
    ``Trainer.train()`` does before its loop (the benchmark calls ``training_step`` directly,
    so that step is ours to take); whether it is on."""
    args = trainer.args
    enabled = getattr(args, "activation_checkpointing", None)
    if enabled is None:  # transformers < 5: only the older name
        enabled = args.gradient_checkpointing
    if not enabled:
        return False
    kwargs = dict(getattr(args, "activation_checkpointing_kwargs", None) or args.gradient_checkpointing_kwargs or {})
    kwargs.pop("every_n_layers", None)
    kwargs.pop("offload", None)
    model = trainer.model
    if hasattr(model, "activation_checkpointing_enable"):
        model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs or None)
    else:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs or None)
    return bool(getattr(model, "is_gradient_checkpointing", True))


def _constant_reward(completions: list[Any], **_: Any) -> list[float]:
    return [0.0] * len(completions)


def _word_level_tokenizer(vocab_size: int) -> Any:
    """A tokenizer whose vocabulary matches the model's (TRL needs one to construct; the
    update never tokenises)."""
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    vocab = {f"t{i}": i for i in range(vocab_size)}
    return PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel(vocab, unk_token="t0")),
                                   pad_token="t0", bos_token="t1", eos_token="t2")


def _trl_inputs(batch: Batch, device: torch.device) -> dict[str, torch.Tensor]:
    """The batch as ``GRPOTrainer._generate_and_score_completions`` returns it: left-padded
    prompts, right-padded completions, per-rollout advantages, old log-probs per completion
    token, the completion-token count."""
    _, advantages = grpo_advantages(batch)
    prompt_width = max(len(p) for p in batch.prompts)
    completion_width = max(len(c) for c in batch.completions)
    size = len(batch.prompts)
    prompt_ids = torch.zeros(size, prompt_width, dtype=torch.long)
    prompt_mask = torch.zeros(size, prompt_width, dtype=torch.long)
    completion_ids = torch.zeros(size, completion_width, dtype=torch.long)
    completion_mask = torch.zeros(size, completion_width, dtype=torch.long)
    old = torch.zeros(size, completion_width, dtype=torch.float32)
    for i, (prompt, completion, logprobs) in enumerate(zip(batch.prompts, batch.completions, batch.old_logprobs)):
        prompt_ids[i, prompt_width - len(prompt):] = torch.tensor(prompt)
        prompt_mask[i, prompt_width - len(prompt):] = 1
        completion_ids[i, : len(completion)] = torch.tensor(completion)
        completion_mask[i, : len(completion)] = 1
        old[i, : len(completion)] = torch.tensor(logprobs)
    inputs = {"prompt_ids": prompt_ids, "prompt_mask": prompt_mask, "completion_ids": completion_ids,
              "completion_mask": completion_mask,
              "advantages": torch.tensor([turns[0] for turns in advantages.per_turn], dtype=torch.float32),
              "old_per_token_logps": old, "num_items_in_batch": completion_mask.sum()}
    return {key: value.to(device) for key, value in inputs.items()}


# ----------------------------------------------------------------------------- measuring
class PeakMemory:
    """Peak memory above the level at ``start()``: resident set on CPU, allocations on GPU."""

    def __init__(self, device: str) -> None:
        self.cuda = device.startswith("cuda")

    def start(self) -> None:
        if self.cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.base = torch.cuda.memory_allocated()
        else:
            Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current VmRSS
            self.base = _proc_status_kib("VmRSS") * 1024

    def peak_above_start(self) -> int:
        if self.cuda:
            torch.cuda.synchronize()
            return torch.cuda.max_memory_allocated() - self.base
        return _proc_status_kib("VmHWM") * 1024 - self.base

    def process_peak(self) -> int:
        if self.cuda:
            return torch.cuda.max_memory_allocated()
        return _proc_status_kib("VmHWM") * 1024


def _proc_status_kib(field: str) -> int:
    return int(re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M).group(1))


def _timed(step: Callable[[], tuple[float, float]], cuda: bool) -> tuple[float, float, tuple[float, float]]:
    """Wall seconds, this process's CPU seconds and the step's result."""
    if cuda:
        torch.cuda.synchronize()
    start, start_cpu = time.perf_counter(), time.process_time()
    result = step()
    if cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - start, time.process_time() - start_cpu, result


def _setup(args: argparse.Namespace, side_name: str) -> tuple[Any, Batch]:
    """A fresh model, the batch (with old log-probs under the initial weights) and one side."""
    dtype = DTYPES[args.dtype]
    context = args.prompt_tokens[1] + args.completion_tokens[1] + 8
    model = build_model(args.params, dtype, args.device, args.seed, context)
    prompts, completions, rewards = make_batch(args, model.config.vocab_size)
    batch = Batch(prompts, completions, rewards, args.group_size, completion_logprobs(model, prompts, completions))
    if side_name == "agentgym":
        return AgentgymSide(model, batch, args), batch
    return TRLSide(model, batch, args, checkpointing=side_name == "trl-gc"), batch


def memory_worker(args: argparse.Namespace, side_name: str) -> dict[str, Any]:
    """One side's first step from the initial weights, in this fresh process: its peak memory,
    loss and gradient norm."""
    import gc

    side, batch = _setup(args, side_name)
    gc.collect()
    memory = PeakMemory(args.device)
    memory.start()
    seconds, _, (loss, grad_norm) = _timed(side.step, memory.cuda)
    return {"side": side_name, "first_step_seconds": seconds, "loss": loss, "grad_norm": grad_norm,
            "update_peak_bytes": memory.peak_above_start(), "process_peak_bytes": memory.process_peak(),
            "tokens": batch.tokens, "completion_tokens": batch.completion_tokens, "rows": len(batch.prompts),
            "parameters": sum(p.numel() for p in side.model.parameters()), "torch_threads": torch.get_num_threads()}


def timing_worker(args: argparse.Namespace, first: str) -> dict[str, dict[str, list[float]]]:
    """Every side in this process, stepping in turn (``first`` leads, then the order reverses:
    A B C C B A A B C ...) so that a change of machine load hits all alike; one warm-up step
    each."""
    sides = {name: _setup(args, name)[0] for name in SIDES}
    order = [first, *[name for name in SIDES if name != first]]
    cuda = args.device.startswith("cuda")
    for name in order:
        _timed(sides[name].step, cuda)
    seconds: dict[str, dict[str, list[float]]] = {"wall": {name: [] for name in SIDES},
                                                  "cpu": {name: [] for name in SIDES}}
    for step in range(args.steps):
        for name in (order if step % 2 == 0 else order[::-1]):
            wall, cpu, _ = _timed(sides[name].step, cuda)
            seconds["wall"][name].append(wall)
            seconds["cpu"][name].append(cpu)
    return seconds


def run_worker(args: argparse.Namespace) -> Any:
    if args.threads:
        torch.set_num_threads(args.threads)
    kind, side = args.worker.split(":")
    return memory_worker(args, side) if kind == "memory" else timing_worker(args, side)


def run_subprocess(worker: str, argv: list[str]) -> Any:
    command = [sys.executable, str(Path(__file__).resolve()), *argv, "--worker", worker]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{worker} worker failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- report
def summarise(memory: dict[str, list[dict[str, Any]]], timing: list[dict[str, dict[str, list[float]]]],
              args: argparse.Namespace) -> dict[str, Any]:
    first = memory["agentgym"][0]
    sides = {}
    for side in SIDES:
        seconds = statistics.median(s for run in timing for s in run["wall"][side])
        cpu_seconds = statistics.median(s for run in timing for s in run["cpu"][side])
        runs = memory[side]
        sides[side] = {"step_seconds": seconds, "tokens_per_second": first["tokens"] / seconds,
                       "step_cpu_seconds": cpu_seconds,
                       "update_peak_bytes": statistics.median(run["update_peak_bytes"] for run in runs),
                       "process_peak_bytes": statistics.median(run["process_peak_bytes"] for run in runs),
                       "first_step_loss": runs[0]["loss"], "first_step_grad_norm": runs[0]["grad_norm"],
                       "step_seconds_by_round": [run["wall"][side] for run in timing],
                       "step_cpu_seconds_by_round": [run["cpu"][side] for run in timing], "memory_runs": runs}
    ours, theirs, checkpointed = sides["agentgym"], sides["trl"], sides["trl-gc"]
    ratio = ours["tokens_per_second"] / theirs["tokens_per_second"]
    # float32 sides agree to rounding; half precision rounds each side's own way.
    tolerance = 1e-3 if args.dtype == "float32" else 5e-2

    def agrees(other: dict[str, Any]) -> bool:
        return (abs(ours["first_step_loss"] - other["first_step_loss"])
                <= tolerance * max(0.1, abs(other["first_step_loss"]))
                and abs(ours["first_step_grad_norm"] - other["first_step_grad_norm"])
                <= tolerance * other["first_step_grad_norm"])

    same_update = agrees(theirs) and agrees(checkpointed)
    return {"params": args.params, "parameters": first["parameters"], "device": args.device, "dtype": args.dtype,
            "head_flop_share": head_flop_share(MODEL_SHAPES[args.params]),
            "tied_head": MODEL_SHAPES[args.params]["tie_word_embeddings"],
            "date": time.strftime("%Y-%m-%d"),
            "rows": first["rows"], "group_size": args.group_size, "tokens": first["tokens"],
            "completion_tokens": first["completion_tokens"], "prompt_tokens_range": args.prompt_tokens,
            "completion_tokens_range": args.completion_tokens, "micro_batch_tokens": args.micro_batch_tokens,
            "rounds": args.rounds, "steps_per_round": args.steps, "torch_threads": first["torch_threads"],
            "command": " ".join(["python", "benchmarks/bench_train_step.py", *sys.argv[1:]]),
            "ratio": ratio, "target": 1.2, "meets_target": ratio >= 1.2, "same_first_update": same_update,
            "memory_ratio": ours["update_peak_bytes"] / max(theirs["update_peak_bytes"], 1),
            "ratio_vs_checkpointed": ours["tokens_per_second"] / checkpointed["tokens_per_second"],
            "cpu_ratio": theirs["step_cpu_seconds"] / ours["step_cpu_seconds"],
            "cpu_ratio_vs_checkpointed": checkpointed["step_cpu_seconds"] / ours["step_cpu_seconds"],
            "memory_ratio_vs_checkpointed": ours["update_peak_bytes"] / max(checkpointed["update_peak_bytes"], 1),
            "machine": _machine(args.device), "versions": _versions(), "sides": sides}


def markdown(report: dict[str, Any]) -> str:
    memory = "GPU allocated" if report["device"].startswith("cuda") else "RSS"
    lines = [
        f"### One GRPO update: agentgym `PolicyUpdater` vs TRL `GRPOTrainer` "
        f"({report['params']} Llama, {report['parameters'] / 1e6:.1f}M parameters, "
        f"{'tied' if report['tied_head'] else 'untied'} head = {report['head_flop_share']:.0%} of matmul FLOPs, "
        f"{report['dtype']}, {report['device']}, {report['machine']})", "",
        f"Batch: {report['rows']} rollouts ({report['rows'] // report['group_size']} groups of "
        f"{report['group_size']}), {report['tokens']} tokens of which {report['completion_tokens']} trained; "
        f"step time: median of {report['rounds']} rounds x {report['steps_per_round']} steps per side, the sides "
        f"taking turns; memory: the first step, in a fresh process per side and round "
        f"({report['torch_threads']} torch threads).", "",
        f"| side | step (s) | tokens/s | CPU s/step | update peak {memory} (MiB) | process peak (MiB) "
        f"| first-step loss | first-step grad norm |",
        "|---|---:|---:|---:|---:|---:|---:|---:|"]
    names = {"agentgym": "agentgym `PolicyUpdater.update`",
             "trl": f"TRL {report['versions'].get('trl')} `GRPOTrainer.training_step` + step, checkpointing off",
             "trl-gc": "the same, TRL's default gradient checkpointing on"}
    for side in SIDES:
        s = report["sides"][side]
        lines.append(f"| {names[side]} | {s['step_seconds']:.3f} | {s['tokens_per_second']:.0f} | "
                     f"{s['step_cpu_seconds']:.3f} | {s['update_peak_bytes'] / 2**20:.0f} | "
                     f"{s['process_peak_bytes'] / 2**20:.0f} | {s['first_step_loss']:.6f} | "
                     f"{s['first_step_grad_norm']:.6f} |")
    same = "yes" if report["same_first_update"] else "NO"
    lines.append(f"| **ratio** vs TRL, checkpointing off | | **{report['ratio']:.2f}x** (target ≥ 1.2x) "
                 f"| {report['cpu_ratio']:.2f}x | **{report['memory_ratio']:.2f}x** | "
                 f"| same update (all three): {same} | |")
    lines.append(f"| ratio vs TRL, checkpointing on (its default) | | {report['ratio_vs_checkpointed']:.2f}x "
                 f"| {report['cpu_ratio_vs_checkpointed']:.2f}x "
                 f"| {report['memory_ratio_vs_checkpointed']:.2f}x | | | |")
    return "\n".join(lines)


def _machine(device: str) -> str:
    if device.startswith("cuda"):
        return torch.cuda.get_device_name()
    return platform.processor() or platform.machine()


def _versions() -> dict[str, str]:
    import importlib.metadata as metadata

    versions = {}
    for name in ("torch", "transformers", "trl", "accelerate"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--params", choices=sorted(MODEL_SHAPES), default="tiny")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="float32")
    parser.add_argument("--groups", type=int, default=2)
    parser.add_argument("--group-size", type=int, default=4)
    parser.add_argument("--prompt-tokens", type=int, nargs=2, default=[48, 96], metavar=("MIN", "MAX"))
    parser.add_argument("--completion-tokens", type=int, nargs=2, default=[24, 72], metavar=("MIN", "MAX"))
    parser.add_argument("--micro-batch-tokens", type=int, default=4096,
                        help="agentgym's packing budget (TRL scores the whole batch in one pass)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=4, help="timed steps per side and round, after a warm-up step")
    parser.add_argument("--threads", type=int, default=0, help="torch threads in the workers (0: torch's default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # memory:<side> or timing:<side first>
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    if args.worker:
        print(json.dumps(run_worker(args)))
        return
    argv = sys.argv[1:]
    memory: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    timing: list[dict[str, list[float]]] = []
    for round_index in range(args.rounds):
        order = SIDES if round_index % 2 == 0 else SIDES[::-1]
        for side in order:
            run = run_subprocess(f"memory:{side}", argv)
            memory[side].append(run)
            print(f"round {round_index} {side}: first step {run['first_step_seconds']:.3f} s, "
                  f"update peak {run['update_peak_bytes'] / 2**20:.0f} MiB", file=sys.stderr)
        timing.append(run_subprocess(f"timing:{order[0]}", argv))
        print(f"round {round_index}: " + ", ".join(f"{side} {statistics.median(timing[-1]['wall'][side]):.3f} s/step"
                                                   for side in SIDES), file=sys.stderr)
    report = summarise(memory, timing, args)
    table = markdown(report)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "bench_train_step" + ("" if args.params == "tiny" else f"_{args.params}")
    stem += "" if args.device == "cpu" else f"_{args.device.split(':')[0]}"
    (args.out / f"{stem}.json").write_text(json.dumps(report, indent=2))
    (args.out / f"{stem}.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
