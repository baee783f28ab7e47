"""Launching several environment servers as child processes, kept alive by a monitor thread.

::

    with launch_env_servers(4, max_sessions=64) as pool:
        env = RemoteEnv("games/Wordle-v0", server=pool.next_url())   # round-robin over the 4
        ...

Contracts:

- **Ports, race-free.** The launcher binds and listens on every server's socket itself (port 0
  picks a free one; ``ports=[...]`` asks for given ones) and hands the listening socket to the
  child (inherited file descriptor), so the port is known before the child starts, no other
  process can take it between two children, and a restarted child serves the *same* port.
- **Startup.** :class:`ServerPool` returns once every server answers ``GET /health`` (within
  ``startup_timeout`` seconds each, started in parallel). When one does not, every child is
  stopped and :class:`LauncherError` is raised naming the server, why (its exit code or the
  timeout) and the tail of its stderr (e.g. ``ValueError: max_sessions ... must be >= 1``).
- **Monitor.** A daemon thread checks every server each ``monitor_interval`` seconds: a child
  that exited, or that failed ``unhealthy_after`` health checks in a row (hung; it is killed),
  is restarted on its port after a backoff of ``restart_backoff * 2**(k-1)`` seconds (at most
  ``max_backoff``), ``k`` the crashes in a row. A server that crashes ``max_restarts`` times in a
  row, each time before staying up ``stable_after`` seconds, is a crash loop: it is marked
  ``"failed"`` (logged with its last error, its socket closed so clients get *connection
  refused* rather than waiting), never respun. :meth:`ServerPool.status` reports every server's
  state, pid, restarts and last error. Sessions of a crashed server are lost: a
  :class:`~agentgym.remote.RemoteEnv` step in flight gets an error observation, and its next
  ``reset`` opens a new session on the restarted server.
- **Shutdown.** :meth:`ServerPool.close` (also on ``with`` exit and at interpreter exit) stops
  the monitor, sends SIGTERM to every child (uvicorn then closes every environment), SIGKILL to
  any still alive after ``stop_grace`` seconds, reaps each one and closes the listening sockets:
  no child process or listening port outlives it. Children run in their own session (a
  terminal's Ctrl-C reaches only the parent, which then stops them) and each watches its
  parent: if the parent dies without closing (SIGKILL), the child stops itself within a second.

Options beyond the launcher's own go to :func:`~agentgym.remote.server.env_app` in each child
(``max_sessions``, ``idle_timeout``, ...; JSON values). ``imports`` names modules each child
imports first, making their environments servable (as ``agentgym --import``). The API key
reaches the children through their environment, never their command line.
"""

from __future__ import annotations

import atexit
import inspect
import itertools
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import IO, Any, Iterable, Sequence

from agentgym.cli.serve_env_cmd import API_KEY_ENV
from agentgym.serve.guards import check_exposure, check_port

log = logging.getLogger(__name__)

_STDERR_TAIL_BYTES = 4000


class LauncherError(RuntimeError):
    """A server could not be started (the message says which, why, and its stderr's tail)."""


@dataclass(frozen=True)
class ServerStatus:
    """One server as the monitor last saw it.

    ``state``: ``"starting"`` (spawned, not yet healthy), ``"running"``, ``"backoff"`` (crashed,
    waiting to restart), ``"failed"`` (a crash loop: given up) or ``"stopped"`` (pool closed).
    ``restarts``: how many times it was restarted in all. ``last_error``: why it last went down.
    """

    index: int
    url: str
    port: int
    state: str
    pid: int | None
    restarts: int
    last_error: str | None


