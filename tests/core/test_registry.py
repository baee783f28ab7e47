import re
import warnings

import gymnasium as gym
import pytest

import agentgym
from agentgym.wrappers import EpisodeStatistics, TurnLimit

CUSTOM_ENV = """
from agentgym import Feedback, LLMEnv

class Counter(LLMEnv):
    def new_episode(self, options):
        self.count = 0
        return "0"

    def play(self, action):
        self.count += 1
        return Feedback(str(self.count), {"outcome": 0.0})
"""


@pytest.fixture
def counter_module(tmp_path, monkeypatch):
    (tmp_path / "counter_env_mod.py").write_text(CUSTOM_ENV)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "counter_env_mod:Counter"


def test_register_entry_point_string_is_lazy_and_makes(counter_module):
    import sys

    record = agentgym.register("testing/Counter-v0", counter_module, max_turns=3, tags=("toy",))
    assert "counter_env_mod" not in sys.modules, "registering must not import the module"
    assert record.family == "testing" and record.name == "Counter-v0"
    env = agentgym.make("testing/Counter-v0", episode_statistics=True)
    assert isinstance(env, EpisodeStatistics) and isinstance(env.env, TurnLimit)
    env.reset(seed=0)
    results = [env.step("x") for _ in range(3)]
    assert [r[3] for r in results] == [False, False, True], "truncated at the turn budget"
    assert results[-1][4]["episode"]["turns"] == 3


def test_gymnasium_make_works_on_agentgym_ids(counter_module):
    agentgym.register("testing/Counter-v1", counter_module, max_turns=2)
    env = gym.make("testing/Counter-v1")
    env.reset(seed=0)
    env.step("a")
    assert env.step("b")[3] is True  # gymnasium's TimeLimit from max_turns


def test_register_class_and_factory_and_kwargs():
    from agentgym.envs.games.guess_the_number import GuessTheNumber

    agentgym.register("testing/GTN-v0", GuessTheNumber, kwargs={"difficulty": "hard"})
    agentgym.register("testing/GTNf-v0", lambda **kw: GuessTheNumber("medium", **kw), family="custom")
    assert agentgym.make("testing/GTN-v0").unwrapped.high == 1000
    assert agentgym.make("testing/GTN-v0", difficulty="easy").unwrapped.high == 20
    assert agentgym.make("testing/GTNf-v0").unwrapped.high == 100
    assert agentgym.env_info("testing/GTNf-v0").family == "custom"


def test_make_options_turn_budget_and_statistics():
    env = agentgym.make("games/GuessTheNumber-v0", max_turns=None, episode_statistics=False)
    assert type(env).__name__ == "GuessTheNumber"
    env = agentgym.make("games/GuessTheNumber-v0", max_turns=2)
    env.reset(seed=0)
    env.step("1")
    assert env.step("1")[3] is True


def test_list_envs_filters():
    games = agentgym.list_envs(family="games")
    assert len(games) >= 15 and all(e.family == "games" for e in games)
    hidden = agentgym.list_envs(tags=["hidden-answer"])
    assert {"games/Wordle-v0", "games/GuessTheNumber-v0"} <= {e.id for e in hidden}
    assert all("hidden-answer" in e.tags for e in hidden)
    assert agentgym.list_envs(family="no-such-family") == []
    assert "games" in agentgym.families()


@pytest.mark.parametrize("bad_id, message", [
    ("games/GuessTheNumbr-v0", "Did you mean games/GuessTheNumber-v0"),
    ("wordle", "Did you mean games/Wordle-v0"),
])
def test_unknown_ids_suggest_close_matches(bad_id, message):
    with pytest.raises(KeyError, match=message):
        agentgym.make(bad_id)


def test_register_validates_ids():
    with pytest.raises(ValueError, match="version"):
        agentgym.register("testing/NoVersion", "x:y")
    with pytest.raises(ValueError, match="family"):
        agentgym.register("NoNamespace-v0", "x:y")
    with pytest.raises(ValueError, match="max_turns"):
        agentgym.register("testing/Zero-v0", "x:y", max_turns=0)


def test_user_wrappers_sit_inside_the_turn_limit_and_statistics():
    from agentgym.wrappers import AnswerFormat

    env = agentgym.make("games/GuessTheNumber-v0", max_turns=3, wrappers=[AnswerFormat], episode_statistics=True)
    assert isinstance(env.env.env, AnswerFormat)
    env.reset(seed=0)
    results = [env.step("no tags at all") for _ in range(3)]
    assert all(r[4]["error"] for r in results), "format errors are invalid actions"
    assert results[-1][3] is True, "format errors count against the turn budget"
    assert results[-1][4]["episode"]["invalid_actions"] == 3


