"""gui/ActionPrediction-v0: the oracle predicts every step of every demonstration; the rewards
score action type, argument and format as UI-R1 / GUI-R1 do; the history is the
demonstration's, whatever was predicted."""

from __future__ import annotations

import json

import pytest

from agentgym.envs.gui.action_prediction import ActionPredictionEnv


def test_the_oracle_predicts_every_step_of_whole_demonstrations(make_gui):
    for difficulty, seed in (("easy", 0), ("hard", 2), ("hard", 3)):
        env = make_gui(ActionPredictionEnv, difficulty, steps="all")
        env.reset(seed=seed)
        kinds = set()
        for steps in range(1, 80):
            action = env.oracle_action()
            _, reward, terminated, _, info = env.step(action)
            assert info["error"] is None and info["gui"]["correct"], info["gui"]
            assert reward == 3.0 and info["reward_components"] == {"action_type": 1.0, "argument": 1.0, "format": 1.0}
            kinds.add(info["gui"]["target"]["type"])
            if terminated:
                break
        assert info["success"] and info["gui"]["target"]["type"] == "finish"
        assert "click" in kinds and steps == len(env._history) + 1


def test_one_step_episodes_draw_a_step_and_replay_the_history(make_gui):
    env = make_gui(ActionPredictionEnv, "hard", kinds="contact")
    steps_seen = set()
    for seed in range(5):
        observation, _ = env.reset(seed=seed)
        step = env.step_index
        steps_seen.add(step)
        assert observation["text"].count("\n  ") == min(step, env.history_length)
        if seed < 2:
            again, _ = env.reset(seed=seed)
            assert env.step_index == step and again["text"] == observation["text"]
            assert (again["image"] == observation["image"]).all()
        _, reward, terminated, _, info = env.step(env.oracle_action())
        assert terminated and info["success"] and reward == 3.0
        assert info["gui"]["target"]["step"] == step
    assert len(steps_seen) >= 3


def test_rewards_for_wrong_type_wrong_place_wrong_text_and_format(make_gui):
    env = make_gui(ActionPredictionEnv, "medium", kinds="contact", steps="all", answer_format="think_answer")
    env.reset(seed=5)
    target = env.current_target()
    assert target["type"] == "click"  # open the app
    # right type, outside the box; bare JSON is the wrong format here
    left, top, right, bottom = target["box"]
    x = right + 5 if right + 5 < env.frame.extent[0] else left - 5
    _, reward, _, _, info = env.step(json.dumps({"action": "click", "x": x, "y": (top + bottom) / 2}))
    assert info["gui"]["terms"] == {"action_type": 1.0, "argument": 0.0, "format": 0.0} and reward == 1.0
    # the demonstration went on all the same
    assert len(env._history) == 1
    # wrong type, right format
    _, reward, _, _, info = env.step('<think>go back</think><answer>{"action": "back"}</answer>')
    assert info["gui"]["terms"] == {"action_type": 0.0, "argument": 0.0, "format": 1.0} and not info["gui"]["correct"]
    while env.current_target()["type"] != "type":
        env.step(env.oracle_action())
    wanted = env.current_target()["text"]
    _, _, _, _, info = env.step('<think>.</think><answer>{"action": "type", "text": "somebody else"}</answer>')
    assert info["gui"]["terms"]["argument"] == 0.0 and info["gui"]["predicted"]["text"] == "somebody else"
    assert info["gui"]["target"]["text"] != "somebody else"
    env.step(env.oracle_action())
    while env.current_target()["type"] != "type":
        env.step(env.oracle_action())
    _, reward, _, _, info = env.step(env.oracle_action())  # in the think_answer format itself
    assert info["gui"]["terms"] == {"action_type": 1.0, "argument": 1.0, "format": 1.0}
    assert wanted


def test_weights_and_step_instructions(make_gui):
    env = make_gui(ActionPredictionEnv, "easy", reward_weights={"format": 0.0, "argument": 2.0}, step_instructions=True)
    observation, _ = env.reset(seed=0)
    assert "This step:" in observation["text"]
    _, reward, _, _, info = env.step(env.oracle_action())
    assert info["reward_components"] == {"action_type": 1.0, "argument": 2.0} and reward == 3.0


def test_bad_predictions_are_error_observations_scored_by_nobody(make_gui):
    env = make_gui(ActionPredictionEnv, "easy")
    env.reset(seed=0)
    _, reward, terminated, _, info = env.step("tap the settings icon")
    assert not terminated and reward == 0.0 and info["error_kind"] == "invalid"
    assert info["gui"]["predicted"] is None and info["gui"]["target"] is not None
    _, _, terminated, _, info = env.step(env.oracle_action())
    assert terminated and info["success"]


@pytest.mark.parametrize("kwargs", [{"steps": "some"}, {"reward_weights": {"speed": 1.0}},
                                    {"reward_weights": {"format": -1}}, {"step_instructions": "yes"},
                                    {"kinds": ["flying"]}])
def test_bad_arguments(kwargs):
    from agentgym.core import ConfigError

    with pytest.raises(ConfigError):
        ActionPredictionEnv(**kwargs)


def test_the_reward_providers_score_the_recorded_turns_as_the_environment_did(make_gui):
    from agentgym.rewards.gui import GuiActionReward
    from agentgym.trajectory import Trajectory, Turn

    env = make_gui(ActionPredictionEnv, "medium", steps="all")
    env.reset(seed=8)
    turns = []
    for index, write in enumerate([env.oracle_action, lambda: '{"action": "back"}', lambda: "home()", env.oracle_action]):
        action = write()
        _, reward, terminated, _, info = env.step(action)
        turns.append(Turn(index=index, observation="", action=action, reward=reward, info=info))
        if terminated:
            break
    scores = GuiActionReward(format_pattern="json_action").score([Trajectory(turns=turns)])[0]
    # GUI-R1's text term is scored by the provider on type steps only; these turns are clicks and
    # back/home, where the environment's three terms and the provider's agree
    assert scores == [turn.reward for turn in turns]
