"""agentgym environments in TRL's ``GRPOTrainer``, token-exact, through its ``rollout_func`` hook.

    from trl import GRPOConfig, GRPOTrainer
    from agentgym.integrations.trl import agentgym_rollout

    rollout = agentgym_rollout("games/GuessTheNumber-v0", env_kwargs={"difficulty": "easy"},
                               max_turns=8, max_tokens_per_turn=16)
    trainer = GRPOTrainer(model=model, processing_class=tokenizer,
                          rollout_func=rollout, reward_funcs=rollout.reward_func,
                          train_dataset=rollout.dataset(seeds=range(512)),
                          args=GRPOConfig(num_generations=8, max_steps=100, ...))
    trainer.train()

TRL (1.16) calls ``rollout_func(prompts, trainer)`` with the prompts of this process's batch,
each dataset row repeated ``num_generations`` times, and takes back a dict with one entry per
prompt: ``prompt_ids``, ``completion_ids``, ``logprobs`` and, optionally, ``env_mask`` (1 on the
completion tokens the loss trains on); every other key is handed to the reward functions as a
keyword argument. :class:`AgentgymRollout` fills them from real agentgym episodes:

- each prompt names a task (:func:`~agentgym.integrations.episodes.task_prompt`; build the
  dataset with :meth:`AgentgymRollout.dataset` or :func:`agentgym_dataset`); equal prompts are
  one GRPO group, played with the same environment seed and different sampling seeds;
- the trainer's own model plays them (unwrapped as TRL unwraps it for generation, in eval mode,
  its training mode restored afterwards) through agentgym's
  :class:`~agentgym.policies.hf.HFPolicy` and rollout engine, so every turn's prompt is the exact
  token sequence of the conversation so far (DESIGN.md, invariant 1);
- ``prompt_ids`` is the first prompt's tokens; ``completion_ids`` every later token of the
  episode, the model's sampled actions and the environment's observations in turn; ``env_mask``
  is 1 exactly on the sampled action tokens; ``logprobs`` are their sampling log-probs (0 on
  observation tokens) -- see :class:`~agentgym.integrations.episodes.TokenEpisode`;
- ``agentgym_return`` (the episode's return, the sum of its turns' rewards; ``None`` for an
  episode that failed or is not token-exact, which TRL leaves out of the group's baseline),
  ``agentgym_success`` and ``agentgym_trajectory`` (the :class:`~agentgym.Trajectory`) go to the
  reward functions; :func:`env_return` (also ``rollout.reward_func``) is the reward function
  that passes the return on.

Sampling follows the trainer's ``temperature`` and ``top_p``; settings agentgym's sampler does not
implement (``top_k``, ``min_p``, ``repetition_penalty``, ``generation_kwargs``) are refused rather
than ignored, and so is ``chat_template_kwargs`` (agentgym renders each turn with the tokenizer's
chat template as it is). Each call samples with a seed derived from ``args.seed``, the call's number and the
process index, so a run is reproducible and no two steps repeat each other's samples. A
generation back-end other than the trainer's model (a vLLM engine, a server whose weights you
sync) plugs in as ``policy_factory(trainer) -> Policy``: it must return token ids (a policy with
a ``tokenizer``).

The last call's trajectories stay in :attr:`AgentgymRollout.last_trajectories` (for logging or
inspection). Nothing here imports TRL: the hook only duck-types the trainer.
"""

from __future__ import annotations

import contextlib
import warnings
from collections import Counter
from typing import Any, Callable, Iterable, Sequence

import gymnasium as gym

from agentgym.core import is_int
from agentgym.integrations.episodes import TokenEpisode, play, task_from_prompt, task_prompt
from agentgym.policies.base import Policy, SamplingParams
from agentgym.rollout import RolloutConfig, Task
from agentgym.trajectory import Trajectory
from agentgym.wrappers.chat_history import DEFAULT_SYSTEM_PROMPT
from agentgym.wrappers.specs import WrapperSpec

