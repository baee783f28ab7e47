"""LLMEnv.hint and the Hinted wrapper: hints at three levels, appended and recorded exactly."""

import pytest

import agentgym
from agentgym.core import Feedback, LLMEnv
from agentgym.envs.games import GAME_IDS
from agentgym.wrappers import Hinted, WrapperSpec
from agentgym.wrappers.hinted import HINT_PREFIX, strip_hint


class NoOracle(LLMEnv):
    instructions = "Say a colour. Any colour wins."

    def new_episode(self, options):
        return "Which colour?"

    def play(self, action):
        return Feedback("ok", rewards={"outcome": 1.0}, terminated=True, success=True)


class BrokenHint(NoOracle):
    def hint(self, level=3):
        raise RuntimeError("no hint today")


@pytest.mark.parametrize("env_id", GAME_IDS)
def test_every_game_hints_the_rules_a_strategy_and_its_oracles_next_move(env_id):
    env = agentgym.make(env_id)
    env.reset(seed=3)
    rules, strategy, move = (env.unwrapped.hint(level) for level in (1, 2, 3))
    assert rules and strategy and move and len({rules, strategy, move}) == 3
    assert move == f"A good next move: {env.unwrapped.oracle_action()}"
    env.close()


def test_hints_fall_back_to_what_the_environment_has():
    env = NoOracle()
    env.reset(seed=0)
    assert env.hint(3) == env.hint(2) == env.hint(1) == "Say a colour."
    with pytest.raises(ValueError, match="level must be one of"):
        env.hint(4)


def test_hints_are_appended_on_reset_and_every_step_but_the_last_and_strip_exactly():
    plain = agentgym.make("games/GuessTheNumber-v0")
    hinted = agentgym.make("games/GuessTheNumber-v0", wrappers=[WrapperSpec("Hinted", {"level": 3})])
    observation, info = hinted.reset(seed=5)
    expected, _ = plain.reset(seed=5)
    record = info["hint"]
    assert record["level"] == 3 and record["suffix"] == HINT_PREFIX + record["hint"]
    assert observation == expected + record["suffix"] and strip_hint(observation, record["suffix"]) == expected
    done, turns = False, 0
    while not done:  # the level-3 hint is the oracle's move: following it wins
        move = info["hint"]["hint"].removeprefix("A good next move: ")
        observation, reward, terminated, truncated, info = hinted.step(move)
        expected, *_ = plain.step(move)
        done, turns = terminated or truncated, turns + 1
        if done:
            assert "hint" not in info and observation == expected
        else:
            assert strip_hint(observation, info["hint"]["suffix"]) == expected
    assert info["success"] and turns <= 5
    hinted.close()
    plain.close()


def test_an_environment_without_a_hint_or_with_a_broken_one_steps_as_usual():
    env = Hinted(BrokenHint(), level=1)
    observation, info = env.reset(seed=0)
    assert observation == "Which colour?" and info["hint"]["suffix"] is None
    assert "RuntimeError: no hint today" in info["hint"]["error"]
    assert env.step("red")[1] == 1.0


def test_a_bad_level_is_refused():
    with pytest.raises(ValueError, match="level must be one of"):
        Hinted(NoOracle(), level=0)


def test_strip_hint_leaves_text_without_the_suffix_alone():
    assert strip_hint("abc", HINT_PREFIX + "x") == "abc"
    assert strip_hint("abc", None) == "abc"


def test_a_hint_that_would_overflow_the_observation_space_is_left_out():
    from agentgym.spaces import UnicodeText

    class Tight(NoOracle):
        observation_space = UnicodeText(20)

        def hint(self, level=3):
            return "a hint far longer than twenty characters"

    observation, info = Hinted(Tight(), level=1).reset(seed=0)
    assert observation == "Which colour?" and info["hint"]["suffix"] is None
    assert "would not fit" in info["hint"]["error"]
