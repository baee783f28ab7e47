"""The tools family's benchmarks (``benchmarks/bench_sandbox.py``, ``benchmarks/bench_sql.py``,
whose figures are in RESULTS.md) run end to end in a tiny configuration and write every figure
they report. Timings here are too few to judge the targets; what is checked is that each
contender ran and got the right result, and that a run leaves no temporary files behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_benchmark(name: str, *arguments: str, out: Path) -> dict:
    temporary = out.parent / "tmp"  # the benchmark's TMPDIR: what it makes there it must remove
    temporary.mkdir()
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / name), *arguments, "--out", str(out)],
                          capture_output=True, text=True, timeout=300, cwd=out.parent,
                          env={**os.environ, "TMPDIR": str(temporary)})
    assert done.returncode == 0, done.stderr[-3000:]
    assert not list(temporary.iterdir()), f"{name} left temporary files: {sorted(temporary.iterdir())}"
    assert (out / name.replace(".py", ".md")).read_text().strip()
    return json.loads((out / name.replace(".py", ".json")).read_text())


def test_bench_sandbox_measures_every_contender(tmp_path):
    report = run_benchmark("bench_sandbox.py", "--rounds", "1", "--calls", "1", out=tmp_path / "out")["sandbox"]
    medians = report["median_ms"]
    # GEM's sandbox and its like-for-like baselines run where GEM is installed (the bench extra)
    peers = ("plain_nosite", "command_nosite", "gem") if "gem" in medians else ()
    for contender in ("plain", "oneshot", "session", *peers):
        assert medians[contender] > 0, contender  # each ran (and printed the expected sum, or it raises)
    assert report["oneshot_over_session"] == pytest.approx(medians["oneshot"] / medians["session"])
    assert report["oneshot_over_plain"] == pytest.approx(medians["oneshot"] / medians["plain"])
    assert medians["session"] < medians["oneshot"]  # a call to a live interpreter against a process start


def test_bench_sql_plays_the_scripted_episodes(tmp_path):
    report = run_benchmark("bench_sql.py", "--episodes", "4", "--rounds", "1", out=tmp_path / "out")
    assert report["agentgym"]["steps_per_s"] > 0 and report["agentgym"]["steps_only_per_s"] > 0
    # three episodes of four submit the gold query, the fourth a random one
    assert 0.75 <= report["agentgym"]["mean_reward"] <= 1.0
    assert set(report["generation_s"]) == {"shop", "school", "flights"}
    if "ratio" in report:  # with skyrl-gym installed, both sides judged the same actions
        assert report["reward_agreement"] == 1.0
