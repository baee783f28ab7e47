"""``agentgym eval`` end to end: the table it prints and the run directory it writes."""

import json
import sys

import agentgym
from agentgym.cli import main

QUICK_LABELS = [entry.label for entry in agentgym.get_suite("quick-v0").entries]


def run_cli(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_eval_writes_a_timestamped_run_directory_and_prints_the_table(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run_cli(capsys, "eval", "--suite", "quick-v0", "--policy", "oracle", "--no-progress")
    assert code == 0
    [run_dir] = (tmp_path / "runs").iterdir()
    assert run_dir.name.startswith("quick-v0-oracle-")
    assert {p.name for p in run_dir.iterdir()} == {"run.json", "trajectories.jsonl", "results.json", "report.md",
                                                "report.html"}
    for header in ("success [95% CI]", "return ± se", "pass@1", "avg@1", "turns", "tokens", "invalid",
                   "errors", "s/episode"):
        assert header in out
    for label in QUICK_LABELS:
        assert f"{label} " in out  # the [easy] suffix is shown, not eaten as markup
    assert "overall" in out and "100% [76–100]" in out and "12 episodes in" in out
    assert f"report: {run_dir.relative_to(tmp_path) / 'report.html'}" in out


def test_eval_sampling_options_and_rollouts_reach_the_results(capsys, tmp_path):
    out_dir = tmp_path / "run"
    code, out, _ = run_cli(capsys, "eval", "--suite", "quick-v0", "--policy", "random:3", "-n", "3",
                           "--tasks", "1", "--temperature", "0.5", "--max-tokens", "32", "--top-p", "0.9",
                           "--seed", "5", "--out", str(out_dir), "--no-progress")
    assert code == 0 and "pass@3" in out and "avg@3" in out and "(3 rollouts per task)" in out
    results = json.loads((out_dir / "results.json").read_text())
    assert (results["policy"], results["rollouts_per_task"], results["tasks_per_entry"]) == ("random:3", 3, 1)
    assert {k: results["sampling"][k] for k in ("temperature", "max_tokens", "top_p", "seed")} == {
        "temperature": 0.5, "max_tokens": 32, "top_p": 0.9, "seed": 5}
    assert [row["episodes"] for row in results["environments"]] == [3, 3, 3, 3]
    lines = (out_dir / "trajectories.jsonl").read_text().splitlines()
    assert len(lines) == 12 and len({json.loads(line)["group_id"] for line in lines}) == 4


def test_eval_refuses_bad_arguments_without_leaving_a_directory(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for argv, message in [(["-n", "0"], "positive"), (["--policy", "gpt-9"], "unknown policy"),
                          (["--tasks", "0"], "positive")]:
        code, _, err = run_cli(capsys, "eval", "--policy", "oracle", *argv)
        assert code == 2 and message in err, argv
    assert not (tmp_path / "runs").exists()


def test_eval_refuses_to_overwrite_a_run(capsys, tmp_path):
    argv = ["eval", "--policy", "oracle", "--tasks", "1", "--out", str(tmp_path), "--no-progress"]
    assert run_cli(capsys, *argv)[0] == 0
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and "already holds a run" in err


def test_eval_without_matplotlib_hints_how_to_get_the_plots(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # makes the import fail
    code, out, err = run_cli(capsys, "eval", "--policy", "oracle", "--tasks", "1", "--out", str(tmp_path),
                             "--no-progress")
    assert code == 0 and "pip install 'agentgym[eval]'" in err and "report:" in out
    assert "data:image/png" not in (tmp_path / "report.html").read_text()
