"""Red team: code that attacks the sandbox's own machinery rather than the host.

The sandbox's launcher answers the host over a control pipe. A one-shot Python program runs in
the launcher's own process and a session's cells in the session runner's, so the code holds
that pipe's descriptor too and can write frames of its own into it. Whatever it writes, the
call is a result, never an exception of the host (``ExecutionResult``'s promise, and
``run_tests``' "never raises for anything the solution does").
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest
from sandbox_helpers import SMALL

from agentgym.envs.tools.datasets.code_tests import run_tests
from agentgym.sandbox import ExecutionResult, Sandbox

# The control pipe's descriptor is the last argument of the launcher's command line.
FORGE = """
import os
ctrl_out = int(open("/proc/self/cmdline", "rb").read().split(b"\\0")[-2])
body = {body!r}
os.write(ctrl_out, len(body).to_bytes(4, "big") + body)
print("forged", flush=True)
"""



def forge(frame: dict) -> str:
    """Code that writes ``frame`` to the launcher's control pipe, then prints "forged"."""
    return FORGE.format(body=json.dumps(frame).encode())


FORGED_FRAMES = [
    {"setup_error": "forged by the code"},  # the launcher's set-up failure, once the code runs
    {"signal": "abc"},
    {"exit_code": [1]},
    {"signal": 9, "cpu_s": "lots"},
    {"exit_code": True},
]


@pytest.mark.parametrize("frame", FORGED_FRAMES, ids=[json.dumps(f) for f in FORGED_FRAMES])
def test_frames_forged_by_a_one_shot_program_are_no_exception(sandbox, frame, leaks):
    result = sandbox.run_python(forge(frame) + "raise SystemExit(3)")
    assert isinstance(result, ExecutionResult)
    assert result.stdout == "forged\n"
    assert result.exit_code == 3, result  # the launcher's own report, written after the code's
    assert result.cpu_s is None or isinstance(result.cpu_s, float)
    leaks.assert_clean()


def test_a_solution_forging_frames_gets_a_verdict_from_the_code_tests(sandbox):
    solution = forge({"signal": "abc"}) + "def add(a, b):\n    return a - b\n"
    verdict = run_tests(sandbox, solution, ["assert add(1, 2) == 3"])
    assert not verdict.correct
    assert verdict.total == 1 and "got -1" in verdict.failures[0], verdict


def test_frames_a_session_cell_writes_without_its_number_are_skipped(sandbox, leaks):
    with sandbox.session() as session:
        session.run("x = 41")
        result = session.run(forge({"exception": None, "kind": None, "exit_code": 0, "omitted": 5}) + "1 / 0")
        assert result.exception == "ZeroDivisionError: division by zero", result
        assert result.stdout == "forged\n" and not result.state_lost
        assert session.run("print(x + 1)").stdout == "42\n"
    leaks.assert_clean()


@pytest.mark.parametrize("frame", [{"omitted": 5}, {"exception": None, "kind": "exit", "exit_code": "zz"},
                                   {"exception": ["x"]}, {"kind": "weird"}])
def test_a_malformed_answer_with_the_cells_number_restarts_the_session(sandbox, frame, leaks):
    with sandbox.session() as session:
        session.run("x = 1")
        # this is the session's second cell: the number the launcher's answer carries
        result = session.run(forge({"cell": 2, "exception": None, "kind": None, "exit_code": 0,
                                    "omitted": {}, **frame}))
        assert isinstance(result, ExecutionResult)
        assert result.state_lost and result.exit_code is None
        assert "[stopped: the code wrote to the session's control pipe" in result.for_agent(), result.for_agent()
        assert session.run("print(6 * 7)").stdout == "42\n"
        assert session.restarts == 1
    leaks.assert_clean()


def test_a_session_stays_in_step_after_a_cell_forges_its_own_answer(sandbox, leaks):
    with sandbox.session() as session:
        session.run("x = 1")
        forged = session.run(forge({"cell": 2, "exception": None, "kind": None, "exit_code": 0, "omitted": {}})
                             + "print('late')")
        assert forged.ok  # believed: it has this cell's number and shape (what the cell prints
        # after it goes to the next call, as a thread's output would). The launcher's own answer
        # to that cell comes later and is skipped: every later call gets its own answer.
        for number in range(3):
            assert session.run(f"print(x + {number})").stdout.endswith(f"{1 + number}\n")
        assert session.restarts == 0
    leaks.assert_clean()


def test_exit_in_a_session_gives_the_status_a_program_would(sandbox):
    with sandbox.session() as session:
        assert session.run("import sys\nsys.exit()").exit_code == 0
        assert session.run("sys.exit(True)").exit_code == 1
        assert session.run("sys.exit('bye')").exit_code == 1
        assert session.run("sys.exit(4)").exit_code == 4
        assert session.restarts == 0


# -- readonly_paths: what the host chooses to show --------------------------------------------

SPELLINGS = """
import sys
from agentgym.sandbox import Sandbox
try:
    Sandbox(readonly_paths=["//"])
except ValueError as error:
    print("refused:", error)
result = Sandbox(readonly_paths=["/" + sys.argv[1]]).run_python(f"print(open({sys.argv[1] + '/data.txt'!r}).read())")
print("read:", result.stdout.strip() + result.stderr.strip())
"""


