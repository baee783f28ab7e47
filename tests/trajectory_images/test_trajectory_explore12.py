"""Exploratory tests of trajectories, their files, export and images (round 12): what a
demanding user meets at the edges of the documented contracts."""

from __future__ import annotations

import pytest

from agentgym.export import episode_rows
from agentgym.trajectory import Trajectory, Turn, json_safe

CYCLE = "<dict nested too deep: it contains itself>"


def page_tree(children: int) -> dict:
    """A page's nodes as an environment may put them in ``info``: each node knows its parent."""
    root: dict = {"tag": "body", "parent": None, "children": []}
    for _ in range(children):
        node = {"tag": "div", "parent": root, "children": []}
        root["children"].append(node)
        node["children"] = [{"tag": "p", "parent": node, "children": []} for _ in range(children)]
    return root


def test_json_safe_cuts_a_cycle_where_it_recurs():
    cyclic: dict = {"name": "loop"}
    cyclic["self"] = cyclic

    assert json_safe(cyclic) == {"name": "loop", "self": CYCLE}
    assert json_safe([cyclic]) == [{"name": "loop", "self": CYCLE}]


def test_json_safe_of_nodes_with_parent_pointers_is_their_tree():
    # each node's parent pointer recursed back down the whole tree to depth 32: seven nodes took
    # over a minute and a rollout step holding them in its info stalled on writing its turn
    safe = json_safe(page_tree(2))

    assert safe["parent"] is None and len(safe["children"]) == 2
    for node in safe["children"]:
        assert node["parent"] == CYCLE
        assert [child["parent"] for child in node["children"]] == [CYCLE, CYCLE]


def test_json_safe_keeps_a_value_shared_but_not_cyclic():
    shared = {"k": [1, 2]}

    assert json_safe({"a": shared, "b": shared, "c": (shared, shared)}) == {
        "a": {"k": [1, 2]}, "b": {"k": [1, 2]}, "c": [{"k": [1, 2]}, {"k": [1, 2]}]}


# ------------------------------------------------------------------ loss_mask
@pytest.mark.parametrize("span", [(8, 12), (12, 14), (5, 3), (-2, 4)])
def test_loss_mask_refuses_a_span_outside_the_tokens(span):
    # a span past the end made the mask longer than token_ids ([8, 12) of 10 tokens gave 12
    # entries), an inverted one left its tokens unmasked: input_ids and loss_mask were exported
    # and trained on out of step
    trajectory = Trajectory(token_ids=list(range(10)), turns=[Turn(0, "o", "a", action_span=(2, 4)),
                                                              Turn(1, "o", "b", action_span=span)])

    with pytest.raises(ValueError, match=r"turn 1: action_span .* outside the 10 recorded tokens"):
        trajectory.loss_mask()


def test_loss_mask_marks_the_generated_tokens():
    trajectory = Trajectory(token_ids=list(range(6)), turns=[Turn(0, "o", "a", action_span=(1, 3)),
                                                             Turn(1, "o", "b", action_span=(4, 6)),
                                                             Turn(2, "o", "c", action_span=(6, 6))])

    assert trajectory.loss_mask() == [0, 1, 1, 0, 1, 1]


def test_episode_export_names_the_trajectory_whose_span_is_outside_its_tokens():
    good = Trajectory(task_id="Task-1", token_ids=[1, 2, 3], turns=[Turn(0, "o", "a", action_span=(1, 3))])
    bad = Trajectory(task_id="Task-2", token_ids=[1, 2, 3], turns=[Turn(0, "o", "a", action_span=(1, 5))])

    assert episode_rows([good])[0]["loss_mask"] == [0, 1, 1]
    with pytest.raises(ValueError, match=r"trajectory 1 \('Task-2'\): turn 0: action_span \(1, 5\) lies outside"):
        episode_rows([good, bad])
