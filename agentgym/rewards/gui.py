"""Rewards of the GUI family as reward providers: each turn's ``info["gui"]`` record (below)
scored by action type, click-in-box grounding, Gaussian point and coverage rewards (GUI-G²),
GUI-G1's box-size-aware box reward, IoU, tiered distance rewards (Sweet Spot Learning),
typed-text match and output format.

The pure functions, with their formulas and sources, live in modules of their own; every public
name of theirs is importable from here too:

* :mod:`agentgym.rewards.gui_inputs`: numbers, points, boxes and frame sizes validated
  (``None`` when malformed);
* :mod:`agentgym.rewards.gui_grounding`: the spatial rewards (click in box, Gaussian point and
  coverage, IoU, GUI-G1, tiered distance) and the coordinate conventions;
* :mod:`agentgym.rewards.gui_action`: action type and typed-text match;
* :mod:`agentgym.rewards.gui_format`: the shape of the output.

**Hostile input never raises.** The pure functions return ``0.0`` when an input is malformed:
a coordinate that is not a real number (``None``, a string, ``True``), not finite (NaN, ±inf)
or too large for a float, a box that is not four such numbers, an inverted or empty box
(``right <= left`` or ``bottom <= top``), a text that is not a string. An action the agent
writes can therefore never crash the environment that scores it. Only a wrong *configuration*
(an unknown format pattern, tiers that are not monotone, a non-positive ``sigma_scale``, a text
threshold outside ``[0, 1]``, weights or aliases that are not mappings) raises
``ValueError``, at the call that receives it.

**The data the providers read** (the contract with the GUI environments, ``envs/gui``): each
turn the environment scores records ``turn.info["gui"]``::

    {"predicted": {"type": "click", "x": 120.0, "y": 340.0,      # what the agent did
                   "box": [l, t, r, b],                            # optional: a predicted box
                   "text": "hello"},                               # optional: typed text
     "target":    {"type": "click", "box": [l, t, r, b],          # what it should have done
                   "text": "hello"},                               # optional
     "frame":     {"width": 1280, "height": 800, ...}}            # the frame of the coordinates

* ``predicted`` is ``None`` (or absent) when the action did not parse: every component the
  turn has a target for scores 0 on it. Its keys are all optional; a predicted box without
  ``x``/``y`` is clicked at its centre. A text-only agent clicking an element by id is recorded
  at that element's centre.
* ``target`` absent or ``None``: the turn has nothing to score (no component, ``None``), e.g.
  a navigation step judged only on the app's final state. A target without ``"box"`` (``back``,
  ``home``) gets no spatial components, one without ``"type"`` no action-type component, one
  without ``"text"`` no text term.
* ``predicted`` and ``target`` share one coordinate frame; ``frame["width"]`` and
  ``frame["height"]`` are the size of the image in that frame (other keys, e.g. ``"kind"``:
  ``"pixels"``, ``"normalized_1000"`` or ``"resized"``, are ignored here). Only
  :class:`GuiG1Reward` and screen-relative :class:`GuiTieredDistanceReward` need the frame.
* A malformed *prediction* scores 0 (the agent's fault); a malformed *target* or *frame*
  (present but not as above) raises ``ValueError`` naming the turn (the environment's fault).
* :class:`GuiFormatReward` reads ``turn.action`` on every turn that has ``info["gui"]``.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence, Union

from agentgym.rewards.base import RewardProvider, TurnValues
# the functions' modules: their public names are re-exported here (``__all__``), as before the split
from agentgym.rewards.gui_action import (
    ACTION_ALIASES,
    action_type_reward,
    canonical_action_type,
    check_aliases,
    check_text_threshold,
    text_match_reward,
)
from agentgym.rewards.gui_format import FORMAT_PATTERNS, format_reward, is_json_action
from agentgym.rewards.gui_grounding import (
    DEFAULT_BOX_TIERS,
    DEFAULT_SCREEN_TIERS,
    DEFAULT_SIGMA_SCALE,
    GUI_G1_ALPHA,
    GUI_G1_BETA,
    Tiers,
    box_distance,
    box_size_normalised_reward,
    box_size_reward,
    check_sigma_scale,
    check_tiers,
    click_in_box_reward,
    gaussian_coverage_reward,
    gaussian_point_reward,
    gui_g1_reward,
    iou,
    predicted_box_reward,
    tiered_distance_reward,
)
from agentgym.rewards.gui_inputs import Box, as_box, as_number, frame_size
from agentgym.trajectory import Trajectory, Turn

#: where a GUI environment records what the providers read (see the module docstring)
GUI_INFO_KEY = "gui"


# --------------------------------------------------------------------------- providers

def gui_record(turn: Turn) -> Mapping[str, Any] | None:
    """The turn's ``info["gui"]``, or ``None``; ``ValueError`` when it is not a mapping."""
    record = turn.info.get(GUI_INFO_KEY)
    if record is None:
        return None
    if not isinstance(record, Mapping):
        raise ValueError(f"turn {turn.index}: info[{GUI_INFO_KEY!r}] must be a mapping, got {record!r}")
    return record


