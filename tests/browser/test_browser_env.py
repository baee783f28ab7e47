"""BrowserEnv keeps agentgym's environment contract on a real page in a real Chromium."""

from __future__ import annotations

import random

import numpy as np
import pytest

from agentgym.browser import BrowserEnv, PageStatus
from agentgym.browser.action_parser import ACTION_GROUPS, DEFAULT_ACTIONS, action_help, parse_actions, signature
from agentgym.core import ConfigError
from agentgym.testing import check_llm_env

COLOURS = ("red", "green", "blue", "yellow", "purple", "orange")

# Buttons in the order the query string gives; a click records the colour; a text field too.
PAGE = """<!doctype html><title>Colours</title>
<script>
  window.clicked = null;
  const order = new URLSearchParams(location.search).get("order").split(",");
  document.addEventListener("DOMContentLoaded", () => {
    for (const colour of order) {
      const button = document.createElement("button");
      button.textContent = colour[0].toUpperCase() + colour.slice(1);
      button.onclick = () => { window.clicked = colour; };
      document.getElementById("buttons").appendChild(button);
    }
  });
</script>
<h1>Pick a colour</h1>
<div id="buttons"></div>
<label>Note <input id="note"></label>
<p style="height: 1500px">Scroll space</p>
"""


class PickColour(BrowserEnv):
    """Click the button of the colour the goal names (or answer ``send_msg_to_user(colour)``);
    the order of the buttons is drawn too."""

    instructions = "Click the button of the colour named in the goal. " + BrowserEnv.instructions
    site_url = ""

    def prepare_episode(self, options):
        self.colours = self.rng.sample(COLOURS, 4)
        self.target = self.rng.choice(self.colours)

    def start_url(self):
        return f"{self.site_url}/env/colours.html?order={','.join(self.colours)}"

    def goal_text(self):
        return f"Click the {self.target} button."

    def page_status(self, page):
        clicked = page.evaluate("window.clicked")
        return PageStatus(done=clicked is not None, success=clicked == self.target,
                          info={"clicked": clicked})

    def on_message(self, text):
        if text.strip().lower() in COLOURS:
            return PageStatus(done=True, success=text.strip().lower() == self.target)
        return None


@pytest.fixture
def make_env(pool, site):
    site.page("/env/colours.html", PAGE)
    made = []

    def make(**kwargs):
        env = PickColour(pool=pool, action_timeout=5.0, load_timeout=10.0, **kwargs)
        env.site_url = site.base
        made.append(env)
        return env

    yield make
    for env in made:
        env.close()


def _bid(observation: str, name: str) -> str:
    line = next(line for line in observation.splitlines() if f'button "{name}"' in line).strip()
    return line[1:line.index("]")]


def test_check_llm_env(make_env, pool):
    env = make_env()
    check_llm_env(env, hostile=60)
    env.close()
    assert env.session is None and pool.open_sessions == 0  # every episode's session was closed


def test_an_episode_observed_and_won(make_env):
    env = make_env()
    observation, info = env.reset(seed=7)
    assert info["instructions"].startswith("Click the button of the colour named in the goal. You operate a web")
    assert "click(bid, " in info["instructions"]
    assert observation.startswith(f"Goal: Click the {env.target} button.\nPage: Colours (http://127.0.0.1:")
    assert "Focused: nothing" in observation and 'heading "Pick a colour"' in observation
    wrong = next(c for c in env.colours if c != env.target).capitalize()
    # An action with an error: shown, flagged, and the episode goes on.
    observation, reward, terminated, _, info = env.step("click('9999')")
    assert not terminated and reward == 0.0 and info["error"].startswith("there is no element [9999]")
    assert "Last action: click('9999')\nError: there is no element [9999]" in observation
    # Unparsable text: an invalid action, the page untouched.
    observation, _, terminated, _, info = env.step("please click the right one")
    assert not terminated and "could not read an action" in info["error"]
    assert observation.startswith("Invalid action:")
    # The wrong button ends the episode without success; a new episode; the right one wins.
    _, reward, terminated, _, info = env.step(f"Reasoning first.\nclick('{_bid(env.render_text(), wrong)}')")
    assert terminated and not info["success"] and reward == 0.0 and info["clicked"] == wrong.lower()
    observation, _ = env.reset(seed=7)
    _, reward, terminated, _, info = env.step(f"click('{_bid(observation, env.target.capitalize())}')")
    assert terminated and info["success"] and reward == 1.0 and info["reward_components"] == {"outcome": 1.0}


def test_messages_answer_and_actions_per_turn(make_env):
    env = make_env(actions_per_turn=2)
    env.reset(seed=3)
    _, _, terminated, _, info = env.step("send_msg_to_user('just a note')")
    assert not terminated and info["error"] is None
    _, _, terminated, _, info = env.step("noop()\nnoop()\nnoop()")
    assert not terminated and "3 actions in one turn; the limit is 2" in info["error"]
    _, reward, terminated, _, info = env.step(f"fill('{env.interactive_ids[-1]}', 'x')\nsend_msg_to_user('{env.target}')")
    assert terminated and info["success"] and reward == 1.0


def test_seeds_draw_the_task_and_replay_it(make_env):
    env = make_env()
    first, _ = env.reset(seed=11)
    task = (env.colours, env.target)
    again, _ = env.reset(seed=11)
    assert again == first and (env.colours, env.target) == task
    tasks = set()
    for seed in range(4):
        env.reset(seed=seed)
        tasks.add((tuple(env.colours), env.target))
    assert len(tasks) == 4
    # (That the same seed and a seeded random agent replay a whole episode, check_llm_env checks.)


