"""What the environments played on a generated phone share: the task drawn with the phone, and
the follower of its plan (the oracle's demonstration).

``gui/Navigation-v0`` lets the agent carry the task out; ``gui/ActionPrediction-v0`` asks it to
predict each action of the demonstration. Both draw a phone and a task
(:func:`~agentgym.envs.gui.apps.generate_phone_task`) from the kinds asked for and start a
:class:`~agentgym.envs.gui.oracle.PlanFollower` on the task's plan at every episode.
"""

from __future__ import annotations

from typing import Any, ClassVar

from agentgym.core import ConfigError

from .apps import TASK_KINDS, NavTask, PhoneTask, generate_phone_task
from .base import GuiEnv
from .oracle import PlanFollower


class PhoneTaskEnv(GuiEnv):
    """A :class:`~agentgym.envs.gui.base.GuiEnv` whose episode is a task on a generated phone.

    Args:
        kinds: task kinds to draw from (a name or a list of ``toggle``, ``choice``,
            ``contact``, ``list``); default all.
        **kwargs: :class:`~agentgym.envs.gui.base.GuiEnv`'s arguments (``device`` defaults to
            ``phone``).
    """

    default_device: ClassVar[str] = "phone"

    def __init__(self, difficulty: str | None = None, *, kinds: str | list[str] | tuple[str, ...] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(difficulty, **kwargs)
        self.kinds = task_kinds(type(self).__name__, kinds)
        self._phone: PhoneTask | None = None
        self._follower: PlanFollower | None = None

    @property
    def task(self) -> NavTask | None:
        """This episode's task (hidden from the agent but its goal)."""
        return self._phone.task if self._phone is not None else None

    def draw_app(self, options: dict[str, Any]) -> dict[str, Any]:
        self._phone = generate_phone_task(self.rng, device=self.device, difficulty=self.difficulty, kinds=self.kinds)
        return self._phone.spec

    def episode_started(self) -> None:
        """A new follower of the task's plan; subclasses extend it."""
        assert self._phone is not None
        self._follower = PlanFollower(self._phone.task.plan)


def task_kinds(owner: str, kinds: Any, allowed: tuple[str, ...] = TASK_KINDS) -> tuple[str, ...]:
    """The kinds an environment draws from (phone tasks by default, or ``allowed``): every one
    when ``kinds`` is ``None``, else the one name or the list or tuple of names given;
    :class:`ConfigError` (naming ``owner``) for none, an unknown one, or anything else."""
    if kinds is None:
        return allowed
    chosen = (kinds,) if isinstance(kinds, str) else tuple(kinds) if isinstance(kinds, (list, tuple)) else ()
    if not chosen or any(kind not in allowed for kind in chosen):
        raise ConfigError(f"{owner}: kinds must be some of {', '.join(allowed)}, got {kinds!r}")
    return chosen


__all__ = ["PhoneTaskEnv", "task_kinds"]
