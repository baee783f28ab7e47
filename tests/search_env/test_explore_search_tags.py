"""The tags format with blocks that clean to nothing: a <search> block of control characters only
is an empty block (a format error, as in the tools format's search(query='\\x01')), not a search
for '' counted against the per-turn cap and the search cost."""

from __future__ import annotations

from agentgym.info import ErrorKind


def test_a_search_block_of_control_characters_is_an_empty_block(make_env):
    env = make_env()
    env.reset(seed=0)
    observation, _, terminated, _, info = env.step("<search>\x01\x7f\u2028</search>")
    assert not terminated and info["error_kind"] == ErrorKind.FORMAT
    assert "empty <search> block" in observation
    assert info["queries"] == [] and info["searches"] == 0
    _, _, _, _, info = env.step("<search>\x00</search><search>Gefoba Ri Accord</search>")
    assert info["error_kind"] == ErrorKind.FORMAT and info["searches"] == 0
