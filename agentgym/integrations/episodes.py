"""What the trainer adapters share: tasks named in prompts, playing them, episodes as tokens.

Other trainers hand a rollout hook *prompts* (TRL) or dataset rows (verl), not agentgym tasks, so
a task travels inside the prompt as a line of JSON (:func:`task_prompt`)::

    agentgym-task {"env_id": "games/GuessTheNumber-v0", "kwargs": {"difficulty": "easy"}, "seed": 3}

:func:`task_from_prompt` reads it back (from a string, or the last message of a conversation).

:func:`aplay` / :func:`play` play a list of tasks with agentgym's rollout engine and return one
trajectory per entry, in order. Equal entries (same environment, seed and arguments) are one
GRPO group: they are played as ``group_size`` rollouts of one task, so each gets its own
sampling seed (the engine derives it from the rollout index) while the environment's seed is
shared (DESIGN.md, invariant 2).

:class:`TokenEpisode` is a token-exact trajectory cut the way those trainers take it::

    prompt_ids      = token_ids[:prompt_length]        (system prompt, first observation, generation prompt)
    completion_ids  = token_ids[prompt_length:]        (action, observation, action, ..., action)
    completion_mask = 1 on action tokens (what the policy sampled), 0 on observation tokens
    logprobs        = the sampling log-prob of each action token, 0.0 on observation tokens
                      (and on the action tokens of a turn without them, when not required)
    reward          = the episode's return, the sum of its turns' rewards

An episode that cannot be trained on token by token (an error cut it short, a broken prefix,
no token ids) becomes a one-token placeholder with mask 0 and reward ``None``: it is kept in its
place (the trainer's groups keep their size) and contributes no gradient; TRL drops a ``None``
reward from the group's baseline.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Sequence, TypeVar

from agentgym.event_loops import running_loop
from agentgym.policies.base import Policy
from agentgym.rollout import RolloutConfig, Task, arollout
from agentgym.trajectory import Trajectory

TASK_PROMPT_PREFIX = "agentgym-task "

T = TypeVar("T")


def task_prompt(task: Task) -> str:
    """The prompt that names ``task``: :data:`TASK_PROMPT_PREFIX` and the task as JSON."""
    fields = {"env_id": task.env_id, "seed": task.seed, "kwargs": dict(task.kwargs)}
    try:
        return TASK_PROMPT_PREFIX + json.dumps(fields, sort_keys=True)
    except TypeError as exc:
        raise ValueError(f"a task's environment arguments must be JSON data to travel in a prompt: {exc}") from None


def task_from_prompt(prompt: Any) -> Task:
    """The task a prompt names (a string, or a conversation whose last message's content is
    one); a ``ValueError`` that shows the prompt when it names none or is malformed (not a JSON
    object, ``env_id`` not a string, ``seed`` not an integer, ``kwargs`` neither an object nor
    absent / ``null``)."""
    text = prompt
    if isinstance(prompt, (list, tuple)) and prompt and isinstance(prompt[-1], dict):
        text = prompt[-1].get("content")
    if not isinstance(text, str) or not text.strip().startswith(TASK_PROMPT_PREFIX):
        raise ValueError(f"this prompt names no agentgym task: {str(prompt)[:120]!r}; build the dataset with "
                         f"agentgym_dataset() / .dataset(seeds) (prompts start with {TASK_PROMPT_PREFIX.strip()!r})")
    try:
        fields = json.loads(text.strip()[len(TASK_PROMPT_PREFIX):])
        if not isinstance(fields, dict):
            raise ValueError("not a JSON object")
        env_id, seed, kwargs = fields["env_id"], fields["seed"], fields.get("kwargs")
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"a malformed agentgym task prompt {text[:120]!r}: {exc}") from None
    kwargs = {} if kwargs is None else kwargs  # absent or null: no arguments; [] or 0 is malformed
    if not isinstance(env_id, str) or isinstance(seed, bool) or not isinstance(seed, int) or not isinstance(kwargs, dict):
        raise ValueError(f"a malformed agentgym task prompt {text[:120]!r}: env_id must be a string, seed an "
                         "integer and kwargs an object")
    return Task(env_id, seed, kwargs)


def _task_key(task: Task) -> tuple[str, int, str]:
    return task.env_id, task.seed, json.dumps(task.kwargs, sort_keys=True, default=repr)


async def aplay(policy: Policy, tasks: Sequence[Task], config: RolloutConfig) -> list[Trajectory]:
    """One trajectory per entry of ``tasks``, in order; equal entries are one group (see the
    module docstring). ``config.group_size`` is ignored: the repetitions in ``tasks`` say it."""
    counts = Counter(_task_key(task) for task in tasks)
    first: dict[tuple[str, int, str], Task] = {}
    for task in tasks:
        first.setdefault(_task_key(task), task)
    played: dict[tuple[str, int, str], list[Trajectory]] = {}
    # Tasks repeated equally often share one rollout (one engine, one batcher); in the usual case
    # (every prompt repeated num_generations times) that is a single call.
    for size in sorted(set(counts.values())):
        keys = [key for key in first if counts[key] == size]
        result = await arollout(policy, [first[key] for key in keys], dataclasses.replace(config, group_size=size),
                                progress=False)
        for i, key in enumerate(keys):
            played[key] = result.trajectories[i * size: (i + 1) * size]
    cursor: Counter = Counter()
    ordered = []
    for task in tasks:
        key = _task_key(task)
        ordered.append(played[key][cursor[key]])
        cursor[key] += 1
    return ordered


def play(policy: Policy, tasks: Sequence[Task], config: RolloutConfig) -> list[Trajectory]:
    """Synchronous :func:`aplay`, callable from inside a running event loop too (a notebook)."""
    return run_sync(lambda: aplay(policy, tasks, config))


def run_sync(make_coroutine: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to the end from synchronous code: in this thread when no event loop
    runs here, else in a worker thread with its own loop."""
    if running_loop() is None:
        return asyncio.run(make_coroutine())  # type: ignore[arg-type]
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="agentgym-play") as pool:
        return pool.submit(lambda: asyncio.run(make_coroutine())).result()  # type: ignore[arg-type]


