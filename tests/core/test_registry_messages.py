"""The registry's user errors stay one readable line: ``--import`` of something that is not a
module name or a .py file says what it is; an unknown id is shown cut to 200 characters."""

from __future__ import annotations

import pytest

import agentgym
from agentgym.core import ConfigError
from agentgym.registry import import_user_module


@pytest.mark.parametrize("name, said", [("/tmp", "is a folder"), ("my-envs", "is neither a module name nor a .py file")])
def test_import_of_a_folder_or_a_malformed_name_says_what_it_is(tmp_path, name, said):
    with pytest.raises(ConfigError) as raised:
        import_user_module(name)
    assert said in str(raised.value) and "my_envs.py" in str(raised.value)


def test_an_unknown_id_is_shown_cut_to_a_readable_length():
    with pytest.raises(Exception) as raised:
        agentgym.make("x" * 100_000)
    message = str(raised.value)
    assert len(message) < 500 and "(100000 characters)" in message


def test_an_argument_name_that_is_no_string_is_a_config_error_naming_it():
    from agentgym.registry import check_env_kwargs

    with pytest.raises(ConfigError, match=r"has no constructor arguments 3, .dificulty. \(did you mean difficulty\?\)"):
        check_env_kwargs("games/Wordle-v0", {3: 4, "dificulty": "easy"})
    with pytest.raises(ConfigError, match=r"has no constructor argument 3; it takes: "):
        check_env_kwargs("games/Wordle-v0", {3: 4})