def predicted_point(predicted: Mapping[str, Any]) -> tuple[Any, Any] | None:
    """The point the agent acted at: ``(x, y)`` when recorded, else the centre of its
    predicted box, else ``None``. The values are not checked (the reward functions do)."""
    if "x" in predicted or "y" in predicted:
        return predicted.get("x"), predicted.get("y")
    box = as_box(predicted.get("box"))
    if box is not None:
        return box[0] + (box[2] - box[0]) / 2, box[1] + (box[3] - box[1]) / 2
    return None


def _target_string(target: Mapping[str, Any], key: str, turn: Turn) -> str:
    """``target[key]`` checked to be a non-blank string (the environment's data)."""
    value = target[key]
    if not isinstance(value, str) or (key == "type" and not value.strip()):
        raise ValueError(f"turn {turn.index}: info['gui']['target'][{key!r}] must be a "
                         f"{'non-blank ' if key == 'type' else ''}string, got {value!r}")
    return value


class GuiReward(RewardProvider):
    """Base of the GUI providers: reads each turn's ``info["gui"]`` (module docstring) and asks
    :meth:`value` for the turn's component. A turn without the record or without a target gets
    ``None``; a missing or malformed ``predicted`` is handed over as an empty mapping."""

    #: the target keys this provider needs; a target lacking one of them gets no component
    needs: tuple[str, ...] = ()
    #: whether the record's frame is needed (then it must be valid)
    needs_frame: bool = False

    def score(self, trajectories: Sequence[Trajectory]) -> TurnValues:
        return [[self._turn_value(turn) for turn in trajectory.turns] for trajectory in trajectories]

    def _turn_value(self, turn: Turn) -> float | None:
        record = gui_record(turn)
        if record is None:
            return None
        target = record.get("target")
        if target is None:
            return None
        if not isinstance(target, Mapping):
            raise ValueError(f"turn {turn.index}: info['gui']['target'] must be a mapping, got {target!r}")
        if any(target.get(key) is None for key in self.needs):
            return None
        if "box" in self.needs and as_box(target["box"]) is None:
            raise ValueError(f"turn {turn.index}: the target box must be (left, top, right, bottom) with "
                             f"right > left and bottom > top, got {target['box']!r}")
        frame = record.get("frame")
        if self.needs_frame and frame_size(frame) is None:
            raise ValueError(f"turn {turn.index}: {self.name} needs info['gui']['frame'] with a positive "
                             f"'width' and 'height', got {frame!r}")
        predicted = record.get("predicted")
        if not isinstance(predicted, Mapping):
            predicted = {}
        return self.value(predicted, target, frame, turn)

    def value(self, predicted: Mapping[str, Any], target: Mapping[str, Any], frame: Any, turn: Turn) -> float:
        raise NotImplementedError


class GuiActionTypeReward(GuiReward):
    """:func:`action_type_reward` of ``predicted["type"]`` against ``target["type"]``."""

    needs = ("type",)

    def __init__(self, *, aliases: Mapping[str, str] | None = None, name: str = "gui_action_type") -> None:
        self.aliases = check_aliases(aliases)
        self.name = name

    def value(self, predicted, target, frame, turn) -> float:
        return action_type_reward(predicted.get("type"), _target_string(target, "type", turn), aliases=self.aliases)


class GuiClickReward(GuiReward):
    """:func:`click_in_box_reward` of the predicted point (:func:`predicted_point`) in the target box."""

    needs = ("box",)

    def __init__(self, *, name: str = "gui_click") -> None:
        self.name = name

    def value(self, predicted, target, frame, turn) -> float:
        point = predicted_point(predicted)
        return 0.0 if point is None else click_in_box_reward(*point, target["box"])


