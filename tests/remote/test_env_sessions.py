"""The environment server's limits and refusals, over real sockets."""

import asyncio
import json
import random
import time

import httpx
import pytest

from agentgym.remote import AsyncRemoteEnv, RemoteEnv, RemoteEnvError, env_app, running_env_server

WORDLE = {"env_id": "games/Wordle-v0"}


def _create(client, body=WORDLE):
    return client.post("/v1/sessions", json=body)


def test_a_session_lives_and_dies(server_url):
    with httpx.Client(base_url=server_url, timeout=10) as client:
        created = _create(client)
        assert created.status_code == 201
        session = created.json()
        assert session["max_turns"] == 12 and session["tools"] == [] and session["instructions"]
        sid = session["session_id"]
        assert client.get(f"/v1/sessions/{sid}/spec").json() == session
        assert client.post(f"/v1/sessions/{sid}/step", json={"action": "crane"}).status_code == 409  # no reset yet
        assert client.post(f"/v1/sessions/{sid}/reset", json={"seed": 0}).status_code == 200
        step = client.post(f"/v1/sessions/{sid}/step", json={"action": "crane"}).json()
        assert set(step) == {"observation", "reward", "terminated", "truncated", "info"}
        assert client.delete(f"/v1/sessions/{sid}").json() == {"closed": sid}
        for method, path in (("DELETE", f"/v1/sessions/{sid}"), ("GET", f"/v1/sessions/{sid}/spec"),
                             ("POST", f"/v1/sessions/{sid}/step")):
            gone = client.request(method, path, json={"action": "x"})
            assert gone.status_code == 404 and gone.json()["error"]["type"] == "not_found_error"
        metrics = client.get("/metrics").json()
        assert metrics["steps"] >= 1 and metrics["step_latency_ms"]["p99"] is not None
        assert metrics["errors"]["404"] >= 3 and metrics["errors"]["409"] >= 1
        assert client.get("/health").json()["status"] == "ok"


@pytest.mark.parametrize("body, status", [
    ({"env_id": "agentgym.core:LLMEnv"}, 400),         # an entry point: never imported
    ({"env_id": "os:system"}, 400),
    ({"env_id": "games/NoSuchGame-v0"}, 404),
    ({"env_id": "games/Wordle-v0", "kwargs": {"no_such_argument": 1}}, 400),
    ({"env_id": "games/Wordle-v0", "kwargs": {"difficulty": "impossible"}}, 400),
    ({"env_id": "games/Wordle-v0", "max_turns": 0}, 422),
    ({"env_id": "games/Wordle-v0", "extra": 1}, 422),
    ({"env_id": 5}, 422),
    ({}, 422),
])
def test_bad_creates_are_refused_clearly(server_url, body, status):
    with httpx.Client(base_url=server_url, timeout=10) as client:
        answer = _create(client, body)
        assert answer.status_code == status, answer.text
        assert answer.json()["error"]["message"]


def test_max_sessions_refuses_at_once_with_retry_after():
    with running_env_server(max_sessions=2, retry_after=3) as url, httpx.Client(base_url=url, timeout=10) as client:
        first, second = _create(client).json()["session_id"], _create(client).json()["session_id"]
        refused = _create(client)
        assert refused.status_code == 503 and refused.headers["retry-after"] == "3"
        assert "maximum of 2 sessions" in refused.json()["error"]["message"]
        with pytest.raises(RemoteEnvError, match="503"):
            RemoteEnv("games/Wordle-v0", server=url, retries=0)
        client.delete(f"/v1/sessions/{first}")
        assert _create(client).status_code == 201  # a freed slot is usable again
        assert client.get("/metrics").json()["sessions"]["refused"] == 2
        del second


@pytest.mark.parametrize("transport", ["http", "ws"])
def test_max_sessions_holds_against_concurrent_creates(transport):
    """Creates that arrive together never open more than ``max_sessions``: the slot is taken
    when the limit is checked, not after the checks that wait on the worker threads."""
    async def creates(url, n):
        if transport == "http":
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                answers = await asyncio.gather(*(client.post("/v1/sessions", json={"env_id": "games/Wordle-v0"})
                                                 for _ in range(n)))
                return [answer.status_code for answer in answers]
        envs = [AsyncRemoteEnv("games/Wordle-v0", server=url, retries=0) for _ in range(n)]
        opened = await asyncio.gather(*(env.open() for env in envs), return_exceptions=True)
        statuses = [503 if isinstance(result, RemoteEnvError) and "503" in str(result) else 201 for result in opened]
        assert all(isinstance(result, (AsyncRemoteEnv, RemoteEnvError)) for result in opened), opened
        await asyncio.gather(*(env.aclose() for env in envs))
        return statuses

    with running_env_server(max_sessions=2) as url:
        statuses = asyncio.run(creates(url, 12))
        assert sorted(statuses) == [201] * 2 + [503] * 10, statuses
        if transport == "http":
            assert httpx.get(f"{url}/metrics").json()["sessions"]["open"] == 2


