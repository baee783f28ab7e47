"""Soak both vector envs with real games whose environments fail in every way an environment can.

Each slot plays random-action episodes of a real registered game (``random_action`` of the game
itself), wrapped in :class:`FaultyGame`, which draws faults from its own seeded generator:
``reset``/``step`` raise, ``step`` returns garbage (a short tuple, a reward that is no number,
an info that is no dict), ``step`` hangs (until the test ends), ``step`` is slow, ``close``
raises, and the factory itself sometimes hangs when a failed environment is rebuilt. Each
injected fault is counted, and the probe checks that the vector env reported every one of them
in its infos (``env_failed``), raised nothing, released every thread and fd at close, and did
not grow the process's memory (RSS) beyond a generous bound. A second probe drives hung steps
into the ``max_abandoned_threads`` cap, a third checks that ``isolation="process"`` kills hung
environments and leaves no process behind.
"""

from __future__ import annotations

import functools
import random
import threading
import time
import warnings
from collections import Counter
from contextlib import closing
from multiprocessing import resource_tracker
from typing import Any

import gymnasium as gym
import psutil
import pytest

import agentgym
from agentgym.vector import (
    AsyncioVectorEnv,
    HungEnvironmentError,
    HungEnvironmentWarning,
    ThreadVectorEnv,
    hung_thread_count,
)

GAMES = ("games/GuessTheNumber-v0", "games/TicTacToe-v0")
NUM_ENVS = 8
EPISODES = 2500  # per vector env class: 5000 episodes in all
STEP_TIMEOUT = 0.5  # only the injected hangs reach it, even on a crowded machine
RSS_GROWTH_BOUND = 50 * 2**20  # bytes: generous; a leak of one environment per episode is far more

# chance per call of each fault
STEP_FAULTS = {"raise": 0.01, "garbage": 0.01, "hang": 0.0005, "slow": 0.02}
RESET_RAISES = 0.01
CLOSE_RAISES = 0.05
REBUILD_HANGS = 0.03
# besides, so that every kind surely happens: in the first slot only, its 100th step and 4th build
FORCED_HANG_AT, FORCED_HANG_AT_BUILD = 100, 4


class InjectedFault(RuntimeError):
    pass


class Faults:
    """What the faulty environments of one soak injected (thread-safe)."""

    def __init__(self, release: threading.Event) -> None:
        self.release = release
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def record(self, kind: str) -> None:
        with self._lock:
            self.counts[kind] += 1

    @property
    def reported_kinds(self) -> int:
        """Faults that must show up as a failed slot in the infos (slow steps and failing
        ``close`` calls of already-failed environments must not)."""
        return sum(n for kind, n in self.counts.items() if kind not in ("slow", "close"))


class FaultyGame(gym.Wrapper):
    """A real game that fails at random (see the module docstring). The action ``"random"``
    becomes a random action of the game itself."""

    def __init__(self, env: gym.Env, faults: Faults, factory: FaultyFactory) -> None:
        super().__init__(env)
        self.faults, self.factory, self.rng = faults, factory, factory.rng

    def reset(self, **kwargs: Any):
        if self.rng.random() < RESET_RAISES:
            self.faults.record("reset")
            raise InjectedFault("reset failed")
        return self.env.reset(**kwargs)

    def step(self, action: Any):
        action = self.env.unwrapped.random_action(self.rng) if action == "random" else action
        self.factory.steps += 1
        roll = self.rng.random()
        for kind, chance in STEP_FAULTS.items():
            if roll < chance:
                break
            roll -= chance
        else:
            if not (self.factory.forced and self.factory.steps == FORCED_HANG_AT):
                return self.env.step(action)
            kind = "hang"
        self.faults.record(kind)
        if kind == "raise":
            raise InjectedFault("step failed")
        if kind == "hang":
            self.faults.release.wait()
        if kind == "slow":
            time.sleep(0.002)
        observation, reward, terminated, truncated, info = self.env.step(action)
        if kind == "garbage":
            return self.rng.choice([(observation,), (observation, "lots", False, False, info),
                                    (observation, reward, terminated, truncated, 42)])
        return observation, reward, terminated, truncated, info

    def close(self) -> None:
        super().close()
        if self.rng.random() < CLOSE_RAISES:
            self.faults.record("close")
            raise InjectedFault("close failed")