class GuiGaussianPointReward(GuiReward):
    """GUI-G²'s :func:`gaussian_point_reward` of the predicted point around the target box."""

    needs = ("box",)

    def __init__(self, *, sigma_scale: float = DEFAULT_SIGMA_SCALE, name: str = "gui_gaussian_point") -> None:
        self.sigma_scale = check_sigma_scale(sigma_scale)
        self.name = name

    def value(self, predicted, target, frame, turn) -> float:
        point = predicted_point(predicted)
        return 0.0 if point is None else gaussian_point_reward(*point, target["box"], sigma_scale=self.sigma_scale)


class GuiGaussianCoverageReward(GuiReward):
    """GUI-G²'s :func:`gaussian_coverage_reward` of ``predicted["box"]`` (0 without one)."""

    needs = ("box",)

    def __init__(self, *, sigma_scale: float = DEFAULT_SIGMA_SCALE, name: str = "gui_gaussian_coverage") -> None:
        self.sigma_scale = check_sigma_scale(sigma_scale)
        self.name = name

    def value(self, predicted, target, frame, turn) -> float:
        return gaussian_coverage_reward(predicted.get("box"), target["box"], sigma_scale=self.sigma_scale)


class GuiBoxIoUReward(GuiReward):
    """:func:`predicted_box_reward` of ``predicted["box"]`` (0 without one): IoU, or
    ``1[IoU >= threshold]``."""

    needs = ("box",)

    def __init__(self, *, threshold: float | None = None, name: str = "gui_iou") -> None:
        if threshold is not None:
            predicted_box_reward((0, 0, 1, 1), (0, 0, 1, 1), threshold=threshold)  # validates it
        self.threshold = threshold
        self.name = name

    def value(self, predicted, target, frame, turn) -> float:
        return predicted_box_reward(predicted.get("box"), target["box"], threshold=self.threshold)


class GuiG1Reward(GuiReward):
    """GUI-G1's :func:`gui_g1_reward` of ``predicted["box"]`` (0 without one); needs the frame."""

    needs = ("box",)
    needs_frame = True

    def __init__(self, *, alpha: float = GUI_G1_ALPHA, beta: float = GUI_G1_BETA, name: str = "gui_g1") -> None:
        gui_g1_reward((0, 0, 1, 1), (0, 0, 1, 1), frame=(1, 1), alpha=alpha, beta=beta)  # validates them
        self.alpha, self.beta = float(alpha), float(beta)
        self.name = name

    def value(self, predicted, target, frame, turn) -> float:
        return gui_g1_reward(predicted.get("box"), target["box"], frame=frame, alpha=self.alpha, beta=self.beta)


class GuiTieredDistanceReward(GuiReward):
    """:func:`tiered_distance_reward` of the predicted point; ``normalise="screen"`` needs the frame."""

    needs = ("box",)

    def __init__(self, *, tiers: Tiers | None = None, normalise: str = "box", name: str = "gui_tiered") -> None:
        if normalise not in ("box", "screen"):
            raise ValueError(f"normalise must be 'box' or 'screen', got {normalise!r}")
        self.tiers = check_tiers(tiers if tiers is not None else
                                 (DEFAULT_SCREEN_TIERS if normalise == "screen" else DEFAULT_BOX_TIERS))
        self.normalise = normalise
        self.needs_frame = normalise == "screen"
        self.name = name

    def value(self, predicted, target, frame, turn) -> float:
        point = predicted_point(predicted)
        if point is None:
            return 0.0
        return tiered_distance_reward(*point, target["box"], tiers=self.tiers, normalise=self.normalise,
                                      frame=frame if self.normalise == "screen" else None)


class GuiTextReward(GuiReward):
    """GUI-R1's :func:`text_match_reward` of ``predicted["text"]`` against ``target["text"]``."""

    needs = ("text",)

    def __init__(self, *, threshold: float = 0.5, name: str = "gui_text") -> None:
        self.threshold = check_text_threshold(threshold)
        self.name = name

    def value(self, predicted, target, frame, turn) -> float:
        return text_match_reward(predicted.get("text"), _target_string(target, "text", turn), threshold=self.threshold)


class GuiFormatReward(GuiReward):
    """:func:`format_reward` of ``turn.action`` on every turn with ``info["gui"]`` (a target is
    not needed: the shape of the output is judged whatever the task)."""

    def __init__(self, *, pattern: Union[str, "re.Pattern[str]"] = "think_answer", name: str = "gui_format") -> None:
        format_reward("", pattern=pattern)  # validates the pattern
        self.pattern = pattern
        self.name = name

    def _turn_value(self, turn: Turn) -> float | None:
        if gui_record(turn) is None:
            return None
        return format_reward(turn.action, pattern=self.pattern)


