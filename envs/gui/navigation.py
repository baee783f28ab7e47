"""``gui/Navigation-v0``: multi-step tasks on a generated phone, judged on the apps' state
(AndroidWorld-like).

An episode draws a phone and a task (:func:`~agentgym.envs.gui.apps.generate_phone_task`: turn
a setting on or off, set a choice, create a contact with given fields, add a product to a
list) and starts on the home screen. The agent acts until it answers ``{"action": "finish"}``;
then the apps' state (``window.__gui.state``) is checked (:meth:`~agentgym.envs.gui.apps.NavTask.check`):
component ``outcome`` is 1 and ``success`` true when it shows the task done, else 0. How the
agent got there does not matter: a detour that ends in the right state succeeds, and actions
that look right but leave the state unchanged fail. ``finish`` with ``"status": "infeasible"``
ends the episode as a failure (every task here is feasible).

``info["gui"]`` has no per-step ``target`` (``None``: nothing to score per step); it adds
``task_done`` (whether the state already shows the task done; the agent never sees it) and,
on the last step, ``state`` (the part of the apps' state the task is about).

Baselines: the oracle follows the task's plan (:class:`~agentgym.envs.gui.oracle.PlanFollower`,
scrolling to elements out of view); the random agent clicks elements and the screen, types,
scrolls, goes back and sometimes finishes.
"""

from __future__ import annotations

from typing import Any, ClassVar

from agentgym.core import Feedback

from .actions import GuiAction
from .oracle import PlannedAction
from .page import ScreenPoints
from .phone_task import PhoneTaskEnv


class NavigationEnv(PhoneTaskEnv):
    """Carry out a task on a generated phone (see the module docstring).

    Args:
        kinds, **kwargs: :class:`~agentgym.envs.gui.phone_task.PhoneTaskEnv`'s arguments.
    """

    task_name: ClassVar[str] = "navigation"
    task_help: ClassVar[str] = (
        "You operate a phone with apps. Carry out the task one action at a time; when it is done, answer "
        '{"action": "finish"}. Only the state of the apps when you finish counts.')

    def __init__(self, difficulty: str | None = None, **kwargs: Any) -> None:
        super().__init__(difficulty, **kwargs)
        self._planned: PlannedAction | None = None

    def episode_started(self) -> None:
        super().episode_started()
        self._planned = None

    def goal_text(self) -> str:
        return self._phone.task.goal if self._phone is not None else ""

    def task_done(self) -> bool:
        """Whether the apps' state shows the task done now; ``RuntimeError`` before ``reset()``."""
        if self._phone is None:
            raise RuntimeError(f"{type(self).__name__}: no episode is running; call reset() first")
        return self._phone.task.check(self.screen.get("state", {}))

    def act(self, action: GuiAction, points: ScreenPoints) -> Feedback:
        assert self._phone is not None
        planned, self._planned = self._planned, None
        if action.type == "finish":
            done = self.task_done() and action.status != "infeasible"
            return self.feedback(action, rewards={"outcome": float(done)}, terminated=True, success=done,
                                 extra={"task_done": self.task_done(), "state": self._task_state()})
        problem = self.execute(action, points)
        if problem is not None:
            return self.feedback(action, error=problem, extra={"task_done": self.task_done()})
        if planned is not None and self._follower is not None and action.to_dict() == _canonical(planned):
            self._follower.advance()
        return self.feedback(action, extra={"task_done": self.task_done()})

    def _task_state(self) -> Any:
        assert self._phone is not None
        state, task = self.screen.get("state", {}), self._phone.task
        if task.kind in ("toggle",):
            return {"settings": {task.params["key"]: state.get("settings", {}).get(task.params["key"])}}
        if task.kind == "choice":
            return {"choices": {task.params["key"]: state.get("choices", {}).get(task.params["key"])}}
        if task.kind == "contact":
            return {"contacts": state.get("contacts", [])}
        return {"lists": {task.params["list"]: state.get("lists", {}).get(task.params["list"], [])}}

    def oracle_action(self) -> str:
        """The plan's next action on the current screen (see :mod:`~agentgym.envs.gui.oracle`);
        ``RuntimeError`` before ``reset()``."""
        if self._follower is None:
            raise RuntimeError(f"{type(self).__name__}: no episode is running; call reset() first")
        self._planned = self._follower.peek(self)
        return self._planned.to_json()


def _canonical(planned: PlannedAction) -> dict[str, Any]:
    """The planned action as :meth:`GuiAction.to_dict` writes it (coordinates as floats)."""
    out = dict(planned.action)
    for name in ("x", "y"):
        if name in out:
            out[name] = float(out[name])
    return out


__all__ = ["NavigationEnv"]
