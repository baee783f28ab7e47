"""``GuiEnv``: the base of the GUI environments -- a generated app in a real Chromium, seen as a
screenshot (and/or an accessibility tree) and operated with coordinate actions.

An environment holds a browser session (its own context, network limited to loopback, from a
:class:`~agentgym.browser.BrowserPool`); each episode replaces the page's document, so nothing of
earlier episodes remains (the apps keep their state in page memory only), and ``fresh_context=True``
opens a new context per episode. An episode loads the app a subclass draws
(:meth:`GuiEnv.draw_app`, an app spec rendered by :mod:`~agentgym.envs.gui.runtime` with
``page.set_content``: no server, no network), and shows it.

Observations (``view``):

* ``"screenshot"`` (default) -- ``{"text", "image"}``: the task, the history and the frame's
  rule for coordinates as text; the screen as an ``H x W x 3`` uint8 array (the screenshot, or
  the resized image in the ``resized`` frame), writable and the agent's own (no two
  observations share one);
* ``"text"`` -- a string: the same text plus the screen as an accessibility tree, one line per
  element with its id, role, name, state and box (``[12] switch "Wi-Fi" checked
  box=(24,310,388,366)``), so text-only models can play (click by ``"element": 12`` or by
  coordinates);
* ``"both"`` -- the tree in the text and the image.

Actions are JSON (:mod:`~agentgym.envs.gui.actions`) in a declared coordinate frame
(:mod:`~agentgym.envs.gui.frames`: ``pixels``, ``normalized_1000``, ``resized``), carried out
as real input events (:mod:`~agentgym.envs.gui.page`). A bad action -- unparsable, a NaN or an
off-screen coordinate, an unknown element, text over the limit, typing with no field focused --
is an error observation (``info["error"]``, ``info["error_kind"] == "invalid"``) and the
episode goes on; nothing the agent writes raises.

What every sample records, for reward providers (:mod:`agentgym.rewards.gui`'s contract):
``reset``'s ``info["gui"]`` = ``{"task", "frame", "device", "view", "screen"}``, and every
step's ``info["gui"]`` = ``{"task", "frame", "predicted", "target", "hit", "screen"}`` where
``frame`` is :meth:`~agentgym.envs.gui.frames.CoordinateFrame.describe`, ``predicted`` the
parsed action in the frame (``None`` when it did not parse; an element click is recorded at the
element's centre), ``target`` what the task wanted (``None`` where a task has no per-step
target), ``hit`` the id of the element a click reached (``None`` if none).
"""

from __future__ import annotations

import json
import random
from typing import Any, ClassVar

import numpy as np

from agentgym.browser.errors import BrowserError
from agentgym.browser.pool import BrowserPool, shared_pool
from agentgym.browser.session import BrowserSession
from agentgym.core import ConfigError, Feedback, LLMEnv, check_flag, check_int, check_number
from agentgym.info import ErrorKind
from agentgym.spaces import UnicodeText, text_and_image_space

from .actions import POINT_ACTIONS, ActionError, GuiAction, action_help, parse_action
from .frames import DEFAULT_MAX_SIDE, CoordinateFrame
from .page import ScreenPoints, Screenshooter, load_app, perform, png_to_array, read_screen, swipe_end
from .themes import DEVICE_SIZES, DEVICES

VIEWS = ("screenshot", "text", "both")
ANSWER_FORMATS = ("json", "think_answer")
_RANDOM_WORDS = ("hello", "Ada", "42", "milk", "test@example.com", "", "x" * 30)


