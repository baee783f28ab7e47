"""The benchmark scripts (``benchmarks/*.py``) as a user runs them: interrupted runs, bad
arguments and output folders. Each test is fast: it imports a script's helpers or runs a script
with arguments that are refused before anything is measured."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psutil
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
if str(BENCHMARKS) not in sys.path:  # the scripts import their helpers as top-level modules
    sys.path.insert(0, str(BENCHMARKS))


def test_server_process_is_killed_when_its_startup_wait_is_interrupted(monkeypatch):
    """Ctrl-C (or any exception) while waiting for /health must not leave the server running:
    bench_env_server's try/finally only covers what comes after the server answered."""
    import server_process

    def interrupted(_seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(server_process.time, "sleep", interrupted)
    before = {child.pid for child in psutil.Process().children()}
    with pytest.raises(KeyboardInterrupt):  # a child that never serves: the wait sleeps, and is interrupted
        server_process.start_server_process(lambda port: [sys.executable, "-c", "import time; time.sleep(60)"],
                                            "a silent server")
    started = [child for child in psutil.Process().children() if child.pid not in before]
    assert all(not child.is_running() or child.status() == psutil.STATUS_ZOMBIE for child in started), started

