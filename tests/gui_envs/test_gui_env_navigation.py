"""gui/Navigation-v0: the oracle succeeds on every kind of task; success is judged on the apps'
state, not on the actions: a detour that ends in the right state succeeds, actions that look
right but leave the state unchanged fail."""

from __future__ import annotations

import json

import pytest

import agentgym
from agentgym.envs.gui.navigation import NavigationEnv


def click(env, key):
    element = env.element_by_key(key)
    assert element is not None, f"{key} is not on the screen {env.screen.get('screen')}"
    return env.point_json("click", element["box"])


def step(env, action):
    observation, reward, terminated, truncated, info = env.step(action)
    assert info["error"] is None, info["error"]
    return observation, reward, terminated, info


def play_oracle(env, seed, limit=60):
    env.reset(seed=seed)
    for _ in range(limit):
        observation, reward, terminated, truncated, info = env.step(env.oracle_action())
        assert info["error"] is None, info["error"]
        if terminated:
            return reward, info
    raise AssertionError("the oracle did not finish")


@pytest.mark.parametrize("kind", ["toggle", "choice", "contact", "list"])
def test_the_oracle_succeeds_on_every_kind_of_task(make_gui, kind):
    for difficulty, seeds in (("easy", (0,)), ("hard", (1, 2))):
        env = make_gui(NavigationEnv, difficulty, kinds=kind)
        for seed in seeds:
            reward, info = play_oracle(env, seed)
            assert reward == 1.0 and info["success"] and info["gui"]["task_done"], (kind, difficulty, seed)


def test_oracle_in_other_frames_views_and_on_the_desktop(make_gui):
    for kwargs in ({"frame": "normalized_1000", "device": "desktop"}, {"frame": "resized", "max_side": 700},
                   {"view": "text"}):
        env = make_gui(NavigationEnv, "medium", kinds=["contact", "list"], **kwargs)
        reward, info = play_oracle(env, 5)
        assert reward == 1.0 and info["gui"]["frame"] == env.frame.describe()


def _settings_page(env, key):
    """Open Settings and the category page holding setting ``key`` (without the advanced level)."""
    step(env, click(env, "app:Settings"))
    for index in range(20):
        step(env, click(env, f"link:category:{index}"))
        if env.element_by_key(key) is not None:
            return
        step(env, '{"action": "back"}')
    raise AssertionError(f"{key} not found")


def test_a_detour_that_ends_in_the_right_state_succeeds(make_gui):
    env = make_gui(NavigationEnv, "medium", kinds="toggle")
    env.reset(seed=7)
    key = "setting:" + env.task.params["key"]
    step(env, '{"action": "open_app", "app": "Contacts"}')  # the wrong app first
    step(env, '{"action": "home"}')
    _settings_page(env, key)
    for _ in range(3):  # on, off, on: three flips leave it flipped
        step(env, click(env, key))
    step(env, '{"action": "back"}')
    _, reward, terminated, info = step(env, '{"action": "finish"}')
    assert terminated and reward == 1.0 and info["success"]


def test_flipping_the_right_switch_twice_fails(make_gui):
    env = make_gui(NavigationEnv, "medium", kinds="toggle")
    env.reset(seed=7)
    key = "setting:" + env.task.params["key"]
    _settings_page(env, key)
    step(env, click(env, key))
    assert env.task_done()
    step(env, click(env, key))
    _, reward, terminated, info = step(env, '{"action": "finish"}')
    assert terminated and reward == 0.0 and not info["success"] and not info["gui"]["task_done"]


def _fill_contact(env):
    fields = env.task.params["fields"]
    step(env, click(env, "app:Contacts"))
    step(env, click(env, "fab:create_contact"))
    for name, value in fields.items():
        step(env, click(env, f"field:{name}"))
        step(env, json.dumps({"action": "type", "text": value}))
    return fields


def test_a_filled_in_form_that_is_cancelled_fails(make_gui):
    env = make_gui(NavigationEnv, "hard", kinds="contact")
    env.reset(seed=3)
    _fill_contact(env)
    step(env, click(env, "button:cancel_contact"))
    _, reward, terminated, info = step(env, '{"action": "finish"}')
    assert terminated and reward == 0.0 and not info["success"]
    assert len(info["gui"]["state"]["contacts"]) == len(env.task.params["existing"])