__all__ = ["AgentgymRollout", "agentgym_dataset", "agentgym_rollout", "env_return"]

#: GRPOConfig settings agentgym's sampler does not implement, with the value that means "off".
_UNSUPPORTED_SAMPLING = {"top_k": (0, None), "min_p": (None, 0, 0.0), "repetition_penalty": (1.0, None),
                         "generation_kwargs": (None, {})}


def env_return(completions: Sequence[Any], agentgym_return: Sequence[float | None], **kwargs: Any) -> list[float | None]:
    """TRL reward function: each episode's return as agentgym computed it (``None`` for an
    episode that cannot be trained on)."""
    return list(agentgym_return)


def agentgym_dataset(tasks: Iterable[Task]):
    """A ``datasets.Dataset`` with one ``prompt`` per task (see
    :func:`~agentgym.integrations.episodes.task_prompt`), for ``GRPOTrainer(train_dataset=...)``."""
    from datasets import Dataset

    prompts = [task_prompt(task) for task in tasks]
    if not prompts:
        raise ValueError("agentgym_dataset needs at least one task")
    return Dataset.from_dict({"prompt": prompts})


class AgentgymRollout:
    """TRL's ``rollout_func``: plays agentgym episodes; see the module docstring.

    Args:
        env_id: the environment of :meth:`dataset` (a prompt may name any registered one).
        env_kwargs: its constructor arguments (``difficulty``, ``dense_reward``...): a dict
            whose names the constructor takes (checked here, without making the environment:
            a ``ValueError`` -- a ``ConfigError`` for a name -- rather than every episode failing).
        wrappers: wrappers inside the turn budget (``AnswerFormat``, ``ToolCalling``... or
            :class:`~agentgym.wrappers.specs.WrapperSpec`), as in ``RolloutConfig``: a list (one
            wrapper alone is a ``ValueError``).
        max_turns: turn budget per episode (``None``: the environment's registered budget).
        max_tokens_per_turn: the most tokens the model generates per turn (``None``: the
            trainer's ``max_completion_length``). It and the two below are positive integers
            or ``None`` (anything else is a ``ValueError`` naming it).
        system_prompt: the system message (``None`` leaves it out).
        max_concurrent_episodes / max_batch_size: how many episodes run at once and the most
            requests per forward pass (``None``: the whole batch).
        policy_factory: ``policy_factory(trainer) -> Policy`` to generate with something other
            than the trainer's model (a callable: anything else is a ``ValueError`` here); the
            policy must work on tokens. It is called at every rollout call and what it returns
            is never closed here: return one long-lived policy (syncing its weights as you
            need), not a new engine or client each step.
        env_runtime: where environments run (``"thread"``, ``"process"``, ``"ray"``, a server URL).
        step_timeout: seconds an environment call may take.
    """

    def __init__(self, env_id: str, *, env_kwargs: dict[str, Any] | None = None,
                 wrappers: Sequence[Callable[[gym.Env], gym.Env]] = (), max_turns: int | None = None,
                 max_tokens_per_turn: int | None = None, system_prompt: str | None = DEFAULT_SYSTEM_PROMPT,
                 max_concurrent_episodes: int | None = None, max_batch_size: int | None = None,
                 policy_factory: Callable[[Any], Policy] | None = None, env_runtime: Any = "thread",
                 step_timeout: float | None = 60.0) -> None:
        from agentgym.registry import check_env_kwargs
        from agentgym.runtime.worker import checked_count

        if env_kwargs is not None and not isinstance(env_kwargs, dict):
            raise ValueError(f"env_kwargs must be a dict of the environment's constructor arguments or None, "
                             f"got {env_kwargs!r}")
        # an unknown id (with suggestions) or argument name fails here, not in every episode
        check_env_kwargs(env_id, dict(env_kwargs or {}))
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs or {})
        # checked here, by their own names: a 0 would otherwise silently mean "the default"
        self.max_tokens_per_turn = checked_count("max_tokens_per_turn", max_tokens_per_turn, allow_none=True)
        self.max_concurrent_episodes = checked_count("max_concurrent_episodes", max_concurrent_episodes,
                                                     allow_none=True)
        self.max_batch_size = checked_count("max_batch_size", max_batch_size, allow_none=True)
        if policy_factory is not None and not callable(policy_factory):
            raise ValueError(f"policy_factory must be a callable policy_factory(trainer) -> Policy (called at "
                             f"every rollout call), got {policy_factory!r}")
        self.policy_factory = policy_factory
        if isinstance(wrappers, (str, WrapperSpec)) or not isinstance(wrappers, Iterable):
            raise ValueError(f"wrappers must be a list of wrappers (wrapper classes, callables or WrapperSpec), "
                             f"got {wrappers!r}")
        # Checked now (a bad option fails at construction), completed per call.
        self._config = RolloutConfig(max_turns=max_turns, system_prompt=system_prompt, wrappers=tuple(wrappers),
                                     env_runtime=env_runtime, step_timeout=step_timeout,
                                     sampling=SamplingParams(max_tokens=max_tokens_per_turn or 1))
        self.calls = 0
        self.last_trajectories: list[Trajectory] = []
        self.reward_func = env_return

    def dataset(self, seeds: Iterable[int]):
        """A dataset of this rollout's environment, one task per seed (integers: a float or a
        string is a ``ValueError``, not rounded into another task's seed; so is ``seeds`` itself
        when it is not an iterable of them: ``range(512)``, not ``512``)."""
        if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Iterable):
            raise ValueError(f"seeds must be an iterable of integers (e.g. range(512)), got {seeds!r}")
        return agentgym_dataset(Task(self.env_id, _integer_seed(seed), dict(self.env_kwargs)) for seed in seeds)

    def __call__(self, prompts: list[Any], trainer: Any) -> dict[str, list[Any]]:
        tasks = [task_from_prompt(prompt) for prompt in prompts]
        args = trainer.args
        tokenizer = _tokenizer(trainer)
        config = self._rollout_config(args, trainer, len(tasks))
        self.calls += 1
        with _generation_model(trainer) as model:
            policy = self._policy(trainer, model, tokenizer, len(tasks))
            try:
                trajectories = play(policy, tasks, config)
            finally:
                if self.policy_factory is None:
                    policy.close()
        self.last_trajectories = trajectories
        placeholder = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.pad_token_id
        episodes = [TokenEpisode.from_trajectory(t, placeholder) for t in trajectories]
        if episodes and not any(e.trainable for e in episodes):
            _warn_nothing_to_learn(episodes)
        return {
            "prompt_ids": [e.prompt_ids for e in episodes],
            "completion_ids": [e.completion_ids for e in episodes],
            "logprobs": [e.logprobs for e in episodes],
            "env_mask": [e.completion_mask for e in episodes],
            "agentgym_return": [e.reward for e in episodes],
            "agentgym_success": [e.trajectory.success for e in episodes],
            "agentgym_trajectory": trajectories,
        }

    # ------------------------------------------------------------------ helpers
    def _rollout_config(self, args: Any, trainer: Any, batch: int) -> RolloutConfig:
        for name, off in _UNSUPPORTED_SAMPLING.items():
            value = getattr(args, name, None)
            if value not in off:
                raise ValueError(f"GRPOConfig.{name}={value!r}: agentgym's sampler has no {name}; leave it at its "
                                 f"default to train with agentgym_rollout")
        template_kwargs = getattr(args, "chat_template_kwargs", None)
        if template_kwargs:
            raise ValueError(f"GRPOConfig.chat_template_kwargs={template_kwargs!r}: agentgym renders each turn with "
                             f"the tokenizer's chat template as it is and would ignore them; leave them unset (set "
                             f"the template itself, processing_class.chat_template) to train with agentgym_rollout")
        max_tokens = self.max_tokens_per_turn or getattr(args, "max_completion_length", None) or 256
        process = getattr(getattr(trainer, "accelerator", None), "process_index", 0)
        seed = (int(getattr(args, "seed", 0)) * 1_000_003 + self.calls * 7_919 + process) % (2**31 - 1)
        sampling = SamplingParams(max_tokens=max_tokens, temperature=float(args.temperature),
                                  top_p=float(args.top_p), seed=seed)
        return RolloutConfig(**{**{f: getattr(self._config, f) for f in ("max_turns", "system_prompt", "wrappers",
                                                                          "env_runtime", "step_timeout")},
                                "sampling": sampling,
                                "max_concurrent_episodes": self.max_concurrent_episodes or max(batch, 1),
                                "max_batch_size": self.max_batch_size or max(batch, 1)})

    def _policy(self, trainer: Any, model: Any, tokenizer: Any, batch: int) -> Policy:
        if self.policy_factory is not None:
            policy = self.policy_factory(trainer)
            if getattr(policy, "tokenizer", None) is None:
                raise ValueError(f"policy_factory returned {getattr(policy, 'name', policy)!r}, which works on text: "
                                 "TRL trains on tokens, so the policy must return token ids (have a tokenizer)")
            return policy
        from agentgym.policies.hf import HFPolicy

        return HFPolicy(model, tokenizer, max_batch_size=self.max_batch_size or max(batch, 1), name="trl-policy")


