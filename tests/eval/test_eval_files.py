"""The files of an evaluation run directory: the ones written atomically (settings, results,
reports) are as readable as the trajectories beside them; ``--out`` naming a file is one line."""

from __future__ import annotations

import os
import stat

import pytest

from agentgym.cli import main
from agentgym.eval import evaluate


def test_run_files_get_the_umask_permissions_not_owner_only(tmp_path):
    """Under umask 022 every file of the run is 0o644, as ``open`` makes them (``mkstemp``'s
    0o600 kept results.json and the reports from the rest of a team, and from a web server)."""
    previous = os.umask(0o022)
    try:
        evaluate("oracle", "quick-v0", tasks=1, out_dir=tmp_path / "run", progress=False)
    finally:
        os.umask(previous)
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in (tmp_path / "run").iterdir()}
    assert {"run.json", "results.json", "report.md", "report.html", "trajectories.jsonl"} <= modes.keys()
    assert modes == dict.fromkeys(modes, 0o644)


def test_an_out_that_is_a_file_is_refused_in_one_line_before_the_run(tmp_path, capsys):
    taken = tmp_path / "notes.txt"
    taken.write_text("mine")
    assert main(["eval", "--suite", "quick-v0", "--policy", "oracle", "--tasks", "1", "--out", str(taken)]) == 2
    assert f"{taken} is a file" in capsys.readouterr().err and taken.read_text() == "mine"
    with pytest.raises(ValueError, match="is a file"):
        evaluate("oracle", "quick-v0", tasks=1, out_dir=taken, progress=False)


def test_a_reply_that_is_not_valid_unicode_does_not_lose_the_report(tmp_path):
    """A lone surrogate in a reply (README: a model can write one) cannot be UTF-8: the reports
    show it escaped instead of failing with UnicodeEncodeError after every episode was played
    (no results.json, no report; agentgym report failed the same way)."""
    from agentgym.policies.scripted import ScriptedPolicy
    from agentgym.eval.evaluate import summarise_run

    evaluation = evaluate(ScriptedPolicy(["bad \ud800 move"]), "quick-v0", tasks=1, out_dir=tmp_path / "run",
                          progress=False)
    assert evaluation.report is not None and (tmp_path / "run" / "results.json").is_file()
    assert "\\ud800" in (tmp_path / "run" / "report.md").read_text(encoding="utf-8")
    assert summarise_run(tmp_path / "run").results.overall.episodes == evaluation.results.overall.episodes
