"""``EnvHints(env, hints="oracle_action")`` names the mistake (one string for a list of names);
it listed each letter as an unknown hint."""

import pytest

import agentgym
from agentgym.wrappers.env_hints import EnvHints


def test_one_string_for_the_hint_list_is_named():
    env = agentgym.make("games/GuessTheNumber-v0")
    try:
        with pytest.raises(ValueError, match=r"the string 'oracle_action' \(write \['oracle_action'\]\)"):
            EnvHints(env, hints="oracle_action")
    finally:
        env.close()
