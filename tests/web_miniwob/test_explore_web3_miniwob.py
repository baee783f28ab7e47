"""Defects found by exploratory testing of MiniWoB++ (third round), each pinned by a test: the
episode's outcome is read from the task's own tab, so opening another tab (``new_tab()``, the
action set offers it) does not end the episode as "left the task page"; closing the task's
tab still does."""

from __future__ import annotations


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
