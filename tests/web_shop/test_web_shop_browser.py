"""``web/ShopBrowser-v0`` in a real Chromium: the oracle buys a perfect product (3 seeds), random
episodes end, the outcome is read from the app's session, sessions end with their episodes, and
no browser process outlives ``close``."""

from __future__ import annotations

import random


import agentgym
import agentgym.envs.web.shop  # noqa: F401  (registers the environments)
from agentgym.browser import BrowserPool
from agentgym.browser.processes import browser_processes
from agentgym.envs.web.shop.app import shared_app
from agentgym.envs.web.shop.browser_env import page_elements


def test_the_oracle_buys_a_perfect_product(pool):
    env = agentgym.make("web/ShopBrowser-v0", pool=pool)
    try:
        for seed in range(3):
            observation, info = env.reset(seed=seed)
            goal = env.unwrapped.goal
            assert observation.startswith(f"Goal: {goal.text}\n") and 'searchbox "Search products"' in observation
            for _ in range(12):
                observation, reward, terminated, truncated, info = env.step(env.unwrapped.oracle_action())
                assert info["error"] is None, info["error"]
                if terminated or truncated:
                    break
            assert terminated and reward == 1.0 and info["success"] is True, (seed, goal.text, observation)
            assert info["purchase"]["product_id"] in goal.goal_ids and info["reward_breakdown"]["reward"] == 1.0
            assert "Thank you for shopping with us!" in observation
        first_goal = env.reset(seed=0)[0].split("\n")[0]
        assert first_goal == env.reset(seed=0)[0].split("\n")[0] != env.reset(seed=1)[0].split("\n")[0]
    finally:
        env.close()


def test_random_episodes_end_and_sessions_end_with_them(pool):
    env = agentgym.make("web/ShopBrowser-v0", pool=pool, max_turns=10, difficulty="easy")
    app = shared_app(env.unwrapped.shop.size, env.unwrapped.shop.seed)
    rng = random.Random(0)
    try:
        previous = None
        for seed in range(2):
            env.reset(seed=seed)
            sid = env.unwrapped._session_id
            assert app.get_session(sid) is not None
            if previous is not None:
                assert app.get_session(previous) is None  # the last episode's session is gone
            previous = sid
            for _ in range(10):
                _, reward, terminated, truncated, info = env.step(env.unwrapped.random_action(rng))
                assert "page" in info or info["error"] is not None
                if terminated or truncated:
                    break
            assert terminated or truncated
            if terminated:
                assert info["success"] == (reward == 1.0)
            assert app.get_session(sid) is None  # released with the episode
    finally:
        env.close()


def test_the_page_and_the_server_agree_and_hostile_input_stays_text(pool):
    """The server's session follows the page (links, the back button); a hostile query is text."""
    env = agentgym.make("web/ShopBrowser-v0", pool=pool)
    try:
        observation, _ = env.reset(seed=7)
        field = next(e for e in page_elements(observation) if e[1] == "searchbox")
        search = next(e for e in page_elements(observation) if e[1] == "button" and e[2] == "Search")
        env.step(f"fill({field[0]!r}, '<img src=x onerror=alert(1)> hat')")
        observation, _, _, _, info = env.step(f"click({search[0]!r})")
        assert info["page"] == "results" and env.unwrapped.shop_session.query == "<img src=x onerror=alert(1)> hat"
        assert '"Results 1-10 of 50 for \\"<img src=x onerror=alert(1)> hat\\"' in observation
        assert env.unwrapped.run_in_page(lambda page: page.evaluate("document.images.length")) == 0
        product = next(e for e in page_elements(observation) if e[1] == "link" and e[2].startswith("B0"))
        _, _, _, _, info = env.step(f"click({product[0]!r})")
        assert info["page"] == "item" and env.unwrapped.shop_session.product.id == product[2]
        _, _, _, _, info = env.step("go_back()")  # the browser's back button returns to the results
        assert info["error"] is None and info["page"] == "results"
        observation, _, terminated, _, info = env.step("goto('https://example.com/')")
        assert info["error"] is not None and not terminated
        back = next(e for e in page_elements(env.unwrapped.render_text()) if e[2] == "Back to Search")
        _, _, _, _, info = env.step(f"click({back[0]!r})")
        assert info["page"] == "search" and env.unwrapped.shop_session.kind == "search"
    finally:
        env.close()


def test_no_browser_outlives_close():
    own = BrowserPool(1)
    env = agentgym.make("web/ShopBrowser-v0", pool=own)
    env.reset(seed=1)
    env.step(env.unwrapped.oracle_action())
    markers = [worker.marker for worker in own.browsers if worker.marker]
    assert markers and all(browser_processes(marker) for marker in markers)
    env.close()
    own.close()
    assert all(not browser_processes(marker) for marker in markers)
