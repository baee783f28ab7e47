"""Exploratory round 13 of the registry, suites, spaces and lazy imports: each test is a defect a
user met, fixed."""

from __future__ import annotations

import re
import sys

import pytest

from agentgym.core import ConfigError
from agentgym.registry import import_user_module, is_registered


def test_import_of_a_folder_with_no_init_is_refused_and_names_the_modules_inside(tmp_path, monkeypatch):
    # `agentgym --import my_envs` where my_envs/ has no __init__.py: Python imports it as an
    # empty namespace package, nothing is registered, and the command then fails far from the
    # cause ("no environment registered as ..."). It is refused, naming the .py files inside.
    folder = tmp_path / "explore13_nsfolder"
    folder.mkdir()
    (folder / "envs.py").write_text("raise RuntimeError('not imported')\n")
    (tmp_path / "explore13_emptyns").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError) as raised:
        import_user_module("explore13_nsfolder")
    message = str(raised.value)
    assert "__init__.py" in message and "explore13_nsfolder.envs" in message
    assert "explore13_nsfolder" not in sys.modules  # not left half-imported
    with pytest.raises(ConfigError, match="no .py file"):
        import_user_module("explore13_emptyns")
    assert "explore13_emptyns" not in sys.modules


def test_a_misspelt_name_of_a_package_with_lazy_exports_gets_a_suggestion():
    # A plain module's AttributeError ends "Did you mean: 'register'?"; a package whose
    # __getattr__ serves lazy exports (agentgym.rewards, agentgym.train...) said only "has no
    # attribute", and could not suggest a lazy name, which dir() does not list.
    import agentgym.rewards as rewards

    with pytest.raises(AttributeError, match=r"has no attribute 'InformationGainRewrd'\. "
                                             r"Did you mean: 'InformationGainReward'\?"):
        rewards.InformationGainRewrd
    with pytest.raises(AttributeError, match=r"Did you mean: 'exact_match'\?"):
        rewards.exact_mach
    with pytest.raises(AttributeError) as raised:
        rewards.zzzzqqq
    assert str(raised.value) == "module 'agentgym.rewards' has no attribute 'zzzzqqq'"


@pytest.mark.parametrize("entry_point", [":", "my_envs:", ":Counter", "my_envs:Counter:x", "my-envs:Counter",
                                         "my_envs:Outer.Counter", "my_envs.:Counter"])
def test_a_malformed_entry_point_string_is_refused_at_register_not_at_make(entry_point):
    # These passed register (they hold a ':') and failed only at make, with "Empty module name",
    # "not enough values to unpack" or an AttributeError, far from the registration at fault.
    import agentgym

    with pytest.raises(ConfigError, match="needs the form 'package.module:Class'"):
        agentgym.register("explore13/Malformed-v0", entry_point)
    assert not is_registered("explore13/Malformed-v0")


@pytest.mark.parametrize("tags", [None, 3, True])
def test_tags_that_are_no_list_are_a_config_error_not_a_type_error(tags):
    # list_envs(tags=None) (as family=None) and register(..., tags=None) raised
    # "TypeError: 'NoneType' object is not iterable" from inside the registry.
    import agentgym

    with pytest.raises(ConfigError, match=r"list_envs: tags must be a list of strings, got " + repr(tags)):
        agentgym.list_envs(tags=tags)
    with pytest.raises(ConfigError, match=r"register\('explore13/Tags-v0'\): tags must be a list of strings"):
        agentgym.register("explore13/Tags-v0", "my_envs:Counter", tags=tags)


@pytest.mark.parametrize("server", [3, b"http://127.0.0.1:1", ""])
def test_a_server_that_is_no_url_string_is_a_config_error_of_make(server):
    # make(id, server=3) failed inside the remote client with "'int' object has no attribute
    # 'rstrip'", a bytes URL with "a bytes-like object is required".
    import agentgym

    with pytest.raises(ConfigError, match=r"make\('games/Wordle-v0'\): server must be an environment server's URL"):
        agentgym.make("games/Wordle-v0", server=server)


