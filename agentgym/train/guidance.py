"""Guidance when a whole group fails: hints, a ladder of hint levels, and hint-free training rows.

GRPO learns nothing from a group whose episodes all fail: every advantage is zero. Guide
(Nath et al., 2025) plays such a group again with a hint in the context and trains on the
hinted episodes *as if the hint had not been there*, correcting with the importance ratio of
the policy without the hint against the policy that sampled with it. Scaf-GRPO (Zhang et al.,
2025) gives hints in tiers, escalating only while a task stays unsolved. Here:

- :func:`failed_groups`: the groups in which no episode succeeded (and whose best return is at
  most ``threshold``): those get guidance.
- :class:`HintLadder`: per task (an environment and its arguments: a difficulty level), the
  hint level (:data:`agentgym.core.HINT_LEVELS`: 1 the rules, 2 a strategy, 3 a good next
  move) its next failed group gets: the weakest at first, one level higher after each
  ``patience`` groups that failed even with hints (Scaf-GRPO's stagnation), back to the
  weakest once a group of the task succeeds without hints.
- :func:`strip_hints`: a hinted trajectory (played with :class:`~agentgym.wrappers.Hinted`)
  rebuilt token for token without its hints: the same generated tokens (and their sampling
  log-probs, which stay the *behaviour* log-probs), the observations re-tokenised without
  their ``"Hint: ..."`` suffixes by the transcript the rollout engine uses
  (:class:`~agentgym.rollout.transcript.TokenTranscript`).

:class:`Guide` puts them together for the trainer (``[guidance]``). The correction itself is the
decoupled objective of :mod:`agentgym.train.loss`: the trainer
scores the stripped rows with the current weights (the *proximal* log-probs ``p``, the policy
without the hint) and weighs each generated token by ``exp(p - b)`` (``b`` the log-prob with the
hint, at sampling), capped, as Guide's importance ratio.
"""

from __future__ import annotations

import copy
import math
import re
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np

import agentgym
from agentgym.core import HINT_LEVELS
from agentgym.rollout import Task
from agentgym.rollout.transcript import TokenTranscript
from agentgym.trajectory import Trajectory
from agentgym.wrappers.hinted import HINT_PREFIX
from agentgym.wrappers.specs import WrapperSpec

#: a hint :class:`~agentgym.wrappers.Hinted` appended: its prefix, then one line, at the very end
_HINT_SUFFIX = re.compile(re.escape(HINT_PREFIX) + r"[^\n]*\Z")
#: trajectory metadata: the hint level a hinted episode was played with
HINT_LEVEL_KEY = "hint_level"


def failed_groups(trajectories: Sequence[Trajectory], threshold: float = 0.0) -> list[str]:
    """The ``group_id`` of every group in which no trajectory succeeded and none returned more
    than ``threshold``, in order of first appearance."""
    groups: dict[str, list[Trajectory]] = {}
    for trajectory in trajectories:
        groups.setdefault(str(trajectory.group_id), []).append(trajectory)
    return [group for group, members in groups.items()
            if not any(t.success for t in members) and max(t.episode_return for t in members) <= threshold]


@dataclass
class HintLadder:
    """The hint level of each task's next guided failure (module docstring).

    Args:
        levels: the levels to climb, weakest first (each one of :data:`HINT_LEVELS`).
        patience: guided failures at one level before the next.
    """

    levels: tuple[int, ...] = HINT_LEVELS
    patience: int = 1
    _failures: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.levels = tuple(self.levels)
        if not self.levels or any(level not in HINT_LEVELS for level in self.levels):
            raise ValueError(f"HintLadder: levels must be some of {HINT_LEVELS}, got {self.levels!r}")
        if list(self.levels) != sorted(set(self.levels)):
            raise ValueError(f"HintLadder: levels must rise, weakest first, got {self.levels!r}")
        if type(self.patience) is not int or self.patience < 1:
            raise ValueError(f"HintLadder: patience must be a positive integer, got {self.patience!r}")

    def level_for(self, task: str) -> int:
        """The level to hint ``task`` with now."""
        rung = self._failures.get(task, 0) // self.patience
        return self.levels[min(rung, len(self.levels) - 1)]

    def failed_with_hints(self, task: str) -> None:
        """A group of ``task`` failed even with hints: a step towards the next level."""
        self._failures[task] = self._failures.get(task, 0) + 1

    def solved(self, task: str) -> None:
        """``task`` was solved without hints: its next failure starts at the first level."""
        self._failures.pop(task, None)

    def state(self) -> dict[str, int]:
        return dict(self._failures)

    def load_state(self, state: dict[str, int]) -> None:
        self._failures = {str(task): int(count) for task, count in state.items()}


