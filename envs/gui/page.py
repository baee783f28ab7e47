"""What a GUI environment does inside the page (on the browser's thread): load an app, carry out
an action as real input events, read the screen back, take the screenshot.

Every function here takes the Playwright ``page`` and runs on the browser's own thread (through
:meth:`~agentgym.browser.session.BrowserSession.run`). Input goes through Chromium's input
pipeline (``page.mouse``, ``page.keyboard``), so hit testing, focus and event order are the
browser's; only the system's ``back`` / ``home`` buttons and ``open_app`` (the phone's, not
the app's) call into the runtime directly.
"""

from __future__ import annotations

import base64
import io
import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from .actions import GuiAction
from .runtime import page_html

_READY = "(nonce) => !!window.__gui && window.__gui.nonce === nonce"
_READ = "(options) => window.__gui.read(options)"
#: Chromium's answer to Page.captureScreenshot when there is no frame to read yet.
_NO_FRAME = "Unable to capture screenshot"
_NEXT_FRAME = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"
_TEXT_FOCUSED = "() => !!(document.activeElement && document.activeElement.matches('input, textarea'))"
_SCROLL_POINT = "() => window.__gui.scrollPoint()"
_SYSTEM = "(name) => window.__gui.system(name)"
_OPEN_APP = "(name) => window.__gui.openApp(name)"
#: How long a long press holds the button (the runtime's threshold is 500 ms).
LONG_PRESS_MS = 600
#: A scroll moves the content by this share of the scroll area's height (or width).
SCROLL_SHARE = 0.6


@dataclass(frozen=True)
class ScreenPoints:
    """An action's points in screen pixels: ``(x, y)`` and, for a swipe, ``(x2, y2)``."""

    x: float | None = None
    y: float | None = None
    x2: float | None = None
    y2: float | None = None


_loads = itertools.count(1)


def load_app(page: Any, spec: dict[str, Any], timeout_ms: float) -> None:
    """Replace the page's document with the app of ``spec`` and wait until its runtime has
    rendered (the runtime of *this* load: each load has its own nonce)."""
    nonce = next(_loads)
    page.set_content(page_html({**spec, "nonce": nonce}), wait_until="load", timeout=timeout_ms)
    page.wait_for_function(_READY, arg=nonce, timeout=timeout_ms)


def read_screen(page: Any, *, tree: bool) -> dict[str, Any]:
    """``{"snapshot", "elements", "tree"}`` of the page (see :mod:`~agentgym.envs.gui.runtime`)."""
    return page.evaluate(_READ, {"tree": tree})


class Screenshooter:
    """Screenshots of one page through a DevTools session (PNG, Chromium's fast encoder):
    about twice as fast as ``page.screenshot``, pixel for pixel the same viewport.

    Chromium answers "Unable to capture screenshot" while the page has no compositor frame to
    read (seen on a page that had just loaded, on a loaded machine); :meth:`png` then waits for
    the page's next frames and asks again, up to :attr:`retries` times with waits doubling from
    50 ms (2.5 s in all: 120 ms were not always enough on a machine running a test suite beside
    other work), before raising.
    """

    #: How many times a capture with no frame to read is asked again.
    retries = 6

    def __init__(self, page: Any) -> None:
        self.page = page
        self._cdp = page.context.new_cdp_session(page)

    def png(self) -> bytes:
        for attempt in range(self.retries):
            try:
                return self._capture()
            except Exception as exc:
                if _NO_FRAME not in str(exc):
                    raise
            self.page.wait_for_timeout(min(50 * 2 ** attempt, 1000))  # lets the compositor produce a frame
        return self._capture()

    def _capture(self) -> bytes:
        result = self._cdp.send("Page.captureScreenshot", {"format": "png", "optimizeForSpeed": True})
        return base64.b64decode(result["data"])

    def array(self) -> np.ndarray:
        """The viewport as an ``H x W x 3`` uint8 array."""
        return png_to_array(self.png())


def png_to_array(png: bytes) -> np.ndarray:
    """PNG bytes as an ``H x W x 3`` uint8 array (read-only: NumPy's view of the decoded image)."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"))


def perform(page: Any, action: GuiAction, points: ScreenPoints, *, viewport: tuple[int, int]) -> str | None:
    """Carry out ``action`` (its points already on the screen); ``None``, or why it did nothing
    (a message for the agent: typing with no text field focused, an unknown app)."""
    kind = action.type
    if kind == "click":
        page.mouse.click(points.x, points.y)
    elif kind == "double_click":
        page.mouse.dblclick(points.x, points.y)
    elif kind == "long_press":
        page.mouse.move(points.x, points.y)
        page.mouse.down()
        page.wait_for_timeout(action.duration_ms if action.duration_ms is not None else LONG_PRESS_MS)
        page.mouse.up()
    elif kind == "type":
        if not page.evaluate(_TEXT_FOCUSED):
            return "no text field has the focus; click a text field first, then type"
        page.keyboard.insert_text(action.text or "")
    elif kind == "scroll":
        _scroll(page, action, points, viewport)
    elif kind == "swipe":
        page.mouse.move(points.x, points.y)
        page.mouse.down()
        page.mouse.move(points.x2, points.y2, steps=8)
        page.mouse.up()
    elif kind == "key":
        page.keyboard.press(action.key or "")
    elif kind in ("back", "home"):
        page.evaluate(_SYSTEM, kind)
    elif kind == "open_app":
        if not page.evaluate(_OPEN_APP, action.app or ""):
            return f"there is no app called {action.app!r} on this phone"
    elif kind in ("wait", "finish"):
        pass
    if kind in ("scroll", "swipe", "wait"):
        page.evaluate(_NEXT_FRAME)  # let the scroll position settle before the screen is read
    return None


def _scroll(page: Any, action: GuiAction, points: ScreenPoints, viewport: tuple[int, int]) -> None:
    centre = page.evaluate(_SCROLL_POINT)
    x, y = (points.x, points.y) if points.x is not None else (centre[0], centre[1])
    height = centre[2] if len(centre) > 2 and centre[2] > 0 else viewport[1]
    width = centre[3] if len(centre) > 3 and centre[3] > 0 else viewport[0]
    dx, dy = {"down": (0, height), "up": (0, -height), "right": (width, 0), "left": (-width, 0)}[action.direction or "down"]
    page.mouse.move(x, y)
    page.mouse.wheel(dx * SCROLL_SHARE, dy * SCROLL_SHARE)


def swipe_end(action: GuiAction, start: tuple[float, float], viewport: tuple[int, int]) -> tuple[float, float]:
    """The end of a swipe given by a direction: 40% of the screen's side that way, kept on the
    screen."""
    x, y = start
    width, height = viewport
    dx, dy = {"up": (0, -0.4 * height), "down": (0, 0.4 * height), "left": (-0.4 * width, 0),
              "right": (0.4 * width, 0)}[action.direction or "up"]
    return min(max(x + dx, 0.0), width - 1.0), min(max(y + dy, 0.0), height - 1.0)


__all__ = ["LONG_PRESS_MS", "ScreenPoints", "Screenshooter", "load_app", "perform", "png_to_array", "read_screen",
           "swipe_end"]
