"""What the agent sees of a page: an accessibility-tree text with element ids, and optionally a
screenshot (with a set-of-marks overlay) and the DOM as HTML.

The tree text has one line per meaningful visible element, indented by depth::

    [12] button "Submit"
    [15] textbox "Name" value="abc" focused
    [18] link "Next page"
    [20] checkbox "Agree" checked
    [22] combobox "Size" value="M" options=[S, M, L]
    [30] StaticText "Some text the page shows"

``[n]`` is the element's id (its ``data-agentgym-bid`` attribute, stable for the life of the
page; see :mod:`agentgym.browser.scripts`), then its role, its accessible name (``aria-labelledby``,
``aria-label``, ``<label>``, ``placeholder``, ``alt``, its text, ``title``) and its state
(``value=``, ``options=``, ``checked``, ``selected``, ``expanded``, ``disabled``, ``required``,
``focused``; ``file-input`` and the chosen ``files=[...]`` on a file field, which reads as a
button; ``clickable`` on a generic element with a click handler -- an ``onclick`` attribute or
property, or a ``click``/``dblclick`` listener the page added, jQuery's included --
a tab stop or a pointer cursor, and a nameless one's first classes as ``class="..."``, the only
hint an icon gives of what it does). Text not inside a named element is shown as ``StaticText``
lines, with the id of the element holding it when that element has no other children. Hidden
elements (``display:none``, ``visibility:hidden``, ``opacity:0``, ``aria-hidden``, and what a
box of no height or width clips away: a menu collapsed with ``max-height: 0``) are skipped;
long names and texts are cut (the page's title and URL too), and the tree stops at
:data:`MAX_LINES` lines or :data:`MAX_TREE_CHARS` characters with a line saying how many more
were left out.
Open shadow roots are walked; the contents of iframes are not (an ``iframe`` line is shown).
The page is read once its images have loaded (``<img>`` elements and the images its styles
name), or after :data:`IMAGE_WAIT_MS`: an icon drawn from an image has no size, so no line, until
the image is in, and the tree would otherwise depend on the loading's timing. An image that
outlasts one wait is not waited for again on that document.
:func:`tab_list` names the session's open tabs, for an observation to list when there are several.
"""

from __future__ import annotations

from typing import Any, Callable, TypedDict, TypeVar

from agentgym.browser.scripts import MARKS_CALL, SNAPSHOT_CALL, UNMARKS_CALL
from agentgym.browser.session import BrowserSession

T = TypeVar("T")

#: Per-observation limits: characters of a name (the page's title too), of a text line (the
#: page's URL too), lines and characters of the tree, characters of the DOM text.
MAX_NAME_CHARS = 100
MAX_TEXT_CHARS = 200
MAX_LINES = 2000
MAX_TREE_CHARS = 300_000
MAX_DOM_CHARS = 100_000
#: How long an observation waits for the page's images still loading (an icon drawn from an
#: image has no size until its image is in: the tree would depend on the loading's timing).
IMAGE_WAIT_MS = 2000


class Observation(TypedDict, total=False):
    """What :func:`observe` returns."""

    #: The accessibility-tree text.
    text: str
    url: str
    title: str
    #: The id of the focused element, or ``None``.
    focused: str | None
    #: Ids of the interactive elements shown in the tree (what set-of-marks labels).
    interactive: list[str]
    #: The screenshot as PNG bytes (only with ``screenshot=True``).
    image: bytes
    #: The page's ``<body>`` as HTML without scripts and styles, a password field's value as
    #: bullets as in the tree (only with ``dom_text=True``).
    dom: str


def snapshot_page(page: Any, *, screenshot: bool = False, set_of_marks: bool = False,
                  dom_text: bool = False) -> Observation:
    """(On the browser's thread.) The observation of ``page``; see :func:`observe`."""
    options = {"maxNameChars": MAX_NAME_CHARS, "maxTextChars": MAX_TEXT_CHARS, "maxLines": MAX_LINES,
               "maxChars": MAX_TREE_CHARS, "domText": dom_text, "maxDomChars": MAX_DOM_CHARS,
               "imageWaitMs": IMAGE_WAIT_MS}
    result: dict[str, Any] = evaluate_settled(page, SNAPSHOT_CALL, options)
    observation: Observation = {
        "text": well_formed(result["text"]),
        "url": _cut(well_formed(result["url"]), MAX_TEXT_CHARS),
        "title": _cut(well_formed(result["title"]), MAX_NAME_CHARS),
        "focused": result["focused"],
        "interactive": list(result["interactive"]),
    }
    if dom_text:
        observation["dom"] = well_formed(result.get("dom", ""))
    if screenshot or set_of_marks:
        observation["image"] = _screenshot(page, observation["interactive"] if set_of_marks else None)
    return observation


