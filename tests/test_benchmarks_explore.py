"""The benchmark scripts (``benchmarks/*.py``) as a user runs them: interrupted runs, bad
arguments and output folders. Each test is fast: it imports a script's helpers or runs a script
with arguments that are refused before anything is measured."""

from __future__ import annotations

import os
import subprocess
import types
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


def run_main(monkeypatch, capsys, script: str, *arguments: str) -> tuple[int, str]:
    """Run ``script``'s ``main()`` in this process with ``arguments``; its exit status (0 when
    it returns) and what it wrote to stderr."""
    module = __import__(script)
    monkeypatch.setattr(sys, "argv", [f"{script}.py", *arguments])
    try:
        module.main()
        status = 0
    except SystemExit as exit_:
        status = exit_.code
    return status, capsys.readouterr().err


@pytest.mark.parametrize("arguments, at_fault", [
    (["--skip", "games", "concurrency", "--rounds", "0"], "--rounds"),  # StatisticsError: median of no rounds
    (["--skip", "games", "concurrency", "--rounds", "-2"], "--rounds"),
    (["--skip", "games", "concurrency", "--seconds", "-1"], "--seconds"),  # ran, timing one episode a round
    (["--skip", "games", "--envs", "2", "--delay", "0"], "--delay"),  # ZeroDivisionError: the ideal rate
    (["--skip", "games", "--envs", "0", "--delay", "0.001"], "--envs"),  # ZeroDivisionError: % of an ideal of 0
])
def test_bench_env_step_refuses_counts_no_run_can_measure(monkeypatch, capsys, tmp_path, arguments, at_fault):
    status, err = run_main(monkeypatch, capsys, "bench_env_step", "--seconds", "0.01", "--rounds", "1",
                           "--vector-steps", "1", *arguments, "--out", str(tmp_path))
    assert status == 2 and f"argument {at_fault}:" in err and "Traceback" not in err, err
    assert not any(tmp_path.iterdir())  # refused before anything ran or was written


def test_an_out_that_is_a_file_is_refused_before_the_run(monkeypatch, capsys, tmp_path):
    """bench_env_step measured everything first, then died on mkdir with FileExistsError."""
    taken = tmp_path / "report.json"
    taken.write_text("{}")
    status, err = run_main(monkeypatch, capsys, "bench_env_step", "--skip", "games", "concurrency",
                           "--seconds", "0.01", "--rounds", "1", "--out", str(taken))
    assert status == 2 and "argument --out:" in err and "is a file, not a folder" in err, err
    assert "wrapper overhead" not in err  # nothing was measured
    status, err = run_main(monkeypatch, capsys, "bench_env_step", "--skip", "games", "concurrency",
                           "--rounds", "1", "--out", str(taken / "below"))
    assert status == 2 and "argument --out:" in err, err


def test_an_unknown_environment_id_is_one_line_before_anything_starts(monkeypatch, capsys):
    """bench_process_env --env nope/Nope-v0 started a child process and died in it with a KeyError
    traceback from the registry, about 10 s in; the scripts taking an id check it as they parse."""
    import argparse

    from bench_cli import output_file, registered_env

    assert registered_env("games/GuessTheNumber-v0") == "games/GuessTheNumber-v0"
    parser = argparse.ArgumentParser(prog="bench_process_env.py")
    parser.add_argument("--env", type=registered_env)
    parser.add_argument("--json", type=output_file)
    with pytest.raises(SystemExit):
        parser.parse_args(["--env", "nope/Nope-v0"])
    err = capsys.readouterr().err
    assert "argument --env: no environment registered as 'nope/Nope-v0'" in err and "Traceback" not in err
    with pytest.raises(SystemExit):  # bench_web_miniwob --json: IsADirectoryError after the whole run
        parser.parse_args(["--json", str(Path(__file__).parent)])
    assert "is a folder, not a file" in capsys.readouterr().err


