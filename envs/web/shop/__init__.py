"""A WebShop-style shop: find and buy the product an instruction describes.

Environments:

* ``web/Shop-v0`` -- the text mode (:mod:`~agentgym.envs.web.shop.text_env`): pages as text,
  actions ``search[keywords]`` and ``click[label]``; in-process, no browser.
* ``web/ShopBrowser-v0`` -- the browser mode (:mod:`~agentgym.envs.web.shop.browser_env`): the
  same shop served by a real web app on loopback, played in Chromium with browser actions.

Both take ``difficulty`` (``mixed``, ``easy``, ``hard``), ``size`` (products in the catalogue,
default 5,000) and ``seed`` (the catalogue's). The reward is WebShop's, on buying:
``r_type x (attribute + option + price matches) / (attributes + options + 1)``; success is a
reward of 1.0.

Suites: ``web-shop-v0`` (the text mode, easy and hard, 25 seeds each) and
``web-shop-browser-v0`` (the browser mode, easy and hard, 10 seeds each).

Modules:
    vocabulary  -- product types (category, attributes, option groups, price range), brands.
    catalogue   -- ``generate_catalogue(size, seed)`` and goals (``Catalogue.draw_goal``).
    matching    -- WebShop's fuzzy matching (token-set ratio) and colour normalisation.
    reward      -- ``shop_reward`` and its ``RewardBreakdown``.
    search      -- the BM25 search engine over the catalogue.
    pages       -- a page as data (``Page``) and its text rendering.
    site        -- ``Shop`` (catalogue and search, shared) and ``ShopSession`` (one shopper).
    html_view   -- a page as HTML.
    app         -- the web app (``ShopApp``, ``shared_app``).
    oracle      -- the oracle and the random shopper, for both modes.
    text_env, browser_env -- the environments.

Environments register by entry-point string, so importing this package loads none of them.
"""

from __future__ import annotations

from agentgym.registry import register
from agentgym.suites import register_suite

#: Turn bounds of the registered environments (the browser mode types and clicks separately).
_TEXT_TURNS = 30
_BROWSER_TURNS = 40
_TAGS = ("shopping", "webshop", "instruction-following")

register(
    "web/Shop-v0",
    "agentgym.envs.web.shop.text_env:ShopEnv",
    max_turns=_TEXT_TURNS,
    tags=(*_TAGS, "text"),
    description="WebShop-style shopping in text: search[...] and click[...] over a generated catalogue "
                "(BM25 search); WebShop's reward for the purchase (type x attribute, option and price matches).",
)
register(
    "web/ShopBrowser-v0",
    "agentgym.envs.web.shop.browser_env:ShopBrowserEnv",
    max_turns=_BROWSER_TURNS,
    tags=(*_TAGS, "browser"),
    description="The WebShop-style shop served on loopback and played in a real Chromium with browser "
                "actions; the same catalogue, instructions and reward as web/Shop-v0.",
)

SHOP_ENV_IDS = ("web/Shop-v0", "web/ShopBrowser-v0")

register_suite(
    "web-shop-v0",
    [("web/Shop-v0", range(25), {"difficulty": level}) for level in ("easy", "hard")],
    "WebShop-style shopping in text mode: easy (one attribute, one option) and hard (two or three "
    "attributes, every option group) instructions, 25 seeds each.",
)
register_suite(
    "web-shop-browser-v0",
    [("web/ShopBrowser-v0", range(10), {"difficulty": level}) for level in ("easy", "hard")],
    "The WebShop-style shop in a real Chromium: easy and hard instructions, 10 seeds each.",
)
