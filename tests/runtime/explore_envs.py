"""Environments for the runtime exploration tests, importable by child processes (spawn)."""

from __future__ import annotations

import argparse

import gymnasium as gym


class PairError(Exception):
    """An exception that pickles but cannot be unpickled (its ``__init__`` takes two arguments)."""

    def __init__(self, first: str, second: str) -> None:
        super().__init__(f"{first} and {second}")


class Unrebuildable:
    """An object that pickles, but whose unpickling raises."""

    def __reduce__(self):
        return (_refuse, ())


def _refuse():
    raise ValueError("this object cannot be rebuilt")


class Hostile(gym.Env):
    """Echoes its action, except: ``"argparse"`` parses it as a command line whose option is
    missing (argparse then raises SystemExit(2), as a command-line tool's parser does),
    ``"interrupt"`` raises KeyboardInterrupt, ``"next"`` a StopIteration (a ``next()`` past the
    end of an iterator), ``"lost"`` answers as a RemoteEnv whose session is gone, ``"pair"``
    raises :class:`PairError`,
    ``"unrebuildable"`` returns an observation that cannot be unpickled."""

    observation_space = gym.spaces.Text(100)
    action_space = gym.spaces.Text(100)

    def reset(self, *, seed=None, options=None):
        return "start", {}

    def step(self, action):
        if action == "argparse":
            parser = argparse.ArgumentParser(prog="tool", exit_on_error=False)
            parser.add_argument("--path", required=True)
            parser.parse_args([])
        if action == "interrupt":
            raise KeyboardInterrupt
        if action == "next":
            next(iter(()))
        if action == "lost":  # what a RemoteEnv answers when its server or session is gone
            return "error: session expired", 0.0, False, True, {"error": "session expired", "remote_error": "session"}
        if action == "pair":
            raise PairError("left", "right")
        if action == "unrebuildable":
            return Unrebuildable(), 0.0, False, False, {}
        return f"echo {action}", 1.0, False, False, {}


class AsyncHostile(Hostile):
    """:class:`Hostile` with its own ``areset``/``astep`` coroutines (stepped on the event loop)."""

    async def areset(self, *, seed=None, options=None):
        return self.reset(seed=seed, options=options)

    async def astep(self, action):
        return self.step(action)


class Spawner(gym.Env):
    """Starts a helper process of its own at reset (``sleep`` with a marker argument, as an
    environment may start a server or a browser), then hangs in ``step``."""

    observation_space = gym.spaces.Text(100)
    action_space = gym.spaces.Text(100)

    def reset(self, *, seed=None, options=None):
        import subprocess

        self.helper = subprocess.Popen(["sleep", str(options["marker"])])
        return str(self.helper.pid), {}

    def step(self, action):
        import time

        time.sleep(300)


class Untravelling:
    """An object whose pickling raises ``ValueError`` (as a ctypes pointer's does)."""

    def __reduce__(self):
        raise ValueError("this object does not travel")


class Unsendable(Hostile):
    """:class:`Hostile`, and ``"unsendable"`` returns an info holding :class:`Untravelling`,
    ``"deep"`` an observation nested too deep to pickle (``RecursionError``)."""

    def step(self, action):
        if action == "unsendable":
            return "fine", 0.0, False, False, {"handle": Untravelling()}
        if action == "deep":
            nested: list = []
            for _ in range(10_000):
                nested = [nested]
            return nested, 0.0, False, False, {}
        return super().step(action)
