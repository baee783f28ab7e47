"""Reliability probe: `agentgym eval` killed with SIGKILL, mid-run and while writing its reports.

A real `agentgym eval` runs in a child process (a seeded random policy on games-v0, hundreds of
episodes). It is killed with SIGKILL once its plain progress lines (stderr is a file, not a
terminal) and some trajectories have appeared; then every line of trajectories.jsonl but at
most a partial last one must be readable, the run must be recognisable as unfinished, and
`agentgym report` must summarise exactly the episodes that finished. The second probe blocks
the child inside the rename of report.html and kills it there: each report file must be whole
or absent, never half written, and results.json (written last) absent.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentgym.cli import main
from agentgym.eval import load_results

ROOT = Path(__file__).resolve().parents[2]
EPISODES = 450 * 3  # games-v0 has 450 tasks; three rollouts each


@pytest.fixture(scope="module", autouse=True)
def _fonts_loaded():
    """matplotlib keeps the font files it has used open for the life of the process (a cache,
    not a leak): draw one plot before the resource snapshot, so `agentgym report` in the test
    opens no new descriptor that stays open."""
    from agentgym.eval.metrics import summarize
    from agentgym.eval.plots import success_plot

    success_plot([summarize([], "warm-up")])


def _wait_for(predicate, timeout: float, what: str, process: subprocess.Popen, tmp_path: Path) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if process.poll() is not None:
            stderr = (tmp_path / "stderr.txt").read_text(errors="replace")[-2000:]
            pytest.fail(f"the evaluation ended (exit {process.returncode}) before {what}; stderr:\n{stderr}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:  # it had already ended (the test fails on that with its output)
        pass
    process.wait(timeout=30)


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n") if path.exists() else []


def _start(argv: list[str], tmp_path: Path, code: str | None = None) -> subprocess.Popen:
    command = [sys.executable, "-c", code, *argv] if code else [sys.executable, "-m", "agentgym", *argv]
    with open(tmp_path / "stdout.txt", "wb") as stdout, open(tmp_path / "stderr.txt", "wb") as stderr:
        return subprocess.Popen(command, cwd=ROOT, stdout=stdout, stderr=stderr, start_new_session=True)


def test_eval_killed_mid_run_is_summarised_from_its_trajectories(tmp_path, resources, capsys):
    run_dir = tmp_path / "run"
    trajectories = run_dir / "trajectories.jsonl"
    process = _start(["eval", "--suite", "games-v0", "--policy", "random:0", "-n", "3", "--concurrency", "4",
                      "--out", str(run_dir)], tmp_path)
    try:
        # stdout and stderr are files, so progress comes as plain lines (the live bar would print nothing)
        _wait_for(lambda: b"eval: " in (tmp_path / "stderr.txt").read_bytes() and len(_lines(trajectories)) > 20,
                  120, "a progress line and 20 trajectories", process, tmp_path)
    finally:
        _kill(process)
    assert process.returncode == -signal.SIGKILL
    progress = (tmp_path / "stderr.txt").read_text().splitlines()[0]
    assert progress.startswith("eval: ") and f"/{EPISODES} episodes" in progress and "success" in progress

    # every line but at most a partial last one is a whole trajectory
    *whole, last = _lines(trajectories)
    finished = [json.loads(line) for line in whole]
    assert 20 <= len(finished) < EPISODES
    if last:
        with pytest.raises(ValueError):
            json.loads(last)
    assert not (run_dir / "results.json").exists()
    with pytest.raises(ValueError, match="agentgym report"):
        load_results(run_dir)

    assert main(["report", str(run_dir)]) == 0
    capsys.readouterr()
    results = load_results(run_dir)
    assert (results.complete, results.overall.episodes, results.expected_episodes) == (False, len(finished), EPISODES)
    assert results.overall.successes == sum(t["success"] for t in finished)
    assert results.settings["rollouts_per_task"] == 3 and results.settings["concurrency"] == 4
    assert f"Incomplete run: {len(finished)} of {EPISODES} episodes" in (run_dir / "report.md").read_text()
    resources.assert_released()


# The child blocks in os.replace(…, report.html) after writing the page to its temporary file.
_BLOCK_IN_HTML_RENAME = """
import os, sys, time
from pathlib import Path
real_replace = os.replace
def slow_replace(source, destination):
    if str(destination).endswith("report.html"):
        Path(destination).with_name("in-html-rename").touch()
        time.sleep(120)
    return real_replace(source, destination)
os.replace = slow_replace
from agentgym.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_eval_killed_while_writing_its_reports_leaves_whole_files_only(tmp_path, resources, capsys):
    run_dir = tmp_path / "run"
    process = _start(["eval", "--suite", "quick-v0", "--policy", "random:1", "--out", str(run_dir),
                      "--no-progress"], tmp_path, code=_BLOCK_IN_HTML_RENAME)
    try:
        _wait_for((run_dir / "in-html-rename").exists, 120, "the report.html rename", process, tmp_path)
    finally:
        _kill(process)
    (run_dir / "in-html-rename").unlink()
    names = sorted(p.name for p in run_dir.iterdir())
    [leftover] = [name for name in names if name.startswith(".report.html.")]
    assert names == sorted([leftover, "report.md", "run.json", "trajectories.jsonl"])
    assert (run_dir / "report.md").read_text().endswith("```\n")  # whole: its last sample's fence
    assert (run_dir / leftover).read_text().endswith("</html>\n")  # fsynced before the rename

    assert main(["report", str(run_dir)]) == 0
    capsys.readouterr()
    assert sorted(p.name for p in run_dir.iterdir()) == ["report.html", "report.md", "results.json", "run.json",
                                                         "trajectories.jsonl"]
    results = load_results(run_dir)
    assert results.complete and results.overall.episodes == 12
    resources.assert_released()
