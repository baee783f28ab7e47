"""The scripted policy that carries out a task's plan on the live screen (the oracle of
navigation, and the demonstrations of action prediction).

:class:`PlanFollower` reads the screen the environment last saw -- the elements' semantic keys
and boxes, the focused element -- and turns the plan's next :class:`~agentgym.envs.gui.apps.Step`
into one action in the environment's frame:

* ``tap key`` -- a click at a point of the element that a click reaches (its centre unless
  something covers it), once the element is wholly in view; until then a scroll towards it;
* ``type key text`` -- a click on the field unless it has the focus, then the typing;
* ``finish`` -- ``{"action": "finish"}``.

Each action comes with its *target* in :mod:`agentgym.rewards.gui`'s shape (``type``, and
``box`` / ``text`` / ``direction``) and the step's words. The follower assumes the screen
changes only through its own actions (it is the oracle from the start of an episode).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .apps import Step

if TYPE_CHECKING:
    from .base import GuiEnv

_LOCATE = "(key) => window.__gui.locate(key)"


@dataclass(frozen=True)
class PlannedAction:
    """One action of a plan: the JSON the agent would write, the target record, the step's words."""

    action: dict[str, Any]
    target: dict[str, Any]
    say: str

    def to_json(self) -> str:
        return json.dumps(self.action, ensure_ascii=False)


class PlanFollower:
    """Follows ``plan`` (see the module docstring); :meth:`peek` says the next action,
    :meth:`advance` moves on once it was carried out."""

    def __init__(self, plan: list[Step]) -> None:
        self.plan = list(plan)
        self.position = 0
        self._advances = False

    @property
    def done(self) -> bool:
        return self.position >= len(self.plan)

    def peek(self, env: GuiEnv) -> PlannedAction:
        """The next action on ``env``'s current screen.

        Raises:
            RuntimeError: the plan is over, or its element is nowhere on the screen.
        """
        if self.done:
            raise RuntimeError("the plan is finished")
        step = self.plan[self.position]
        if step.op == "finish":
            self._advances = True
            return PlannedAction({"action": "finish"}, {"type": "finish"}, step.say)
        assert step.key is not None
        element = env.element_by_key(step.key)
        if element is None or element["point"] is None or not _whole(element):
            return self._scroll_towards(env, step)
        if step.op == "type" and element["state"].get("focused"):
            self._advances = True
            return PlannedAction({"action": "type", "text": step.text}, {"type": "type", "text": step.text}, step.say)
        self._advances = step.op == "tap"
        x, y = env.frame.from_screen(*element["point"])
        action = {"action": "click", "x": round(x, 2), "y": round(y, 2)}
        target = env.target_record(element)
        say = step.say if step.op == "tap" else f'Tap the "{element["label"]}" field'
        return PlannedAction(action, target, say)

    def advance(self) -> None:
        """The action :meth:`peek` gave was carried out."""
        if self._advances:
            self.position += 1
        self._advances = False

    def _scroll_towards(self, env: GuiEnv, step: Step) -> PlannedAction:
        found = env.run_in_page(lambda page: page.evaluate(_LOCATE, step.key))
        if found is None:
            raise RuntimeError(f"the plan's element {step.key!r} is not on the screen {env.screen.get('screen')!r}")
        full, clip = found["full"], found["clip"]
        direction = "up" if full[1] < clip[1] else "down"
        self._advances = False
        return PlannedAction({"action": "scroll", "direction": direction}, {"type": "scroll", "direction": direction},
                             f"Scroll {direction}")


def _whole(element: dict[str, Any]) -> bool:
    return all(abs(a - b) < 0.5 for a, b in zip(element["box"], element["full"]))


__all__ = ["PlanFollower", "PlannedAction"]
