"""Inline steps: the reset and step of environments opted in as cheap run on the server's event
loop; every other call, and every other environment, stays on the worker threads — and an
environment opted in by mistake (slow, or blocking) is demoted to the threads by the guard.

Each probe environment notes the thread that ran each of its moves, so the tests see where a
step ran (the server's loop thread is "agentgym-environment-server", the workers
"agentgym-env_N"), over real sockets (WebSocket and HTTP).
"""

import asyncio
import threading
import time

import httpx
import pytest

import agentgym
from agentgym.core import Feedback, LLMEnv
from agentgym.remote import AsyncRemoteEnv, env_app, running_env_server
from agentgym.remote.server import InlineSteps

LOOP_THREAD = "agentgym-environment-server"  # serving_in_thread's name for the server's thread
WHERE: dict[str, list[str]] = {}  # env id -> the thread of each reset and step, in order


class Probe(LLMEnv):
    """Echoes; ``"sleep S"`` sleeps S seconds, ``"raise"`` raises (a bug in the environment)."""

    family = "test"
    instructions = "say anything"
    example_actions = ("hello",)
    env_id = "test/InlineProbe-v0"

    def new_episode(self, options):
        WHERE.setdefault(self.env_id, []).append(threading.current_thread().name)
        return "ready"

    def play(self, action):
        WHERE.setdefault(self.env_id, []).append(threading.current_thread().name)
        if action == "raise":
            raise RuntimeError("a bug in the environment")
        if action.startswith("sleep "):
            time.sleep(float(action.split()[1]))
        return Feedback(f"echo {action}")


class DeclaredCheap(Probe):
    """Declares itself cheap on its class: inline without being named by the server."""

    cheap_steps = True
    env_id = "test/InlineDeclared-v0"


class DeclaredCheapWithAsyncHooks(Probe):
    """Declares itself cheap but has an async hook: its synchronous calls refuse a running loop."""

    cheap_steps = True
    env_id = "test/InlineAsyncHooked-v0"

    async def aplay(self, action):
        return self.play(action)


class Blocking(Probe):
    """Not opted in: every move blocks for a while (I/O, a browser, a subprocess...)."""

    env_id = "test/InlineBlocking-v0"


for _cls in (Probe, DeclaredCheap, DeclaredCheapWithAsyncHooks, Blocking):
    agentgym.register(_cls.env_id, _cls, max_turns=None)


def _steps(env_id):
    return WHERE.get(env_id, [])


@pytest.fixture(scope="module")
def server():
    app = env_app(inline_envs=["test/InlineProbe-*"], max_sessions=16)
    with running_env_server(app=app) as url:
        yield app, url


def test_opted_in_envs_step_on_the_loop_and_the_others_on_worker_threads(server):
    app, url = server

    async def scenario():
        for env_id in (Probe.env_id, DeclaredCheap.env_id, DeclaredCheapWithAsyncHooks.env_id, Blocking.env_id):
            WHERE.pop(env_id, None)
            async with AsyncRemoteEnv(env_id, server=url) as env:
                await env.areset(seed=0)
                for action in ("a", "b"):
                    assert (await env.astep(action))[0] == f"echo {action}"
        async with AsyncRemoteEnv(Probe.env_id, server=url, outer_wrappers=["ChatHistory"]) as wrapped:
            WHERE.pop(Probe.env_id, None)  # a client's wrappers are code the operator did not opt in
            await wrapped.areset(seed=0)
            await wrapped.astep("c")

    asyncio.run(scenario())
    assert _steps(Probe.env_id) and all(name.startswith("agentgym-env_") for name in _steps(Probe.env_id))
    asyncio.run(_three_moves(url, Probe.env_id))
    assert _steps(Probe.env_id)[-3:] == [LOOP_THREAD] * 3  # named by the operator's pattern
    assert _steps(DeclaredCheap.env_id) == [LOOP_THREAD] * 3  # declared by its class
    for env_id in (DeclaredCheapWithAsyncHooks.env_id, Blocking.env_id):
        assert len(_steps(env_id)) == 3 and all(name.startswith("agentgym-env_") for name in _steps(env_id)), env_id
    inline = httpx.get(url + "/metrics").json()["inline"]
    assert inline["envs"] == ["test/InlineProbe-*"] and inline["calls"] >= 6 and inline["demoted"] == {}


async def _three_moves(url, env_id):
    async with AsyncRemoteEnv(env_id, server=url) as env:
        await env.areset(seed=0)
        await env.astep("x")
        await env.astep("y")


def test_http_sessions_are_inline_too(server):
    _, url = server
    WHERE.pop(Probe.env_id, None)
    with httpx.Client(base_url=url, timeout=10) as client:
        sid = client.post("/v1/sessions", json={"env_id": Probe.env_id}).json()["session_id"]
        assert client.post(f"/v1/sessions/{sid}/reset", json={"seed": 1}).status_code == 200
        assert client.post(f"/v1/sessions/{sid}/step", json={"action": "hi"}).json()["observation"] == "echo hi"
        client.delete(f"/v1/sessions/{sid}")
    assert _steps(Probe.env_id) == [LOOP_THREAD] * 2


