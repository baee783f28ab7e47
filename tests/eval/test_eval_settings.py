"""Every setting of a run is recorded (run.json, results.json, the reports) and ``compare`` names
the settings that differ, e.g. a 4-turn run beside full-budget runs."""

import json

from agentgym import __version__
from agentgym.cli import main
from agentgym.eval import evaluate, load_runs, markdown_comparison
from agentgym.eval.compare import settings_differences
from agentgym.eval.results import RunResults
from agentgym.policies.base import SamplingParams
from agentgym.rollout import RolloutConfig


def test_results_json_and_reports_record_the_settings(capsys, tmp_path):
    out = tmp_path / "run"
    assert main(["eval", "--suite", "quick-v0", "--policy", "random:3", "--tasks", "1", "-n", "2", "--max-turns", "4", "--max-tokens", "64",
                 "--temperature", "0.7", "--top-p", "0.9", "--seed", "11", "--concurrency", "3",
                 "--out", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    settings = json.loads((out / "results.json").read_text())["settings"]
    assert {name: settings[name] for name in ("suite", "policy", "rollouts_per_task", "tasks_per_entry", "max_turns",
                                              "max_tokens", "temperature", "top_p", "seed", "concurrency",
                                              "agentgym_version")} == {
        "suite": "quick-v0", "policy": "random:3", "rollouts_per_task": 2, "tasks_per_entry": 1, "max_turns": 4,
        "max_tokens": 64, "temperature": 0.7, "top_p": 0.9, "seed": 11, "concurrency": 3,
        "agentgym_version": __version__}
    assert settings["started_at"] and settings["expected_episodes"] == 8
    # run.json holds the same settings, written before the first episode
    assert json.loads((out / "run.json").read_text())["max_turns"] == 4
    # the 4-turn budget is what the episodes actually had
    assert all(len(json.loads(line)["turns"]) <= 4 for line in (out / "trajectories.jsonl").read_text().splitlines())
    markdown = (out / "report.md").read_text()
    for line in ("- **max turns**: 4", "- **max tokens**: 64", "- **temperature**: 0.7", "- **top p**: 0.9",
                 "- **seed**: 11", "- **concurrency**: 3", f"- **agentgym version**: {__version__}", "- **started**: "):
        assert line in markdown, line
    assert "<dt>max turns</dt><dd>4</dd>" in (out / "report.html").read_text()


def test_compare_says_which_settings_differ(capsys, tmp_path):
    short = evaluate("random:1", "quick-v0", tasks=1, config=RolloutConfig(max_turns=4), out_dir=tmp_path / "short",
                     progress=False)
    full = evaluate("random:1", "quick-v0", tasks=1, out_dir=tmp_path / "full", progress=False)
    hot = evaluate("random:1", "quick-v0", tasks=1, sampling=SamplingParams(temperature=0.2),
                   out_dir=tmp_path / "hot", progress=False)
    runs = load_runs([short.run_dir, full.run_dir, hot.run_dir])
    assert settings_differences(runs) == ["max_turns: 4 (#1) vs registered budget (#2, #3)",
                                          "temperature: 1.0 (#1, #2) vs 0.2 (#3)"]
    assert "- settings differ: max_turns: 4 (#1) vs registered budget (#2, #3)" in markdown_comparison(runs)
    assert main(["compare", str(short.run_dir), str(full.run_dir)]) == 0
    captured = capsys.readouterr()
    assert "not like for like:\n  settings differ: max_turns: 4 (#1) vs registered budget (#2)" in captured.out
    assert "max_turns 4" in captured.out and "max_turns registered budget" in captured.out  # the legend
    assert "not like for like (1 difference" in captured.err
    # runs with the same settings compare without a block
    assert main(["compare", str(full.run_dir), str(full.run_dir)]) == 0
    assert "not like for like" not in capsys.readouterr().out


def test_a_schema_1_results_file_compares_with_its_unrecorded_settings_named(oracle_run, tmp_path):
    data = oracle_run.results.to_dict()
    for key in ("settings", "complete", "expected_episodes"):
        del data[key]
    data["schema_version"] = 1
    old = tmp_path / "old"
    old.mkdir()
    (old / "results.json").write_text(json.dumps(data))
    assert RunResults.from_dict(data).settings["temperature"] == 1.0
    lines = settings_differences(load_runs([old, oracle_run.run_dir]))
    assert "max_turns: not recorded (#1) vs registered budget (#2)" in lines
    assert not any(line.startswith("temperature") for line in lines)
