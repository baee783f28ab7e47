"""Rollout progress while training: plain lines in a log, a bar on a terminal, and the trainer
reporting its evaluations and step rollouts (a real tiny run, its console output captured)."""

from __future__ import annotations

import io
import re

from rich.console import Console

from agentgym.train import Trainer
from agentgym.rollout.progress import RolloutProgress
from agentgym.trajectory import Trajectory
from tests.train.conftest import learner, world_config


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _episodes(successes: list[bool]) -> list[Trajectory]:
    return [Trajectory(env_id="test/None-v0", seed=i, success=won) for i, won in enumerate(successes)]


def _plain_console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=False, width=160), out


def test_piped_output_gets_a_line_at_each_quarter_with_the_running_success_rate():
    console, out = _plain_console()
    clock = _Clock()
    with RolloutProgress("eval before training", 8, console, clock=clock) as progress:
        assert not progress.live
        for episode in _episodes([True, False, False, False, True, True, False, False]):
            clock.now += 1.5
            progress.episode_finished(episode)
    assert out.getvalue().splitlines() == [
        "eval before training: 2/8 episodes, success 50%, 3 s",
        "eval before training: 4/8 episodes, success 25%, 6 s",
        "eval before training: 6/8 episodes, success 50%, 9 s",
        "eval before training: 8/8 episodes, success 38%, 12 s",
    ]


def test_episodes_ending_together_do_not_print_every_quarter():
    console, out = _plain_console()
    clock = _Clock()
    with RolloutProgress("step 1/8 rollout", 8, console, clock=clock) as progress:
        clock.now += 5.0
        for episode in _episodes([True, False, False, False, True, True, False, False]):
            progress.episode_finished(episode)  # a batch of one-turn episodes: all at once
    assert out.getvalue().splitlines() == ["step 1/8 rollout: 2/8 episodes, success 50%, 5 s",
                                           "step 1/8 rollout: 8/8 episodes, success 38%, 5 s"]


def test_a_slow_rollout_prints_between_quarters_once_the_interval_has_passed():
    console, out = _plain_console()
    clock = _Clock()
    with RolloutProgress("step 1/3 rollout", 100, console, interval_seconds=30.0, clock=clock) as progress:
        for episode in _episodes([False] * 3):
            clock.now += 31.0
            progress.episode_finished(episode)
        clock.now += 1.0
        progress.episode_finished(_episodes([True])[0])  # 1 s after the last line: silent
    assert out.getvalue().splitlines() == [
        "step 1/3 rollout: 1/100 episodes, success 0%, 31 s",
        "step 1/3 rollout: 2/100 episodes, success 0%, 62 s",
        "step 1/3 rollout: 3/100 episodes, success 0%, 93 s",
    ]


def test_a_rollout_smaller_than_four_episodes_still_prints_its_last_line():
    console, out = _plain_console()
    with RolloutProgress("eval after step 2", 1, console) as progress:
        progress.episode_finished(_episodes([True])[0])
    assert out.getvalue().splitlines() == ["eval after step 2: 1/1 episodes, success 100%, 0 s"]


def test_a_terminal_gets_a_bar_not_lines():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    with RolloutProgress("eval before training", 4, console) as progress:
        assert progress.live
        for episode in _episodes([True, False, True, True]):
            progress.episode_finished(episode)
        progress._bar.refresh()
        drawn = out.getvalue()
    assert "eval before training" in drawn and "4/4" in drawn and "success 75%" in drawn
    assert "episodes, success 75%, " not in drawn  # the plain line format is for logs only
    assert progress.done == 4 and progress.success_rate == 0.75


def test_training_piped_to_a_log_reports_every_evaluation_and_step_rollout(tmp_path):
    out = io.StringIO()  # not a terminal: plain lines, as when piped to a file
    config = world_config(tmp_path / "run", run={"steps": 2, "seed": 0, "out_dir": str(tmp_path / "run")},
                          eval={"every": 1, "tasks": 4, "first_seed": 50_000},
                          logging={"console": True, "plot": False})
    Trainer(config, stream=out, **learner()).train()
    text = out.getvalue()
    line = r"{}: (\d+)/(\d+) episodes, success \d+%(?:, \d+ failed)?(?:, \d+ tok/s)?, \d+ s"
    for label, total in (("eval before training", 4), ("step 1/2 rollout", 16), ("eval after step 1", 4),
                         ("step 2/2 rollout", 16), ("eval after step 2", 4)):
        counts = [(int(done), int(of)) for done, of in re.findall(line.format(re.escape(label)), text)]
        assert counts, f"no progress line for {label!r} in:\n{text}"
        assert all(of == total for _, of in counts) and counts[-1][0] == total, (label, counts)
    # the progress of the first evaluation comes before the table's first row
    assert text.index("eval before training: 4/4") < text.index("reward")
