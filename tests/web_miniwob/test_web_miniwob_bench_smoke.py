"""The MiniWoB++ benchmarks' ``--quick`` runs go end to end through agentgym's evaluator and leave
no browser process behind."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]


def processes_tagged(tag: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get("AGENTGYM_TEST_TAG") == tag:
                found.append(process)
        except (psutil.Error, OSError):
            continue
    return found


def run_quick(script: str, out: Path) -> dict:
    """Run ``benchmarks/<script>.py --quick`` (one browser), check that it succeeded and that
    none of its processes outlived it, and return the JSON report it wrote under ``out``."""
    tag = secrets.token_hex(8)
    env = {**os.environ, "AGENTGYM_TEST_TAG": tag, "AGENTGYM_BROWSERS": "1"}
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / f"{script}.py"), "--quick", "--out", str(out)],
                         capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    deadline = time.monotonic() + 10
    while processes_tagged(tag) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not processes_tagged(tag), "a browser of the benchmark outlived it"
    return json.loads((out / f"{script}.json").read_text())


def test_the_miniwob_evaluation_benchmark_runs_and_reports(tmp_path):
    """Random agent and oracles on three tasks, one seed."""
    report = run_quick("bench_web_miniwob_eval", tmp_path)
    random_row, oracle_row = report["runs"]
    assert random_row["policy"] == "random:0" and oracle_row["policy"] == "oracle"
    for row in report["runs"]:
        assert row["episodes"] == 3 and row["tasks"] == 3 and row["errors"] == 0
        assert set(row["by_task"]) == {"click-test", "enter-text", "click-checkboxes"}
    assert oracle_row["success_rate"] == 1.0 and oracle_row["ended_by_page"] == 3
    assert 0.0 <= random_row["success_rate"] <= 1.0 and random_row["mean_turns"] >= 1
    assert "| oracle | miniwob-quick | 3 | 3 | 100.0% |" in (tmp_path / "bench_web_miniwob_eval.md").read_text()


def test_the_action_timeout_benchmark_runs_and_reports(tmp_path):
    """``benchmarks/bench_web_action_timeout.py --quick``: the random agent and the oracles at two
    action timeouts, every episode run, the oracles still perfect at the shorter one."""
    report = run_quick("bench_web_action_timeout", tmp_path)
    assert [(r["policy"], r["action_timeout"]) for r in report["runs"]] == [
        ("random:0", 2.0), ("random:0", 0.5), ("oracle", 2.0), ("oracle", 0.5)]
    for row in report["runs"]:
        assert row["episodes"] == 2 and row["errors"] == 0 and row["actions"] >= 2
        assert set(row["outcomes"]) == ({"web/miniwob.click-pie-v0[0]", "web/miniwob.click-test-v0[0]"}
                                        if row["policy"] == "random:0" else
                                        {"web/miniwob.click-test-v0[0]", "web/miniwob.enter-text-v0[0]"})
    assert [r["success_rate"] for r in report["runs"][2:]] == [1.0, 1.0]
    assert report["runs"][0]["speed_ratio"] == 1.0 and report["runs"][2]["same_outcomes"] == "2 of 2"
    assert "| oracle | 0.5 s | 2 |" in (tmp_path / "bench_web_action_timeout.md").read_text()
