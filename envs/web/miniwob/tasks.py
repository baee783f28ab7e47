"""The MiniWoB++ tasks: names read from the ``miniwob`` wheel, with difficulty and needs.

Every page under the wheel's ``html/miniwob/`` folder is a task named by its file (``click-button``
for ``click-button.html``). :data:`TASKS` rates the 130 pages of ``miniwob`` 1.1.0; a page that a
later wheel adds is still a task (:func:`task`), rated ``hard`` until someone rates it.

**Difficulty** (our judgement, one rule for all; the MiniWoB++ papers publish no such split):

* ``easy`` -- at most about three actions on elements the instruction names outright (click
  the "Ok" button; type the given text and submit; pick the named option).
* ``medium`` -- a handful of actions, or one small step of lookup or reasoning between
  reading and acting: find the item behind tabs, sections or menus, read a table, do simple
  arithmetic, operate a standard widget (slider, spinner, scroll list).
* ``hard`` -- long workflows (email client, social feed, flight booking, terminal), widgets
  with their own state (date pickers, autocomplete, colour wheels, text editor), visual or
  geometric reasoning over SVG and canvas drawings (shapes, angles, coordinates, colours), or
  a page that changes by itself (stock prices).

**Typing**: :attr:`MiniWoBTask.needs_typing` says the solution enters text (``fill`` or
``keyboard_type``), not only clicks and key presses.

Tasks that need a drag (boxes, shapes, sortable lists, text selection, drawing, a resize
handle) are in: the action language has ``drag_and_drop``, ``mouse_drag_and_drop`` and
``mouse_down`` / ``mouse_move`` / ``mouse_up`` (the button held across turns).

**Excluded** tasks register like the others (``web/miniwob.<name>-v0`` can be made, e.g. to
study them) but stay out of the suites, each for its stated reason: the task scores wall-clock
timing or pointer speed (a step-based agent's pace is not under its control), it shows its
information only as an animation before the first observation, or it never ends an episode.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DIFFICULTIES", "MiniWoBTask", "TASKS", "included_tasks", "task", "task_names", "wheel_task_names"]

DIFFICULTIES = ("easy", "medium", "hard")

_EXCLUDED = {
    "button-delay": "scores the wall-clock delay between two clicks; a step-based agent does not control its pace",
    "chase-circle": "scores how long the pointer stays on a circle moving in real time",
    "moving-items": "targets move across the canvas in real time and leave it within seconds",
    "simon-says": "shows its button sequence only as a blinking animation, before the agent's first observation",
    "hover-shape": "never ends an episode (the page's reward is a TODO: no call to core.endEpisode)",
    "drag-cube": "the cube turns by the pointer's speed during the drag, which a step-based agent does not control",
}

_EASY = """
choose-list click-button click-button-sequence click-collapsible click-collapsible-nodelay click-dialog
click-dialog-2 click-link click-option click-tab click-tab-2-easy click-test click-test-2 click-test-transfer
click-widget enter-password enter-text enter-text-2 enter-text-dynamic focus-text focus-text-2 login-user
unicode-test
"""
_MEDIUM = """
ascending-numbers buy-ticket choose-date-easy click-checkboxes click-checkboxes-large click-checkboxes-soft
click-checkboxes-transfer click-collapsible-2 click-collapsible-2-nodelay click-color click-menu click-menu-2
click-pie click-pie-nodelay click-scroll-list click-tab-2 click-tab-2-hard click-tab-2-medium copy-paste
copy-paste-2 drag-box drag-circle drag-items drag-items-grid drag-single-shape email-inbox-delete
email-inbox-forward email-inbox-important email-inbox-reply
email-inbox-star-reply enter-date enter-time find-greatest find-word form-sequence form-sequence-2
form-sequence-3 generate-number guess-number highlight-text highlight-text-2 identify-shape login-user-popup
multi-layouts multi-orderings
navigate-tree odd-or-even read-table read-table-2 resize-textarea scroll-text scroll-text-2 sign-agreement
simple-algebra
simple-arithmetic social-media text-transform use-slider use-spinner
"""
_HARD = """
bisect-angle book-flight book-flight-nodelay choose-date choose-date-medium choose-date-nodelay circle-center
click-shades click-shape count-shape count-sides daily-calendar drag-shapes drag-shapes-2 drag-sort-numbers
draw-circle draw-line email-inbox email-inbox-forward-nl email-inbox-forward-nl-turk
email-inbox-nl-turk email-inbox-noscroll find-midpoint grid-coordinate hot-cold number-checkboxes order-food
phone-book right-angle search-engine social-media-all social-media-some stock-market terminal text-editor
tic-tac-toe use-autocomplete use-autocomplete-nodelay use-colorwheel use-colorwheel-2 use-slider-2
visual-addition
"""
# The excluded tasks are rated too (by the same rule), for anyone who makes them anyway.
_EXCLUDED_DIFFICULTY = {
    "button-delay": "medium", "chase-circle": "hard", "moving-items": "hard", "simon-says": "medium",
    "hover-shape": "hard", "drag-cube": "hard",
}
_TYPING = set("""
book-flight book-flight-nodelay copy-paste copy-paste-2 email-inbox email-inbox-forward email-inbox-forward-nl
email-inbox-forward-nl-turk email-inbox-nl-turk email-inbox-noscroll email-inbox-reply email-inbox-star-reply
enter-date enter-password enter-text enter-text-2 enter-text-dynamic enter-time find-word form-sequence-2
guess-number login-user login-user-popup multi-layouts multi-orderings read-table read-table-2 scroll-text
search-engine simple-algebra simple-arithmetic terminal text-transform use-autocomplete use-autocomplete-nodelay
visual-addition daily-calendar
""".split())


@dataclass(frozen=True)
class MiniWoBTask:
    """One task page: its ``name``, ``difficulty`` (``easy``/``medium``/``hard``), whether the
    solution types text, and why it is excluded from the suites (``None`` if it is not)."""

    name: str
    difficulty: str
    needs_typing: bool = False
    excluded: str | None = None
    rated: bool = True

    @property
    def included(self) -> bool:
        return self.excluded is None

    @property
    def env_id(self) -> str:
        """The registered id, e.g. ``web/miniwob.click-button-v0``."""
        return f"web/miniwob.{self.name}-v0"

    @property
    def tags(self) -> tuple[str, ...]:
        return ("miniwob", self.difficulty, *(("typing",) if self.needs_typing else ()),
                *(("excluded",) if self.excluded else ()))


def _rated_tasks() -> dict[str, MiniWoBTask]:
    rated: dict[str, MiniWoBTask] = {}
    for level, names in (("easy", _EASY), ("medium", _MEDIUM), ("hard", _HARD), *(
            (level, name) for name, level in _EXCLUDED_DIFFICULTY.items())):
        for name in names.split():
            if name in rated:
                raise AssertionError(f"MiniWoB++ task {name!r} is rated twice")
            rated[name] = MiniWoBTask(name, level, name in _TYPING, _EXCLUDED.get(name))
    missing = (set(_EXCLUDED) | _TYPING) - set(rated)
    if missing:
        raise AssertionError(f"MiniWoB++ tasks tagged but not rated: {sorted(missing)}")
    return dict(sorted(rated.items()))


#: Every task of ``miniwob`` 1.1.0, by name (the wheel's own list is :func:`wheel_task_names`).
TASKS: dict[str, MiniWoBTask] = _rated_tasks()


def _wheel_task_folder() -> Path | None:
    spec = importlib.util.find_spec("miniwob")  # locates the wheel without importing it (it imports selenium)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "html" / "miniwob"
    return folder if folder.is_dir() else None


def wheel_task_names() -> tuple[str, ...]:
    """The task pages of the installed ``miniwob`` wheel, sorted; empty when it is not installed."""
    folder = _wheel_task_folder()
    if folder is None:
        return ()
    return tuple(sorted(path.stem for path in folder.glob("*.html")))


def task_names() -> tuple[str, ...]:
    """The rated tasks and every page of the installed wheel, sorted (what gets registered)."""
    return tuple(sorted(set(TASKS) | set(wheel_task_names())))


def task(name: str) -> MiniWoBTask:
    """The task called ``name`` (a page of the wheel not in :data:`TASKS` is rated ``hard``).

    Raises:
        ValueError: no such task, with the closest names.
    """
    if not isinstance(name, str):
        raise ValueError(f"a MiniWoB++ task name is a string such as 'click-button', got {name!r}")
    if name in TASKS:
        return TASKS[name]
    if name in wheel_task_names():
        return MiniWoBTask(name, "hard", rated=False)
    import difflib

    close = difflib.get_close_matches(name, task_names(), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ValueError(f"no MiniWoB++ task named {name!r}{hint} (the {len(task_names())} tasks are "
                     f"agentgym.envs.web.miniwob.tasks.task_names())")


def included_tasks(difficulty: str | None = None) -> tuple[MiniWoBTask, ...]:
    """The rated tasks that the suites use (not excluded), optionally of one difficulty."""
    if difficulty is not None and difficulty not in DIFFICULTIES:
        raise ValueError(f"difficulty must be one of {DIFFICULTIES}, got {difficulty!r}")
    return tuple(t for t in TASKS.values() if t.included and difficulty in (None, t.difficulty))