@pytest.mark.parametrize("value", ["no", 0, None])
def test_episode_statistics_that_is_no_bool_is_refused_like_tool_calling(value):
    # episode_statistics="no" put an EpisodeStatistics on the stack (a truthy string), while
    # tool_calling="no" was refused.
    import agentgym

    with pytest.raises(ConfigError, match=r"make\('games/Wordle-v0'\): episode_statistics must be True or False"):
        agentgym.make("games/Wordle-v0", episode_statistics=value)


@pytest.mark.parametrize("entry, said", [
    (("games/Wordle-v0", 3), "the seeds of games/Wordle-v0 must be a list of integers, got 3"),
    (("games/Wordle-v0", (0,), None), "the kwargs of games/Wordle-v0 must be a dict, got None"),
    (("games/Wordle-v0", (0,), [("difficulty", "hard")]), "the kwargs of games/Wordle-v0 must be a dict"),
])
def test_a_suite_entry_object_is_checked_like_a_tuple(entry, said):
    # build_suite/register_suite checked the shape of (env_id, seeds, kwargs) tuples but not of a
    # SuiteEntry: SuiteEntry(id, 3) and SuiteEntry(id, (0,), None) raised "TypeError: 'int'
    # object is not iterable", and a kwargs list of pairs was taken as a dict.
    from agentgym.suites import SuiteEntry, build_suite

    with pytest.raises(ConfigError, match="suite 'explore13': " + re.escape(said)):
        build_suite("explore13", [SuiteEntry(*entry)])
    with pytest.raises(ConfigError, match="suite 'explore13': " + re.escape(said)):
        build_suite("explore13", [entry])


@pytest.mark.parametrize("arguments, said", [
    ({"name": "-v0"}, "suite name '-v0' must end in a version"),
    ({"override": "yes"}, "register_suite('explore13-v0'): override must be True or False, got 'yes'"),
    ({"description": 3}, "register_suite('explore13-v0'): description must be a string, got 3"),
])
def test_register_suite_checks_its_arguments_as_register_does(arguments, said):
    # register_suite("-v0", ...) (a version and no name), override="yes" and description=3 were
    # registered as given, while register refuses such arguments.
    from agentgym.suites import list_suites, register_suite

    arguments = {"name": "explore13-v0", **arguments}
    with pytest.raises(ConfigError, match=re.escape(said)):
        register_suite(entries=[("games/Wordle-v0", [0])], **arguments)
    assert arguments["name"] not in [suite.name for suite in list_suites()]


def test_check_seed_determinism_with_fewer_than_two_seeds_says_so():
    # check_seed_determinism(env, seeds=(0,)) failed with "seeds (0,) all produced the same
    # episode", blaming the environment for what one seed cannot show; check_llm_env's
    # replay_seeds=2.5 failed with "'float' object cannot be interpreted as an integer".
    from agentgym.envs.games.guess_the_number import GuessTheNumber
    from agentgym.testing import check_llm_env, check_seed_determinism

    env = GuessTheNumber()
    for seeds in [(0,), (), (3, 3)]:
        with pytest.raises(ValueError, match=r"at least two different seeds"):
            check_seed_determinism(env, seeds)
    with pytest.raises(ValueError, match=r"replay_seeds must be at least 2, an integer .*got 2.5"):
        check_llm_env(env, replay_seeds=2.5)
    env.close()


def test_a_wrapper_that_returns_no_environment_is_named_and_the_environment_closed():
    # make(id, wrappers=[fn]) where fn returns something else (None: a function that wraps in
    # place and forgets to return) failed later with "'NoneType' object has no attribute
    # 'unwrapped'", and the environment made was never closed.
    import gymnasium as gym

    import agentgym
    from agentgym import Feedback, LLMEnv

    closed = []

    class Closing(LLMEnv):
        def new_episode(self, options):
            return "0"

        def play(self, action):
            return Feedback("1", {"outcome": 0.0})

        def close(self):
            closed.append(True)
            super().close()

    def forgets_to_return(env):
        gym.Wrapper(env)

    agentgym.register("explore13/Closing-v0", Closing)
    with pytest.raises(ConfigError, match=r"make\('explore13/Closing-v0'\): the wrapper .*forgets_to_return "
                                          r"returned None, not an environment"):
        agentgym.make("explore13/Closing-v0", wrappers=[forgets_to_return])
    assert closed == [True]