def _integer_seed(seed: Any) -> int:
    if not is_int(seed):
        raise ValueError(f"seeds must be integers, got {seed!r}")
    return int(seed)


def agentgym_rollout(env_id: str, **options: Any) -> AgentgymRollout:
    """An :class:`AgentgymRollout` for ``GRPOTrainer(rollout_func=...)``; see its arguments."""
    return AgentgymRollout(env_id, **options)


def _warn_nothing_to_learn(episodes: Sequence[TokenEpisode]) -> None:
    """Warn that no episode of a step can be trained on (every one a placeholder of mask 0, so
    the step's update learns nothing), with the commonest reasons and how often each came."""
    reasons = Counter(str(e.reason) for e in episodes).most_common(3)
    said = "; ".join(f"{reason} ({count}x)" for reason, count in reasons)
    warnings.warn(f"agentgym_rollout: none of the {len(episodes)} episodes of this step can be trained on, so the "
                  f"step learns nothing: {said}", UserWarning, stacklevel=3)


def _tokenizer(trainer: Any) -> Any:
    tokenizer = getattr(trainer, "processing_class", None)
    if tokenizer is None:
        raise ValueError("the trainer has no processing_class (tokenizer)")
    if getattr(tokenizer, "image_processor", None) is not None:
        raise ValueError("agentgym_rollout plays text environments with a tokenizer; got a multimodal processor")
    if getattr(tokenizer, "chat_template", None) is None:
        raise ValueError("the tokenizer has no chat template: agentgym renders each turn's conversation with it")
    return tokenizer


@contextlib.contextmanager
def _generation_model(trainer: Any):
    """The trainer's model ready to generate (unwrapped as TRL does for its own generation:
    DeepSpeed ZeRO-3 parameters gathered), its training mode restored afterwards."""
    from agentgym.train.model_setup import without_checkpointing_deprecation

    model = getattr(trainer, "model", None)
    was_training = bool(getattr(model, "training", False))
    unwrap = contextlib.nullcontext(model)
    wrapped, accelerator = getattr(trainer, "model_wrapped", None), getattr(trainer, "accelerator", None)
    if wrapped is not None and accelerator is not None:
        from trl.models import unwrap_model_for_generation

        unwrap = unwrap_model_for_generation(
            wrapped, accelerator, gather_deepspeed3_params=getattr(trainer.args, "ds3_gather_for_generation", True),
            gradient_checkpointing_kwargs=getattr(trainer.args, "gradient_checkpointing_kwargs", None))
    try:
        with without_checkpointing_deprecation(), unwrap as unwrapped:
            yield unwrapped
    finally:
        if model is not None:
            model.train(was_training)
