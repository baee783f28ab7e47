"""``MiniWoBEnv``: a MiniWoB++ task page in a real Chromium.

An episode loads one task page of the ``miniwob`` wheel from the loopback server
(:func:`~agentgym.envs.web.miniwob.server.shared_server`), seeds the page's random numbers with
``Math.seedrandom`` (a number drawn from ``self.rng``: the same seed gives the same task
instance), starts the task with ``core.startEpisodeReal()`` and waits for ``WOB_TASK_READY``.
The goal is the task's instruction (``core.getUtterance()``); the observation is the page's
accessibility tree (:class:`~agentgym.browser.BrowserEnv`). The page's reward panel and click
trace (``#reward-display``, ``#click-canvas``: beside the task, not part of it) are hidden, so
neither shows in the tree or on a screenshot; the instruction box (``#query``) stays on
screenshots but is left out of the tree, whose ``Goal:`` line says the same (BrowserGym too
gives the goal apart and empties the box).

**Time.** MiniWoB++ ends an episode after 10 to 30 seconds of wall-clock time and scales its
reward down with the time taken. Neither suits an agent that thinks for seconds per step, so
the page's limit becomes ``time_limit`` (default an hour; ``None``: no limit) and the reward
used is the page's *raw* reward, without the time decay.

**Outcome.** The episode ends when the page says so (``WOB_DONE_GLOBAL``): success is a raw
reward above ``success_threshold`` (default 0: a positive reward, the success rate of the
MiniWoB++ papers), and the ``outcome`` reward is binary, 1 on success and 0 otherwise (as in
WebAgent-R1); the raw reward (in ``[-1, 1]``) is ``info["raw_reward"]`` with the page's reason,
if any, in ``info["miniwob_reason"]``. A few tasks give partial credit that is positive for a
wrong answer: ``find-greatest`` pays 0.1 for any card but the greatest, the ``click-checkboxes``
family pays (right - wrong boxes) / boxes, so submitting with few boxes ticked can score;
``success_threshold=0.99`` counts only full marks (it also fails the geometric tasks, whose
score is a distance that is never exactly 1). Leaving the episode's page (``goto``,
``go_back``, a link that loads another page, closing its tab) ends the episode as a failure: the
task's state is gone, and another page's task must not count. The verdict is read from the
task's own tab, so another tab (``new_tab()``) leaves the task as it is.

**Screen.** The viewport defaults to :data:`MINIWOB_VIEWPORT`, 332 x 214 CSS pixels
(BrowserGym's for MiniWoB++): every task lives in a 160 x 210 area at the page's top left, so a
screenshot shows the task rather than a 1280 x 720 page that is mostly empty. The text
observation does not depend on it (the tree lists elements outside the viewport too, and
actions scroll to them); pass ``viewport=`` for another size.

**Tasks.** ``task`` names one task (``web/miniwob.<task>-v0`` passes it); without it each
episode draws a task from the included tasks of ``difficulty`` (``mixed``: all of them), see
:mod:`~agentgym.envs.web.miniwob.tasks`. ``reset(options={"task": name})`` plays ``name`` for one
episode. :meth:`MiniWoBEnv.oracle_action` solves the tasks that have a scripted oracle
(:data:`~agentgym.envs.web.miniwob.oracles.ORACLE_TASKS`).
"""

from __future__ import annotations

import random
import secrets
from typing import Any, ClassVar

from agentgym.browser.env import BrowserEnv, PageStatus
from agentgym.core import ConfigError, check_number
from agentgym.envs.web.miniwob.oracles import ORACLE_TASKS, has_oracle, next_action
from agentgym.envs.web.miniwob.server import shared_server
from agentgym.envs.web.miniwob.tasks import MiniWoBTask, included_tasks, task as find_task

__all__ = ["DATA_MODES", "MAX_TIME_LIMIT", "MINIWOB_VIEWPORT", "MiniWoBEnv"]

#: MiniWoB++'s dataset modes (``core.setDataMode``): the ``-transfer`` and ``-nl`` tasks draw
#: different instances in ``train`` and ``test``.
DATA_MODES = ("default", "train", "test")

