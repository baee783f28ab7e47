"""When bubblewrap cannot work: a refusal naming the cause, never a silent fallback; and the
weaker ``rlimits`` mode, only when asked for, saying that it is weaker."""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from sandbox_helpers import SMALL, as_root, python_for_other_users

from agentgym.sandbox import (
    INSTALL_COMMAND,
    WEAKER,
    Sandbox,
    SandboxUnavailable,
    WeakIsolationWarning,
    check_bubblewrap,
)
from agentgym.sandbox.sandbox import hidden_from_others

REPOSITORY = Path(__file__).resolve().parents[2]


def test_bubblewrap_works_here():
    # CI installs bubblewrap (make setup): this must hold there, never be skipped
    assert os.path.isabs(check_bubblewrap())


def test_missing_bubblewrap_names_the_install_command(tmp_path):
    with pytest.raises(SandboxUnavailable) as refused:
        Sandbox(SMALL, bwrap=str(tmp_path / "bwrap"))
    message = str(refused.value)
    assert "bubblewrap is not installed" in message
    assert f"`{INSTALL_COMMAND}`" in message
    assert "isolation='rlimits' is a weaker alternative" in message


def fake_bwrap(folder: Path, error: str) -> str:
    """A bwrap that fails the way bubblewrap does where namespaces are refused."""
    path = folder / "bwrap"
    path.write_text(f"#!/bin/sh\necho {error!r} >&2\nexit 1\n")
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize("error", [
    "bwrap: No permissions to creating new namespace, likely because the kernel does not allow "
    "non-privileged user namespaces. On e.g. debian this can be enabled with "
    "'sysctl kernel.unprivileged_userns_clone=1'.",
    "bwrap: Creating new namespace failed: Operation not permitted",
])
def test_refused_namespaces_name_bubblewraps_error(tmp_path, error):
    with pytest.raises(SandboxUnavailable) as refused:
        Sandbox(SMALL, bwrap=fake_bwrap(tmp_path, error))
    message = str(refused.value)
    assert "cannot create its namespaces here" in message
    assert error in message  # bubblewrap's own words
    assert "seccomp" in message and "user namespaces" in message
    assert "isolation='rlimits'" in message


def test_the_weaker_mode_is_only_used_when_asked_and_says_so(tmp_path):
    # a refusal is an exception: there is no silent fallback
    with pytest.raises(SandboxUnavailable):
        Sandbox(SMALL, bwrap=fake_bwrap(tmp_path, "bwrap: Operation not permitted"))
    python = python_for_other_users()
    if python is None:
        pytest.skip("no Python interpreter that an unprivileged uid can run (the rlimits mode needs one under root)")
    with pytest.warns(WeakIsolationWarning) as warned:
        weak = Sandbox(SMALL, isolation="rlimits", bwrap=fake_bwrap(tmp_path, "unused"), python=python)
    assert str(warned[0].message) == WEAKER
    assert "weaker" in weak.description and weak.isolation == "rlimits"
    assert "weaker" not in Sandbox(SMALL).description


@pytest.mark.skipif(not as_root() or python_for_other_users() == sys.executable,
                    reason="only under root, with this interpreter hidden from other users")
def test_the_weaker_mode_refuses_an_interpreter_its_uid_cannot_run():
    with pytest.warns(WeakIsolationWarning), pytest.raises(SandboxUnavailable) as refused:
        Sandbox(SMALL, isolation="rlimits")
    assert "is not searchable by other users" in str(refused.value)
    assert "python=" in str(refused.value) and "sandbox=" in str(refused.value)  # how an environment gets one


@pytest.fixture
def weak():
    python = python_for_other_users()
    if python is None:
        pytest.skip("no Python interpreter that an unprivileged uid can run (the rlimits mode needs one under root)")
    with pytest.warns(WeakIsolationWarning):
        return Sandbox(dataclasses.replace(SMALL, wall_seconds=2, cpu_seconds=1), isolation="rlimits",
                       python=python)


