"""Launching environment servers as Docker containers (the optional ``docker`` SDK).

::

    with launch_env_server_containers(4, image="my/agentgym:latest", max_sessions=64) as pool:
        env = RemoteEnv("games/Wordle-v0", server=pool.next_url(), api_key=pool.api_key)

Each container runs ``agentgym serve-env --host 0.0.0.0 --port 8001`` (the image must have
agentgym with its ``serve`` extra installed and ``agentgym`` on its ``PATH``); its port is
published on ``host`` (loopback by default) at a port Docker picks or one from ``ports``.
Listening on ``0.0.0.0`` inside the container needs an API key, so one is generated when none
is given (``pool.api_key``); it reaches the container through its environment
(``AGENTGYM_API_KEY``), never its command line.

Contracts: the pool returns once every container answers ``GET /health`` (within
``startup_timeout``), else it removes every container and raises
:class:`~agentgym.remote.launcher.LauncherError` with the container's state and log tail.
Crashed servers are restarted by Docker itself (restart policy ``on-failure``, at most
``max_restarts`` times; the published port is kept); :meth:`ContainerPool.status` reports each
container's state, restart count and URL. :meth:`ContainerPool.close` (also ``with`` exit and
interpreter exit) stops every container (SIGTERM, SIGKILL after ``stop_grace``) and removes it.

``docker`` is imported only when a pool starts; without it, or without a reachable Docker
engine, starting raises :class:`~agentgym.remote.launcher.LauncherError` saying so.
"""

from __future__ import annotations

import atexit
import itertools
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, Sequence

import httpx

from agentgym.cli.serve_env_cmd import API_KEY_ENV
from agentgym.remote.launcher import LauncherError, root_url
from agentgym.serve.guards import check_port

CONTAINER_PORT = 8001
_LOG_TAIL_LINES = 40

# env_app options that `agentgym serve-env` takes as flags (and how a value becomes the flag's).
_FLAGS: dict[str, tuple[str, Any]] = {
    "max_sessions": ("--max-sessions", int),
    "idle_timeout": ("--idle-timeout", float),
    "resume_grace": ("--resume-grace", float),
    "heartbeat_interval": ("--heartbeat-interval", float),
    "heartbeat_timeout": ("--heartbeat-timeout", float),
    "max_body_bytes": ("--max-body-mb", lambda n: n / 2**20),
}


def serve_env_command(imports: Sequence[str] = (), **server_options: Any) -> list[str]:
    """The ``agentgym serve-env`` command a container runs for ``server_options`` (``env_app``
    names). Raises ``TypeError`` for an option the command line cannot carry."""
    unknown = sorted(set(server_options) - set(_FLAGS))
    if unknown:
        raise TypeError(f"option(s) {unknown} cannot be given to a container's serve-env; it takes {sorted(_FLAGS)}")
    command = ["agentgym"]
    for module in imports:
        command += ["--import", module]
    command += ["serve-env", "--host", "0.0.0.0", "--port", str(CONTAINER_PORT)]
    for name, value in server_options.items():
        flag, convert = _FLAGS[name]
        command += [flag, str(convert(value))]
    return command


@dataclass(frozen=True)
class ContainerStatus:
    """One container as Docker reports it (``state``: Docker's ``running``, ``restarting``, ``exited``...)."""

    index: int
    url: str
    container_id: str
    state: str
    restarts: int


def _docker_client() -> Any:
    try:
        import docker
    except ImportError:
        raise LauncherError("the Docker launcher needs the docker SDK: pip install docker") from None
    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:  # noqa: BLE001 - docker raises several kinds for "no engine"
        raise LauncherError(f"no Docker engine is reachable: {exc}") from None
    return client


