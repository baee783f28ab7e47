"""Evaluation runs started side by side never share a run directory, and a run directory's
hand-edited files are one-line errors."""

from __future__ import annotations

import importlib
import json
import os
import shutil

import pytest

from agentgym.cli import main
from agentgym.eval import evaluate
from agentgym.eval.evaluate import default_run_dir, summarise_run
from agentgym.policies.specs import make_policy

evaluate_module = importlib.import_module("agentgym.eval.evaluate")  # the package exports evaluate() by that name
results_module = importlib.import_module("agentgym.eval.results")


def test_a_run_started_in_the_directory_while_the_policy_loaded_is_not_written_over(tmp_path, monkeypatch):
    """Two ``agentgym eval --out X`` at once both found X unused before their (slow) model load,
    then both wrote run.json and appended to one trajectories.jsonl: a silent mix of two runs."""
    out = tmp_path / "run"
    others = '{"suite": "the other run"}\n'

    def another_run_starts_meanwhile(spec):
        out.mkdir()
        (out / "run.json").write_text(others)
        return make_policy(spec)

    monkeypatch.setattr(evaluate_module, "make_policy", another_run_starts_meanwhile)
    with pytest.raises(ValueError, match=r"already holds a run \(run.json"):
        evaluate("oracle", "quick-v0", tasks=1, out_dir=out, progress=False)
    assert (out / "run.json").read_text() == others
    assert sorted(path.name for path in out.iterdir()) == ["run.json"]


def test_default_run_directories_named_in_the_same_second_are_distinct(tmp_path):
    """The default name holds the time to the second: evaluations started together (a script's
    loop with ``&``) got the same directory while none had made it yet."""
    first = default_run_dir("quick-v0", "oracle", root=tmp_path)
    second = default_run_dir("quick-v0", "oracle", root=tmp_path)
    assert first != second and first.is_dir() and second.is_dir()
    assert not any(first.iterdir())


def test_a_long_policy_spec_makes_a_run_directory_the_file_system_takes(tmp_path):
    # hf:<a path of 250 characters> was OSError: File name too long, after the policy loaded.
    spec = "hf:" + "/models" * 40 + "/my-model"
    run = default_run_dir("quick-v0", spec, root=tmp_path)
    assert run.is_dir() and len(run.name) < 200 and "my-model" in run.name


def test_a_failed_eval_leaves_no_default_run_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "earlier").mkdir()
    assert main(["eval", "--policy", f"hf:{tmp_path / 'nowhere'}", "--tasks", "1", "--no-progress"]) == 2
    assert "nowhere" in capsys.readouterr().err
    assert [path.name for path in (tmp_path / "runs").iterdir()] == ["earlier"]


@pytest.mark.parametrize("text", ["[1, 2]", '"settings"', "null"])
def test_a_run_json_that_is_no_object_is_one_line(tmp_path, oracle_run, capsys, text):
    run = tmp_path / "run"
    run.mkdir()
    (run / "trajectories.jsonl").write_bytes((oracle_run.run_dir / "trajectories.jsonl").read_bytes())
    (run / "run.json").write_text(text)
    with pytest.raises(ValueError, match=r"run.json is not a valid settings file: .*JSON object"):
        summarise_run(run)
    assert main(["report", str(run)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("tasks", ["2", 1.5, True, 0])
def test_evaluate_names_a_task_count_of_the_wrong_type(tasks):
    with pytest.raises(ValueError, match=f"tasks must be a positive integer, got {tasks!r}"):
        evaluate("oracle", "quick-v0", tasks=tasks, progress=False)


def test_evaluate_names_a_suite_or_config_of_the_wrong_type():
    with pytest.raises(TypeError, match="suite must be a Suite or a suite name, got None"):
        evaluate("oracle", None, progress=False)
    with pytest.raises(TypeError, match=r"config must be a RolloutConfig, got \{'max_turns': 3\}"):
        evaluate("oracle", "quick-v0", config={"max_turns": 3}, progress=False)


@pytest.mark.parametrize("damage", ["not JSON", "a field missing"])
def test_report_rebuilds_a_results_file_it_cannot_read(tmp_path, oracle_run, capsys, damage):
    """``agentgym report`` (re)writes results from the trajectories, 'after an upgrade, say': a
    results.json it could not read (damaged, or of another format) stopped it instead."""
    run = tmp_path / "run"
    shutil.copytree(oracle_run.run_dir, run)
    results = run / "results.json"
    if damage == "not JSON":
        results.write_text('{"suite": ')
    else:
        data = json.loads(results.read_text())
        del data["overall"]
        results.write_text(json.dumps(data))
    assert main(["report", str(run)]) == 0
    err = capsys.readouterr().err
    assert f"agentgym report: warning: {results} is not a valid results file" in err
    assert "it is rebuilt from trajectories.jsonl" in err
    rebuilt = json.loads(results.read_text())
    assert rebuilt["overall"]["episodes"] == oracle_run.results.overall.episodes and rebuilt["complete"]


def test_a_report_never_removes_the_temporary_file_another_writer_is_about_to_rename(tmp_path, oracle_run,
                                                                                       monkeypatch):
    """``agentgym report RUN`` clears the temporary files a killed writer left; it also removed
    those of a writer still at work (a second report, or the run's own evaluation writing its
    reports at the end), whose rename then failed: 'No such file or directory', no results.json."""
    run = tmp_path / "run"
    shutil.copytree(oracle_run.run_dir, run)
    (run / ".report.md.dead.tmp").write_text("# cut")  # left by a writer that was killed
    real_replace = os.replace
    others: list[str] = []

    def another_report_meanwhile(source, destination):
        if not others:  # another `agentgym report RUN` runs in the instant before this rename
            others.append(str(source))
            summarise_run(run)
        return real_replace(source, destination)

    monkeypatch.setattr(results_module.os, "replace", another_report_meanwhile)
    summarise_run(run)
    assert others and not list(run.glob(".*.tmp"))
    assert json.loads((run / "results.json").read_text())["overall"]["episodes"] == oracle_run.results.overall.episodes