def well_formed(text: str) -> str:
    """``text`` with lone UTF-16 surrogates (which JavaScript strings may hold, and which no
    UTF-8 encoder or tokenizer accepts) replaced by U+FFFD."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _cut(text: str, limit: int) -> str:
    """``text``, or its first ``limit - 1`` characters and "…" (as the tree cuts its texts)."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


#: Errors of ``page.evaluate`` that mean the document was replaced while the script ran.
_NAVIGATED = ("Execution context was destroyed", "Cannot find context with specified id")


def navigation_race(exc: BaseException) -> bool:
    """``exc`` says the page's document was replaced (a navigation) while a script ran in it."""
    text = str(exc)
    return any(needle in text for needle in _NAVIGATED)


def settled(page: Any, fn: Callable[[], T], *, attempts: int = 4, load_ms: float = 5000.0) -> T:
    """(On the browser's thread.) ``fn()``, called again on the new document when the page
    navigated while it ran (a link the agent clicked, a script that moves the page on); the page
    is given up to ``load_ms`` to reach DOMContentLoaded before each new attempt. Other errors,
    and the last attempt's, propagate."""
    for attempt in range(attempts):
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - only navigation races are retried
            if attempt == attempts - 1 or page.is_closed() or not navigation_race(exc):
                raise
        try:
            page.wait_for_load_state("domcontentloaded", timeout=load_ms)
        except Exception:  # noqa: BLE001 - a slow page is observed as it is
            pass
    raise AssertionError("unreachable")


def evaluate_settled(page: Any, script: str, arg: Any = None) -> Any:
    """(On the browser's thread.) ``page.evaluate(script, arg)`` through :func:`settled`."""
    return settled(page, lambda: page.evaluate(script, arg))


def _screenshot(page: Any, marks: list[str] | None) -> bytes:
    if marks is None:
        return page.screenshot(type="png", animations="disabled", caret="initial")
    evaluate_settled(page, MARKS_CALL, marks)
    try:
        return page.screenshot(type="png", animations="disabled", caret="initial")
    finally:
        evaluate_settled(page, UNMARKS_CALL)


def tab_list(session: BrowserSession, page: Any) -> list[tuple[str, str, bool]]:
    """(On the browser's thread.) ``(title, url, shown)`` of each open tab when there are
    several (``shown``: it is ``page``); an empty list for one tab (nothing to show)."""
    pages = session.pages_here()
    if len(pages) < 2:
        return []
    tabs = []
    for tab in pages:
        try:
            title = tab.title()
        except Exception:  # noqa: BLE001 - a tab navigating or closing: its URL still tells it
            title = ""
        tabs.append((well_formed(title)[:MAX_NAME_CHARS], well_formed(tab.url)[:MAX_TEXT_CHARS], tab is page))
    return tabs


def observe(session: BrowserSession, *, screenshot: bool = False, set_of_marks: bool = False,
            dom_text: bool = False, timeout: float | None = None) -> Observation:
    """Observe the session's page (on its browser's thread).

    Returns ``{"text", "url", "title", "focused", "interactive"}``, plus ``"image"`` (PNG
    bytes of the viewport) with ``screenshot=True`` — drawn with the set-of-marks overlay (a box
    and the id on every interactive element in view) when ``set_of_marks=True``, which implies a
    screenshot — and ``"dom"`` with ``dom_text=True``.

    Raises what :meth:`BrowserSession.run` raises (``BrowserTimeout``, ``BrowserCrashed``...).
    """
    return session.run(lambda page: snapshot_page(page, screenshot=screenshot, set_of_marks=set_of_marks,
                                                  dom_text=dom_text), timeout)