#: The default viewport ``(width, height)``: BrowserGym's for MiniWoB++, the task's 160 x 210
#: area with a margin (see "Screen" above).
MINIWOB_VIEWPORT = (332, 214)

#: The longest ``time_limit`` in seconds (a browser timer holds at most 2**31 - 1 ms).
MAX_TIME_LIMIT = 2_000_000.0

# Hides what the page draws beside the task: the reward and timer panel, the click trace.
_HIDE_CSS = "#reward-display, #click-canvas { display: none !important; }"

# Starts the episode in the loaded page; returns an error message, or null.
_START_SCRIPT = r"""
(arg) => {
  if (typeof core === "undefined" || typeof core.startEpisodeReal !== "function" || typeof genProblem !== "function") {
    return "the page is not a MiniWoB++ task (no core.startEpisodeReal or genProblem)";
  }
  const style = document.createElement("style");
  style.textContent = arg.css;
  (document.head || document.documentElement).appendChild(style);
  const query = document.getElementById("query");  // the instruction: the Goal line of the text
  if (query) query.setAttribute("aria-hidden", "true");
  core.setDataMode(arg.mode);
  Math.seedrandom(arg.seed);
  if (arg.limitMs !== null) core.EPISODE_MAX_TIME = arg.limitMs;
  core.startEpisodeReal();
  if (arg.limitMs === null) {
    // No limit: cancel the episode's timer. endEpisode only needs EP_TIMER to be non-null.
    clearTimeout(core.EP_TIMER);
    core.EP_TIMER = -1;
    core.clearTimer();
  }
  window.__agentgymMiniwobEpisode = arg.token;
  return null;
}
"""

# The instruction, and the task's area (#wrap: 160 x 210 at the top left on every page of the wheel).
_GOAL_SCRIPT = r"""
() => {
  const said = core.getUtterance();  // a few tasks return {utterance, fields}
  const text = typeof said === "string" ? said : (said && said.utterance) || "";
  const wrap = document.getElementById("wrap");
  const r = wrap ? wrap.getBoundingClientRect() : null;
  const area = r && r.width >= 1 && r.height >= 1
    ? [Math.floor(r.left), Math.floor(r.top), Math.floor(r.width), Math.floor(r.height)] : null;
  return {goal: String(text).replace(/\s+/g, " ").trim(), area: area};
}
"""

# The page's verdict; null when the page is not the episode's page any more.
_STATUS_SCRIPT = r"""
(token) => {
  if (window.__agentgymMiniwobEpisode !== token || typeof WOB_DONE_GLOBAL === "undefined") return null;
  let reason = typeof WOB_REWARD_REASON === "undefined" ? null : WOB_REWARD_REASON;
  if (reason !== null && typeof reason !== "string") {
    try { reason = JSON.stringify(reason); } catch (e) { reason = String(reason); }
  }
  return {done: WOB_DONE_GLOBAL === true, raw: Number(WOB_RAW_REWARD_GLOBAL), reason: reason};
}
"""


