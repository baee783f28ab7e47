"""The search environments' hints: the rules of their action format at level 1, a strategy at
level 2, the oracle's next move at level 3 (``LLMEnv.hint``; ``Hinted`` shows them to failing groups)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("action_format, rule", [("tags", "<search> query </search>"),
                                                 ("tools", "open(doc_id)")])
def test_each_level_says_more_than_the_one_below(make_env, action_format, rule):
    env = make_env(action_format=action_format)
    env.reset(seed=0)
    reminder, strategy, move = env.hint(1), env.hint(2), env.hint(3)
    assert rule in reminder and reminder != "Answer the question."
    assert "one fact at a time" in strategy and strategy != reminder
    assert move.startswith("A good next move:") and move not in (reminder, strategy)
