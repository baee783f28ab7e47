"""A user's own SearchTask with a string where a list belongs: each character became an alias
(answering "o" then scored exact match 1 for the alias "Old Town") or a gold document id. Such a
field is refused naming it, as are items that are not strings (which crashed the answering step)."""

from __future__ import annotations

import pytest

from agentgym.envs.search.tasks import SearchTask


@pytest.mark.parametrize("field", ["aliases", "gold_documents", "hop_queries"])
def test_a_string_where_a_list_belongs_is_refused(field):
    with pytest.raises(ValueError, match=rf"task 'q1': {field} must be a list of strings, got the string 'Old Town'"):
        SearchTask("q1", "Where?", "Newtown", **{field: "Old Town"})


@pytest.mark.parametrize("field", ["aliases", "gold_documents", "hop_queries"])
def test_items_that_are_not_strings_are_refused(field):
    with pytest.raises(ValueError, match=rf"task 'q1': {field} must be a list of strings, got \[1\]"):
        SearchTask("q1", "Where?", "Newtown", **{field: [1]})


def test_lists_and_tuples_are_kept_as_tuples(make_env):
    task = SearchTask("q1", "Where?", "Newtown", aliases=["Old Town", "Newtown"], gold_documents=["e1"],
                      hop_queries=("Newtown",))
    assert (task.aliases, task.gold_documents, task.hop_queries) == (("Old Town",), ("e1",), ("Newtown",))
    env = make_env(tasks=[task])
    env.reset(seed=0)
    assert env.step("<answer>o</answer>")[1] == 0.0  # one letter of an alias is no answer
    env.reset(seed=0)
    assert env.step("<answer>old town</answer>")[1] == 1.0
