"""Edge cases of tool timeouts and the toolset loop's stop."""

from __future__ import annotations

from agentgym.tools import Tool
from agentgym.tools.invoke import ToolTimeout, _failure
from agentgym.tools.loop_thread import LoopThread


def test_a_timeout_reported_for_a_tool_without_its_own_limit_says_so_without_failing():
    tool = Tool("slow", "A slow tool.", lambda: None)  # timeout None: the limit came from elsewhere
    outcome = _failure(tool, ToolTimeout(2.5), 2.6)
    assert "did not finish within 2.5 seconds" in outcome.content and outcome.failure == "timeout"
    assert "in time" in _failure(tool, ToolTimeout(), 1.0).content


def test_stopping_the_toolset_loop_twice_is_quiet(recwarn):
    loop = LoopThread("agentgym-test-loop")
    loop.stop()
    loop.stop()
    assert not loop.running