class MiniWoBEnv(BrowserEnv):
    """A MiniWoB++ task played in a real Chromium (see the module docstring).

    Args:
        difficulty: without ``task``, the pool episodes draw from: ``mixed`` (every included
            task; the default), ``easy``, ``medium`` or ``hard``. With ``task`` it may only be
            omitted or name that task's own rating.
        task: a task name such as ``"click-button"`` (every episode plays it).
        time_limit: seconds of page time an episode may last before the page ends it as a
            failure (default 3600; ``None``: no limit). MiniWoB++'s own limit is 10-30 s.
        data_mode: MiniWoB++'s dataset mode, one of :data:`DATA_MODES`.
        success_threshold: the raw reward an episode must exceed to succeed, in ``[-1, 1)``.
        show_url: show the page's URL in observations (default off: the loopback port changes
            from process to process, the page's title names the task anyway).
        viewport: ``(width, height)`` of the page in CSS pixels, the screenshot's size (default
            :data:`MINIWOB_VIEWPORT`, see "Screen" in the module docstring).
        **kwargs: :class:`~agentgym.browser.BrowserEnv`'s arguments (``pool``, ``screenshot``,
            ``set_of_marks``...).

    Raises:
        ConfigError: an unknown task or difficulty, a bad ``time_limit``, ``data_mode`` or
            ``success_threshold``.
    """

    difficulties: ClassVar[tuple[str, ...]] = ("mixed", "easy", "medium", "hard")
    instructions: ClassVar[str] = (
        "You solve a small task on a web page (MiniWoB++). The goal is stated at the top of each "
        "observation. " + BrowserEnv.instructions
    )

    def __init__(
        self,
        difficulty: str | None = None,
        *,
        task: str | None = None,
        time_limit: float | None = 3600.0,
        data_mode: str = "default",
        success_threshold: float = 0.0,
        show_url: bool = False,
        viewport: tuple[int, int] = MINIWOB_VIEWPORT,
        **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        fixed: MiniWoBTask | None = None
        if task is not None:
            fixed = _find(owner, task)
            if difficulty is not None and difficulty != fixed.difficulty:
                raise ConfigError(f"{owner}: task {fixed.name!r} is rated {fixed.difficulty!r}; difficulty chooses "
                                  f"the pool of tasks to draw from when no task is given, so leave it out "
                                  f"(or pass {fixed.difficulty!r})")
            difficulty = fixed.difficulty
        super().__init__(difficulty, show_url=show_url, viewport=viewport, **kwargs)
        if time_limit is not None:
            time_limit = check_number(owner, "time_limit", time_limit, minimum=0.001)
            if time_limit > MAX_TIME_LIMIT:
                raise ConfigError(f"{owner}: time_limit is at most {MAX_TIME_LIMIT:.0f} seconds (a browser timer's "
                                  f"range), got {time_limit!r}; pass None for no limit")
        if data_mode not in DATA_MODES:
            raise ConfigError(f"{owner}: data_mode must be one of {', '.join(DATA_MODES)}, got {data_mode!r}")
        success_threshold = check_number(owner, "success_threshold", success_threshold, minimum=-1.0)
        if success_threshold >= 1.0:
            raise ConfigError(f"{owner}: success_threshold must be below 1 (the best raw reward), "
                              f"got {success_threshold!r}")
        self.success_threshold = success_threshold
        self.time_limit = time_limit
        self.data_mode = data_mode
        self.fixed_task = fixed
        #: The tasks an episode draws from (one when ``task`` is given).
        self.task_pool: tuple[MiniWoBTask, ...] = (fixed,) if fixed is not None else included_tasks(
            None if self.difficulty == "mixed" else self.difficulty)
        self.task: MiniWoBTask | None = None
        self.page_seed: int | None = None
        self._goal = ""
        self._area: tuple[int, int, int, int] | None = None
        self._token = ""
        self._task_page: Any = None  # the Playwright page the task was loaded in
        self._oracle_memory: dict[str, Any] = {}

    # ------------------------------------------------------------------ BrowserEnv's hooks
    def prepare_episode(self, options: dict[str, Any]) -> None:
        chosen = options.get("task")
        if chosen is not None:
            self.task = _find(f"{type(self).__name__}.reset", chosen)
        elif len(self.task_pool) == 1:
            self.task = self.task_pool[0]
        else:
            self.task = self.rng.choice(self.task_pool)
        self.page_seed = self.rng.randrange(2**31)
        self._token = secrets.token_hex(8)
        self._task_page = None
        self._goal = ""
        self._area = None
        self._oracle_memory = {}

    def start_url(self) -> str:
        assert self.task is not None
        return shared_server().task_url(self.task.name)

    def on_page_loaded(self, page: Any) -> None:
        assert self.task is not None and self.page_seed is not None
        limit_ms = None if self.time_limit is None else max(1, round(self.time_limit * 1000.0))
        problem = page.evaluate(_START_SCRIPT, {"css": _HIDE_CSS, "mode": self.data_mode, "seed": self.page_seed,
                                                "limitMs": limit_ms, "token": self._token})
        if problem:
            raise RuntimeError(f"MiniWoB++ task {self.task.name!r}: {problem}")
        page.wait_for_function("() => WOB_TASK_READY === true", polling=20, timeout=self.load_timeout * 1000.0)
        self._task_page = page
        found = page.evaluate(_GOAL_SCRIPT)
        self._goal = found["goal"]
        self._area = tuple(found["area"]) if found["area"] else None

    def goal_text(self) -> str:
        return self._goal

    def page_status(self, page: Any) -> PageStatus:
        """The verdict of the task's own tab (``page``, the tab shown, may be another one the
        agent opened); a closed task tab, or one showing another page, left the task."""
        task_page = self._task_page
        state = None if task_page is None or task_page.is_closed() else _task_state(task_page, self._token,
                                                                                   self.load_timeout)
        name = self.task.name if self.task is not None else None
        if state is None:
            return PageStatus(done=True, success=False, info={
                "miniwob_task": name, "raw_reward": None, "miniwob_reason": "left the task page"})
        if not state["done"]:
            return PageStatus(info={"miniwob_task": name})
        raw = float(state["raw"])
        success = raw > self.success_threshold
        return PageStatus(done=True, success=success, reward=1.0 if success else 0.0,
                          info={"miniwob_task": name, "raw_reward": raw, "miniwob_reason": state["reason"]})

    def on_infeasible(self, reason: str) -> PageStatus | None:
        """:meth:`BrowserEnv.on_infeasible` (the episode ends, failed: no MiniWoB++ task is
        infeasible), with the keys every end of a MiniWoB++ episode puts in ``info``: the
        task, no raw reward (the page gave none) and the reason."""
        status = super().on_infeasible(reason)
        if status is not None:
            status.info.update({"miniwob_task": self.task.name if self.task is not None else None,
                                "raw_reward": None,
                                "miniwob_reason": f"the agent reported the task infeasible: {reason}"})
        return status

    # ------------------------------------------------------------------ LLMEnv's hooks
    def random_action(self, rng: random.Random) -> str:
        """:meth:`BrowserEnv.random_action`, its clicks at random points drawn inside the task's
        area (the page's ``#wrap``, 160 x 210 pixels) rather than the whole viewport (inside the
        part of the area in view, when the viewport is smaller)."""
        action = super().random_action(rng)
        area = self._area_in_view()
        if action.startswith("mouse_click(") and area is not None:
            left, top, width, height = area
            action = f"mouse_click({left + rng.randrange(width)}, {top + rng.randrange(height)})"
        return action

    def _area_in_view(self) -> tuple[int, int, int, int] | None:
        """The task's area cut to the viewport, as ``(left, top, width, height)``; ``None``
        when it is unknown or out of view."""
        if self._area is None:
            return None
        left, top, width, height = self._area
        right, bottom = min(left + width, self.viewport[0]), min(top + height, self.viewport[1])
        left, top = max(left, 0), max(top, 0)
        return (left, top, right - left, bottom - top) if right > left and bottom > top else None

    def oracle_action(self) -> str:
        """The scripted oracle's next action for this episode's task (it reads the page).

        Raises:
            RuntimeError: no episode has started (no task is drawn yet).
            NotImplementedError: the task has no oracle (see ``ORACLE_TASKS``).
            OracleError: the oracle did not find what it looks for on the page.
        """
        if self.task is None:
            raise RuntimeError(f"{type(self).__name__}: no episode is running; call reset() first")
        if not has_oracle(self.task.name):
            raise NotImplementedError(f"MiniWoB++ task {self.task.name!r} has no scripted oracle; the "
                                      f"{len(ORACLE_TASKS)} that have one are "
                                      f"agentgym.envs.web.miniwob.oracles.ORACLE_TASKS")
        name = self.task.name
        memory = self._oracle_memory
        return self.run_in_page(lambda page: next_action(page, name, memory))


def _task_state(page: Any, token: str, load_timeout: float) -> dict[str, Any] | None:
    """(The browser's thread.) ``_STATUS_SCRIPT``'s answer in ``page``."""
    try:
        return page.evaluate(_STATUS_SCRIPT, token)
    except Exception:  # noqa: BLE001 - a navigation under way destroyed the context: read the new page
        page.wait_for_load_state("load", timeout=load_timeout * 1000.0)
        return page.evaluate(_STATUS_SCRIPT, token)


def _find(owner: str, name: Any) -> MiniWoBTask:
    try:
        return find_task(name)
    except ValueError as exc:
        raise ConfigError(f"{owner}: {exc}") from None
