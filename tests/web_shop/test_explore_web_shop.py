"""Defects found by exploratory testing of the shop, each pinned by a test: the browser's back
button after the first search returns to the search page (the episode starts on the search
page's own address, not on ``/``, whose page is whatever the session shows now); the random
agent plays only the actions the environment offers (``action_set``)."""

from __future__ import annotations

import random

import httpx

import agentgym
import agentgym.envs.web.shop  # noqa: F401  (registers the environments)
from agentgym.envs.web.shop.app import ShopApp
from agentgym.envs.web.shop.browser_env import page_elements
from agentgym.envs.web.shop.site import load_shop


def test_go_back_after_the_first_search_returns_to_the_search_page(pool):
    env = agentgym.make("web/ShopBrowser-v0", pool=pool)
    try:
        observation, _ = env.reset(seed=7)
        field = next(e for e in page_elements(observation) if e[1] == "searchbox")
        search = next(e for e in page_elements(observation) if e[1] == "button" and e[2] == "Search")
        env.step(f"fill({field[0]!r}, 'hat')")
        _, _, _, _, info = env.step(f"click({search[0]!r})")
        assert info["page"] == "results"
        observation, _, _, _, info = env.step("go_back()")
        assert info["error"] is None and info["page"] == "search", observation
        assert env.unwrapped.shop_session.kind == "search" and 'searchbox "Search products"' in observation
        _, _, _, _, info = env.step("go_forward()")  # and forward again: the results of the search
        assert info["error"] is None and info["page"] == "results" and env.unwrapped.shop_session.query == "hat"
    finally:
        env.close()


def test_a_new_session_is_addressed_by_its_search_page_and_a_bought_one_by_its_confirmation():
    shop = load_shop(5_000, 0)
    with ShopApp(shop) as app, httpx.Client(base_url=app.url, timeout=10.0) as client:
        goal = shop.catalogue.draw_goal(random.Random(0), "easy")
        sid = app.open_session(goal)
        assert app.session_url(sid) == f"{app.url}/s/{sid}/search"
        page = client.get(app.session_url(sid))
        assert page.status_code == 200 and 'name="q"' in page.text and app.get_session(sid).kind == "search"
        session = app.get_session(sid)
        session.search(goal.target_title)
        session.click(goal.target_id)
        assert app.session_url(sid).startswith(f"{app.url}/s/{sid}/item/{goal.target_id}?")
        session.click("Buy Now")
        assert app.session_url(sid) == f"{app.url}/s/{sid}/"
        assert "Thank you for shopping with us!" in client.get(app.session_url(sid)).text
        app.close_session(sid)
        assert app.session_url(sid) == f"{app.url}/s/{sid}/"  # a closed session: its address says so (404)


def test_the_random_agent_plays_only_the_actions_offered(pool):
    rng = random.Random(0)
    narrow = agentgym.make("web/ShopBrowser-v0", pool=pool, action_set=["coord"])
    try:
        narrow.reset(seed=0)
        offered = set(narrow.unwrapped.action_set)
        drawn = [narrow.unwrapped.random_action(rng) for _ in range(40)]
        assert {action.split("(", 1)[0] for action in drawn} <= offered, drawn
    finally:
        narrow.close()
    full = agentgym.make("web/ShopBrowser-v0", pool=pool)
    try:
        full.reset(seed=0)
        names = {full.unwrapped.random_action(rng).split("(", 1)[0] for _ in range(40)}
        assert {"fill", "click"} <= names  # by default it still searches and clicks the shop's links
    finally:
        full.close()
