"""``agentgym eval -n K --temperature 0`` with a model policy warns that the K rollouts of a
task are alike (pass@K is pass@1); the random and oracle policies are not warned about."""

from __future__ import annotations

from agentgym.cli import main


def test_greedy_rollouts_of_a_model_are_warned_about(tmp_path, capsys):
    code = main(["eval", "--env", "games/GuessTheNumber-v0", "--policy", f"hf:{tmp_path / 'no-model'}", "-n", "3",
                 "--temperature", "0", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2 and "warning: -n 3 with --temperature 0" in err and "pass@3 is pass@1" in err


def test_the_random_policy_is_not_warned_about(tmp_path, capsys):
    assert main(["eval", "--env", "games/GuessTheNumber-v0", "--policy", "random:0", "-n", "2", "--tasks", "1",
                 "--temperature", "0", "--no-progress", "--out", str(tmp_path / "run")]) in (0, 1)
    assert "--temperature 0" not in capsys.readouterr().err
