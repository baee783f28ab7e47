"""Runs that stop early: report files are written atomically with results.json last, an
interrupted run is recognisable and `agentgym report` summarises it; progress lines for logs."""

import json
import os

import pytest

import agentgym
from agentgym.cli import main
from agentgym.eval import load_results
from agentgym.eval import results as results_module
from agentgym.eval.evaluate import summarise_run
from agentgym.suites import env_label
from agentgym.trajectory import Trajectory, TrajectoryWriter


def _eval(capsys, out, *extra):
    code = main(["eval", "--suite", "quick-v0", "--policy", "random:2", "--tasks", "1", "--out", str(out), "--no-progress", *extra])
    capsys.readouterr()
    return code


def test_a_kill_while_writing_report_html_leaves_no_half_file_and_no_results(capsys, tmp_path, monkeypatch):
    real_replace = os.replace

    def killed_at_html(source, destination):
        if str(destination).endswith("report.html"):
            raise KeyboardInterrupt  # as a signal arriving between writing the page and renaming it
        return real_replace(source, destination)

    monkeypatch.setattr(results_module.os, "replace", killed_at_html)
    out = tmp_path / "run"
    assert _eval(capsys, out) == 130
    monkeypatch.setattr(results_module.os, "replace", real_replace)
    # report.md is whole, report.html and results.json do not exist, no temporary file is left
    assert sorted(p.name for p in out.iterdir()) == ["report.md", "run.json", "trajectories.jsonl"]
    assert (out / "report.md").read_text().rstrip().endswith("```")  # it ends with its last sample
    with pytest.raises(ValueError, match="interrupted or crashed.*agentgym report"):
        load_results(out)
    assert main(["compare", str(out)]) == 2 and "agentgym report" in capsys.readouterr().err
    # the run is summarised afterwards: every episode had finished, so it is complete
    assert main(["report", str(out)]) == 0
    captured = capsys.readouterr()
    assert "4 episodes" in captured.out and "report: " in captured.out
    data = json.loads((out / "results.json").read_text())
    assert data["complete"] is True and data["overall"]["episodes"] == data["expected_episodes"] == 4
    assert "<h2>Sample episodes</h2>" in (out / "report.html").read_text()


def test_report_summarises_the_finished_episodes_of_a_crashed_run(capsys, tmp_path):
    out = tmp_path / "run"
    assert _eval(capsys, out, "-n", "2") == 0
    lines = (out / "trajectories.jsonl").read_text().splitlines()
    for name in ("results.json", "report.md", "report.html"):
        (out / name).unlink()
    # a crash: only 5 of the 8 episodes finished, and the 6th was being written
    (out / "trajectories.jsonl").write_text("\n".join(lines[:5]) + "\n" + lines[5][:40])
    (out / ".report.html.abc.tmp").write_text("<html")  # a writer killed before its rename
    assert main(["report", str(out)]) == 0
    captured = capsys.readouterr()
    assert "skipped 1 unreadable line(s) of trajectories.jsonl [6]" in captured.err
    assert "Incomplete run: 5 of 8 episodes finished" in captured.err
    results = load_results(out)
    assert (results.complete, results.overall.episodes, results.expected_episodes) == (False, 5, 8)
    assert results.settings["max_turns"] is None and results.policy == "random:2"
    suite_order = [entry.label for entry in agentgym.get_suite("quick-v0").entries]
    finished = {env_label(episode["env_id"], episode["metadata"]["env_kwargs"])
                for episode in map(json.loads, lines[:5])}
    assert [row.label for row in results.environments] == [label for label in suite_order if label in finished]
    assert "> **warning**: Incomplete run: 5 of 8 episodes" in (out / "report.md").read_text()
    assert not list(out.glob(".*.tmp"))
    # compare accepts it now, and says it is incomplete
    assert main(["compare", "--markdown", str(out)]) == 0
    assert "is incomplete: 5 of 8 episodes" in capsys.readouterr().out


def test_report_of_a_directory_without_settings_or_episodes(capsys, tmp_path):
    with TrajectoryWriter(tmp_path / "trajectories.jsonl") as writer:
        writer.write(Trajectory(env_id="games/Wordle-v0", seed=0, policy="mine", success=True))
    evaluation = summarise_run(tmp_path)
    assert (evaluation.results.suite, evaluation.results.policy, evaluation.results.complete) == ("unknown", "mine",
                                                                                                   False)
    assert main(["report", str(tmp_path / "nothing")]) == 2
    assert "nothing to summarise" in capsys.readouterr().err


def test_eval_prints_progress_lines_when_stdout_is_not_a_terminal(capsys, tmp_path):
    assert main(["eval", "--suite", "quick-v0", "--policy", "random:2", "--tasks", "1", "--out", str(tmp_path / "run")]) == 0
    err = capsys.readouterr().err  # pytest's capture is not a terminal
    assert "eval: 4/4 episodes, success" in err
