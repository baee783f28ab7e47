"""The training configuration: typed sections, loaded from TOML, checked before anything runs.

    config = load_config("examples/grpo_guess_the_number.toml", overrides={"run": {"steps": 10}})
    config = load_config(path, overrides=parse_overrides(["rollout.group_size=4", "optimizer.lr=1e-5"]))

Every option has a default (the dataclass fields below, each documented); a TOML file names
only what it changes. Loading fails at once, with every problem listed, on an unknown section
or key (with the closest known name suggested), a value of the wrong type (each problem names
the key as written, e.g. ``rollout.max_turns must be an integer or omitted, got "five"``), or a
combination that cannot work (PPO without a value head, a group-relative estimator with groups
of one, a keep-fraction outside (0, 1], greedy sampling, a local model folder that does not
exist, an optional package that is not installed...). TOML has no null: an option whose
default is ``None`` is switched on by giving it a value and left off by leaving it out.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib.util
import json
import math
import sys
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import agentgym.core

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


class ConfigError(agentgym.core.ConfigError):
    """A training configuration that cannot run; the message lists every problem found."""


@dataclass
class RunSection:
    """[run] What to run and where.

    Attributes:
        name: a label for logs and Weights & Biases.
        out_dir: the run directory (metrics, checkpoints, plots, final weights).
        seed: seeds tasks, sampling, shuffling and initialisation; same seed, same run.
        steps: training steps (one step = one rollout batch and its update).
        device: ``auto`` (CUDA when available, else CPU), ``cpu``, ``cuda`` or ``cuda:N``.
        precision: ``auto`` (bf16 autocast on a CUDA device that supports it, else fp32),
            ``fp32`` or ``bf16`` (needs CUDA). Autocast covers the training forward passes;
            rollouts run in the weights' dtype, so under bf16 the first ratios differ from 1
            by the precision gap (the clip absorbs it).
    """

    name: str = "agentgym-train"
    out_dir: str = "runs/train"
    seed: int = 0
    steps: int = 100
    device: str = "auto"
    precision: Literal["auto", "fp32", "bf16"] = "auto"


@dataclass
class LoraSection:
    """[model.lora] Low-rank adapters through ``peft`` (the base weights stay frozen; the
    reference policy is the base with adapters disabled).

    Attributes:
        enabled: train LoRA adapters instead of every weight.
        r / alpha / dropout: the adapters' rank, scaling and dropout.
        target_modules: module names to adapt, or ``["all-linear"]``.
    """

    enabled: bool = False
    r: int = 16
    alpha: int = 32
    dropout: float = 0.0
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])


@dataclass
class ModelSection:
    """[model] The policy to train.

    Attributes:
        path: ``smollm2-135m`` (the embedded model), a local folder or a hub name.
        revision: the hub revision, if any.
        dtype: the weights' dtype: ``float32`` (default; train in fp32, bf16 by autocast) or
            ``bfloat16``.
        gradient_checkpointing: trade compute for memory in the backward pass.
        max_batch_size: the most sequences the rollout policy decodes at once.
        lora: ``[model.lora]``.
    """

    path: str = "smollm2-135m"
    revision: str | None = None
    dtype: Literal["float32", "bfloat16"] = "float32"
    gradient_checkpointing: bool = False
    max_batch_size: int = 64
    lora: LoraSection = field(default_factory=LoraSection)


@dataclass
class EnvSection:
    """[env] The tasks.

    Attributes:
        id: a registered environment id (``agentgym list``).
        kwargs: constructor arguments, e.g. ``{difficulty = "easy"}``.
        tasks_per_step: distinct tasks (seeds) per step; each is played ``group_size`` times.
        train_seeds: ``[start, stop)``: training task seeds are drawn from this range.
        wrappers: wrappers inside the turn budget, as data: names (``["AnswerFormat"]``) or
            tables (``[{name = "AnswerFormat", kwargs = {format = "boxed"}}]``); see
            ``agentgym.wrappers.registered_wrappers()``.
        runtime: where the environments run: ``"thread"`` (this process), ``"process"``
            (child processes, killed when hung), ``"ray"`` (Ray worker actors: a local cluster,
            or the one ``RAY_ADDRESS`` names) or an environment server's URL.
        ray_workers: Ray worker actors hosting the environments (``runtime = "ray"``).
    """

    id: str = "games/GuessTheNumber-v0"
    kwargs: dict[str, Any] = field(default_factory=dict)
    tasks_per_step: int = 8
    train_seeds: list[int] = field(default_factory=lambda: [0, 1_000_000])
    wrappers: list[Any] = field(default_factory=list)
    runtime: str = "thread"
    ray_workers: int = 2


@dataclass
class RolloutSection:
    """[rollout] How episodes are played.

    Attributes:
        group_size: rollouts per task sharing its seed (GRPO's G).
        max_turns: the turn budget (absent: the environment's registered budget).
        turn_schedule: a horizon curriculum, ``[[step, turns], ...]`` from step 0 with rising
            steps: from each ``step`` on, the budget is ``turns`` (e.g. ``[[0, 5], [50, 8],
            [100, 10]]``). Overrides ``max_turns``.
        temperature / top_p: sampling (temperature must be positive: training needs the
            sampling distribution's log-probs).
        max_tokens: the most tokens per turn.
        system_prompt: the system message (absent: agentgym's default; ``""``: none).
        max_concurrent_episodes: episodes in flight at once.
        backend: ``hf`` (the trained model itself) or ``vllm`` (an in-process vLLM engine that
            gets the new weights after every update; with LoRA, the merged weights).
        on_untrainable: ``skip`` (count and leave out) or ``error`` for trajectories that are
            not token-exact or failed.
    """

    group_size: int = 8
    max_turns: int | None = None
    turn_schedule: list[list[int]] = field(default_factory=list)
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 64
    system_prompt: str | None = None
    max_concurrent_episodes: int = 64
    backend: Literal["hf", "vllm"] = "hf"
    on_untrainable: Literal["skip", "error"] = "skip"


@dataclass
class AlgorithmSection:
    """[algorithm] Credit assignment (see :mod:`agentgym.credit` for the formulas).

    Attributes:
        name: a registered estimator (:mod:`agentgym.train.estimators`): ``grpo``, ``drgrpo``,
            ``rloo``, ``gigpo``, ``igpo`` (information-gain turn rewards + outcome),
            ``multichannel`` (MT-GRPO: per-channel z-scored turn rewards), ``stratified``
            (GRPO within strata of equal turn counts), ``reinforce`` (REINFORCE with
            batch-normalised returns, ReBN) or ``ppo`` (value head + turn-aware GAE).
        per_trajectory: group statistics count each rollout once (else each turn).
        gamma: discount across turns (GiGPO, IGPO, MT-GRPO, REINFORCE) or tokens (PPO's
            turn-aware GAE); absent: the estimator's default (0.95 for GiGPO, else 1.0).
        step_weight / similarity_threshold / normalize_by_std: GiGPO's step-advantage weight,
            anchor merging threshold (absent: exact anchors) and std normalisation.
        ig_mode / ig_normalization / outcome: IGPO's information-gain form (``prob_diff`` or
            ``log_prob_diff``), normalisation (``separate`` or ``joint``) and outcome source
            (``success``, ``reward`` or ``component``).
        value_head: train a value head (absent: exactly when ``name = "ppo"``).
        gae: ``turn_aware`` (token GAE over generated tokens) or ``bilevel``.
        lam: GAE lambda.
        value_coef / value_clip: the value loss weight and clip range (absent: no clip).
        whiten_advantages: PPO: normalise advantages over the batch's tokens.
        normalize_over: REINFORCE: ``tokens`` (REINFORCE++) or ``turns`` (ReBN).
        channels: MT-GRPO: the reward components to z-score and their weights.
        alpha: stratified: the weight of the within-stratum estimate in the blend.
    """

    name: str = "grpo"
    per_trajectory: bool = True
    gamma: float | None = None
    step_weight: float = 1.0
    similarity_threshold: float | None = None
    normalize_by_std: bool = True
    ig_mode: Literal["prob_diff", "log_prob_diff"] = "prob_diff"
    ig_normalization: Literal["separate", "joint"] = "separate"
    outcome: Literal["success", "reward", "component"] = "success"
    value_head: bool | None = None
    gae: Literal["turn_aware", "bilevel"] = "turn_aware"
    lam: float = 0.95
    value_coef: float = 0.5
    value_clip: float | None = None
    whiten_advantages: bool = True
    normalize_over: Literal["tokens", "turns"] = "tokens"
    channels: dict[str, float] | None = None
    alpha: float = 0.5

    @property
    def spec(self) -> Any:
        """The registry entry of ``name`` (:class:`~agentgym.train.estimators.EstimatorSpec`)."""
        from agentgym.train.estimators import estimator_spec

        return estimator_spec(self.name)

    @property
    def discount(self) -> float:
        return self.spec.default_gamma if self.gamma is None else self.gamma

    @property
    def uses_value_head(self) -> bool:
        return self.spec.critic if self.value_head is None else self.value_head


@dataclass
class FilterSection:
    """[filters] Which groups train (training-health tools, ALGORITHMS.md §8).

    Attributes:
        zero_variance: groups whose rollouts all earned the same return: ``keep``, ``drop``
            or ``downweight`` (their rows weigh ``zero_variance_weight``).
        zero_variance_weight: the weight of a down-weighted group.
        top_fraction: keep only this fraction of groups, those with the largest reward
            variance (1.0 keeps all); in (0, 1].
    """

    zero_variance: Literal["keep", "drop", "downweight"] = "keep"
    zero_variance_weight: float = 0.1
    top_fraction: float = 1.0


@dataclass
class EntropyBandSection:
    """[loss.entropy_band] Keep the policy entropy within a band around its running average
    (EPO-style, for long sparse episodes): after each step, if the entropy fell below
    ``(1 - width) * average`` the entropy coefficient is multiplied by ``factor``; if it rose
    above ``(1 + width) * average`` it is divided by it; it stays within
    ``[min_coef, max_coef]``. The average is an exponential moving average with decay ``ema``.
    """

    enabled: bool = False
    width: float = 0.2
    ema: float = 0.9
    factor: float = 1.5
    min_coef: float = 0.0
    max_coef: float = 0.1


@dataclass
class EpoSection:
    """[loss.epo] EPO's entropy smoothing (:func:`~agentgym.train.loss.entropy_smoothing_penalty`,
    :class:`~agentgym.train.schedules.EntropySmoothing`), for long sparse-reward episodes: each
    generated token's entropy outside ``[low_ratio, high_ratio] x`` the mean entropy of the past
    steps is penalised by its distance to that band, with weight
    ``entropy_coef * smooth_coef * w(progress)`` (``w``: EPO's phase weighting, from 1 early in the
    run to ~0.04 at its end; 1 throughout with ``phase_weighting = false``). Needs a positive
    ``loss.entropy_coef`` (the regulariser is part of the entropy term). Off by default.
    """

    enabled: bool = False
    smooth_coef: float = 1.0
    low_ratio: float = 0.8
    high_ratio: float = 1.2
    phase_weighting: bool = True


@dataclass
class LossSection:
    """[loss] The PPO-clip family loss (:mod:`agentgym.train.loss`).

    Attributes:
        eps_low / eps_high: the ratio's clip range ``[1 - eps_low, 1 + eps_high]``.
        dual_clip: the dual-clip constant (> 1) for negative advantages (absent: off).
        aggregation: ``token-mean``, ``seq-mean-token-mean`` or ``seq-mean-token-sum``.
        kl_coef: the weight of the KL to the reference policy (0: no reference model).
        kl_estimator: ``k1`` or ``k3``.
        kl_mode: ``loss`` (a loss term) or ``reward`` (a per-turn reward penalty, component
            ``kl_penalty``, before credit assignment).
        entropy_coef: the entropy bonus (the starting value when the band is on).
        entropy_band: ``[loss.entropy_band]``.
        epo: ``[loss.epo]``.
    """

    eps_low: float = 0.2
    eps_high: float = 0.2
    dual_clip: float | None = None
    aggregation: Literal["token-mean", "seq-mean-token-mean", "seq-mean-token-sum"] = "token-mean"
    kl_coef: float = 0.0
    kl_estimator: Literal["k1", "k3"] = "k3"
    kl_mode: Literal["loss", "reward"] = "loss"
    entropy_coef: float = 0.0
    entropy_band: EntropyBandSection = field(default_factory=EntropyBandSection)
    epo: EpoSection = field(default_factory=EpoSection)


@dataclass
class OptimizerSection:
    """[optimizer] AdamW and its learning-rate schedule (per optimizer step).

    Attributes:
        lr / weight_decay / betas / eps: AdamW's settings.
        schedule: ``constant``, ``linear`` (decay to ``min_lr_ratio * lr``) or ``cosine``.
        warmup_steps: optimizer steps of linear warm-up from 0.
        min_lr_ratio: the schedule's final learning rate as a fraction of ``lr``.
        max_grad_norm: clip the gradient norm to this (0: no clipping).
    """

    lr: float = 1e-6
    weight_decay: float = 0.0
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8
    schedule: Literal["constant", "linear", "cosine"] = "constant"
    warmup_steps: int = 0
    min_lr_ratio: float = 0.0
    max_grad_norm: float = 1.0


@dataclass
class BatchingSection:
    """[batching] How a step's rows are trained on (:mod:`agentgym.train.update`).

    Attributes:
        epochs: passes over each rollout batch.
        mini_batches: optimizer steps per pass.
        micro_batch_tokens: the token budget of one forward/backward pass (packed, no padding),
            or ``"auto"`` (the default): sized when the first update starts from the device's
            free memory (GPU: free plus torch's unused cache; CPU: available RAM) and the
            model's shape, at most 4096 on a CPU and 65,536 on a GPU, and reported as the
            metric ``train/micro_batch_tokens``
            (:func:`~agentgym.train.update.resolve_token_budget`). Memory grows with it times
            the vocabulary: the pass keeps float32 logits and their log-softmax for every token,
            about 1.6 GB each per 8192 tokens at SmolLM2's 49,152-token vocabulary, plus their
            gradients (8192 ran out of 24 GB on CPU). Give an integer for a packing that does
            not depend on the machine (bit-exact reruns elsewhere).
        attention: how packed rows attend (:mod:`agentgym.train.packed_attention`): ``"auto"``
            (the default) gives a text-only transformers model per-row causal attention, whose
            memory is linear in the packed length (FlashAttention-2 varlen on a GPU where
            ``flash_attn`` is installed and the pass runs in bf16/fp16); other models
            (vision-language, custom) keep their own. ``"packed"`` insists on the per-row
            kernel (an error for a model it cannot serve); ``"model"`` keeps the model's own
            attention, which over packed rows builds a dense L x L mask (quadratic memory).
    """

    epochs: int = 1
    mini_batches: int = 1
    micro_batch_tokens: int | Literal["auto"] = "auto"
    attention: Literal["auto", "packed", "model"] = "auto"


@dataclass
class CheckpointSection:
    """[checkpoint] Saving for exact resume.

    Attributes:
        every: save every this many steps (0: only at the end).
        keep_last: how many checkpoints to keep: those of highest step, and always the one
            ``checkpoints/latest`` names (the others are deleted).
        save_final: also save the final weights (or adapter) and tokenizer in Hugging Face
            format under ``<out_dir>/final``.
    """

    every: int = 50
    keep_last: int = 2
    save_final: bool = True


@dataclass
class LoggingSection:
    """[logging] Where metrics go.

    Attributes:
        console: a live table of the latest steps.
        jsonl: ``<out_dir>/metrics.jsonl``, one line per step.
        tensorboard: ``<out_dir>/tensorboard`` (needs the tensorboard package).
        wandb: log to Weights & Biases (needs wandb, and a login or ``WANDB_MODE=offline``).
        wandb_project / wandb_entity: where (absent entity: your default).
        plot: write ``<out_dir>/curves.png`` (reward and success) at the end (needs matplotlib).
        progress: show rollout and evaluation progress even without the console table (with the
            table it is always shown: a bar beneath it on a terminal, a line per quarter of the
            episodes or 30 s otherwise).
    """

    console: bool = True
    jsonl: bool = True
    tensorboard: bool = False
    wandb: bool = False
    wandb_project: str = "agentgym"
    wandb_entity: str | None = None
    plot: bool = True
    progress: bool = False


@dataclass
class EvalSection:
    """[eval] Evaluation on held-out task seeds: greedy by default, or sampled.

    Attributes:
        every: evaluate every this many steps (0: never; the first evaluation is before
            training, the last at the end).
        tasks: how many held-out seeds.
        first_seed: the held-out seeds are ``first_seed, first_seed + 1, ...``; they must lie
            outside ``env.train_seeds``.
        temperature: 0 for greedy decoding; above 0 the policy samples, with the same sampling
            seeds at every evaluation (so that two evaluations differ by the weights, not by
            the draw). Small models often repeat themselves greedily: the sampled success is
            then the more telling figure.
        samples: episodes per held-out seed (more than 1 only when sampling).
    """

    every: int = 0
    tasks: int = 32
    first_seed: int = 1_000_000
    temperature: float = 0.0
    samples: int = 1


@dataclass
class CurriculumSection:
    """[curriculum] Which tasks each step plays (formulas in :mod:`agentgym.train.curriculum`).

    Attributes:
        name: ``none`` (seeds drawn uniformly from ``env.train_seeds``), ``sec`` (a bandit
            over arms on mean absolute advantage, Boltzmann sampling), ``dump`` (UCB over arms
            on mean absolute advantage) or ``pcl`` (tasks of predicted success closest to
            ``target``).
        arms: the task distributions, as tables ``{id = "...", kwargs = {...}, label = "..."}``
            (``id`` defaults to ``env.id``; ``kwargs`` are merged over ``env.kwargs``); empty:
            the ``[env]`` environment alone.
        learning_rate / temperature: SEC's TD(0) step and softmax temperature.
        exploration / window: DUMP's UCB constant and the rollouts per arm its mean covers.
        candidates / target / prior_strength: PCL's candidate pool (times
            ``env.tasks_per_step``), target success and the pseudo-count of an arm's rate in a
            task's prediction.
    """

    name: Literal["none", "sec", "dump", "pcl"] = "none"
    arms: list[dict[str, Any]] = field(default_factory=list)
    learning_rate: float = 0.5
    temperature: float = 0.2
    exploration: float = 1.0
    window: int = 64
    candidates: int = 4
    target: float = 0.5
    prior_strength: float = 2.0


@dataclass
class AsyncTrainingSection:
    """[async_training] Asynchronous off-policy training (:mod:`agentgym.train.async_rollouts`):
    a rollout thread plays the next steps' tasks with a copy of the policy (the behaviour
    policy) while the learner updates, and the loss corrects for the lag with the decoupled
    PPO objective (:func:`~agentgym.train.loss.decoupled_policy_loss`). Off by default: the
    synchronous loop, bit for bit. Async runs are not bitwise reproducible (which turns a
    weight refresh reaches depends on timing).

    Attributes:
        enabled: overlap rollouts and updates.
        max_staleness: the most policy versions (updates) a trajectory may lag behind the
            learner that trains on it, counted from its oldest turn; the rollout thread starts
            no step that could exceed it, and a trajectory that still does is dropped and
            counted (``async/stale_dropped``), never trained on. At least 1.
        importance_cap: the cap on the behaviour weight ``exp(logp_prox - logp_behaviour)``
            of each token (truncated importance sampling); at least 1, so that an on-policy
            token keeps weight 1.
    """

    enabled: bool = False
    max_staleness: int = 1
    importance_cap: float = 5.0


@dataclass
class GuidanceSection:
    """[guidance] Hints for groups that fail entirely (Guide; Scaf-GRPO's tiers:
    :mod:`agentgym.train.guidance`). A group in which no episode succeeded and none returned
    more than ``failure_threshold`` teaches GRPO nothing; with guidance it is played again
    with the environment's hints in every observation (:class:`~agentgym.wrappers.Hinted`),
    and trains on those episodes rebuilt without the hints, each generated token weighted by
    ``min(exp(logp_without_hint - logp_with_hint), importance_cap)`` (the decoupled objective,
    :func:`~agentgym.train.loss.decoupled_policy_loss`). Off by default.

    Attributes:
        enabled: replay failed groups with hints.
        levels: the hint levels to climb, weakest first (1 the rules, 2 a strategy, 3 the
            environment's good next move; :meth:`agentgym.core.LLMEnv.hint`).
        patience: groups of one task (environment and arguments) that fail even with hints
            before its hints go up a level; a group of the task that succeeds without hints
            sets it back to the weakest.
        failure_threshold: a group counts as failed when no episode succeeded and none
            returned more than this.
        importance_cap: the cap on each hinted token's importance weight (at least 1).
    """

    enabled: bool = False
    levels: list[int] = field(default_factory=lambda: [1, 2, 3])
    patience: int = 1
    failure_threshold: float = 0.0
    importance_cap: float = 5.0


@dataclass
class ReplaySection:
    """[replay] Self-imitation replay (SPEAR-style; :mod:`agentgym.train.replay`): the best
    successful trajectories of each task (environment, arguments and seed) are kept, and when
    the task is drawn again they join its group with the advantage
    ``R_replay - mean(current group's returns)``, only where that is positive; they train with
    the decoupled objective's importance weights (an older policy sampled them). Off by default.

    Attributes:
        enabled: keep and replay past successes.
        capacity: the most trajectories in the buffer.
        per_task: the most trajectories kept for one task (the best returns).
        max_replayed_per_group: the most trajectories replayed into one group.
        min_return: a success is kept only if its return is at least this.
        max_age: forget trajectories played more than this many steps ago (0: never).
        importance_cap: the cap on each replayed token's importance weight (at least 1).
    """

    enabled: bool = False
    capacity: int = 256
    per_task: int = 2
    max_replayed_per_group: int = 1
    min_return: float = 0.0
    max_age: int = 0
    importance_cap: float = 5.0


@dataclass
class TrainConfig:
    """The whole configuration: one field per TOML section."""

    run: RunSection = field(default_factory=RunSection)
    model: ModelSection = field(default_factory=ModelSection)
    env: EnvSection = field(default_factory=EnvSection)
    rollout: RolloutSection = field(default_factory=RolloutSection)
    algorithm: AlgorithmSection = field(default_factory=AlgorithmSection)
    filters: FilterSection = field(default_factory=FilterSection)
    loss: LossSection = field(default_factory=LossSection)
    optimizer: OptimizerSection = field(default_factory=OptimizerSection)
    batching: BatchingSection = field(default_factory=BatchingSection)
    checkpoint: CheckpointSection = field(default_factory=CheckpointSection)
    logging: LoggingSection = field(default_factory=LoggingSection)
    eval: EvalSection = field(default_factory=EvalSection)
    curriculum: CurriculumSection = field(default_factory=CurriculumSection)
    async_training: AsyncTrainingSection = field(default_factory=AsyncTrainingSection)
    guidance: GuidanceSection = field(default_factory=GuidanceSection)
    replay: ReplaySection = field(default_factory=ReplaySection)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (``None`` values dropped, as TOML would have them absent)."""
        return _drop_none(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, check: bool = True,
                  source: str = "invalid training configuration") -> TrainConfig:
        """Build and (by default) :meth:`check` a config from nested dicts; raises
        :class:`ConfigError` listing every problem, after ``source`` (e.g. the file's name)."""
        problems: list[str] = []
        config = _build(cls, data, "", problems)
        if check:
            problems += _problems(config)  # values that failed to load kept their defaults
        if problems:
            raise ConfigError(_message(problems, source))
        return config

    def max_turns_at(self, step: int) -> int | None:
        """The turn budget at ``step`` (the turn schedule, else ``rollout.max_turns``)."""
        turns = self.rollout.max_turns
        for start, budget in self.rollout.turn_schedule:
            if step >= start:
                turns = budget
        return turns

    def check(self) -> None:
        """Raise :class:`ConfigError` if this configuration cannot run (all problems at once)."""
        problems = _problems(self)
        if problems:
            raise ConfigError(_message(problems))


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read a TOML file, apply ``overrides`` (nested dicts, e.g. ``{"run": {"steps": 5}}``, or
    :func:`parse_overrides` of ``KEY=VALUE`` strings) and check the result. Every problem is
    reported as ``<path>: <problem>``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"no configuration file at {path}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not valid TOML: it is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"cannot read the configuration {path}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    if not data:
        raise ConfigError(f"{path} sets no option (an empty file is more likely a mistake than a wish for "
                          "every default; set at least one, e.g. [env] id)")
    return TrainConfig.from_dict(merge(data, overrides or {}), source=str(path))


def parse_overrides(assignments: Sequence[str]) -> dict[str, Any]:
    """Nested overrides from ``KEY=VALUE`` assignments (``agentgym train --set``).

    ``KEY`` is a dotted option name as in the file (``rollout.group_size``, ``model.lora.r``);
    ``VALUE`` is read as a TOML value (``4``, ``1e-5``, ``true``, ``[0, 100]``,
    ``{difficulty = "easy"}``), or else taken as a string (``model.path=/models/mine``). A later
    assignment of the same key wins. Raises :class:`ConfigError` on an assignment without ``=``,
    an unknown key (with the closest names) or a value of the wrong type; combinations are
    checked once the overrides are applied (:func:`load_config`).
    """
    known = _option_hints()
    overrides: dict[str, Any] = {}
    problems: list[str] = []
    for assignment in assignments:
        key, equals, text = assignment.partition("=")
        key = key.strip()
        if not equals or not key:
            problems.append(f"expected KEY=VALUE (e.g. rollout.group_size=4), got {_toml(assignment)}")
        elif key not in known:
            close = _options_named(key.rsplit(".", 1)[-1]) or difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            hint = f"; did you mean {' or '.join(close)}?" if close else "; options are section.key, as in the file"
            problems.append(f"unknown option {key!r}{hint}")
        else:
            *sections, name = key.split(".")
            table = overrides
            for section in sections:
                if not isinstance(table.get(section), dict):
                    table[section] = {}
                table = table[section]
            table[name] = _toml_value(text.strip())
    if not problems:
        _build(TrainConfig, overrides, "", problems)  # the types, as for the file
    if problems:
        raise ConfigError(_message(problems, "--set"))
    return overrides


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` applied recursively (a new dict)."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


# ----------------------------------------------------------------------- building
def _build(cls: type, data: Any, where: str, problems: list[str]) -> Any:
    """An instance of dataclass ``cls`` from ``data``; type problems go to ``problems``."""
    label = f"[{where}]" if where else "the top level"
    if not isinstance(data, dict):
        problems.append(f"{label} must be a table, got {_toml(data)}")
        return cls()
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    values = {}
    for key, value in data.items():
        path = f"{where}.{key}" if where else key
        if key not in names:
            problems.append(f"unknown {'key' if where else 'section'} {key!r} in {label}{_suggestion(key, names)}")
            continue
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            values[key] = _build(hint, value, path, problems)
        elif _conforms(value, hint):
            values[key] = _coerce(value, hint)
        else:
            problems.append(f"{path} must be {_describe(hint)}, got {_toml(value)}")
    return cls(**values)


def _conforms(value: Any, hint: Any) -> bool:
    """Whether a TOML value fits a field's type hint.

    Both union spellings (``Optional[int]``, ``int | None``) accept a value that fits one member
    (``None`` only says the key may be left out: TOML has no null); ``bool`` is not an integer
    here; an integer is a number; a number must be finite (``nan`` and ``inf`` configure
    nothing); lists and fixed-length tuples (``tuple[float, float]``) are TOML arrays whose items
    fit. A hint this function does not know raises ``TypeError``, so that no new field goes
    unchecked.
    """
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_conforms(value, option) for option in args if option is not type(None))
    if origin is Literal:
        return any(type(value) is type(option) and value == option for option in args)
    if origin is list or origin is tuple and args[-1] is Ellipsis:
        return isinstance(value, list) and all(_conforms(item, args[0]) for item in value)
    if origin is tuple:
        return isinstance(value, list) and len(value) == len(args) and all(map(_conforms, value, args))
    if origin is dict or hint is dict:
        return isinstance(value, dict)
    if hint is Any:
        return True
    if hint is bool or hint is str:
        return isinstance(value, hint)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    raise TypeError(f"the configuration checker has no rule for {hint!r}")


def _describe(hint: Any, *, plural: bool = False) -> str:
    """What :func:`_conforms` accepts for ``hint``, in words: ``an integer or omitted``,
    ``a list of integers``, ``one of "grpo", "ppo"``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        options = [option for option in args if option is not type(None)]
        words = " or ".join(_describe(option, plural=plural) for option in options)
        return f"{words} or omitted" if len(options) < len(args) else words
    if origin is Literal:
        return ("any of " if plural else "one of ") + ", ".join(_toml(option) for option in args)
    if origin is list or origin is tuple and args[-1] is Ellipsis:
        return ("lists of " if plural else "a list of ") + _describe(args[0], plural=True)
    if origin is tuple:
        return ("lists " if plural else "a list ") + "[" + ", ".join(_describe(option) for option in args) + "]"
    if origin is dict or hint is dict:
        return "tables" if plural else "a table"
    one, many = _WORDS[hint]
    return many if plural else one


_WORDS: dict[Any, tuple[str, str]] = {
    bool: ("true or false", "true or false values"), int: ("an integer", "integers"),
    float: ("a finite number", "finite numbers"), str: ("a string", "strings"), Any: ("any value", "any values"),
}


def _coerce(value: Any, hint: Any) -> Any:
    """Integers given for float options become floats (TOML writes ``1`` for ``1.0``)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is list:
        return [_coerce(item, args[0]) for item in value]
    options = args if origin in (typing.Union, types.UnionType) else (hint,)
    if float in options and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _toml(value: Any) -> str:
    """``value`` as TOML would write it (``"five"``, ``true``, ``inf``, ``[1]``), for messages."""
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key} = {_toml(item)}" for key, item in value.items()) + "}"
    try:
        return json.dumps(value, ensure_ascii=False)
    except TypeError:  # dates and times
        return str(value)


def _toml_value(text: str) -> Any:
    """A ``--set`` value: ``text`` read as a TOML value, else ``text`` itself as a string."""
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def _option_hints(cls: type = None, where: str = "") -> dict[str, Any]:
    """Every option's and section's dotted name (``rollout.group_size``, ``model.lora``) and
    type hint."""
    hints: dict[str, Any] = {}
    for name, hint in typing.get_type_hints(cls or TrainConfig).items():
        path = f"{where}.{name}" if where else name
        hints[path] = hint
        if dataclasses.is_dataclass(hint):
            hints.update(_option_hints(hint, path))
    return hints


def _options_named(name: str) -> list[str]:
    """The dotted options called ``name`` in any section (``lr``: ``optimizer.lr``)."""
    return [path for path in _option_hints() if path.rsplit(".", 1)[-1] == name]


def _suggestion(key: str, names: list[str]) -> str:
    """``; did you mean ...?`` for an unknown key: a close name in the same table, else the
    same name in another section (``lr`` in ``[rollout]``: ``optimizer.lr``)."""
    close = difflib.get_close_matches(key, names, n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    elsewhere = _options_named(key)
    if elsewhere:
        return f"; did you mean {' or '.join(elsewhere)}?"
    return f"; known keys: {', '.join(names)}"


def _drop_none(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _drop_none(v) for k, v in data.items() if v is not None}
    if isinstance(data, list):
        return [_drop_none(v) for v in data]
    return data


def _message(problems: list[str], source: str = "invalid training configuration") -> str:
    """One problem on one line (``<source>: <problem>``), several as a list."""
    if len(problems) == 1:
        return f"{source}: {problems[0]}"
    return f"{source}:\n" + "\n".join(f"  - {p}" for p in problems)


# --------------------------------------------------------------------- validation
def _problems(config: TrainConfig) -> list[str]:
    """Everything that makes ``config`` unable to run, as sentences."""
    p: list[str] = []
    run, model, env, rollout, algo = config.run, config.model, config.env, config.rollout, config.algorithm
    loss, opt, batching, filters, band = config.loss, config.optimizer, config.batching, config.filters, \
        config.loss.entropy_band

    def positive(value: float, name: str, *, integer: bool = False) -> None:
        if value <= 0:
            p.append(f"{name} must be a positive {'integer' if integer else 'number'}, got {value}")

    def not_negative(value: float, name: str) -> None:
        if value < 0:
            p.append(f"{name} must not be negative, got {value}")

    positive(run.steps, "run.steps", integer=True)
    not_negative(run.seed, "run.seed")
    _check_model_path(model.path, p)
    if run.device != "auto" and not (run.device == "cpu" or run.device.startswith("cuda")):
        p.append(f'run.device must be "auto", "cpu", "cuda" or "cuda:N", got {_toml(run.device)}')
    if run.precision == "bf16" and run.device == "cpu":
        p.append("run.precision = 'bf16' needs a CUDA device (run.device is 'cpu'); use 'fp32' or 'auto'")
    positive(env.tasks_per_step, "env.tasks_per_step", integer=True)
    positive(rollout.group_size, "rollout.group_size", integer=True)
    positive(rollout.max_tokens, "rollout.max_tokens", integer=True)
    positive(rollout.max_concurrent_episodes, "rollout.max_concurrent_episodes", integer=True)
    positive(model.max_batch_size, "model.max_batch_size", integer=True)
    if model.lora.enabled:
        positive(model.lora.r, "model.lora.r", integer=True)
        positive(model.lora.alpha, "model.lora.alpha", integer=True)
        if not 0 <= model.lora.dropout < 1:
            p.append(f"model.lora.dropout must be in [0, 1), got {model.lora.dropout}")
    if len(env.train_seeds) != 2 or not 0 <= env.train_seeds[0] < env.train_seeds[1]:
        p.append(f"env.train_seeds must be [start, stop) with 0 <= start < stop, got {env.train_seeds}")
    elif env.train_seeds[1] - env.train_seeds[0] < env.tasks_per_step:
        p.append(f"env.train_seeds {env.train_seeds} holds fewer seeds than env.tasks_per_step "
                 f"({env.tasks_per_step})")
    if not rollout.temperature > 0:
        p.append(f"rollout.temperature must be positive, got {rollout.temperature}: training needs the "
                 "log-probs of a sampling distribution (greedy decoding has none)")
    if not 0 < rollout.top_p <= 1:
        p.append(f"rollout.top_p must be in (0, 1], got {rollout.top_p}")
    if rollout.max_turns is not None:
        positive(rollout.max_turns, "rollout.max_turns", integer=True)
    _check_turn_schedule(rollout.turn_schedule, p)
    _check_algorithm(algo, rollout, p)
    _check_curriculum(config.curriculum, p)
    if algo.gamma is not None and not 0 <= algo.gamma <= 1:
        p.append(f"algorithm.gamma must be in [0, 1], got {algo.gamma}")
    if not 0 <= algo.lam <= 1:
        p.append(f"algorithm.lam must be in [0, 1], got {algo.lam}")
    if algo.similarity_threshold is not None and not 0 < algo.similarity_threshold <= 1:
        p.append(f"algorithm.similarity_threshold must be in (0, 1], got {algo.similarity_threshold}")
    if algo.value_clip is not None:
        positive(algo.value_clip, "algorithm.value_clip")
    if not 0 < filters.top_fraction <= 1:
        p.append(f"filters.top_fraction must be in (0, 1], got {filters.top_fraction}")
    if not 0 < filters.zero_variance_weight <= 1:
        p.append(f"filters.zero_variance_weight must be in (0, 1], got {filters.zero_variance_weight}")
    if not 0 < loss.eps_low < 1:
        p.append(f"loss.eps_low must be in (0, 1), got {loss.eps_low}")
    positive(loss.eps_high, "loss.eps_high")
    if loss.dual_clip is not None and loss.dual_clip <= 1:
        p.append(f"loss.dual_clip must be greater than 1, got {loss.dual_clip}")
    if loss.kl_coef < 0 or loss.entropy_coef < 0:
        p.append("loss.kl_coef and loss.entropy_coef must not be negative")
    if band.enabled:
        if not 0 < band.width < 1 or not 0 <= band.ema < 1 or band.factor <= 1:
            p.append("loss.entropy_band needs 0 < width < 1, 0 <= ema < 1 and factor > 1")
        if not 0 <= band.min_coef <= loss.entropy_coef <= band.max_coef or loss.entropy_coef <= 0:
            p.append(f"loss.entropy_band needs 0 <= min_coef <= loss.entropy_coef <= max_coef with a positive "
                     f"entropy_coef to scale, got {band.min_coef} <= {loss.entropy_coef} <= {band.max_coef}")
    epo = loss.epo
    if not 0 <= epo.low_ratio < epo.high_ratio:
        p.append(f"loss.epo needs 0 <= low_ratio < high_ratio, got {epo.low_ratio} and {epo.high_ratio}")
    if epo.smooth_coef < 0:
        p.append(f"loss.epo.smooth_coef must not be negative, got {epo.smooth_coef}")
    if epo.enabled and loss.entropy_coef <= 0:
        p.append("loss.epo scales the entropy term: it needs a positive loss.entropy_coef, got "
                 f"{loss.entropy_coef}")
    positive(opt.lr, "optimizer.lr")
    positive(opt.eps, "optimizer.eps")
    not_negative(opt.weight_decay, "optimizer.weight_decay")
    if len(opt.betas) != 2 or not all(0 <= b < 1 for b in opt.betas):
        p.append(f"optimizer.betas must be two numbers in [0, 1), got {opt.betas}")
    not_negative(opt.warmup_steps, "optimizer.warmup_steps")
    not_negative(opt.max_grad_norm, "optimizer.max_grad_norm")
    if not 0 <= opt.min_lr_ratio <= 1:
        p.append(f"optimizer.min_lr_ratio must be in [0, 1], got {opt.min_lr_ratio}")
    positive(batching.epochs, "batching.epochs", integer=True)
    positive(batching.mini_batches, "batching.mini_batches", integer=True)
    if batching.micro_batch_tokens != "auto" and batching.micro_batch_tokens <= 0:
        p.append(f'batching.micro_batch_tokens must be a positive integer or "auto", got {batching.micro_batch_tokens}')
    episodes = env.tasks_per_step * rollout.group_size
    if 0 < episodes < batching.mini_batches:
        p.append(f"batching.mini_batches ({batching.mini_batches}) exceeds the episodes per step "
                 f"({env.tasks_per_step} tasks x {rollout.group_size} rollouts = {episodes})")
    not_negative(config.checkpoint.every, "checkpoint.every")
    if config.checkpoint.keep_last < 1:
        p.append(f"checkpoint.keep_last must be at least 1, got {config.checkpoint.keep_last}")
    if config.eval.every < 0:
        p.append(f"eval.every must not be negative, got {config.eval.every}")
    if config.eval.every:
        positive(config.eval.tasks, "eval.tasks", integer=True)
        not_negative(config.eval.first_seed, "eval.first_seed")
        start, stop = config.eval.first_seed, config.eval.first_seed + config.eval.tasks
        if len(env.train_seeds) == 2 and start < env.train_seeds[1] and env.train_seeds[0] < stop:
            p.append(f"the evaluation seeds [{start}, {stop}) overlap env.train_seeds {env.train_seeds}: "
                     "evaluation must use held-out tasks")
        positive(config.eval.samples, "eval.samples", integer=True)
        if config.eval.temperature < 0:
            p.append(f"eval.temperature must not be negative, got {config.eval.temperature}")
        elif config.eval.temperature == 0 and config.eval.samples > 1:
            p.append(f"eval.samples = {config.eval.samples} with greedy decoding (eval.temperature = 0) "
                     "plays the same episode again: sample (eval.temperature > 0) or use one sample")
    _check_env_runtime(env, p)
    _check_async_training(config, p)
    _check_guidance(config, p)
    _check_replay(config, p)
    _check_optional_packages(config, p)
    return p


def _check_async_training(config: TrainConfig, p: list[str]) -> None:
    section = config.async_training
    if section.max_staleness < 1:
        p.append(f"async_training.max_staleness must be at least 1 (a version is one update; with no lag "
                 f"allowed nothing can overlap: use async_training.enabled = false), got {section.max_staleness}")
    if section.importance_cap < 1:
        p.append(f"async_training.importance_cap must be at least 1 (an on-policy token has weight 1), "
                 f"got {section.importance_cap}")
    if not section.enabled:
        return
    if config.rollout.backend != "hf":
        p.append(f"async_training needs rollout.backend = 'hf' (its behaviour policy is a copy of the trained "
                 f"model), got {config.rollout.backend!r}")
    if config.curriculum.name != "none":
        p.append(f"async_training is not available with a curriculum yet (curriculum.name = "
                 f"{config.curriculum.name!r}: its proposals would run ahead of what it has observed)")


def _check_guidance(config: TrainConfig, p: list[str]) -> None:
    from agentgym.core import HINT_LEVELS

    section = config.guidance
    levels = section.levels
    if not levels or any(type(level) is not int or level not in HINT_LEVELS for level in levels):
        p.append(f"guidance.levels must be some of {list(HINT_LEVELS)} (1 the rules, 2 a strategy, 3 a good "
                 f"next move), got {levels!r}")
    elif list(levels) != sorted(set(levels)):
        p.append(f"guidance.levels must rise, weakest first, without repeats, got {levels!r}")
    if section.patience < 1:
        p.append(f"guidance.patience must be at least 1, got {section.patience}")
    if section.importance_cap < 1:
        p.append(f"guidance.importance_cap must be at least 1 (a token the hint did not change has weight 1), "
                 f"got {section.importance_cap}")
    if section.enabled and config.async_training.enabled:
        p.append("guidance is not available with async_training yet (a failed group is replayed by the learner "
                 "between its rollout and its update); enable one of them")


def _check_replay(config: TrainConfig, p: list[str]) -> None:
    section = config.replay
    for name in ("capacity", "per_task", "max_replayed_per_group"):
        value = getattr(section, name)
        if type(value) is not int or value < 1:
            p.append(f"replay.{name} must be a positive integer, got {value!r}")
    if type(section.max_age) is not int or section.max_age < 0:
        p.append(f"replay.max_age must be a whole number of steps, 0 for no limit, got {section.max_age!r}")
    if section.importance_cap < 1:
        p.append(f"replay.importance_cap must be at least 1 (a token the learner still samples alike has weight "
                 f"1), got {section.importance_cap}")
    if not section.enabled:
        return
    if config.async_training.enabled:
        p.append("replay is not available with async_training yet (its rows would need the lag bookkeeping of "
                 "the rollout thread); enable one of them")
    if config.algorithm.uses_value_head:
        p.append(f"replay is not available with a critic ({config.algorithm.name!r}): a replayed trajectory has "
                 "no values of the critic at its time; use a group-relative estimator (grpo, rloo...)")
    if config.guidance.enabled and config.guidance.importance_cap != section.importance_cap:
        p.append(f"replay.importance_cap ({section.importance_cap}) and guidance.importance_cap "
                 f"({config.guidance.importance_cap}) must agree when both are on (one cap per update)")


def _check_env_runtime(env: EnvSection, p: list[str]) -> None:
    from agentgym.runtime.runtimes import as_runtime
    from agentgym.wrappers.specs import WrapperSpec

    for wrapper in env.wrappers:
        try:
            WrapperSpec.from_data(wrapper)
        except (TypeError, ValueError) as exc:
            p.append(f"env.wrappers: {exc}")
    try:
        as_runtime(env.runtime)
    except ValueError as exc:
        p.append(f"env.runtime: {exc}")
    if env.ray_workers < 1:
        p.append(f"env.ray_workers must be at least 1, got {env.ray_workers}")
    if env.runtime == "ray":
        try:
            import ray  # noqa: F401
        except ImportError:
            p.append("env.runtime = 'ray' needs Ray installed: pip install 'agentgym[ray]'")


def _check_model_path(path: str, p: list[str]) -> None:
    """A ``model.path`` that looks like a local path (absolute, ``./``, ``~``, or more than the
    one slash of a hub name ``org/name``) must be a folder holding a model, so that a typo gives
    one line here rather than a hub error about repository ids."""
    expected = ("expected a local model folder (written by save_pretrained), a hub name such as "
                '"HuggingFaceTB/SmolLM2-135M-Instruct", or "smollm2-135m" (the embedded model)')
    folder = Path(path)
    looks_local = folder.is_absolute() or path.startswith((".", "~")) or path.count("/") > 1 or "\\" in path
    if not path.strip():
        p.append(f"model.path is empty: {expected}")
    elif looks_local and not folder.exists():
        p.append(f"model.path {_toml(path)} does not exist: {expected}")
    elif folder.is_file():
        p.append(f"model.path {_toml(path)} is a file: {expected}")
    elif folder.is_dir() and not any((folder / name).is_file() for name in ("config.json", "adapter_config.json")):
        p.append(f"model.path {_toml(path)} holds no model (no config.json): {expected}")


def _check_algorithm(algo: AlgorithmSection, rollout: Any, p: list[str]) -> None:
    """What the estimator registry says of ``algorithm.name`` and its options."""
    from agentgym.train.estimators import estimator_names, estimator_spec

    try:
        spec = estimator_spec(algo.name)
    except agentgym.core.ConfigError as exc:
        p.append(f"algorithm.name: {exc}")
        return
    if spec.compares_group and rollout.group_size == 1:
        alone = ", ".join(n for n in estimator_names() if not estimator_spec(n).compares_group)
        p.append(f"algorithm {algo.name!r} compares the rollouts of a group, but rollout.group_size is "
                 f"{rollout.group_size}: every advantage would be 0 (use group_size >= 2, or {alone})")
    if spec.critic and not algo.uses_value_head:
        p.append(f"algorithm {algo.name!r} needs a value head for GAE (remove algorithm.value_head = false)")
    if not spec.critic and algo.value_head:
        critics = ", ".join(repr(n) for n in estimator_names() if estimator_spec(n).critic)
        p.append(f"algorithm.value_head = true, but {algo.name!r} does not use a critic (only {critics} do)")
    if algo.channels and any(isinstance(w, bool) or not isinstance(w, (int, float)) for w in algo.channels.values()):
        p.append(f"algorithm.channels must map reward components to numbers, got {_toml(algo.channels)}")
    p.extend(spec.check(algo) if spec.check else [])


def _check_curriculum(section: CurriculumSection, p: list[str]) -> None:
    for index, arm in enumerate(section.arms):
        unknown = sorted(set(arm) - {"id", "kwargs", "label"})
        if unknown:
            p.append(f"curriculum.arms[{index}] has unknown keys {unknown}: use id, kwargs and label")
        if "id" in arm and not isinstance(arm["id"], str):
            p.append(f"curriculum.arms[{index}].id must be an environment id, got {_toml(arm['id'])}")
        if "kwargs" in arm and not isinstance(arm["kwargs"], dict):
            p.append(f"curriculum.arms[{index}].kwargs must be a table, got {_toml(arm['kwargs'])}")
    if not 0 < section.learning_rate <= 1:
        p.append(f"curriculum.learning_rate must be in (0, 1], got {section.learning_rate}")
    for name in ("temperature", "candidates", "window", "prior_strength"):
        if not getattr(section, name) > 0:
            p.append(f"curriculum.{name} must be positive, got {getattr(section, name)}")
    if section.exploration < 0:
        p.append(f"curriculum.exploration must be >= 0, got {section.exploration}")
    if not 0 < section.target < 1:
        p.append(f"curriculum.target must be in (0, 1), got {section.target}")


def _check_turn_schedule(schedule: list[list[int]], p: list[str]) -> None:
    if not schedule:
        return
    if any(len(entry) != 2 for entry in schedule):
        p.append(f"rollout.turn_schedule entries must be [step, turns] pairs, got {schedule}")
        return
    steps = [step for step, _ in schedule]
    if steps[0] != 0 or any(b <= a for a, b in zip(steps, steps[1:])):
        p.append(f"rollout.turn_schedule must start at step 0 with rising steps, got {schedule}")
    if any(turns < 1 for _, turns in schedule):
        p.append(f"rollout.turn_schedule turn budgets must be positive, got {schedule}")


def _check_optional_packages(config: TrainConfig, p: list[str]) -> None:
    def missing(module: str) -> bool:
        return importlib.util.find_spec(module) is None

    if config.model.lora.enabled and missing("peft"):
        p.append("model.lora.enabled needs the peft package: pip install peft  (or agentgym[train])")
    if config.rollout.backend == "vllm":
        if missing("vllm"):
            p.append("rollout.backend = 'vllm' needs vLLM installed (and a GPU): pip install vllm")
    if config.logging.tensorboard and missing("tensorboard"):
        p.append("logging.tensorboard needs the tensorboard package: pip install tensorboard  (or agentgym[train])")
    if config.logging.wandb and missing("wandb"):
        p.append("logging.wandb needs the wandb package: pip install wandb")
