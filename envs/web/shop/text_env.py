"""``ShopEnv``: WebShop's text mode -- shop for what the instruction describes with
``search[...]`` and ``click[...]``.

An episode draws a goal with ``self.rng`` (:meth:`~.catalogue.Catalogue.draw_goal`: a target
product, some of its attributes, option values and a price limit, written as an instruction)
and opens a :class:`~.site.ShopSession` on the process's shop of ``(size, seed)``
(:func:`~.site.load_shop`), in-process: no web server, no browser. The observation is the
session's page as text (:func:`~.pages.render_text`): the instruction, the page's content and
its clickables (``[button]``, ``[product]``, ``[option]``). The browser mode
(:mod:`.browser_env`) shows the same session's same page as HTML.

Actions, one per turn (the last non-empty line of the reply counts, the lines of a code fence
(```` ``` ````, ```` ```text ````) aside; an ``Action:`` prefix and surrounding backticks are
ignored; the verb is case-insensitive):

* ``search[keywords]`` -- on the search page;
* ``click[label]`` -- a button ("Back to Search", "< Prev", "Next >", "Description", "Features",
  "Reviews", "Buy Now"), a product id of the results, or an option value of the product page
  (labels compare without regard to case or repeated spaces).

A reply that is neither is a format error (``info["error_kind"] == "format"``); an action the
page does not offer is an invalid action (``"invalid"``). Either way the episode goes on, the
state is unchanged, ``invalid_penalty`` applies, and the observation is the same page with the
error on top (more useful to an agent than the error alone).

Reward (:func:`~.reward.shop_reward`, WebShop's): on "Buy Now", component ``outcome``
:math:`r = r_\\text{type} \\cdot (|A_\\text{match}| + |O_\\text{match}| + [p \\le p_\\max]) / (|A| + |O| + 1)`
and the episode ends. ``success`` is ``r == 1.0`` (WebShop's success rate). Step ``info``:
``page`` (the page's kind) on every step; on the buying step ``reward_breakdown``
(:class:`~.reward.RewardBreakdown` as a dict) and ``purchase`` (id, title, options, price).

Hidden from the agent: ``env.goal`` (the target, its attributes and options, ``goal_ids``).
Baselines (:mod:`.oracle`): the oracle searches the target's title and buys a goal product with
the goal's options (reward 1.0); the random agent searches instruction words or clicks anything.
"""

from __future__ import annotations

import random
import re
from typing import Any, ClassVar

from agentgym.core import ConfigError, Feedback, LLMEnv, check_int
from agentgym.info import ErrorKind

from .catalogue import DIFFICULTIES, MAX_CATALOGUE_SIZE, Goal
from .oracle import Move, oracle_move, random_move
from .pages import render_text
from .site import Shop, ShopActionError, ShopSession, load_shop

#: The catalogue size of the registered environments: a few thousand products.
DEFAULT_SIZE = 5_000

_ACTION = re.compile(r"^(search|click)\s*\[(.*)\]$", re.IGNORECASE | re.DOTALL)
_PREFIX = re.compile(r"^(?:action\s*:\s*)", re.IGNORECASE)
_FENCE = re.compile(r"^`{3,}[\w+-]*$")

INSTRUCTIONS = (
    "You are shopping in an online store for the product an instruction describes. Each observation "
    "shows the instruction and the current page: its buttons ([button]), the products of a search "
    "([product] and the product's id, then its title and price), the options of a product ([option]) "
    "and, on the search page, a search box.\n"
    "Answer with one action on the last line of your reply:\n"
    "  search[keywords]  -- search the store (on the search page only)\n"
    "  click[label]      -- click a button, a product id or an option, written exactly as shown\n"
    "Open a product that fits, choose the options the instruction asks for, then click[Buy Now]. "
    "Buying ends the episode; the reward (0 to 1) measures how well the product's type, attributes, "
    "chosen options and price match the instruction."
)


def parse_shop_action(text: str) -> Move | None:
    """The move a reply names (see the module docstring), or ``None`` when it names none."""
    lines = [line for line in (raw.strip() for raw in text.strip().splitlines()) if line and not _FENCE.match(line)]
    if not lines:
        return None
    line = _PREFIX.sub("", lines[-1]).strip().strip("`").strip()
    match = _ACTION.match(line)
    if match is None:
        return None
    return Move(match.group(1).lower(), match.group(2).strip())