class FaultyFactory:
    """Builds one slot's :class:`FaultyGame` s; a rebuild (not the first build) may hang."""

    def __init__(self, game: str, faults: Faults, seed: int) -> None:
        self.game, self.faults, self.rng = game, faults, random.Random(seed)
        self.builds = self.steps = 0
        self.forced = seed % 100 == 0  # the first slot: see FORCED_HANG_AT

    def __call__(self) -> FaultyGame:
        self.builds += 1
        if self.builds > 1 and (self.rng.random() < REBUILD_HANGS
                                or self.forced and self.builds == FORCED_HANG_AT_BUILD):
            self.faults.record("construction")
            self.faults.release.wait()
        return FaultyGame(agentgym.make(self.game, max_turns=5), self.faults, self)


def reported_failures(infos: dict[str, Any]) -> int:
    if "env_failed" not in infos:
        return 0
    return int((infos["env_failed"] & infos["_env_failed"]).sum())


def soak(vector_cls: type, faults: Faults, episodes: int, seed: int) -> dict[str, int]:
    """Play ``episodes`` episodes; returns what happened. Raises nothing the envs did."""
    factories = [FaultyFactory(GAMES[i % 2], faults, seed * 100 + i) for i in range(NUM_ENVS)]
    envs = vector_cls(factories, step_timeout=STEP_TIMEOUT)
    seen = Counter()
    close_error = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            _, infos = envs.reset(seed=seed)
            seen["reported"] += reported_failures(infos)
            while seen["episodes"] < episodes:
                _, _, terminations, truncations, infos = envs.step(["random"] * NUM_ENVS)
                seen["steps"] += 1
                seen["episodes"] += int((terminations | truncations).sum())
                seen["reported"] += reported_failures(infos)
                seen["timeouts"] += sum("timed out" in e for e in infos.get("error", ()) if e)
        finally:
            try:
                envs.close()
            except InjectedFault as exc:  # re-raised from a healthy env's close, once all is shut
                close_error = exc
    seen["close_raised"] = close_error is not None
    seen["hung_warnings"] = sum(issubclass(w.category, HungEnvironmentWarning) for w in caught)
    seen["other_warnings"] = sum(not issubclass(w.category, HungEnvironmentWarning) for w in caught)
    return seen


@pytest.mark.parametrize("vector_cls", [ThreadVectorEnv, AsyncioVectorEnv], ids=["thread", "asyncio"])
def test_faulty_real_games_soak_reports_every_failure_and_leaks_nothing(vector_cls, resources):
    release = threading.Event()
    process = psutil.Process()
    soak(vector_cls, Faults(release), 100, seed=1)  # imports, caches, first allocations
    release.set()
    resources.assert_released()
    release.clear()
    rss_before = process.memory_info().rss

    faults = Faults(release)
    seen = soak(vector_cls, faults, EPISODES, seed=2)
    release.set()  # the hung calls return; their abandoned threads end
    after = resources.assert_released()
    rss_after = process.memory_info().rss

    assert seen["episodes"] >= EPISODES
    # every kind of fault happened, and each one was reported as a failed slot
    assert {"reset", "raise", "garbage", "hang", "slow", "construction", "close"} <= set(faults.counts)
    # every fault is reported in the infos of a later step, so a fault injected as the soak stops
    # (a rebuild or autoreset still in flight, at most one per slot) may go unreported
    in_flight = faults.reported_kinds - seen["reported"]
    assert 0 <= in_flight <= NUM_ENVS, (seen, faults.counts)
    hangs = faults.counts["hang"] + faults.counts["construction"]
    assert hangs - NUM_ENVS <= seen["timeouts"] <= hangs, (seen, faults.counts)
    assert seen["hung_warnings"] == 1  # once per vector env, at its first abandoned call
    assert rss_after - rss_before < RSS_GROWTH_BOUND, (rss_before, rss_after)
    print(f"\n{vector_cls.__name__}: {seen['episodes']} episodes, {seen['steps']} steps, "
          f"faults {dict(faults.counts)}, reported {seen['reported']}; resources {resources.before} -> "
          f"{after}; RSS {rss_before / 2**20:.1f} -> {rss_after / 2**20:.1f} MiB")