def root_url(host: str, port: Any) -> str:
    """The root URL of a server listening on ``host``:``port`` (an IPv6 address in brackets)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _Server:
    """One child and its listening socket (the monitor thread alone changes it after startup)."""

    def __init__(self, index: int, sock: socket.socket, host: str) -> None:
        self.index, self.sock = index, sock
        self.port = sock.getsockname()[1]
        self.url = root_url(host, self.port)
        self.process: subprocess.Popen | None = None
        self.stderr: IO[bytes] | None = None
        self.state = "starting"
        self.restarts = 0
        self.crash_streak = 0
        self.health_failures = 0
        self.started_at = 0.0
        self.start_deadline = 0.0
        self.next_attempt = 0.0
        self.last_error: str | None = None

    def stderr_tail(self) -> str:
        if self.stderr is None:
            return ""
        try:
            self.stderr.flush()
            size = self.stderr.seek(0, os.SEEK_END)
            self.stderr.seek(max(0, size - _STDERR_TAIL_BYTES))
            return self.stderr.read().decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return ""

    def status(self) -> ServerStatus:
        pid = self.process.pid if self.process is not None and self.process.poll() is None else None
        return ServerStatus(self.index, self.url, self.port, self.state, pid, self.restarts, self.last_error)


def _bind(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                         flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise LauncherError(f"cannot listen on {host}:{port}: {exc}") from None
    return sock


class ServerPool:
    """``n`` environment servers as child processes (see the module docstring for the contracts).

    Args:
        n: how many servers.
        host: the interface they listen on (beyond loopback needs ``api_key``).
        ports: one port per server (default: free ones picked by the system), each an int from
            0 to 65535 (0: a free one); anything else is a ``ValueError``, before anything starts.
        api_key: every server's bearer key (clients pass it to ``RemoteEnv(api_key=...)``).
        imports: modules each child imports before serving (their environments register).
        startup_timeout: seconds a server may take to answer ``/health`` after it is spawned.
        monitor_interval: seconds between the monitor's checks.
        health_timeout: seconds one health check may take.
        unhealthy_after: failed health checks in a row after which a live child is killed.
        max_restarts: crashes in a row (none staying up ``stable_after`` s) before giving up.
        restart_backoff / max_backoff: the first pause before a restart, doubling, and its cap.
        stop_grace: seconds between SIGTERM and SIGKILL on close.
        **server_options: :func:`~agentgym.remote.server.env_app` arguments (JSON values).
    """

    def __init__(self, n: int, *, host: str = "127.0.0.1", ports: Sequence[int] | None = None,
                 api_key: str | None = None, imports: Iterable[str] = (), startup_timeout: float = 60.0,
                 monitor_interval: float = 1.0, health_timeout: float = 5.0, unhealthy_after: int = 3,
                 max_restarts: int = 5, stable_after: float = 30.0, restart_backoff: float = 0.5,
                 max_backoff: float = 30.0, stop_grace: float = 10.0, **server_options: Any) -> None:
        if type(n) is not int or n < 1:
            raise ValueError(f"n must be an int >= 1, got {n!r}")
        if ports is not None:
            if len(ports) != n:
                raise ValueError(f"give one port per server: {n} servers, {len(ports)} ports")
            ports = [check_port(port) for port in ports]  # 70000 would bind 70000 % 65536, '80' port 80
        check_exposure(host, api_key)
        known = set(inspect.signature(_env_app_signature()).parameters) - {"api_key"}
        unknown = sorted(set(server_options) - known)
        if unknown:
            raise TypeError(f"unknown server option(s) {unknown}: env_app takes {sorted(known)}")
        try:
            self._options_json = json.dumps(server_options)
        except TypeError as exc:
            raise TypeError(f"server options must be JSON values: {exc}") from None
        for name, value in (("startup_timeout", startup_timeout), ("monitor_interval", monitor_interval),
                            ("health_timeout", health_timeout), ("stop_grace", stop_grace)):
            if not value > 0:
                raise ValueError(f"{name} must be positive, got {value}")
        for name, value in (("stable_after", stable_after), ("restart_backoff", restart_backoff),
                            ("max_backoff", max_backoff)):
            if not value >= 0:  # NaN too: a restart due at NaN s never comes
                raise ValueError(f"{name} must be a number of seconds >= 0, got {value}")
        for name, value, least in (("unhealthy_after", unhealthy_after, 1), ("max_restarts", max_restarts, 0)):
            if type(value) is not int or value < least:
                raise ValueError(f"{name} must be an int >= {least}, got {value!r}")
        self.host, self.api_key, self.imports = host, api_key, list(imports)
        self.startup_timeout, self.monitor_interval, self.health_timeout = startup_timeout, monitor_interval, health_timeout
        self.unhealthy_after, self.max_restarts, self.stable_after = unhealthy_after, max_restarts, stable_after
        self.restart_backoff, self.max_backoff, self.stop_grace = restart_backoff, max_backoff, stop_grace
        self._headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self._stop = threading.Event()
        self._closed = False
        self._close_lock = threading.Lock()
        self._round_robin = itertools.count()
        self._rr_lock = threading.Lock()
        self._servers: list[_Server] = []
        self._monitor: threading.Thread | None = None
        atexit.register(self.close)
        try:
            for index, port in enumerate(ports if ports is not None else [0] * n):
                self._servers.append(_Server(index, _bind(host, port), host))
            for server in self._servers:
                self._spawn(server)
            for server in self._servers:
                self._wait_started(server)
        except BaseException:
            self.close()
            raise
        self._monitor = threading.Thread(target=self._monitor_loop, name="agentgym-env-pool-monitor", daemon=True)
        self._monitor.start()

    # ------------------------------------------------------------------ finding a server
    @property
    def urls(self) -> list[str]:
        """Every server's root URL, in order (stable across restarts)."""
        return [server.url for server in self._servers]

    def url_for(self, index: int) -> str:
        """The URL of server ``index % n``: ``url_for(session_number)`` spreads sessions evenly."""
        return self._servers[index % len(self._servers)].url

    def next_url(self) -> str:
        """The next server's URL, round-robin (thread-safe)."""
        with self._rr_lock:
            return self.url_for(next(self._round_robin))

    def status(self) -> list[ServerStatus]:
        """Every server's state, pid, restarts and last error."""
        return [server.status() for server in self._servers]

    def __len__(self) -> int:
        return len(self._servers)

    def __enter__(self) -> "ServerPool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ children
    def _spawn(self, server: _Server) -> None:
        if server.stderr is not None:
            server.stderr.close()
        server.stderr = tempfile.TemporaryFile(prefix=f"agentgym-env-server-{server.index}-")
        env = dict(os.environ)
        env.pop(API_KEY_ENV, None)
        if self.api_key:
            env[API_KEY_ENV] = self.api_key
        fd = server.sock.fileno()
        command = [sys.executable, "-c", "from agentgym.remote.launcher import _child_main; _child_main()",
                   "--fd", str(fd), "--options", self._options_json]
        for module in self.imports:
            command += ["--import", module]
        server.process = subprocess.Popen(command, pass_fds=(fd,), stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL, stderr=server.stderr, env=env,
                                          start_new_session=True)
        server.state = "starting"
        server.health_failures = 0
        server.started_at = time.monotonic()
        server.start_deadline = server.started_at + self.startup_timeout

    def _healthy(self, server: _Server, timeout: float) -> bool:
        """Whether ``server`` answers ``GET /health`` with 200 within ``timeout`` seconds.

        A plain HTTP/1.0 request on one connection, waited on in short slices so that the child's
        death ends the wait at once: the listening socket outlives the child, so a request to a
        dead child would otherwise sit in the accept queue until the timeout."""
        deadline = time.monotonic() + timeout
        request = (f"GET /health HTTP/1.0\r\nHost: {server.url.split('//', 1)[1]}\r\n"
                   + "".join(f"{name}: {value}\r\n" for name, value in self._headers.items()) + "\r\n").encode()
        try:
            with socket.create_connection((self.host, server.port), timeout=timeout) as conn:
                conn.sendall(request)
                answer = b""
                while b"\r\n" not in answer:
                    if server.process is None or server.process.poll() is not None:
                        return False
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    conn.settimeout(min(0.1, remaining))
                    try:
                        chunk = conn.recv(4096)
                    except socket.timeout:
                        continue
                    if not chunk:
                        break
                    answer += chunk
        except OSError:
            return False
        parts = answer.split(b"\r\n", 1)[0].split()
        return len(parts) >= 2 and parts[1] == b"200"

    def _wait_started(self, server: _Server) -> None:
        """Block until ``server`` answers /health; raise :class:`LauncherError` when it cannot."""
        assert server.process is not None
        while True:
            code = server.process.poll()
            if code is not None:
                raise LauncherError(f"environment server {server.index} ({server.url}) exited with code {code} "
                                    f"before answering /health; its stderr ends with:\n{server.stderr_tail()}")
            remaining = server.start_deadline - time.monotonic()
            if remaining <= 0:
                raise LauncherError(f"environment server {server.index} ({server.url}) did not answer /health "
                                    f"within {self.startup_timeout:g} s; its stderr ends with:\n"
                                    f"{server.stderr_tail()}")
            if self._healthy(server, min(1.0, remaining)):
                server.state = "running"
                return
            time.sleep(0.05)

    def _stop_process(self, server: _Server, grace: float) -> None:
        process = server.process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                process.kill()
        process.wait()

    # ------------------------------------------------------------------ monitor
    def _monitor_loop(self) -> None:
        while not self._stop.wait(self.monitor_interval):
            for server in self._servers:
                if self._stop.is_set():
                    return
                try:
                    self._check(server)
                except Exception:  # noqa: BLE001 - the monitor must outlive one bad check
                    log.exception("environment server monitor: checking server %d failed", server.index)

    def _check(self, server: _Server) -> None:
        now = time.monotonic()
        if server.state in ("failed", "stopped"):
            return
        if server.state == "backoff":
            if now >= server.next_attempt:
                server.restarts += 1
                log.warning("restarting environment server %d on %s (restart %d)", server.index, server.url,
                            server.restarts)
                self._spawn(server)
            return
        assert server.process is not None
        code = server.process.poll()
        if code is not None:
            self._crashed(server, f"exited with code {code}; stderr ends with: {server.stderr_tail()[-1000:]}")
            return
        if server.state == "starting":
            if self._healthy(server, min(self.health_timeout, max(0.1, server.start_deadline - now))):
                server.state = "running"
            elif time.monotonic() > server.start_deadline:
                self._stop_process(server, grace=1.0)
                self._crashed(server, f"did not answer /health within {self.startup_timeout:g} s of a restart")
            return
        if self._healthy(server, self.health_timeout):
            server.health_failures = 0
            return
        server.health_failures += 1
        if server.health_failures >= self.unhealthy_after:
            self._stop_process(server, grace=1.0)
            self._crashed(server, f"unresponsive: {server.health_failures} health checks failed in a row")

    def _crashed(self, server: _Server, why: str) -> None:
        server.last_error = why
        if time.monotonic() - server.started_at >= self.stable_after:
            server.crash_streak = 0
        server.crash_streak += 1
        if server.crash_streak > self.max_restarts:
            server.state = "failed"
            server.sock.close()
            log.error("environment server %d (%s) crashed %d times in a row; given up: %s", server.index,
                      server.url, server.crash_streak, why)
            return
        delay = min(self.max_backoff, self.restart_backoff * 2 ** (server.crash_streak - 1))
        server.state = "backoff"
        server.next_attempt = time.monotonic() + delay
        log.warning("environment server %d (%s) went down (%s); restarting in %.2g s", server.index, server.url,
                    why, delay)

    # ------------------------------------------------------------------ shutdown
    def close(self) -> None:
        """Stop the monitor, then every child (SIGTERM, SIGKILL after ``stop_grace``), reap them and
        close the listening sockets. Idempotent; never raises for a child already gone."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        self._stop.set()
        if self._monitor is not None:
            self._monitor.join()
        atexit.unregister(self.close)
        for server in self._servers:
            if server.process is not None and server.process.poll() is None:
                server.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_grace
        for server in self._servers:
            if server.process is not None:
                try:
                    server.process.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    server.process.kill()
                    server.process.wait()
            server.sock.close()
            if server.stderr is not None:
                server.stderr.close()
            server.state = "stopped"


def launch_env_servers(n: int, *, host: str = "127.0.0.1", ports: Sequence[int] | None = None,
                       api_key: str | None = None, **server_options: Any) -> ServerPool:
    """Start ``n`` environment servers and return their :class:`ServerPool` once every one answers
    ``/health`` (use it as a context manager, or call ``close()``). Other keyword arguments are
    :class:`ServerPool`'s (``imports``, ``monitor_interval``, ...) or ``env_app``'s."""
    return ServerPool(n, host=host, ports=ports, api_key=api_key, **server_options)


def _env_app_signature() -> Any:
    from agentgym.remote.server import env_app

    return env_app


# ---------------------------------------------------------------------- the child
def _watch_parent(parent: int) -> None:
    """Stop this child (gracefully, SIGTERM to itself) once its parent is gone."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGTERM)


def _child_main(argv: Sequence[str] | None = None) -> None:
    """A launched server: serve ``env_app(**options)`` on the inherited listening socket ``--fd``."""
    import argparse
    import importlib

    parser = argparse.ArgumentParser(prog="agentgym-launched-env-server")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--options", default="{}")
    parser.add_argument("--import", dest="imports", action="append", default=[])
    args = parser.parse_args(argv)
    threading.Thread(target=_watch_parent, args=(os.getppid(),), name="agentgym-parent-watch", daemon=True).start()
    for module in args.imports:
        importlib.import_module(module)
    import uvicorn

    from agentgym.remote.runner import websocket_size_limit
    from agentgym.remote.server import env_app, guarded_http_protocol

    app = env_app(api_key=os.environ.get(API_KEY_ENV) or None, **json.loads(args.options))
    sock = socket.socket(fileno=args.fd)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5,
                                           http=guarded_http_protocol(), ws_max_size=websocket_size_limit(app)))
    server.run(sockets=[sock])
