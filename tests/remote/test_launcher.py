"""The subprocess launcher: real `agentgym` server processes on loopback, real kills, real sockets."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time

import psutil
import pytest

from agentgym.remote import LauncherError, RemoteEnv, ServerPool, launch_env_servers

WORDLE = "games/Wordle-v0"
FAST = {"monitor_interval": 0.2, "restart_backoff": 0.1, "stop_grace": 5.0}


def _children() -> set[int]:
    return {child.pid for child in psutil.Process().children(recursive=True)}


def _port_refuses(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True


def _play(url: str) -> tuple[bool, int]:
    """A whole Wordle episode (guesses until it ends): (ended, steps)."""
    env = RemoteEnv(WORDLE, server=url)
    try:
        observation, _ = env.reset(seed=3)
        assert observation.startswith("Guess the secret")
        for steps, guess in enumerate(["crane", "slate", "pious", "dumpy", "fight", "wreck", "bloom", "gawky"] * 2,
                                      start=1):
            observation, _, terminated, truncated, info = env.step(guess)
            assert "remote_error" not in info, observation
            if terminated or truncated:
                return True, steps
        return False, steps
    finally:
        env.close()


def _wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_two_servers_serve_episodes_and_close_leaves_no_process_or_port():
    before, fds_before, threads_before = _children(), psutil.Process().num_fds(), threading.active_count()
    pool = launch_env_servers(2, max_sessions=8, **FAST)
    try:
        assert len(pool) == 2 and len(set(pool.urls)) == 2
        assert [pool.url_for(i) for i in range(4)] == pool.urls * 2
        assert [pool.next_url() for _ in range(4)] == pool.urls * 2
        pids = {status.pid for status in pool.status()}
        assert None not in pids and pids <= _children() - before
        for url in pool.urls:
            ended, steps = _play(url)
            assert ended and steps >= 1
        assert [status.state for status in pool.status()] == ["running", "running"]
        ports = [status.port for status in pool.status()]
    finally:
        pool.close()
    assert _children() == before
    assert (psutil.Process().num_fds(), threading.active_count()) == (fds_before, threads_before)
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE for pid in pids)
    assert all(_port_refuses(port) for port in ports)
    assert [status.state for status in pool.status()] == ["stopped", "stopped"]
    pool.close()  # idempotent


def test_a_killed_server_is_restarted_on_its_port_and_an_in_flight_step_gets_an_error():
    before = _children()
    with launch_env_servers(2, **FAST) as pool:
        victim = pool.status()[0]
        env = RemoteEnv(WORDLE, server=victim.url, timeout=10, connect_timeout=2, retries=1)
        env.reset(seed=0)
        # Freeze the server so the step is surely in flight, then kill it.
        os.kill(victim.pid, signal.SIGSTOP)
        answers = []
        stepper = threading.Thread(target=lambda: answers.append(env.step("crane")))
        stepper.start()
        time.sleep(0.3)
        assert stepper.is_alive()  # the step waits on the frozen server
        os.kill(victim.pid, signal.SIGKILL)
        stepper.join(timeout=15)
        assert not stepper.is_alive(), "the in-flight step hung after its server was killed"
        observation, reward, terminated, truncated, info = answers[0]
        assert observation.startswith("Environment server error")
        assert (reward, terminated, truncated) == (0.0, False, True) and info["remote_error"] == "transport"

        assert _wait_for(lambda: pool.status()[0].state == "running" and pool.status()[0].restarts == 1, 20), \
            pool.status()
        restarted = pool.status()[0]
        assert restarted.url == victim.url and restarted.pid not in (None, victim.pid)
        assert "code -9" in restarted.last_error
        assert pool.status()[1].restarts == 0
        # A new session on the restarted server works, and the old client reopens one on reset.
        assert _play(restarted.url)[0]
        observation, info = env.reset(seed=1)
        assert observation.startswith("Guess the secret"), observation
        assert not env.step("crane")[0].startswith("Environment server error")
        env.close()
    assert _children() == before


def test_a_crash_loop_is_reported_not_respun():
    before = _children()
    with launch_env_servers(1, max_restarts=1, stable_after=600, **FAST) as pool:
        port = pool.status()[0].port
        os.kill(pool.status()[0].pid, signal.SIGKILL)
        assert _wait_for(lambda: pool.status()[0].state == "running" and pool.status()[0].restarts == 1, 20)
        os.kill(pool.status()[0].pid, signal.SIGKILL)
        assert _wait_for(lambda: pool.status()[0].state == "failed", 10), pool.status()
        time.sleep(0.5)  # the monitor keeps ticking: nothing is respun
        status = pool.status()[0]
        assert (status.state, status.restarts, status.pid) == ("failed", 1, None)
        assert "code -9" in status.last_error
        assert _port_refuses(port)  # clients are refused at once, not left waiting
    assert _children() == before


def test_a_server_that_cannot_start_says_why_and_leaves_nothing():
    before = _children()
    with pytest.raises(LauncherError, match=r"(?s)exited with code 1.*max_sessions and workers must be >= 1"):
        launch_env_servers(2, max_sessions=0, **FAST)
    assert _wait_for(lambda: _children() == before, 5)
    with pytest.raises(TypeError, match="unknown server option.*no_such_option"):
        ServerPool(1, no_such_option=1)
    with pytest.raises(ValueError, match="without an API key"):
        ServerPool(1, host="0.0.0.0")
    assert _children() == before


def test_an_api_key_is_required_by_every_launched_server():
    with launch_env_servers(1, api_key="s3cret", **FAST) as pool:
        with pytest.raises(ConnectionError, match="401"):
            RemoteEnv(WORDLE, server=pool.urls[0], retries=0)
        env = RemoteEnv(WORDLE, server=pool.urls[0], api_key="s3cret")
        assert env.reset(seed=0)[0].startswith("Guess the secret")
        env.close()
        assert pool.status()[0].state == "running"


def test_a_hung_server_is_killed_and_restarted():
    with launch_env_servers(1, health_timeout=0.3, unhealthy_after=2, **FAST) as pool:
        hung = pool.status()[0]
        os.kill(hung.pid, signal.SIGSTOP)  # alive but answering nothing
        assert _wait_for(lambda: pool.status()[0].state == "running" and pool.status()[0].restarts == 1, 20), \
            pool.status()
        assert "unresponsive" in pool.status()[0].last_error
        assert not psutil.pid_exists(hung.pid) or psutil.Process(hung.pid).status() == psutil.STATUS_ZOMBIE
        assert _play(pool.urls[0])[0]


def test_children_stop_themselves_when_the_parent_is_killed(tmp_path):
    """SIGKILL skips close() and atexit: each child notices its parent is gone and exits."""
    import subprocess
    import sys

    script = ("import os, signal, sys\n"
              "from agentgym.remote import launch_env_servers\n"
              "pool = launch_env_servers(2)\n"
              "print(' '.join(str(s.pid) for s in pool.status()), flush=True)\n"
              "os.kill(os.getpid(), signal.SIGKILL)\n")
    parent = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert parent.returncode == -signal.SIGKILL, parent.stderr
    pids = [int(pid) for pid in parent.stdout.split()]
    assert len(pids) == 2

    def gone(pid: int) -> bool:
        try:
            return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    assert _wait_for(lambda: all(gone(pid) for pid in pids), 15), [psutil.Process(p).cmdline() for p in pids]


# ---------------------------------------------------------------------- the Docker launcher
def _docker_engine_problem() -> str | None:
    """Why the Docker tests cannot run here (None when they can)."""
    try:
        import docker
    except ImportError:
        return "the docker SDK is not installed"
    try:
        docker.from_env().ping()
    except Exception as exc:  # noqa: BLE001
        return f"no Docker engine is reachable ({exc})"
    if not os.environ.get("AGENTGYM_TEST_DOCKER_IMAGE"):
        return "AGENTGYM_TEST_DOCKER_IMAGE (an image with agentgym[serve] installed) is not set"
    return None


def test_a_container_runs_the_serve_env_command_line_that_the_cli_parses():
    from agentgym.cli import build_parser
    from agentgym.remote.docker_launcher import CONTAINER_PORT, serve_env_command

    command = serve_env_command(["my_envs"], max_sessions=12, idle_timeout=9.5, max_body_bytes=2 * 2**20)
    assert command[0] == "agentgym"
    args = build_parser().parse_args(command[1:])
    assert args.command == "serve-env"
    assert (args.host, args.port, args.max_sessions, args.idle_timeout, args.max_body_mb) == \
        ("0.0.0.0", CONTAINER_PORT, 12, 9.5, 2.0)
    assert args.imports == ["my_envs"] and args.api_key is None  # the key travels in the environment
    with pytest.raises(TypeError, match="workers"):
        serve_env_command(workers=4)


def test_without_a_docker_engine_the_container_pool_says_so():
    from agentgym.remote.docker_launcher import ContainerPool

    problem = _docker_engine_problem()
    if problem is None or "AGENTGYM_TEST_DOCKER_IMAGE" in problem:
        pytest.skip("a Docker engine is reachable here: the no-engine error cannot be observed")
    with pytest.raises(LauncherError, match="docker SDK|no Docker engine is reachable"):
        ContainerPool(1, image="unused")


def test_containers_serve_episodes_and_are_removed_on_close():
    problem = _docker_engine_problem()
    if problem is not None:
        print(f"SKIPPED the Docker launcher test: {problem}")
        pytest.skip(problem)
    import docker

    from agentgym.remote.docker_launcher import launch_env_server_containers

    with launch_env_server_containers(2, image=os.environ["AGENTGYM_TEST_DOCKER_IMAGE"], max_sessions=8) as pool:
        ids = [status.container_id for status in pool.status()]
        assert [status.state for status in pool.status()] == ["running", "running"]
        for url in pool.urls:
            env = RemoteEnv(WORDLE, server=url, api_key=pool.api_key)
            assert env.reset(seed=0)[0].startswith("Guess the secret")
            env.close()
    client = docker.from_env()
    for container_id in ids:
        with pytest.raises(docker.errors.NotFound):
            client.containers.get(container_id)


@pytest.mark.parametrize("option, value", [
    ("unhealthy_after", 0), ("unhealthy_after", 1.5), ("max_restarts", -1), ("max_restarts", True),
    ("stable_after", -1.0), ("restart_backoff", -0.5), ("max_backoff", float("nan")),
])
def test_monitor_options_out_of_range_are_refused_before_any_server_starts(option, value):
    """They were taken as given: a NaN max_backoff left a crashed server in "backoff" for good
    (its next attempt at NaN s never came), a negative max_restarts or a fractional
    unhealthy_after meant something else than written. Refused up front, naming the option."""
    with pytest.raises(ValueError, match=option):
        launch_env_servers(1, **{option: value})
