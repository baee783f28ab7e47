"""Exploratory tests, third round: closing a vector environment while a batch runs elsewhere."""

from __future__ import annotations

import threading
from typing import Any

from vector_test_envs import EchoEnv, Factory, slot_threads, wait_until

from agentgym import Feedback


class HoldingEnv(EchoEnv):
    """Says when its step has begun (``entered``), then waits for ``release``."""

    def __init__(self, entered: threading.Event, release: threading.Event, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.entered, self.release = entered, release

    def play(self, action: str) -> Feedback:
        if action == "hold":
            self.entered.set()
            self.release.wait(10)
        return super().play(action)


def test_close_from_another_thread_waits_for_the_step_in_progress(vector_cls, release):
    """close() while step() ran in another thread raised 'Cannot close a running event loop'
    (and warned of a never-awaited coroutine), leaving every environment open; it waits for
    the batch, whose calls are bounded by step_timeout, then closes everything."""
    entered = threading.Event()
    factories = [Factory(HoldingEnv, entered=entered, release=release) for _ in range(2)]
    envs = vector_cls(factories, step_timeout=10)
    envs.reset(seed=0)
    stepped: list[Any] = []
    stepper = threading.Thread(target=lambda: stepped.append(envs.step(["hold", "a"])))
    stepper.start()
    assert entered.wait(10)
    timer = threading.Timer(0.3, release.set)  # lets the step end once close() waits for it
    timer.start()
    envs.close()
    stepper.join(10)
    timer.join()
    assert envs.closed and all(f.built[0].was_closed for f in factories)
    assert stepped and list(stepped[0][0]) == ["echo hold (turn 1)", "echo a (turn 1)"]
    assert wait_until(lambda: not slot_threads())