def test_the_weaker_mode_runs_code_with_the_limits(weak, leaks):
    assert weak.run_python("print(6 * 7)").stdout == "42\n"
    assert weak.run(["sh", "-c", "cat in.txt"], files={"in.txt": "file"}).stdout == "file"
    memory = weak.run_python("x = bytearray(8 * 1024 ** 3)")
    assert "MemoryError" in memory.stderr
    # the CPU limit gets a wall clock it cannot reach first, however busy the machine
    with pytest.warns(WeakIsolationWarning):
        patient = Sandbox(dataclasses.replace(weak.limits, wall_seconds=60), isolation="rlimits",
                          python=weak._spec.python)
    loop = patient.run_python("while True:\n    pass")
    assert loop.killed_reason == "CPU time limit of 1 s exceeded" and not loop.timed_out, loop.killed_reason
    sleep = weak.run_python("import time\ntime.sleep(60)")
    assert sleep.timed_out and sleep.duration_s < 8
    flood = weak.run_python("import sys\nwhile True:\n    sys.stdout.write('x' * 65536)")
    assert flood.killed_reason.startswith("output limit")
    leaks.assert_clean()


def test_the_weaker_mode_kills_what_the_call_left_behind(weak, leaks):
    daemon = ("import os, subprocess, time\nsubprocess.Popen(['sleep', '300'])\n"
              "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(300)\n"
              "    os._exit(0)\nprint('done')")
    assert weak.run_python(daemon).stdout == "done\n"
    with weak.session() as session:
        session.run("x = 1")
        assert session.run("print(x + 1)").stdout == "2\n"
        session.run(daemon)
    leaks.assert_clean()


def test_the_weaker_mode_as_a_normal_user_kills_its_process_tree(weak, leaks):
    # the strategy a non-root user gets: no uid of its own, a child subreaper's process tree
    tree = Sandbox.__new__(Sandbox)
    tree._spec = dataclasses.replace(weak._spec, as_root=False)
    daemon = ("import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
              "        time.sleep(300)\n    os._exit(0)\nprint('done')")
    before = {p.pid for p in __import__("psutil").process_iter()}
    assert tree.run_python(daemon).stdout == "done\n"
    leaks.assert_clean()
    sleepers = [p for p in __import__("psutil").process_iter(["cmdline"])
                if p.pid not in before and p.info["cmdline"] and "time.sleep(300)" in " ".join(p.info["cmdline"])]
    assert not sleepers


def test_the_weaker_mode_is_weaker_it_reaches_the_network(weak):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    try:
        port = server.getsockname()[1]
        result = weak.run_python(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
                                 "print('connected')")
        assert result.stdout == "connected\n"  # what the bubblewrap sandbox prevents
    finally:
        server.close()


UNPRIVILEGED_HOST = """
import sys, types
package = types.ModuleType("agentgym")
package.__path__ = [{agentgym!r}]
sys.modules["agentgym"] = package  # only agentgym.sandbox (standard library only) is imported
from agentgym.sandbox import Sandbox, SandboxLimits
limits = SandboxLimits(cpu_seconds=5, memory_mb=256, processes=8, wall_seconds=3)
sandbox = Sandbox(limits)
print(sandbox.run_python("import os\\nprint(os.getpid(), os.getuid())").stdout.strip())
bomb = sandbox.run_python("import os\\nwhile True:\\n    try:\\n        os.fork()\\n    except OSError:\\n        pass")
print(bomb.timed_out)
with sandbox.session() as session:
    session.run("x = 20")
    print(session.run("x + 22").stdout.strip())
"""


@pytest.mark.skipif(not as_root(), reason="run as a normal user, every other test already takes this path")
def test_bubblewrap_as_a_normal_user():
    """The unprivileged path (a user namespace, no uid switch) driven by a real normal user."""
    python = shutil.which("python3", path="/usr/bin:/bin")
    if python is None:
        pytest.skip("no system python3 readable by an unprivileged user")
    if hidden_from_others(str(REPOSITORY / "agentgym" / "sandbox" / "launcher.py")):
        pytest.skip("the repository is not readable by other users")
    folder = Path(tempfile.mkdtemp())  # tmp_path's parents are private to root
    try:
        os.chmod(folder, 0o755)
        script = folder / "host.py"
        script.write_text(textwrap.dedent(UNPRIVILEGED_HOST.format(agentgym=str(REPOSITORY / "agentgym"))))
        os.chmod(script, 0o644)
        done = subprocess.run([python, str(script)], capture_output=True, text=True, timeout=60, cwd="/",
                              user=65534, group=65534, extra_groups=[], env={"PATH": "/usr/bin:/bin"})
    finally:
        shutil.rmtree(folder)
    assert done.returncode == 0, done.stderr
    # the program is pid 2 (its supervisor is the namespace's init) and keeps the user's uid
    assert done.stdout.splitlines() == ["2 65534", "True", "42"], done.stdout + done.stderr
