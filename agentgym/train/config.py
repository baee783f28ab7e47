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

The configuration lives in three modules, each with one job:

- :mod:`agentgym.train.config` (this one): the schema (one dataclass per TOML section, each
  option documented with its default), :class:`TrainConfig`, :class:`ConfigError` and the entry
  points :func:`load_config`, :meth:`TrainConfig.from_dict` and :meth:`TrainConfig.check`;
  :func:`parse_overrides` and :func:`merge` are importable from here too.
- :mod:`agentgym.train.config_parsing`: plain data (TOML tables, ``--set`` assignments) into
  these dataclasses, with the type checks and the "did you mean" suggestions.
- :mod:`agentgym.train.config_checks`: the combinations of values that cannot run.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import agentgym.core
from agentgym.train.config_checks import configuration_problems
from agentgym.train.config_parsing import build_section, drop_none, merge, problem_message
from agentgym.train.config_parsing import parse_overrides  # noqa: F401  (public API, defined there)

import tomllib


class ConfigError(agentgym.core.ConfigError):
    """A training configuration that cannot run; the message lists every problem found."""


def _home_expanded(path: Any) -> Any:
    """``path`` with a leading ``~`` expanded (neither ``Path`` nor ``from_pretrained`` does it)."""
    return str(Path(path).expanduser()) if isinstance(path, str) and path.startswith("~") else path


@dataclass
class RunSection:
    """[run] What to run and where.

    Attributes:
        name: a label for logs and Weights & Biases.
        out_dir: the run directory (metrics, checkpoints, plots, final weights); not empty
            (``"."`` names the current folder). A leading ``~`` (your home folder) is expanded
            when the section is made (else the run would make a folder named ``~``).
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

    def __post_init__(self) -> None:
        self.out_dir = _home_expanded(self.out_dir)


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
        path: ``smollm2-135m`` (the embedded model), a local folder or a hub name. A leading
            ``~`` (your home folder) is expanded when the section is made, since the loaders
            (``from_pretrained``) would take ``~/models/mine`` for a hub name.
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

    def __post_init__(self) -> None:
        self.path = _home_expanded(self.path)


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
        return drop_none(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, check: bool = True,
                  source: str = "invalid training configuration") -> TrainConfig:
        """Build and (by default) :meth:`check` a config from nested dicts; raises
        :class:`ConfigError` listing every problem, after ``source`` (e.g. the file's name)."""
        problems: list[str] = []
        config = build_section(cls, data, "", problems)
        if check:
            problems += configuration_problems(config)  # values that failed to load kept their defaults
        if problems:
            raise ConfigError(problem_message(problems, source))
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
        problems = configuration_problems(self)
        if problems:
            raise ConfigError(problem_message(problems))


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read a TOML file, apply ``overrides`` (nested dicts, e.g. ``{"run": {"steps": 5}}``, or
    :func:`parse_overrides` of ``KEY=VALUE`` strings) and check the result. Every problem is
    reported as ``<path>: <problem>``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark (some editors write one) is no TOML
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