class GuiEnv(LLMEnv):
    """A task in a generated app (see the module docstring).

    Args:
        difficulty: ``easy``, ``medium`` or ``hard`` (density, target size, distractors).
        device: ``desktop`` (1280 x 800) or ``phone`` (412 x 915); default the task's.
        frame: the coordinate frame, ``pixels`` (default), ``normalized_1000`` or ``resized``.
        max_side, multiple_of: the size of the ``resized`` frame's image (longer side; each side
            a multiple of ``multiple_of``, e.g. 28 for Qwen2-VL).
        view: ``screenshot`` (default), ``text`` or ``both``.
        answer_format: ``json`` (a bare JSON action) or ``think_answer`` (``<think>...</think>
            <answer>{...}</answer>``); what the instructions ask for and the format reward checks.
            Both shapes parse either way.
        history_length: how many earlier steps the text shows.
        pool: the browsers; default the process-wide :func:`~agentgym.browser.shared_pool`.
        action_timeout, load_timeout: seconds an action / loading the app may take.
        max_text_chars: the longest text one ``type`` action may enter.
        fresh_context: open a new browser context for every episode. By default an environment
            keeps its context and page from one episode to the next and replaces the document
            (the apps keep their state in page memory only: no cookies, storage or cache), which
            saves the context's creation at every reset; a context that failed (a crash, a
            timeout) is always replaced.
        **kwargs: :class:`~agentgym.core.LLMEnv`'s arguments.
    """

    family: ClassVar[str] = "gui"
    #: Arguments that reach the host (see LLMEnv.host_arguments): the browsers to run in.
    host_arguments: ClassVar[frozenset[str]] = frozenset({"pool"})
    difficulties: ClassVar[tuple[str, ...]] = ("easy", "medium", "hard")
    #: The task's name in ``info["gui"]["task"]``.
    task_name: ClassVar[str] = "gui"
    default_device: ClassVar[str] = "phone"
    #: What the task is about, first paragraph of the instructions.
    task_help: ClassVar[str] = ""

    def __init__(
        self,
        difficulty: str | None = None,
        *,
        device: str | None = None,
        frame: str = "pixels",
        max_side: int = DEFAULT_MAX_SIDE,
        multiple_of: int = 1,
        view: str = "screenshot",
        answer_format: str = "json",
        history_length: int = 8,
        pool: BrowserPool | None = None,
        action_timeout: float = 5.0,
        load_timeout: float = 15.0,
        max_text_chars: int = 500,
        fresh_context: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(difficulty, **kwargs)
        owner = type(self).__name__
        device = self.default_device if device is None else device
        if device not in DEVICES:
            raise ConfigError(f"{owner}: device must be one of {', '.join(DEVICES)}, got {device!r}")
        if view not in VIEWS:
            raise ConfigError(f"{owner}: view must be one of {', '.join(VIEWS)}, got {view!r}")
        if answer_format not in ANSWER_FORMATS:
            raise ConfigError(f"{owner}: answer_format must be one of {', '.join(ANSWER_FORMATS)}, got {answer_format!r}")
        if pool is not None and not isinstance(pool, BrowserPool):
            raise ConfigError(f"{owner}: pool must be a BrowserPool or None, got {type(pool).__name__}")
        try:
            self.frame = CoordinateFrame.make(frame, DEVICE_SIZES[device], max_side=max_side, multiple_of=multiple_of)
        except ConfigError as exc:
            raise ConfigError(f"{owner}: {exc}") from None
        self.device = device
        self.screen_size = DEVICE_SIZES[device]
        self.view = view
        self.answer_format = answer_format
        self.history_length = check_int(owner, "history_length", history_length, minimum=0)
        self.pool = pool
        self.action_timeout = check_number(owner, "action_timeout", action_timeout, minimum=0.01)
        self.load_timeout = check_number(owner, "load_timeout", load_timeout, minimum=0.01)
        self.max_text_chars = check_int(owner, "max_text_chars", max_text_chars, minimum=1)
        self.fresh_context = check_flag(owner, "fresh_context", fresh_context)
        width, height = self.frame.image
        self.observation_space = UnicodeText() if view == "text" else text_and_image_space(height, width)
        self.instructions = self._instructions()
        self._session: BrowserSession | None = None
        self._shooter: Screenshooter | None = None
        self._read: dict[str, Any] = {}
        self._image: np.ndarray | None = None  # read-only; every observation gets a copy
        self._predicted: dict[str, Any] | None = None
        self._session_failed = False
        self._spec: dict[str, Any] | None = None
        self._png: bytes | None = None
        self._history: list[str] = []
        self._text = ""

    # ---------------------------------------------------------------- subclass hooks
    def draw_app(self, options: dict[str, Any]) -> dict[str, Any]:
        """(The caller's thread.) The app spec of this episode, drawn with ``self.rng``."""
        raise NotImplementedError

    def episode_started(self) -> None:
        """Called once the app is loaded and read (``self.elements`` is filled): choose the
        target, replay a prefix... May call :meth:`reload` to start over with another app."""

    def goal_text(self) -> str:
        """The task, first line of every observation."""
        return ""

    def act(self, action: GuiAction, points: ScreenPoints) -> Feedback:
        """Carry out a parsed, valid action and score it (see :meth:`execute`, :meth:`feedback`)."""
        raise NotImplementedError

    # ----------------------------------------------------------------- for subclasses
    @property
    def elements(self) -> list[dict[str, Any]]:
        """The interactive elements in view after the last step (screen pixels)."""
        return self._read.get("elements", [])

    @property
    def screen(self) -> dict[str, Any]:
        """The runtime's snapshot after the last step: screen, overlay, focus, state..."""
        return self._read.get("snapshot", {})

    def element(self, element_id: int) -> dict[str, Any] | None:
        return next((e for e in self.elements if e["id"] == element_id), None)

    def element_by_key(self, key: str) -> dict[str, Any] | None:
        return next((e for e in self.elements if e.get("key") == key), None)

    def run_in_page(self, fn: Any, timeout: float | None = None) -> Any:
        """Run ``fn(page)`` on the browser's thread (see :meth:`BrowserSession.run`)."""
        if self._session is None:
            raise RuntimeError(f"{type(self).__name__}: no episode is running; call reset() first")
        try:
            return self._session.run(fn, self.load_timeout if timeout is None else timeout)
        except BrowserError:
            self._session_failed = True  # released at the episode's end, never reused
            raise

    @property
    def app_spec(self) -> dict[str, Any] | None:
        """The spec of the app on the screen (:func:`~agentgym.envs.gui.runtime.page_html` renders it)."""
        return self._spec

    def reload(self, spec: dict[str, Any]) -> None:
        """Load app ``spec`` into the page (replacing the current one) and read it."""
        ms = self.load_timeout * 1000.0
        self._spec = spec

        def load(page: Any) -> None:
            load_app(page, spec, ms)
            if self._shooter is None and self.view != "text":
                self._shooter = Screenshooter(page)
            self._capture(page)

        self.run_in_page(load, self.load_timeout + 5.0)
        self._develop()

    def capture(self) -> None:
        """Read the screen and take the screenshot again (after actions run with ``shoot=False``)."""
        self.run_in_page(self._capture)
        self._develop()

    def execute(self, action: GuiAction, points: ScreenPoints, *, shoot: bool = True, draw: bool = True) -> str | None:
        """Carry out ``action`` in the page and read the screen back; ``None``, or why the
        action did nothing (for the agent). ``shoot=False``: the screenshot is taken but not
        kept (a replayed step nobody sees, whose screen a later screenshot builds on);
        ``draw=False``: none is taken (steps of a page that is reloaded afterwards)."""
        hold = (action.duration_ms or 600) / 1000.0 if action.type == "long_press" else 0.0

        def run(page: Any) -> str | None:
            problem = perform(page, action, points, viewport=self.screen_size)
            self._capture(page, shoot=shoot, draw=draw)
            return problem

        problem = self.run_in_page(run, self.action_timeout + hold + 5.0)
        self._develop()
        return problem

    def feedback(self, action: GuiAction | None, *, rewards: dict[str, float] | None = None, terminated: bool = False,
                 success: bool = False, error: str | None = None, target: dict[str, Any] | None = None,
                 extra: dict[str, Any] | None = None) -> Feedback:
        """The step's :class:`Feedback`: the observation after it (with ``error`` shown), and
        ``info["gui"]`` as the module docstring describes (``predicted`` as read before the
        action ran: an element click at the element's centre then)."""
        record = {"task": self.task_name, "frame": self.frame.describe(),
                  "predicted": None if action is None else self._predicted, "target": target,
                  "hit": self.screen.get("last_click") if action is not None and action.type in POINT_ACTIONS else None,
                  "screen": self.screen.get("screen")}
        if extra:
            record.update(extra)
        if action is not None and error is None:
            self.remember(action)
        observation = self.observation(error)
        rewards = dict(rewards or {})
        if error is not None:
            if self.invalid_penalty:
                rewards["invalid"] = rewards.get("invalid", 0.0) - self.invalid_penalty
            return Feedback(observation, rewards, terminated=terminated, success=success, error=error,
                            info={"gui": record}, error_kind=ErrorKind.INVALID_ACTION)
        return Feedback(observation, rewards, terminated=terminated, success=success, info={"gui": record})

    def predicted(self, action: GuiAction) -> dict[str, Any]:
        """``action`` as ``info["gui"]["predicted"]`` records it (an element click at the
        element's centre, in the frame)."""
        record = action.predicted()
        if action.element is not None:
            element = self.element(action.element)
            if element is not None:
                record["x"], record["y"] = self.frame.from_screen(*_centre(element["box"]))
        return record

    def remember(self, action: GuiAction) -> None:
        """Add ``action`` to the history the observation shows."""
        self._history.append(action.to_json())

    def target_record(self, element: dict[str, Any], *, kind: str = "click", **more: Any) -> dict[str, Any]:
        """``info["gui"]["target"]`` for an element: its box in the frame and on the screen."""
        return {"type": kind, "box": self.frame.box_from_screen(element["box"]), "screen_box": list(element["box"]),
                "element": element["id"], "role": element["role"], "label": element["label"], **more}

    def point_json(self, kind: str, box: list[float], **more: Any) -> str:
        """A JSON action at the centre of screen box ``box``, written in the frame."""
        x, y = self.frame.from_screen(*_centre(box))
        return json.dumps({"action": kind, "x": round(x, 1), "y": round(y, 1), **more}, ensure_ascii=False)

    # -------------------------------------------------------------- LLMEnv's hooks
    def acquire_resources(self) -> None:
        session = self._session
        if session is not None and (self.fresh_context or self._session_failed or not session.usable):
            self._drop_session()
        if self._session is None:
            pool = self.pool if self.pool is not None else shared_pool()
            self._session = pool.open_session(viewport=self.screen_size, action_timeout=self.action_timeout,
                                              load_timeout=self.load_timeout)

    def release_resources(self) -> None:
        """The episode is over: its page is kept for the next one (see ``fresh_context``),
        unless it failed or ``fresh_context`` is set."""
        session = self._session
        if session is not None and (self.fresh_context or self._session_failed or not session.usable):
            self._drop_session()

    def close(self) -> None:
        """End the episode and close the environment's browser context (the pool's browsers
        stay; closing the pool ends them)."""
        try:
            super().close()
        finally:
            self._drop_session()

    def _drop_session(self) -> None:
        session, self._session = self._session, None
        self._shooter = None
        self._session_failed = False
        if session is not None:
            session.close()

    def new_episode(self, options: dict[str, Any]) -> Any:
        self._history = []
        self._read, self._image = {}, None
        self.reload(self.draw_app(options))
        self.episode_started()
        return self.observation(None)

    def play(self, action: str) -> Feedback:
        try:
            parsed = parse_action(action, self.frame, allow_elements=self.view != "screenshot",
                                  max_text_chars=self.max_text_chars)
            points = self.resolve(parsed)
        except ActionError as exc:
            return self.feedback(None, error=str(exc), target=self.current_target())
        self._predicted = self.predicted(parsed)  # before the action changes the screen
        return self.act(parsed, points)

    def current_target(self) -> dict[str, Any] | None:
        """What the task wants at this step (recorded with an action that did not parse)."""
        return None

    def step(self, action: Any) -> tuple[Any, float, bool, bool, Any]:
        observation, reward, terminated, truncated, info = super().step(action)
        if "gui" not in info:  # refused before play(): not text, or longer than max_action_chars
            info["gui"] = {"task": self.task_name, "frame": self.frame.describe(), "predicted": None,
                           "target": self.current_target(), "hit": None, "screen": self.screen.get("screen")}
            observation = self.observation(info["error"])
        return observation, reward, terminated, truncated, info

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, Any]:
        observation, info = super().reset(seed=seed, options=options)
        info["gui"] = {"task": self.task_name, "frame": self.frame.describe(), "device": self.device,
                       "view": self.view, "screen": self.screen.get("screen")}
        return observation, info

    def random_action(self, rng: random.Random) -> str:
        """A random action: mostly a click on a random element in view (somewhere in its box),
        sometimes a click anywhere, typing, scrolling, back, a key, or finishing (6%: an
        episode of the random agent lasts about 16 steps)."""
        roll = rng.random()
        elements = self.elements
        if elements and roll < 0.6:
            box = rng.choice(elements)["box"]
            x, y = self.frame.from_screen(rng.uniform(box[0], box[2] - 0.01), rng.uniform(box[1], box[3] - 0.01))
            return json.dumps({"action": "click", "x": down_to_tenth(x), "y": down_to_tenth(y)})
        if roll < 0.7:
            x, y = rng.uniform(0, self.frame.extent[0] - 1), rng.uniform(0, self.frame.extent[1] - 1)
            return json.dumps({"action": "click", "x": down_to_tenth(x), "y": down_to_tenth(y)})
        if roll < 0.78:
            return json.dumps({"action": "type", "text": rng.choice(_RANDOM_WORDS)})
        if roll < 0.85:
            return json.dumps({"action": "scroll", "direction": rng.choice(["up", "down"])})
        if roll < 0.9:
            return json.dumps({"action": "back"})
        if roll < 0.94:
            return json.dumps({"action": "key", "key": rng.choice(["Enter", "Tab", "Backspace"])})
        return json.dumps({"action": "finish"})

    def render_text(self) -> str:
        return self._text

    # ------------------------------------------------------------------ helpers
    def resolve(self, action: GuiAction) -> ScreenPoints:
        """The action's points on the screen (an element id becomes its centre).

        Raises:
            ActionError: an element id that is not on the screen.
        """
        if action.element is not None:
            element = self.element(action.element)
            if element is None:
                raise ActionError(f"there is no element [{action.element}] on the screen; use an id shown in brackets")
            x, y = _centre(element["box"])
            return ScreenPoints(x, y)
        if action.x is None or action.y is None:
            return ScreenPoints()
        x, y = self.frame.to_screen(action.x, action.y)
        if action.type != "swipe":
            return ScreenPoints(x, y)
        if action.x2 is not None and action.y2 is not None:
            x2, y2 = self.frame.to_screen(action.x2, action.y2)
        else:
            x2, y2 = swipe_end(action, (x, y), self.screen_size)
        return ScreenPoints(x, y, x2, y2)

    def observation(self, error: str | None) -> Any:
        lines = [f"Task: {self.goal_text()}"]
        history = self._history[-self.history_length:] if self.history_length else []
        if history:
            first = len(self._history) - len(history) + 1
            lines.append("Previous actions:")
            lines += [f"  {first + i}. {entry}" for i, entry in enumerate(history)]
        title = self.screen.get("title") or ""
        where = f'Screen: "{title}"' if title else "Screen:"
        lines.append(f"{where} ({self.device}, {self.screen_size[0]}x{self.screen_size[1]}). {self.frame.prompt_text()}")
        if error is not None:
            lines.append(f"Error: {error}")
        if self.view != "screenshot":
            lines.append("Elements:")
            lines += self.tree_lines()
        text = "\n".join(lines)
        self._text = text
        if self.view == "text":
            return text
        assert self._image is not None
        return {"text": text, "image": self._image.copy()}  # the agent's own, writable

    def tree_lines(self) -> list[str]:
        """The accessibility tree as text lines (boxes in the frame, rounded)."""
        lines = []
        for node in self._read.get("tree") or []:
            indent = "  " * node["depth"]
            label = _quote(node["label"])
            if node["id"] is None:
                role = "StaticText" if node["role"] == "text" else node["role"]
                lines.append(f"{indent}{role} {label}" if node["label"] else f"{indent}{role}")
                continue
            state = node.get("state") or {}
            parts = [f"{indent}[{node['id']}] {node['role']} {label}"]
            if node.get("detail"):
                parts.append(f"detail={_quote(node['detail'])}")
            for flag in ("checked", "pressed", "selected", "focused"):
                if state.get(flag):
                    parts.append(flag)
            if "value" in state and state["value"] is not None:
                parts.append(f"value={_quote(str(state['value']))}")
            box = self.frame.box_from_screen(node["box"])
            parts.append("box=({},{},{},{})".format(*(round(v) for v in box)))
            lines.append(" ".join(parts))
        return lines or ["(nothing on the screen)"]

    def _capture(self, page: Any, *, shoot: bool = True, draw: bool = True) -> None:
        """(The browser's thread.) Read the screen and take the screenshot (PNG bytes, decoded
        by :meth:`_develop` in the caller's thread, so that the browser's thread is free for
        the other environments on it meanwhile)."""
        self._read = read_screen(page, tree=self.view != "screenshot")
        self._png = self._shooter.png() if self._shooter is not None and draw else None
        if not shoot:
            # Drawn all the same, and thrown away: Chromium re-rasterises only what changed
            # since the last frame, so frames of every step keep the pixels of later screenshots
            # independent of timing (a replay without them can differ by one level in anti-aliased
            # edges from the same screen reached step by step).
            self._png = None

    def _develop(self) -> None:
        """(The caller's thread.) The screenshot taken last as the image the agent sees."""
        png, self._png = self._png, None
        if png is not None:
            self._image = self.frame.image_of(png_to_array(png))

    def _instructions(self) -> str:
        answer = ('Think first inside <think>...</think>, then give the JSON action inside <answer>...</answer>: '
                  '<think>your reasoning</think><answer>{"action": ...}</answer>.'
                  if self.answer_format == "think_answer" else "Answer with the JSON action only, nothing else.")
        view = {"screenshot": "Each observation is a screenshot of the screen with the task and the earlier actions.",
                "text": "Each observation lists the screen's elements as an accessibility tree: an id in brackets, "
                        "the role, the name, the state and the box (left, top, right, bottom); you may click an "
                        'element by id, as {"action": "click", "element": 12}.',
                "both": "Each observation is a screenshot plus the screen's elements as an accessibility tree "
                        "(ids in brackets, boxes as left, top, right, bottom); you may click an element by id, "
                        'as {"action": "click", "element": 12}.'}[self.view]
        return "\n".join(part for part in (self.task_help, view, self.frame.prompt_text(), action_help(), answer) if part)


def _centre(box: list[float]) -> tuple[float, float]:
    return (box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def down_to_tenth(value: float) -> float:
    """``value`` cut to one decimal (down, so that a point stays on the screen)."""
    return int(value * 10) / 10


__all__ = ["ANSWER_FORMATS", "GuiEnv", "VIEWS", "down_to_tenth"]
