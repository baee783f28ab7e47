"""Supervised fine-tuning on agent trajectories (behaviour cloning): a warm start before RL.

Sparse-reward agent tasks often give a fresh model no successful rollout to learn from;
WebAgent-R1 and others first clone a good agent's behaviour, then run RL from there::

    demos = demonstrations(tokenizer, "games/Wordle-v0", seeds=range(64))   # the oracle's wins, token-exact
    history = fine_tune(model, demos, SFTSettings(epochs=3, lr=1e-4))
    model.save_pretrained("runs/wordle-sft")        # then: agentgym train --set model.path=runs/wordle-sft

(``agentgym sft`` does the same from the command line.)

**Demonstrations** come from any policy: the environment's oracle by default, a scripted
agent, a hosted model. Its text replies are turned into the student's tokens by
:class:`~agentgym.policies.teacher_forced.TeacherForcedPolicy`, so the rollout engine records
them as token-exact trajectories, with the student's own chat template and the same system
prompt an RL run uses (``system_prompt``; keep the two equal). Recorded token-exact
trajectories (a JSONL file of an HF or vLLM agent's rollouts) serve as they are.

**The loss** is the negative log-likelihood of the agent's tokens only (the trajectories' loss
mask: replies, never prompts or observations), averaged over all of them::

    L = -(1 / N) * sum over reply tokens t of log pi(x_t | x_<t)

computed by :class:`~agentgym.train.update.PolicyUpdater` with ``objective="nll"`` and every
advantage 1, so packing, micro-batching, gradient clipping and distributed training are those
of the RL update.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Literal, Sequence

import torch

from agentgym.credit import Advantages
from agentgym.policies.base import Policy, SamplingParams
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.trajectory import Trajectory
from agentgym.train.batching import training_rows
from agentgym.train.packed_attention import ATTENTION_CHOICES, AttentionChoice
from agentgym.train.update import PolicyUpdater, UpdateSettings, check_max_grad_norm, check_token_budget
from agentgym.wrappers.chat_history import DEFAULT_SYSTEM_PROMPT


@dataclass(frozen=True)
class SFTSettings:
    """How :func:`fine_tune` trains.

    Attributes:
        epochs: passes over the demonstrations.
        lr: AdamW's learning rate (constant).
        rows_per_step: trajectories per optimizer step at most (a pass is cut into steps of near-equal
            size: 17 rows at 16 per step are steps of 9 and 8).
        micro_batch_tokens: the token budget of one forward/backward pass, or ``"auto"`` (sized
            from the device's free memory: :func:`~agentgym.train.update.resolve_token_budget`).
        max_grad_norm: gradient clipping, a positive number (``None``: none).
        weight_decay: AdamW's weight decay.
        seed: the shuffling of the rows at each pass.
        attention: ``auto``, ``packed`` or ``model`` (:class:`~agentgym.train.update.UpdateSettings`).
    """

    epochs: int = 2
    lr: float = 1e-5
    rows_per_step: int = 16
    micro_batch_tokens: int | Literal["auto"] = "auto"
    max_grad_norm: float | None = 1.0
    weight_decay: float = 0.0
    seed: int = 0
    attention: AttentionChoice = "auto"

    def __post_init__(self) -> None:
        for name in ("epochs", "rows_per_step"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"SFTSettings.{name} must be a positive integer, got {value!r}")
        check_token_budget(self.micro_batch_tokens, "SFTSettings.micro_batch_tokens")
        check_max_grad_norm(self.max_grad_norm, "SFTSettings.max_grad_norm")
        if self.attention not in ATTENTION_CHOICES:
            raise ValueError(f"SFTSettings.attention must be one of {', '.join(ATTENTION_CHOICES)}, "
                             f"got {self.attention!r}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"SFTSettings.lr must be a positive number, got {self.lr!r}")


def demonstrations(tokenizer: Any, env_id: str, seeds: Sequence[int], *, agent: Policy | None = None,
                   env_kwargs: dict[str, Any] | None = None, max_turns: int | None = None,
                   system_prompt: str | None = DEFAULT_SYSTEM_PROMPT, only_successful: bool = True,
                   progress: bool = False) -> list[Trajectory]:
    """Token-exact episodes of ``agent`` (default: the environment's oracle) in ``env_id``, one
    per seed, in the student's tokens (module docstring); with ``only_successful`` the failed
    ones are left out. Episodes left out for an error (an environment without an oracle...) or
    for not being token-exact (the student's tokenizer does not reproduce the agent's text) are
    each announced by a ``UserWarning`` that says how many and why."""
    from agentgym.policies.scripted import OraclePolicy
    from agentgym.policies.teacher_forced import TeacherForcedPolicy

    teacher = TeacherForcedPolicy(agent if agent is not None else OraclePolicy(), tokenizer)
    config = RolloutConfig(max_turns=max_turns, system_prompt=system_prompt,
                           sampling=SamplingParams(temperature=0.0, max_tokens=1024))
    tasks = [Task(env_id, int(seed), dict(env_kwargs or {})) for seed in seeds]
    trajectories = rollout(teacher, tasks, config, progress=progress).trajectories
    _warn_left_out(trajectories, env_id)
    return [t for t in trajectories if t.token_exact and t.error is None and (t.success or not only_successful)]


def _warn_left_out(trajectories: Sequence[Trajectory], env_id: str) -> None:
    """Warn of the demonstration episodes left out for a reason other than failing the task."""
    errors = [t.error for t in trajectories if t.error is not None]
    if errors:
        warnings.warn(f"{env_id}: {len(errors)} of {len(trajectories)} demonstration episodes failed with an "
                      f"error and are left out (first: {errors[0]})", stacklevel=3)
    inexact = sum(t.error is None and not t.token_exact for t in trajectories)
    if inexact:
        warnings.warn(f"{env_id}: {inexact} of {len(trajectories)} demonstration episodes are left out: not "
                      "token-exact (the student's tokenizer does not reproduce the agent's text)", stacklevel=3)


def fine_tune(model: Any, trajectories: Sequence[Trajectory], settings: SFTSettings | None = None, *,
              on_epoch: Callable[[dict[str, float]], None] | None = None) -> list[dict[str, float]]:
    """Fine-tune ``model`` in place on the trajectories' reply tokens (module docstring);
    returns one metrics dict per epoch (``nll``: the mean loss over the epoch's tokens,
    ``optimizer_steps``, ``grad_norm``...). Text-only trajectories are skipped; none left, or
    none with a reply token to learn, is a ``ValueError``."""
    settings = settings or SFTSettings()
    given = len(trajectories)
    trajectories = [t for t in trajectories if t.token_ids is not None]
    ones = Advantages.broadcast(trajectories, [[1.0] * len(t.turns) for t in trajectories])
    rows, report = training_rows(trajectories, ones, on_untrainable="skip")
    if not rows:
        reasons = sorted(set(report.skipped.values()))[:3]
        if given > len(trajectories):
            reasons.insert(0, f"{given - len(trajectories)} have no token ids: recorded by a text-only policy")
        raise ValueError(f"no trainable demonstration among {given} trajectories"
                         + (f" ({'; '.join(reasons)})" if reasons else ""))
    if not any(row.num_loss_tokens for row in rows):  # the loss would be empty: nothing to clone
        raise ValueError(f"no trainable demonstration among {given} trajectories: the {len(rows)} token-exact "
                         "ones hold no reply token (every turn's action span is empty)")
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=settings.lr, weight_decay=settings.weight_decay)
    updater = PolicyUpdater(model, optimizer, UpdateSettings(
        epochs=1, mini_batches=max(1, math.ceil(len(rows) / settings.rows_per_step)),
        micro_batch_tokens=settings.micro_batch_tokens, max_grad_norm=settings.max_grad_norm, objective="nll",
        attention=settings.attention))
    generator = torch.Generator().manual_seed(settings.seed)
    history = []
    for epoch in range(settings.epochs):
        metrics = updater.update(rows, generator=generator)
        record = {"epoch": float(epoch + 1), "nll": metrics["policy_loss"], "rows": float(len(rows)),
                  **{key: value for key, value in metrics.items()
                     if key in ("optimizer_steps", "grad_norm", "train_tokens", "micro_batch_tokens")}}
        history.append(record)
        if on_epoch is not None:
            on_epoch(record)
    return history
