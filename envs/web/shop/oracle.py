"""The shop's scripted players, for both modes: the oracle and the random shopper.

Each decides a :class:`Move` (``search`` with a query, or ``click`` with a label) from a
:class:`~.site.ShopSession`; the text mode writes it as ``search[...]`` / ``click[...]``, the
browser mode turns it into browser actions on the elements that carry the label
(:mod:`.browser_env`).

The oracle reads the hidden goal (it is an upper bound, not an agent):

* on the search page it searches the target's title (or, once that was searched, the goal's
  type, attributes and options);
* on a results page it opens the target if listed, else any product of ``goal.goal_ids`` (each
  scores 1.0 with the goal's options), else goes to the next results page, else back to search;
* on a product page of a goal product it chooses each goal option not chosen yet, then buys;
  on any other product page, or a sub-page, it goes back ("< Prev").

So it buys a product that scores 1.0 whenever the search lists one, which the title search does
(the tests check 20 seeds in the text mode and 3 in the browser).

The random shopper searches one to four words of the instruction on the search page and clicks
a uniformly drawn clickable of the page everywhere else.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from .pages import BACK_TO_SEARCH, BUY, NEXT, PREV
from .site import ShopSession

_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Move:
    """One action of the shop: ``verb`` is ``"search"`` or ``"click"``."""

    verb: str
    argument: str

    def text(self) -> str:
        """The move in the text mode's action language."""
        return f"{self.verb}[{self.argument}]"


def oracle_queries(session: ShopSession) -> tuple[str, str]:
    """The oracle's searches, in order: the target's title, then the goal's words."""
    goal = session.goal
    words = " ".join((goal.type_name, *goal.attributes, *goal.options.values()))
    return goal.target_title, words


def oracle_move(session: ShopSession) -> Move:
    """The oracle's next move in ``session`` (see the module docstring)."""
    goal = session.goal
    page = session.page()
    kind = page.kind
    if kind == "search":
        tried = set(session.queries)
        query = next((q for q in oracle_queries(session) if q not in tried), goal.target_title)
        return Move("search", query)
    labels = page.labels()
    if kind == "results":
        listed = session.result_ids()
        if goal.target_id in listed:
            return Move("click", goal.target_id)
        fitting = [product_id for product_id in listed if product_id in goal.goal_ids]
        if fitting:
            return Move("click", fitting[0])
        return Move("click", NEXT if NEXT in labels else BACK_TO_SEARCH)
    if kind == "item":
        product = session.product
        if product is None or product.id not in goal.goal_ids:
            return Move("click", PREV)
        chosen = session.chosen_options
        for name, value in goal.options.items():
            if chosen.get(name) != value:
                return Move("click", value)
        return Move("click", BUY)
    if kind == "done":
        return Move("click", BUY)  # nothing is left to do; the episode is over
    return Move("click", PREV)  # a sub-page


def random_move(session: ShopSession, rng: random.Random) -> Move:
    """A random move: a search of instruction words on the search page, else a random click."""
    page = session.page()
    labels = page.labels()
    if page.search_box or not labels:
        words = _WORD.findall(page.instruction) or ["shop"]
        return Move("search", " ".join(rng.sample(words, rng.randint(1, min(4, len(words))))))
    return Move("click", rng.choice(labels))


__all__ = ["Move", "oracle_move", "oracle_queries", "random_move"]
