"""Defects found by exploratory testing of the shop (third round), each pinned by a test: the
error of an empty search, which the browser mode shows on its page, names no text-mode action
(``search[...]`` is not an action there)."""

from __future__ import annotations

import random

import httpx

import agentgym
import agentgym.envs.web.shop  # noqa: F401  (registers the environments)
from agentgym.envs.web.shop.app import ShopApp
from agentgym.envs.web.shop.site import load_shop


def test_an_empty_search_in_the_browser_mode_names_no_text_mode_action():
    shop = load_shop(5_000, 0)
    with ShopApp(shop) as app, httpx.Client(base_url=app.url, timeout=10.0) as client:
        sid = app.open_session(shop.catalogue.draw_goal(random.Random(0), "easy"))
        page = client.get(f"/s/{sid}/search?q=")  # the search form sent empty, as a browser does
        assert page.status_code == 400 and "the search query is empty" in page.text
        assert "search[" not in page.text, page.text  # it said: e.g. search[red t-shirt]


def test_an_empty_search_in_the_text_mode_still_says_how_to_search():
    env = agentgym.make("web/Shop-v0")
    try:
        env.reset(seed=0)
        observation, _, _, _, info = env.step("search[  ]")
        assert info["error_kind"] == "invalid" and info["error"].startswith("the search query is empty")
        assert "search[your keywords]" in observation  # the text page's own footer shows the syntax
    finally:
        env.close()
