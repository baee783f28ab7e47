"""Exploratory tests of trajectories, their files, export and images (round 12): what a
demanding user meets at the edges of the documented contracts."""

from __future__ import annotations

from agentgym.trajectory import json_safe

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
