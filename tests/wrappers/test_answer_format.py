"""AnswerFormat extracts the move, and rejects a missing one without touching the game."""

from __future__ import annotations

import json
import re

import pytest
from gymnasium.error import ResetNeeded
from hypothesis import given, settings
from hypothesis import strategies as st

import agentgym
from agentgym.info import ErrorKind
from agentgym import Feedback, LLMEnv
from agentgym.wrappers import AnswerFormat, WrapperSpec


class Echo(LLMEnv):
    """Records every action it receives; never ends."""

    instructions = "Say something."

    def new_episode(self, options):
        self.received = []
        return "Go."

    def play(self, action):
        self.received.append(action)
        return Feedback(f"got {action}", {"outcome": 0.5})


def moves(env: AnswerFormat, *actions) -> list[str]:
    env.reset(seed=0)
    for action in actions:
        env.step(action)
    return env.unwrapped.received


@pytest.mark.parametrize(
    ("action", "move"),
    [
        ("<answer>7</answer>", "7"),
        ("I think... <answer>  12 </answer> done", "12"),
        ("<answer>1</answer> no wait <answer>2</answer>", "2"),
        ("<answer>1</answer> then <answer>2", "1"),
        ("<answer><answer>3</answer>", "3"),
        ("<answer>line one\nline two</answer>", "line one\nline two"),
    ],
)
def test_tags_last_complete_pair_wins(action, move):
    assert moves(AnswerFormat(Echo()), action) == [move]


def test_custom_tag_name():
    env = AnswerFormat(Echo(), tag="move")
    assert moves(env, "<answer>1</answer><move>up</move>") == ["up"]
    assert env.format_error == "Format error: put your move inside <move>...</move>."


@pytest.mark.parametrize(
    ("action", "move"),
    [
        (r"so \boxed{42}", "42"),
        (r"\boxed{\frac{1}{2}}", r"\frac{1}{2}"),
        (r"\boxed{1} and finally \boxed{ 2 }", "2"),
        (r"\boxed{3} and \boxed{4", "3"),
        (r"\boxed{\boxed{5}}", "5"),
        (r"\boxed{\{a, b\}}", r"\{a, b\}"),
        (r"{ \boxed{x^{2}} }", "x^{2}"),
    ],
)
def test_boxed_with_nested_braces_last_one_wins(action, move):
    assert moves(AnswerFormat(Echo(), "boxed"), action) == [move]


def test_regex_format_uses_group_one_of_the_last_match():
    env = AnswerFormat(Echo(), re.compile(r"Move: (\w+)"), instruction="End with 'Move: <move>'.")
    assert moves(env, "Move: left ... Move: right") == ["right"]
    _, info = env.reset(seed=0)
    assert info["instructions"].endswith("End with 'Move: <move>'.")
    observation, *_ = env.step("no move here")
    assert observation == "Format error: End with 'Move: <move>'."


def test_a_regex_given_as_text_is_json_data_for_a_wrapper_spec():
    spec = WrapperSpec("AnswerFormat", {"format": "regex", "pattern": r"Move: (\w+)",
                                                 "instruction": "End with 'Move: <move>'."})
    assert json.loads(json.dumps(spec.to_data())) == spec.to_data()
    assert moves(spec(Echo()), "Move: left ... Move: right") == ["right"]
    assert moves(spec(Echo()), "no move") == []
    with pytest.raises(ValueError, match="pattern"):
        AnswerFormat(Echo(), "regex", instruction="x")
    with pytest.raises(ValueError, match="not a regular expression"):
        AnswerFormat(Echo(), "regex", pattern="Move: (", instruction="x")
    with pytest.raises(ValueError, match="format='regex'"):
        AnswerFormat(Echo(), "tags", pattern=r"(\w+)")
    with pytest.raises(ValueError, match="capturing group"):
        AnswerFormat(Echo(), "regex", pattern=r"Move: \w+", instruction="x")