def test_idle_sessions_are_reaped_and_a_remote_env_reopens_one():
    with running_env_server(idle_timeout=0.2) as url, httpx.Client(base_url=url, timeout=10) as client:
        env = RemoteEnv("games/Wordle-v0", server=url)
        env.reset(seed=0)
        old = env.session_id
        deadline = time.monotonic() + 10
        while client.get("/health").json()["sessions"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.get("/health").json()["sessions"] == 0
        assert client.get("/metrics").json()["sessions"]["reaped"] == 1
        observation, reward, terminated, truncated, info = env.step("crane")
        assert truncated and info["remote_error"] == "session_lost" and "no session" in observation
        observation, info = env.reset(seed=0)  # reset opens a new session
        assert env.session_id != old and info["task_id"] and "error" not in info
        assert env.step("crane")[4]["error"] is None
        env.close()


def test_malformed_requests_get_4xx_never_500(server_url):
    """A bounded fuzz: 200 malformed requests on every endpoint, then the server still serves."""
    rng = random.Random(0)
    with httpx.Client(base_url=server_url, timeout=10) as client:
        sid = _create(client).json()["session_id"]
        client.post(f"/v1/sessions/{sid}/reset", json={"seed": 0})
        paths = ["/v1/sessions", f"/v1/sessions/{sid}/reset", f"/v1/sessions/{sid}/step", "/v1/sessions/nope/step",
                 f"/v1/sessions/{sid}/spec", f"/v1/sessions/{sid}", "/v1/sessions/" + "x" * 300 + "/reset"]
        bodies = [b"", b"{", b"null", b"[]", b"\xff\xfe", b'{"action": }', b'{"seed": -1}', b'{"seed": "1"}',
                  b'{"seed": 1e400}', b'{"options": 5}', b'{"env_id": null}', b'{"kwargs": []}', b"1" * 5000,
                  b'{"action": "' + b"a" * 50_000 + b'"}', b'{"env_id": "games/Wordle-v0", "kwargs": {"seed": {}}}',
                  b'{"seed": 99999999999999999999999999999}', b'"\\ud800"', b'{"action": "\\udfff"}',
                  json.dumps({"env_id": "games/Wordle-v0", "max_turns": "many"}).encode()]
        statuses = []
        for _ in range(200):
            method = rng.choice(["POST", "POST", "GET", "DELETE", "PUT"])
            path = rng.choice(paths[:-2] if method == "DELETE" else paths)
            answer = client.request(method, path, content=rng.choice(bodies),
                                    headers={"content-type": rng.choice(["application/json", "text/plain"])})
            statuses.append(answer.status_code)
            assert answer.status_code < 500, (method, path, answer.text)
            if answer.status_code >= 400:
                assert answer.json()["error"]["message"]
            if path.endswith(sid) and method == "DELETE" and answer.status_code == 200:
                sid_paths = [p for p in paths if sid in p]
                sid = _create(client).json()["session_id"]
                paths = [p for p in paths if p not in sid_paths] + [
                    f"/v1/sessions/{sid}/reset", f"/v1/sessions/{sid}/step", f"/v1/sessions/{sid}/spec",
                    f"/v1/sessions/{sid}"]
        assert any(400 <= s < 500 for s in statuses) and "500" not in client.get("/metrics").json()["errors"]
        assert client.get("/health").status_code == 200
        too_big = client.post("/v1/sessions", content=b"x" * (2 * 1024 * 1024))
        assert too_big.status_code == 413


def test_a_key_is_required_when_set_and_beyond_loopback():
    with running_env_server(api_key="s3cret") as url:
        with httpx.Client(base_url=url, timeout=10) as client:
            assert _create(client).status_code == 401
            assert client.get("/metrics").status_code == 401
            wrong_key = {"authorization": "Bearer wrong"}
            assert client.post("/v1/sessions", json=WORDLE, headers=wrong_key).status_code == 401
        with pytest.raises(RemoteEnvError, match="401"):
            RemoteEnv("games/Wordle-v0", server=url)
        env = RemoteEnv("games/Wordle-v0", server=url + "/v1", api_key="s3cret")
        assert env.reset(seed=0)[1]["task_id"]
        env.close()
    for host in ("0.0.0.0", "192.168.1.10", "example.com"):
        with pytest.raises(ValueError, match="without an API key"):
            with running_env_server(host=host):
                pass
    with pytest.raises(ValueError, match="empty"):
        env_app(api_key="")


def test_a_dead_server_gives_error_observations_not_hangs():
    with running_env_server() as url:
        env = RemoteEnv("games/Wordle-v0", server=url, timeout=5, connect_timeout=1, retries=1, backoff=0.01)
        env.reset(seed=0)
        assert env.step("crane")[4]["error"] is None
    # The server has shut down mid-episode (gracefully: every environment closed).
    observation, reward, terminated, truncated, info = env.step("slate")
    assert observation.startswith("Environment server error") and truncated and not terminated and reward == 0.0
    assert info["remote_error"] == "unreachable" and info["error"] and info["success"] is False
    observation, info = env.reset(seed=1)
    assert info["remote_error"] == "unreachable" and info["task_id"] is None
    assert env.step("crane")[3] is True
    env.close()  # never raises
    with pytest.raises(RemoteEnvError, match="cannot connect"):
        RemoteEnv("games/Wordle-v0", server=url, connect_timeout=1, retries=0)


def test_bad_reset_arguments_raise_as_locally(server_url):
    from agentgym.core import ConfigError

    env = RemoteEnv("games/Wordle-v0", server=server_url)
    try:
        with pytest.raises(ConfigError):
            env.reset(seed=-1)
        with pytest.raises(ConfigError):
            env.reset(options=[1])
    finally:
        env.close()


#: Constructor arguments that would reach the server's own machine, and the names refused.
HOST_ARGUMENTS = [
    ("tools/Python-v0", {"isolation": "rlimits"}, "isolation"),                       # out of bubblewrap
    ("tools/MathDataset-v0", {"limits": {"memory_mb": 10**6}}, "limits"),
    ("search/Corpus-v0", {"tasks": "/etc/passwd", "corpus": "/etc/hostname"}, "corpus, tasks"),  # files read
    ("search/Corpus-v0", {"tasks": "q.jsonl", "retriever_url": "http://10.0.0.1/"}, "retriever_url, tasks"),
    ("search/MultiHop-v0", {"cache_dir": "/tmp/elsewhere"}, "cache_dir"),
    ("search/MultiHopTools-v0", {"cache_dir": "/tmp/elsewhere"}, "cache_dir"),          # through a factory
    ("dialogue/ClinicalInterview-v0", {"table": "/etc/passwd"}, "table"),
    ("dialogue/ClinicalInterviewTools-v0", {"table": "/etc/passwd"}, "table"),
    ("web/ShopBrowser-v0", {"upload_dir": "/"}, "upload_dir"),
]


@pytest.mark.parametrize("env_id, kwargs, names", HOST_ARGUMENTS, ids=[f"{e}-{n}" for e, _, n in HOST_ARGUMENTS])
def test_arguments_that_reach_the_server_are_refused(server_url, env_id, kwargs, names):
    with httpx.Client(base_url=server_url, timeout=30) as client:
        before = client.get("/metrics").json()["sessions"]["created"]
        answer = _create(client, {"env_id": env_id, "kwargs": kwargs})
        assert answer.status_code == 403, answer.text
        message = answer.json()["error"]["message"]
        assert message.startswith(f"{env_id}: {names} would reach the server's own files, processes or network")
        assert "--allow-host-arguments" in message
        assert client.get("/metrics").json()["sessions"]["created"] == before  # nothing was made


def test_the_operator_may_allow_arguments_that_reach_the_server():
    with running_env_server(allow_host_arguments=True) as url, httpx.Client(base_url=url, timeout=30) as client:
        answer = _create(client, {"env_id": "tools/Python-v0", "kwargs": {"isolation": "rlimits"}})
        assert answer.status_code == 201, answer.text
        assert client.delete(f"/v1/sessions/{answer.json()['session_id']}").status_code == 200