class GuiActionReward(GuiReward):
    """The action-prediction reward of UI-R1 (``R_T + R_C + R_F``) and GUI-R1 (``R_act +
    R_point + R_text``, plus its format reward) as one component: the sum of

    * ``type``: :func:`action_type_reward` (when the target has a type),
    * ``point``: :func:`click_in_box_reward` of the predicted point (when the target has a box),
    * ``text``: :func:`text_match_reward` (when the target has a text),
    * ``format``: :func:`format_reward` of ``turn.action`` with ``format_pattern``,

    each times its weight in ``weights`` (default 1 each; 0 drops a term). A term whose target
    key is missing is left out, so a ``back`` step is worth at most ``type + format``. A turn
    whose action did not parse (``predicted`` ``None``, absent or not a mapping) scores 0, its
    format term included, as every component with a target does (module docstring) and as
    ``gui/ActionPrediction-v0`` scores it. GUI-R1 weighs its format and accuracy rewards with
    factors we could not find stated; set them with ``weights`` (or combine the single-term
    providers with :class:`~agentgym.rewards.CombinedReward`).
    """

    TERMS = ("type", "point", "text", "format")

    def __init__(self, *, weights: Mapping[str, float] | None = None, format_pattern: Union[str, "re.Pattern[str]"] =
                 "think_answer", aliases: Mapping[str, str] | None = None, name: str = "gui_action") -> None:
        if weights is not None and not isinstance(weights, Mapping):
            raise ValueError(f"weights must be a mapping of term -> weight (terms {self.TERMS}), got {weights!r}")
        chosen = {term: 1.0 for term in self.TERMS}
        for term, weight in (weights or {}).items():
            if term not in chosen:
                raise ValueError(f"unknown term {term!r}; the terms are {self.TERMS}")
            number = as_number(weight)
            if number is None or number < 0:
                raise ValueError(f"the weight of {term!r} must be finite and >= 0, got {weight!r}")
            chosen[term] = number
        format_reward("", pattern=format_pattern)  # validates the pattern
        self.weights, self.format_pattern = chosen, format_pattern
        self.aliases = check_aliases(aliases)
        self.name = name

    def _turn_value(self, turn: Turn) -> float | None:
        value = super()._turn_value(turn)  # None without a target; a malformed target raises
        if value is not None and not isinstance(gui_record(turn).get("predicted"), Mapping):
            return 0.0  # the action did not parse: no term is earned, the format's neither
        return value

    def value(self, predicted, target, frame, turn) -> float:
        total = self.weights["format"] * format_reward(turn.action, pattern=self.format_pattern)
        if target.get("type") is not None:
            target_type = _target_string(target, "type", turn)
            total += self.weights["type"] * action_type_reward(predicted.get("type"), target_type, aliases=self.aliases)
        if target.get("box") is not None:
            if as_box(target["box"]) is None:
                raise ValueError(f"turn {turn.index}: the target box must be (left, top, right, bottom) with "
                                 f"right > left and bottom > top, got {target['box']!r}")
            point = predicted_point(predicted)
            total += self.weights["point"] * (0.0 if point is None else click_in_box_reward(*point, target["box"]))
        if target.get("text") is not None:
            target_text = _target_string(target, "text", turn)
            total += self.weights["text"] * text_match_reward(predicted.get("text"), target_text)
        return total


__all__ = [
    "ACTION_ALIASES", "DEFAULT_BOX_TIERS", "DEFAULT_SCREEN_TIERS", "DEFAULT_SIGMA_SCALE", "FORMAT_PATTERNS",
    "GUI_G1_ALPHA", "GUI_G1_BETA", "GUI_INFO_KEY",
    "GuiActionReward", "GuiActionTypeReward", "GuiBoxIoUReward", "GuiClickReward", "GuiFormatReward",
    "GuiG1Reward", "GuiGaussianCoverageReward", "GuiGaussianPointReward", "GuiReward", "GuiTextReward",
    "GuiTieredDistanceReward",
    "action_type_reward", "as_box", "as_number", "box_distance", "box_size_normalised_reward", "box_size_reward",
    "canonical_action_type", "check_tiers", "click_in_box_reward", "format_reward", "gaussian_coverage_reward",
    "gaussian_point_reward", "gui_g1_reward", "gui_record", "iou", "is_json_action", "predicted_box_reward",
    "predicted_point", "text_match_reward", "tiered_distance_reward",
]
