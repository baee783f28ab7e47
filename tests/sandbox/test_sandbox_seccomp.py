"""The refusal where namespaces cannot be created, produced for real: a child process installs a
seccomp filter that refuses what Docker's default profile refuses to a container without
``CAP_SYS_ADMIN`` (``unshare``, ``setns``, ``clone`` with a namespace flag; ``clone3`` answers
``ENOSYS``), then asks for a sandbox. The real bubblewrap fails, and ``Sandbox()`` must refuse
with bubblewrap's own words and the cause; the weaker mode still works there, only when asked
for, and says that it is weaker.

(``test_sandbox_availability`` checks the messages against a stand-in ``bwrap``; this one
checks that the probe detects the real failure.)
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

import pytest
from sandbox_helpers import python_for_other_users

AGENTGYM = Path(__file__).resolve().parents[2] / "agentgym"

CONFINED_HOST = r'''
import ctypes, json, platform, struct, sys, types, warnings

# audit arch, unshare, clone, clone3, setns (the syscall numbers of the two ABIs we run on)
ARCHES = {"x86_64": (0xC000003E, 272, 56, 435, 308), "aarch64": (0xC00000B7, 97, 220, 435, 268)}
CLONE_NEW = 0x7E020080  # NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET | NEWTIME
ALLOW, ERRNO, EPERM, ENOSYS = 0x7FFF0000, 0x00050000, 1, 38
LD, JEQ, JSET, RET = 0x20, 0x15, 0x45, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ|K, BPF_JMP|JSET|K, BPF_RET|K


def refuse_namespaces():
    arch, unshare, clone, clone3, setns = ARCHES[platform.machine()]
    program = [
        (LD, 0, 0, 4),                # seccomp_data.arch
        (JEQ, 1, 0, arch),
        (RET, 0, 0, ERRNO | EPERM),   # another ABI: refused
        (LD, 0, 0, 0),                # seccomp_data.nr
        (JEQ, 5, 0, unshare),         # -> EPERM
        (JEQ, 4, 0, setns),           # -> EPERM
        (JEQ, 5, 0, clone3),          # -> ENOSYS (glibc then falls back to clone)
        (JEQ, 0, 3, clone),           # not clone -> ALLOW
        (LD, 0, 0, 16),               # clone's flags: the low half of args[0]
        (JSET, 0, 1, CLONE_NEW),      # a namespace flag -> EPERM, else ALLOW
        (RET, 0, 0, ERRNO | EPERM),
        (RET, 0, 0, ALLOW),
        (RET, 0, 0, ERRNO | ENOSYS),
    ]
    code = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *op) for op in program))

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS: what lets an unprivileged filter in
        raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS")
    if libc.prctl(22, 2, ctypes.byref(Program(len(program), ctypes.addressof(code))), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_SECCOMP")  # SECCOMP_MODE_FILTER
    return libc


report = {}
libc = refuse_namespaces()
report["unshare"] = [libc.unshare(0x04000000), ctypes.get_errno()]  # CLONE_NEWUTS: -1, EPERM

package = types.ModuleType("agentgym")
package.__path__ = [sys.argv[1]]
sys.modules["agentgym"] = package  # only agentgym.sandbox (standard library only) is imported
from agentgym.sandbox import Sandbox, SandboxLimits, SandboxUnavailable, WeakIsolationWarning

limits = SandboxLimits(cpu_seconds=5, memory_mb=256, processes=16, wall_seconds=20)
try:
    Sandbox(limits)
    report["refused"] = None
except SandboxUnavailable as refusal:
    report["refused"] = str(refusal)
if sys.argv[2]:  # an interpreter the weaker mode can run
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        weak = Sandbox(limits, isolation="rlimits", python=sys.argv[2])
    report["warnings"] = [f"{w.category.__name__}: {w.message}" for w in warned]
    report["description"] = weak.description
    result = weak.run_python("print(6 * 7)")
    report["weak_stdout"], report["weak_exit"] = result.stdout, result.exit_code
print(json.dumps(report))
'''


@pytest.mark.skipif(platform.machine() not in ("x86_64", "aarch64"), reason="the filter knows two ABIs' syscall numbers")
def test_namespaces_refused_by_a_docker_like_seccomp_filter_are_named_and_refused(tmp_path):
    script = tmp_path / "confined_host.py"
    script.write_text(CONFINED_HOST)
    weak_python = python_for_other_users() or ""
    done = subprocess.run([sys.executable, str(script), str(AGENTGYM), weak_python], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["unshare"] == [-1, 1], report  # the filter is in force: EPERM, as under Docker

    refusal = report["refused"]
    assert refusal is not None, "Sandbox() built a sandbox where namespaces cannot be created"
    assert "cannot create its namespaces here" in refusal
    assert "bwrap: " in refusal and "Operation not permitted" in refusal  # bubblewrap's own words
    assert "seccomp" in refusal and "Docker" in refusal  # the likely causes, named
    assert "isolation='rlimits' is a weaker alternative, only when asked for explicitly" in refusal

    if weak_python:  # the weaker mode needs no namespaces: it runs there, and says it is weaker
        assert any(w.startswith("WeakIsolationWarning: isolation='rlimits' is weaker") for w in report["warnings"])
        assert "weaker" in report["description"]
        assert (report["weak_stdout"], report["weak_exit"]) == ("42\n", 0), report