def test_help_names_every_options_default(monkeypatch, capsys):
    """``--help`` said what --rounds is for but not that it is 3 unless given; options without a
    help text (--out among them) showed neither."""
    import re

    monkeypatch.setattr(sys, "argv", ["bench_env_step.py", "--help"])
    with pytest.raises(SystemExit) as done:
        __import__("bench_env_step").main()
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines where it likes
    assert done.value.code == 0
    assert "--rounds ROUNDS alternating rounds per comparison (default: 3)" in text
    assert "--envs ENVS [ENVS ...] concurrent environment counts (default: [64, 256])" in text
    assert re.search(r"--out OUT \(default: \S*benchmarks/results\)", text)
    assert "--skip" in text and "(default: [])" not in text  # an empty list is no default worth naming


def test_the_report_records_the_cpus_and_the_load_it_was_measured_under(monkeypatch, capsys, tmp_path):
    """bench_sql's JSON named the platform and Python only: a ratio from a busy 2-core machine
    could not be told from one measured on a quiet 64-core one."""
    import json
    import math

    import bench_sql

    monkeypatch.setattr(bench_sql, "generation_times", lambda seeds: {"shop": 0.05})  # 27 databases: not the point
    status, err = run_main(monkeypatch, capsys, "bench_sql", "--episodes", "1", "--rounds", "1", "--out", str(tmp_path))
    assert status == 0, err
    report = json.loads((tmp_path / "bench_sql.json").read_text(), parse_constant=lambda name: pytest.fail(name))
    assert report["cpus"] == os.cpu_count() and len(report["load_average"]) == 3
    assert all(math.isfinite(load) and load >= 0 for load in report["load_average"])


def test_bench_ray_says_how_many_workers_shared_the_cores_in_this_run(monkeypatch):
    """The table said '2 CPU cores (so 4 workers share 2 cores)' whatever --workers was, and
    called the per-environment-call row 'the same pool' when no pool of its size was measured."""
    import agentgym

    monkeypatch.setattr(agentgym, "register", lambda *args, **kwargs: None)  # its slow environment stays out
    monkeypatch.delitem(sys.modules, "bench_ray", raising=False)  # of the registry other tests walk
    bench_ray = __import__("bench_ray")
    monkeypatch.delitem(sys.modules, "bench_ray")

    ray_row = {"workers": 1, "steps_per_s": 262.0, "thread_over_ray": 1.36, "ray_calls_per_vector_step": 1,
               "workers_s": 0.5, "open_envs_s": 0.02}
    report = {"machine": {"python": "3.11", "cpus": 8, "ray": "2.60.0"},
              "ray_vs_threads": {"num_envs": 4, "step_delay_s": 0.01, "steps_per_round": 2, "rounds": 1,
                                 "thread_steps_per_s": 357.0, "ray": [ray_row], "headline_workers": 1,
                                 "per_env_calls": {"workers": 2, "steps_per_s": 254.0, "thread_over_ray": 1.41,
                                                   "ray_calls_per_vector_step": 4},
                                 "target": 2.0, "ideal_steps_per_s": 400.0}}
    text = bench_ray.markdown(report)
    assert "4 workers share 2 cores" not in text and "8 CPU cores" in text
    assert "the same pool" not in text and "a pool of 2 workers" in text


