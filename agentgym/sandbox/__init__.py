"""agentgym.sandbox: run untrusted code (an agent's) in an OS-level sandbox.

.. code-block:: python

    from agentgym.sandbox import Sandbox, SandboxLimits

    limits = SandboxLimits(cpu_seconds=5, memory_mb=512, processes=64, file_size_mb=16,
                           open_files=64, wall_seconds=10, output_chars=20_000)
    sandbox = Sandbox(limits)                 # SandboxUnavailable (naming the cause) if it cannot work here
    result = sandbox.run_python("print(6 * 7)")   # one-shot: a fresh sandboxed interpreter
    result.stdout, result.exit_code, result.for_agent()
    sandbox.run(["python", "-m", "pytest", "-q"], files={"test_x.py": tests})   # any command

    with sandbox.session() as session:        # persistent: one interpreter per episode
        session.run("x = 2")
        session.run("print(x * 21)").stdout   # '42\\n'

    Sandbox(limits, isolation="rlimits")      # the weaker mode, only when asked (WeakIsolationWarning)

The default isolation is bubblewrap (Debian package ``bubblewrap``; ``make setup`` installs it
as root): the code runs as an unprivileged user in its own pid, network (nothing reachable),
ipc, uts and mount namespaces, seeing the Python installation (and ``readonly_paths``)
read-only, a private writable ``/tmp`` and nothing else of the host. Resource limits
(:class:`SandboxLimits`): CPU seconds, memory, processes, file size, open files, a wall-clock
timeout, output caps enforced while reading. No call leaves a process behind: at the end of a
call, on a timeout and when the host process dies, every process of the sandbox is killed.

Results are :class:`ExecutionResult` (stdout, stderr, exit code, why it was stopped, duration);
code that fails, hangs or floods is a result, never an exception. Exceptions are for the
sandbox itself: :class:`SandboxUnavailable`, :class:`SandboxError`, :class:`SessionClosed`.

Where bubblewrap cannot work (not installed; namespaces refused, e.g. under Docker's default
seccomp profile) ``Sandbox()`` raises :class:`SandboxUnavailable` naming the cause. There is
no silent fallback: ``isolation="rlimits"`` (a plain subprocess with the same limits, timeout
and caps, no namespaces) must be asked for, and warns that it is weaker.

What the limits do not cover, by design or by the kernel:

- ``memory_mb`` bounds each process (``RLIMIT_AS``); ``processes`` of them could each use it,
  and ``/tmp`` and ``/dev/shm`` (``disk_mb`` each) are RAM too. No cgroups are used.
- In a session, the per-call CPU limit is a soft limit the code itself could raise; the
  wall-clock limit is the hard stop there. Threads a cell starts keep running after it (its
  processes do not).
- Each of stdout and stderr keeps ``output_chars``; a call writing more than
  ``output_stop_mb`` in all is killed.
- Under root the code runs as a fresh unprivileged uid, in the weaker mode too, so that mode
  needs an interpreter other users can run (``python=``).
"""

from agentgym.sandbox.bwrap import INSTALL_COMMAND, check_bubblewrap
from agentgym.sandbox.errors import SandboxError, SandboxUnavailable, SessionClosed, WeakIsolationWarning
from agentgym.sandbox.limits import SandboxLimits
from agentgym.sandbox.result import ExecutionResult
from agentgym.sandbox.sandbox import WEAKER, Sandbox
from agentgym.sandbox.session import PythonSession

__all__ = [
    "INSTALL_COMMAND",
    "WEAKER",
    "ExecutionResult",
    "PythonSession",
    "Sandbox",
    "SandboxError",
    "SandboxLimits",
    "SandboxUnavailable",
    "SessionClosed",
    "WeakIsolationWarning",
    "check_bubblewrap",
]