def test_mistyped_and_corrected_fields_succeed(make_gui):
    env = make_gui(NavigationEnv, "medium", kinds="contact")
    env.reset(seed=4)
    fields = env.task.params["fields"]
    step(env, click(env, "app:Contacts"))
    step(env, click(env, "fab:create_contact"))
    step(env, click(env, "field:first"))
    step(env, json.dumps({"action": "type", "text": "Wrong name"}))
    step(env, '{"action": "key", "key": "Control+a"}')
    step(env, '{"action": "key", "key": "Backspace"}')
    for name, value in fields.items():
        step(env, click(env, f"field:{name}"))
        step(env, json.dumps({"action": "type", "text": value}))
    step(env, click(env, "button:save_contact"))
    _, reward, terminated, info = step(env, '{"action": "finish"}')
    assert terminated and reward == 1.0, info["gui"]["state"]


def test_the_cart_is_not_the_list_and_the_search_route_works(make_gui):
    env = make_gui(NavigationEnv, "medium", kinds="list")
    env.reset(seed=2)
    product, item = env.task.params["product"], env.task.params["item"]
    step(env, click(env, "app:Shop"))
    step(env, click(env, "field:search"))
    step(env, json.dumps({"action": "type", "text": product}))
    step(env, click(env, f"item:{item}"))
    step(env, click(env, "item:add_to_cart"))
    assert not env.task_done() and item in env.screen["state"]["cart"]
    step(env, click(env, "item:add_to_list"))
    step(env, click(env, f"list:{env.task.params['list']}"))
    _, reward, terminated, info = step(env, '{"action": "finish"}')
    assert terminated and reward == 1.0 and info["success"]


def test_finishing_early_or_as_infeasible_fails(make_gui):
    env = make_gui(NavigationEnv, "easy", kinds="choice")
    env.reset(seed=1)
    _, reward, terminated, info = step(env, '{"action": "finish"}')
    assert terminated and reward == 0.0 and not info["success"]
    env.reset(seed=1)
    while True:
        action = env.oracle_action()
        if json.loads(action)["action"] == "finish":
            break
        step(env, action)
    assert env.task_done()
    _, reward, terminated, info = step(env, '{"action": "finish", "status": "infeasible"}')
    assert terminated and reward == 0.0 and not info["success"]


def test_back_home_scroll_swipe_and_long_press_do_what_they_say(make_gui):
    env = make_gui(NavigationEnv, "hard", kinds="list")
    env.reset(seed=11)
    assert env.screen["screen"] == "home"
    step(env, click(env, "app:Shop"))
    assert env.screen["screen"] == "shop"
    link = next(e for e in env.elements if (e["key"] or "").startswith("link:shop:") and e["key"] != "link:shop:lists")
    step(env, click(env, link["key"]))
    products = lambda: [e["id"] for e in env.elements if (e["key"] or "").startswith("item:")]  # noqa: E731
    first = products()
    step(env, '{"action": "scroll", "direction": "down"}')
    assert products() != first  # other products came into view
    step(env, '{"action": "swipe", "x1": 200, "y1": 300, "x2": 200, "y2": 800}')  # the finger pulls the list down
    assert products() == first
    screen = env.screen["screen"]
    row = env.element(first[0])
    step(env, env.point_json("long_press", row["box"]))  # a long press is not a tap: the row does not open
    assert env.screen["screen"] == screen
    step(env, env.point_json("click", row["box"]))
    assert env.screen["screen"] == "item"
    step(env, '{"action": "back"}')
    step(env, '{"action": "back"}')
    assert env.screen["screen"] == "shop"
    step(env, '{"action": "home"}')
    assert env.screen["screen"] == "home" and env.screen["depth"] == 1


def test_registered_text_variant(gui_pool):
    env = agentgym.make("gui/NavigationText-v0", pool=gui_pool, difficulty="easy")
    try:
        observation, info = env.reset(seed=0)
        assert isinstance(observation, str) and "Elements:" in observation and "[" in observation
        assert info["gui"]["view"] == "text"
        observation, *_ = env.step('{"action": "open_app", "app": "Settings"}')
        assert 'Screen: "Settings"' in observation
    finally:
        env.close()
