"""The command line after a Ctrl-C: ``agentgym eval`` says where the finished episodes are and
how to summarise them (a default run directory's name holds the time: the user cannot guess it)."""

from __future__ import annotations

import importlib

from agentgym.cli import main
from agentgym.rollout import rollout as real_rollout

evaluate_module = importlib.import_module("agentgym.eval.evaluate")  # the package exports evaluate() by that name


def test_an_interrupted_eval_names_its_run_directory_and_the_report_command(tmp_path, monkeypatch, capsys):
    def rollout_then_ctrl_c(policy, tasks, config, **kwargs):
        real_rollout(policy, tasks[:1], config, **kwargs)  # one episode reaches trajectories.jsonl
        raise KeyboardInterrupt

    monkeypatch.setattr(evaluate_module, "rollout", rollout_then_ctrl_c)
    monkeypatch.chdir(tmp_path)
    assert main(["eval", "--suite", "quick-v0", "--policy", "oracle", "--no-progress"]) == 130
    err = capsys.readouterr().err
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert (run_dir / "trajectories.jsonl").stat().st_size > 0
    assert f"agentgym report {run_dir.relative_to(tmp_path)}" in err
    assert main(["report", str(run_dir)]) == 0
    assert "Incomplete run: 1 of" in capsys.readouterr().err


def test_compare_names_a_different_task_count_of_env_runs(tmp_path, capsys):
    """``agentgym eval --env ID --tasks 1`` and ``--tasks 2`` played other seeds (0 against 0-1):
    compare listed no difference, since --env runs recorded no task count."""
    for count in ("1", "2"):
        assert main(["eval", "--env", "games/Wordle-v0", "--policy", "oracle", "--tasks", count, "--no-progress",
                     "--out", str(tmp_path / count)]) == 0
    capsys.readouterr()
    assert main(["compare", str(tmp_path / "1"), str(tmp_path / "2")]) == 0
    assert "settings differ: tasks_per_entry: 1 (#1) vs 2 (#2)" in capsys.readouterr().out