def check_shop_arguments(owner: str, size: Any, seed: Any) -> Shop:
    """The shop of ``(size, seed)`` after checking both (:class:`ConfigError` names a bad one)."""
    check_int(owner, "size", size, minimum=1)
    if size > MAX_CATALOGUE_SIZE:
        raise ConfigError(f"{owner}: size must be at most {MAX_CATALOGUE_SIZE}, got {size!r}")
    check_int(owner, "seed", seed, minimum=0)
    return load_shop(int(size), int(seed))


class ShopEnv(LLMEnv):
    """WebShop's text mode over a generated catalogue (see the module docstring).

    Args:
        difficulty: ``mixed`` (default), ``easy`` (one attribute and one option) or ``hard``
            (two or three attributes and every option group of the target).
        size: products in the catalogue (1 to 200,000).
        seed: the catalogue's seed (the episode's goal comes from ``reset``'s seed).
        **kwargs: :class:`~agentgym.core.LLMEnv`'s (``invalid_penalty``, ``max_action_chars``...).
    """

    family: ClassVar[str] = "web"
    difficulties: ClassVar[tuple[str, ...]] = DIFFICULTIES
    instructions: ClassVar[str] = INSTRUCTIONS
    example_actions: ClassVar[tuple[str, ...]] = ("search[gluten free snack pack]", "click[Buy Now]")

    def __init__(self, difficulty: str | None = None, *, size: int = DEFAULT_SIZE, seed: int = 0,
                 **kwargs: Any) -> None:
        super().__init__(difficulty, **kwargs)
        self.shop = check_shop_arguments(type(self).__name__, size, seed)
        self.shop_session: ShopSession | None = None

    @property
    def goal(self) -> Goal | None:
        """The episode's goal (hidden from the agent), ``None`` before the first reset."""
        return None if self.shop_session is None else self.shop_session.goal

    # ------------------------------------------------------------------ episode
    def new_episode(self, options: dict[str, Any]) -> str:
        goal = self.shop.catalogue.draw_goal(self.rng, self.difficulty)
        self.shop_session = ShopSession(self.shop, goal)
        return render_text(self.shop_session.page())

    def play(self, action: str) -> Feedback:
        session = self.shop_session
        assert session is not None, "play() without an episode"
        move = parse_shop_action(action)
        if move is None:
            return self._refuse(session, "write one action on the last line: search[keywords] or click[label] "
                                         "(a button, product id or option shown on the page)", ErrorKind.FORMAT)
        try:
            if move.verb == "search":
                session.search(move.argument)
            else:
                session.click(move.argument)
        except ShopActionError as exc:
            return self._refuse(session, str(exc), ErrorKind.INVALID_ACTION)
        page = session.page()
        info: dict[str, Any] = {"page": page.kind}
        purchase = session.purchase
        if purchase is None:
            return Feedback(render_text(page), info=info)
        info["reward_breakdown"] = purchase.breakdown.to_dict()
        info["purchase"] = purchase.to_dict()
        return Feedback(render_text(page), {"outcome": purchase.reward}, terminated=True,
                        success=purchase.reward == 1.0, info=info)

    def _refuse(self, session: ShopSession, message: str, kind: ErrorKind) -> Feedback:
        page = session.page(error=message)
        rewards = {"invalid": -self.invalid_penalty} if self.invalid_penalty else {}
        return Feedback(render_text(page), rewards, error=message, info={"page": page.kind}, error_kind=kind)

    # ------------------------------------------------------------------ baselines
    def oracle_action(self) -> str:
        """Search the target, open a product that scores 1.0, choose the goal's options, buy."""
        if self.shop_session is None:  # not an assert: it must hold under python -O too
            raise RuntimeError(f"{type(self).__name__}: no episode is running; call reset() first")
        return oracle_move(self.shop_session).text()

    def random_action(self, rng: random.Random) -> str:
        """Search words of the instruction, or click anything the page offers."""
        if self.shop_session is None:
            return "search[shop]"
        return random_move(self.shop_session, rng).text()

    def render_text(self) -> str:
        if self.shop_session is None:
            return "Shop: no episode yet"
        return render_text(self.shop_session.page())


__all__ = ["DEFAULT_SIZE", "INSTRUCTIONS", "ShopEnv", "check_shop_arguments", "parse_shop_action"]
