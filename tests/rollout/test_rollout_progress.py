"""The rollout engine's progress reporter: plain lines on standard error in a log, counting
successes, failed episodes and generated tokens (the trainer's use is in tests/train/test_progress.py)."""

from __future__ import annotations

import io

from rich.console import Console

from agentgym.policies.random import RandomPolicy
from agentgym.rollout import RolloutConfig, Task, rollout
from agentgym.rollout.progress import RolloutProgress
from agentgym.trajectory import Trajectory, Turn


def test_lines_count_failures_and_tokens():
    out = io.StringIO()
    now = [0.0]
    with RolloutProgress("eval", 2, Console(file=out, force_terminal=False, width=200),
                         clock=lambda: now[0]) as progress:
        now[0] = 10.0
        progress.episode_finished(Trajectory(success=True, turns=[Turn(0, "", "a", action_span=(0, 50))]))
        progress.episode_finished(Trajectory(error="policy error: refused"))
    assert (progress.done, progress.successes, progress.failures, progress.tokens) == (2, 1, 1, 50)
    assert out.getvalue().splitlines()[-1] == "eval: 2/2 episodes, success 50%, 1 failed, 5 tok/s, 10 s"


def test_a_rollout_in_a_log_prints_its_label_and_total(capsys):
    tasks = [Task("games/GuessTheNumber-v0", seed) for seed in range(3)]
    result = rollout(RandomPolicy(seed=0), tasks, RolloutConfig(group_size=2, max_turns=2), progress="probe")
    err = capsys.readouterr().err  # pytest's capture is not a terminal: plain lines
    assert f"probe: 6/6 episodes, success {result.stats['success_rate']:.0%}" in err
    quiet = rollout(RandomPolicy(seed=0), tasks, RolloutConfig(max_turns=2), progress=False)
    assert len(quiet.trajectories) == 3 and capsys.readouterr().err == ""


def test_tokens_counted_turn_by_turn_are_not_counted_again_when_the_episode_ends():
    out = io.StringIO()
    with RolloutProgress("eval", 1, Console(file=out, force_terminal=False, width=200)) as progress:
        trajectory = Trajectory(turns=[Turn(0, "", "a", action_span=(0, 30))])
        progress.turn_played(trajectory, trajectory.turns[0])
        assert progress.tokens == 30 and out.getvalue() == ""  # counted at once; lines come at episode ends
        trajectory.turns.append(Turn(1, "", "b", action_span=(40, 52)))  # a turn the reporter was not told of
        progress.episode_finished(trajectory)
    assert progress.tokens == 42


def test_a_label_with_brackets_prints_as_written_in_lines_and_on_the_bar():
    for terminal in (False, True):
        out = io.StringIO()
        with RolloutProgress("eval [/x] [bold]", 1, Console(file=out, force_terminal=terminal, width=200)) as progress:
            progress.episode_finished(Trajectory(success=True))
        if terminal:  # the bar drew the label (escaped: no MarkupError, no tag swallowed)
            assert "eval [/x] [bold]" in out.getvalue()
        else:
            assert out.getvalue().startswith("eval [/x] [bold]: 1/1 episodes")