@dataclass
class TokenEpisode:
    """A trajectory as prompt and completion tokens; see the module docstring.

    ``trainable`` is ``False`` for a placeholder (``reason`` says why).
    """

    prompt_ids: list[int]
    completion_ids: list[int]
    completion_mask: list[int]
    logprobs: list[float]
    reward: float | None
    trajectory: Trajectory
    trainable: bool = True
    reason: str | None = None

    @property
    def num_turns(self) -> int:
        return len(self.trajectory.turns)

    @classmethod
    def from_trajectory(cls, trajectory: Trajectory, placeholder_token_id: int, *,
                        require_logprobs: bool = True) -> TokenEpisode:
        """Cut ``trajectory``; ``placeholder_token_id`` (e.g. the EOS token) fills an episode
        that cannot be trained on. ``require_logprobs=False`` trains on turns whose policy gave
        no sampling log-probs (zeros in ``logprobs``), for a trainer that recomputes them
        (verl); log-probs given but not matching their action are still refused."""
        reason = untrainable_reason(trajectory if require_logprobs else _zero_missing_logprobs(trajectory))
        if reason is not None:
            prompt = (trajectory.token_ids or [])[: trajectory.prompt_length] or [placeholder_token_id]
            return cls(list(prompt), [placeholder_token_id], [0], [0.0], None, trajectory, False, reason)
        ids, start = list(trajectory.token_ids), trajectory.prompt_length  # type: ignore[arg-type]
        mask = trajectory.loss_mask()[start:]
        logprobs = [0.0] * len(ids)
        for turn in trajectory.turns:
            begin, end = turn.action_span  # type: ignore[misc]
            logprobs[begin:end] = [float(value) for value in turn.logprobs or [0.0] * (end - begin)]
        return cls(ids[:start], ids[start:], mask, logprobs[start:], trajectory.episode_return, trajectory)


def _zero_missing_logprobs(trajectory: Trajectory) -> Trajectory:
    """A copy of ``trajectory`` whose turns without sampling log-probs have zeros instead."""
    turns = [dataclasses.replace(turn, logprobs=[0.0] * (turn.action_span[1] - turn.action_span[0]))
             if turn.logprobs is None and turn.action_span is not None else turn for turn in trajectory.turns]
    return dataclasses.replace(trajectory, turns=turns)


def untrainable_reason(trajectory: Trajectory) -> str | None:
    """Why ``trajectory`` cannot be trained on token by token, or ``None`` if it can (the
    trainer's own test, :func:`agentgym.train.batching.check_trainable`)."""
    from agentgym.train.batching import check_trainable  # torch: imported only when episodes are cut

    return check_trainable(trajectory)
