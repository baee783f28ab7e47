"""MiniWoB++: the task pages of the ``miniwob`` wheel, played in a real Chromium.

Environments (:class:`~agentgym.envs.web.miniwob.env.MiniWoBEnv`):

* ``web/miniwob.<task>-v0`` -- one per task page the wheel ships (130 in ``miniwob`` 1.1.0),
  e.g. ``web/miniwob.click-button-v0``. Tags: ``miniwob``, the task's difficulty (``easy``,
  ``medium``, ``hard``), ``typing`` when the solution enters text, ``oracle`` when a scripted
  oracle solves it, ``excluded`` (with the reason in the description) for the tasks the suites
  leave out (6): they score real-time speed or timing, show their information only before the
  first observation, or never end. Tasks that need a drag are in (the action language drags).
* ``web/MiniWoB-v0`` -- each episode draws one of the included tasks; ``difficulty`` (``mixed``,
  ``easy``, ``medium``, ``hard``) chooses the pool.

Turn budgets: 10 for easy tasks, 20 for medium, 30 for hard (and for ``web/MiniWoB-v0``).

Suites: ``web-miniwob-v0`` (every included task, seeds 0-2), ``web-miniwob-easy-v0`` (the
included easy tasks, seeds 0-4) and ``web-miniwob-oracle-v0`` (the tasks with a scripted
oracle, seeds 0-2).

Modules: ``tasks`` (names, ratings, exclusions), ``server`` (the loopback server of the pages),
``oracles`` (scripted solvers), ``env`` (the environment). Environments register by entry-point
string, so importing this package starts no browser and imports no Playwright.
"""

from __future__ import annotations

from agentgym.envs.web.miniwob.oracles import ORACLE_TASKS
from agentgym.envs.web.miniwob.tasks import included_tasks, task, task_names
from agentgym.registry import register
from agentgym.suites import register_suite

#: Turn budget per difficulty.
MAX_TURNS = {"easy": 10, "medium": 20, "hard": 30}
_ENTRY_POINT = "agentgym.envs.web.miniwob.env:MiniWoBEnv"


def _description(name: str) -> str:
    info = task(name)
    text = f"MiniWoB++ task {name} ({info.difficulty}{', typing' if info.needs_typing else ''})"
    if not info.rated:
        text += ", a page of the installed wheel that agentgym has not rated"
    if info.excluded:
        text += f"; excluded from the suites: {info.excluded}"
    return text + "."


for _name in task_names():
    _task = task(_name)
    register(
        _task.env_id,
        _ENTRY_POINT,
        max_turns=MAX_TURNS[_task.difficulty],
        tags=(*_task.tags, *(("oracle",) if _name in ORACLE_TASKS else ())),
        description=_description(_name),
        kwargs={"task": _name},
    )

register(
    "web/MiniWoB-v0",
    _ENTRY_POINT,
    max_turns=max(MAX_TURNS.values()),
    tags=("miniwob", "mixed"),
    description="A MiniWoB++ task drawn per episode from the included tasks of the chosen difficulty "
                "(mixed, easy, medium, hard).",
)

#: The registered id of every MiniWoB++ task page.
MINIWOB_ENV_IDS = tuple(task(name).env_id for name in task_names())

register_suite(
    "web-miniwob-v0",
    [(t.env_id, range(3)) for t in included_tasks()],
    "Every included MiniWoB++ task (124: not the real-time or endless ones), three seeds each.",
)
register_suite(
    "web-miniwob-easy-v0",
    [(t.env_id, range(5)) for t in included_tasks("easy")],
    "The easy MiniWoB++ tasks (a few actions on elements the instruction names), five seeds each.",
)
register_suite(
    "web-miniwob-oracle-v0",
    [(task(name).env_id, range(3)) for name in ORACLE_TASKS],
    "The MiniWoB++ tasks that have a scripted oracle, three seeds each (the oracle's upper bound).",
)

__all__ = ["MAX_TURNS", "MINIWOB_ENV_IDS"]
