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