def test_readonly_paths_spelled_with_a_double_slash(tmp_path):
    # '//' is a path of its own to os.path (POSIX leaves a leading '//' alone): '//' passed the
    # refusal of '/' (binding the whole host), and any '//...' path looped forever, growing a
    # list, in the host (parent_dirs: dirname('//') is '//'). Run in a child: that loop was a hang.
    shared = tmp_path / "shared"  # searchable by the sandbox's user (tmp_path is not)
    shared.mkdir(mode=0o755)
    (shared / "data.txt").write_text("shown")
    done = subprocess.run([sys.executable, "-c", SPELLINGS, str(shared)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "refused: readonly_paths may not contain '/': that would show the whole host", lines
    assert lines[1] == "read: shown", lines


def test_a_readonly_path_that_is_a_symlink_to_the_root_is_refused(tmp_path):
    (tmp_path / "root").symlink_to("/")
    with pytest.raises(ValueError, match="would show the whole host"):
        Sandbox(readonly_paths=[str(tmp_path / "root")])


def test_readonly_paths_given_as_one_string_is_a_type_error(tmp_path):
    # iterated, "/data" was '/', 'd', ...: refused as "may not contain '/'", which it did not
    with pytest.raises(TypeError, match="readonly_paths must be a list of paths, not one path"):
        Sandbox(readonly_paths=str(tmp_path))


SHARED_MEMORY = """
import multiprocessing, os
from concurrent.futures import ProcessPoolExecutor
lock = multiprocessing.Lock()                    # a POSIX semaphore: a file in /dev/shm
with ProcessPoolExecutor(2) as pool:
    print("pool:", sorted(pool.map(abs, [-2, -1])))
stat = os.statvfs("/dev/shm")
print("size MB:", stat.f_blocks * stat.f_frsize // 2 ** 20)
try:
    for number in range(50):  # files of 4 MB (under the file size limit), 200 MB in all
        with open(f"/dev/shm/fill{number}", "wb") as handle:
            handle.write(bytes(4 * 2 ** 20))
    print("fill: wrote 200 MB")
except OSError as error:
    print("fill:", error.strerror)
"""


def test_dev_shm_is_a_private_bounded_tmpfs(sandbox, leaks):
    # bubblewrap's --dev makes /dev/shm a folder of its /dev tmpfs (half the host's RAM, no
    # size): writable by the code as a normal user (unbounded by disk_mb), not writable as root
    # (multiprocessing's locks and pools failed with PermissionError)
    result = sandbox.run_python(SHARED_MEMORY)
    lines = result.stdout.splitlines()
    assert lines[0] == "pool: [1, 2]", result.for_agent()
    assert lines[1] == f"size MB: {SMALL.disk_mb}", lines
    assert lines[2] == "fill: No space left on device", lines
    leaks.assert_clean()


MOUNTS = """
import os
mounts = {}
for line in open("/proc/self/mounts"):
    fields = line.split()
    mounts[fields[1]] = fields[3].split(",")[0]  # a later mount at the same point hides the earlier
for path in ("/", "/dev", "/etc", "/.sandbox", "/tmp", "/dev/shm"):
    try:
        with open(os.path.join(path, "probe"), "w") as handle:
            handle.write("x")
        written = "written"
    except OSError as error:
        written = error.strerror
    print(path, mounts.get(path, "-"), written)
"""


def test_only_tmp_and_dev_shm_can_be_written(sandbox, leaks):
    # bubblewrap's root and /dev are tmpfs of their own with no size (half the host's RAM); as a
    # normal user (a user namespace) the code owns them: it could write gigabytes into /, /etc,
    # /dev or /.sandbox past disk_mb. Mounted read-only, they hold only what the sandbox put there.
    result = sandbox.run_python(MOUNTS)
    seen = {line.split()[0]: line.split(maxsplit=2)[1:] for line in result.stdout.splitlines()}
    assert seen["/"][0] == "ro" and seen["/dev"][0] == "ro", seen
    for path in ("/", "/dev", "/etc", "/.sandbox"):
        assert seen[path][1] in ("Read-only file system", "Permission denied"), (path, seen)
    assert seen["/tmp"] == ["rw", "written"] and seen["/dev/shm"] == ["rw", "written"], seen
    leaks.assert_clean()


FLOOD = """
import os
ctrl_out = int(open("/proc/self/cmdline", "rb").read().split(b"\\0")[-2])
frames = b"\\x00\\x00\\x00\\x02{}" * 10_000  # the smallest frames there are
print("flooding", flush=True)
while True:
    os.write(ctrl_out, frames)
"""


def test_a_flood_of_tiny_frames_on_the_control_pipe_is_bounded(leaks):
    # Every frame was kept until the call ended (millions of dicts: hundreds of MB of the host's
    # memory in seconds), and taking them one by one (list.pop(0)) took minutes past the
    # wall clock. Past a few frames the pipe is garbage and its frames are not kept.
    sandbox = Sandbox(dataclasses.replace(SMALL, wall_seconds=1))
    result = sandbox.run_python(FLOOD)
    assert result.timed_out and result.stdout == "flooding\n", result
    assert result.duration_s < 10
    with sandbox.session() as session:
        session.run("x = 1")
        flooded = session.run(FLOOD)
        assert flooded.state_lost and not flooded.timed_out, flooded
        assert flooded.killed_reason == "the code wrote to the session's control pipe, which the interpreter needs"
        assert session.run("print(6 * 7)").stdout == "42\n"
    leaks.assert_clean()
