"""Defects of evaluation found in the twelfth round."""

from __future__ import annotations

from agentgym.eval.evaluate import build_results, entry_label
from agentgym.trajectory import Trajectory


def test_a_stored_trajectory_with_a_negative_seed_is_still_summarised():
    # entry_label built a rollout Task only for its label, and Task now refuses negative seeds, so
    # summarising such a record (written before the refusal, or by hand) raised ValueError
    episode = Trajectory(env_id="games/Wordle-v0", seed=-1, group_id="g", success=True,
                         metadata={"env_kwargs": {"difficulty": "hard"}})
    assert entry_label(episode) == "games/Wordle-v0[hard]"
    results = build_results({}, [episode], {})
    assert [row.label for row in results.environments] == ["games/Wordle-v0[hard]"]
