"""``BrowserEnv``: the base of every environment played in a real Chromium.

A subclass says which page an episode starts on and how to read the page's outcome; the base
class does the rest: a fresh browser session per episode (its own context: no cookies, storage
or cache of earlier episodes, network limited to loopback), the agent's actions parsed (never
evaluated, see :mod:`agentgym.browser.action_parser`) and carried out, and an observation after
every step::

    class ClickTheButton(BrowserEnv):
        def prepare_episode(self, options):            # the caller's thread: draw the task
            self.label = self.rng.choice(["Ok", "Submit"])

        def start_url(self):
            return f"{my_server.url}/buttons.html?label={self.label}"

        def goal_text(self):
            return f'Click the "{self.label}" button.'

        def page_status(self, page):                    # the browser's thread, after each action
            clicked = page.evaluate("window.clicked")
            return PageStatus(done=clicked is not None, success=clicked == self.label)

Hooks, in the order an episode calls them:

* :meth:`prepare_episode` (the caller's thread) draws the task with ``self.rng``;
* :meth:`start_url` names the first page (it must be on loopback);
* :meth:`on_page_loaded` (the browser's thread) starts the episode inside the page;
* :meth:`goal_text` is shown at the top of every observation;
* :meth:`page_status` (the browser's thread) is asked after every step whether the episode is
  over; :meth:`on_message` answers ``send_msg_to_user(text)`` (an agent's answer) and
  :meth:`on_infeasible` ``report_infeasible(reason)`` (by default the episode ends, failed).

The observation is the page's accessibility-tree text (ids in brackets) under the goal, the
page's title and URL, the open tabs when there are several, the focused element and the last
action's error; with ``screenshot=True``
(or ``set_of_marks=True``) it is ``{"text", "image"}``, the image an ``H x W x 3`` uint8 array
of the viewport (``observation_space`` is then :func:`~agentgym.spaces.text_and_image_space`).

Failures. A bad action (unparsable, an unknown id, a refused URL) is an error observation and
the episode goes on. A browser that crashed or hung raises from ``step`` / ``reset``
(:class:`~agentgym.browser.errors.BrowserCrashed`, :class:`~agentgym.browser.errors.BrowserTimeout`):
the episode's session is released, the rollout engine records the episode as failed, and the next
``reset`` gets a session on a relaunched browser. An environment dropped in the middle of an
episode without ``close()`` has its session closed by its pool once garbage-collected (when the
pool next opens a session), so forgotten environments do not pile up open pages.
"""

from __future__ import annotations

import io
import os
import random
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, TypeVar

import numpy as np

from agentgym.browser.action_parser import (
    ACTION_GROUPS,
    ActionError,
    action_help,
    parse_actions,
    required_parameters,
    resolve_action_set,
)
from agentgym.browser.actions import ActionOutcome, execute, is_target_closed
from agentgym.browser.errors import BrowserError, BrowserTimeout
from agentgym.browser.network import allowed_url
from agentgym.browser.observe import settled, snapshot_page, tab_list
from agentgym.browser.pool import BrowserPool, check_viewport, shared_pool
from agentgym.browser.session import DEFAULT_ACTION_TIMEOUT, DEFAULT_VIEWPORT, BrowserSession, first_line
from agentgym.browser.uploads import UploadFolder
from agentgym.core import ConfigError, Feedback, InvalidAction, LLMEnv, check_flag, check_int, check_number
from agentgym.info import ErrorKind
from agentgym.spaces import text_and_image_space

T = TypeVar("T")

#: Words the random agent types into fields.
_RANDOM_WORDS = ("hello", "42", "submit", "yes", "blue", "<b>x</b>", "Paris", "2026-01-01", "")


@dataclass(frozen=True)
class PageStatus:
    """What the page says about the episode after a step.

    Attributes:
        done: the episode is over.
        success: the task was accomplished (meaningful when ``done``).
        reward: the ``outcome`` reward component when ``done``; default ``1.0`` on success,
            else ``0.0``.
        info: extra keys for the step's ``info``.
    """

    done: bool = False
    success: bool = False
    reward: float | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def outcome(self) -> float:
        return float(self.success) if self.reward is None else float(self.reward)


#: The status of a page that says nothing (the episode goes on).
GOING_ON = PageStatus()


