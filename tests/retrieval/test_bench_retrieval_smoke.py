"""benchmarks/bench_retrieval.py runs end to end in its quick mode and reports every figure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_mode_writes_the_expected_report(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_retrieval.py"), "--quick", "--sizes", "600",
         "--queries", "12", "--cache-dir", str(tmp_path / "cache"), "--out", str(out)],
        capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "bench_retrieval_quick.json").read_text())
    assert (out / "bench_retrieval_quick.md").read_text().startswith("### Retrieval")
    assert report["k"] == 5 and report["queries"] == 12 and set(report["sizes"]) == {"600"}
    r = report["sizes"]["600"]
    assert r["documents"] == 600 and r["queries"] == 12
    build, serve = r["ours"]["build"], r["ours"]["serve"]
    assert build["build_s"] > 0 and build["disk_bytes"] > 0 and build["peak_rss_mb"] > 0
    assert serve["load_s"] > 0 and serve["peak_rss_mb"] >= serve["rss_after_imports_mb"] > 0
    for mode in ("search", "ranking_only"):
        assert serve[mode]["queries"] == 12 and serve[mode]["qps"] > 0
        assert 0 < serve[mode]["p50_ms"] <= serve[mode]["p99_ms"]
    assert serve["search_many"]["qps"] > 0
    rank = r["rank_bm25"]
    assert rank["build_s"] > 0 and rank["search"]["qps"] > 0 and rank["ours_qps_ratio"] > 0
    assert rank["agreement_with_ours"]["compared"] > 0
    assert 0.5 <= rank["agreement_with_ours"]["top1"] <= 1.0  # the same ranking function
    fts = r["fts5"]
    assert fts["build"]["disk_bytes"] > 0 and fts["serve"]["search"]["qps"] > 0
    assert 0.0 <= fts["agreement_with_ours"]["top1"] <= 1.0
    assert report["machine"]["cpus"] >= 1 and report["versions"]["bm25s"] != "missing"
    work = tmp_path / "cache" / "bench-retrieval"
    assert not (work / "ours-600").exists() and not (work / "fts5-600.sqlite").exists()
