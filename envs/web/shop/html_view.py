"""A shop page as HTML: what the web app (:mod:`.app`) serves and the browser mode sees.

:func:`render_html` draws the same :class:`~.pages.Page` the text mode renders with
:func:`~.pages.render_text`, so both modes show the same texts and offer the same clickables:

* the search page has a form (``GET <session>/search``) with a search field (``name="q"``) and
  a "Search" button;
* every clickable but "Buy Now" is a link to the address of the page it leads to (the app
  gives the addresses): navigation ("Back to Search", "< Prev", "Next >"), the product ids of
  the results (each followed by its title and price), the sub-pages, and the option values,
  grouped in a ``<fieldset>`` per option group, marked ``role="button"`` with
  ``aria-pressed`` (the chosen value shows as ``pressed`` in the accessibility tree);
* "Buy Now" is the button of a form that posts to the app (buying changes something, so it is
  never a link a crawler or a prefetch could follow);
* an error is shown in a ``role="alert"`` paragraph.

Every text comes from the catalogue, the instruction, the shopper's query or the app, and every
one is escaped (:func:`html.escape`, quotes included), so a query such as ``<script>`` stays
text. The pages hold no script; the app's Content-Security-Policy forbids scripts anyway.
"""

from __future__ import annotations

from html import escape
from typing import Mapping

from .pages import BUY, Clickable, Page

_STYLE = """
body { font-family: sans-serif; margin: 0 auto; max-width: 60rem; padding: 1rem; color: #222; }
#instruction { background: #f3f0e6; border: 1px solid #d8d0b8; padding: .5rem .75rem; }
h1 { font-size: 1.3rem; }
nav a, .choice, .sub a { display: inline-block; margin: .15rem .4rem .15rem 0; padding: .25rem .6rem;
  border: 1px solid #888; border-radius: .25rem; text-decoration: none; color: #124; }
.choice[aria-pressed="true"] { background: #2a6; color: #fff; font-weight: bold; }
.result { margin: .6rem 0; }
.price { font-weight: bold; }
fieldset { margin: .5rem 0; border: 1px solid #ccc; }
.error { color: #a00; font-weight: bold; }
form.buy button { font-size: 1.05rem; padding: .35rem 1rem; margin-top: .5rem; cursor: pointer; }
"""


def _link(clickable: Clickable, hrefs: Mapping[str, str]) -> str:
    label = escape(clickable.label)
    href = escape(hrefs[clickable.label])
    if clickable.kind == "option":
        pressed = "true" if clickable.selected else "false"
        return f'<a class="choice" role="button" aria-pressed="{pressed}" href="{href}">{label}</a>'
    return f'<a href="{href}">{label}</a>'


def render_html(page: Page, base: str, hrefs: Mapping[str, str], buy_action: str | None = None) -> str:
    """The page as a complete HTML document.

    Args:
        page: the page.
        base: the session's path (``/s/<id>``); the search form sends ``base + "/search"``.
        hrefs: the address of every clickable's target page, by label ("Buy Now" aside).
        buy_action: where the "Buy Now" form posts (pages with "Buy Now" only).
    """
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(page.heading)} | Shop</title>",
        f"<style>{_STYLE}</style></head><body>",
        f'<p id="instruction">Instruction: {escape(page.instruction)}</p>',
        "<main>",
    ]
    if page.error:
        parts.append(f'<p class="error" role="alert">Error: {escape(page.error)}</p>')
    parts.append(f"<h1>{escape(page.heading)}</h1>")
    if page.search_box:
        parts.append(f'<form method="get" action="{escape(base)}/search" role="search">'
                     '<input type="search" name="q" aria-label="Search products" placeholder="Search products" '
                     'autocomplete="off"> <button type="submit">Search</button></form>')
    if page.navigation:
        parts.append("<nav>" + "".join(_link(c, hrefs) for c in page.navigation) + "</nav>")
    if page.kind == "results" and not page.results:
        parts.append("<p>No products match your search.</p>")
    for row in page.results:
        parts.append(f'<div class="result">{_link(Clickable(row.product_id, "product"), hrefs)} '
                     f'<span class="title">{escape(row.title)}</span> '
                     f'<span class="price">${row.price:.2f}</span></div>')
    for text in page.texts:
        parts.append(f"<p>{escape(text)}</p>")
    for name, values in page.option_groups:
        parts.append(f"<fieldset><legend>{escape(name)}</legend>"
                     + "".join(_link(c, hrefs) for c in values) + "</fieldset>")
    links = [c for c in page.actions if c.label != BUY]
    if links:
        parts.append('<div class="sub">' + "".join(_link(c, hrefs) for c in links) + "</div>")
    if any(c.label == BUY for c in page.actions):
        if buy_action is None:
            raise ValueError("a page with Buy Now needs buy_action")
        parts.append(f'<form class="buy" method="post" action="{escape(buy_action)}">'
                     f'<button type="submit">{escape(BUY)}</button></form>')
    parts.append("</main></body></html>")
    return "\n".join(parts)


__all__ = ["render_html"]
