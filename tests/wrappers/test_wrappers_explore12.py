"""Wrappers, exploratory round 12: defects found by probing the wrappers' contracts."""

from __future__ import annotations

import pytest

from agentgym import Feedback, LLMEnv
from agentgym.wrappers import TrajectoryRecorder


class _Held(LLMEnv):
    """An environment that holds a resource for each episode and counts its releases."""

    instructions = "Say anything."

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.released = 0

    def acquire_resources(self):
        pass

    def release_resources(self):
        self.released += 1

    def new_episode(self, options):
        return "start"

    def play(self, action):
        return Feedback("go on", {}, terminated=False)


def test_a_recorder_whose_last_write_fails_still_closes_its_file_and_the_environment(resources):
    """close() stores the episode cut short; when that write failed (a full disk: /dev/full),
    close raised before closing the recorder's file or the environment: the file descriptor
    stayed open and the episode's resources were never released."""
    inner = _Held()
    env = TrajectoryRecorder(inner, "/dev/full")
    env.reset(seed=0)
    env.step("hello")
    with pytest.raises(OSError):
        env.close()
    assert env.writer.closed
    assert inner.released == 1 and not inner.episode_active
    resources.assert_released()
    env.close()  # closing again is quiet: the episode was already stored (or lost) once


def test_answer_format_refuses_a_step_once_the_episode_was_ended_from_outside():
    """Inside a TurnLimit (as make(wrappers=[AnswerFormat]) stacks it) a step after the
    truncating one, or after close(), was answered with a format error (a penalty, and a second
    truncation with turns_left -1) when the action had no move; a well-formed one raised
    ResetNeeded. Both now raise ResetNeeded, as ToolCalling does."""
    from gymnasium.error import ResetNeeded

    from agentgym.wrappers import AnswerFormat, TurnLimit

    env = TurnLimit(AnswerFormat(_Held()), 1)
    env.reset(seed=0)
    assert env.step("<answer>hi</answer>")[3]  # truncated
    for action in ("no move here", "<answer>hi</answer>"):
        with pytest.raises(ResetNeeded):
            env.step(action)
    env.reset(seed=1)
    assert env.step("no move here")[0].startswith("Format error")  # a new episode plays on
    env.close()

    env = AnswerFormat(_Held())
    env.reset(seed=0)
    env.close()
    with pytest.raises(ResetNeeded):
        env.step("no move here")