def test_random_actions_parse_and_play(make_env):
    env = make_env()
    env.reset(seed=2)
    rng = random.Random(0)
    actions = [env.random_action(rng) for _ in range(300)]
    names = set()
    for action in actions:
        (parsed,) = parse_actions(action)
        names.add(parsed.name)
        if parsed.args.get("bid") is not None:
            assert parsed.args["bid"] in env.interactive_ids
    assert {"click", "fill", "press", "scroll", "mouse_click", "noop"} <= names
    for action in actions[:8]:  # and the environment takes them
        _, _, terminated, _, info = env.step(action)
        assert info["error"] is None or "Traceback" not in info["error"]
        if terminated:
            env.reset()


def test_screenshot_mode(make_env):
    env = make_env(screenshot=True, viewport=(480, 320))
    observation, _ = env.reset(seed=1)
    assert set(observation) == {"text", "image"}
    image = observation["image"]
    assert isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.shape == (320, 480, 3)
    assert image.std() > 0  # a real picture, not a blank array
    assert observation in env.observation_space
    observation, *_ = env.step("not an action")  # an invalid action keeps the last image
    assert observation in env.observation_space and observation["text"].startswith("Invalid action:")
    observation, *_ = env.step("scroll(0, 400)")
    assert observation in env.observation_space and not np.array_equal(observation["image"], image)
    marked = make_env(set_of_marks=True, viewport=(480, 320))
    marked_observation, _ = marked.reset(seed=1)
    assert marked.screenshot and marked_observation["image"].shape == (320, 480, 3)
    assert not np.array_equal(marked_observation["image"], image)


def test_episodes_do_not_share_storage(make_env):
    env = make_env()
    env.reset(seed=1)
    env.run_in_page(lambda page: page.evaluate("() => { localStorage.setItem('seen', 'yes'); document.cookie = 'c=1'; }"))
    env.reset(seed=1)
    assert env.run_in_page(lambda page: page.evaluate("() => [localStorage.getItem('seen'), document.cookie]")) == [None, ""]


def test_bad_configuration_is_a_config_error(pool):
    for kwargs, phrase in [({"viewport": (10, 10)}, "viewport"), ({"action_timeout": 0}, "action_timeout"),
                           ({"actions_per_turn": 0}, "actions_per_turn"), ({"pool": "shared"}, "pool must be"),
                           ({"screenshot": 1}, "screenshot")]:
        with pytest.raises(ConfigError, match=phrase):
            PickColour(**kwargs)
    env = PickColour(pool=pool)
    env.site_url = "http://8.8.8.8"
    with pytest.raises(ConfigError, match="episodes start on loopback pages"):
        env.reset(seed=0)
    assert env.session is None and not env.episode_active
    env.close()


class MovingPage(BrowserEnv):
    """The button sends the page on to another (after 50 ms, to a page that answers in 200 ms);
    the status hook reads the title a second after it is asked, so a navigation always lands
    while it runs."""

    site_url = ""

    def start_url(self):
        return f"{self.site_url}/env/moving.html"

    def page_status(self, page):
        title = page.evaluate("() => new Promise((done) => setTimeout(() => done(document.title), 1000))")
        return PageStatus(done=title == "moved", success=title == "moved")


def test_a_status_read_while_the_page_navigates_is_read_again(pool, site):
    site.page("/env/moving.html", "<title>moving</title><button onclick=\"setTimeout(() => "
              "location.href = '/slow?ms=200&title=moved', 50)\">Move on</button>")
    env = MovingPage(pool=pool)
    env.site_url = site.base
    try:
        observation, _ = env.reset(seed=0)
        _, reward, terminated, _, info = env.step(f"click('{_bid(observation, 'Move on')}')")
        assert terminated and info["success"] and reward == 1.0
        assert "moved page" in env.render_text()
    finally:
        env.close()


def test_an_action_set_limits_the_instructions_the_parser_and_the_random_agent(make_env):
    env = make_env(action_set=["bid", "chat"])
    observation, info = env.reset(seed=3)
    assert "click(bid, " in info["instructions"] and "send_msg_to_user(text)" in info["instructions"]
    for absent in ("goto(", "mouse_click(", "new_tab(", "keyboard_type("):
        assert absent not in info["instructions"], absent
    _, _, terminated, _, info = env.step("mouse_click(10, 10)")
    assert not terminated and info["error"].startswith("'mouse_click' is not offered here; use one of: click, ")
    rng = random.Random(0)
    drawn = {env.random_action(rng).split("(")[0] for _ in range(300)}
    assert drawn and drawn <= set(env.action_set) and "click" in drawn
    _, _, terminated, _, info = env.step(f"click('{_bid(observation, env.target.capitalize())}')")
    assert terminated and info["success"] is True
    env.close()
    with pytest.raises(ConfigError, match="unknown action or action group 'clicks'"):
        make_env(action_set=["clicks"])
    # The class's prose, then one line per action offered (by default all but the uploads).
    assert make_env().instructions == PickColour.instructions + "\n" + action_help(DEFAULT_ACTIONS)
    assert make_env(action_set="nav").instructions.splitlines()[1:] == [signature(n) for n in ACTION_GROUPS["nav"]]