def test_overriding_an_id_registered_with_gymnasium_alone_says_so_in_the_warning():
    # The warning read "'x/Y-v0' was registered  and is now replaced by ..." (the holder left
    # out, two spaces), where the error without override says "directly with Gymnasium".
    import gymnasium as gym

    import agentgym
    from agentgym import registry

    gym.register("explore13/GymOnly-v0", entry_point="agentgym.envs.games.wordle:Wordle")
    try:
        with pytest.warns(UserWarning) as caught:
            agentgym.register("explore13/GymOnly-v0", "agentgym.envs.games.wordle:Wordle", override=True)
        message = str(caught[0].message)
        assert "'explore13/GymOnly-v0' was registered directly with Gymnasium and is now replaced by " \
               "agentgym.envs.games.wordle:Wordle (override=True)" in message, message
    finally:
        gym.registry.pop("explore13/GymOnly-v0", None)
        registry._ENVS.pop("explore13/GymOnly-v0", None)


def test_importing_a_file_named_like_a_module_already_imported_is_refused(tmp_path):
    # `agentgym --import json.py` (or queue.py, agentgym.py...) replaced sys.modules["json"] by
    # the user's file for the rest of the process: every later `import json` got it.
    import json

    (tmp_path / "json.py").write_text("X = 1\n")
    with pytest.raises(ConfigError, match=r"--import .*json\.py: a module named 'json' is already imported"):
        import_user_module(str(tmp_path / "json.py"))
    assert sys.modules["json"] is json
    own = tmp_path / "explore13_own_file.py"  # the same file again is imported again, as before
    own.write_text("X = 1\n")
    assert import_user_module(str(own)).X == 1
    own.write_text("X = 2\n")
    assert import_user_module(str(own)).X == 2
    sys.modules.pop("explore13_own_file", None)


def test_registering_again_with_numpy_scalar_kwargs_is_the_no_op_it_is():
    # np.float64(0.5) == np.float64(0.5) is numpy's True, not Python's: a notebook cell rerun
    # with kwargs={"invalid_penalty": np.float64(-0.5)} raised "already registered".
    import numpy as np

    import agentgym
    from agentgym.same_definition import same_definition

    assert same_definition(np.float64(0.5), np.float64(0.5)) and same_definition(np.int64(3), np.int64(3))
    assert not same_definition(np.float64(0.5), np.float64(0.25))
    assert not same_definition(np.zeros(2), np.zeros(2))  # an array's == is no truth value: different
    kwargs = {"invalid_penalty": np.float64(-0.5)}
    first = agentgym.register("explore13/NumpyKwargs-v0", "agentgym.envs.games.wordle:Wordle", kwargs=kwargs)
    again = agentgym.register("explore13/NumpyKwargs-v0", "agentgym.envs.games.wordle:Wordle",
                              kwargs={"invalid_penalty": np.float64(-0.5)})
    assert again is first


def test_registering_the_same_partial_again_is_the_no_op_it_is():
    # register(id, functools.partial(Wordle, difficulty="hard")) run again (a notebook cell, a
    # module imported under two names) raised "already registered": each run makes a new
    # partial object, and partials compare by identity.
    import functools

    import agentgym
    from agentgym.envs.games.wordle import Wordle
    from agentgym.same_definition import same_definition

    first = agentgym.register("explore13/Partial-v0", functools.partial(Wordle, difficulty="hard"))
    assert agentgym.register("explore13/Partial-v0", functools.partial(Wordle, difficulty="hard")) is first
    assert not same_definition(functools.partial(Wordle, difficulty="hard"), functools.partial(Wordle, difficulty="easy"))
    assert not same_definition(functools.partial(Wordle, "hard"), functools.partial(Wordle, difficulty="hard"))
    with pytest.raises(ConfigError, match="already registered"):
        agentgym.register("explore13/Partial-v0", functools.partial(Wordle, difficulty="easy"))


