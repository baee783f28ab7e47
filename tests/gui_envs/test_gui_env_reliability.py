"""Hostile actions are error observations on every GUI task, the environments keep agentgym's
contract (check_llm_env where it applies), and no browser, context or thread outlives them."""

from __future__ import annotations

import json
import threading
import warnings

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from agentgym.browser import BrowserCrashed, BrowserPool
from agentgym.browser.processes import browser_processes
from agentgym.envs.gui.action_prediction import ActionPredictionEnv
from agentgym.envs.gui.grounding import GroundingEnv
from agentgym.envs.gui.navigation import NavigationEnv
from agentgym.info import ErrorKind
from agentgym.suites import get_suite
from agentgym.testing import check_hostile_actions, check_llm_env

HOSTILE = [
    '{"action": "click", "x": 100000, "y": 5}',          # off-screen
    '{"action": "click", "x": NaN, "y": 5}',             # NaN
    '{"action": "click", "x": "nan", "y": 5}',
    '{"action": "click", "x": -3, "y": -7}',             # negative
    '{"action": "click", "x": 1e309, "y": 5}',           # overflows to infinity
    json.dumps({"action": "type", "text": "A" * 5000}),  # huge text
    "x" * 100_000,                                       # a huge action
    "click on the button, please",                       # not JSON
    "{'action': 'click'}",
    '{"action": "type", "text": "\\ud83d"}',             # a lone surrogate
    "\ud800",
    '{"action": "swipe", "x1": 1, "y1": 1, "x2": 5000, "y2": 1}',
    '{"action": "key", "key": "Control+Alt+Delete+F99"}',
    '{"action": "click", "element": 3}',                 # no ids in the screenshot view
    '{"action": "long_press", "x": 5, "y": 5, "duration_ms": 100000}',
    "",
]


@pytest.mark.parametrize("cls", [GroundingEnv, ActionPredictionEnv, NavigationEnv])
def test_hostile_actions_are_error_observations_that_change_nothing(make_gui, cls):
    env = make_gui(cls, "medium", frame="resized", max_side=800)
    first, _ = env.reset(seed=3)
    state = env.screen["state"] if "state" in env.screen else None
    for action in [*HOSTILE, None, 12, {"action": "back"}, b'{"action": "back"}']:
        observation, reward, terminated, truncated, info = env.step(action)
        assert info["error"] and info["error_kind"] == ErrorKind.INVALID_ACTION, action
        assert not terminated and reward == 0.0
        assert observation in env.observation_space
        assert np.array_equal(observation["image"], first["image"])
        assert env.screen.get("state") == state
    assert info["gui"]["frame"]["kind"] == "resized"
    _, _, terminated, _, info = env.step(env.oracle_action())  # the episode goes on as if nothing happened
    assert info["error"] is None


def test_typing_with_no_field_focused_is_an_error(make_gui):
    env = make_gui(NavigationEnv, "easy")
    env.reset(seed=0)
    _, _, _, _, info = env.step('{"action": "type", "text": "hello"}')
    assert "no text field has the focus" in info["error"]
    _, _, _, _, info = env.step('{"action": "open_app", "app": "Teleporter"}')
    assert "no app called" in info["error"]


def test_contract_of_the_text_view(make_gui):
    check_llm_env(make_gui(GroundingEnv, "easy", view="text"), hostile=120)


def test_contract_of_the_screenshot_views(make_gui):
    for env in (make_gui(GroundingEnv, "easy", frame="resized", multiple_of=28, max_side=700),
                make_gui(NavigationEnv, "easy")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check_env(env, skip_render_check=False)
        check_hostile_actions(env, 50)
    nav_text = make_gui(NavigationEnv, "easy", view="text")
    check_hostile_actions(nav_text, 50)


def test_no_browser_context_or_thread_outlives_the_environments():
    threads_before = threading.active_count()
    pool = BrowserPool(1)
    markers = []
    envs = [GroundingEnv("easy", pool=pool), ActionPredictionEnv("easy", pool=pool),
            NavigationEnv("easy", pool=pool, fresh_context=True)]
    try:
        for env in envs:
            env.reset(seed=1)
            env.reset(seed=2)  # an episode abandoned in the middle
            env.step(env.oracle_action())
        assert pool.open_sessions == 3  # one context per environment, whatever happened
        markers = [worker.marker for worker in pool.browsers]
        assert markers and all(browser_processes(marker) for marker in markers)
    finally:
        for env in envs:
            env.close()
        assert pool.open_sessions == 0
        pool.close()
    assert not any(browser_processes(marker) for marker in markers)
    deadline = threading.Event()
    for _ in range(100):
        if threading.active_count() <= threads_before:
            break
        deadline.wait(0.05)
    assert threading.active_count() <= threads_before


def test_a_crashed_browser_fails_the_step_and_the_next_reset_recovers():
    with BrowserPool(1) as pool:
        env = NavigationEnv("easy", pool=pool)
        try:
            env.reset(seed=0)
            pool.browsers[0].kill_browser()
            with pytest.raises(BrowserCrashed):
                env.step(env.oracle_action())
            observation, _ = env.reset(seed=0)
            _, _, _, _, info = env.step(env.oracle_action())
            assert info["error"] is None and observation["image"].shape == (915, 412, 3)
            markers = [worker.marker for worker in pool.browsers]
        finally:
            env.close()
    assert not any(browser_processes(marker) for marker in markers)


def test_the_suite():
    suite = get_suite("gui-v0")
    ids = {entry.env_id for entry in suite.entries}
    assert ids == {"gui/Grounding-v0", "gui/ActionPrediction-v0", "gui/Navigation-v0"}
    assert {entry.kwargs.get("device") for entry in suite.entries if entry.env_id == "gui/Grounding-v0"} == {"desktop", "phone"}
    assert suite.num_tasks == 60 + 30 + 15
