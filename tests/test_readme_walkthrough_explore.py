"""What README's walkthrough found when its commands were run as written: each test pins one
behaviour the README (or the docstring behind it) promises and that did not hold."""

import json

import pytest

from agentgym.cli import main
from agentgym.eval import report as report_module


@pytest.fixture
def no_plots(monkeypatch):
    """Reports without their plots (drawing them is most of a small run's time)."""
    monkeypatch.setattr(report_module, "draw_plots", lambda results, groups: ({}, []))


def _eval(capsys, out):
    code = main(["eval", "--env", "games/GuessTheNumber-v0", "--policy", "random:2", "--tasks", "1",
                 "--out", str(out), "--no-progress"])
    capsys.readouterr()
    return code


def test_report_of_a_finished_run_keeps_when_and_with_what_it_ran(capsys, tmp_path, no_plots):
    # `agentgym report RUN_DIR` redraws a finished run's reports (after an upgrade, say): its
    # results.json must still say when the run finished and which versions played it, which
    # `agentgym compare` shows; it said the time and versions of the report instead.
    out = tmp_path / "run"
    assert _eval(capsys, out) == 0
    data = json.loads((out / "results.json").read_text())
    data["created_at"] = "2020-01-02T03:04:05+00:00"
    data["versions"] = {**data["versions"], "agentgym": "0.0.1"}
    (out / "results.json").write_text(json.dumps(data))
    assert main(["report", str(out)]) == 0
    rebuilt = json.loads((out / "results.json").read_text())
    assert rebuilt["created_at"] == "2020-01-02T03:04:05+00:00"
    assert rebuilt["versions"]["agentgym"] == "0.0.1"
    assert main(["compare", str(out)]) == 0
    assert "2020-01-02T03:04:05+00:00" in capsys.readouterr().out


def test_sft_checks_the_values_of_the_environment_arguments_before_the_model(capsys, tmp_path):
    # README: sft's environment arguments are "given as in eval (--difficulty, -o KEY=VALUE) and
    # checked before the model loads". A bad value (a difficulty the game does not have) loaded
    # the model, played every demonstration episode into an error and ended with "no trainable
    # demonstration among 0 trajectories", never naming the difficulty. Checked first, it is
    # the one line even when the --model is wrong too (nothing of the model is touched).
    out = tmp_path / "clone"
    code = main(["sft", "--env", "games/Wordle-v0", "--difficulty", "extreme", "--model", str(tmp_path / "no-model"),
                 "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert "unknown difficulty 'extreme'" in err and "games/Wordle-v0" in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()