@pytest.mark.parametrize("description", [
    {"kind": "text", "max_length": 0}, {"kind": "text", "max_length": 1.9}, {"kind": "text", "max_length": "5"},
    {"kind": "text", "max_length": True}, {"kind": "text_image", "height": 2.5, "width": 3},
    {"kind": "text_image", "height": 2, "width": "3"},
])
def test_a_space_description_with_a_field_that_is_no_positive_integer_is_a_value_error(description):
    # The docstring promised a ValueError for "a field ... not a positive integer"; 0 made a
    # space that holds only "", 1.9 and True were cut to 1, "5" and 2.5 were taken.
    from agentgym.spaces import UnicodeText, space_from_description

    with pytest.raises(ValueError, match="a malformed observation space description"):
        space_from_description(description)
    assert space_from_description({"kind": "text", "max_length": 7}) == UnicodeText(7)
    assert space_from_description({"kind": "text"}) == UnicodeText()


@pytest.mark.parametrize("max_turns", [0, "3", True])
def test_make_checks_max_turns_before_it_goes_to_a_server(max_turns):
    # make(id, server=URL, max_turns=0) skipped make's own check and went to the network: with
    # no server listening it said "cannot connect", and with one the server refused the session.
    import agentgym

    with pytest.raises(ConfigError, match=r"make\('games/Wordle-v0'\): max_turns must be a positive integer or None"):
        agentgym.make("games/Wordle-v0", server="http://127.0.0.1:9", max_turns=max_turns)


@pytest.mark.parametrize("kwargs", ["difficulty=hard", 3, [("difficulty", "hard")]])
def test_env_suite_kwargs_that_are_no_dict_are_a_config_error(kwargs):
    # env_suite(ids, seeds, "difficulty=hard") failed with "dictionary update sequence element
    # #0 has length 1; 2 is required", 3 with "'int' object is not iterable", and a list of
    # pairs was taken, where build_suite refuses kwargs that are no dict.
    from agentgym.suites import env_suite

    with pytest.raises(ConfigError, match=r"env_suite: kwargs must be a dict of constructor arguments, got "):
        env_suite(["games/Wordle-v0"], [0], kwargs)


def test_an_id_whose_version_has_a_leading_zero_is_refused_with_its_canonical_form():
    # register("x/Y-v00", ...) succeeded, but Gymnasium filed it as "x/Y-v0": make("x/Y-v00")
    # then failed ("No registered env with id: x/Y-v00"), and register("x/Y-v0", ...) said it
    # was "already registered directly with Gymnasium".
    import gymnasium as gym

    import agentgym
    from agentgym.registry import is_registered

    with pytest.raises(ConfigError, match=r"'explore13/Zero-v00' is not written as Gymnasium writes it: "
                                          r"write 'explore13/Zero-v0'"):
        agentgym.register("explore13/Zero-v00", "agentgym.envs.games.wordle:Wordle")
    assert not is_registered("explore13/Zero-v00") and "explore13/Zero-v0" not in gym.registry


@pytest.mark.parametrize("env_id", ["explore13/-v0", "explore13/X-v0.1", "explore13/X-v-1"])
def test_an_id_with_a_malformed_version_is_not_told_to_add_one(env_id):
    # "explore13/X-v0.1" was told it "needs a version suffix, e.g. explore13/X-v0.1-v0", and
    # "explore13/-v0" (no name) "e.g. explore13/-v0-v0".
    import agentgym

    with pytest.raises(ConfigError) as raised:
        agentgym.register(env_id, "agentgym.envs.games.wordle:Wordle")
    message = str(raised.value)
    assert f"{env_id}-v0" not in message and "a name, then -v and a whole number" in message, message


