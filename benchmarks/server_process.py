"""A server in a child process, for the benchmarks that drive one over loopback.

:func:`start_server_process` runs a command that serves HTTP on a free port of 127.0.0.1 and
returns once the server answers ``GET /health`` with 200; :func:`stop_server_process` stops it
(SIGTERM, then SIGKILL after a grace). A server that exits or stays silent past the deadline is
killed and reported with a :class:`RuntimeError` naming what it was; one whose wait is
interrupted (Ctrl-C) is killed before the interruption goes on.
"""

from __future__ import annotations

import socket
import subprocess
import time
from typing import IO, Callable, Sequence

import httpx


def free_port() -> int:
    """A port of 127.0.0.1 no one listens on now (the OS's pick)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server_process(command: Callable[[int], Sequence[str]], what: str, *, output: IO[bytes] | None = None,
                         startup_timeout: float = 60.0) -> tuple[subprocess.Popen, str]:
    """Run ``command(port)`` (the argv of a server listening on ``port``), its output to
    ``output`` (inherited when ``None``), and return the process and its URL once ``/health``
    answers. ``what`` names the server in the error raised when it does not start."""
    port = free_port()
    process = subprocess.Popen(list(command(port)), stdout=output, stderr=None if output is None else subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_health(process, url, what, startup_timeout)
    except BaseException:  # Ctrl-C included: the caller gets no process to stop, so none may outlive the wait
        process.kill()
        process.wait()
        raise
    return process, url


def _wait_for_health(process: subprocess.Popen, url: str, what: str, startup_timeout: float) -> None:
    """Return once ``url``'s ``/health`` answers 200; a :class:`RuntimeError` naming ``what``
    if ``process`` exits first or ``startup_timeout`` seconds pass."""
    deadline = time.monotonic() + startup_timeout
    while True:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start on {url}")
        time.sleep(0.1)


def stop_server_process(process: subprocess.Popen, grace: float = 30.0) -> None:
    """SIGTERM ``process``; SIGKILL it if it has not exited ``grace`` seconds later."""
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
