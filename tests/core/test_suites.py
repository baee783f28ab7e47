import pytest

import agentgym
from agentgym.envs.games import GAME_IDS


def test_builtin_suites():
    games = agentgym.get_suite("games-v0")
    assert {e.env_id for e in games.entries} == set(GAME_IDS)
    assert {e.kwargs["difficulty"] for e in games.entries} == {"easy", "medium", "hard"}
    quick = agentgym.get_suite("quick-v0")
    assert quick.num_tasks == sum(len(e.seeds) for e in quick.entries) < games.num_tasks
    names = [s.name for s in agentgym.list_suites()]
    assert {"games-v0", "quick-v0"} <= set(names) and names == sorted(names)


def test_register_suite_from_tuples_and_labels():
    suite = agentgym.register_suite("testing-v3", [("games/Wordle-v0", [1, 2], {"difficulty": "hard"}),
                                                   ("games/TicTacToe-v0", range(2))])
    assert suite.entries[0].seeds == (1, 2) and suite.entries[0].label == "games/Wordle-v0[hard]"
    assert suite.entries[1].label == "games/TicTacToe-v0" and agentgym.get_suite("testing-v3") is suite


def test_register_suite_errors():
    with pytest.raises(ValueError, match="version"):
        agentgym.register_suite("unversioned", [("games/Wordle-v0", [0])])
    with pytest.raises(KeyError, match="Did you mean games/Wordle-v0"):
        agentgym.register_suite("typo-v0", [("games/Wordl-v0", [0])])
    with pytest.raises(ValueError, match="no seeds"):
        agentgym.register_suite("empty-v0", [("games/Wordle-v0", [])])
    with pytest.raises(KeyError, match="known suites"):
        agentgym.get_suite("nope-v0")


def test_a_suite_name_is_registered_once_unless_override():
    from agentgym.core import ConfigError

    entries = [("games/Wordle-v0", [0, 1])]
    first = agentgym.register_suite("once-v0", entries, "first")
    assert agentgym.register_suite("once-v0", entries, "first") == first  # the same again: fine
    with pytest.raises(ConfigError, match="'once-v0' is already registered with other content"):
        agentgym.register_suite("once-v0", [("games/Wordle-v0", [0, 1, 2])], "first")
    with pytest.raises(ConfigError, match="already registered"):
        agentgym.register_suite("quick-v0", entries)
    assert agentgym.get_suite("quick-v0").num_tasks == 12, "the built-in suite is untouched"
    with pytest.warns(UserWarning, match="replaced"):
        agentgym.register_suite("once-v0", [("games/Wordle-v0", [5])], override=True)
    assert agentgym.get_suite("once-v0").num_tasks == 1


@pytest.mark.parametrize("entries, message", [
    ([("games/Wordle-v0", [-1])], "seeds must be non-negative integers"),
    ([("games/Wordle-v0", [0.5])], "seeds must be non-negative integers"),
    ([("games/Wordle-v0", "012")], "must be a list of integers"),
    ([("games/Wordle-v0", 3)], "must be a list of integers"),
    ([("games/Wordle-v0", [0], "hard")], "kwargs of games/Wordle-v0 must be a dict"),
    (["games/Wordle-v0"], r"each entry is \(env_id, seeds\[, kwargs\]\)"),
    ("games/Wordle-v0", "entries must be a list"),
])
def test_malformed_suite_entries_are_clear_errors(entries, message):
    from agentgym.core import ConfigError

    with pytest.raises(ConfigError, match=message):
        agentgym.register_suite("malformed-v0", entries)
