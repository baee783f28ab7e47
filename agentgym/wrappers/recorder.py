"""Record every episode as a :class:`~agentgym.trajectory.Trajectory`."""

from __future__ import annotations

import copy
import json
import os
import time
from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np

from agentgym.core import ConfigError, check_flag, is_int
from agentgym.images import is_image
from agentgym.info import step_error, text_or_none
from agentgym.trajectory import Trajectory, TrajectoryWriter, Turn, json_safe

# Step-info keys a Turn stores in its own fields, or that repeat what the trajectory holds.
_NOT_IN_TURN_INFO = frozenset({"reward_components", "error", "success", "messages", "instructions", "tools"})


class TrajectoryRecorder(gym.Wrapper):
    """Keep each episode as a :class:`Trajectory` and append it to a JSONL file when it ends.

    Args:
        env: the environment (stack this outside :class:`ToolCalling` and
            :class:`AnswerFormat` to record every action the agent wrote).
        output: a path (a :class:`TrajectoryWriter` is opened on it and closed by
            :meth:`close`), a writer you own and close yourself, or ``None`` (memory only).
        keep_last: how many finished trajectories :attr:`trajectories` keeps (0 for none).
        fsync: force each trajectory to disk, when ``output`` is a path.
        metadata: copied into every trajectory's ``metadata`` (e.g. the policy's name).

    Each turn keeps the text the agent saw and, for a ``{"text", "image"}`` observation, its
    image (``observation_image``, a copy taken when it was shown; the writer stores it as a
    file), and its ``info["error"]``; that and the reset's ``info["task_id"]`` are kept as text
    (an environment's number there as its text), so that the file reads back. A trajectory is
    stored when its episode terminates or is truncated (by a :class:`TurnLimit` outside this
    wrapper too: it calls :meth:`episode_truncated`), and also, marked ``truncated`` with an
    ``error`` note, when the episode is cut short: ``reset`` or ``close`` before it ended, or
    the environment raising in ``step`` (the exception is then re-raised, with a note if storing
    the episode failed too). Episodes cut short before their first step are not stored.
    ``reset(options={"group_id": g})`` tags the episode with a rollout group (text; an integer
    is stored as its text, anything else is a ``ValueError``); the key is removed before the
    options reach the environment. A ``reset`` after :meth:`close` reopens the file
    (appending) when the recorder opened it; close again when done.

    ``copy.deepcopy`` (mid-episode too) gives a recorder of the copied environment with its own
    episode so far and its own :attr:`trajectories`; it writes to the same writer (one file,
    never a copy of an open one) and does not own it: closing the copy leaves the file open,
    so close the original last.
    """

    def __init__(
        self,
        env: gym.Env,
        output: str | os.PathLike[str] | TrajectoryWriter | None = None,
        *,
        keep_last: int = 100,
        fsync: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if not is_int(keep_last) or keep_last < 0:
            raise ConfigError(f"TrajectoryRecorder: keep_last must be an integer >= 0, got {keep_last!r}")
        check_flag("TrajectoryRecorder", "fsync", fsync)
        super().__init__(env)
        self._owns_writer = output is not None and not isinstance(output, TrajectoryWriter)
        self.writer = TrajectoryWriter(output, fsync=fsync) if self._owns_writer else output
        self.metadata = dict(metadata or {})
        self._finished: deque[Trajectory] = deque(maxlen=keep_last)
        self._current: Trajectory | None = None
        self._observation = ""
        self._image: np.ndarray | None = None

    def __deepcopy__(self, memo: dict[int, Any]) -> TrajectoryRecorder:
        if self.writer is not None:
            memo[id(self.writer)] = self.writer  # shared, not copied (it holds a file and a lock)
        clone = type(self).__new__(type(self))
        memo[id(self)] = clone
        for name, value in self.__dict__.items():
            setattr(clone, name, copy.deepcopy(value, memo))
        clone._owns_writer = False
        return clone

    @property
    def trajectories(self) -> list[Trajectory]:
        """The last ``keep_last`` finished trajectories, oldest first."""
        return list(self._finished)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        options = dict(options or {})
        group_id = _group_id(options.pop("group_id", None))
        self._cut_short("reset() was called before the episode ended")
        if self._owns_writer and self.writer.closed:  # reset after close(): record on, appending
            self.writer = TrajectoryWriter(self.writer.path, fsync=self.writer.fsync)
        observation, info = self.env.reset(seed=seed, options=options)
        spec = self.env.unwrapped.spec
        self._current = Trajectory(
            env_id=spec.id if spec is not None else None,
            task_id=text_or_none(info.get("task_id")),
            seed=seed,
            group_id=group_id,
            instructions=str(info.get("instructions") or ""),
            metadata=dict(self.metadata),
        )
        self._observation, self._image = _observation_text(observation), _observation_image(observation)
        return observation, info

    def step(self, action: Any):
        start = time.perf_counter()
        try:
            observation, reward, terminated, truncated, info = self.env.step(action)
        except Exception as exc:
            try:
                self._cut_short(f"the environment raised {type(exc).__name__}: {exc}")
            except Exception as failure:  # noqa: BLE001 - the environment's error is the one to raise
                exc.add_note(f"TrajectoryRecorder could not store the episode: {type(failure).__name__}: {failure}")
            raise
        trajectory = self._current
        if trajectory is not None:
            trajectory.turns.append(Turn(
                index=len(trajectory.turns),
                observation=self._observation,
                action=action if isinstance(action, str) else json.dumps(json_safe(action)),
                reward=float(reward),
                reward_components=dict(info.get("reward_components") or {}),
                error=step_error(info),
                info=json_safe({k: v for k, v in info.items() if k not in _NOT_IN_TURN_INFO}),
                seconds=time.perf_counter() - start,
                observation_image=self._image,
            ))
            self._observation, self._image = _observation_text(observation), _observation_image(observation)
            if terminated or truncated:
                trajectory.terminated, trajectory.truncated = bool(terminated), bool(truncated)
                trajectory.success = bool(info.get("success", False))
                self._store(trajectory)
        return observation, reward, terminated, truncated, info

    def episode_truncated(self, info: dict[str, Any]) -> None:
        """Store the episode as truncated now: a :class:`TurnLimit` outside this wrapper calls it
        on the step it truncated (this wrapper saw that step as an ordinary one)."""
        trajectory = self._current
        if trajectory is not None and trajectory.turns:
            trajectory.terminated, trajectory.truncated = False, True
            trajectory.success = bool(info.get("success", False))
            self._store(trajectory)

    def close(self) -> None:
        """Store the episode cut short, then close the file (when this recorder opened it) and
        the environment; both are closed even when storing fails (a full disk), whose error is
        raised after."""
        try:
            self._cut_short("close() was called before the episode ended")
        finally:
            try:
                if self._owns_writer:
                    self.writer.close()
            finally:
                super().close()

    def _cut_short(self, why: str) -> None:
        trajectory = self._current
        if trajectory is None or not trajectory.turns:
            self._current = None
            return
        trajectory.truncated, trajectory.error = True, why
        self._store(trajectory)

    def _store(self, trajectory: Trajectory) -> None:
        self._current = None
        self._finished.append(trajectory)
        if self.writer is not None:
            self.writer.write(trajectory)


def _group_id(value: Any) -> str | None:
    """``reset``'s ``group_id`` as a trajectory keeps it (text or ``None``; its file holds
    nothing else): an integer as its text, anything else refused."""
    if value is None or isinstance(value, str):
        return value
    if is_int(value):
        return str(int(value))
    raise ValueError(f"TrajectoryRecorder: options['group_id'] must be text or an integer, got {value!r:.100}")


def _observation_text(observation: Any) -> str:
    if isinstance(observation, dict):
        return str(observation.get("text", ""))
    return str(observation)


def _observation_image(observation: Any) -> np.ndarray | None:
    """A copy of the image of a ``{"text", "image"}`` observation (an environment may draw on
    into the array it showed), or ``None``."""
    image = observation.get("image") if isinstance(observation, dict) else None
    return image.copy() if is_image(image) else None
