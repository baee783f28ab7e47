"""``gui/ActionPrediction-v0``: predict the next action of a demonstration from the goal and the
history (UI-R1 / AndroidControl-like).

An episode draws a phone and a task (as ``gui/Navigation-v0`` does) and takes its
demonstration: the oracle's actions (:mod:`~agentgym.envs.gui.oracle`). The agent sees the
goal, the demonstration's earlier actions and the screen, and predicts the next action; the
environment then carries out the *demonstration's* action (teacher forcing, as AndroidControl
is evaluated), whatever was predicted.

* ``steps="one"`` (default, UI-R1's training samples) -- the episode is one prediction at a
  step drawn uniformly from the demonstration (the earlier steps are replayed at reset);
* ``steps="all"`` -- one prediction per step of the demonstration, to its ``finish``.

With ``step_instructions=True`` the text also gives the step in words (AndroidControl's
low-level instruction, "Tap "Save"").

Reward components (:mod:`agentgym.rewards.gui`), each times its weight in ``reward_weights``
(default 1 each, UI-R1's ``R_T + R_C + R_F``):

* ``action_type`` -- ``action_type_reward(predicted, target)``;
* ``argument`` -- when the type is right: the click inside the target's box (``click``,
  ``double_click``, ``long_press``), the typed text matching (GUI-R1: token F1 > 0.5), the
  same scroll direction, ``finish`` without ``"status": "infeasible"`` (every demonstration ends
  with its task done), or 1 for actions without arguments (``back``...); else 0;
* ``format`` -- ``format_reward`` of the reply: a bare JSON action (``answer_format="json"``)
  or ``<think>...</think><answer>{json}</answer>`` (``"think_answer"``).

A prediction is right with a right type and a right argument (``info["gui"]["correct"]``);
``success`` (on the last step) is every prediction of the episode right. ``info["gui"]["target"]`` is the
demonstration's action (``type``, ``box`` in the frame for clicks, ``text``, ``direction``),
with the step's words in ``description``; ``hit`` is ``None`` (the prediction is scored, never
carried out: no click of the agent reaches anything). The oracle predicts the demonstration's action; the
random agent plays :meth:`GuiEnv.random_action`.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Mapping

from agentgym.core import ConfigError, Feedback, check_number

from .actions import POINT_ACTIONS, GuiAction, parse_action
from .oracle import PlanFollower, PlannedAction
from .page import ScreenPoints
from .phone_task import PhoneTaskEnv

STEP_MODES = ("one", "all")
REWARD_TERMS = ("action_type", "argument", "format")


class ActionPredictionEnv(PhoneTaskEnv):
    """Predict the demonstration's next action (see the module docstring).

    Args:
        steps: ``one`` (a single step drawn from the demonstration) or ``all``.
        step_instructions: show the step in words too.
        reward_weights: weights of ``action_type``, ``argument`` and ``format`` (default 1 each).
        kinds, **kwargs: :class:`~agentgym.envs.gui.phone_task.PhoneTaskEnv`'s arguments (the
            task kinds the demonstrations come from).
    """

    task_name: ClassVar[str] = "action_prediction"
    task_help: ClassVar[str] = (
        "You are shown a phone screen, a goal and the actions taken so far. Predict the next action "
        "towards the goal (the demonstration's action is then carried out, whatever you predict).")

    def __init__(self, difficulty: str | None = None, *, steps: str = "one", step_instructions: bool = False,
                 reward_weights: dict[str, float] | None = None, **kwargs: Any) -> None:
        super().__init__(difficulty, **kwargs)
        owner = type(self).__name__
        if steps not in STEP_MODES:
            raise ConfigError(f"{owner}: steps must be one of {', '.join(STEP_MODES)}, got {steps!r}")
        if not isinstance(step_instructions, bool):
            raise ConfigError(f"{owner}: step_instructions must be true or false, got {step_instructions!r}")
        if reward_weights is not None and not isinstance(reward_weights, Mapping):
            raise ConfigError(f"{owner}: reward_weights must be a dict of term -> weight (terms "
                              f"{', '.join(REWARD_TERMS)}) or None, got {reward_weights!r}")
        weights = {term: 1.0 for term in REWARD_TERMS}
        for term, weight in (reward_weights or {}).items():
            if term not in weights:
                raise ConfigError(f"{owner}: reward_weights has unknown term {term!r}; the terms are {', '.join(REWARD_TERMS)}")
            weights[term] = check_number(owner, f"reward_weights[{term!r}]", weight, minimum=0.0)
        self.steps = steps
        self.step_instructions = step_instructions
        self.reward_weights = weights
        self._reference: PlannedAction | None = None
        self._raw = ""
        self._all_right = True
        self.step_index = 0

    # ---------------------------------------------------------------- the episode
    def episode_started(self) -> None:
        super().episode_started()
        assert self._phone is not None
        self.step_index = 0
        self._all_right = True
        if self.steps == "one":
            length = self._demonstration_length()
            step = self.rng.randrange(length)
            self.reload(self._phone.spec)
            self._follower = PlanFollower(self._phone.task.plan)
            self._history, self.step_index = [], 0
            for index in range(step):  # the last one's screenshot is the screen of the prediction
                self._carry_out(self._follower.peek(self), shoot=index == step - 1)
        self._reference = self._follower.peek(self)

    def _demonstration_length(self) -> int:
        """Plays the whole demonstration (no screenshots) and counts its actions."""
        assert self._follower is not None
        count = 0
        while True:
            planned = self._follower.peek(self)
            count += 1
            if planned.action["action"] == "finish":
                return count
            self._carry_out(planned, shoot=False, draw=False)
            if count > 200:
                raise RuntimeError("the demonstration does not end")

    def _carry_out(self, planned: PlannedAction, *, shoot: bool = True, draw: bool = True) -> None:
        """Carry out a demonstration action and add it to the history."""
        assert self._follower is not None
        action = parse_action(planned.to_json(), self.frame)
        if action.type != "finish":
            problem = self.execute(action, self.resolve(action), shoot=shoot, draw=draw)
            if problem is not None:
                raise RuntimeError(f"the demonstration's action {planned.to_json()} failed: {problem}")
        self._follower.advance()
        self._history.append(planned.to_json())
        self.step_index += 1

    def goal_text(self) -> str:
        if self._phone is None:
            return ""
        goal = self._phone.task.goal
        if self.step_instructions and self._reference is not None:
            goal += f"\nThis step: {self._reference.say}."
        return goal

    def remember(self, action: GuiAction) -> None:
        """The history is the demonstration's (added as it is carried out), not the predictions."""

    def current_target(self) -> dict[str, Any] | None:
        if self._reference is None:
            return None
        return {**self._reference.target, "description": self._reference.say, "step": self.step_index}

    # ---------------------------------------------------------------- a step
    def play(self, action: str) -> Feedback:
        self._raw = action
        return super().play(action)

    def act(self, action: GuiAction, points: ScreenPoints) -> Feedback:
        from agentgym.rewards.gui import action_type_reward, click_in_box_reward, format_reward, text_match_reward

        target = self.current_target()
        assert target is not None and self._reference is not None
        predicted = self._predicted or self.predicted(action)
        type_ok = action_type_reward(predicted["type"], target["type"])
        argument = 0.0
        if type_ok:
            if target["type"] in POINT_ACTIONS:
                argument = click_in_box_reward(predicted.get("x"), predicted.get("y"), target["box"])
            elif target["type"] == "type":
                argument = text_match_reward(predicted.get("text"), target["text"])
            elif target["type"] == "scroll":
                argument = float(predicted.get("direction") == target["direction"])
            elif target["type"] == "finish":  # the demonstrated task is done, never infeasible
                argument = float(predicted.get("status") != "infeasible")
            else:
                argument = 1.0
        pattern = "think_answer_json" if self.answer_format == "think_answer" else "json_action"
        terms = {"action_type": type_ok, "argument": argument, "format": format_reward(self._raw, pattern=pattern)}
        rewards = {term: self.reward_weights[term] * value for term, value in terms.items() if self.reward_weights[term]}
        right = type_ok == 1.0 and argument == 1.0
        self._all_right = self._all_right and right
        extra = {"terms": terms, "correct": right, "hit": None}  # the prediction is never carried out
        finished = self.steps == "one" or self._reference.action["action"] == "finish"
        if finished:  # success: every prediction of the episode was right
            return self.feedback(action, rewards=rewards, terminated=True, success=self._all_right, target=target,
                                 extra=extra)
        self._carry_out(self._reference)
        self._reference = self._follower.peek(self) if self._follower is not None else None
        return self.feedback(action, rewards=rewards, success=False, target=target, extra=extra)

    # ---------------------------------------------------------------- baselines
    def oracle_action(self) -> str:
        """The demonstration's next action, written in the environment's answer format (with
        ``"think_answer"`` inside ``<think>...</think><answer>...</answer>``), so that the
        oracle earns every reward term: the upper bound an evaluation compares against."""
        if self._reference is None:
            raise RuntimeError(f"{type(self).__name__}: no episode is running; call reset() first")
        action = json.dumps(self._reference.action, ensure_ascii=False)
        if self.answer_format == "think_answer":
            return f"<think>The demonstration's next step.</think><answer>{action}</answer>"
        return action


__all__ = ["ActionPredictionEnv", "REWARD_TERMS", "STEP_MODES"]
