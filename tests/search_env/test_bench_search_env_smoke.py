"""``benchmarks/bench_search_env.py`` runs end to end in a tiny configuration and reports what it
promises (oracle speed per corpus size, suite metrics per policy)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_search_benchmark_runs_and_reports(tmp_path):
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_search_env.py"), "--sizes", "300", "600", "--episodes", "6",
         "--rounds", "1", "--tasks", "1", "--no-model", "--cache-dir", str(tmp_path / "cache"),
         "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads((tmp_path / "out" / "bench_search_env.json").read_text())
    assert [row["documents"] for row in report["oracle_speed"]] == [300, 600]
    for row in report["oracle_speed"]:
        assert row["steps_per_s"] > 0 and 0 < row["retrieval_share"] < 1 and row["oracle_success"] == 1.0
    oracle = report["suite"]["oracle"]
    assert oracle["episodes"] == 4 and oracle["em"] == 1.0 and oracle["searches_per_question"] >= 1
    assert set(oracle["em_by_entry"]) == {f"search/MultiHop-v0[{kind}]"
                                          for kind in ("single", "bridge", "comparison", "intersection")}
    assert "| oracle | 1.00 | 1.00 |" in (tmp_path / "out" / "bench_search_env.md").read_text()
