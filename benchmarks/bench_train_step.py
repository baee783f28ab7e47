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
  checkpointing on our side (agentgym's ``[model] gradient_checkpointing``, off by default) nor
  on the ``trl`` side compared for speed.
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

**Out of memory.** A side whose step raises ``torch.OutOfMemoryError`` (or a CPU allocation
failure), or whose worker the kernel kills (SIGKILL: the out-of-memory killer), is reported as
"out of memory" in the JSON (``sides[<side>].out_of_memory``) and the table; the other sides'
figures still come out (their timing reruns without it, each side alone if a shared worker
is killed). ``--sides`` picks the sides to run.

**Attention and packed length.** ``--attention`` is agentgym's choice
(:mod:`agentgym.train.packed_attention`): ``auto`` (the library's default: per-row attention
whose memory is linear in the packed length, FlashAttention-2 varlen where installed),
``packed`` or ``model`` (transformers' own: a dense L x L mask over packed rows).
``--micro-batch-tokens`` takes ``auto`` too (sized from free memory). ``--packed-lengths L1 L2
...`` measures instead agentgym's first-step peak memory with one micro-batch packed to each
length (rows drawn from the prompt/completion ranges until the next would not fit), for the
given ``--attention``: linear growth with ``packed``, quadratic with ``model``.

    python benchmarks/bench_train_step.py                       # tiny Llama (~19M), CPU, fp32
    python benchmarks/bench_train_step.py --params small-tied --threads 1
    python benchmarks/bench_train_step.py --device cuda --dtype bfloat16 --params 0.5B \\
        --groups 8 --group-size 8 --prompt-tokens 256 512 --completion-tokens 256 1024
    python benchmarks/bench_train_step.py --packed-lengths 4096 16384 --attention packed \\
        --prompt-tokens 192 320 --completion-tokens 8 24 --threads 1
"""

from __future__ import annotations

import argparse
import gc
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

if str(Path(__file__).resolve().parent) not in sys.path:  # loaded by its path (tests/train), not run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cli import (ShowDefaults, cpus_and_load, non_negative_int, output_folder, positive_int,  # noqa: E402
                       torch_device)

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
ATTENTION = ("auto", "packed", "model")


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
                                  aggregation="token-mean", kl_coef=0.0, entropy_coef=0.0, attention=args.attention)
        self.model = model
        self.updater = PolicyUpdater(model, make_optimizer(model), settings)
        self.metrics: dict[str, float] = {}

    def step(self) -> tuple[float, float]:
        from agentgym.train.batching import training_rows

        rows, _ = training_rows(self.trajectories, self.advantages, on_untrainable="error")
        self.metrics = self.updater.update(rows)
        return self.metrics["loss"], self.metrics["grad_norm"]


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


def _setup(args: argparse.Namespace, side_name: str, packed_length: int | None = None) -> tuple[Any, Batch]:
    """A fresh model, the batch (with old log-probs under the initial weights) and one side;
    with ``packed_length``, a batch of as many rows as fit in that many tokens."""
    if side_name in args.simulate_oom:
        raise torch.OutOfMemoryError(f"simulated: --simulate-oom {side_name}")
    dtype = DTYPES[args.dtype]
    context = args.prompt_tokens[1] + args.completion_tokens[1] + 8
    model = build_model(args.params, dtype, args.device, args.seed, context)
    if packed_length is None:
        prompts, completions, rewards = make_batch(args, model.config.vocab_size)
    else:
        prompts, completions, rewards = make_packed_batch(args, model.config.vocab_size, packed_length)
    batch = Batch(prompts, completions, rewards, args.group_size, completion_logprobs(model, prompts, completions))
    if side_name == "agentgym":
        return AgentgymSide(model, batch, args), batch
    return TRLSide(model, batch, args, checkpointing=side_name == "trl-gc"), batch


def make_packed_batch(args: argparse.Namespace, vocab_size: int, length: int
                      ) -> tuple[list[list[int]], list[list[int]], list[float]]:
    """Seeded rows drawn from the prompt and completion ranges until the next would overflow
    ``length`` tokens (the ``--packed-lengths`` batch: one micro-batch of about that length)."""
    rng = np.random.default_rng(args.seed)
    prompts, completions, rewards, total = [], [], [], 0
    while True:
        prompt = rng.integers(3, vocab_size, rng.integers(args.prompt_tokens[0], args.prompt_tokens[1] + 1))
        completion = rng.integers(3, vocab_size,
                                  rng.integers(args.completion_tokens[0], args.completion_tokens[1] + 1))
        if total + len(prompt) + len(completion) > length and prompts:
            return prompts, completions, rewards
        total += len(prompt) + len(completion)
        prompts.append(prompt.tolist())
        completions.append(completion.tolist())
        rewards.append(float(len(rewards) % args.group_size == 0) + float(rng.random()))


def is_out_of_memory(error: BaseException) -> bool:
    """A CUDA or CPU allocation failure: ``torch.OutOfMemoryError``, ``MemoryError``, or the
    ``RuntimeError`` torch's CPU allocator raises."""
    if isinstance(error, (torch.OutOfMemoryError, MemoryError)):
        return True
    text = str(error)
    return isinstance(error, RuntimeError) and any(
        phrase in text for phrase in ("out of memory", "can't allocate memory", "not enough memory"))


def out_of_memory(side_name: str, error: str) -> dict[str, Any]:
    """A side's record when it ran out of memory (``error`` says how)."""
    return {"side": side_name, "out_of_memory": True, "error": error[:1000]}


def _release() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def memory_worker(args: argparse.Namespace, side_name: str, packed_length: int | None = None) -> dict[str, Any]:
    """One side's first step from the initial weights, in this fresh process: its peak memory,
    loss and gradient norm (or :func:`out_of_memory`)."""
    try:
        side, batch = _setup(args, side_name, packed_length)
        gc.collect()
        memory = PeakMemory(args.device)
        memory.start()
        seconds, _, (loss, grad_norm) = _timed(side.step, memory.cuda)
    except Exception as error:  # noqa: BLE001 - only an allocation failure is reported, the rest re-raised
        if not is_out_of_memory(error):
            raise
        _release()
        return out_of_memory(side_name, f"{type(error).__name__}: {error}")
    record = {"side": side_name, "first_step_seconds": seconds, "loss": loss, "grad_norm": grad_norm,
              "update_peak_bytes": memory.peak_above_start(), "process_peak_bytes": memory.process_peak(),
              "tokens": batch.tokens, "completion_tokens": batch.completion_tokens, "rows": len(batch.prompts),
              "parameters": sum(p.numel() for p in side.model.parameters()), "torch_threads": torch.get_num_threads()}
    if isinstance(side, AgentgymSide):
        record["micro_batch_tokens"] = side.metrics.get("micro_batch_tokens")
        record["micro_batches"] = side.metrics.get("micro_batches")
    return record


def timing_worker(args: argparse.Namespace, first: str) -> dict[str, Any]:
    """Every side of ``--sides`` in this process, stepping in turn (``first`` leads, then the
    order reverses: A B C C B A A B C ...) so that a change of machine load hits all alike; one
    warm-up step each. A side that runs out of memory is dropped (``out_of_memory``: its
    error) and the others go on."""
    names = [first, *[name for name in args.sides if name != first]]
    cuda = args.device.startswith("cuda")
    failed: dict[str, str] = {}
    sides: dict[str, Any] = {}

    def attempt(name: str, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except Exception as error:  # noqa: BLE001 - only an allocation failure is reported, the rest re-raised
            if not is_out_of_memory(error):
                raise
            failed[name] = f"{type(error).__name__}: {error}"[:1000]
            sides.pop(name, None)
            _release()
            return None

    for name in names:
        side = attempt(name, lambda: _setup(args, name)[0])
        if side is not None:
            sides[name] = side
    for name in list(sides):
        attempt(name, lambda: _timed(sides[name].step, cuda))
    seconds: dict[str, Any] = {"wall": {name: [] for name in sides}, "cpu": {name: [] for name in sides}}
    for step in range(args.steps):
        for name in (names if step % 2 == 0 else names[::-1]):
            if name not in sides:
                continue
            timed = attempt(name, lambda: _timed(sides[name].step, cuda))
            if timed is not None:
                seconds["wall"][name].append(timed[0])
                seconds["cpu"][name].append(timed[1])
    for name in failed:
        seconds["wall"].pop(name, None)
        seconds["cpu"].pop(name, None)
    seconds["out_of_memory"] = failed
    return seconds


def run_worker(args: argparse.Namespace) -> Any:
    if args.threads:
        torch.set_num_threads(args.threads)
    kind, side = args.worker.split(":")
    if kind == "length":
        return memory_worker(args, "agentgym", packed_length=int(side))
    return memory_worker(args, side) if kind == "memory" else timing_worker(args, side)


# The exit of a worker the kernel killed: -SIGKILL from subprocess, or 128 + 9 from a shell.
KILLED = (-9, 137)


def worker_outcome(worker: str, returncode: int, stdout: str, stderr: str) -> Any:
    """A worker's JSON answer; a worker killed by SIGKILL (the kernel's out-of-memory killer)
    answers :func:`out_of_memory` for its side; any other failure raises."""
    if returncode in KILLED:
        return out_of_memory(worker.split(":")[1], f"the {worker} worker was killed (SIGKILL, exit {returncode}): "
                                                   "the kernel's out-of-memory killer")
    if returncode != 0:
        raise RuntimeError(f"{worker} worker failed ({returncode}):\n{stderr[-4000:]}")
    return json.loads(stdout.strip().splitlines()[-1])


def run_subprocess(worker: str, argv: list[str]) -> Any:
    command = [sys.executable, str(Path(__file__).resolve()), *argv, "--worker", worker]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return worker_outcome(worker, done.returncode, done.stdout, done.stderr)


def timing_round(argv: list[str], sides: list[str]) -> dict[str, Any]:
    """One round's timing of ``sides`` (the first leads) in one worker; if the kernel kills
    that worker, each side again alone, so that one side's memory does not cost the others
    their figures."""
    if not sides:
        return {"wall": {}, "cpu": {}, "out_of_memory": {}}
    outcome = run_subprocess(f"timing:{sides[0]}", [*argv, "--sides", *sides])
    if outcome.get("out_of_memory") is not True:
        return outcome
    merged: dict[str, Any] = {"wall": {}, "cpu": {}, "out_of_memory": {}}
    for side in sides:
        alone = run_subprocess(f"timing:{side}", [*argv, "--sides", side])
        if alone.get("out_of_memory") is True:
            merged["out_of_memory"][side] = alone["error"]
            continue
        for key in ("wall", "cpu"):
            merged[key].update(alone[key])
        merged["out_of_memory"].update(alone["out_of_memory"])
    return merged


# ----------------------------------------------------------------------------- report
def summarise(memory: dict[str, list[dict[str, Any]]], timing: list[dict[str, Any]],
              args: argparse.Namespace) -> dict[str, Any]:
    """The JSON report of the sides that ran; a side that ran out of memory in any round is
    reported as such (``out_of_memory``, ``error``) without figures, and every ratio that
    needs it is ``None``."""
    ran = [side for side in SIDES if memory.get(side)]
    failures: dict[str, str] = {}
    for side in ran:
        for run in memory[side]:
            if run.get("out_of_memory"):
                failures.setdefault(side, run["error"])
        for run in timing:
            if side in run.get("out_of_memory", {}):
                failures.setdefault(side, run["out_of_memory"][side])
    measured = [run for side in ran if side not in failures for run in memory[side]]
    prompts, completions, _ = make_batch(args, MODEL_SHAPES[args.params]["vocab_size"])
    tokens = sum(len(p) + len(c) for p, c in zip(prompts, completions))
    sides: dict[str, dict[str, Any]] = {}
    for side in ran:
        if side in failures:
            sides[side] = {"out_of_memory": True, "error": failures[side]}
            continue
        seconds = statistics.median(s for run in timing for s in run["wall"][side])
        cpu_seconds = statistics.median(s for run in timing for s in run["cpu"][side])
        runs = memory[side]
        sides[side] = {"out_of_memory": False, "step_seconds": seconds, "tokens_per_second": tokens / seconds,
                       "step_cpu_seconds": cpu_seconds,
                       "update_peak_bytes": statistics.median(run["update_peak_bytes"] for run in runs),
                       "process_peak_bytes": statistics.median(run["process_peak_bytes"] for run in runs),
                       "first_step_loss": runs[0]["loss"], "first_step_grad_norm": runs[0]["grad_norm"],
                       "step_seconds_by_round": [run["wall"][side] for run in timing],
                       "step_cpu_seconds_by_round": [run["cpu"][side] for run in timing], "memory_runs": runs}
    ours, theirs, checkpointed = (sides.get(side) if side not in failures else None
                                  for side in ("agentgym", "trl", "trl-gc"))

    def ratio(a: dict[str, Any] | None, b: dict[str, Any] | None, key: str, *, inverse: bool = False) -> float | None:
        if a is None or b is None:
            return None
        return b[key] / a[key] if inverse else a[key] / max(b[key], 1e-300)

    # float32 sides agree to rounding; half precision rounds each side's own way.
    tolerance = 1e-3 if args.dtype == "float32" else 5e-2

    def agrees(other: dict[str, Any]) -> bool:
        return (abs(ours["first_step_loss"] - other["first_step_loss"])
                <= tolerance * max(0.1, abs(other["first_step_loss"]))
                and abs(ours["first_step_grad_norm"] - other["first_step_grad_norm"])
                <= tolerance * other["first_step_grad_norm"])

    others = [other for other in (theirs, checkpointed) if other is not None]
    same_update = all(agrees(other) for other in others) if ours is not None and others else None
    speed = ratio(ours, theirs, "tokens_per_second")
    first = measured[0] if measured else {}
    agentgym_run = next((run for run in memory.get("agentgym", []) if not run.get("out_of_memory")), {})
    return {"params": args.params, "parameters": first.get("parameters"), "device": args.device, "dtype": args.dtype,
            "head_flop_share": head_flop_share(MODEL_SHAPES[args.params]),
            "tied_head": MODEL_SHAPES[args.params]["tie_word_embeddings"],
            "date": time.strftime("%Y-%m-%d"),
            "rows": len(prompts), "group_size": args.group_size, "tokens": tokens,
            "completion_tokens": sum(len(c) for c in completions), "prompt_tokens_range": args.prompt_tokens,
            "completion_tokens_range": args.completion_tokens, "micro_batch_tokens": args.micro_batch_tokens,
            "micro_batch_tokens_used": agentgym_run.get("micro_batch_tokens"), "attention": args.attention,
            "rounds": args.rounds, "steps_per_round": args.steps, "torch_threads": first.get("torch_threads"),
            "command": " ".join(["python", "benchmarks/bench_train_step.py", *sys.argv[1:]]),
            "ratio": speed, "target": 1.2, "meets_target": None if speed is None else speed >= 1.2,
            "same_first_update": same_update,
            "memory_ratio": ratio(ours, theirs, "update_peak_bytes"),
            "ratio_vs_checkpointed": ratio(ours, checkpointed, "tokens_per_second"),
            "cpu_ratio": ratio(ours, theirs, "step_cpu_seconds", inverse=True),
            "cpu_ratio_vs_checkpointed": ratio(ours, checkpointed, "step_cpu_seconds", inverse=True),
            "memory_ratio_vs_checkpointed": ratio(ours, checkpointed, "update_peak_bytes"),
            "out_of_memory": sorted(failures, key=SIDES.index),
            "machine": _machine(args.device), **cpus_and_load(), "versions": _versions(), "sides": sides}


def _times(value: float | None, unavailable: str = "n/a") -> str:
    """A ratio as ``1.23x``, or ``unavailable`` when a side it needs did not run to the end."""
    return unavailable if value is None else f"{value:.2f}x"


def markdown(report: dict[str, Any]) -> str:
    memory = "GPU allocated" if report["device"].startswith("cuda") else "RSS"
    parameters = "" if report["parameters"] is None else f", {report['parameters'] / 1e6:.1f}M parameters"
    used = report.get("micro_batch_tokens_used")
    budget = f"{report['micro_batch_tokens']}" + (f" = {used:.0f}" if report["micro_batch_tokens"] == "auto"
                                                   and used is not None else "")
    lines = [
        f"### One GRPO update: agentgym `PolicyUpdater` vs TRL `GRPOTrainer` "
        f"({report['params']} Llama{parameters}, "
        f"{'tied' if report['tied_head'] else 'untied'} head = {report['head_flop_share']:.0%} of matmul FLOPs, "
        f"{report['dtype']}, {report['device']}, {report['machine']})", "",
        f"Batch: {report['rows']} rollouts ({report['rows'] // report['group_size']} groups of "
        f"{report['group_size']}), {report['tokens']} tokens of which {report['completion_tokens']} trained; "
        f"agentgym: attention `{report['attention']}`, micro-batches of {budget} tokens; "
        f"step time: median of {report['rounds']} rounds x {report['steps_per_round']} steps per side, the sides "
        f"taking turns; memory: the first step, in a fresh process per side and round "
        f"({report['torch_threads']} torch threads).", "",
        f"| side | step (s) | tokens/s | CPU s/step | update peak {memory} (MiB) | process peak (MiB) "
        f"| first-step loss | first-step grad norm |",
        "|---|---:|---:|---:|---:|---:|---:|---:|"]
    names = {"agentgym": "agentgym `PolicyUpdater.update`",
             "trl": f"TRL {report['versions'].get('trl')} `GRPOTrainer.training_step` + step, checkpointing off",
             "trl-gc": "the same, TRL's default gradient checkpointing on"}
    for side, s in report["sides"].items():
        if s["out_of_memory"]:
            lines.append(f"| {names[side]} | **out of memory** | | | | | | |")
            continue
        lines.append(f"| {names[side]} | {s['step_seconds']:.3f} | {s['tokens_per_second']:.0f} | "
                     f"{s['step_cpu_seconds']:.3f} | {s['update_peak_bytes'] / 2**20:.0f} | "
                     f"{s['process_peak_bytes'] / 2**20:.0f} | {s['first_step_loss']:.6f} | "
                     f"{s['first_step_grad_norm']:.6f} |")
    failed = ", ".join(report["out_of_memory"])
    unavailable = f"n/a ({failed} out of memory)" if failed else "n/a"
    same = {True: "yes", False: "NO", None: "n/a"}[report["same_first_update"]]
    if "trl" in report["sides"]:
        lines.append(f"| **ratio** vs TRL, checkpointing off | | **{_times(report['ratio'], unavailable)}** "
                     f"(target ≥ 1.2x) | {_times(report['cpu_ratio'])} | **{_times(report['memory_ratio'])}** "
                     f"| | same update (all sides run): {same} | |")
    if "trl-gc" in report["sides"]:
        lines.append(f"| ratio vs TRL, checkpointing on (its default) | | "
                     f"{_times(report['ratio_vs_checkpointed'], unavailable)} "
                     f"| {_times(report['cpu_ratio_vs_checkpointed'])} "
                     f"| {_times(report['memory_ratio_vs_checkpointed'])} | | | |")
    return "\n".join(lines)


def summarise_lengths(runs: dict[int, list[dict[str, Any]]], args: argparse.Namespace) -> dict[str, Any]:
    """The ``--packed-lengths`` report: agentgym's first-step peak memory per packed length
    (median over the rounds), or out of memory."""
    lengths = []
    for length, records in runs.items():
        failed = next((run for run in records if run.get("out_of_memory")), None)
        if failed is not None:
            lengths.append({"budget": length, "out_of_memory": True, "error": failed["error"]})
            continue
        first = records[0]
        lengths.append({"budget": length, "out_of_memory": False, "tokens": first["tokens"], "rows": first["rows"],
                        "completion_tokens": first["completion_tokens"], "micro_batches": first.get("micro_batches"),
                        "update_peak_bytes": statistics.median(run["update_peak_bytes"] for run in records),
                        "first_step_seconds": statistics.median(run["first_step_seconds"] for run in records),
                        "parameters": first["parameters"]})
    return {"params": args.params, "device": args.device, "dtype": args.dtype, "attention": args.attention,
            "rounds": args.rounds, "date": time.strftime("%Y-%m-%d"),
            "prompt_tokens_range": args.prompt_tokens, "completion_tokens_range": args.completion_tokens,
            "command": " ".join(["python", "benchmarks/bench_train_step.py", *sys.argv[1:]]),
            "machine": _machine(args.device), **cpus_and_load(), "versions": _versions(), "lengths": lengths}


def markdown_lengths(report: dict[str, Any]) -> str:
    memory = "GPU allocated" if report["device"].startswith("cuda") else "RSS"
    lines = [f"### agentgym's update memory by packed length ({report['params']} Llama, {report['dtype']}, "
             f"{report['device']}, attention `{report['attention']}`, {report['machine']})", "",
             f"One micro-batch of about the given length (rows of {report['prompt_tokens_range']} prompt + "
             f"{report['completion_tokens_range']} completion tokens); the first step's peak above the level "
             f"before it, median of {report['rounds']} fresh processes.", "",
             f"| budget | packed tokens | rows | micro-batches | update peak {memory} (MiB) | KiB per token |",
             "|---:|---:|---:|---:|---:|---:|"]
    for entry in report["lengths"]:
        if entry["out_of_memory"]:
            lines.append(f"| {entry['budget']} | **out of memory** | | | | |")
            continue
        peak = entry["update_peak_bytes"]
        lines.append(f"| {entry['budget']} | {entry['tokens']} | {entry['rows']} | {entry['micro_batches']:.0f} | "
                     f"{peak / 2**20:.0f} | {peak / 1024 / entry['tokens']:.1f} |")
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


def _token_budget(text: str) -> int | str:
    if text == "auto":
        return text
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"a positive integer or auto, got {text}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=ShowDefaults)
    parser.add_argument("--params", choices=sorted(MODEL_SHAPES), default="tiny")
    parser.add_argument("--device", type=torch_device, default="cpu")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="float32")
    parser.add_argument("--groups", type=positive_int, default=2)
    parser.add_argument("--group-size", type=positive_int, default=4)
    parser.add_argument("--prompt-tokens", type=positive_int, nargs=2, default=[48, 96], metavar=("MIN", "MAX"))
    parser.add_argument("--completion-tokens", type=positive_int, nargs=2, default=[24, 72], metavar=("MIN", "MAX"))
    parser.add_argument("--micro-batch-tokens", type=_token_budget, default=4096,
                        help="agentgym's packing budget, or auto (TRL scores the whole batch in one pass)")
    parser.add_argument("--attention", choices=ATTENTION, default="auto",
                        help="agentgym's attention over packed rows (auto: the library's default)")
    parser.add_argument("--sides", nargs="+", choices=SIDES, default=list(SIDES), help="the sides to run")
    parser.add_argument("--packed-lengths", type=int, nargs="+", metavar="TOKENS",
                        help="measure agentgym's first-step peak memory at these packed lengths instead")
    parser.add_argument("--simulate-oom", nargs="+", choices=SIDES, default=[],
                        help="(testing) these sides raise torch.OutOfMemoryError instead of running")
    parser.add_argument("--rounds", type=positive_int, default=3)
    parser.add_argument("--steps", type=positive_int, default=4,
                        help="timed steps per side and round, after a warm-up step")
    parser.add_argument("--threads", type=non_negative_int, default=0,
                        help="torch threads in the workers (0: torch's default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=output_folder, default=Path(__file__).parent / "results")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # memory:<side>, timing:<side first> or length:<tokens>
    return parser.parse_args(argv)


def _describe_run(run: dict[str, Any]) -> str:
    if run.get("out_of_memory"):
        return f"out of memory ({run['error'][:200]})"
    return f"first step {run['first_step_seconds']:.3f} s, update peak {run['update_peak_bytes'] / 2**20:.0f} MiB"


def _stem(args: argparse.Namespace, name: str) -> str:
    stem = name + ("" if args.params == "tiny" else f"_{args.params}")
    stem += "" if args.device == "cpu" else f"_{args.device.split(':')[0]}"
    return stem + ("" if args.attention == "auto" else f"_{args.attention}")


def compare(args: argparse.Namespace, argv: list[str]) -> tuple[dict[str, Any], str]:
    """The side-by-side comparison (module docstring): its report and table."""
    memory: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES if side in args.sides}
    timing: list[dict[str, Any]] = []
    for round_index in range(args.rounds):
        order = [side for side in (SIDES if round_index % 2 == 0 else SIDES[::-1]) if side in args.sides]
        for side in order:
            run = run_subprocess(f"memory:{side}", argv)
            memory[side].append(run)
            print(f"round {round_index} {side}: {_describe_run(run)}", file=sys.stderr)
        alive = [side for side in order if not any(run.get("out_of_memory") for run in memory[side])]
        timing.append(timing_round(argv, alive))
        print(f"round {round_index}: " + ", ".join(
            [f"{side} {statistics.median(timing[-1]['wall'][side]):.3f} s/step" for side in timing[-1]["wall"]]
            + [f"{side} out of memory" for side in timing[-1]["out_of_memory"]]), file=sys.stderr)
    report = summarise(memory, timing, args)
    return report, markdown(report)


def measure_lengths(args: argparse.Namespace, argv: list[str]) -> tuple[dict[str, Any], str]:
    """``--packed-lengths``: agentgym's first-step peak memory at each packed length."""
    runs: dict[int, list[dict[str, Any]]] = {length: [] for length in args.packed_lengths}
    for round_index in range(args.rounds):
        for length in args.packed_lengths:
            run = run_subprocess(f"length:{length}", [*argv, "--micro-batch-tokens", str(length)])
            runs[length].append(run)
            print(f"round {round_index} packed length {length}: {_describe_run(run)}", file=sys.stderr)
    report = summarise_lengths(runs, args)
    return report, markdown_lengths(report)


def main() -> None:
    args = parse_args()
    if args.worker:
        print(json.dumps(run_worker(args)))
        return
    argv = sys.argv[1:]
    if args.packed_lengths:
        report, table = measure_lengths(args, argv)
        stem = _stem(args, "bench_train_step_lengths")
    else:
        report, table = compare(args, argv)
        stem = _stem(args, "bench_train_step")
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}.json").write_text(json.dumps(report, indent=2))
    (args.out / f"{stem}.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
