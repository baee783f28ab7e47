"""``agentgym eval --env-runtime``: the same evaluation with the environments in child processes."""

from __future__ import annotations

import json

from agentgym.cli import main


def test_eval_runs_the_environments_in_child_processes_and_records_it(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["eval", "--policy", "oracle", "--suite", "quick-v0", "--tasks", "1", "--env-runtime", "process",
                 "--out", str(out), "--no-progress"]) == 0
    settings = json.loads((out / "run.json").read_text())
    results = json.loads((out / "results.json").read_text())
    assert settings["env_runtime"] == "process"
    assert results["overall"]["success_rate"] == 1.0 and "0 errors" in capsys.readouterr().out


def test_a_wrong_runtime_is_a_usage_error(capsys):
    assert main(["eval", "--env-runtime", "cluster"]) == 2
    assert "env_runtime must be 'thread', 'process', 'ray', a server URL" in capsys.readouterr().err