def test_wrappers_none_is_no_wrappers_and_a_bad_wrapper_is_named_before_anything_is_made(monkeypatch):
    from agentgym.core import ConfigError
    from agentgym.envs.games.wordle import Wordle

    assert type(agentgym.make("games/Wordle-v0", wrappers=None).unwrapped) is Wordle
    made = []
    monkeypatch.setattr(gym, "make", lambda *args, **kwargs: made.append(args))
    for bad, says in [([1], "every item of wrappers must be a wrapper class or a callable taking the env, got 1"),
                      ("AnswerFormat", "wrappers must be a list of wrapper classes or callables, got 'AnswerFormat'"),
                      (3, "wrappers must be a list")]:
        with pytest.raises(ConfigError, match=re.escape(says)):
            agentgym.make("games/Wordle-v0", wrappers=bad)
    assert not made, "refused before the environment was made"


def test_a_wrapper_that_raises_closes_the_environment_it_was_given(monkeypatch):
    from agentgym.envs.games.wordle import Wordle

    closed = []
    monkeypatch.setattr(Wordle, "close", lambda self: closed.append(self))

    def broken(env):
        raise RuntimeError("this wrapper is broken")

    with pytest.raises(RuntimeError, match="this wrapper is broken"):
        agentgym.make("games/Wordle-v0", wrappers=[broken])
    assert len(closed) == 1 and type(closed[0]) is Wordle


# ------------------------------------------------------------ registry safety and clear errors
def test_a_taken_id_is_refused_unless_override(counter_module):
    from agentgym.core import ConfigError

    wordle = agentgym.env_info("games/Wordle-v0")
    with pytest.raises(ConfigError, match=r"'games/Wordle-v0' is already registered .*override=True"):
        agentgym.register("games/Wordle-v0", counter_module)
    assert agentgym.env_info("games/Wordle-v0") is wordle
    assert type(agentgym.make("games/Wordle-v0").unwrapped).__name__ == "Wordle", "not hijacked"
    gym.register("testing/GymOnly-v0", entry_point=counter_module)
    with pytest.raises(ConfigError, match="already registered directly with Gymnasium"):
        agentgym.register("testing/GymOnly-v0", counter_module)


def test_the_same_registration_twice_is_a_no_op_and_override_replaces_with_a_warning(counter_module):
    from agentgym.envs.games.guess_the_number import GuessTheNumber

    first = agentgym.register("testing/Twice-v0", counter_module, max_turns=3)
    assert agentgym.register("testing/Twice-v0", counter_module, max_turns=3) is first
    with pytest.raises(ValueError, match="Twice-v1"):  # the message suggests a new version
        agentgym.register("testing/Twice-v0", counter_module, max_turns=4)
    with pytest.warns(UserWarning, match="replaced"):
        agentgym.register("testing/Twice-v0", GuessTheNumber, max_turns=4, override=True)
    assert agentgym.env_info("testing/Twice-v0").max_turns == 4
    assert isinstance(agentgym.make("testing/Twice-v0").unwrapped, GuessTheNumber)


NOTEBOOK_CELL = '''
import agentgym
import agentgym.tools

class Base(agentgym.LLMEnv):
    instructions = "Say anything."
    limits = (1, 2)

    def new_episode(self, options):
        return "go"


@agentgym.tools.tool
def flip(times: int) -> str:
    """Flip the coin a few times."""
    return "heads " * times


class Coin(Base):
    """A coin."""
    sides = ["heads", "tails"]
    tools = (flip,)

    def __init__(self, bias=0.5, **kwargs):
        super().__init__(**kwargs)  # closes over the class itself
        self.bias = bias

    def play(self, action, *, loud=False):
        return agentgym.Feedback("ok", terminated=True)

    @property
    def face(self):
        return self.sides[0]

    @staticmethod
    def helper(x=3):
        return x


def coin_maker(bias):
    def make_coin(**kwargs):
        return Coin(bias=bias, **kwargs)
    return make_coin


agentgym.register("testing/NotebookCoin-v0", Coin, max_turns=2)
agentgym.register("testing/NotebookCoinFactory-v0", coin_maker(0.25), max_turns=2)
'''


@pytest.mark.parametrize("edit", [
    ('return "go"', 'return "GO"'),                       # a method of a base class
    ('["heads", "tails"]', '["heads"]'),                   # a class attribute
    ("loud=False", "loud=True"),                           # a default
    ('"""A coin."""\n', '"""A coin."""\n    edge = 1\n'),  # a new member
    ("return self.sides[0]", "return self.sides[1]"),      # a property
    ("return Coin(bias=bias", "return Coin(bias=1 - bias"),  # the factory
    ("coin_maker(0.25)", "coin_maker(0.75)"),                # what the factory closes over
    ('return "heads " * times', 'return "tails " * times'),  # a tool (a dataclass around a function)
], ids=["method", "attribute", "default", "member", "property", "factory", "closure", "tool"])
def test_a_notebook_cell_run_again_registers_nothing_new_and_an_edited_one_asks_for_override(edit):
    """A cell (or a script) run again defines new class and function objects from the same code:
    a no-op, without a warning. An edited definition under the same id needs override=True."""
    from agentgym.core import ConfigError
    from agentgym import registry

    cell = {"__name__": "__main__"}
    try:
        exec(NOTEBOOK_CELL, cell)
        coin = agentgym.env_info("testing/NotebookCoin-v0")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            exec(NOTEBOOK_CELL, {"__name__": "__main__"})  # run again: nothing to say
        assert agentgym.env_info("testing/NotebookCoin-v0") is coin
        edited = NOTEBOOK_CELL.replace(*edit)
        assert edited != NOTEBOOK_CELL
        with pytest.raises(ConfigError, match="is already registered by __main__:.*override=True"):
            exec(edited, {"__name__": "__main__"})
        elsewhere = {"__name__": "another_module"}  # the same code in another module is another class
        with pytest.raises(ConfigError, match="is already registered by __main__:Coin"):
            exec(NOTEBOOK_CELL, elsewhere)
    finally:
        for env_id in ("testing/NotebookCoin-v0", "testing/NotebookCoinFactory-v0"):
            registry._ENVS.pop(env_id, None)
            gym.registry.pop(env_id, None)