def test_an_id_with_a_colon_is_refused_as_gymnasium_make_reads_it_as_a_module():
    # register("my:envs/X-v0", ...) succeeded, but gymnasium.make("my:envs/X-v0") (which the
    # registry promises works) imports a module "my" first: "No module named 'my'".
    import agentgym

    with pytest.raises(ConfigError, match=r"'explore13:ns/X-v0' holds a ':'"):
        agentgym.register("explore13:ns/X-v0", "agentgym.envs.games.wordle:Wordle")
    assert not is_registered("explore13:ns/X-v0")


def test_a_plugin_entry_point_naming_an_environment_class_is_skipped_with_a_warning(monkeypatch):
    # An "agentgym.envs" entry point naming the environment class itself ("pkg:MyEnv", as in
    # other frameworks' registries) was called like a registering function: an environment was
    # built at import of agentgym, nothing was registered, and nothing said so.
    from importlib import metadata

    from agentgym import registry

    built = []

    def entry_points(group):
        if group != registry.ENTRY_POINT_GROUP:
            return []
        return [metadata.EntryPoint("wordle_class", "agentgym.envs.games.wordle:Wordle", group)]

    monkeypatch.setattr(registry.metadata, "entry_points", entry_points)
    from agentgym.envs.games.wordle import Wordle

    monkeypatch.setattr(Wordle, "__init__", lambda self, *a, **k: built.append(True))
    with pytest.warns(UserWarning, match=r"plugin 'wordle_class' \(agentgym.envs.games.wordle:Wordle\) names an "
                                         r"environment class.*skipped"):
        registry.load_plugins(reload=True)
    assert built == []


def test_register_refuses_constructor_argument_names_that_are_no_strings():
    # register(..., kwargs={1: 3}) was accepted and every make then failed ("has no constructor
    # argument 1"), where build_suite refuses such a name when it is given.
    import agentgym

    with pytest.raises(ConfigError, match=r"register\('explore13/IntKey-v0'\): constructor argument names must be "
                                          r"strings, got 1"):
        agentgym.register("explore13/IntKey-v0", "agentgym.envs.games.wordle:Wordle", kwargs={1: 3})
    assert not is_registered("explore13/IntKey-v0")


@pytest.mark.parametrize("kwargs", [None, [("difficulty", "hard")], "difficulty=hard"])
def test_check_env_kwargs_with_kwargs_that_are_no_dict_is_a_config_error(kwargs):
    # check_env_kwargs(id, None) failed with "'NoneType' object is not a mapping" (a list of
    # pairs: "'list' object is not a mapping").
    from agentgym.registry import check_env_kwargs

    with pytest.raises(ConfigError, match=r"check_env_kwargs\('games/Wordle-v0'\): kwargs must be a dict"):
        check_env_kwargs("games/Wordle-v0", kwargs)


@pytest.mark.parametrize("arguments, said", [({"hostile": -1}, "hostile must be a non-negative integer"),
                                             ({"hostile": 2.5}, "hostile must be a non-negative integer"),
                                             ({"replay_steps": 0}, "replay_steps must be a positive integer")])
def test_check_llm_env_refuses_counts_that_would_check_nothing(arguments, said):
    # check_llm_env(env, hostile=-1) passed having sent no hostile action, replay_steps=0 having
    # replayed no step: a check that checks nothing, silently.
    from agentgym.envs.games.guess_the_number import GuessTheNumber
    from agentgym.testing import check_llm_env

    env = GuessTheNumber()
    with pytest.raises(ValueError, match=said):
        check_llm_env(env, **arguments)
    env.close()


@pytest.mark.parametrize("family", [3, ["games"], ("games",)])
def test_list_envs_with_a_family_that_is_no_name_is_a_config_error(family):
    # list_envs(family=["games"]) (or 3) returned [] as if the family had no
    # environments, where tags of the wrong type are refused.
    import agentgym

    with pytest.raises(ConfigError, match=r"list_envs: family must be a family name such as 'games' or None"):
        agentgym.list_envs(family=family)
    assert agentgym.list_envs(family="games")
