"""``benchmarks/bench_web_miniwob_eval.py --quick`` runs end to end through agentgym's evaluator
(random agent and oracles on three tasks, one seed) and leaves no browser process behind."""

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


def test_the_miniwob_evaluation_benchmark_runs_and_reports(tmp_path):
    tag = secrets.token_hex(8)
    env = {**os.environ, "AGENTGYM_TEST_TAG": tag, "AGENTGYM_BROWSERS": "1"}
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_web_miniwob_eval.py"), "--quick",
                          "--out", str(tmp_path)], capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads((tmp_path / "bench_web_miniwob_eval.json").read_text())
    random_row, oracle_row = report["runs"]
    assert random_row["policy"] == "random:0" and oracle_row["policy"] == "oracle"
    for row in report["runs"]:
        assert row["episodes"] == 3 and row["tasks"] == 3 and row["errors"] == 0
        assert set(row["by_task"]) == {"click-test", "enter-text", "click-checkboxes"}
    assert oracle_row["success_rate"] == 1.0 and oracle_row["ended_by_page"] == 3
    assert 0.0 <= random_row["success_rate"] <= 1.0 and random_row["mean_turns"] >= 1
    assert "| oracle | miniwob-quick | 3 | 3 | 100.0% |" in (tmp_path / "bench_web_miniwob_eval.md").read_text()
    deadline = time.monotonic() + 10
    while processes_tagged(tag) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not processes_tagged(tag), "a browser of the benchmark outlived it"
