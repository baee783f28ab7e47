"""``gui/Grounding-v0``: click the element the instruction names (ScreenSpot-like), one step.

An episode draws a screen (:func:`~agentgym.envs.gui.screens.generate_screen`: settings panel,
form, list, menu, dialog, launcher or table), renders it, and picks the target among the
screen's candidates that are fully in view and reached by a click at their centre (the
browser's ``elementFromPoint`` agrees). The agent answers with one click; the click is carried
out in the page, and the episode ends.

Reward (component ``grounding``), with ``(x, y)`` the click and ``box`` the target's box, both
in the agent's frame (:mod:`agentgym.rewards.gui`):

* ``reward="click"`` (default) -- ``click_in_box_reward``: ``1[left <= x <= right and top <= y <= bottom]``;
* ``reward="gaussian"`` -- GUI-G²'s ``gaussian_point_reward``: ``exp(-½((x-c_x)²/σ_x² + (y-c_y)²/σ_y²))``,
  ``σ = sigma_scale · (w, h)`` of the box;
* ``reward="tiered"`` -- ``tiered_distance_reward`` (inside 1, within half a box 0.5, within a box 0.25).

``success`` is the click landing in the box (the element's bounding box, as in ScreenSpot; a
round button does not take clicks in its box's corners, which ``hit_target`` shows). ``info["gui"]["target"]`` holds the box (frame and
screen), the element's id, role and name and the instruction; ``info["gui"]["hit"]`` the
element the browser delivered the click to, and ``hit_target`` whether it is the target.

Baselines: the oracle clicks the centre of the target's box; the random agent clicks a
uniformly random point of the screen.
"""

from __future__ import annotations

import json
import random
from typing import Any, ClassVar

from agentgym.core import ConfigError, Feedback, check_number

from .actions import GuiAction
from .base import GuiEnv, down_to_tenth
from .page import ScreenPoints
from .phone_task import task_kinds
from .screens import SCREEN_KINDS, Candidate, GeneratedScreen, generate_screen

REWARDS = ("click", "gaussian", "tiered")
#: Screens drawn before giving up on finding a target in view (never reached in practice).
_MAX_DRAWS = 8


class GroundingEnv(GuiEnv):
    """Click the named element (see the module docstring).

    Args:
        kinds: screen kinds to draw from (a name or a list of ``settings``, ``form``, ``list``,
            ``menu``, ``dialog``, ``launcher``, ``table``); default all.
        reward: ``click``, ``gaussian`` or ``tiered``.
        sigma_scale: the Gaussian reward's ``σ`` per box size.
        **kwargs: :class:`~agentgym.envs.gui.base.GuiEnv`'s arguments (``device`` defaults to
            ``desktop``).
    """

    task_name: ClassVar[str] = "grounding"
    default_device: ClassVar[str] = "desktop"
    task_help: ClassVar[str] = ("You are shown a screen and an instruction naming one element on it. "
                                "Click that element: one click ends the episode.")

    def __init__(self, difficulty: str | None = None, *, kinds: str | list[str] | tuple[str, ...] | None = None,
                 reward: str = "click", sigma_scale: float = 0.5, **kwargs: Any) -> None:
        super().__init__(difficulty, **kwargs)
        owner = type(self).__name__
        chosen = task_kinds(owner, kinds, SCREEN_KINDS)
        if reward not in REWARDS:
            raise ConfigError(f"{owner}: reward must be one of {', '.join(REWARDS)}, got {reward!r}")
        self.kinds = chosen
        self.reward = reward
        self.sigma_scale = check_number(owner, "sigma_scale", sigma_scale, minimum=1e-3)
        self._generated: GeneratedScreen | None = None
        self._target: Candidate | None = None
        self._target_element: dict[str, Any] | None = None

    # ---------------------------------------------------------------- the episode
    def draw_app(self, options: dict[str, Any]) -> dict[str, Any]:
        self._generated = generate_screen(self.rng, device=self.device, difficulty=self.difficulty, kinds=self.kinds)
        return self._generated.spec

    def episode_started(self) -> None:
        for _ in range(_MAX_DRAWS):
            choices = self._targets_in_view()
            if choices:
                self._target, self._target_element = self.rng.choice(choices)
                return
            self.reload(self.draw_app({}))
        raise RuntimeError(f"{type(self).__name__}: no screen with a target in view after {_MAX_DRAWS} draws")

    def _targets_in_view(self) -> list[tuple[Candidate, dict[str, Any]]]:
        assert self._generated is not None
        by_id = {element["id"]: element for element in self.elements}
        found = []
        for candidate in self._generated.candidates:
            element = by_id.get(candidate.id)
            if element is None or not element["reachable"]:
                continue
            box, full = element["box"], element["full"]
            whole = all(abs(a - b) < 0.5 for a, b in zip(box, full))
            if whole and min(box[2] - box[0], box[3] - box[1]) >= 4:
                found.append((candidate, element))
        return found

    def goal_text(self) -> str:
        return self._target.instruction if self._target is not None else ""

    @property
    def screen_kind(self) -> str | None:
        """The kind of this episode's screen (``settings``, ``form``...)."""
        return self._generated.kind if self._generated is not None else None

    def current_target(self) -> dict[str, Any] | None:
        if self._target_element is None or self._target is None:
            return None
        return self.target_record(self._target_element, instruction=self._target.instruction,
                                  kind_of_element=self._target.kind, screen_kind=self.screen_kind)

    # ---------------------------------------------------------------- a step
    def act(self, action: GuiAction, points: ScreenPoints) -> Feedback:
        target = self.current_target()
        assert target is not None
        if action.type != "click":
            return self.feedback(action, error=f"this task is answered with one click on the element; "
                                               f'write {{"action": "click", "x": ..., "y": ...}}, not {action.type}',
                                 target=target)
        predicted = self._predicted or self.predicted(action)
        value = self._score(predicted["x"], predicted["y"], target["box"])
        from agentgym.rewards.gui import click_in_box_reward

        inside = click_in_box_reward(predicted["x"], predicted["y"], target["box"]) == 1.0
        self.execute(action, points)
        hit = self.screen.get("last_click")
        return self.feedback(action, rewards={"grounding": value}, terminated=True, success=inside, target=target,
                             extra={"hit_target": hit == target["element"]})

    def _score(self, x: float, y: float, box: list[float]) -> float:
        from agentgym.rewards.gui import click_in_box_reward, gaussian_point_reward, tiered_distance_reward

        if self.reward == "gaussian":
            return gaussian_point_reward(x, y, box, sigma_scale=self.sigma_scale)
        if self.reward == "tiered":
            return tiered_distance_reward(x, y, box)
        return click_in_box_reward(x, y, box)

    # ---------------------------------------------------------------- baselines
    def oracle_action(self) -> str:
        """A click at the centre of the target's box; ``RuntimeError`` before ``reset()``."""
        if self._target_element is None:
            raise RuntimeError(f"{type(self).__name__}: no episode is running; call reset() first")
        return self.point_json("click", self._target_element["box"])

    def random_action(self, rng: random.Random) -> str:
        """A click at a uniformly random point of the screen."""
        x = rng.uniform(0, self.frame.extent[0] - 1e-6)
        y = rng.uniform(0, self.frame.extent[1] - 1e-6)
        return json.dumps({"action": "click", "x": down_to_tenth(x), "y": down_to_tenth(y)})


__all__ = ["GroundingEnv", "REWARDS"]
