"""``ShopBrowserEnv``: the shop in a real Chromium -- the browser mode of WebShop.

The same shop, goals and reward as the text mode (:mod:`.text_env`), played through the web app
(:mod:`.app`) in a browser: an episode draws a goal with ``self.rng``, opens a session in the
process's app for ``(size, seed)`` (:func:`~.app.shared_app`, started on first use), and starts
the browser on that session's page. The agent acts with the browser actions of
:class:`~agentgym.browser.BrowserEnv` (``fill`` the search field, ``click`` buttons...) and sees
the accessibility tree under the instruction.

After every action :meth:`page_status` reads the session in the app (server-side state, not the
page): once "Buy Now" was clicked the episode is over with WebShop's reward as component
``outcome``, ``success`` when it is 1.0, and the step's ``info`` holds ``reward_breakdown`` and
``purchase`` as in the text mode (``page``, the page's kind, on every step). The session is
closed in the app when the episode's browser session is released (end, reset, ``close``).

Baselines: the oracle plays :func:`~.oracle.oracle_move` with browser actions on the elements of
the last observation (``fill`` the search field with the query, then ``click`` "Search"; a
``click`` on the link or button carrying a label); the random agent fills the search field with
words of the instruction now and then and otherwise clicks the page's links and buttons (with
:class:`~agentgym.browser.BrowserEnv`'s other random actions mixed in).
"""

from __future__ import annotations

import json
import random
import re
from typing import Any, ClassVar

from agentgym.browser.env import GOING_ON, BrowserEnv, PageStatus

from .app import ShopApp, shared_app
from .catalogue import DIFFICULTIES, Goal
from .oracle import oracle_move
from .site import ShopSession
from .text_env import DEFAULT_SIZE, check_shop_arguments

_LINE = re.compile(r'^\s*\[(\d+)\]\s+(\w+)\s+("(?:[^"\\]|\\.)*")?(.*)$')
_VALUE = re.compile(r'value=("(?:[^"\\]|\\.)*")')
_WORD = re.compile(r"[^\W_]+")
#: The roles of what the shop's pages let one click: links (navigation, products, options) and buttons.
_CLICKABLE_ROLES = ("link", "button")

INSTRUCTIONS = (
    "You shop in an online store, in a web browser, for the product an instruction describes. Search the "
    "store (type keywords into the search field, then press its Search button), open a product that fits, "
    "choose the options the instruction asks for, then click Buy Now. Buying ends the episode; the reward "
    "(0 to 1) measures how well the product's type, attributes, chosen options and price match the "
    "instruction. Each observation shows the instruction and the page as an accessibility tree where every "
    "element has an id in brackets. Answer with one action, written as a function call on the last line:"
)


def page_elements(text: str) -> list[tuple[str, str, str, str]]:
    """``(id, role, name, rest)`` of every element line with an id in an accessibility-tree text."""
    found = []
    for line in text.splitlines():
        match = _LINE.match(line)
        if match is None:
            continue
        bid, role, quoted, rest = match.groups()
        try:
            name = json.loads(quoted) if quoted else ""
        except ValueError:
            name = quoted or ""
        found.append((bid, role, name, rest))
    return found