class HangsAlways(gym.Wrapper):
    """A real game whose every step hangs until released."""

    def __init__(self, env: gym.Env, release: threading.Event) -> None:
        super().__init__(env)
        self.release = release

    def step(self, action: Any):
        self.release.wait()
        return self.env.step(action)


@pytest.mark.parametrize("vector_cls", [ThreadVectorEnv, AsyncioVectorEnv], ids=["thread", "asyncio"])
def test_hung_steps_stop_at_the_abandoned_thread_cap(vector_cls, resources):
    """150 hung steps used to leave 151 threads; now the default cap (32) stops the run."""
    release = threading.Event()
    cap = 32
    assert hung_thread_count() == 0
    factory = lambda: HangsAlways(agentgym.make("games/GuessTheNumber-v0"), release)  # noqa: E731
    envs = vector_cls([factory], step_timeout=0.02)
    hung_steps = 0
    with closing(envs), pytest.warns(HungEnvironmentWarning):
        envs.reset(seed=0)
        with pytest.raises(HungEnvironmentError, match=f"{cap + 1} environment steps are still hung"):
            for _ in range(150):
                _, _, _, truncations, infos = envs.step(["10"])
                if "hung_threads" in infos:
                    hung_steps += 1
                    assert infos["hung_threads"][0] == hung_steps
                envs.step(["10"])  # NEXT_STEP: the slot is rebuilt and reset
        assert hung_steps == cap + 1
        # bounded: the slot's own thread and the hung ones, nothing more
        assert threading.active_count() <= resources.before.threads + 1 + cap + 1
        assert all(t.daemon for t in threading.enumerate() if t.name.startswith("agentgym-vector-slot"))
    release.set()
    resources.assert_released()
    assert hung_thread_count() == 0


@pytest.fixture
def resource_tracker_running():
    """``spawn`` starts multiprocessing's resource tracker once per process, for good; start it
    before :func:`resources` takes its snapshot, so it is not counted as a leaked child."""
    resource_tracker.ensure_running()


class HangsOnCue(gym.Wrapper):
    """A real game (built in a child process: picklable, no events) whose step hangs for an hour
    on the action ``"hang"``; ``"random"`` plays a random move of the game."""

    def __init__(self, game: str) -> None:
        super().__init__(agentgym.make(game))
        self.rng = random.Random(0)

    def step(self, action: Any):
        if action == "hang":
            time.sleep(3600)
        return self.env.step(self.env.unwrapped.random_action(self.rng))


def test_process_isolation_kills_hung_real_games_and_leaves_nothing(resource_tracker_running, resources):
    factory = functools.partial(HangsOnCue, "games/TicTacToe-v0")
    # a generous timeout: each environment's process starts a Python interpreter within it
    envs = ThreadVectorEnv([factory] * 2, step_timeout=5.0, isolation="process", max_abandoned_threads=0)
    killed = episodes = 0
    with closing(envs):
        envs.reset(seed=0)
        for step in range(40):
            wanted = (step >= 10) + (step >= 25)  # hangs asked for by now; a step that only
            actions = ["hang" if killed < wanted else "random", "random"]  # resets ignores one
            _, _, terminations, truncations, infos = envs.step(actions)
            episodes += int((terminations | truncations).sum())
            if "env_killed" in infos:
                assert "hung_threads" not in infos
                # (an interpreter that outlasts the timeout while starting is killed too)
                killed += sum(bool(k) and e.startswith("step timed out")
                              for k, e in zip(infos["env_killed"], infos["error"]))
        assert killed == 2 and episodes > 5
        assert hung_thread_count() == 0  # nothing was abandoned
    after = resources.assert_released()
    print(f"\nprocess isolation: {episodes} episodes, {killed} hung processes killed; "
          f"resources {resources.before} -> {after}")
