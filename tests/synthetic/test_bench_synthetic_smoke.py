"""benchmarks/bench_synthetic.py runs end to end in its quick mode (the scripted rules in place
of the embedded model), reports every figure and leaves no temporary files behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_mode_writes_the_expected_report(tmp_path):
    temporary = tmp_path / "tmp"  # the benchmark's TMPDIR: what it makes there it must remove
    temporary.mkdir()
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_synthetic.py"), "--quick", "--episodes", "2",
         "--buffer-episodes", "4", "--train-steps", "2", "--tasks-per-step", "2", "--group-size", "2",
         "--threads", "1", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=ROOT, env={**os.environ, "TMPDIR": str(temporary)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    # torch keeps its compiler cache there on purpose (torchinductor_<user>, shared across runs)
    assert not [p for p in temporary.iterdir() if not p.name.startswith("torchinductor_")], sorted(temporary.iterdir())
    report = json.loads((tmp_path / "bench_synthetic_quick.json").read_text())
    assert (tmp_path / "bench_synthetic_quick.md").read_text().startswith("### Synthetic experience")
    rows = {(r["model"], r["reveal"], r["k"]): r["result"] for r in report["agreement"]}
    reference = rows[("scripted rules (reference)", True, 3)]
    assert reference["steps"] > 5
    # the rules know the game: the measurement must find full agreement
    assert all(reference[key] == 1.0 for key in ("format", "observation_exact", "kind", "reward", "done"))
    assert rows[("scripted rules (--quick)", False, 3)]["format"] == 0.0  # the rules need the secret: all fail
    assert len(report["training"]) == 2
    for row in report["training"]:
        result = row["result"]
        assert len(result["synthetic_success_by_step"]) == 2
        assert 0.0 <= result["real_success_before"] <= 1.0 and 0.0 <= result["real_success_after"] <= 1.0
        assert result["predicted_steps"] > 0 and result["failed_predictions"] == 0
        # the rules are told the real secret here: every prediction matches the real game
        assert result["agreement_with_real_during_training"] == {"observation": 1.0, "reward": 1.0, "done": 1.0}