def test_a_device_this_machine_lacks_is_one_line_before_the_run(monkeypatch):
    """bench_info_gain / bench_train_step --device cuda on a machine without CUDA died with
    'AssertionError: Torch not compiled with CUDA enabled' deep in a traceback (bench_train_step:
    inside a worker process, after its start); --device nonsense with torch's RuntimeError."""
    import argparse
    import types

    def device(text: str) -> types.SimpleNamespace:
        kind, _, index = text.partition(":")
        if kind not in ("cpu", "cuda", "mps"):
            raise RuntimeError(f"Expected one of cpu, cuda, ... device type at start of device string: {text}")
        return types.SimpleNamespace(type=kind, index=int(index) if index else None)

    def empty(size: int, device: types.SimpleNamespace) -> None:
        if device.type == "mps":
            raise RuntimeError("The MPS backend is supported on MacOS 14.0+.\nMore lines.")

    gpus = types.SimpleNamespace(is_available=lambda: True, device_count=lambda: 1)
    fake = types.SimpleNamespace(device=device, empty=empty, cuda=gpus, __version__="2.x")
    monkeypatch.setitem(sys.modules, "torch", fake)  # a machine with one GPU, and no torch import here
    from bench_cli import torch_device

    assert torch_device("cpu") == "cpu" and torch_device("cuda") == "cuda" and torch_device("cuda:0") == "cuda:0"
    with pytest.raises(argparse.ArgumentTypeError, match=r"^cuda:1 is not usable here: this machine has 1 GPU\(s\)$"):
        torch_device("cuda:1")
    with pytest.raises(argparse.ArgumentTypeError, match="^mps is not usable here: The MPS backend is supported "
                                                         "on MacOS 14.0[+].$"):  # the first line of the reason
        torch_device("mps")
    with pytest.raises(argparse.ArgumentTypeError, match="^expected a torch device such as cpu or cuda:0, got 'gpu0'$"):
        torch_device("gpu0")
    gpus.is_available = lambda: False
    with pytest.raises(argparse.ArgumentTypeError, match=r"^cuda is not usable here: this machine has no CUDA "
                                                         r"\(torch 2.x\)$"):
        torch_device("cuda")


@pytest.mark.parametrize("script", ["bench_search_env", "bench_retrieval"])
def test_a_corpus_size_the_world_cannot_have_is_refused_as_an_argument(monkeypatch, capsys, tmp_path, script):
    """--sizes 1 ran up to the corpus and died there: 'ConfigError: SearchEnv: size must be at
    least 50, got 1' (bench_search_env) after the model and folders were set up."""
    status, err = run_main(monkeypatch, capsys, script, "--sizes", "1", "--cache-dir", str(tmp_path / "cache"),
                           "--out", str(tmp_path / "out"))
    assert status == 2 and "argument --sizes: expected an integer from 50 to" in err and "Traceback" not in err, err


def test_a_retrieval_worker_past_its_timeout_is_one_line_naming_the_option(monkeypatch):
    """bench_retrieval --worker-timeout 0.5: subprocess.TimeoutExpired with the worker's whole
    command line (its JSON spec) as the last line of a traceback."""
    import subprocess as subprocess_module

    import bench_retrieval

    def too_slow(command, **kwargs):
        raise subprocess_module.TimeoutExpired(command, kwargs["timeout"])

    monkeypatch.setattr(bench_retrieval.subprocess, "run", too_slow)
    with pytest.raises(RuntimeError, match=r"^worker ours_build did not finish within 0.5 s \(--worker-timeout\)$"):
        bench_retrieval.run_worker("ours_build", {"size": 2000}, 0.5)


