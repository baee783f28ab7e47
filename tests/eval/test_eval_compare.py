"""Comparing real runs: the oracle and a random policy on quick-v0."""

import json

import pytest

import agentgym
from agentgym.cli import main
from agentgym.eval import evaluate, load_runs, markdown_comparison
from agentgym.eval.compare import comparison_rows, warnings_for

QUICK_LABELS = [entry.label for entry in agentgym.get_suite("quick-v0").entries]


def test_rows_pair_each_environment_across_runs(oracle_run, random_run):
    runs = load_runs([oracle_run.run_dir, random_run.run_dir])
    rows = comparison_rows(runs)
    assert [label for label, _ in rows] == QUICK_LABELS + ["overall"]
    for label, (oracle, random) in rows[:-1]:
        assert oracle.label == random.label == label
        assert oracle.success_rate == 1.0 and random.episodes == 6
    assert rows[-1][1][0].episodes == 12 and rows[-1][1][1].episodes == 24
    # same suite and budget: the only caveat is the different number of rollouts per task
    assert warnings_for(runs) == ["settings differ: rollouts_per_task: 1 (#1) vs 2 (#2)"]


def test_markdown_comparison_of_oracle_and_random(oracle_run, random_run):
    text = markdown_comparison(load_runs([oracle_run.run_dir, random_run.run_dir]))
    lines = text.splitlines()
    assert lines[0] == ("| environment | #1 oracle: success [95% CI] | #1 oracle: return | #1 oracle: turns "
                        "| #2 random:7: success [95% CI] | #2 random:7: return | #2 random:7: turns |")
    random_rows = {row["label"]: row for row in
                   json.loads((random_run.run_dir / "results.json").read_text())["environments"]}
    for label, line in zip(QUICK_LABELS, lines[2:]):
        row = random_rows[label]
        assert line.startswith(f"| {label} | 100% [44–100] | 1.00 |")  # oracle: 3 of 3, return 1
        assert f"| {row['success_rate']:.0%} [" in line and line.endswith(f"| {row['mean_turns']:.1f} |")
    overall = random_run.results.overall
    assert lines[2 + len(QUICK_LABELS)].startswith("| **overall** | **100% [76–100]** |")
    assert f"**{overall.success_rate:.0%} [" in lines[2 + len(QUICK_LABELS)]
    assert f"- #1 {oracle_run.run_dir}: oracle on quick-v0, 12 episodes, k=1" in text


def test_an_environment_missing_from_a_run_shows_a_dash(oracle_run, tmp_path):
    agentgym.register_suite("eval-compare-test-v0", [("games/GuessTheNumber-v0", [0], {"difficulty": "easy"}),
                                                      ("games/TicTacToe-v0", [0], {"difficulty": "hard"})])
    other = evaluate("oracle", "eval-compare-test-v0", out_dir=tmp_path / "other", progress=False)
    runs = load_runs([oracle_run.run_dir, other.run_dir])
    rows = dict(comparison_rows(runs))
    assert list(rows)[-2:] == ["games/TicTacToe-v0[hard]", "overall"]
    assert rows["games/TicTacToe-v0[hard]"][0] is None and rows["games/Wordle-v0[easy]"][1] is None
    assert "| games/TicTacToe-v0[hard] | — | — | — | 100% [21–100] |" in markdown_comparison(runs)
    assert "settings differ: suite: quick-v0 (#1) vs eval-compare-test-v0 (#2)" in warnings_for(runs)


def test_compare_command(capsys, oracle_run, random_run):
    assert main(["compare", str(oracle_run.run_dir), str(random_run.run_dir)]) == 0
    captured = capsys.readouterr()
    for label in QUICK_LABELS:  # labels with brackets are printed as text, not rich markup
        assert label in captured.out
    assert "#2 random:7" in captured.out and f"#1 {oracle_run.run_dir}" in captured.out
    assert "not like for like (1 difference" in captured.err
    assert captured.out.rstrip().endswith("not like for like:\n  settings differ: rollouts_per_task: 1 (#1) vs 2 (#2)")
    assert main(["compare", "--markdown", str(random_run.run_dir)]) == 0
    assert capsys.readouterr().out.startswith("| environment | #1 random:7: success [95% CI] |")


@pytest.mark.parametrize("make_bad", [lambda d: None, lambda d: (d / "results.json").write_text("{oops")],
                         ids=["no results", "damaged results"])
def test_compare_rejects_a_directory_without_results(capsys, tmp_path, make_bad):
    make_bad(tmp_path)
    assert main(["compare", str(tmp_path)]) == 2
    assert "results" in capsys.readouterr().err


def test_compare_says_a_missing_directory_does_not_exist(capsys, tmp_path):
    assert main(["compare", str(tmp_path / "typo")]) == 2
    assert f"{tmp_path / 'typo'} does not exist" in capsys.readouterr().err


def test_compare_draws_a_bar_per_run_and_environment(capsys, oracle_run, random_run, tmp_path):
    from matplotlib.patches import Rectangle
    from PIL import Image

    from agentgym.eval.plots import comparison_figure

    runs = load_runs([oracle_run.run_dir, random_run.run_dir])
    rows = comparison_rows(runs)
    figure = comparison_figure(rows, ["#1 oracle", "#2 random:7"])
    (axes,) = figure.axes
    bars = [p for p in axes.patches if isinstance(p, Rectangle)]
    # One bar per (run, environment) row, overall included, its length the success rate.
    assert sorted(round(b.get_width(), 6) for b in bars) == sorted(
        round(m.success_rate, 6) for _, cells in rows for m in cells)
    assert [t.get_text() for t in axes.get_yticklabels()] == QUICK_LABELS + ["overall"]
    assert [t.get_text() for t in figure.legends[0].get_texts()] == ["#1 oracle", "#2 random:7"]

    # A run that did not play an environment leaves its slot empty; rows must match the runs.
    one_short = [(label, [cells[0], None]) for label, cells in rows]
    assert len([p for p in comparison_figure(one_short, ["a", "b"]).axes[0].patches]) == len(rows)
    with pytest.raises(ValueError, match="one entry per run"):
        comparison_figure(rows, ["only one name"])

    path = tmp_path / "plots" / "compare.png"
    assert main(["compare", str(oracle_run.run_dir), str(random_run.run_dir), "--plot", str(path)]) == 0
    assert f"plot: {path}" in capsys.readouterr().err
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width == 800 and image.height > 300


def test_compare_plot_without_matplotlib_is_a_clear_error(capsys, oracle_run, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # makes the import fail
    assert main(["compare", str(oracle_run.run_dir), "--plot", str(tmp_path / "c.png")]) == 2
    assert "pip install 'agentgym[eval]'" in capsys.readouterr().err and not (tmp_path / "c.png").exists()
