"""What a shop page shows, as data, and its text rendering (the text mode's observation).

A :class:`Page` is produced by :meth:`~.site.ShopSession.page` from the session's state; the
text mode renders it with :func:`render_text`, the web app renders the same object as HTML
(:mod:`.html_view`), so both modes show the same things and offer the same clickables.

Kinds of page (WebShop's): ``search`` (a search box), ``results`` (ten products per page, "<
Prev" / "Next >"), ``item`` (a product: title, price, rating, option buttons, "Description",
"Features", "Reviews", "Buy Now"), ``description`` / ``features`` / ``reviews`` (a product's
sub-pages, "< Prev" back to it) and ``done`` (after "Buy Now"). Every page but ``search`` and
``done`` has "Back to Search".
"""

from __future__ import annotations

from dataclasses import dataclass

PAGE_KINDS = ("search", "results", "item", "description", "features", "reviews", "done")
BACK_TO_SEARCH = "Back to Search"
PREV = "< Prev"
NEXT = "Next >"
BUY = "Buy Now"
SUB_PAGES = ("Description", "Features", "Reviews")


@dataclass(frozen=True)
class Clickable:
    """Something the agent can click: ``label`` is its text (what ``click[...]`` names).
    ``kind`` is ``button``, ``product`` (a search result's id) or ``option`` (a value of
    option group ``group``, ``selected`` when chosen)."""

    label: str
    kind: str
    group: str | None = None
    selected: bool = False


@dataclass(frozen=True)
class ResultRow:
    product_id: str
    title: str
    price: float


@dataclass(frozen=True)
class Page:
    """One rendered state of a session (see the module docstring)."""

    kind: str
    instruction: str
    heading: str
    navigation: tuple[Clickable, ...] = ()
    texts: tuple[str, ...] = ()
    results: tuple[ResultRow, ...] = ()
    option_groups: tuple[tuple[str, tuple[Clickable, ...]], ...] = ()
    actions: tuple[Clickable, ...] = ()
    search_box: bool = False
    error: str | None = None
    product_id: str | None = None
    query: str | None = None

    def clickables(self) -> list[Clickable]:
        """Everything clickable on the page, in page order."""
        found = list(self.navigation)
        found.extend(Clickable(row.product_id, "product") for row in self.results)
        for _, values in self.option_groups:
            found.extend(values)
        found.extend(self.actions)
        return found

    def labels(self) -> list[str]:
        return [c.label for c in self.clickables()]


def render_text(page: Page) -> str:
    """The page as plain text: the instruction, the page's content, one line per clickable
    (``[button]``, ``[product]``, ``[option]``) and how to act on it."""
    lines = [f"Instruction: {page.instruction}", ""]
    if page.error:
        lines += [f"Error: {page.error}", ""]
    lines.append(f"Page: {page.heading}")
    lines += [f"[button] {c.label}" for c in page.navigation]
    if page.search_box:
        lines.append("[search box] (type your keywords with search[...])")
    if page.kind == "results" and not page.results:
        lines.append("No products match your search.")
    for row in page.results:
        lines += [f"[product] {row.product_id}", f"  {row.title}", f"  ${row.price:.2f}"]
    lines += list(page.texts)
    for name, values in page.option_groups:
        lines.append(f"{name}:")
        lines += [f"  [option] {c.label}" + (" (selected)" if c.selected else "") for c in values]
    lines += [f"[button] {c.label}" for c in page.actions]
    lines.append("")
    lines.append(_how_to_act(page))
    return "\n".join(lines)


def _how_to_act(page: Page) -> str:
    if page.kind == "done":
        return "The purchase is complete."
    if page.search_box:
        return "Act with search[your keywords]."
    return "Act with click[text of a button, product id or option] (e.g. click[" + page.clickables()[0].label + "])."