def test_bad_configurations_are_refused():
    with pytest.raises(ValueError, match="instruction"):
        AnswerFormat(Echo(), re.compile(r"Move: (\w+)"))
    with pytest.raises(ValueError, match="capturing group"):
        AnswerFormat(Echo(), re.compile(r"Move: \w+"), instruction="x")
    with pytest.raises(ValueError, match="format"):
        AnswerFormat(Echo(), "json")
    with pytest.raises(ValueError, match="tag"):
        AnswerFormat(Echo(), tag="a b")
    with pytest.raises(ValueError, match="penalty"):
        AnswerFormat(Echo(), penalty=-1)


def test_reset_describes_the_format_with_an_example():
    env = AnswerFormat(agentgym.make("games/GuessTheNumber-v0"), example="50")
    _, info = env.reset(seed=0)
    assert info["instructions"].startswith("I am thinking of a whole number")
    assert "<answer>50</answer>" in info["instructions"]
    _, info = AnswerFormat(agentgym.make("games/GuessTheNumber-v0"), "boxed").reset(seed=0)
    assert "\\boxed{your move}" in info["instructions"]


@pytest.mark.parametrize("action", ["42", "<answer></answer>", "<answer>   </answer>", "</answer>4<answer>",
                                    "\\boxed{}", None, {"content": "<answer>4</answer>"}])
def test_missing_format_does_not_step_the_game_and_is_penalised(action):
    env = AnswerFormat(agentgym.make("games/GuessTheNumber-v0", difficulty="easy"))
    env.reset(seed=3)
    game = env.unwrapped
    before = (game.guesses, game.low_bound, game.high_bound, game.secret)
    observation, reward, terminated, truncated, info = env.step(action)
    assert observation == "Format error: put your move inside <answer>...</answer>."
    assert reward == pytest.approx(-0.1) and info["reward_components"] == {"format": -0.1}
    assert not terminated and not truncated
    assert info["format_ok"] is False and info["success"] is False and info["error"] == observation
    assert info["error_kind"] is ErrorKind.FORMAT
    assert (game.guesses, game.low_bound, game.high_bound, game.secret) == before
    assert "turns_left" not in info  # the inner TurnLimit never saw the step


def test_penalty_zero_gives_zero_reward_and_no_component():
    env = AnswerFormat(Echo(), penalty=0)
    env.reset(seed=0)
    _, reward, _, _, info = env.step("nothing")
    assert reward == 0.0 and info["reward_components"] == {} and info["format_ok"] is False


def test_well_formed_moves_reach_the_game_and_are_flagged():
    env = AnswerFormat(agentgym.make("games/GuessTheNumber-v0", difficulty="easy"))
    env.reset(seed=3)
    secret = env.unwrapped.secret
    observation, reward, terminated, _, info = env.step(f"Binary search says <answer>{secret}</answer>")
    assert terminated and reward == 1.0 and info["success"] and info["format_ok"] is True
    assert "correct" in observation
    with pytest.raises(ResetNeeded):
        env.step("no answer")


def test_huge_hostile_inputs_are_handled():
    env = AnswerFormat(Echo(), "boxed")
    env.reset(seed=0)
    observation, *_ = env.step("\\boxed{" * 20_000)
    assert observation.startswith("Format error")
    env = AnswerFormat(Echo())
    env.reset(seed=0)
    observation, *_ = env.step("<answer>" * 20_000 + "</answer>")
    assert observation.startswith("Format error") and env.unwrapped.received == []
    observation, *_ = env.step("<answer>" * 20_000 + "9</answer>")
    assert observation == "got 9"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="<>/answer{}\\boxed 12x\n", max_size=120), st.sampled_from(["tags", "boxed"]))
def test_never_raises_and_never_passes_an_empty_move(action, format):
    env = AnswerFormat(Echo(), format)
    env.reset(seed=0)
    observation, reward, terminated, truncated, info = env.step(action)
    assert {"error", "success", "reward_components", "format_ok"} <= info.keys()
    received = env.unwrapped.received
    if info["format_ok"]:
        assert len(received) == 1 and received[0] == received[0].strip() and received[0]
        assert received[0] in action
    else:
        assert received == [] and info["error"]
