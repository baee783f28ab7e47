"""Action parsers on many threads at once: CPython 3.11's ``ast.parse`` shares its conversion
depth counter across threads and raises ``SystemError`` on valid input when two conversions
interleave (a garbage collection running a finalizer mid-conversion lets another thread in).
Every parse of agentgym goes through :mod:`agentgym.ast_lock`; this drives the browser and the
GUI parsers under exactly that pressure."""

from __future__ import annotations

import gc
import sys
import threading

from agentgym.browser.action_parser import parse_actions
from envs.gui.actions import parse_action
from envs.gui.frames import CoordinateFrame

THREADS = 4
ROUNDS = 1500


class _CyclicFinalizer:
    """Garbage only the cycle collector frees, running Python code when it does."""

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        sum(range(20))


def _hammer(parse, errors: list[BaseException]) -> None:
    try:
        for _ in range(ROUNDS):
            parse()
            for _ in range(3):
                _CyclicFinalizer()
    except BaseException as exc:  # noqa: BLE001 - the test reports whatever a thread met
        errors.append(exc)


def test_parsers_on_many_threads_never_hit_the_ast_depth_race():
    frame = CoordinateFrame.make("pixels", (400, 800))
    browser_text = "I will fill the form.\nfill('3', 'abc')\nclick('12')"
    gui_text = "click(120, 340)"
    parsers = [lambda: parse_actions(browser_text), lambda: parse_action(gui_text, frame)]
    errors: list[BaseException] = []
    thresholds, interval = gc.get_threshold(), sys.getswitchinterval()
    gc.set_threshold(50, 5, 5)  # collections during the parses' conversions
    sys.setswitchinterval(1e-6)  # and thread switches as often as possible
    try:
        threads = [threading.Thread(target=_hammer, args=(parsers[i % 2], errors)) for i in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        gc.set_threshold(*thresholds)
        sys.setswitchinterval(interval)
    assert not errors, errors[:3]