class BrowserEnv(LLMEnv):
    """A multi-turn environment whose world is a web page in a real Chromium.

    See the module docstring for the hooks a subclass writes.

    Args:
        difficulty: one of the class's ``difficulties``.
        pool: the browsers to open sessions on; default the process-wide
            :func:`~agentgym.browser.pool.shared_pool` (``AGENTGYM_BROWSERS`` browsers).
        screenshot: observations are ``{"text", "image"}`` with a screenshot of the viewport.
        set_of_marks: draw each interactive element's id on the screenshot (implies ``screenshot``).
        dom_text: append the page's HTML (scripts and styles removed) to the text.
        show_url: show the page's URL in the observation.
        viewport: ``(width, height)`` of the page in CSS pixels (the screenshot's size).
        action_timeout: seconds one action may take, most of them spent waiting for its element
            to become actionable: an action on a covered, moving, disabled or off-page element
            fails after that long with the reason (default 2 s, see
            :data:`~agentgym.browser.session.DEFAULT_ACTION_TIMEOUT`).
        load_timeout: seconds a page load may take (a page whose server has not answered by
            then is stopped, and the action's error says so).
        actions_per_turn: the most actions one step may carry (one per line).
        action_set: the actions the agent may use: ``None`` (all), or group and action names
            (:data:`~agentgym.browser.action_parser.ACTION_GROUPS`: ``"bid"``, ``"coord"``,
            ``"keyboard"``, ``"nav"``, ``"tab"``, ``"chat"``, ``"infeas"``, ``"upload"``), e.g. ``["bid",
            "chat"]``. The instructions list only these; any other is an error observation.
            The upload actions (group ``"upload"``) are offered, by default, exactly when
            ``upload_dir`` is given.
        upload_dir: a folder whose files ``upload_file(bid, file)`` may choose, by name
            (sub-folders allowed; nothing outside it: ``..`` and links that leave it are refused).
        **kwargs: :class:`~agentgym.core.LLMEnv`'s arguments.
    """

    family: ClassVar[str] = "web"
    #: The task in prose. An instance's ``instructions`` are this followed by one line per action
    #: it offers (see ``action_set``), so a subclass writes only what its task is.
    instructions: ClassVar[str] = (
        "You operate a web browser. Each observation shows the goal, the page as an accessibility "
        "tree where every element has an id in brackets, and the error of your last action if it "
        "failed. Answer with one action, written as a function call on the last line:"
    )
    #: The browsers to run in, and the server's folder uploads come from (see LLMEnv).
    host_arguments: ClassVar[frozenset[str]] = frozenset({"pool", "upload_dir"})
    #: The actions offered unless ``action_set`` says otherwise (``None``: all of them).
    default_action_set: ClassVar[Any] = None
    example_actions: ClassVar[tuple[str, ...]] = ("noop()",)

    def __init__(
        self,
        difficulty: str | None = None,
        *,
        pool: BrowserPool | None = None,
        screenshot: bool = False,
        set_of_marks: bool = False,
        dom_text: bool = False,
        show_url: bool = True,
        viewport: tuple[int, int] = DEFAULT_VIEWPORT,
        action_timeout: float = DEFAULT_ACTION_TIMEOUT,
        load_timeout: float = 15.0,
        actions_per_turn: int = 1,
        action_set: Any = None,
        upload_dir: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(difficulty, **kwargs)
        owner = type(self).__name__
        if pool is not None and not isinstance(pool, BrowserPool):
            raise ConfigError(f"{owner}: pool must be a BrowserPool or None, got {type(pool).__name__}")
        self.pool = pool
        self.set_of_marks = check_flag(owner, "set_of_marks", set_of_marks)
        self.screenshot = check_flag(owner, "screenshot", screenshot) or self.set_of_marks
        self.dom_text = check_flag(owner, "dom_text", dom_text)
        self.show_url = check_flag(owner, "show_url", show_url)
        self.viewport = check_viewport(owner, viewport)
        self.action_timeout = check_number(owner, "action_timeout", action_timeout, minimum=0.01)
        self.load_timeout = check_number(owner, "load_timeout", load_timeout, minimum=0.01)
        self.actions_per_turn = check_int(owner, "actions_per_turn", actions_per_turn, minimum=1)
        try:
            self.uploads = None if upload_dir is None else UploadFolder(upload_dir)
        except ValueError as exc:
            raise ConfigError(f"{owner}: {exc}") from None
        spec = self.default_action_set if action_set is None else action_set
        try:
            self.action_set = resolve_action_set(spec)
        except ValueError as exc:
            raise ConfigError(f"{owner}: action_set: {exc}") from None
        if self.uploads is None and set(ACTION_GROUPS["upload"]) & set(self.action_set):
            raise ConfigError(f"{owner}: the upload actions need upload_dir (the folder whose files they may choose)")
        if self.uploads is not None and spec is None:
            self.action_set = resolve_action_set([*self.action_set, "upload"])
        self.instructions = f"{type(self).instructions}\n{action_help(self.action_set)}"
        if self.screenshot:
            width, height = self.viewport
            self.observation_space = text_and_image_space(height, width)
        self._session: BrowserSession | None = None
        self._abandon: weakref.finalize | None = None
        self._interactive: list[str] = []
        self._page_text = ""

    # ---------------------------------------------------------------- subclass hooks
    def prepare_episode(self, options: dict[str, Any]) -> None:
        """(The caller's thread.) Draw this episode's task with ``self.rng``."""

    def start_url(self) -> str:
        """The page the episode starts on (``http(s)`` on loopback, or ``about:blank``)."""
        raise NotImplementedError(f"{type(self).__name__} must define start_url()")

    def on_page_loaded(self, page: Any) -> None:
        """(The browser's thread.) Called with the Playwright page once the start page loaded."""

    def goal_text(self) -> str:
        """What the agent must do, shown at the top of every observation."""
        return ""

    def page_status(self, page: Any) -> PageStatus:
        """(The browser's thread.) Whether the episode is over, read from the page after a step.
        It only reads: when the page navigates while it runs, it is called again on the new page."""
        return GOING_ON

    def on_message(self, text: str) -> PageStatus | None:
        """The agent sent ``send_msg_to_user(text)``: its answer, for tasks that ask a question.
        Return the episode's status, or ``None`` to treat the message as a note (no effect)."""
        return None

    def on_infeasible(self, reason: str) -> PageStatus | None:
        """The agent said ``report_infeasible(reason)``: the task cannot be done. By default the
        episode ends, failed, with ``info["infeasible"] = reason``; a task that can be infeasible
        returns a success here when it is, and ``None`` lets the episode go on."""
        return PageStatus(done=True, success=False, info={"infeasible": reason})

    # ----------------------------------------------------------------- for subclasses
    def run_in_page(self, fn: Callable[[Any], T], timeout: float | None = None) -> T:
        """Run ``fn(page)`` on the browser's thread, with the episode's page.

        Raises:
            RuntimeError: no episode is running.
            BrowserError: the browser crashed or hung (see :meth:`BrowserSession.run`).
        """
        if self._session is None:
            raise RuntimeError(f"{type(self).__name__}: no episode is running; call reset() first")
        return self._session.run(fn, self.load_timeout if timeout is None else timeout)

    @property
    def session(self) -> BrowserSession | None:
        """The episode's browser session (``None`` between episodes)."""
        return self._session

    @property
    def interactive_ids(self) -> list[str]:
        """Ids of the interactive elements the last observation's tree shows (rendered ones, whether
        scrolled into view or not)."""
        return list(self._interactive)

    # -------------------------------------------------------------- LLMEnv's hooks
    def acquire_resources(self) -> None:
        pool = self.pool if self.pool is not None else shared_pool()
        self._session = pool.open_session(viewport=self.viewport, action_timeout=self.action_timeout,
                                          load_timeout=self.load_timeout)
        # Dropped without close() in the middle of an episode, the environment must not keep its
        # context and renderer process open for the rest of the process: the pool closes them.
        self._abandon = weakref.finalize(self, pool.abandon, self._session)
        self._abandon.atexit = False  # at exit the pools close everything anyway

    def release_resources(self) -> None:
        session, self._session = self._session, None
        abandon, self._abandon = self._abandon, None
        if abandon is not None:
            abandon.detach()
        if session is not None:
            session.close()

    def new_episode(self, options: dict[str, Any]) -> Any:
        self.prepare_episode(options)
        url = self.start_url()
        if not allowed_url(url):
            raise ConfigError(f"{type(self).__name__}.start_url() gave {url!r}; episodes start on loopback pages")

        def load(page: Any) -> None:
            try:
                page.goto(url, wait_until="load", timeout=self.load_timeout * 1000.0)
            except BrowserError:
                raise
            except Exception as exc:
                if is_target_closed(exc):
                    raise  # the session makes it BrowserCrashed
                if type(exc).__name__ == "TimeoutError":
                    raise BrowserTimeout(f"{type(self).__name__}: the start page {url} did not load within "
                                         f"{self.load_timeout:g} s") from exc
                raise BrowserError(f"{type(self).__name__}: the start page {url} could not be loaded: "
                                   f"{first_line(exc)}") from exc
            self.on_page_loaded(page)

        self.run_in_page(load, self.load_timeout + 5.0)
        return self._observe(None)

    def play(self, action: str) -> Feedback:
        try:
            actions = parse_actions(action, self.action_set)
        except ActionError as exc:
            raise InvalidAction(str(exc)) from None
        if len(actions) > self.actions_per_turn:
            raise InvalidAction(f"{len(actions)} actions in one turn; the limit is {self.actions_per_turn}: "
                                f"write one action per turn")
        session = self._session
        assert session is not None, "play() without an episode"
        outcome: ActionOutcome | None = None
        status: PageStatus | None = None
        for parsed in actions:
            if "file" in parsed.args:
                assert self.uploads is not None, "the upload actions are offered only with upload_dir"
                parsed, refusal = self.uploads.confine(parsed)
                if refusal is not None:
                    outcome = ActionOutcome(parsed, error=refusal)
                    break
            outcome = execute(session, parsed, self.action_timeout, load_timeout=self.load_timeout)
            if outcome.message is not None:
                hook = "on_infeasible" if parsed.name == "report_infeasible" else "on_message"
                status = self._checked_status(hook, getattr(self, hook)(outcome.message), optional=True)
            if outcome.error is not None or (status is not None and status.done):
                break
        assert outcome is not None
        if status is None or not status.done:
            # Asked again if the page navigated while the hook read it (a click that loads a page).
            status = self._checked_status(
                "page_status", self.run_in_page(lambda page: settled(page, lambda: self.page_status(page))))
        observation = self._observe(outcome)
        info: dict[str, Any] = {"action": str(outcome.action), **status.info}
        rewards: dict[str, float] = {"outcome": status.outcome} if status.done else {}
        if outcome.error is not None:
            if self.invalid_penalty:
                rewards["invalid"] = -self.invalid_penalty
            return Feedback(observation, rewards, terminated=status.done, success=status.done and status.success,
                            error=outcome.error, info=info, error_kind=ErrorKind.INVALID_ACTION)
        return Feedback(observation, rewards, terminated=status.done, success=status.done and status.success,
                        info=info)

    def _checked_status(self, hook: str, status: Any, *, optional: bool = False) -> PageStatus | None:
        """``status``, what hook ``hook`` returned, if it is a :class:`PageStatus` (or ``None``
        where ``optional``).

        Raises:
            TypeError: naming the hook, for anything else (a subclass's mistake).
        """
        if isinstance(status, PageStatus) or (optional and status is None):
            return status
        wanted = "a PageStatus or None" if optional else "a PageStatus"
        got = "None" if status is None else type(status).__name__
        raise TypeError(f"{type(self).__name__}.{hook}() must return {wanted}, got {got}")

    def random_action(self, rng: random.Random) -> str:
        """A random action on the last page: mostly clicks on its interactive elements, some
        typing, key presses, scrolling, clicks and drags at random points and waiting (what the
        random baseline plays), drawn again until it is one of the actions offered; with none of
        those offered, an offered action with random arguments of the right kinds
        (``keyboard_type('hello')``, ``send_msg_to_user('42')``, ``go_back()``...), else the last draw."""
        for _ in range(50):
            action = self._draw_random_action(rng)
            if action.split("(", 1)[0] in self.action_set:
                return action
        calls = [call for call in (self._random_call(name, rng) for name in self.action_set) if call is not None]
        return rng.choice(calls) if calls else action

    def _random_call(self, name: str, rng: random.Random) -> str | None:
        """``name`` called with random arguments for its required parameters, or ``None`` when
        one cannot be made up (an option of a drop-down list, a URL, an element on an empty page)."""
        width, height = self.viewport
        ids = self._interactive
        files = self.uploads.names() if self.uploads is not None else []
        makers: dict[str, Callable[[], Any]] = {
            "bid": lambda: rng.choice(ids) if ids else None,
            "text": lambda: rng.choice(_RANDOM_WORDS), "reason": lambda: "it cannot be done",
            "key": lambda: rng.choice(["Enter", "Tab", "ArrowDown", "Space"]),
            "x": lambda: rng.randrange(width), "y": lambda: rng.randrange(height),
            "dx": lambda: 0, "dy": lambda: rng.choice([-300, 300]), "index": lambda: 0,
            "file": lambda: rng.choice(files) if files else None,
        }
        arguments = []
        for parameter in required_parameters(name):
            kind = parameter.rsplit("_", 1)[-1]  # from_bid -> bid, to_x -> x
            value = makers[kind]() if kind in makers else None
            if value is None:
                return None
            arguments.append(repr(value))
        return f"{name}({', '.join(arguments)})"

    def _draw_random_action(self, rng: random.Random) -> str:
        ids = self._interactive
        roll = rng.random()
        if ids and roll < 0.55:
            return f"click('{rng.choice(ids)}')"
        if ids and roll < 0.70:
            return f"fill('{rng.choice(ids)}', {rng.choice(_RANDOM_WORDS)!r})"
        if roll < 0.78:
            return f"press({rng.choice(['Enter', 'Tab', 'ArrowDown', 'Space'])!r})"
        if roll < 0.86:
            return f"scroll(0, {rng.choice([-300, 300])})"
        width, height = self.viewport
        if roll < 0.91:
            return f"mouse_click({rng.randrange(width)}, {rng.randrange(height)})"
        if roll < 0.95:
            if len(ids) >= 2 and rng.random() < 0.5:
                source, target = rng.sample(ids, 2)
                return f"drag_and_drop('{source}', '{target}')"
            return (f"mouse_drag_and_drop({rng.randrange(width)}, {rng.randrange(height)}, "
                    f"{rng.randrange(width)}, {rng.randrange(height)})")
        return "noop()"

    def render_text(self) -> str:
        return self._page_text

    # ------------------------------------------------------------------ helpers
    def _observe(self, outcome: ActionOutcome | None) -> Any:
        session = self._session
        assert session is not None, "_observe() without an episode"
        snapshot, tabs = self.run_in_page(lambda page: (snapshot_page(
            page, screenshot=self.screenshot, set_of_marks=self.set_of_marks, dom_text=self.dom_text),
            tab_list(session, page)))
        self._interactive = list(snapshot.get("interactive", ()))
        lines = []
        goal = self.goal_text()
        if goal:
            lines.append(f"Goal: {goal}")
        if outcome is not None:
            lines.append(f"Last action: {outcome.action.source or outcome.action}")
            if outcome.error is not None:
                lines.append(f"Error: {outcome.error}")
        where = snapshot.get("title") or "(untitled)"
        if self.show_url:
            where += f" ({snapshot.get('url', '')})"
        lines.append(f"Page: {where}")
        if len(tabs) > 1:
            lines.append("Tabs (tab_focus(index) shows another):")
            for index, (title, url, shown) in enumerate(tabs):
                tab = f"  {index}: {title or '(untitled)'}" + (f" ({url})" if self.show_url else "")
                lines.append(tab + ("  <- this page" if shown else ""))
        focused = snapshot.get("focused")
        lines.append(f"Focused: [{focused}]" if focused else "Focused: nothing")
        lines.append("")
        lines.append(snapshot.get("text", "").rstrip() or "(the page shows nothing)")
        if self.dom_text:
            lines += ["", "HTML:", snapshot.get("dom", "")]
        text = "\n".join(lines)
        self._page_text = text
        if not self.screenshot:
            return text
        return {"text": text, "image": png_to_array(snapshot["image"])}


def png_to_array(png: bytes) -> np.ndarray:
    """PNG bytes as an ``H x W x 3`` uint8 array of its own (writable: an agent may normalise
    its observation in place)."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        return np.array(image.convert("RGB"))


__all__ = ["BrowserEnv", "GOING_ON", "PageStatus", "png_to_array"]