class HintStripError(ValueError):
    """A hinted trajectory that cannot be rebuilt without its hints, token for token."""


def strip_hints(trajectory: Trajectory, tokenizer: Any, tools: list[dict[str, Any]] | None = None) -> Trajectory:
    """``trajectory`` rebuilt without the hints :class:`~agentgym.wrappers.Hinted` appended
    (module docstring): a copy whose messages, turn observations, token ids and spans are
    those of the same episode without hints; generated tokens and sampling log-probs are
    unchanged. Raises :class:`HintStripError` when that is impossible: no token ids, images,
    a conversation the chat history trimmed, or a template that rewrites history."""
    if trajectory.token_ids is None:
        raise HintStripError("a text-only trajectory has no tokens to rebuild")
    messages = [_without_hint(message) for message in trajectory.messages]
    if any(isinstance(m.get("content"), list) for m in messages):
        raise HintStripError("trajectories with images are not rebuilt without hints")
    starts = [i for i, m in enumerate(messages) if m.get("role") == "assistant"]
    if len(starts) < len(trajectory.turns) - 1 or len(starts) > len(trajectory.turns):
        raise HintStripError(f"{len(starts)} assistant messages for {len(trajectory.turns)} turns: "
                             "the conversation was trimmed (max_context_chars) or is not this episode's")
    transcript = TokenTranscript(tokenizer, messages[: starts[0]] if starts else messages, tools)
    stripped = copy.deepcopy(trajectory)
    stripped.messages = messages
    stripped.prompt_length = len(transcript.token_ids)
    for position, turn in enumerate(stripped.turns):
        start, end = turn.action_span
        generated = trajectory.token_ids[start:end]
        span = transcript.add_generation(list(generated), turn.logprobs, turn.action)
        turn.action_span = (span.start, span.end)
        turn.observation = _strip(turn.observation)
        if turn.observation_span is None:  # the last turn: nothing was appended after it
            break
        begin = starts[position]
        following = starts[position + 1] if position + 1 < len(starts) else len(messages)
        span = transcript.add_observation(messages[begin + 1: following], messages[begin])
        turn.observation_span = (span.start, span.end)
    if transcript.mismatches:
        raise HintStripError("the chat template rewrote history while rebuilding without hints")
    stripped.token_ids = list(transcript.token_ids)
    stripped.metadata = {**trajectory.metadata, "hints_stripped": True}
    return stripped


def _strip(text: str) -> str:
    return _HINT_SUFFIX.sub("", text)


def _without_hint(message: dict[str, Any]) -> dict[str, Any]:
    content = message.get("content")
    if message.get("role") == "user" and isinstance(content, str):
        return {**message, "content": _strip(content)}
    return dict(message)


def hinted_levels(trajectories: Iterable[Trajectory]) -> list[int]:
    """The hint levels of the hinted trajectories among ``trajectories`` (for metrics)."""
    return [int(t.metadata[HINT_LEVEL_KEY]) for t in trajectories if t.metadata.get(HINT_LEVEL_KEY) is not None]


def _every_process(labels: list[str]) -> list[str]:
    """``labels`` of every process under ``torch.distributed`` (rank order), else ``labels``:
    each process then moves its ladder as one process seeing every group would."""
    from agentgym.train.distributed import gather  # torch: only when training

    return [label for share in gather(labels) for label in share]


