"""The sandbox's exceptions and its warning."""

from __future__ import annotations


class SandboxError(RuntimeError):
    """The sandbox itself failed (not the code it ran): it could not start, or its set-up
    inside the sandbox failed. Code that fails, hangs or floods its output is never an
    exception: it is an :class:`~agentgym.sandbox.ExecutionResult`."""


class SandboxUnavailable(SandboxError):
    """The requested isolation cannot work on this machine; the message names the cause
    (bubblewrap missing, with the command that installs it, or the kernel refusing to create
    namespaces, with bubblewrap's own error) and the explicit weaker alternative."""


class SessionClosed(SandboxError):
    """A call on a :class:`~agentgym.sandbox.PythonSession` after it was closed."""


class WeakIsolationWarning(UserWarning):
    """Issued when a sandbox is built with ``isolation="rlimits"``: resource limits only, no
    namespaces (the code sees the network and the host's files like any process of its user)."""