class ContainerPool:
    """``n`` environment servers in Docker containers of ``image`` (see the module docstring)."""

    def __init__(self, n: int, *, image: str, host: str = "127.0.0.1", ports: Sequence[int] | None = None,
                 api_key: str | None = None, imports: Sequence[str] = (), startup_timeout: float = 120.0,
                 max_restarts: int = 5, stop_grace: float = 10.0, name_prefix: str = "agentgym-env",
                 **server_options: Any) -> None:
        if type(n) is not int or n < 1:
            raise ValueError(f"n must be an int >= 1, got {n!r}")
        if ports is not None:
            if len(ports) != n:
                raise ValueError(f"give one port per server: {n} servers, {len(ports)} ports")
            ports = [check_port(port) for port in ports]
        command = serve_env_command(imports, **server_options)
        self.api_key = api_key or secrets.token_urlsafe(24)
        self.host, self.stop_grace = host, stop_grace
        self._client = _docker_client()
        self._containers: list[Any] = []
        self._urls: list[str] = []
        self._closed = False
        self._lock = threading.Lock()
        self._round_robin = itertools.count()
        atexit.register(self.close)
        suffix = secrets.token_hex(4)
        try:
            for index in range(n):
                port = None if ports is None else ports[index]
                self._containers.append(self._client.containers.run(
                    image, command, detach=True, name=f"{name_prefix}-{suffix}-{index}",
                    environment={API_KEY_ENV: self.api_key}, ports={f"{CONTAINER_PORT}/tcp": (host, port)},
                    restart_policy={"Name": "on-failure", "MaximumRetryCount": max_restarts}))
            for index, container in enumerate(self._containers):
                self._urls.append(self._wait_started(index, container, startup_timeout))
        except BaseException:
            self.close()
            raise

    def _wait_started(self, index: int, container: Any, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        url = None
        while time.monotonic() < deadline:
            container.reload()
            if container.status in ("exited", "dead"):
                break
            bindings = (container.attrs.get("NetworkSettings", {}).get("Ports") or {}).get(f"{CONTAINER_PORT}/tcp")
            if bindings:
                url = root_url(self.host, bindings[0]["HostPort"])
                try:
                    response = httpx.get(url + "/health", headers={"authorization": f"Bearer {self.api_key}".encode()},
                                         timeout=2.0)
                    if response.status_code == 200:
                        return url
                except httpx.HTTPError:
                    pass
            time.sleep(0.2)
        logs = container.logs(tail=_LOG_TAIL_LINES).decode("utf-8", "replace").strip()
        raise LauncherError(f"container {index} ({container.name}, {container.status}) did not answer /health "
                            f"within {timeout:g} s at {url}; its log ends with:\n{logs}")

    @property
    def urls(self) -> list[str]:
        return list(self._urls)

    def url_for(self, index: int) -> str:
        return self._urls[index % len(self._urls)]

    def next_url(self) -> str:
        with self._lock:
            return self.url_for(next(self._round_robin))

    def status(self) -> list[ContainerStatus]:
        answers = []
        for index, container in enumerate(self._containers):
            container.reload()
            answers.append(ContainerStatus(index, self._urls[index] if index < len(self._urls) else "",
                                           container.id, container.status, int(container.attrs.get("RestartCount", 0))))
        return answers

    def __len__(self) -> int:
        return len(self._urls)

    def __enter__(self) -> "ContainerPool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Stop (SIGTERM, SIGKILL after ``stop_grace``) and remove every container. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        atexit.unregister(self.close)
        for container in self._containers:
            try:
                container.stop(timeout=int(self.stop_grace))
            except Exception:  # noqa: BLE001 - already gone: remove below settles it
                pass
            try:
                container.remove(force=True)
            except Exception:  # noqa: BLE001 - removed already
                pass
        self._client.close()


def launch_env_server_containers(n: int, *, image: str, host: str = "127.0.0.1", ports: Sequence[int] | None = None,
                                 api_key: str | None = None, **options: Any) -> ContainerPool:
    """Start ``n`` environment servers in containers of ``image``; see :class:`ContainerPool`."""
    return ContainerPool(n, image=image, host=host, ports=ports, api_key=api_key, **options)