def test_bench_web_miniwob_refuses_an_unknown_task_before_starting_browsers(capsys, tmp_path):
    """--tasks no-such-task started the task server and a worker per configuration, each failing
    with a ConfigError in its log, and wrote a report of no rows, exit status 1."""
    import bench_web_miniwob

    with pytest.raises(SystemExit) as done:
        bench_web_miniwob.main(["--tasks", "click-button", "no-such-task", "--envs", "1", "--duration", "1",
                                "--no-browsergym", "--no-screenshot", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert done.value.code == 2 and "--tasks: no MiniWoB++ task named no-such-task" in err, err
    assert not any(tmp_path.iterdir())


def test_bench_sandbox_without_bubblewrap_says_what_to_install(monkeypatch, capsys, tmp_path):
    """Without bwrap on PATH: FileNotFoundError: 'bwrap' from its version probe, a traceback."""
    from agentgym.sandbox import bwrap

    monkeypatch.setenv("PATH", str(tmp_path))  # nothing in it
    bwrap._probe.cache_clear()  # bubblewrap may have been found earlier in this process
    try:
        status, err = run_main(monkeypatch, capsys, "bench_sandbox", "--rounds", "1", "--calls", "1",
                               "--out", str(tmp_path / "out"))
    finally:
        bwrap._probe.cache_clear()
    assert isinstance(status, str) and "bubblewrap is not installed ('bwrap' not found)" in status, status
    assert not (tmp_path / "out" / "bench_sandbox.json").exists()


def test_bench_openenv_stops_the_first_server_when_the_second_does_not_start(monkeypatch, tmp_path):
    """With OpenEnv's server failing to start (openenv-core missing where it runs), the
    agentgym server already started was left running after the RuntimeError: the servers were
    started before the try whose finally stops them."""
    import bench_openenv

    started = []

    def start_server(side, sessions, log):
        if started:
            raise RuntimeError(f"the {side} server did not start")
        started.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]))
        return started[-1], "http://127.0.0.1:9"

    monkeypatch.setattr(bench_openenv, "start_server", start_server)
    with pytest.raises(RuntimeError, match="the openenv server did not start"):
        bench_openenv.bench(2, 0.1, 1, tmp_path)
    assert started and started[0].poll() is not None  # stopped (and reaped)


def test_bench_openenv_without_openenv_is_one_line(monkeypatch, capsys, tmp_path):
    """Without openenv-core the run started both servers, OpenEnv's died in its log, and the
    traceback said only that it 'did not start'."""
    monkeypatch.setitem(sys.modules, "openenv", None)  # import openenv -> ImportError
    monkeypatch.delitem(sys.modules, "agentgym.remote.openenv", raising=False)
    status, err = run_main(monkeypatch, capsys, "bench_openenv", "--seconds", "0.1", "--rounds", "1",
                           "--sessions", "1", "--out", str(tmp_path))
    assert isinstance(status, str) and "pip install openenv-core" in status and "\n" not in status, status


def test_bench_env_server_with_one_session_measures_and_lists_it_once(monkeypatch):
    """--sessions 1 measured one session twice a round (both medians pooled) and printed each
    transport's row twice."""
    import bench_env_server

    calls = []

    def one_round(url, count, seconds):
        calls.append(count)
        return {"steps_per_s": 100.0, "p50_ms": 1.0, "p99_ms": 2.0}

    monkeypatch.setattr(bench_env_server, "http_round", one_round)
    monkeypatch.setattr(bench_env_server, "ws_round", one_round)
    results = bench_env_server.bench("http://127.0.0.1:9", 1, 0.1, 2)
    assert calls == [1, 1, 1, 1]  # two rounds of one measurement per transport
    report = {"sessions": 1, "machine": {"cpus": 2}, "results": results}
    table = bench_env_server.markdown(report)
    rows = [line for line in table.splitlines() if line.startswith(("| HTTP", "| WebSocket"))]
    assert len(rows) == 2, rows


def test_bench_openenv_with_one_session_measures_it_once_a_round(monkeypatch, tmp_path):
    """The same doubling as bench_env_server's: --sessions 1 paired each side's one-session
    figures twice a round."""
    import bench_openenv

    calls = []

    def measure(side, url, count, seconds, server_pid=None):
        calls.append((side, count))
        return {"steps_per_s": 100.0}

    monkeypatch.setattr(bench_openenv, "start_server", lambda side, sessions, log: (types.SimpleNamespace(pid=0), ""))
    monkeypatch.setattr(bench_openenv, "stop_server_process", lambda process: None)
    monkeypatch.setattr(bench_openenv, "measure", measure)
    metrics = types.SimpleNamespace(json=lambda: {"inline": {"demoted": 0}})
    monkeypatch.setattr(bench_openenv.httpx, "get", lambda url, timeout: metrics)
    report = bench_openenv.bench(1, 0.1, 2, tmp_path)
    assert len(calls) == 2 + 2 * 2  # the warm-ups, then per round one measurement per side
    assert report["paired_ratio"]["1"]["rounds"] == [1.0, 1.0]
