"""gui/Grounding-v0: the oracle always hits in every frame and on both devices, the reward is
the click-in-box of the agent's own frame, the click really lands on the target in the page,
and every sample records what the reward providers read."""

from __future__ import annotations

import json

import numpy as np
import pytest

import agentgym
from agentgym.envs.gui.grounding import GroundingEnv
from agentgym.rewards.gui import GuiClickReward, click_in_box_reward, gaussian_point_reward
from agentgym.trajectory import Trajectory, Turn

FRAMES = [{"frame": "pixels"}, {"frame": "normalized_1000"}, {"frame": "resized", "max_side": 1000, "multiple_of": 28}]


@pytest.mark.parametrize("frame", FRAMES, ids=lambda f: f["frame"])
@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_the_oracle_always_hits_the_target(make_gui, frame, device):
    env = make_gui(GroundingEnv, "hard", device=device, **frame)
    for seed in range(3):
        observation, info = env.reset(seed=seed)
        assert info["gui"]["frame"] == env.frame.describe() and info["gui"]["task"] == "grounding"
        assert observation["image"].shape == (env.frame.image[1], env.frame.image[0], 3)
        assert observation in env.observation_space
        observation, reward, terminated, truncated, info = env.step(env.oracle_action())
        record = info["gui"]
        assert terminated and info["success"] and reward == 1.0 and info["reward_components"] == {"grounding": 1.0}
        assert record["hit"] == record["target"]["element"] and record["hit_target"]
        assert click_in_box_reward(record["predicted"]["x"], record["predicted"]["y"], record["target"]["box"]) == 1.0


@pytest.mark.parametrize("frame", FRAMES, ids=lambda f: f["frame"])
def test_points_near_the_box_edges_land_on_the_target_in_the_page(make_gui, frame):
    """No drift: points 10% inside each edge of the target's box (at the middle of the edge:
    round buttons do not take clicks in their box's corners) and a quarter in along the
    diagonals, written in the agent's frame, reach the target element in the browser; a point
    just outside the box is a miss."""
    env = make_gui(GroundingEnv, "medium", device="phone", **frame)
    for seed in range(3):
        for fx, fy in ((0.1, 0.5), (0.9, 0.5), (0.5, 0.1), (0.5, 0.9), (0.25, 0.25), (0.75, 0.75)):
            env.reset(seed=seed)
            left, top, right, bottom = env.current_target()["box"]
            x, y = left + fx * (right - left), top + fy * (bottom - top)
            _, reward, _, _, info = env.step(json.dumps({"action": "click", "x": x, "y": y}))
            assert reward == 1.0 and info["gui"]["hit_target"], (seed, fx, fy, info["gui"])
        env.reset(seed=seed)
        left, top, right, bottom = env.current_target()["box"]
        dx, dy = 0.03 * env.frame.extent[0], 0.03 * env.frame.extent[1]
        cx, cy = (left + right) / 2, (top + bottom) / 2
        misses = [(right + dx, cy), (left - dx, cy), (cx, bottom + dy), (cx, top - dy)]
        x, y = next(point for point in misses if env.frame.contains(*point))
        _, reward, terminated, _, info = env.step(json.dumps({"action": "click", "x": x, "y": y}))
        assert terminated and reward == 0.0 and not info["success"] and not info["gui"]["hit_target"]


def test_gaussian_and_tiered_rewards(make_gui):
    env = make_gui(GroundingEnv, "easy", reward="gaussian")
    env.reset(seed=1)
    left, top, right, bottom = env.current_target()["box"]
    x, y = left + 0.75 * (right - left), (top + bottom) / 2
    _, reward, _, _, info = env.step(json.dumps({"action": "click", "x": x, "y": y}))
    assert reward == pytest.approx(gaussian_point_reward(x, y, [left, top, right, bottom]))
    assert 0.0 < reward < 1.0 and info["success"]
    env = make_gui(GroundingEnv, "easy", reward="tiered")
    env.reset(seed=1)
    left, top, right, bottom = env.current_target()["box"]
    _, reward, _, _, info = env.step(json.dumps({"action": "click", "x": left - 0.25 * (right - left) - 1e-6,
                                                 "y": (top + bottom) / 2}))
    assert reward == 0.5 and not info["success"]


