"""Defects of the shop left open at earlier stops, fixed in the twelfth round."""

from __future__ import annotations

import random

import httpx

from agentgym.envs.web.shop.app import ShopApp
from agentgym.envs.web.shop.site import load_shop


def test_search_and_results_read_a_repeated_q_parameter_alike():
    # /search took the last q and /results the first, so one address searched for two things
    shop = load_shop(200, 0)
    with ShopApp(shop) as app:
        sid = app.open_session(shop.catalogue.draw_goal(random.Random(0), "easy"))
        with httpx.Client(base_url=app.url, follow_redirects=False, timeout=10.0) as client:
            searched = client.get(f"/s/{sid}/search?q=mug&q=hat")
            assert searched.status_code == 200
            assert app.get_session(sid).view.query == "mug"
            restored = client.get(f"/s/{sid}/results?q=mug&q=hat&page=1")
            assert restored.status_code == 200 and app.get_session(sid).view.query == "mug"
