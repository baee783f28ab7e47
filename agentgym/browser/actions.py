"""Browser actions: parse the agent's text (:func:`parse_actions`, see
:mod:`agentgym.browser.action_parser` for the action set and the parsing rules) and carry one
out on a session's page (:func:`execute`).

:func:`execute` never raises for anything the agent did: an unknown id, a hidden element, a
Playwright error, an action that timed out or a navigation outside loopback becomes
:attr:`ActionOutcome.error`, a message written for the agent. Only a dead or hung browser
raises (:class:`~agentgym.browser.errors.BrowserCrashed`,
:class:`~agentgym.browser.errors.BrowserTimeout`): the episode cannot go on. A page the action
opened whose server has not answered within the load timeout has its loading stopped (the page
shown stays), and the error says so: Playwright evaluates nothing while a navigation is pending.

Text given to ``fill`` or ``keyboard_type`` is typed as text: ``<script>`` stays characters in a
field and never runs. A date, time, month, week or colour field that drops a ``fill`` text in
another format (the browser does so silently) makes the action an error naming the format
(:data:`VALUE_FORMATS`). The files of ``upload_file`` / ``mouse_upload_file`` are used as given:
:class:`~agentgym.browser.env.BrowserEnv` has already confined them to its upload folder.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable
from urllib.parse import urljoin

from agentgym.browser.action_parser import (
    ACTION_PARAMS,
    ActionError,
    BrowserAction,
    action_help,
    parse_actions,
    signature,
)
from agentgym.browser.errors import BrowserError
from agentgym.browser.network import allowed_url, refusal
from agentgym.browser.scripts import BID_ATTRIBUTE, INSPECT_CALL
from agentgym.browser.session import MAX_TABS, BrowserSession

#: Seconds :func:`execute` allows beyond the action's own timeout before the browser counts as hung.
HANG_MARGIN_S = 5.0


@dataclass(frozen=True)
class ActionOutcome:
    """What one action did.

    Attributes:
        action: the action.
        error: why it failed, written for the agent; ``None`` when it worked.
        message: the text of ``send_msg_to_user`` or the reason of ``report_infeasible``
            (``None`` for other actions).
    """

    action: BrowserAction
    error: str | None = None
    message: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def execute(session: BrowserSession, action: BrowserAction, timeout: float = 5.0, *,
            load_timeout: float | None = None) -> ActionOutcome:
    """Carry out ``action`` on the session's page (on its browser's thread).

    Args:
        session: the page's session.
        action: a parsed action.
        timeout: seconds the action may take (Playwright's actionability waits included);
            ``noop(wait_ms)`` waits the time it names, even a longer one.
        load_timeout: seconds a navigation (``goto``, ``go_back``, a click that loads a page)
            may take; default ``timeout``.

    Returns:
        The outcome; ``outcome.error`` says why the action failed.

    Raises:
        BrowserCrashed: the browser or the page died.
        BrowserTimeout: the browser hung (the action ran ``HANG_MARGIN_S`` beyond its limits).
        SessionClosed: the session was closed.
    """
    if action.name in _MESSAGES:
        return ActionOutcome(action, message=action.args[_MESSAGES[action.name]])
    if action.name == "noop" and action.args["wait_ms"] > 0:
        # Waited here, on the caller's thread, for as long as asked (not bounded by ``timeout``):
        # the page's clock runs on in Chromium, and the browser's thread stays free for its other pages.
        time.sleep(action.args["wait_ms"] / 1000.0)
    load = timeout if load_timeout is None else load_timeout
    run = _RUNNERS.get(action.name) or partial(_TAB_RUNNERS[action.name], session)

    def act(page: Any) -> ActionOutcome:
        deadline = time.monotonic() + max(timeout, load)
        outcome = attempt(page)
        if not page.is_closed() and _stopped_late_navigation(session, page, deadline):
            late = f"the page it opened did not answer within {load:g} s, so loading was stopped"
            error = f"{outcome.error}; {late}" if outcome.error else f"{action.source or action}: {late}"
            outcome = ActionOutcome(action, error=error, message=outcome.message)
        return outcome

    def attempt(page: Any) -> ActionOutcome:
        try:
            return ActionOutcome(action, error=run(page, action.args, timeout * 1000.0, load * 1000.0))
        except BrowserError:
            raise
        except ActionError as exc:
            return ActionOutcome(action, error=str(exc))
        except Exception as exc:  # noqa: BLE001 - Playwright's errors become the agent's messages
            if is_target_closed(exc):
                if "crash" in str(exc).lower() or not session.worker.browser_alive():
                    raise  # the session turns it into BrowserCrashed
                if page.is_closed():
                    return ActionOutcome(action)  # it closed its tab (window.close()): the next tab is shown
                return ActionOutcome(action, error="the page was closed while the action ran; the page "
                                                   "text now shows the remaining tab")
            if _done_then_navigating(exc):
                return ActionOutcome(action)  # the page it opened is waited for (or stopped) by act
            return ActionOutcome(action, error=describe_playwright_error(action, exc, timeout))

    return session.run(act, max(timeout, load) + HANG_MARGIN_S)


def _done_then_navigating(exc: BaseException) -> bool:
    """``exc`` is Playwright's timeout of an action that was done and then waited for the page it
    opened: the last step of its call log (that wait is bounded by the load timeout instead)."""
    lines = str(exc).strip().splitlines()
    return (type(exc).__name__ == "TimeoutError" and bool(lines)
            and lines[-1].strip() == "- waiting for scheduled navigations to finish")


def _stopped_late_navigation(session: BrowserSession, page: Any, deadline: float) -> bool:
    """Wait until ``deadline`` (``time.monotonic()``) for a navigation of ``page`` that waits for
    its server (a link or form the action followed, a page script's move, a ``goto``); stop its
    loading if it still waits then, and say so. Playwright evaluates nothing in a page while a
    navigation is pending: a server that does not answer would hold the next observation past
    its limit, a hung browser killed with every page on it."""
    while session.navigation_pending_here(page):
        left = deadline - time.monotonic()
        if left <= 0:
            _stop_loading(page)
            session.forget_navigation_here(page)
            return True
        try:
            page.wait_for_timeout(min(50.0, left * 1000.0))  # takes in the events meanwhile
        except Exception:  # noqa: BLE001 - a tab that closed meanwhile has nothing to stop
            if page.is_closed():
                return False
            raise
    return False


# ---------------------------------------------------------------------- runners
# Each runner does one action on the page and returns None, or an error message for the agent.
_Runner = Callable[[Any, dict[str, Any], float, float], "str | None"]


def _element(page: Any, bid: str, *, need_visible: bool = True) -> Any:
    info = page.evaluate(INSPECT_CALL, bid)
    if not info.get("found"):
        raise ActionError(f"there is no element [{bid}] on this page; use an id shown in brackets in the page text")
    if need_visible and not info.get("visible"):
        raise ActionError(f"element [{bid}] is not visible; scroll to it or pick a visible element")
    return page.locator(f'[{BID_ATTRIBUTE}="{bid}"]').first


def _settle(page: Any, load_ms: float) -> None:
    """Let a navigation the action started reach DOMContentLoaded."""
    try:
        page.wait_for_load_state("domcontentloaded", timeout=load_ms)
    except Exception as exc:  # noqa: BLE001 - a slow page is observed as it is
        if is_target_closed(exc) and not page.is_closed():
            raise  # the browser died (a tab the action closed is no error)


def _pointer_options(args: dict[str, Any]) -> dict[str, Any]:
    """``button`` and, when some are asked for, ``modifiers``: Playwright presses exactly the
    modifiers it is given, so an empty list would lift the keys held by ``keyboard_down``."""
    options: dict[str, Any] = {"button": args["button"]}
    if args["modifiers"]:
        options["modifiers"] = list(args["modifiers"])
    return options


def _click(page: Any, args: dict[str, Any], ms: float, load_ms: float) -> None:
    _element(page, args["bid"]).click(timeout=ms, **_pointer_options(args))
    _settle(page, load_ms)


def _dblclick(page: Any, args: dict[str, Any], ms: float, load_ms: float) -> None:
    _element(page, args["bid"]).dblclick(timeout=ms, **_pointer_options(args))
    _settle(page, load_ms)


def _hover(page: Any, args: dict[str, Any], ms: float, load_ms: float) -> None:
    _element(page, args["bid"]).hover(timeout=ms)


def _focus(page: Any, args: dict[str, Any], ms: float, load_ms: float) -> None:
    _element(page, args["bid"], need_visible=False).focus(timeout=ms)


#: Fields that hold a value only in one format, and that format. A text in another one is
#: dropped by the browser without an error (``fill`` of "01/31/2016" into a date field leaves it
#: empty; an unknown colour becomes black), so :func:`_fill` checks what the field took.
VALUE_FORMATS = {
    "date": "the date as YYYY-MM-DD (e.g. 2016-01-31)",
    "time": "the time as HH:MM, 24-hour (e.g. 14:05)",
    "datetime-local": "the date and time as YYYY-MM-DDTHH:MM (e.g. 2016-01-31T14:05)",
    "month": "the month as YYYY-MM (e.g. 2016-01)",
    "week": "the week as YYYY-Www (e.g. 2016-W05)",
    "color": "the colour as #rrggbb (e.g. #ff0000)",
}


def _fill(page: Any, args: dict[str, Any], ms: float, load_ms: float) -> str | None:
    bid, text = args["bid"], args["text"]
    element = _element(page, bid)
    element.fill(text, timeout=ms)
    try:
        kind, value = element.evaluate("(el) => el instanceof HTMLInputElement ? [el.type, el.value] : ['', '']",
                                       timeout=ms)
    except Exception as exc:  # noqa: BLE001 - the page moved on (a change that submits): nothing to check
        if is_target_closed(exc):
            raise
        return None
    wanted = text.strip().lower()
    took = value.lower() == wanted if kind == "color" else bool(value) or not wanted
    if kind in VALUE_FORMATS and not took:
        shown = text if len(text) <= 60 else text[:57] + "..."
        return f"[{bid}] is a {kind} field and did not take {shown!r}; write {VALUE_FORMATS[kind]}"
    return None


def _clear(page: Any, args: dict[str, Any], ms: float, load_ms: float) -> None:
    _element(page, args["bid"]).clear(timeout=ms)


def _check(page: Any, args: dict[str, Any], ms: float, load_ms: float) -> None:
    _element(page, args["bid"]).check(timeout=ms)


def _uncheck(page: Any, args: dict[str, Any], ms: float, load_ms: float) -> None:
    _element(page, args["bid"]).uncheck(timeout=ms)


_OPTIONS_SCRIPT = """(el) => el instanceof HTMLSelectElement
    ? Array.from(el.options).map((o) => [o.value, (o.label || o.textContent).replace(/\\s+/g, ' ').trim()])
    : null"""


def _select_option(page: Any, args: dict[str, Any], ms: float, load_ms: float) -> str | None:
    bid = args["bid"]
    locator = _element(page, bid)
    options = locator.evaluate(_OPTIONS_SCRIPT)
    if options is None:
        return f"element [{bid}] is not a drop-down list (<select>); use click for other elements"
    wanted = args["options"] if isinstance(args["options"], list) else [args["options"]]
    if len(wanted) > 1 and not locator.evaluate("(el) => el.multiple"):
        # Playwright would choose the first and drop the others without a word.
        return (f"[{bid}] holds one option at a time (it is not a multi-select list); "
                f"choose one, e.g. select_option('{bid}', {wanted[0]!r})")
    values = []
    for choice in wanted:
        value = _match_option(options, choice)
        if value is None:
            shown = ", ".join(label for _, label in options[:30])
            return f"[{bid}] has no option {choice!r}; its options are: {shown}"
        values.append(value)
    locator.select_option(value=values, timeout=ms)
    _settle(page, load_ms)
    return None


def _match_option(options: list[list[str]], choice: str) -> str | None:
    """The value of the option whose value or label is ``choice`` (exact, then ignoring case and
    surrounding spaces)."""
    for value, label in options:
        if choice in (value, label):
            return value
    folded = " ".join(choice.split()).casefold()
    for value, label in options:
        if folded in (value.strip().casefold(), label.casefold()):
            return value
    return None


def _press(page: Any, args: dict[str, Any], ms: float, load_ms: float) -> None:
    if args["bid"] is None:
        page.keyboard.press(args["key"])
    else:
        _element(page, args["bid"]).press(args["key"], timeout=ms)
    _settle(page, load_ms)


def _keyboard_press(page: Any, args: dict[str, Any], ms: float, load_ms: float) -> None:
    page.keyboard.press(args["key"])
    _settle(page, load_ms)


def _keyboard_type(page: Any, args: dict[str, Any], ms: float, load_ms: float) -> None:
    page.keyboard.type(args["text"])


def _keyboard_insert_text(page: Any, args: dict[str, Any], ms: float, load_ms: float) -> None:
    page.keyboard.insert_text(args["text"])  # one input event, no key events


def _keyboard_down(page: Any, args: dict[str, Any], ms: float, load_ms: float) -> None:
    page.keyboard.down(args["key"])  # held until keyboard_up, across turns


def _keyboard_up(page: Any, args: dict[str, Any], ms: float, load_ms: float) -> None:
    page.keyboard.up(args["key"])
    _settle(page, load_ms)


_NEXT_FRAME = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"


def _scroll(page: Any, args: dict[str, Any], ms: float, load_ms: float) -> None:
    page.mouse.wheel(args["dx"], args["dy"])
    page.evaluate(_NEXT_FRAME)


#: Pointer moves sent between a drag's press and release: pages (jQuery UI's draggables and
#: sortables, canvas drawing) act on the moves in between, not only on the two ends.
DRAG_STEPS = 10


def _outside(page: Any, *points: tuple[float, float]) -> str | None:
    """Why one of ``points`` cannot be pointed at (outside the viewport), or ``None``."""
    size = page.viewport_size or {"width": 0, "height": 0}
    for x, y in points:
        if not (0 <= x < size["width"] and 0 <= y < size["height"]):
            return (f"({x:g}, {y:g}) is outside the page's viewport (0..{size['width'] - 1}, "
                    f"0..{size['height'] - 1})")
    return None


def _at_point(act: Callable[[Any, float, float, dict[str, Any], float, float], "str | None"]) -> _Runner:
    """The runner of a pointer action at ``(args["x"], args["y"])``: refused outside the
    viewport, else ``act(page, x, y, args, ms, load_ms)``."""
    def run(page: Any, args: dict[str, Any], ms: float, load_ms: float) -> str | None:
        x, y = args["x"], args["y"]
        return _outside(page, (x, y)) or act(page, x, y, args, ms, load_ms)
    return run


@_at_point
def _scroll_at(page: Any, x: float, y: float, args: dict[str, Any], ms: float, load_ms: float) -> None:
    page.mouse.move(x, y)
    page.mouse.wheel(args["dx"], args["dy"])
    page.evaluate(_NEXT_FRAME)


@_at_point
def _mouse_click(page: Any, x: float, y: float, args: dict[str, Any], ms: float, load_ms: float) -> None:
    page.mouse.click(x, y, button=args["button"])
    _settle(page, load_ms)


@_at_point
def _mouse_dblclick(page: Any, x: float, y: float, args: dict[str, Any], ms: float, load_ms: float) -> None:
    page.mouse.dblclick(x, y, button=args["button"])
    _settle(page, load_ms)


@_at_point
def _mouse_move(page: Any, x: float, y: float, args: dict[str, Any], ms: float, load_ms: float) -> None:
    page.mouse.move(x, y, steps=DRAG_STEPS)


@_at_point
def _mouse_down(page: Any, x: float, y: float, args: dict[str, Any], ms: float, load_ms: float) -> None:
    page.mouse.move(x, y)
    page.mouse.down(button=args["button"])


@_at_point
def _mouse_up(page: Any, x: float, y: float, args: dict[str, Any], ms: float, load_ms: float) -> None:
    page.mouse.move(x, y, steps=DRAG_STEPS)
    page.mouse.up(button=args["button"])
    _settle(page, load_ms)


def _mouse_drag_and_drop(page: Any, args: dict[str, Any], ms: float, load_ms: float) -> str | None:
    start, end = (args["from_x"], args["from_y"]), (args["to_x"], args["to_y"])
    error = _outside(page, start, end)
    if error is None:
        page.mouse.move(*start)
        page.mouse.down()
        page.mouse.move(*end, steps=DRAG_STEPS)
        page.mouse.up()
        _settle(page, load_ms)
    return error


def _drag_and_drop(page: Any, args: dict[str, Any], ms: float, load_ms: float) -> None:
    source, target = _element(page, args["from_bid"]), _element(page, args["to_bid"])
    source.drag_to(target, timeout=ms, steps=DRAG_STEPS)
    _settle(page, load_ms)


def _choose_files(page: Any, click: Callable[[], None], files: list[str], ms: float, what: str) -> str | None:
    """Click (``click()``), answer the file chooser it opens with ``files``; an error message
    when none opens."""
    clicked = False
    try:
        with page.expect_file_chooser(timeout=ms) as chooser:
            # Waiting for a chooser asks the driver, without awaiting it, to intercept choosers; a
            # round trip to the page lands after that request, so the click cannot come first (a
            # bare mouse click did, about one time in five, and its chooser went unseen).
            page.evaluate("0")
            click()  # its own failure (a covered element...) is described like any click's
            clicked = True
    except Exception as exc:  # noqa: BLE001 - no chooser is the agent's mistake, a dead page is not
        if clicked and type(exc).__name__ == "TimeoutError" and not page.is_closed():
            return f"clicking {what} opened no file chooser; click a file field or its button"
        raise
    chooser.value.set_files(files, timeout=ms)
    return None


def _upload_file(page: Any, args: dict[str, Any], ms: float, load_ms: float) -> str | None:
    element = _element(page, args["bid"])
    return _choose_files(page, lambda: element.click(timeout=ms), args["file"], ms, f"[{args['bid']}]")


@_at_point
def _mouse_upload_file(page: Any, x: float, y: float, args: dict[str, Any], ms: float,
                       load_ms: float) -> str | None:
    return _choose_files(page, lambda: page.mouse.click(x, y), args["file"], ms, f"({x:g}, {y:g})")


#: A loopback address written without ``http://``, as in an address bar (``localhost:8000/page``):
#: not a scheme (``localhost:``) nor a path on the current site (``127.0.0.1:8000/page``).
_BARE_LOOPBACK = re.compile(r"^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d{1,5})?(?:[/?#]|$)", re.IGNORECASE)


def _goto(page: Any, args: dict[str, Any], ms: float, load_ms: float) -> str | None:
    url = args["url"]
    if _BARE_LOOPBACK.match(url):
        target = "http://" + url
    else:
        target = url if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", url) else urljoin(page.url, url)
    if not target.lower().startswith(("http://", "https://")) or not allowed_url(target):
        return refusal(url)
    return _load(page, lambda: page.goto(target, timeout=load_ms, wait_until="load"), load_ms, repr(url))


def _go_back(page: Any, args: dict[str, Any], ms: float, load_ms: float) -> str | None:
    history = _navigation_history(page)
    if history is not None:
        index, urls = history
        # The blank page a tab opens on is no page to go back to (going there loses the task).
        if index <= 0 or urls[index - 1] in ("", "about:blank"):
            return "there is no earlier page to go back to"
    responses: list[Any] = []
    error = _load(page, lambda: responses.append(page.go_back(timeout=load_ms, wait_until="load")), load_ms,
                  "the earlier page")
    if error is None and responses[0] is None and page.url in ("", "about:blank"):
        return "there is no earlier page to go back to"
    return error


def _go_forward(page: Any, args: dict[str, Any], ms: float, load_ms: float) -> str | None:
    history = _navigation_history(page)
    if history is not None and history[0] >= len(history[1]) - 1:
        return "there is no later page to go forward to"
    return _load(page, lambda: page.go_forward(timeout=load_ms, wait_until="load"), load_ms, "the later page")


def _load(page: Any, navigate: Callable[[], Any], load_ms: float, what: str) -> str | None:
    """``navigate()``, a Playwright navigation bounded by ``load_ms``; when it times out, the
    error names ``what`` (a page whose server has not answered by then is stopped by
    :func:`execute`)."""
    try:
        navigate()
    except Exception as exc:  # noqa: BLE001 - only the timeout is handled here
        if type(exc).__name__ != "TimeoutError" or page.is_closed():
            raise
        return f"{what} did not finish loading within {load_ms / 1000.0:g} s"
    return None


def _stop_loading(page: Any) -> None:
    """Stop the page's navigation and loading (Chromium's DevTools protocol); what the page
    showed, or what of the new page had arrived, stays."""
    try:
        cdp = page.context.new_cdp_session(page)
    except Exception:  # noqa: BLE001 - not Chromium, or the page is going away
        return
    try:
        cdp.send("Page.stopLoading")
    except Exception:  # noqa: BLE001 - a page going away has nothing left to stop
        pass
    finally:
        try:
            cdp.detach()
        except Exception:  # noqa: BLE001
            pass


def _navigation_history(page: Any) -> tuple[int, list[str]] | None:
    """The tab's history as ``(current index, URLs)`` (Chromium's DevTools protocol); ``None``
    when it cannot be read."""
    try:
        cdp = page.context.new_cdp_session(page)
    except Exception:  # noqa: BLE001 - not Chromium, or the page is going away
        return None
    try:
        history = cdp.send("Page.getNavigationHistory")
        return int(history["currentIndex"]), [entry.get("url", "") for entry in history["entries"]]
    except Exception:  # noqa: BLE001
        return None
    finally:
        try:
            cdp.detach()
        except Exception:  # noqa: BLE001
            pass


def _noop(page: Any, args: dict[str, Any], ms: float, load_ms: float) -> None:
    # The wait itself is over (see execute); a round trip to the driver takes in what the page
    # did meanwhile (a popup it opened becomes the page shown).
    page.wait_for_timeout(0)


# Tab runners also get the session, whose active page they change (see BrowserSession).
def _new_tab(session: BrowserSession, page: Any, args: dict[str, Any], ms: float, load_ms: float) -> str | None:
    if len(session.pages_here()) >= MAX_TABS:
        return f"at most {MAX_TABS} tabs may be open; close one with tab_close() first"
    session.activate_here(page.context.new_page())
    return None


def _tab_focus(session: BrowserSession, page: Any, args: dict[str, Any], ms: float, load_ms: float) -> str | None:
    pages, index = session.pages_here(), args["index"]
    if index >= len(pages):
        return f"there is no tab {index}; the open tabs are numbered 0 to {len(pages) - 1}"
    session.activate_here(pages[index])
    pages[index].bring_to_front()
    return None


def _tab_close(session: BrowserSession, page: Any, args: dict[str, Any], ms: float, load_ms: float) -> None:
    page.close()  # the newest remaining tab is shown next (a blank one if none is left)


_RUNNERS: dict[str, _Runner] = {
    "click": _click, "dblclick": _dblclick, "hover": _hover, "focus": _focus, "fill": _fill,
    "clear": _clear, "check": _check, "uncheck": _uncheck, "select_option": _select_option,
    "press": _press, "keyboard_press": _keyboard_press, "keyboard_type": _keyboard_type,
    "keyboard_insert_text": _keyboard_insert_text, "keyboard_down": _keyboard_down, "keyboard_up": _keyboard_up,
    "drag_and_drop": _drag_and_drop, "scroll": _scroll, "scroll_at": _scroll_at, "mouse_click": _mouse_click,
    "mouse_dblclick": _mouse_dblclick, "mouse_move": _mouse_move, "mouse_down": _mouse_down, "mouse_up": _mouse_up,
    "mouse_drag_and_drop": _mouse_drag_and_drop, "goto": _goto, "go_back": _go_back, "go_forward": _go_forward,
    "noop": _noop, "upload_file": _upload_file, "mouse_upload_file": _mouse_upload_file,
}
_TAB_RUNNERS: dict[str, Callable[..., "str | None"]] = {
    "new_tab": _new_tab, "tab_focus": _tab_focus, "tab_close": _tab_close,
}
#: Actions that only say something to the task (BrowserEnv.on_message / on_infeasible): the
#: argument holding their text.
_MESSAGES = {"send_msg_to_user": "text", "report_infeasible": "reason"}
assert set(_RUNNERS) | set(_TAB_RUNNERS) | set(_MESSAGES) == set(ACTION_PARAMS), "every action needs a runner"


# -------------------------------------------------------------- error messages
def is_target_closed(exc: BaseException) -> bool:
    """``exc`` is Playwright saying that the page, its context or the browser is gone."""
    name = type(exc).__name__
    text = str(exc)
    return name == "TargetClosedError" or "Target crashed" in text or "Browser has been closed" in text


_LOG_HINTS = (
    ("intercepts pointer events", "another element covers it"),
    ("element is not enabled", "it is disabled"),
    ("element is not editable", "it is not editable"),
    ("element is not visible", "it is not visible"),
    ("element is outside of the viewport", "it is outside the page"),
    ("element is not stable", "it keeps moving"),
    ("not an <input>", "it is not a text field"),
    ("Not a checkbox or radio button", "it is not a checkbox or radio button"),
    ("Clicking the checkbox did not change its state", "its state did not change"),
    ("Cannot uncheck radio button", "a radio button cannot be unchecked; pick another option instead"),
    ("Unknown key", "that key name is unknown (use names like 'Enter', 'Tab', 'ArrowDown', 'Control+a')"),
    ("net::ERR_BLOCKED_BY_CLIENT", "only pages on this machine can be opened"),
    ("net::ERR_CONNECTION_REFUSED", "nothing answers at that address"),
)


def describe_playwright_error(action: BrowserAction, exc: BaseException, timeout: float) -> str:
    """A one-sentence message for the agent about why Playwright could not do ``action``."""
    text = str(exc)
    reason = None
    for needle, hint in _LOG_HINTS:
        if needle in text:
            reason = hint
            break
    what = action.source or str(action)
    timed_out = type(exc).__name__ == "TimeoutError" or "Timeout" in text.split("\n", 1)[0]
    if timed_out:
        return f"{what} did not finish within {timeout:g} s" + (f": {reason}" if reason else "")
    if reason:
        return f"{what} failed: {reason}"
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    first = re.sub(r"^(?:\w+\.\w+: )?(?:Error: )?", "", first)
    return f"{what} failed: {first[:300]}"


__all__ = ["ACTION_PARAMS", "ActionError", "ActionOutcome", "BrowserAction", "action_help", "describe_playwright_error",
           "execute", "is_target_closed", "parse_actions", "signature"]