def test_an_inline_env_that_raises_gets_an_error_answer_and_the_session_lives_on(server):
    _, url = server

    async def scenario():
        async with AsyncRemoteEnv(DeclaredCheap.env_id, server=url) as env:
            await env.areset(seed=0)
            observation, _, _, truncated, info = await env.astep("raise")
            assert truncated and info["remote_error"] == "server" and "a bug in the environment" in info["error"]
            assert "500" in info["error"]
            observation, _, _, _, info = await env.astep("again")  # the episode ended with the bug
            assert "409" in info["error"]
            await env.areset(seed=1)  # the same session, reset: it plays on
            assert (await env.astep("fine"))[0] == "echo fine"

    asyncio.run(scenario())


def test_a_blocking_env_never_stalls_the_sessions_stepping_on_the_loop(server):
    """A blocking environment (not opted in) steps on a worker thread: while one of its steps
    sleeps, a cheap session keeps stepping on the event loop at full speed."""
    _, url = server

    async def scenario():
        async with AsyncRemoteEnv(Blocking.env_id, server=url) as slow, \
                AsyncRemoteEnv(DeclaredCheap.env_id, server=url) as cheap:
            await slow.areset(seed=0)
            await cheap.areset(seed=0)
            slow_step = asyncio.create_task(slow.astep("sleep 1.0"))
            await asyncio.sleep(0.05)  # the slow step is running
            worst, count = 0.0, 0
            while not slow_step.done():
                started = time.perf_counter()
                assert (await cheap.astep("quick"))[0] == "echo quick"
                worst, count = max(worst, time.perf_counter() - started), count + 1
            assert (await slow_step)[0] == "echo sleep 1.0"
            return worst, count

    worst, count = asyncio.run(scenario())
    # a stalled loop would answer the cheap session once, after the slow step (about 1 s); the
    # bounds leave room for a loaded machine (unloaded: hundreds of steps, each a few ms)
    assert count >= 5 and worst < 0.5, (count, worst)


def test_a_slow_env_opted_in_by_mistake_is_demoted_to_the_threads():
    """Opted in, but each step sleeps past the budget: after three stalls the id is demoted,
    for its open sessions and the new ones, and the loop is free again."""
    env_id = DeclaredCheap.env_id
    app = env_app(inline_budget=0.02)
    with running_env_server(app=app) as url:
        async def scenario():
            async with AsyncRemoteEnv(env_id, server=url) as env, AsyncRemoteEnv(env_id, server=url) as other:
                await env.areset(seed=0)
                await other.areset(seed=0)
                WHERE.pop(env_id, None)
                for _ in range(4):
                    await env.astep("sleep 0.05")
                assert _steps(env_id) == [LOOP_THREAD] * 3 + [_steps(env_id)[3]]
                assert _steps(env_id)[3].startswith("agentgym-env_")  # demoted after the third stall
                await other.astep("quick")  # an open session of the same id moved too
                assert _steps(env_id)[-1].startswith("agentgym-env_")
                slow_step = asyncio.create_task(env.astep("sleep 1.0"))
                await asyncio.sleep(0.05)
                metrics = await asyncio.to_thread(httpx.get, url + "/metrics")
                # the loop answered while the slow step ran (a blocked loop answers after it)
                assert not slow_step.done()
                await slow_step
            async with AsyncRemoteEnv(env_id, server=url) as new:  # a new session: on the threads
                await new.areset(seed=0)
                await new.astep("quick")
                assert _steps(env_id)[-1].startswith("agentgym-env_")
            return metrics.json()["inline"]

        inline = asyncio.run(scenario())
        assert list(inline["demoted"]) == [env_id] and inline["demoted"][env_id] >= 50
        assert inline["over_budget"] >= 3


def test_isolated_stalls_do_not_demote_three_close_together_do():
    """The guard's rule on its own: three calls over budget within 50 of an env's calls demote
    it; stalls further apart (a preempted loop thread, a garbage collection) do not."""
    inline = InlineSteps(["x/*"], budget=0.02)
    stall, quick = (lambda: time.sleep(0.025)), (lambda: None)
    for _ in range(3):  # three stalls, 50 calls apart
        inline.call("x/A", stall)
        for _ in range(50):
            inline.call("x/A", quick)
    assert inline.demoted == {} and inline.over_budget == 3
    inline.call("x/B", stall)
    inline.call("x/B", stall)
    inline.call("x/A", stall)  # x/B's stalls count for x/B alone
    assert inline.demoted == {}
    inline.call("x/B", stall)
    assert list(inline.demoted) == ["x/B"]
    assert inline.call("x/B", lambda: 7) == 7  # a call asked for runs (where to run is the caller's choice)
    with pytest.raises(ZeroDivisionError):  # an error reaches the caller, and is timed like the rest
        inline.call("x/C", lambda: 1 / 0)
    assert inline.calls == 3 * 51 + 6


@pytest.mark.parametrize("options, message", [
    ({"inline_envs": "games/*"}, "not one string"),
    ({"inline_envs": ["games/*", ""]}, "non-empty strings"),
    ({"inline_envs": [3]}, "non-empty strings"),
    ({"inline_budget": 0}, "inline_budget must be positive"),
    ({"inline_budget": float("nan")}, "inline_budget must be positive"),
])
def test_bad_inline_options_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        env_app(**options)
