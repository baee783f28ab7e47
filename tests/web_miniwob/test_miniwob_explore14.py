"""Round-14 probe of MiniWoB++ episode ends: every end says its task and raw reward."""

from __future__ import annotations


def test_an_episode_ended_by_report_infeasible_names_its_task_and_raw_reward(make_miniwob):
    """Every other end of a MiniWoB++ episode (the page's verdict, leaving the task page) puts
    miniwob_task, raw_reward and miniwob_reason in info; report_infeasible(...) gave none of
    them (code reading info['raw_reward'] at the end of an episode raised KeyError)."""
    env = make_miniwob("click-button")
    env.reset(seed=0)
    _, reward, terminated, _, info = env.step("report_infeasible('no button here')")
    assert terminated and reward == 0.0 and info["success"] is False
    assert info["infeasible"] == "no button here"
    assert info["miniwob_task"] == "click-button" and info["raw_reward"] is None
    assert info["miniwob_reason"] == "the agent reported the task infeasible: no button here"