@pytest.mark.parametrize("call, message", [
    (lambda: agentgym.register("testing/Bad-v0", "x:y", max_turns="3"), "max_turns must be a positive integer"),
    (lambda: agentgym.register("testing/Bad-v0", "x:y", max_turns=True), "max_turns"),
    (lambda: agentgym.register("testing/Bad-v0", "x:y", tags="word"), "tags must be a list"),
    (lambda: agentgym.register("testing/Bad-v0", "no_colon"), "package.module:Class"),
    (lambda: agentgym.register("testing/Bad-v0", 42), "entry_point"),
    (lambda: agentgym.register(None, "x:y"), "must be a string"),
    (lambda: agentgym.register("testing/Bad-v0", "x:y", kwargs=[1]), "kwargs must be a dict"),
    (lambda: agentgym.make(None), "must be a string like 'games/Wordle-v0', got None"),
    (lambda: agentgym.make("games/Wordle-v0", max_turns="5"), "max_turns"),
    (lambda: agentgym.make("games/Wordle-v0", foo=1),
     r"no constructor argument 'foo'; it takes: difficulty, dense_reward, invalid_penalty"),
    (lambda: agentgym.make("games/TicTacToe-v0", opponent_strenght=1),
     r"'opponent_strenght' \(did you mean opponent_strength\?\); it takes: difficulty, opponent_strength"),
])
def test_wrong_arguments_are_config_errors_naming_the_argument(call, message):
    from agentgym.core import ConfigError

    with pytest.raises(ConfigError, match=message) as caught:
        call()
    assert "environment creator" not in str(caught.value), "gymnasium's suffix is dropped"


def test_factories_taking_kwargs_are_not_second_guessed():
    from agentgym.envs.games.guess_the_number import GuessTheNumber
    from agentgym.registry import constructor_arguments

    assert constructor_arguments(lambda **kw: GuessTheNumber(**kw)) is None
    assert list(constructor_arguments("agentgym.envs.games.wordle:Wordle")) == [
        "difficulty", "dense_reward", "invalid_penalty", "max_action_chars", "render_mode"]
    agentgym.register("testing/Factory-v0", lambda **kw: GuessTheNumber(**kw), family="custom")
    with pytest.raises(TypeError, match="dense_rewards"):  # the constructor itself still refuses it
        agentgym.make("testing/Factory-v0", dense_rewards=True)


def test_import_user_module_registers_and_reports_failures(tmp_path, monkeypatch):
    from agentgym.core import ConfigError
    from agentgym.registry import import_user_module

    source = CUSTOM_ENV + "\nimport agentgym\nagentgym.register('mine/ImportedCounter-v0', Counter)\n"
    (tmp_path / "imported_counter_mod.py").write_text(source)
    monkeypatch.chdir(tmp_path)
    import_user_module("imported_counter_mod")
    assert agentgym.env_info("mine/ImportedCounter-v0").family == "mine"
    (tmp_path / "as_file.py").write_text(source.replace("ImportedCounter", "FileCounter"))
    import_user_module(str(tmp_path / "as_file.py"))
    assert agentgym.env_info("mine/FileCounter-v0")
    (tmp_path / "needs_missing.py").write_text("import surely_not_installed_xyz\n")
    with pytest.raises(ConfigError, match="not installed: 'surely_not_installed_xyz'"):
        import_user_module("needs_missing")
    with pytest.raises(ConfigError, match="no module named 'no_such_mod_xyz'"):
        import_user_module("no_such_mod_xyz")
    with pytest.raises(ConfigError, match="no such file"):
        import_user_module("missing.py")
    (tmp_path / "hijack.py").write_text("import agentgym\nagentgym.register('games/Wordle-v0', 'x:y')\n")
    with pytest.raises(ConfigError, match="--import hijack: register: 'games/Wordle-v0' is already registered"):
        import_user_module("hijack")


def test_same_definition_compares_values_that_hold_themselves_and_falls_back_to_equality():
    from agentgym.same_definition import same_definition

    a, b, c = [1], [1], [2]
    a.append(a), b.append(b), c.append(c)  # lists that hold themselves: no endless recursion
    assert same_definition(a, b) and not same_definition(a, c)
    assert same_definition({"lr": 1}, {"lr": 1.0})  # values of other types: plain ==
    assert not same_definition((1, 2), [1, 2]) and not same_definition(object(), object())