def test_the_reward_provider_reads_what_the_environment_records(make_gui):
    env = make_gui(GroundingEnv, "medium", frame="normalized_1000")
    turns = []
    for seed, act in ((0, "oracle"), (1, "miss")):
        env.reset(seed=seed)
        action = env.oracle_action() if act == "oracle" else json.dumps({"action": "click", "x": 0, "y": 0})
        _, reward, _, _, info = env.step(action)
        turns.append((Turn(index=0, observation="", action=action, reward=reward, info=info), reward))
    scores = GuiClickReward().score([Trajectory(turns=[turn]) for turn, _ in turns])
    assert [values[0] for values in scores] == [reward for _, reward in turns] == [1.0, 0.0]


def test_text_view_clicks_by_element_id(make_gui):
    env = make_gui(GroundingEnv, "medium", view="text")
    observation, _ = env.reset(seed=2)
    assert isinstance(observation, str) and env.goal_text() in observation
    target = env.current_target()
    assert f"[{target['element']}] " in observation
    _, reward, terminated, _, info = env.step(json.dumps({"action": "click", "element": target["element"]}))
    assert terminated and reward == 1.0 and info["gui"]["hit_target"]
    assert info["gui"]["predicted"]["element"] == target["element"] and "x" in info["gui"]["predicted"]


def test_only_a_click_answers_and_errors_keep_the_episode(make_gui):
    env = make_gui(GroundingEnv, "easy")
    observation, _ = env.reset(seed=0)
    _, reward, terminated, _, info = env.step('{"action": "scroll", "direction": "down"}')
    assert not terminated and reward == 0.0 and "one click" in info["error"] and info["error_kind"] == "invalid"
    assert info["gui"]["target"] is not None and info["gui"]["predicted"]["type"] == "scroll"
    _, _, terminated, _, info = env.step(env.oracle_action())
    assert terminated and info["success"]


def test_random_baseline_is_far_below_the_oracle(make_gui):
    import random

    env = make_gui(GroundingEnv, "medium", device="desktop")
    rng, wins = random.Random(0), 0
    for seed in range(10):
        env.reset(seed=seed)
        _, reward, terminated, _, _ = env.step(env.random_action(rng))
        assert terminated
        wins += reward
    assert wins <= 3


def test_registered_and_made(gui_pool):
    env = agentgym.make("gui/Grounding-v0", pool=gui_pool, difficulty="easy", device="phone")
    try:
        observation, info = env.reset(seed=0)
        assert observation["image"].shape == (915, 412, 3) and observation["image"].dtype == np.uint8
        assert "click" in info["instructions"] and info["gui"]["device"] == "phone"
        _, _, terminated, truncated, info = env.step("not an action")
        assert truncated and not terminated  # one shot: max_turns=1
    finally:
        env.close()


class _NoFrameFirst:
    """A DevTools session whose first ``fail`` screenshots get Chromium's "no frame yet" answer
    (or ``error``), then the real one."""

    NO_FRAME = "Protocol error (Page.captureScreenshot): Unable to capture screenshot"

    def __init__(self, cdp, fail: int, error: str = NO_FRAME):
        self.cdp, self.fail, self.error, self.calls = cdp, fail, error, 0

    def send(self, method, params=None):
        self.calls += 1
        if self.calls <= self.fail:
            raise RuntimeError(self.error)
        return self.cdp.send(method, params)


def test_a_screenshot_with_no_frame_yet_is_asked_again_and_other_errors_are_not(make_gui):
    from agentgym.envs.gui.page import png_to_array

    env = make_gui(GroundingEnv, "easy", device="phone")
    observation, _ = env.reset(seed=0)
    shooter = env._shooter
    real = shooter._cdp
    shooter._cdp = flaky = _NoFrameFirst(real, fail=shooter.retries)
    again = env.run_in_page(lambda page: shooter.png())
    assert flaky.calls == shooter.retries + 1
    assert np.array_equal(png_to_array(again), observation["image"])
    shooter._cdp = flaky = _NoFrameFirst(real, fail=shooter.retries + 1)
    with pytest.raises(RuntimeError, match="Unable to capture screenshot"):
        env.run_in_page(lambda page: shooter.png())
    assert flaky.calls == shooter.retries + 1
    shooter._cdp = flaky = _NoFrameFirst(real, fail=1, error="Target closed")
    with pytest.raises(RuntimeError, match="Target closed"):
        env.run_in_page(lambda page: shooter.png())
    assert flaky.calls == 1
    shooter._cdp = real
    assert env.step(env.oracle_action())[1] == 1.0
