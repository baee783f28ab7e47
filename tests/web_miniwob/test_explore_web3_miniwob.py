"""Defects found by exploratory testing of MiniWoB++ (third round), each pinned by a test: the
episode's outcome is read from the task's own tab, so opening another tab (``new_tab()``, the
action set offers it) does not end the episode as "left the task page"; closing the task's
tab still does; the random agent's clicks at points stay inside a viewport smaller than the
task's area (half of them were refused as outside it)."""

from __future__ import annotations

import random
import re


def test_opening_another_tab_does_not_leave_the_task(make_miniwob):
    env = make_miniwob("click-button")
    env.reset(seed=0)
    observation, reward, terminated, _, info = env.step("new_tab()")
    assert not terminated and info["error"] is None, info  # it ended as 'left the task page'
    assert "1: (untitled)  <- this page" in observation
    _, _, terminated, _, info = env.step("tab_focus(0)")
    assert not terminated and info["error"] is None
    for _ in range(3):
        _, reward, terminated, _, info = env.step(env.unwrapped.oracle_action())
        if terminated:
            break
    assert terminated and info["success"] and reward == 1.0 and info["raw_reward"] > 0


def test_closing_the_task_tab_still_leaves_the_task(make_miniwob):
    env = make_miniwob("click-button")
    env.reset(seed=0)
    env.step("new_tab()")
    _, _, terminated, _, info = env.step("tab_focus(0)")
    assert not terminated
    _, reward, terminated, _, info = env.step("tab_close()")  # the task's own tab: its state is gone
    assert terminated and not info["success"] and reward == 0.0
    assert info["miniwob_reason"] == "left the task page"


def test_random_clicks_stay_inside_a_viewport_smaller_than_the_task_area(make_miniwob):
    env = make_miniwob("click-color", viewport=(150, 120))  # the task's area is 160 x 210
    env.reset(seed=0)
    rng = random.Random(0)
    points = [tuple(map(int, re.findall(r"\d+", action))) for action in
              (env.unwrapped.random_action(rng) for _ in range(400)) if action.startswith("mouse_click(")]
    assert len(points) > 10
    # Half of them fell below or beside the viewport: 'outside the page's viewport' errors.
    assert all(0 <= x < 150 and 0 <= y < 120 for x, y in points), sorted(points)[-5:]