class Guide:
    """Guidance for a trainer's step (module docstring; ``[guidance]``,
    :class:`~agentgym.train.config.GuidanceSection`).

    Args:
        section: the ``[guidance]`` settings.
        play: ``play(tasks, level, step)`` plays ``tasks`` as the step's rollout does, with
            :class:`~agentgym.wrappers.Hinted` hints of ``level``; returns the trajectories.
        tokenizer: the policy's tokenizer (rebuilding transcripts without hints).
        vision: the trainer's vision family, for :func:`~agentgym.train.batching.check_trainable`.
        env_wrappers: the ``[env]`` wrappers as data (reading a task's tool schemas).
    """

    def __init__(self, section: Any, play: Callable[[list[Task], int, int], list[Trajectory]], *,
                 tokenizer: Any, vision: Any = None, env_wrappers: Sequence[dict[str, Any]] = ()) -> None:
        self.section, self.play, self.tokenizer, self.vision = section, play, tokenizer, vision
        self.env_wrappers = list(env_wrappers)
        self.ladder = HintLadder(tuple(section.levels), section.patience)
        self._tools: dict[str, list[dict[str, Any]] | None] = {}

    def __call__(self, kept: list[Trajectory], tasks: Sequence[Task], step: int,
                 metrics: dict[str, Any]) -> list[Trajectory]:
        """``kept`` with every group in which no episode succeeded replaced by the same tasks
        played with hints at their ladder level and rebuilt without them (the trainer scores
        those as another policy's samples). A group that cannot be rebuilt keeps its unhinted
        trajectories (counted, with a warning), as does one whose hinted episodes are all
        untrainable (ended with an error: that says nothing of the hints, so the ladder stays).
        Writes ``guidance/*`` metrics.

        Under ``torch.distributed`` every process calls it at every step, with its share of the
        tasks (``kept`` may be empty): the ladder's moves -- tasks solved, tasks that failed even
        with hints -- are gathered from every process, so each keeps the ladder one process
        playing all the tasks would keep (and rank 0's checkpoint holds it)."""
        by_group = {task.group_id: task for task in tasks}
        failed = [group for group in failed_groups(kept, self.section.failure_threshold) if group in by_group]
        solved = [by_group[group].label for group in sorted({t.group_id for t in kept} - set(failed))
                  if group in by_group and any(t.success for t in kept if t.group_id == group)]
        for label in _every_process(solved):
            self.ladder.solved(label)
        metrics["guidance/failed_groups"] = float(len(failed))
        replaced, unbuilt, still_failing = self._guided(failed, by_group, step) if failed else ({}, 0, [])
        for label in _every_process(still_failing):
            self.ladder.failed_with_hints(label)
        if not failed:
            return kept
        hinted = [t for episodes in replaced.values() for t in episodes]
        metrics["guidance/hinted_episodes"] = float(len(hinted))
        metrics["guidance/hinted_success"] = float(np.mean([t.success for t in hinted])) if hinted else math.nan
        metrics["guidance/level_mean"] = float(np.mean(hinted_levels(hinted))) if hinted else math.nan
        metrics["guidance/unbuilt_groups"] = float(unbuilt)
        return [t for t in kept if t.group_id not in replaced] + hinted

    def _guided(self, failed: list[str], by_group: dict[str, Task],
                step: int) -> tuple[dict[str, list[Trajectory]], int, list[str]]:
        """The ``failed`` groups played again with hints at their tasks' levels and rebuilt
        without them: ``(rebuilt trajectories by group, groups that could not be rebuilt, the
        task of each group that failed even with hints)``."""
        from agentgym.train.batching import check_trainable  # torch: only when training

        by_level: dict[int, list[Task]] = {}
        for group in failed:
            by_level.setdefault(self.ladder.level_for(by_group[group].label), []).append(by_group[group])
        replaced: dict[str, list[Trajectory]] = {}
        unbuilt, still_failing = 0, []
        for level, level_tasks in sorted(by_level.items()):
            played = self.play(level_tasks, level, step)
            for task in level_tasks:
                group = task.group_id
                episodes = [t for t in played if t.group_id == group]
                reasons = [check_trainable(t, self.vision) for t in episodes]
                if all(reason is not None for reason in reasons):  # errors say nothing of the hints
                    why = f"all {len(reasons)} untrainable; first: {reasons[0]}" if reasons else "none played"
                    warnings.warn(f"step {step + 1}: guidance for {group}: no hinted episode to train on ({why}); "
                                  "its unhinted episodes stay", stacklevel=2)
                    unbuilt += 1
                    continue
                try:
                    rebuilt = [strip_hints(t, self.tokenizer, self._tools_of(task))
                               for t, reason in zip(episodes, reasons) if reason is None]
                except HintStripError as exc:
                    warnings.warn(f"step {step + 1}: guidance for {group}: {exc}; its unhinted episodes stay",
                                  stacklevel=2)
                    unbuilt += 1
                    continue
                for trajectory in rebuilt:
                    trajectory.metadata[HINT_LEVEL_KEY] = level
                replaced[group] = rebuilt
                if not any(t.success for t in rebuilt):
                    still_failing.append(task.label)
        return replaced, unbuilt, still_failing

    def _tools_of(self, task: Task) -> list[dict[str, Any]] | None:
        """The tool schemas the policy was shown in ``task`` (its chat template renders them):
        read from one reset of the environment, once per environment and arguments."""
        if task.label not in self._tools:
            env = agentgym.make(task.env_id, wrappers=[WrapperSpec.from_data(w) for w in self.env_wrappers],
                                **task.kwargs)
            try:
                self._tools[task.label] = env.reset(seed=task.seed)[1].get("tools") or None
            finally:
                env.close()
        return self._tools[task.label]
