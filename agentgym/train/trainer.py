"""The RL training loop: rollouts of the model being trained, credit, updates, repeat.

    trainer = Trainer(load_config("examples/grpo_guess_the_number.toml"))
    history = trainer.train()            # one metrics dict per step

One step (:meth:`Trainer.train_step`):

1. **Rollout.** ``env.tasks_per_step`` task seeds (drawn from ``env.train_seeds`` by the run
   seed and the step) are each played ``rollout.group_size`` times by an :class:`HFPolicy`
   wrapping the very model being trained (in eval mode), at the step's turn budget. The
   sampling log-probs recorded then are the "old" log-probs. With ``rollout.backend = "vllm"``
   a vLLM engine plays instead and gets the new weights after every update.
2. **Trainable trajectories.** Trajectories that are not token-exact, lack log-probs or failed
   are counted and left out (or stop the run, ``on_untrainable = "error"``).
3. **Rewards.** IGPO: information-gain turn rewards from the model's belief in the hidden
   answer. KL as a reward penalty: ``-kl_coef * sum_t KL_t`` over each turn's tokens.
4. **Advantages** from the configured estimator (PPO: the value head scores every token,
   then turn-aware or bi-level GAE; advantages whitened over the batch's tokens).
5. **Group filters** (drop / down-weight zero-variance groups, keep the top fraction).
6. **Update**: :class:`~agentgym.train.update.PolicyUpdater` (epochs x mini-batches x packed
   micro-batches, clipping, AdamW + schedule); reference log-probs come from a frozen copy of
   the initial model (or, with LoRA, the base model with adapters disabled).
7. **Metrics, evaluation, checkpoint.**

Vision-language models. Given a vision-language model and its processor (``model=`` and
``tokenizer=processor``, or a ``model.path`` whose configuration has a vision tower), the
rollout policy is an :class:`~agentgym.policies.hf_vision.HFVisionPolicy`, and the training rows
carry each trajectory's images, rebuilt from its messages with the same processing
(:func:`~agentgym.train.batching.training_rows` with ``vision=``): environments with
``{"text", "image"}`` observations (GUI screenshots) train as text environments do. A
trajectory whose images do not match its image tokens is untrainable. IGPO (its answer scoring
is text-only) and the vLLM rollout back-end are not available for them.

Under ``torch.distributed`` (initialised by the caller, e.g. with ``torchrun``), each process
plays its share of the step's tasks (whole groups), the update sums gradients across processes
(:mod:`agentgym.train.update`), the step's metrics are combined over the processes
(:mod:`agentgym.train.distributed`) and only rank 0 logs and checkpoints; PPO's advantage
whitening and the group filters act on each process's share.

Every source of randomness is seeded from ``run.seed`` and the step (task seeds, sampling seeds,
mini-batch shuffling), and checkpoints hold the RNG states, so a resumed run repeats what an
uninterrupted one would have done (up to floating-point differences from batch composition).

Asynchronous off-policy training (``[async_training] enabled = true``; :mod:`.async_rollouts`).
:meth:`Trainer.train` then plays the rollouts on a thread of its own with a behaviour copy of
the model, one or more steps ahead (``max_staleness``), while the learner updates: step 1's
rollout plays with the weights step 2's update has not changed yet. After each update the
learner stages its weights for the copy (taken between two policy calls). Before the update,
each trajectory's lag (the learner's step minus the version of its oldest turn) is checked
against ``max_staleness`` (over-stale ones are dropped and counted: ``async/stale_dropped``),
and rows sampled by an older version get proximal log-probs, the learner's own before the
update, for the decoupled PPO objective (:func:`~agentgym.train.loss.decoupled_policy_loss`).
Not available with the vLLM back-end, a curriculum or ``torch.distributed``; rollout progress
is not shown; not bitwise reproducible (a resumed async run starts a fresh rollout thread from
the checkpoint's weights). :meth:`Trainer.train_step` called on its own stays synchronous.

Self-imitation replay (``[replay] enabled = true``; :mod:`.replay`). After the step's rows are
built, each group gets its task's best stored successes (up to ``max_replayed_per_group``)
that still beat the group's mean return, with advantage ``R_replay - mean(R_group)`` on every
generated token; they train with proximal log-probs like the rows of an older policy. Then the
step's own successes (not the hinted ones) go into the buffer, which checkpoints hold. Not
available with async training, a critic (PPO) or ``torch.distributed``.

EPO's entropy smoothing (``[loss.epo]``; :class:`~agentgym.train.schedules.EntropySmoothing`):
from the second step on, tokens whose entropy leaves a band around the mean entropy of the past
steps are penalised, with a weight that follows EPO's phase schedule over ``run.steps``.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from rich.console import Console

import agentgym
from agentgym.credit import DEFAULT_EPS, Advantages, training_health
from agentgym.policies.base import Policy, SamplingParams
from agentgym.policies.hf import HFPolicy, quiet_transformers
from agentgym.rewards.base import component_means, write_component
from agentgym.rollout import RolloutConfig, RolloutResult, Task, arollout, rollout
from agentgym.rollout.transcript import is_processor
from agentgym.train.async_rollouts import AsyncRollouts, BehaviourPolicy, drop_stale, trainable_weights
from agentgym.train.batching import NotTrainable, TrainingRow, assign_advantages, check_trainable, training_rows
from agentgym.train.checkpoint import (
    check_run_directory_unused,
    checkpoint_config,
    load_checkpoint,
    load_trainable_state,
    resolve_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
    trainable_state,
)
from agentgym.train.config import ConfigError, TrainConfig, merge
from agentgym.train.curriculum import build_curriculum
from agentgym.train.estimators import build_estimator
from agentgym.train.distributed import (
    episode_metrics,
    episode_records,
    gather,
    global_metrics,
    is_distributed,
    rank_and_world,
)
from agentgym.train.filters import group_weights
from agentgym.train.guidance import Guide
from agentgym.train.logging import MetricsLogger
from agentgym.train.model_setup import (
    load_model,
    resolve_device,
    resolve_precision,
    seed_everything,
    vision_family_for,
    vllm_model_source,
    wrap_lora,
)
from agentgym.train.run_lock import hold_run_directory
from agentgym.train.replay import REPLAYED_KEY, ReplayBuffer, recalibrated_advantage
from agentgym.train.loss import kl_divergence
from agentgym.rollout.progress import RolloutProgress
from agentgym.runtime.runtimes import RayRuntime, Runtime, as_runtime
from agentgym.train.schedules import EntropyBand, EntropySmoothing, lr_multiplier
from agentgym.train.update import PolicyUpdater, UpdateSettings, ValueHead, score_rows
from agentgym.train.weights import inference_weights
from agentgym.trajectory import Trajectory
from agentgym.wrappers.chat_history import DEFAULT_SYSTEM_PROMPT
from agentgym.wrappers.specs import WrapperSpec


class Trainer:
    """Trains a policy by reinforcement learning as configured (module docstring).

    Args:
        config: a checked :class:`~agentgym.train.config.TrainConfig`.
        model / tokenizer: use these instead of loading ``config.model.path`` (e.g. a model
            built in code); both or neither. For a vision-language model, ``tokenizer`` is
            its processor.
        out_dir: the run directory (default: ``config.run.out_dir``).
        stream: where the console table goes (default: standard output).
    """

    def __init__(self, config: TrainConfig, *, model: Any = None, tokenizer: Any = None,
                 out_dir: str | Path | None = None, stream: Any = None) -> None:
        config.check()
        if (model is None) != (tokenizer is None):
            raise ValueError("give both model and tokenizer, or neither (to load config.model.path)")
        self.config = config
        self.curriculum = build_curriculum(config.curriculum, config.env, config.run.seed)
        if self.curriculum is not None and is_distributed():
            raise ConfigError("a [curriculum] is not available under torch.distributed yet (each process would "
                              "learn from its own share of the rollouts and propose different tasks)")
        if config.async_training.enabled and is_distributed():
            raise ConfigError("[async_training] is not available under torch.distributed yet (the rollout thread "
                              "and the update's collectives would interleave); set enabled = false")
        self._check_environment()  # before any (slow) model loading
        self.out_dir = Path(out_dir or config.run.out_dir)
        self.stream = stream
        self._env_runtime: Runtime | None = None
        self.device = resolve_device(config.run.device)
        self.autocast_dtype = resolve_precision(config.run.precision, self.device)
        seed_everything(config.run.seed)
        if model is None:
            model, tokenizer = load_model(config.model)
        self.vision = None
        if is_processor(tokenizer):
            self.vision = vision_family_for(config, model, tokenizer)
        model = model.to(self.device)
        if config.model.dtype == "bfloat16":
            model = model.to(torch.bfloat16)
        if config.model.gradient_checkpointing:
            # transformers 5 renamed it (the old name warns and goes in v6); 4.x has only the old one
            enable = getattr(model, "activation_checkpointing_enable", None) or model.gradient_checkpointing_enable
            enable()
        # The reference policy is the model as training starts: a frozen copy, or (LoRA) the
        # base model with the adapters switched off.
        lora = config.model.lora
        needs_reference = config.loss.kl_coef > 0
        self.reference = None
        if lora.enabled:
            model = wrap_lora(model, lora)
        elif needs_reference:
            self.reference = copy.deepcopy(model).eval().requires_grad_(False)
        self.model, self.tokenizer = model.eval(), tokenizer
        self.value_head = None
        if config.algorithm.uses_value_head:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(config.run.seed)
                self.value_head = ValueHead(_hidden_size(model)).to(self.device).eval()
        parameters = [p for p in model.parameters() if p.requires_grad]
        if self.value_head is not None:
            parameters += list(self.value_head.parameters())
        opt = config.optimizer
        self.optimizer = torch.optim.AdamW(parameters, lr=opt.lr, betas=tuple(opt.betas), eps=opt.eps,
                                           weight_decay=opt.weight_decay)
        total = config.run.steps * config.batching.epochs * config.batching.mini_batches
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda s: lr_multiplier(
            s, total_steps=total, warmup_steps=opt.warmup_steps, schedule=opt.schedule, min_ratio=opt.min_lr_ratio))
        self.updater = PolicyUpdater(model, self.optimizer, self.update_settings(), scheduler=self.scheduler,
                                     value_head=self.value_head)
        self.policy = self._rollout_policy()
        self.estimator = build_estimator(config.algorithm)
        self.info_gain = None
        if config.algorithm.spec.information_gain:
            from agentgym.rewards.info_gain import InformationGainReward

            self.info_gain = InformationGainReward(model, tokenizer, mode=config.algorithm.ig_mode)
        band = config.loss.entropy_band
        self.entropy_band = EntropyBand(config.loss.entropy_coef, band.width, band.ema, band.factor, band.min_coef,
                                        band.max_coef) if band.enabled else None
        epo = config.loss.epo
        self.entropy_smoothing = EntropySmoothing(epo.smooth_coef, epo.low_ratio, epo.high_ratio,
                                                  epo.phase_weighting) if epo.enabled else None
        self.step = 0
        self.history: list[dict[str, Any]] = []
        self._progress_console: Console | None = None  # set by train(): where rollout progress goes
        self._async: AsyncRollouts | None = None  # the rollout thread while an asynchronous train() runs
        self.guide = Guide(config.guidance, self._play_hinted, tokenizer=self.tokenizer, vision=self.vision,
                           env_wrappers=config.env.wrappers) if config.guidance.enabled else None
        replay = config.replay
        if replay.enabled and is_distributed():
            raise ConfigError("[replay] is not available under torch.distributed yet (each process would keep "
                              "its own buffer and only rank 0's would be checkpointed); set enabled = false")
        self.replay = ReplayBuffer(replay.capacity, replay.per_task, min_return=replay.min_return,
                                   max_age=replay.max_age) if replay.enabled else None

    # ------------------------------------------------------------------ construction
    def update_settings(self) -> UpdateSettings:
        config = self.config
        loss, algo, batching = config.loss, config.algorithm, config.batching
        return UpdateSettings(
            epochs=batching.epochs, mini_batches=batching.mini_batches, micro_batch_tokens=batching.micro_batch_tokens,
            max_grad_norm=config.optimizer.max_grad_norm or None, eps_low=loss.eps_low, eps_high=loss.eps_high,
            dual_clip=loss.dual_clip, aggregation=loss.aggregation,
            kl_coef=loss.kl_coef if loss.kl_mode == "loss" else 0.0, kl_estimator=loss.kl_estimator,
            entropy_coef=loss.entropy_coef, value_coef=algo.value_coef, value_clip=algo.value_clip,
            temperature=config.rollout.temperature, autocast_dtype=self.autocast_dtype, attention=batching.attention,
            importance_cap=(config.guidance.importance_cap if config.guidance.enabled
                            else config.replay.importance_cap if config.replay.enabled
                            else config.async_training.importance_cap))

    def _rollout_policy(self, model: Any = None) -> Policy:
        """The policy that plays rollouts with ``model`` (default: the trained model)."""
        model = self.model if model is None else model
        if self.config.rollout.backend == "vllm":
            from agentgym.policies.vllm_engine import VLLMPolicy

            engine = VLLMPolicy(vllm_model_source(self.config.model.path))
            engine.load_weights(inference_weights(self.model))  # the model may not be the path's (code, dtype)
            return engine
        if self.vision is not None:
            from agentgym.policies.hf_vision import HFVisionPolicy

            return HFVisionPolicy(model, self.tokenizer, max_batch_size=self.config.model.max_batch_size,
                                  name=self.config.run.name, family=self.vision)
        return HFPolicy(model, self.tokenizer, max_batch_size=self.config.model.max_batch_size,
                        name=self.config.run.name)

    def _check_environment(self) -> None:
        """Fail now, not after the first rollout, on an unknown environment (the ``[env]`` one
        and every curriculum arm's) or (IGPO) one without a hidden answer to measure
        information gain against."""
        env_config = self.config.env
        for arm in self.curriculum.arms if self.curriculum is not None else ():
            try:
                agentgym.make(arm.env_id, **arm.kwargs).close()
            except (KeyError, TypeError, ValueError) as exc:
                raise ConfigError(f"curriculum arm {arm.name}: {exc.args[0] if exc.args else exc}") from None
        try:
            env = agentgym.make(env_config.id, wrappers=[WrapperSpec.from_data(w) for w in env_config.wrappers],
                                **env_config.kwargs)
        except KeyError as exc:
            raise ConfigError(f"env.id: {exc.args[0] if exc.args else exc}") from None
        try:
            env.reset(seed=env_config.train_seeds[0])
            algorithm = self.config.algorithm
            if algorithm.spec.information_gain and getattr(env.unwrapped, "reference_answer", None) is None:
                raise ConfigError(f"algorithm {algorithm.name!r} needs an environment with a hidden answer "
                                  f"(reference_answer); {env_config.id} has none")
        finally:
            env.close()

    # ----------------------------------------------------------------------- loop
    def train(self, *, until: int | None = None) -> list[dict[str, Any]]:
        """Train up to step ``until`` (default: ``run.steps``), evaluating and checkpointing
        as configured; returns the history (one metrics dict per step). A new run refuses a
        run directory that holds another (:func:`check_run_directory_unused`); any run, a
        directory that another process is training into (:func:`hold_run_directory`)."""
        if rank_and_world()[0] != 0:  # under torch.distributed, one process writes
            return self._train(until)
        if self.step == 0 and not self.history:
            check_run_directory_unused(self.out_dir)  # a file there: say so before making a directory
        with hold_run_directory(self.out_dir):
            return self._train(until)

    def _train(self, until: int | None) -> list[dict[str, Any]]:
        config = self.config
        if self.step == 0 and not self.history:
            check_run_directory_unused(self.out_dir)  # again, now that no other process can start there
        if self.step >= config.run.steps:  # a resumed run that is done: say so rather than nothing
            warnings.warn(f"the run is at step {self.step} and run.steps is {config.run.steps}: nothing to train "
                          f"(raise run.steps, --steps on the command line, above {self.step} to continue)",
                          stacklevel=3)
        until = config.run.steps if until is None else min(until, config.run.steps)
        logging = config.logging
        main = rank_and_world()[0] == 0
        logger = MetricsLogger(self.out_dir, console=logging.console and main, jsonl=logging.jsonl and main,
                               tensorboard=logging.tensorboard and main, wandb=logging.wandb and main,
                               run_name=config.run.name, config=config.to_dict(),
                               wandb_project=logging.wandb_project, wandb_entity=logging.wandb_entity,
                               history=self.history, stream=self.stream)
        # Rollout and evaluation progress: on the console table's console (a bar beneath the live
        # table on a terminal, plain lines in a log), or, without the table, where asked for.
        self._progress_console = (logger.console or (Console(file=self.stream or sys.stdout) if logging.progress
                                                     else None)) if main else None
        try:
            if self.step == 0 and config.eval.every and not self.history:
                record = {"step": 0, **self.evaluate()}
                self.history.append(record)
                logger.log(record)
            if config.async_training.enabled and self.step < until:
                self._async = self._start_async_rollouts(until)
            while self.step < until:
                metrics = self.train_step()
                if config.eval.every and (self.step % config.eval.every == 0 or self.step == config.run.steps):
                    metrics.update(self.evaluate())
                self.history.append(metrics)
                logger.log(metrics)
                every = config.checkpoint.every
                if main and ((every and self.step % every == 0) or self.step == config.run.steps):
                    self.save_checkpoint()
            if main and self.step == config.run.steps:
                self._finish(logger)
        finally:
            try:
                self._stop_async_rollouts()  # before the environments' runtime it uses goes
            finally:
                logger.close()
                self.close_env_runtime()
        return self.history

    def _start_async_rollouts(self, until: int) -> AsyncRollouts:
        """The rollout thread for steps ``[self.step, until)``, with a fresh behaviour copy of
        the model (its version: the current step)."""
        self._env_options()  # the run's environment runtime, started here rather than on the thread
        behaviour_model = copy.deepcopy(self.model).eval().requires_grad_(False)
        behaviour = BehaviourPolicy(self._rollout_policy(behaviour_model), version=self.step)

        async def play(step: int, policy: Policy) -> RolloutResult:
            return await arollout(policy, self.tasks_for(step), self._rollout_config(step), progress=False)

        return AsyncRollouts(play, behaviour, first_step=self.step, last_step=until,
                             max_staleness=self.config.async_training.max_staleness).start()

    def _stop_async_rollouts(self) -> None:
        rollouts, self._async = self._async, None
        if rollouts is not None:
            try:
                rollouts.close()
            finally:
                rollouts.behaviour.close()

    def _rollout_config(self, step: int) -> RolloutConfig:
        """How step ``step``'s training rollout is played."""
        config = self.config
        return RolloutConfig(
            group_size=config.rollout.group_size,
            sampling=SamplingParams(max_tokens=config.rollout.max_tokens, temperature=config.rollout.temperature,
                                    top_p=config.rollout.top_p, seed=_derived_seed(config.run.seed, step, 1)),
            max_turns=config.max_turns_at(step), system_prompt=self._system_prompt(),
            max_concurrent_episodes=config.rollout.max_concurrent_episodes,
            max_batch_size=config.model.max_batch_size, **self._env_options())

    def train_step(self) -> dict[str, Any]:
        """One rollout batch and its update (module docstring); returns the step's metrics.
        While an asynchronous :meth:`train` runs, the rollout comes from the rollout thread."""
        config = self.config
        started = time.perf_counter()
        step = self.step
        max_turns = config.max_turns_at(step)
        metrics: dict[str, Any] = {"step": step + 1}
        self.model.eval()
        tasks: list[Task] = []
        if self._async is not None:
            played = self._async.take(step)
            result, rollout_seconds = played.result, played.seconds
            metrics["time/rollout_wait_seconds"] = time.perf_counter() - started
        else:
            rank, world = rank_and_world()
            tasks = self.tasks_for(step)[rank::world]  # under torch.distributed, each process its share
            result = self._rollout(tasks, self._rollout_config(step), f"step {step + 1}/{config.run.steps} rollout")
            rollout_seconds = time.perf_counter() - started
            cache = getattr(self.policy, "prefix_cache", None)
            if cache is not None:  # its keys and values are stale once the update changes the weights:
                cache.clear()      # free them before the update needs the memory
        trajectories = result.trajectories
        records = episode_records(trajectories)
        metrics.update(episode_metrics(records))
        metrics["rollout/max_turns"] = float(max_turns) if max_turns is not None else math.nan
        metrics["rollout/tokens_per_second"] = float(result.stats["tokens_per_second"])
        kept = self._trainable(trajectories, metrics)
        if self._async is not None:
            kept = self._within_staleness(kept, step, metrics)
        if self.guide is not None and (kept or is_distributed()):  # every process shares the ladder's moves
            kept = self.guide(kept, tasks, step, metrics)
        rows: list[TrainingRow] = []
        turn_advantages = np.zeros(0)
        replayed: list[Trajectory] = []
        if kept:
            rows, turn_advantages = self._rows(kept, step, metrics)
            if self.replay is not None:
                replayed = self._replayed(kept, step, metrics)
                rows += self._replay_rows(replayed, first_source=len(kept))
        if self._any_sampled_elsewhere(kept + replayed, step) and kept:
            self._add_proximal_logprobs(kept + replayed, rows, step, metrics)
        if kept and self.replay is not None:  # after choosing: a success is not replayed into its own group
            metrics["replay/added"] = float(self.replay.add(
                (t for t in kept if not t.metadata.get("hints_stripped")), step))
            metrics["replay/buffer_size"] = float(len(self.replay))
            metrics["replay/tasks"] = float(self.replay.tasks)
        if rows or is_distributed():  # every process joins every update, even with no rows
            metrics.update(self._update(rows, step))
        else:
            warnings.warn(f"step {step + 1}: no rows to train on{self._why_untrainable(trajectories)}; "
                          "the update is skipped", stacklevel=2)
        self.step = step + 1
        if self._async is not None:  # the new weights (or, the update skipped, the same) as version step + 1
            self._async.publish(trainable_weights(self.model), version=self.step)
        metrics["optimizer/lr"] = float(self.optimizer.param_groups[0]["lr"])
        metrics["time/rollout_seconds"] = rollout_seconds
        metrics["time/step_seconds"] = time.perf_counter() - started
        return global_metrics(metrics, records, turn_advantages)  # under torch.distributed, the whole step's

    def _rows(self, kept: list[Trajectory], step: int, metrics: dict[str, Any]
              ) -> tuple[list[TrainingRow], np.ndarray]:
        """Rewards, advantages and filters: the training rows of the trainable trajectories,
        and every turn's advantage (for the step's metrics)."""
        config = self.config
        if self.info_gain is not None:
            self.info_gain(kept)
        # Built once, with advantages filled in when the estimator has run (the KL reference and
        # the critic score these rows first).
        rows = training_rows(kept, Advantages.broadcast(kept, [[0.0] * len(t.turns) for t in kept]),
                             on_untrainable="error", vision=self.vision)[0]
        reference = self._reference_logprobs(rows) if config.loss.kl_coef > 0 else None
        if reference is not None and config.loss.kl_mode == "reward":
            penalties = _turn_kl(kept, rows, reference, config.loss.kl_estimator)
            write_component(kept, "kl_penalty", penalties, weight=-config.loss.kl_coef)
        metrics.update({f"reward/{name}": value for name, value in component_means(kept).items()})
        old_values = None
        if self.value_head is not None:
            _, old_values = score_rows(self.model, rows, temperature=config.rollout.temperature,
                                       token_budget=self.updater.token_budget, value_head=self.value_head,
                                       autocast_dtype=self.autocast_dtype, attention=config.batching.attention)
            advantages = self.estimator(kept, [v.double().numpy() for v in old_values])
        else:
            advantages = self.estimator(kept)
        metrics.update(training_health(kept, advantages).as_dict())
        if self.curriculum is not None:
            metrics.update(self.curriculum.observe(kept, advantages.per_turn))
        assign_advantages(rows, advantages)
        weights = group_weights(kept, zero_variance=config.filters.zero_variance,
                                zero_variance_weight=config.filters.zero_variance_weight,
                                top_fraction=config.filters.top_fraction)
        for i, row in enumerate(rows):
            row.weight = weights[i]
            if reference is not None:
                row.ref_logprobs = reference[i].numpy()
            if old_values is not None:
                row.old_values = old_values[i].float().numpy()
        rows = [row for row in rows if row.weight > 0]
        metrics["filters/kept_trajectories"] = float(len(rows))
        metrics["filters/dropped_trajectories"] = float(len(kept) - len(rows))
        if self.value_head is not None and config.algorithm.whiten_advantages:
            _whiten(rows)
        return rows, advantages.flat_turns()

    def _update(self, rows: list[TrainingRow], step: int) -> dict[str, float]:
        config = self.config
        metrics: dict[str, float] = {}
        coef = self.entropy_band.coef if self.entropy_band is not None else None
        generator = torch.Generator().manual_seed(_derived_seed(config.run.seed, step, 2))
        started = time.perf_counter()
        smoothing = self.entropy_smoothing.term(step, config.run.steps) if self.entropy_smoothing is not None else None
        update = self.updater.update(rows, generator=generator, entropy_coef=coef, smoothing=smoothing)
        metrics["time/update_seconds"] = time.perf_counter() - started
        metrics.update({f"train/{k}": v for k, v in update.items()})
        if self.entropy_band is not None:
            metrics["loss/entropy_coef"] = coef
            if "entropy" in update:
                self.entropy_band.observe(update["entropy"])
        if self.entropy_smoothing is not None:
            metrics["loss/epo_weight"] = smoothing.weight if smoothing is not None else 0.0
            metrics["loss/epo_entropy_average"] = smoothing.average if smoothing is not None else math.nan
            if "entropy" in update:
                self.entropy_smoothing.observe(update["entropy"])
        if config.rollout.backend == "vllm":
            self.policy.load_weights(inference_weights(self.model))
        return metrics

    def _within_staleness(self, kept: list[Trajectory], step: int, metrics: dict[str, Any]) -> list[Trajectory]:
        """Asynchronous training: the trajectories whose lag behind the learner (at version
        ``step``) is within ``max_staleness``; the lags and the dropped count go to ``metrics``."""
        fresh, lags, dropped = drop_stale(kept, step, self.config.async_training.max_staleness)
        metrics["async/lag_mean"] = float(np.mean(lags)) if lags else 0.0
        metrics["async/lag_max"] = float(max(lags, default=0))
        metrics["async/stale_dropped"] = float(dropped)
        return fresh

    def _add_proximal_logprobs(self, kept: list[Trajectory], rows: list[TrainingRow], step: int,
                               metrics: dict[str, Any]) -> None:
        """The decoupled objective's proximal log-probs: the learner's (version ``step``, before
        this update) for rows another policy sampled -- an older version (a turn of the row
        has an older ``policy_versions`` entry, or the row is a replayed past success:
        ``[replay]``) or the policy with hints in its context
        (guidance: the row is the hinted episode rebuilt without them); a row this version
        sampled as it stands has them already (its sampling log-probs), and gets those."""
        stale = [row for row in rows if _sampled_by_another_policy(kept[row.source], step)]
        for row in rows:
            row.proximal_logprobs = row.old_logprobs.copy()
        if stale:
            started = time.perf_counter()
            scored = score_rows(self.model, stale, temperature=self.config.rollout.temperature,
                                token_budget=self.updater.token_budget,
                                autocast_dtype=self.autocast_dtype, loss_tokens_only=True,
                                attention=self.config.batching.attention)[0]
            for row, logprobs in zip(stale, scored):
                row.proximal_logprobs = np.where(row.loss_mask, logprobs.float().numpy(), 0.0).astype(np.float32)
            metrics["time/proximal_seconds"] = time.perf_counter() - started
        if self._async is not None:
            metrics["async/stale_rows"] = float(len(stale))

    def _replayed(self, kept: list[Trajectory], step: int, metrics: dict[str, Any]) -> list[Trajectory]:
        """Self-imitation replay (``[replay]``, :mod:`agentgym.train.replay`): for each group of
        ``kept``, its task's best stored successes that still beat the group's mean return, as
        copies marked with :data:`REPLAYED_KEY` and carrying their recalibrated advantage
        (``replay_advantage`` in their metadata)."""
        returns: dict[str, list[float]] = {}
        for trajectory in kept:
            if trajectory.group_id is not None:
                returns.setdefault(trajectory.group_id, []).append(trajectory.episode_return)
        replayed, rejected, ages = [], 0, []
        for group, group_returns in returns.items():
            for entry in self.replay.candidates(group, step, self.config.replay.max_replayed_per_group):
                advantage = recalibrated_advantage(entry.episode_return, group_returns)
                if advantage <= 0:  # the group does as well now: nothing left to imitate
                    rejected += 1
                    continue
                copy_ = dataclasses.replace(entry.trajectory, metadata={
                    **entry.trajectory.metadata, REPLAYED_KEY: entry.step, "replay_advantage": advantage})
                replayed.append(copy_)
                ages.append(step - entry.step)
        advantages = [t.metadata["replay_advantage"] for t in replayed]
        metrics["replay/replayed"] = float(len(replayed))
        metrics["replay/not_better"] = float(rejected)
        metrics["replay/advantage_mean"] = float(np.mean(advantages)) if advantages else math.nan
        metrics["replay/age_mean"] = float(np.mean(ages)) if ages else math.nan
        return replayed

    def _replay_rows(self, replayed: list[Trajectory], first_source: int) -> list[TrainingRow]:
        """The training rows of replayed trajectories: their recalibrated advantage on every
        generated token, weight 1 (the group filters judged the current group, not these),
        ``source`` counted from ``first_source`` (they follow the step's own trajectories)."""
        if not replayed:
            return []
        advantages = Advantages.broadcast(replayed, [[t.metadata["replay_advantage"]] * len(t.turns)
                                                     for t in replayed])
        rows = training_rows(replayed, advantages, on_untrainable="error", vision=self.vision)[0]
        reference = self._reference_logprobs(rows) if self.config.loss.kl_coef > 0 else None
        for i, row in enumerate(rows):
            row.source = first_source + i
            if reference is not None:
                row.ref_logprobs = reference[i].numpy()
        return rows

    def _any_sampled_elsewhere(self, trajectories: Sequence[Trajectory], step: int) -> bool:
        """Whether the step trains on tokens another policy sampled (asynchronous training, replay,
        guidance): then every row is scored with the current weights (the proximal log-probs of the
        decoupled objective). Under torch.distributed, whether any process does (every process
        calls this at every step): the objective, and so the update, is then the same whichever
        process holds the hinted rows -- the run of one process playing every task."""
        elsewhere = self._async is not None or any(_sampled_by_another_policy(t, step) for t in trajectories)
        return any(gather(elsewhere)) if is_distributed() else elsewhere

    def _play_hinted(self, tasks: list[Task], level: int, step: int) -> list[Trajectory]:
        """Guidance: play ``tasks`` as step ``step``'s rollout, with hints of ``level``."""
        config = self._rollout_config(step)
        config = dataclasses.replace(config, wrappers=(*config.wrappers, WrapperSpec("Hinted", {"level": level})))
        played = self._rollout(tasks, config, f"step {step + 1} guidance (hints at level {level})")
        cache = getattr(self.policy, "prefix_cache", None)
        if cache is not None:  # as after the step's rollout: stale once the update changes the weights
            cache.clear()
        return played.trajectories

    def _trainable(self, trajectories: Sequence[Trajectory], metrics: dict[str, Any]) -> list[Trajectory]:
        kept, refused = [], 0
        for index, trajectory in enumerate(trajectories):
            reason = check_trainable(trajectory, self.vision)
            if reason is None:
                kept.append(trajectory)
                continue
            if self.config.rollout.on_untrainable == "error":
                raise NotTrainable(f"trajectory {index} ({trajectory.group_id}): {reason}")
            refused += 1
        metrics["rollout/untrainable"] = float(refused)
        return kept

    def _why_untrainable(self, trajectories: Sequence[Trajectory]) -> str:
        """For the warning of a step with no rows: how many episodes were untrainable and the
        first one's reason, else that every row was filtered out."""
        reasons = [reason for t in trajectories if (reason := check_trainable(t, self.vision)) is not None]
        if not reasons:
            return " (none trainable, or all filtered out)"
        return f": {len(reasons)} of {len(trajectories)} episodes untrainable (first: {reasons[0]})"

    def _reference_logprobs(self, rows: list[TrainingRow]) -> list[torch.Tensor]:
        kwargs = dict(temperature=self.config.rollout.temperature, token_budget=self.updater.token_budget,
                      autocast_dtype=self.autocast_dtype, attention=self.config.batching.attention)
        if self.reference is not None:
            return score_rows(self.reference, rows, **kwargs)[0]
        with self.model.disable_adapter():  # LoRA: the base model is the reference
            return score_rows(self.model, rows, **kwargs)[0]

    # ------------------------------------------------------------------ tasks, eval
    def tasks_for(self, step: int) -> list[Task]:
        """The step's tasks: the curriculum's proposal (``[curriculum]``), else distinct seeds
        drawn from ``env.train_seeds`` by (seed, step)."""
        if self.curriculum is not None:
            return self.curriculum.propose(step, self.config.env.tasks_per_step)
        start, stop = self.config.env.train_seeds
        rng = np.random.default_rng([self.config.run.seed, step])
        picks = rng.choice(stop - start, size=self.config.env.tasks_per_step, replace=False)
        return [Task(self.config.env.id, seed=int(start + pick), kwargs=dict(self.config.env.kwargs)) for pick in picks]

    def evaluate(self, seeds: Sequence[int] | None = None) -> dict[str, float]:
        """Success and mean return on held-out seeds (``eval.first_seed`` onward), greedy or
        sampled with the same seeds every time (``[eval]``). Under ``torch.distributed`` each
        process plays its share of the seeds and every process returns the figures of all.
        Episodes that ended with an error are scored as failures, counted (``eval/errors``)
        and named in a warning with the first error."""
        config = self.config
        if seeds is None:
            seeds = range(config.eval.first_seed, config.eval.first_seed + config.eval.tasks)
        rank, world = rank_and_world()
        tasks = [Task(config.env.id, seed=int(s), kwargs=dict(config.env.kwargs)) for s in list(seeds)[rank::world]]
        sampling = SamplingParams(max_tokens=config.rollout.max_tokens, temperature=config.eval.temperature,
                                  top_p=config.rollout.top_p if config.eval.temperature else 1.0,
                                  seed=_derived_seed(config.run.seed, 0, 3))
        rollout_config = RolloutConfig(sampling=sampling, group_size=config.eval.samples,
                                       max_turns=config.max_turns_at(self.step), system_prompt=self._system_prompt(),
                                       max_concurrent_episodes=config.rollout.max_concurrent_episodes,
                                       max_batch_size=config.model.max_batch_size, **self._env_options())
        self.model.eval()
        label = f"eval after step {self.step}" if self.step else "eval before training"
        trajectories = self._rollout(tasks, rollout_config, label).trajectories
        errors = [t.error for t in trajectories if t.error is not None]
        shares = gather((episode_records(trajectories), errors))
        records = [record for share, _ in shares for record in share]
        errors = [error for _, share in shares for error in share]
        if errors and rank == 0:
            warnings.warn(f"{label}: {len(errors)} of {len(records)} episodes ended with an error (scored as "
                          f"failures); first: {errors[0]}", stacklevel=2)
        episodes = episode_metrics(records)
        return {"eval/success": episodes["success/train"], "eval/reward": episodes["reward/mean"],
                "eval/turns": episodes["rollout/turns"], "eval/episodes": episodes["rollout/episodes"],
                "eval/errors": float(len(errors))}

    def _rollout(self, tasks: Sequence[Task], rollout_config: RolloutConfig, label: str) -> RolloutResult:
        """Play ``tasks`` with the rollout policy, reporting progress while :meth:`train` runs
        (:class:`~agentgym.rollout.progress.RolloutProgress`; silent otherwise)."""
        if self._progress_console is None:
            return rollout(self.policy, tasks, rollout_config, progress=False)
        with RolloutProgress(label, len(tasks) * rollout_config.group_size, self._progress_console) as progress:
            return rollout(self.policy, tasks, rollout_config, progress=progress)

    def _env_options(self) -> dict[str, Any]:
        """The rollout options that say how environments are built and where they run: the
        ``[env]`` wrappers, and one runtime for the whole run (started at its first rollout,
        closed when :meth:`train` ends), so a Ray pool's actors live as long as the run."""
        if self._env_runtime is None:
            env = self.config.env
            runtime = as_runtime(env.runtime)
            if isinstance(runtime, RayRuntime):
                runtime.num_workers = env.ray_workers
            runtime.start()
            self._env_runtime = runtime
        return {"wrappers": [WrapperSpec.from_data(w) for w in self.config.env.wrappers],
                "env_runtime": self._env_runtime}

    def close_env_runtime(self) -> None:
        """Release the environments' runtime (a Ray pool's actors); idempotent."""
        runtime, self._env_runtime = self._env_runtime, None
        if runtime is not None:
            runtime.close()

    def _system_prompt(self) -> str | None:
        prompt = self.config.rollout.system_prompt
        return DEFAULT_SYSTEM_PROMPT if prompt is None else (prompt or None)

    # ---------------------------------------------------------------- checkpoints
    def save_checkpoint(self) -> Path:
        state = {
            "model": trainable_state(self.model),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng": rng_state(),
        }
        if self.value_head is not None:
            state["value_head"] = self.value_head.state_dict()
        if self.entropy_band is not None:
            state["entropy_band"] = self.entropy_band.state_dict()
        if self.entropy_smoothing is not None:
            state["entropy_smoothing"] = self.entropy_smoothing.state_dict()
        if self.curriculum is not None:
            state["curriculum"] = self.curriculum.state_dict()
        if self.guide is not None:
            state["hint_ladder"] = self.guide.ladder.state()
        if self.replay is not None:
            state["replay"] = self.replay.state()
        return save_checkpoint(self.out_dir, self.step, state, self._portable_config(), self.history,
                               keep_last=self.config.checkpoint.keep_last)

    def _portable_config(self) -> dict[str, Any]:
        """The configuration a checkpoint records, with a ``model.path`` naming a local folder made
        absolute: a relative one (``models/mine``) would otherwise be read from the directory
        ``--resume`` runs in, or taken for a hub name there."""
        config = self.config.to_dict()
        path = config.get("model", {}).get("path")
        if isinstance(path, str) and Path(path).expanduser().is_dir():
            config["model"]["path"] = str(Path(path).expanduser().resolve())
        return config

    def load_state(self, path: str | Path) -> None:
        """Continue from a checkpoint of this configuration (weights, optimizer, scheduler,
        RNG states, step, history)."""
        checkpoint = load_checkpoint(path)
        state = checkpoint.state
        load_trainable_state(self.model, state["model"])
        if self.value_head is not None:
            if "value_head" not in state:
                raise ValueError(f"the checkpoint {checkpoint.path} has no value head (it was saved by a run "
                                 f"without one), which algorithm.name = {self.config.algorithm.name!r} needs: "
                                 "resume it with the algorithm it was trained with")
            self.value_head.load_state_dict(state["value_head"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self._apply_optimizer_settings()
        if self.entropy_band is not None and "entropy_band" in state:
            self.entropy_band.load_state_dict(state["entropy_band"])
        if self.entropy_smoothing is not None and "entropy_smoothing" in state:
            self.entropy_smoothing.load_state_dict(state["entropy_smoothing"])
        if self.curriculum is not None and "curriculum" in state:
            self.curriculum.load_state_dict(state["curriculum"])
        if self.guide is not None and "hint_ladder" in state:
            self.guide.ladder.load_state(state["hint_ladder"])
        if self.replay is not None and "replay" in state:
            self.replay.load_state(state["replay"])
        set_rng_state(state["rng"])
        self.step = checkpoint.step
        self.history = [record for record in checkpoint.history if record["step"] <= self.step]
        if self.config.rollout.backend == "vllm":
            self.policy.load_weights(inference_weights(self.model))

    def _apply_optimizer_settings(self) -> None:
        """Give the optimizer this configuration's settings after loading a saved state, which
        brings the saved run's (a learning rate set on resume would otherwise be ignored): AdamW's
        betas, eps and weight decay, and the learning rate at the schedule's current step."""
        opt = self.config.optimizer
        self.scheduler.base_lrs = [opt.lr] * len(self.optimizer.param_groups)
        factors = [factor(self.scheduler.last_epoch) for factor in self.scheduler.lr_lambdas]
        for group, factor in zip(self.optimizer.param_groups, factors):
            group.update(initial_lr=opt.lr, lr=opt.lr * factor, betas=tuple(opt.betas), eps=opt.eps,
                         weight_decay=opt.weight_decay)
        self.scheduler._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    @classmethod
    def resume(cls, path: str | Path, *, overrides: dict[str, Any] | None = None, config: TrainConfig | None = None,
               **kwargs: Any) -> Trainer:
        """A trainer continuing the checkpoint at ``path`` (a checkpoint, or a run folder: its
        latest). The configuration is the checkpoint's (or ``config``), with ``overrides``.
        The saved state is read once, after the model is built."""
        folder = resolve_checkpoint(path)
        if config is None:
            config = TrainConfig.from_dict(merge(checkpoint_config(folder), overrides or {}))
        elif overrides:
            config = TrainConfig.from_dict(merge(config.to_dict(), overrides))
        trainer = cls(config, **kwargs)
        trainer.load_state(folder)
        return trainer

    def _finish(self, logger: MetricsLogger) -> None:
        config = self.config
        if config.checkpoint.save_final:
            final = self.out_dir / "final"
            with quiet_transformers():  # no "Writing model shards" bar
                self.model.save_pretrained(final)
                self.tokenizer.save_pretrained(final)
            if self.value_head is not None:
                torch.save(self.value_head.state_dict(), final / "value_head.pt")
        if config.logging.plot:
            try:
                from agentgym.train.plots import plot_curves

                decoding = f"T={config.eval.temperature:g}" if config.eval.temperature else "greedy"
                path = plot_curves(self.history, self.out_dir / "curves.png", eval_label=f"eval ({decoding}, held-out)")
                logger.message(f"curves: {path}")
            except ModuleNotFoundError:
                logger.message("note: matplotlib is not installed; no curves plotted (pip install matplotlib)")


# ---------------------------------------------------------------------- helpers
def _derived_seed(seed: int, step: int, purpose: int) -> int:
    """A seed for one purpose (1: sampling, 2: shuffling, 3: evaluation's sampling) at one step."""
    return int(np.random.default_rng([seed, step, purpose]).integers(2**31 - 1))


def _hidden_size(model: Any) -> int:
    config = model.config
    size = getattr(config, "hidden_size", None) or getattr(getattr(config, "text_config", None), "hidden_size", None)
    if size is None:
        raise ValueError("cannot find the model's hidden size for the value head")
    return int(size)


def _turn_kl(trajectories: Sequence[Trajectory], rows: Sequence[TrainingRow], reference: Sequence[torch.Tensor],
             estimator: str) -> list[list[float]]:
    """Per turn, the summed KL estimate of its tokens (sampling log-probs vs the reference)."""
    penalties = []
    for trajectory, row, ref in zip(trajectories, rows, reference):
        kl = kl_divergence(torch.from_numpy(row.old_logprobs).double(), ref.double(), estimator).numpy()
        penalties.append([float(kl[turn.action_span[0]:turn.action_span[1]].sum()) for turn in trajectory.turns])
    return penalties


def _sampled_by_another_policy(trajectory: Trajectory, step: int) -> bool:
    """Whether a policy other than the learner's version ``step`` sampled ``trajectory``'s tokens:
    an older version (asynchronous training: a turn's ``policy_versions`` entry is older; replay:
    a past success), or the policy with hints in its context (guidance)."""
    versions = trajectory.metadata.get("policy_versions") or [step]
    return (bool(trajectory.metadata.get("hints_stripped")) or REPLAYED_KEY in trajectory.metadata
            or min(versions) < step)


def _whiten(rows: Sequence[TrainingRow]) -> None:
    """Advantages minus their mean over every masked token, divided by their std (+ eps)."""
    values = np.concatenate([row.advantages[row.loss_mask] for row in rows]) if rows else np.zeros(0)
    if values.size < 2:
        return
    mean, std = float(values.mean()), float(values.std())
    for row in rows:
        row.advantages = np.where(row.loss_mask, (row.advantages - mean) / (std + DEFAULT_EPS), 0.0).astype(np.float32)
