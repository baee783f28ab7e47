"""agentgym environments in verl's agent loop (verl 0.9: ``verl.experimental.agent_loop``).

verl runs one *agent loop* per sample: ``AgentLoopWorker`` instantiates the class registered under
the row's ``agent_name`` (with hydra, from ``{"_target_": "<module>.<Class>", ...}``) and awaits
``run(sampling_params, **row_fields)``, which returns an ``AgentLoopOutput``: ``prompt_ids``,
``response_ids`` (model and environment tokens), ``response_mask`` (1 on the model's tokens),
``response_logprobs``, ``reward_score``, ``num_turns``. :class:`AgentgymAgentLoop` plays one
agentgym episode there:

- the task comes from the row: ``extra_info["agentgym_task"]`` (or the last message of the
  prompt), a :func:`~agentgym.integrations.episodes.task_prompt`; :func:`verl_rows` builds rows
  (for a parquet file verl's ``RLHFDataset`` reads), with ``agent_name: agentgym``;
- the model is verl's own rollout server (``self.server_manager``, an ``LLMServerClient``):
  :class:`VerlServerPolicy` makes it an agentgym :class:`~agentgym.policies.base.Policy` that
  sends the exact token ids of each turn (``prompt_ids``) with verl's sampling parameters, one
  request id per episode (verl's sticky session: the server's prefix cache serves later turns);
- agentgym's rollout engine plays the episode (reset, the turns, the environment's steps in a
  thread, timeouts), its :class:`~agentgym.rollout.transcript.TokenTranscript` keeping the
  tokens exact (DESIGN.md, invariant 1), and the episode is cut as
  :class:`~agentgym.integrations.episodes.TokenEpisode`: ``response_mask`` is 1 exactly on the
  tokens the server sampled, ``reward_score`` is the episode's return, ``response_logprobs`` the
  server's sampling log-probs when it returned them (``rollout.calculate_log_probs``), else
  ``None`` (verl recomputes them with the actor);
- the response never exceeds verl's ``rollout.response_length``: each turn may generate at most
  what is left of it (and ``max_tokens_per_turn``); an episode that would need more, like one
  that failed, broke the token prefix or has a prompt longer than ``rollout.prompt_length``, is
  returned as a one-token placeholder with ``response_mask`` 0 (no gradient) and
  ``reward_score`` 0.0, the reason in ``extra_fields["agentgym_untrainable"]``.

Registration, the way verl documents it: an agent loop config file (its path in
``actor_rollout_ref.rollout.agent.agent_loop_config_path``), read by every ``AgentLoopWorker``
in its own Ray process; the keys beside ``name`` and ``_target_`` are this class's options::

    - name: agentgym
      _target_: agentgym.integrations.verl.AgentgymAgentLoop
      max_turns: 8
      max_tokens_per_turn: 64
      system_prompt: null
      wrappers: [{name: AnswerFormat, kwargs: {format: boxed}}]

:func:`agent_loop_config` writes that file. In the process that imports it, the class is also
registered under ``"agentgym"`` with verl's ``@register`` as it is first built.

Only this module's :class:`AgentgymAgentLoop` needs verl (it subclasses ``AgentLoopBase``); it is
built on first access, so the module itself -- and :class:`VerlServerPolicy`,
:func:`play_verl_episode`, :func:`verl_rows` -- import without verl.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from agentgym.integrations.episodes import TokenEpisode, aplay, task_from_prompt, task_prompt
from agentgym.policies.base import Generation, Policy, Request, SamplingParams
from agentgym.rollout import RolloutConfig, Task
from agentgym.wrappers.chat_history import DEFAULT_SYSTEM_PROMPT
from agentgym.wrappers.specs import WrapperSpec

__all__ = ["AGENT_NAME", "AgentgymAgentLoop", "LoopOptions", "VerlServerPolicy", "agent_loop_config",
           "play_verl_episode", "task_of_row", "verl_rows"]

AGENT_NAME = "agentgym"


class VerlServerPolicy(Policy):
    """verl's rollout server as an agentgym policy, for one episode.

    ``server_manager`` is verl's ``LLMServerClient`` (anything with ``async generate(request_id,
    *, prompt_ids, sampling_params) -> TokenOutput`` -- ``token_ids``, ``log_probs``,
    ``stop_reason``). Every request must carry ``prompt_token_ids`` (the rollout engine's exact
    transcript); ``sampling_params`` (verl's: temperature, top_p, top_k, logprobs...) go with
    each, ``max_tokens`` set per turn to the least of the turn's budget and what is left of
    ``response_length`` (counted from the first prompt). A request that cannot run (nothing
    left of the budget, a server error, an aborted request) becomes an error generation: the
    engine ends the episode there and records why.
    """

    def __init__(self, server_manager: Any, tokenizer: Any, sampling_params: dict[str, Any], *,
                 request_id: str | None = None, response_length: int | None = None) -> None:
        self.server_manager = server_manager
        self.tokenizer = tokenizer
        self.sampling_params = dict(sampling_params)
        self.request_id = request_id or uuid.uuid4().hex
        self.response_length = response_length
        self.name = "verl-server"
        self.first_prompt_length: int | None = None
        eos = getattr(tokenizer, "eos_token_id", None)
        self.eos_token_ids = {eos} if isinstance(eos, int) else set(eos or ())

    async def agenerate(self, requests: Sequence[Request], sampling: SamplingParams) -> list[Generation]:
        return list(await asyncio.gather(*(self._one(request, sampling) for request in requests)))

    async def _one(self, request: Request, sampling: SamplingParams) -> Generation:
        if request.prompt_token_ids is None:
            return _error("verl's server takes token ids: the request has no prompt_token_ids")
        prompt = [int(token) for token in request.prompt_token_ids]
        if self.first_prompt_length is None:
            self.first_prompt_length = len(prompt)
        max_tokens = sampling.max_tokens
        if self.response_length is not None:
            left = self.response_length - (len(prompt) - self.first_prompt_length)
            if left <= 0:
                return _error(f"verl's rollout.response_length ({self.response_length} tokens) is used up",
                              prompt)
            max_tokens = min(max_tokens, left)
        params = {**self.sampling_params, "max_tokens": max_tokens}
        try:
            output = await self.server_manager.generate(self.request_id, prompt_ids=prompt, sampling_params=params)
        except Exception as exc:  # noqa: BLE001 - one request's failure is its episode's error
            return _error(f"verl's server failed: {type(exc).__name__}: {exc}", prompt)
        if getattr(output, "stop_reason", None) == "aborted":
            return _error("verl's server aborted the request", prompt)
        ids = [int(token) for token in output.token_ids]
        given = getattr(output, "log_probs", None)  # None unless the request asked for them
        logprobs = [float(value) for value in given] if given is not None else None
        finish = "stop" if ids and ids[-1] in self.eos_token_ids else "length"
        return Generation(self.tokenizer.decode(ids, skip_special_tokens=True), ids, logprobs, prompt, finish)


def _error(message: str, prompt: list[int] | None = None) -> Generation:
    return Generation("", prompt_token_ids=prompt, finish_reason="error", error=message)


@dataclass
class LoopOptions:
    """How :class:`AgentgymAgentLoop` plays (its keys in the agent loop config file).

    Attributes:
        max_turns: turn budget (``None``: verl's ``multi_turn.max_assistant_turns`` if set, else
            the environment's registered budget).
        max_tokens_per_turn: the most tokens per turn (``None``: what is left of the response).
        system_prompt: the system message (``None`` leaves it out).
        env_kwargs: constructor arguments added to every task's (the task's win): a dict.
        wrappers: wrappers inside the turn budget, a list of ``{"name", "kwargs"}``, registered
            names or :class:`~agentgym.wrappers.specs.WrapperSpec`.
        env_runtime: where environments run (``"thread"``, ``"process"``, a server URL).
        step_timeout: seconds an environment call may take.
    """

    max_turns: int | None = None
    max_tokens_per_turn: int | None = None
    system_prompt: str | None = DEFAULT_SYSTEM_PROMPT
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    wrappers: Sequence[Any] = ()
    env_runtime: str = "thread"
    step_timeout: float | None = 60.0

    def rollout_config(self, response_length: int | None) -> RolloutConfig:
        """The episode's :class:`RolloutConfig`; a ``ValueError`` naming the option at fault."""
        from agentgym.runtime.worker import checked_count

        if not isinstance(self.env_kwargs, dict):
            raise ValueError(f"env_kwargs must be a dict of constructor arguments, got {self.env_kwargs!r}")
        wrappers = _wrapper_specs(self.wrappers)
        max_tokens = checked_count("max_tokens_per_turn", self.max_tokens_per_turn, allow_none=True) \
            or response_length or 256
        return RolloutConfig(max_turns=self.max_turns, system_prompt=self.system_prompt, wrappers=wrappers,
                             env_runtime=self.env_runtime, step_timeout=self.step_timeout,
                             sampling=SamplingParams(max_tokens=max_tokens), max_concurrent_episodes=1,
                             max_batch_size=1)


def _wrapper_specs(wrappers: Any) -> tuple[WrapperSpec, ...]:
    """The ``wrappers`` option as specs; one wrapper given alone (not in a list) is a
    ``ValueError``, not read letter by letter or key by key. ``None`` is no wrappers."""
    if wrappers is None:
        return ()
    if isinstance(wrappers, (str, dict, WrapperSpec)) or not isinstance(wrappers, Iterable):
        raise ValueError(f"wrappers must be a list of wrappers (registered names, {{'name', 'kwargs'}} or "
                         f"WrapperSpec), got {wrappers!r}")
    return tuple(_wrapper_spec(w) for w in wrappers)


def _wrapper_spec(wrapper: Any) -> WrapperSpec:
    """A wrapper option as a spec: a spec, a registered name or ``{"name", "kwargs"}``."""
    if isinstance(wrapper, WrapperSpec):
        return wrapper
    return WrapperSpec.from_data(wrapper if isinstance(wrapper, str) else dict(wrapper))


def task_of_row(row: dict[str, Any]) -> Task:
    """The task of a verl row (``run``'s keyword arguments): ``extra_info["agentgym_task"]``, or
    the prompt (``raw_prompt``) naming one."""
    extra = row.get("extra_info") or {}
    if isinstance(extra, dict) and extra.get("agentgym_task"):
        return task_from_prompt(extra["agentgym_task"])
    raw = row.get("raw_prompt")
    if raw is None:
        raise ValueError(f"this row names no agentgym task (no extra_info['agentgym_task'], no raw_prompt); "
                         f"fields: {sorted(row)}")
    return task_from_prompt(list(raw) if not isinstance(raw, str) else raw)


async def play_verl_episode(server_manager: Any, tokenizer: Any, sampling_params: dict[str, Any], task: Task, *,
                            options: LoopOptions, response_length: int | None = None,
                            prompt_length: int | None = None, request_id: str | None = None) -> dict[str, Any]:
    """Play ``task`` with verl's server; the fields of an ``AgentLoopOutput`` (but ``metrics``,
    given as ``metrics_seconds``) and the trajectory under ``"trajectory"``."""
    config = options.rollout_config(response_length)  # a bad option named before it is used
    if options.env_kwargs:
        task = Task(task.env_id, task.seed, {**options.env_kwargs, **task.kwargs})
    policy = VerlServerPolicy(server_manager, tokenizer, sampling_params, request_id=request_id,
                              response_length=response_length)
    [trajectory] = await aplay(policy, [task], config)
    placeholder = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.pad_token_id
    # verl's servers return log-probs only when asked (rollout.calculate_log_probs); without
    # them verl recomputes them with the actor, so their absence leaves the episode trainable
    episode = TokenEpisode.from_trajectory(trajectory, placeholder, require_logprobs=False)
    reason = episode.reason
    if episode.trainable and prompt_length is not None and len(episode.prompt_ids) > prompt_length:
        reason = f"the prompt has {len(episode.prompt_ids)} tokens, more than verl's rollout.prompt_length"
    extra = {"agentgym_success": trajectory.success, "agentgym_return": trajectory.episode_return,
             "agentgym_env_id": task.env_id, "agentgym_seed": task.seed, "turn_scores": [t.reward for t in trajectory.turns]}
    metrics = {"generate_sequences": sum(t.generation_seconds for t in trajectory.turns),
               "tool_calls": sum(t.seconds for t in trajectory.turns)}
    turns = len([m for m in trajectory.messages if m.get("role") != "system"])
    if reason is not None:
        prompt = episode.prompt_ids[-prompt_length:] if prompt_length else episode.prompt_ids
        return {"prompt_ids": prompt, "response_ids": [placeholder], "response_mask": [0],
                "response_logprobs": [0.0], "reward_score": 0.0, "num_turns": turns,
                "extra_fields": {**extra, "agentgym_untrainable": reason}, "metrics_seconds": metrics,
                "trajectory": trajectory}
    has_logprobs = all(turn.logprobs is not None for turn in trajectory.turns)
    return {"prompt_ids": episode.prompt_ids, "response_ids": episode.completion_ids,
            "response_mask": episode.completion_mask, "response_logprobs": episode.logprobs if has_logprobs else None,
            "reward_score": float(episode.reward), "num_turns": turns, "extra_fields": extra,
            "metrics_seconds": metrics, "trajectory": trajectory}


def verl_rows(tasks: Iterable[Task], *, agent_name: str = AGENT_NAME) -> list[dict[str, Any]]:
    """Rows for verl's ``RLHFDataset`` (write them to parquet, e.g. ``datasets.Dataset.from_list
    (rows).to_parquet(path)``): the task in the prompt and in ``extra_info``, ``agent_name``."""
    rows = []
    for index, task in enumerate(tasks):
        prompt = task_prompt(task)
        rows.append({"data_source": f"agentgym/{task.env_id}", "agent_name": agent_name,
                     "prompt": [{"role": "user", "content": prompt}],
                     "reward_model": {"style": "rule", "ground_truth": ""},
                     "extra_info": {"index": index, "agentgym_task": prompt}})
    return rows


def agent_loop_config(path: str | Path, *, name: str = AGENT_NAME, **options: Any) -> Path:
    """Write verl's agent loop config file registering :class:`AgentgymAgentLoop` as ``name``
    with ``options`` (:class:`LoopOptions`' fields; ``wrappers`` as specs, names or
    ``{"name", "kwargs"}``); returns its path. A bad option is an error naming it (``ValueError``;
    ``TypeError`` for a wrapper's arguments), and nothing is written (verl's workers would each fail on it, at their first episode)."""
    import json

    known = set(LoopOptions.__dataclass_fields__)
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(f"unknown agent loop options {unknown}; known: {sorted(known)}")
    if "wrappers" in options:
        options["wrappers"] = [spec.to_data() for spec in _wrapper_specs(options["wrappers"])]
    LoopOptions(**options).rollout_config(None)  # every option checked, as each worker will use it
    entry = {"name": name, "_target_": f"{__name__}.AgentgymAgentLoop", **options}
    try:
        text = json.dumps([entry], indent=2, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"agent loop options must be JSON data (verl's workers read them from the file): {exc}") \
            from None
    path = Path(path)
    path.write_text(text + "\n")  # JSON is YAML: OmegaConf.load reads it
    return path


def _build_agent_loop_class() -> type:
    try:
        from verl.experimental.agent_loop.agent_loop import AgentLoopBase, AgentLoopMetrics, AgentLoopOutput, register
    except ImportError as exc:
        raise ImportError(f"agentgym.integrations.verl.AgentgymAgentLoop needs verl (0.9, its "
                          f"verl.experimental.agent_loop): install verl as its documentation says ({exc})") from exc

    class AgentgymAgentLoop(AgentLoopBase):
        """Plays one agentgym episode per verl sample; see :mod:`agentgym.integrations.verl`."""

        def __init__(self, *args: Any, max_turns: int | None = None, max_tokens_per_turn: int | None = None,
                     system_prompt: str | None = DEFAULT_SYSTEM_PROMPT, env_kwargs: dict | None = None,
                     wrappers: Sequence[Any] = (), env_runtime: str = "thread", step_timeout: float | None = 60.0,
                     **kwargs: Any) -> None:
            kwargs.pop("name", None)  # the config entry's own name, passed along by hydra
            super().__init__(*args, **kwargs)
            from omegaconf import OmegaConf

            def plain(value: Any) -> Any:  # hydra hands nested options over as DictConfig / ListConfig
                return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value

            rollout = self.rollout_config
            multi_turn = rollout.get("multi_turn", {}) or {}
            self.options = LoopOptions(
                max_turns=max_turns or multi_turn.get("max_assistant_turns") or None,
                max_tokens_per_turn=max_tokens_per_turn, system_prompt=system_prompt,
                env_kwargs=dict(plain(env_kwargs) or {}), wrappers=list(plain(wrappers) or ()),
                env_runtime=env_runtime, step_timeout=step_timeout)
            self.response_length = int(rollout.response_length)
            self.prompt_length = int(rollout.prompt_length)

        async def run(self, sampling_params: dict[str, Any], **kwargs: Any) -> AgentLoopOutput:
            fields = await play_verl_episode(self.server_manager, self.tokenizer, sampling_params, task_of_row(kwargs),
                                             options=self.options, response_length=self.response_length,
                                             prompt_length=self.prompt_length)
            fields.pop("trajectory")
            metrics = AgentLoopMetrics(**fields.pop("metrics_seconds"))
            return AgentLoopOutput(**fields, metrics=metrics)

    AgentgymAgentLoop.__module__ = __name__
    AgentgymAgentLoop.__qualname__ = "AgentgymAgentLoop"
    return register(AGENT_NAME)(AgentgymAgentLoop)


def __getattr__(name: str) -> Any:
    """``AgentgymAgentLoop`` is built (importing verl) on first access."""
    if name == "AgentgymAgentLoop":
        cls = _build_agent_loop_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
