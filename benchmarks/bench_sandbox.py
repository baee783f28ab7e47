"""Per-call latency of agentgym's sandbox: the persistent session, the one-shot sandbox and a
plain ``subprocess.run([python, "-c", code])`` without any sandbox, side by side in one run.

Every round runs each contender ``--calls`` times on the same code, in turn (so load on the
machine hits them alike); the figure per contender is the median over all its calls. Targets:
the persistent session at least 5x faster per call than the one-shot sandbox, and the one-shot
sandbox within 1.5x of the plain subprocess.

GEM's bubblewrap sandbox (``gem.utils.sandbox.run_python(code, "bwrap")``, gem-llm 0.1.0) runs
the same code when it can be loaded: installed (``pip install gem-llm==0.1.0``, part of the
``bench`` extra) or from its wheel (``--gem-wheel``, e.g. after ``pip download gem-llm==0.1.0
--no-deps``: only ``gem/utils/sandbox.py`` and ``gem/utils/constants.py`` are loaded from it).
GEM binds ``sys.prefix`` at ``/python_env`` and runs ``python`` from there without the rest of
the file system; a virtual environment whose ``python`` links out of its prefix cannot start
like that, so GEM is pointed at the base installation (``sys.base_prefix``). Its interpreter
then finds no site-packages (none of their ``.pth`` start-up work), so it is compared with
agentgym running the same base interpreter with ``-S`` (``Sandbox.run([python, "-S", "-c",
code])``), each against a plain ``python -S -c`` of that interpreter.

    python benchmarks/bench_sandbox.py [--rounds 10] [--calls 10] [--gem-wheel PATH]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import types
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentgym.sandbox import Sandbox, SandboxLimits, SandboxUnavailable, check_bubblewrap
from bench_cli import ShowDefaults, output_folder, positive_int

CODE = "print(sum(i * i for i in range(1000)))"
EXPECTED = f"{sum(i * i for i in range(1000))}\n"
SESSION_TARGET = 5.0   # one-shot / session, at least
ONESHOT_TARGET = 1.5   # one-shot / plain subprocess, at most
LIMITS = SandboxLimits(cpu_seconds=5, memory_mb=512, processes=64, file_size_mb=16, open_files=64,
                       wall_seconds=10, output_chars=20_000)


def base_python() -> str:
    """The base installation's interpreter (not a virtual environment's link to it)."""
    name = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return os.path.join(sys.base_prefix, "bin", name)


def load_gem(wheel: Path | None) -> types.ModuleType | None:
    """GEM's sandbox module, installed or from its wheel; None when neither is available."""
    try:
        import gem.utils.sandbox as installed  # noqa: PLC0415 - optional peer
        return installed
    except ImportError:
        if wheel is None:
            return None
    folder = Path(tempfile.mkdtemp(prefix="gem-wheel-"))
    with zipfile.ZipFile(wheel) as archive:
        for name in ("gem/utils/constants.py", "gem/utils/sandbox.py"):
            archive.extract(name, folder)
    for package in ("gem", "gem.utils"):  # namespace stand-ins: gem/__init__ would import all of GEM
        module = types.ModuleType(package)
        module.__path__ = [str(folder / package.replace(".", "/"))]
        sys.modules.setdefault(package, module)
    for name in ("gem.utils.constants", "gem.utils.sandbox"):
        spec = importlib.util.spec_from_file_location(name, folder / (name.replace(".", "/") + ".py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules["gem.utils.sandbox"]


def gem_runner(gem: types.ModuleType, workdir: str) -> Callable[[], str]:
    gem.sys = types.SimpleNamespace(prefix=sys.base_prefix)  # see the module docstring

    def run() -> str:
        cwd = os.getcwd()
        os.chdir(workdir)  # GEM makes its temporary directory in the current one
        try:
            ok, stdout, stderr = gem.run_python(CODE, "bwrap")
        finally:
            os.chdir(cwd)
        if not ok:
            raise RuntimeError(f"GEM's sandbox failed: {stderr.strip()[-500:]}")
        return stdout
    return run


def bench(rounds: int, calls: int, gem_wheel: Path | None) -> dict[str, Any]:
    sandbox = Sandbox(LIMITS)
    session = sandbox.session()
    workdir = tempfile.mkdtemp(prefix="bench-sandbox-")  # GEM's scratch folder, removed at the end
    contenders: dict[str, Callable[[], str]] = {
        "plain": lambda: subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True).stdout,
        "oneshot": lambda: sandbox.run_python(CODE).stdout,
        "session": lambda: session.run(CODE).stdout,
    }
    gem = load_gem(gem_wheel)
    if gem is not None:
        nosite = [base_python(), "-S", "-c", CODE]
        contenders["plain_nosite"] = lambda: subprocess.run(nosite, capture_output=True, text=True).stdout
        contenders["command_nosite"] = lambda: sandbox.run(nosite).stdout
        contenders["gem"] = gem_runner(gem, workdir)
    try:
        for name, run in contenders.items():  # warm up, and check every one computes the answer
            assert run() == EXPECTED, name
        seconds: dict[str, list[float]] = {name: [] for name in contenders}
        for _ in range(rounds):
            for name, run in contenders.items():
                for _ in range(calls):
                    start = time.perf_counter()
                    run()
                    seconds[name].append(time.perf_counter() - start)
    finally:
        session.close()
        shutil.rmtree(workdir, ignore_errors=True)
    median_ms = {name: statistics.median(values) * 1000 for name, values in seconds.items()}
    report: dict[str, Any] = {
        "code": CODE, "rounds": rounds, "calls_per_round": calls, "median_ms": median_ms,
        "oneshot_over_session": median_ms["oneshot"] / median_ms["session"],
        "oneshot_over_plain": median_ms["oneshot"] / median_ms["plain"],
        "session_target": SESSION_TARGET, "oneshot_target": ONESHOT_TARGET,
        "samples_ms": {name: [v * 1000 for v in values] for name, values in seconds.items()},
    }
    report["meets_session_target"] = report["oneshot_over_session"] >= SESSION_TARGET
    report["meets_oneshot_target"] = report["oneshot_over_plain"] <= ONESHOT_TARGET
    if gem is not None:
        report["gem_overhead_ms"] = median_ms["gem"] - median_ms["plain_nosite"]
        report["agentgym_command_overhead_ms"] = median_ms["command_nosite"] - median_ms["plain_nosite"]
    return report


def markdown(report: dict[str, Any], machine: dict[str, Any]) -> str:
    ms = report["median_ms"]
    lines = [
        "### Sandbox: per-call latency", "",
        f"`{report['code']}`, median of {report['rounds']} rounds × {report['calls_per_round']} calls "
        f"(each round runs every contender in turn); {machine['cpus']} CPU cores, Python {machine['python']}, "
        f"bubblewrap {machine['bubblewrap']}. One-shot: a fresh bubblewrap sandbox and interpreter per call; "
        "session: one sandboxed interpreter kept between calls.", "",
        "| contender | ms per call | ratio | target |",
        "|---|---:|---:|---:|",
        f"| plain `subprocess.run([python, \"-c\", code])`, no sandbox (baseline) | {ms['plain']:.1f} | | |",
        f"| agentgym one-shot sandbox | {ms['oneshot']:.1f} | **{report['oneshot_over_plain']:.2f}x** plain "
        f"| ≤ {report['oneshot_target']:g}x{'' if report['meets_oneshot_target'] else ' ✗'} |",
        f"| agentgym persistent session | {ms['session']:.2f} | **{report['oneshot_over_session']:.0f}x** faster "
        f"than one-shot | ≥ {report['session_target']:g}x{'' if report['meets_session_target'] else ' ✗'} |",
    ]
    if "gem" in ms:
        lines += [
            "", "#### Against GEM's bubblewrap sandbox (gem-llm 0.1.0), same code, base interpreter without "
            "site-packages", "",
            "| contender | ms per call | sandbox overhead (ms over the plain run) |", "|---|---:|---:|",
            f"| plain `python -S -c` (`{Path(base_python()).name}` of `sys.base_prefix`), no sandbox "
            f"| {ms['plain_nosite']:.1f} | |",
            f"| agentgym `Sandbox.run([python, \"-S\", \"-c\", code])` | {ms['command_nosite']:.1f} "
            f"| {report['agentgym_command_overhead_ms']:.1f} |",
            f"| GEM `run_python(code, \"bwrap\")` | {ms['gem']:.1f} | {report['gem_overhead_ms']:.1f} |",
            f"| for comparison: agentgym `run_python` above (venv interpreter, site-packages) | {ms['oneshot']:.1f} "
            f"| {ms['oneshot'] - ms['plain']:.1f} |",
            "", "GEM's sandbox is `bwrap --unshare-all` around `python -c` with the Python prefix, `/lib*` and "
            "`/usr/lib` bound: no resource limits, no output cap, no process clean-up beyond `subprocess.run`'s "
            "timeout, and, as root, the code runs as root in a user namespace; its interpreter finds no "
            "site-packages (`sys.path` holds only the standard library). agentgym's command path "
            "adds a supervisor (a second, `-S` interpreter: the launcher, which applies the limits, drops "
            "to a fresh uid and reports the exact exit status), the limits and the output caps."]
    else:
        lines += ["", "GEM's bubblewrap sandbox: not measured (gem-llm not installed, no `--gem-wheel`)."]
    lines += ["", "The one-shot Python path runs the program in the sandbox's first interpreter (no second "
              "start), which is how it stays close to a plain `python -c`."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=ShowDefaults)
    parser.add_argument("--rounds", type=positive_int, default=10)
    parser.add_argument("--calls", type=positive_int, default=10, help="calls per contender per round")
    parser.add_argument("--gem-wheel", type=Path, help="gem-llm wheel to load GEM's sandbox from")
    parser.add_argument("--out", type=output_folder, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    try:
        bwrap = check_bubblewrap()
    except SandboxUnavailable as exc:  # what to install, in one line, before any contender runs
        sys.exit(f"bench_sandbox.py: {exc}")
    bwrap_version = subprocess.run([bwrap, "--version"], capture_output=True, text=True).stdout.split()[-1]
    machine = {"python": platform.python_version(), "cpus": os.cpu_count(), "bubblewrap": bwrap_version,
               "load_average": os.getloadavg()}
    report = {"machine": machine, "sandbox": bench(args.rounds, args.calls, args.gem_wheel)}
    table = markdown(report["sandbox"], machine)
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_sandbox.json").write_text(json.dumps(report, indent=2))
    (args.out / "bench_sandbox.md").write_text(table + "\n")
    print(f"\nwrote {args.out / 'bench_sandbox.json'} and bench_sandbox.md", file=sys.stderr)


if __name__ == "__main__":
    main()
