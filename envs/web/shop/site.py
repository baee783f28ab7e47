"""The shop itself: its data (:class:`Shop`) and one shopper's visit (:class:`ShopSession`).

:class:`Shop` is what every session of one ``(size, seed)`` shares, read-only: the catalogue
(:func:`~.catalogue.generate_catalogue`) and its search engine (:class:`~.search.ProductSearch`).
:func:`load_shop` builds it once per process and ``(size, seed)``.

:class:`ShopSession` is the state machine of one shopper, the single source of truth of both
modes: the text environment drives it in-process, the web app (:mod:`.app`) drives it from HTTP
requests; both show :meth:`ShopSession.page` (:func:`~.pages.render_text` or
:func:`~.html_view.render_html`). Its state is a :class:`View` (the page kind, the query, the
results page, the product open and the options chosen: everything a page shows, as WebShop's
URLs carry it) and, once bought, the :class:`Purchase`. The actions, as in WebShop:

* ``search(query)`` -- only on the search page: the best :data:`MAX_RESULTS` products for the
  query (BM25), shown :data:`RESULTS_PER_PAGE` to a page.
* ``click(label)`` -- a clickable of the current page, named by its text (compared without
  regard to case or repeated spaces): "Back to Search", "< Prev", "Next >", a product id of the
  results, an option value (choosing it in its group, replacing the group's earlier choice),
  "Description" / "Features" / "Reviews", and "Buy Now", which ends the visit with a
  :class:`Purchase` holding WebShop's reward (:func:`~.reward.shop_reward`).
* ``restore(view)`` -- show a view directly: what the web app does when the browser opens a
  page's address (a link, the back button, a typed URL). The view is checked (a product of the
  catalogue, options it offers, a results page that exists).

:meth:`ShopSession.view_after` gives the view a click leads to without taking it: the web app
writes it into each link. An action that is not possible raises :class:`ShopActionError` (its
message is written for the agent) and changes nothing; after the purchase nothing is possible.
Sessions are thread-safe (:attr:`ShopSession.lock`): the web app may serve two requests of one
session at once, and the browser environment reads the purchase from the browser's thread.
A session copies and pickles (a lookahead search branching from one state): the copy has its
own state and lock and shares the read-only :class:`Shop`.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from dataclasses import dataclass, replace
from typing import Mapping

from .catalogue import Catalogue, Goal, Product, generate_catalogue
from .pages import BACK_TO_SEARCH, BUY, NEXT, PREV, SUB_PAGES, Clickable, Page, ResultRow
from .reward import RewardBreakdown, shop_reward
from .search import ProductSearch

#: How many products a search returns (WebShop shows its top 50), and how many one page shows.
MAX_RESULTS = 50
RESULTS_PER_PAGE = 10
#: Longer queries are cut to this many characters.
MAX_QUERY_CHARS = 500
#: The kinds of :class:`View` (``done`` is not a view: it is the purchase).
VIEW_KINDS = ("search", "results", "item", *(name.lower() for name in SUB_PAGES))

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class ShopActionError(Exception):
    """The action is not possible on the current page; the message says what is."""


class Shop:
    """The catalogue of ``(size, seed)`` and its search engine (shared, read-only).

    A copy or a pickle of a shop names it by ``(size, seed)``: it comes back as the process's
    shop of :func:`load_shop` (built again in another process), so a copied session or
    environment shares the catalogue instead of copying it.
    """

    def __init__(self, size: int, seed: int) -> None:
        self.catalogue: Catalogue = generate_catalogue(size, seed)
        self.engine = ProductSearch([product.search_text() for product in self.catalogue.products])
        self._cached_search = functools.lru_cache(maxsize=4096)(self._search)

    def __reduce__(self) -> tuple:
        return load_shop, (self.size, self.seed)

    @property
    def size(self) -> int:
        return self.catalogue.size

    @property
    def seed(self) -> int:
        return self.catalogue.seed

    def search(self, query: str, limit: int = MAX_RESULTS) -> tuple[Product, ...]:
        """The best ``limit`` products for ``query``, best first (cached: a results page's
        address names its query, and paging or going back must not search again)."""
        return self._cached_search(query, limit)

    def _search(self, query: str, limit: int) -> tuple[Product, ...]:
        products = self.catalogue.products
        return tuple(products[row] for row in self.engine.search(query, limit))


def load_shop(size: int, seed: int) -> Shop:
    """The :class:`Shop` of ``(size, seed)``, built once per process (the last 8 are kept):
    threads asking for it at once (a vector environment making its environments each in its own
    thread) wait for one build and share it."""
    with _load_lock:
        return _built_shop(size, seed)


@functools.lru_cache(maxsize=8)
def _built_shop(size: int, seed: int) -> Shop:
    return Shop(size, seed)


_load_lock = threading.Lock()


def _new_load_lock() -> None:
    """In a forked child: a lock held by another thread of the parent at the fork stays held."""
    global _load_lock
    _load_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_load_lock)


@dataclass(frozen=True)
class View:
    """What a page shows (the state of a visit before the purchase).

    Attributes:
        kind: one of :data:`VIEW_KINDS`.
        query: the search (every kind but ``search``).
        results_page: the results page shown, or the one "< Prev" returns to from a product.
        product_id: the product open (``item`` and its sub-pages).
        options: ``(group, value)`` pairs chosen, in the product's group order.
    """

    kind: str = "search"
    query: str | None = None
    results_page: int = 1
    product_id: str | None = None
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Purchase:
    """What the shopper bought and what it earned."""

    product_id: str
    title: str
    options: Mapping[str, str]
    price: float
    breakdown: RewardBreakdown

    @property
    def reward(self) -> float:
        return self.breakdown.reward

    def to_dict(self) -> dict:
        return {"product_id": self.product_id, "title": self.title, "options": dict(self.options),
                "price": self.price, "reward": self.reward}


def clean_query(query: str) -> str:
    """``query`` as the shop keeps it: lone surrogates replaced, control characters made spaces,
    spaces collapsed, cut to :data:`MAX_QUERY_CHARS` (and a space left at the cut dropped, so
    cleaning a cleaned query changes nothing)."""
    query = query.encode("utf-8", "replace").decode("utf-8")
    return " ".join(_CONTROL.sub(" ", query).split())[:MAX_QUERY_CHARS].rstrip()


def fold(label: str) -> str:
    """A label as clicks compare it: spaces collapsed, case folded."""
    return " ".join(label.split()).casefold()


class ShopSession:
    """One shopper's visit to ``shop`` with the instruction of ``goal`` (see the module docstring)."""

    def __init__(self, shop: Shop, goal: Goal) -> None:
        self.shop = shop
        self.goal = goal
        #: Held by every method; hold it to read several things of one state (the web app does).
        self.lock = threading.RLock()
        self._view = View()
        self._purchase: Purchase | None = None
        self._queries: list[str] = []
        #: How many actions changed the state (searches, clicks and restored views).
        self.steps = 0

    def __getstate__(self) -> dict:
        """What ``copy.deepcopy`` and ``pickle`` take: the state, read under the lock, without
        the lock (a copy makes its own; the shop comes back shared, see :class:`Shop`)."""
        with self.lock:
            state = dict(self.__dict__, _queries=list(self._queries))
        del state["lock"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.lock = threading.RLock()

    # ------------------------------------------------------------------ reading
    @property
    def view(self) -> View:
        return self._view

    @property
    def kind(self) -> str:
        """The kind of the current page (``done`` after the purchase)."""
        return "done" if self._purchase is not None else self._view.kind

    @property
    def purchase(self) -> Purchase | None:
        """The purchase, once "Buy Now" was clicked (``None`` before)."""
        return self._purchase

    @property
    def done(self) -> bool:
        return self._purchase is not None

    @property
    def query(self) -> str | None:
        return self._view.query

    @property
    def queries(self) -> tuple[str, ...]:
        """Every query searched in this visit, in order."""
        return tuple(self._queries)

    @property
    def product(self) -> Product | None:
        """The product whose page (or sub-page) is open, else ``None``."""
        product_id = self._view.product_id
        return None if product_id is None or self.done else self.shop.catalogue[product_id]

    @property
    def chosen_options(self) -> dict[str, str]:
        return dict(self._view.options)

    def result_ids(self) -> list[str]:
        """The ids of the products on the current results page (``[]`` elsewhere)."""
        with self.lock:
            if self.kind != "results":
                return []
            return [p.id for p in self._page_of_results(self._view)]

    def page(self, error: str | None = None) -> Page:
        """The current page (``error``, if given, is shown on it)."""
        with self.lock:
            return self._page(error)

    # ------------------------------------------------------------------ acting
    def search(self, query: str) -> None:
        """Search for ``query`` (the search page only).

        Raises:
            ShopActionError: not on the search page, or the query is empty (blank once
                cleaned); a query of punctuation alone (``!!!``) searches and finds nothing.
        """
        with self.lock:
            if self.kind != "search":
                raise ShopActionError(self._no_search_box())
            query = clean_query(query)
            if not query:
                # Both modes show it: no text-mode syntax (the text page says how to search).
                raise ShopActionError("the search query is empty; search for some keywords, e.g. red t-shirt")
            self._view = View("results", query)
            self._queries.append(query)
            self.steps += 1

    def click(self, label: str) -> None:
        """Click the clickable of the current page whose text is ``label``.

        Raises:
            ShopActionError: the page has no such clickable (or the visit is over).
        """
        with self.lock:
            if self.done:
                raise ShopActionError("the purchase is complete; there is nothing left to click")
            page = self._page(None)
            wanted = fold(label)
            target = next((c for c in page.clickables() if fold(c.label) == wanted), None)
            if target is None:
                raise ShopActionError(self._no_such_clickable(label, page))
            if target.kind == "button" and target.label == BUY:
                self._buy()
            else:
                self._view = self.view_after(target)
            self.steps += 1

    def view_after(self, target: Clickable) -> View:
        """The view clicking ``target`` (a clickable of the current page, not "Buy Now") leads to."""
        view = self._view
        label = target.label
        if target.kind == "product":
            return View("item", view.query, view.results_page, label)
        if target.kind == "option":
            assert target.group is not None and view.product_id is not None
            chosen = {**dict(view.options), target.group: label}
            order = [name for name, _ in self.shop.catalogue[view.product_id].options]
            return replace(view, options=tuple((name, chosen[name]) for name in order if name in chosen))
        if label == BACK_TO_SEARCH:
            return View()
        if label == NEXT:
            return replace(view, results_page=view.results_page + 1)
        if label == PREV:
            if view.kind == "results":
                return replace(view, results_page=view.results_page - 1)
            if view.kind == "item":
                return View("results", view.query, view.results_page)
            return replace(view, kind="item")  # a sub-page: back to the product, options kept
        if label in SUB_PAGES:
            return replace(view, kind=label.lower())
        raise ValueError(f"{target!r} does not lead to a view")

    def restore(self, view: View) -> None:
        """Show ``view`` (a page's address was opened).

        Raises:
            ShopActionError: the purchase is complete, or the view is not one the shop can show.
        """
        with self.lock:
            if self.done:
                raise ShopActionError("the purchase is complete; there is nothing left to open")
            self._view = self._checked(view)
            self.steps += 1

    # ------------------------------------------------------------------ internals
    def _checked(self, view: View) -> View:
        if view.kind not in VIEW_KINDS:
            raise ShopActionError(f"there is no page of kind {view.kind!r}")
        if view.kind == "search":
            return View()
        query = clean_query(view.query or "")
        if not query:
            raise ShopActionError("a results or product page needs a search query")
        pages = max(1, -(-len(self.shop.search(query)) // RESULTS_PER_PAGE))
        if not 1 <= view.results_page <= pages:
            raise ShopActionError(f"the search {query!r} has results pages 1 to {pages}, not {view.results_page}")
        if view.kind == "results":
            return View("results", query, view.results_page)
        product = self.shop.catalogue.by_id.get(view.product_id or "")
        if product is None:
            raise ShopActionError(f"there is no product {view.product_id!r}")
        groups = [name for name, _ in product.options]
        chosen = dict(view.options)
        if len(chosen) != len(view.options):
            raise ShopActionError("an option group is chosen twice")
        for name, value in chosen.items():
            if value not in product.option_values(name):
                raise ShopActionError(f"the product {product.id} has no option {name}: {value!r}")
        options = tuple((name, chosen[name]) for name in groups if name in chosen)
        return View(view.kind, query, view.results_page, product.id, options)

    def _buy(self) -> None:
        view = self._view
        product = self.shop.catalogue[view.product_id]
        options = dict(view.options)
        breakdown = shop_reward(product, options, self.goal)
        self._purchase = Purchase(product.id, product.title, options, product.price, breakdown)

    def _page_of_results(self, view: View) -> tuple[Product, ...]:
        start = (view.results_page - 1) * RESULTS_PER_PAGE
        return self.shop.search(view.query)[start:start + RESULTS_PER_PAGE]

    def _page(self, error: str | None) -> Page:
        view = self._view
        back = Clickable(BACK_TO_SEARCH, "button")
        prev = Clickable(PREV, "button")
        common = {"instruction": self.goal.text, "error": error}
        purchase = self._purchase
        if purchase is not None:
            chosen = ", ".join(f"{name}: {value}" for name, value in purchase.options.items()) or "no options"
            texts = (f"You bought {purchase.title} ({purchase.product_id}) with {chosen} for ${purchase.price:.2f}.",
                     f"Your score: {purchase.reward:.2f} (1.00 is a perfect match of the instruction).")
            return Page("done", heading="Thank you for shopping with us!", texts=texts,
                        product_id=purchase.product_id, **common)
        if view.kind == "search":
            return Page("search", heading="Search", search_box=True,
                        texts=("Type keywords to find products.",), **common)
        if view.kind == "results":
            total = len(self.shop.search(view.query))
            pages = max(1, -(-total // RESULTS_PER_PAGE))
            navigation = [back]
            if view.results_page > 1:
                navigation.append(prev)
            if view.results_page < pages:
                navigation.append(Clickable(NEXT, "button"))
            rows = tuple(ResultRow(p.id, p.title, p.price) for p in self._page_of_results(view))
            first = (view.results_page - 1) * RESULTS_PER_PAGE + 1
            heading = (f'Results {first}-{first + len(rows) - 1} of {total} for "{view.query}" '
                       f"(page {view.results_page} of {pages})") if rows else f'No results for "{view.query}"'
            return Page("results", heading=heading, navigation=tuple(navigation), results=rows,
                        query=view.query, **common)
        product = self.shop.catalogue[view.product_id]
        navigation = (back, prev)
        if view.kind == "item":
            chosen = dict(view.options)
            groups = tuple(
                (name, tuple(Clickable(value, "option", group=name, selected=chosen.get(name) == value)
                             for value in values))
                for name, values in product.options)
            texts = (f"Price: ${product.price:.2f}", f"Rating: {product.rating:.1f} out of 5")
            actions = tuple(Clickable(name, "button") for name in SUB_PAGES) + (Clickable(BUY, "button"),)
            return Page("item", heading=product.title, navigation=navigation, texts=texts, option_groups=groups,
                        actions=actions, product_id=product.id, query=view.query, **common)
        if view.kind == "description":
            texts = (product.description,)
        elif view.kind == "features":
            texts = tuple(f"- {line}" for line in product.features)
        else:
            texts = tuple(f"{review.rating} out of 5 stars: {review.text}" for review in product.reviews)
        return Page(view.kind, heading=f"{view.kind.capitalize()}: {product.title}", navigation=navigation,
                    texts=texts, product_id=product.id, query=view.query, **common)

    # ------------------------------------------------------------------ messages
    def _no_search_box(self) -> str:
        if self.done:
            return "the purchase is complete; there is nothing left to search"
        return f"this page has no search box; click[{BACK_TO_SEARCH}] to get back to the search page"

    @staticmethod
    def _no_such_clickable(label: str, page: Page) -> str:
        shown = label if len(label) <= 80 else label[:77] + "..."
        available = page.labels()
        if not available:
            return f"this page has nothing to click; use search[your keywords] (there is no {shown!r})"
        return f"this page has no clickable {shown!r}; you can click: " + ", ".join(available)


__all__ = ["MAX_QUERY_CHARS", "MAX_RESULTS", "Purchase", "RESULTS_PER_PAGE", "Shop", "ShopActionError",
           "ShopSession", "VIEW_KINDS", "View", "clean_query", "fold", "load_shop"]
