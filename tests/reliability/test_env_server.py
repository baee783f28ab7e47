"""The environment server under many sessions opened, stepped and dropped in different ways.

Bounded: 60 sessions, loopback only. Afterwards the server holds no session, every
environment it made is closed, no response was a 500, and this process is back to its
threads and file descriptors.
"""

import random
import threading

import httpx

from agentgym.remote import RemoteEnv, env_app, running_env_server
from agentgym.testing import hostile_actions

SESSIONS = 60


def test_sessions_dropped_every_way_leak_nothing(resources):
    app = env_app(max_sessions=16, idle_timeout=0.3)
    rng = random.Random(0)
    with running_env_server(app=app) as url:
        abandoned = []
        for index in range(SESSIONS):
            env = RemoteEnv(rng.choice(["games/Wordle-v0", "games/TicTacToe-v0", "games/Sokoban-v0"]), server=url)
            env.reset(seed=index)
            for action in hostile_actions(5, seed=index):
                assert env.step(action)[4].get("remote_error") is None
            way = index % 3
            if way == 0:
                env.close()  # closed properly
            elif way == 1:
                abandoned.append(env)  # left open: the reaper or the shutdown closes it
            else:
                env._http.close()  # the client goes away without a word
            if len(abandoned) > 4:
                abandoned.pop(0)._http.close()
        _concurrent_step_and_close(url)
        with httpx.Client(base_url=url) as client:
            metrics = client.get("/metrics").json()
        assert "500" not in metrics["errors"] and metrics["sessions"]["created"] == SESSIONS + 1
        assert metrics["sessions"]["refused"] == 0  # the reaper kept room under max_sessions
    assert not app.state.sessions
    closed = app.state.metrics.closed
    assert closed == SESSIONS + 1, f"{closed} of {SESSIONS + 1} environments closed"
    for env in abandoned:
        env.close()
    resources.assert_released()


def _concurrent_step_and_close(url: str) -> None:
    """One session stepped by 4 threads while another deletes it: only 200, 404 or 409 (a game
    over before the delete), never a 500."""
    with httpx.Client(base_url=url, timeout=10) as client:
        sid = client.post("/v1/sessions", json={"env_id": "games/2048-v0"}).json()["session_id"]
        client.post(f"/v1/sessions/{sid}/reset", json={"seed": 0})
        statuses = []

        def stepper():  # until the session is gone (bounded)
            for _ in range(500):
                statuses.append(client.post(f"/v1/sessions/{sid}/step", json={"action": "left"}).status_code)
                if statuses[-1] == 404:
                    return

        threads = [threading.Thread(target=stepper) for _ in range(4)]
        for thread in threads:
            thread.start()
        statuses.append(client.delete(f"/v1/sessions/{sid}").status_code)
        for thread in threads:
            thread.join()
        assert set(statuses) <= {200, 404, 409} and 404 in statuses, sorted(set(statuses))