class ShopBrowserEnv(BrowserEnv):
    """The shop's browser mode (see the module docstring).

    Args:
        difficulty: ``mixed`` (default), ``easy`` or ``hard``, as in the text mode.
        size: products in the catalogue.
        seed: the catalogue's seed.
        show_url: show the page's address in the observation. Off by default: it holds the
            episode's random session id and the app's port, so the same seed would not give the
            same observations (the page itself shows everything the address says).
        **kwargs: :class:`~agentgym.browser.BrowserEnv`'s (``pool``, ``screenshot``...).
    """

    difficulties: ClassVar[tuple[str, ...]] = DIFFICULTIES
    instructions: ClassVar[str] = INSTRUCTIONS

    def __init__(self, difficulty: str | None = None, *, size: int = DEFAULT_SIZE, seed: int = 0,
                 show_url: bool = False, **kwargs: Any) -> None:
        super().__init__(difficulty, show_url=show_url, **kwargs)
        self.shop = check_shop_arguments(type(self).__name__, size, seed)
        self.goal: Goal | None = None
        self._app: ShopApp | None = None
        self._session_id: str | None = None

    @property
    def shop_session(self) -> ShopSession | None:
        """The episode's session in the app (``None`` between episodes)."""
        if self._app is None or self._session_id is None:
            return None
        return self._app.get_session(self._session_id)

    # ------------------------------------------------------------------ BrowserEnv's hooks
    def prepare_episode(self, options: dict[str, Any]) -> None:
        self.goal = self.shop.catalogue.draw_goal(self.rng, self.difficulty)
        self._app = shared_app(self.shop.size, self.shop.seed)
        self._session_id = self._app.open_session(self.goal)

    def start_url(self) -> str:
        assert self._app is not None and self._session_id is not None
        return self._app.session_url(self._session_id)

    def goal_text(self) -> str:
        return "" if self.goal is None else self.goal.text

    def page_status(self, page: Any) -> PageStatus:
        session = self.shop_session
        if session is None:
            return GOING_ON
        purchase = session.purchase
        if purchase is None:
            return PageStatus(info={"page": session.kind})
        return PageStatus(done=True, success=purchase.reward == 1.0, reward=purchase.reward,
                          info={"page": session.kind, "reward_breakdown": purchase.breakdown.to_dict(),
                                "purchase": purchase.to_dict()})

    def release_resources(self) -> None:
        try:
            super().release_resources()
        finally:
            app, session_id = self._app, self._session_id
            self._session_id = None
            if app is not None and session_id is not None:
                app.close_session(session_id)

    # ------------------------------------------------------------------ baselines
    def oracle_action(self) -> str:
        """The oracle's move as a browser action on the last observation's elements."""
        session = self.shop_session
        if session is None:  # not an assert: it must hold under python -O too
            raise RuntimeError(f"{type(self).__name__}: no episode is running; call reset() first")
        move = oracle_move(session)
        elements = page_elements(self.render_text())
        if move.verb == "search":
            field = next((e for e in elements if e[1] in ("searchbox", "textbox")), None)
            if field is None:
                return "noop()"
            value = _VALUE.search(field[3])
            if value is None or json.loads(value.group(1)) != move.argument:
                return f"fill({field[0]!r}, {move.argument!r})"
            return self._click_named(elements, "Search")
        return self._click_named(elements, move.argument)

    @staticmethod
    def _click_named(elements: list[tuple[str, str, str, str]], name: str) -> str:
        bid = next((e[0] for e in elements if e[1] in _CLICKABLE_ROLES and e[2] == name), None)
        return "noop()" if bid is None else f"click({bid!r})"

    def _draw_random_action(self, rng: random.Random) -> str:
        """Now and then a search of instruction words; mostly a click on a link or button of the page;
        sometimes one of :class:`~agentgym.browser.BrowserEnv`'s random actions. The shop's own
        moves only when ``fill`` and ``click`` are offered (:meth:`random_action` draws again until
        the draw is an action the environment offers)."""
        elements = page_elements(self.render_text())
        field = next((e for e in elements if e[1] in ("searchbox", "textbox")), None) \
            if "fill" in self.action_set else None
        buttons = [e[0] for e in elements if e[1] in _CLICKABLE_ROLES] if "click" in self.action_set else []
        roll = rng.random()
        if field is not None and roll < 0.4:
            words = _WORD.findall(self.goal_text()) or ["shop"]
            query = " ".join(rng.sample(words, rng.randint(1, min(4, len(words)))))
            return f"fill({field[0]!r}, {query!r})"
        if buttons and roll < 0.9:
            return f"click({rng.choice(buttons)!r})"
        return super()._draw_random_action(rng)


__all__ = ["INSTRUCTIONS", "ShopBrowserEnv", "page_elements"]
