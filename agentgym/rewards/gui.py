"""Rewards of the GUI family: action type, click-in-box grounding, Gaussian point and coverage
rewards (GUI-G²), GUI-G1's box-size-aware box reward, IoU, tiered distance rewards (Sweet Spot
Learning), typed-text match and output format; as pure functions and as reward providers.

**Coordinates.** A box is ``(left, top, right, bottom)`` with ``right > left`` and
``bottom > top``, a point is ``(x, y)``, all in one coordinate frame (x grows to the right, y
downwards). Every reward below is unchanged when the point and the boxes are translated
together; the click, Gaussian, coverage, IoU and box-relative tiered rewards are also unchanged
when the frame is rescaled (pixels, 0–1000 normalised, a resized image), so the frame only
matters where a formula uses the image size (:func:`box_size_reward`, screen-relative tiers).

**Hostile input never raises.** The pure functions return ``0.0`` when an input is malformed:
a coordinate that is not a real number (``None``, a string, ``True``), not finite (NaN, ±inf)
or too large for a float, a box that is not four such numbers, an inverted or empty box
(``right <= left`` or ``bottom <= top``), a text that is not a string. An action the agent
writes can therefore never crash the environment that scores it. Only a wrong *configuration*
(an unknown format pattern, tiers that are not monotone, a non-positive ``sigma_scale``) raises
``ValueError``, at the call that receives it.

**The formulas and where they come from** (``1[·]`` is 1 when true, else 0):

* Action type (UI-R1, Lu et al. 2025, arXiv 2503.21620, ``R_T``; GUI-R1, Luo et al. 2025,
  arXiv 2504.10458, ``R_act``): ``1[canon(pred) = canon(target)]``; :func:`canonical_action_type`
  lower-cases, turns spaces and hyphens into ``_`` and maps aliases (:data:`ACTION_ALIASES`:
  ``tap`` → ``click``, ``input_text`` → ``type``, ``press_back`` → ``back``...).
* Click in box (UI-R1's ``R_C``, GUI-R1's ``R_point``, GUI-G1's ``R_hit``):
  ``1[left <= x <= right and top <= y <= bottom]``; the edges count as inside.
* Gaussian point reward (GUI-G², Tang et al. 2025, arXiv 2507.15846), with the adaptive
  variance ``σ_x = s·w``, ``σ_y = s·h`` of the target box (``w``, ``h`` its size, ``(c_x, c_y)``
  its centre, ``s = sigma_scale``, 0.5 in GUI-G²'s released training code):
  ``R = exp(−½·((x − c_x)²/σ_x² + (y − c_y)²/σ_y²))``. Because σ grows with the box, the reward
  depends only on where the click falls *relative to the box*: a large box does not pay more
  for a click that is sloppy for its size (and a small icon asks for proportionally more care).
* Gaussian coverage reward (GUI-G²): the overlap of the predicted box's Gaussian
  ``N(μ_p, diag(s·w_p, s·h_p)²)`` with the target's ``N(μ_t, diag(s·w_t, s·h_t)²)``, measured as
  GUI-G²'s released code does, by the Bhattacharyya coefficient ``R = exp(−D_B)`` with
  ``D_B = ⅛·Δμᵀ Σ̄⁻¹ Δμ + ½·ln(det Σ̄ / √(det Σ_p · det Σ_t))``, ``Σ̄ = (Σ_p + Σ_t)/2``. For
  these diagonal covariances it factorises per axis: ``R = Π_i √(2σ_pi σ_ti/(σ_pi² + σ_ti²)) ·
  exp(−Δμ_i²/(8 σ̄_i²))``. (The paper's prose describes coverage as the overlap between the
  predicted distribution and the target region; we follow the code's exact closed form.)
* IoU of two boxes: ``|A ∩ B| / |A ∪ B|`` (continuous areas; GUI-G1's released code uses an
  inclusive-pixel variant that differs by a pixel at the edges). :func:`predicted_box_reward`
  is the IoU, or ``1[IoU >= threshold]`` when a threshold is given. (InfiGUI-R1, arXiv
  2504.14239, was consulted too; what we could read of it describes sub-goal and error-recovery
  rewards for planning, not a grounding formula beyond these, so nothing here is specific to it.)
* GUI-G1's box-size term (Zhou et al. 2025, arXiv 2505.15810, ``R_box``): GUI-G1 shows that a
  hit reward alone lets GRPO shrink the predicted boxes and an IoU reward alone lets it inflate
  them (both exploit box size: reward hacking), and adds a term that ties each predicted corner
  to the target's, normalised by the image size ``(W, H)``:
  ``r_1 = 1 − |l_p − l_t|/W``, ``r_2 = 1 − |t_p − t_t|/H``, ``r_3 = 1 − |r_p − r_t|/W``,
  ``r_4 = 1 − |b_p − b_t|/H`` and ``R_box = 4 / Σ_i 1/r_i`` (their harmonic mean; 0 when some
  ``r_i <= 0``). :func:`gui_g1_reward` is GUI-G1's whole grounding reward
  ``R_hit + α·R_IoU + β·R_box`` with ``R_hit`` the click-in-box of the predicted box's centre and
  ``α = 0.25``, ``β = 0.125`` as in its released training code, so its range is
  ``[0, 1 + α + β]``.
* Tiered distance reward (Sweet Spot Learning, arXiv 2601.22491): SSL replaces the binary hit
  with a few zones of increasing reward towards the target's "sweet spot" and reports four
  zones as the best trade-off; we could not find its exact zone boundaries and values, so we
  chose them (:data:`DEFAULT_BOX_TIERS`) and state the distance: ``d`` is the distance from
  the point to the *box* (0 inside or on it), with ``d_x = max(left − x, 0, x − right)`` and
  ``d_y`` likewise. ``normalise="box"`` (default) measures it in box sizes per axis,
  ``d = √((d_x/w)² + (d_y/h)²)``, so the reward, like the Gaussian's, depends only on the
  position relative to the box; ``normalise="screen"`` uses ``d = √(d_x² + d_y²) / √(W² + H²)``
  (a fraction of the frame's diagonal). Tiers ``((r_0, v_0), (r_1, v_1), ...)`` with increasing
  radii and non-increasing values pay ``v_k`` for the first ``k`` with ``d <= r_k``, and 0
  beyond the last radius. Default (box-relative): inside 1, within half a box size 0.5, within
  one box size 0.25, farther 0 (four zones, each tier double the next).
* Typed text (GUI-R1's ``R_text``): ``1[F1(pred, target) > 0.5]`` with SQuAD token F1
  (:func:`agentgym.rewards.search.token_f1`); 1 when both normalise to the same string.
* Format (UI-R1's ``R_F``, GUI-R1's ``R_f``): 1 when the output has the expected shape:
  ``"think_answer"``: ``<think>…</think><answer>…</answer>`` and nothing else (whitespace
  aside), each tag exactly once, a non-blank answer; ``"answer"``: only ``<answer>…</answer>``;
  ``"json_action"``: a bare JSON object whose ``"action"`` is a non-empty string (the GUI
  environments' action shape, e.g. ``{"action": "click", "x": 120, "y": 340}``);
  ``"think_answer_json"``: ``think_answer`` whose answer is such a JSON action; or any compiled
  ``re.Pattern`` (full match). The tag checks scan the text once (no backtracking regex), so a
  huge output costs linear time.

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

import json
import math
import numbers
import re
from typing import Any, Callable, Mapping, Sequence, Union

from agentgym.rewards.base import RewardProvider, TurnValues
from agentgym.rewards.search import normalise_answer, token_f1
from agentgym.trajectory import Trajectory, Turn

Box = tuple[float, float, float, float]
Tiers = Sequence[tuple[float, float]]

#: where a GUI environment records what the providers read (see the module docstring)
GUI_INFO_KEY = "gui"

#: GUI-G²'s σ = sigma_scale · (box width, box height) (its released code uses 0.5)
DEFAULT_SIGMA_SCALE = 0.5

#: Box-relative tiers (our choice, see the module docstring): inside 1, ≤ ½ box 0.5, ≤ 1 box 0.25.
DEFAULT_BOX_TIERS: tuple[tuple[float, float], ...] = ((0.0, 1.0), (0.5, 0.5), (1.0, 0.25))

#: Screen-relative tiers (fractions of the frame diagonal): inside 1, ≤ 1 % 0.5, ≤ 3 % 0.25.
DEFAULT_SCREEN_TIERS: tuple[tuple[float, float], ...] = ((0.0, 1.0), (0.01, 0.5), (0.03, 0.25))

#: GUI-G1's weights of the IoU and box-size terms, as in its released code.
GUI_G1_ALPHA = 0.25
GUI_G1_BETA = 0.125

#: Spellings of the same action (after lower-casing, spaces and hyphens to ``_``) → the
#: canonical name the GUI environments use: click, double_click, long_press, type, scroll,
#: swipe, key, back, home, finish. Names not listed are compared as they are.
ACTION_ALIASES: Mapping[str, str] = {
    "tap": "click", "left_click": "click", "touch": "click",
    "doubleclick": "double_click", "double_tap": "double_click", "dbl_click": "double_click",
    "long_click": "long_press", "long_tap": "long_press", "longpress": "long_press",
    "press_and_hold": "long_press",
    "input": "type", "input_text": "type", "type_text": "type", "write": "type",
    "press_key": "key", "keypress": "key", "key_press": "key", "hotkey": "key",
    "press_back": "back", "navigate_back": "back", "go_back": "back",
    "press_home": "home", "navigate_home": "home", "go_home": "home",
    "done": "finish", "complete": "finish", "terminate": "finish", "stop": "finish", "status": "finish",
    "fling": "swipe",
}

FORMAT_PATTERNS = ("think_answer", "answer", "json_action", "think_answer_json")
_TAGS = ("<think>", "</think>", "<answer>", "</answer>")


# --------------------------------------------------------------------------- validation

def as_number(value: Any) -> float | None:
    """``value`` as a finite float, or ``None`` when it is not a real number (bools and strings
    are not), not finite, or too large for a float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    try:
        number = float(value)
    except (OverflowError, ValueError, TypeError):
        return None
    return number if math.isfinite(number) else None


def as_box(box: Any) -> Box | None:
    """``box`` as ``(left, top, right, bottom)`` floats, or ``None`` unless it is a sequence of
    four finite numbers with a finite, positive width and height."""
    if box is None or isinstance(box, (str, bytes, Mapping)):
        return None
    try:
        if len(box) != 4:
            return None
        values = [as_number(box[i]) for i in range(4)]
    except Exception:  # an object with a hostile __len__/__getitem__ is simply not a box
        return None
    if any(v is None for v in values):
        return None
    left, top, right, bottom = values  # type: ignore[misc]
    width, height = right - left, bottom - top
    if not (math.isfinite(width) and math.isfinite(height) and width > 0 and height > 0):
        return None
    return (left, top, right, bottom)


def _point(x: Any, y: Any) -> tuple[float, float] | None:
    px, py = as_number(x), as_number(y)
    return None if px is None or py is None else (px, py)


def _frame_size(frame: Any) -> tuple[float, float] | None:
    """``(W, H)`` from a ``(width, height)`` pair or a mapping with ``width``/``height``;
    ``None`` unless both are finite and positive."""
    try:
        if isinstance(frame, Mapping):
            width, height = as_number(frame.get("width")), as_number(frame.get("height"))
        elif frame is not None and not isinstance(frame, (str, bytes)) and len(frame) == 2:
            width, height = as_number(frame[0]), as_number(frame[1])
        else:
            return None
    except Exception:
        return None
    if width is None or height is None or width <= 0 or height <= 0:
        return None
    return (width, height)


def _clamp01(value: float) -> float:
    """``value`` clipped to ``[0, 1]``; NaN (e.g. inf/inf in an extreme case) becomes 0."""
    if not value == value:  # NaN
        return 0.0
    return min(1.0, max(0.0, value))


def _safe(compute: Callable[[], float]) -> float:
    """Run a formula on already validated numbers; an arithmetic surprise scores 0, never raises."""
    try:
        return _clamp01(float(compute()))
    except (ArithmeticError, ValueError, TypeError):
        return 0.0


def _check_sigma_scale(sigma_scale: Any) -> float:
    scale = as_number(sigma_scale)
    if scale is None or scale <= 0:
        raise ValueError(f"sigma_scale must be a positive finite number, got {sigma_scale!r}")
    return scale


def check_tiers(tiers: Any) -> tuple[tuple[float, float], ...]:
    """Validate ``((radius, value), ...)``: at least one tier, radii ``>= 0`` and strictly
    increasing (the last may be ``inf``), values in ``[0, 1]`` and non-increasing; raises
    ``ValueError`` otherwise (a configuration error)."""
    try:
        pairs = [(float(radius), float(value)) for radius, value in tiers]
    except (TypeError, ValueError) as error:
        raise ValueError(f"tiers must be a sequence of (radius, value) pairs, got {tiers!r}") from error
    if not pairs:
        raise ValueError("tiers must hold at least one (radius, value) pair")
    for index, (radius, value) in enumerate(pairs):
        if not (radius >= 0 and (math.isfinite(radius) or (radius == math.inf and index == len(pairs) - 1))):
            raise ValueError(f"tier radii must be finite and >= 0 (only the last may be inf), got {tiers!r}")
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"tier values must lie in [0, 1], got {tiers!r}")
    for (r0, v0), (r1, v1) in zip(pairs, pairs[1:]):
        if not r1 > r0:
            raise ValueError(f"tier radii must be strictly increasing, got {tiers!r}")
        if v1 > v0:
            raise ValueError(f"tier values must not increase with the radius, got {tiers!r}")
    return tuple(pairs)


# --------------------------------------------------------------------------- action type

def canonical_action_type(action_type: Any, aliases: Mapping[str, str] | None = None) -> str | None:
    """The canonical name of an action type: stripped, lower-cased, spaces and hyphens as
    ``_``, then mapped through :data:`ACTION_ALIASES` (and ``aliases``, which take precedence);
    ``None`` for a non-string or blank type."""
    if not isinstance(action_type, str):
        return None
    name = "_".join(action_type.strip().lower().replace("-", " ").split())
    if not name:
        return None
    if aliases and name in aliases:
        return aliases[name]
    return ACTION_ALIASES.get(name, name)


def action_type_reward(predicted_type: Any, target_type: Any, *, aliases: Mapping[str, str] | None = None) -> float:
    """UI-R1's ``R_T`` / GUI-R1's ``R_act``: ``1[canon(predicted) = canon(target)]``, case-
    insensitive, aliases applied (``"Tap"`` matches ``"click"``); 0 when either is not a
    non-blank string."""
    predicted = canonical_action_type(predicted_type, aliases)
    target = canonical_action_type(target_type, aliases)
    return float(predicted is not None and predicted == target)


# --------------------------------------------------------------------------- points and boxes

def click_in_box_reward(x: Any, y: Any, box: Any) -> float:
    """``1[left <= x <= right and top <= y <= bottom]`` (edges inside); 0 on malformed input."""
    point, target = _point(x, y), as_box(box)
    if point is None or target is None:
        return 0.0
    left, top, right, bottom = target
    return float(left <= point[0] <= right and top <= point[1] <= bottom)


def gaussian_point_reward(x: Any, y: Any, box: Any, *, sigma_scale: float = DEFAULT_SIGMA_SCALE) -> float:
    """GUI-G²'s Gaussian point reward, ``exp(−½((x − c_x)²/σ_x² + (y − c_y)²/σ_y²))`` with
    ``σ = sigma_scale · (w, h)`` of ``box``: 1 at the centre, ``exp(−½/s²)`` on the middle of an
    edge (0.607 for ``s = 0.5``), in ``(0, 1]``; 0 on malformed input."""
    scale = _check_sigma_scale(sigma_scale)
    point, target = _point(x, y), as_box(box)
    if point is None or target is None:
        return 0.0
    left, top, right, bottom = target

    def compute() -> float:
        width, height = right - left, bottom - top
        # centre as left + w/2: (left + right)/2 could overflow for huge finite coordinates
        u = (point[0] - (left + width / 2)) / (scale * width)
        v = (point[1] - (top + height / 2)) / (scale * height)
        return math.exp(-0.5 * (u * u + v * v))

    return _safe(compute)


def gaussian_coverage_reward(pred_box: Any, target_box: Any, *, sigma_scale: float = DEFAULT_SIGMA_SCALE) -> float:
    """GUI-G²'s coverage reward: the Bhattacharyya coefficient ``exp(−D_B)`` of the two boxes'
    Gaussians (see the module docstring); 1 for equal boxes, in ``(0, 1]``; 0 on malformed input."""
    scale = _check_sigma_scale(sigma_scale)
    pred, target = as_box(pred_box), as_box(target_box)
    if pred is None or target is None:
        return 0.0

    def compute() -> float:
        coefficient = 1.0
        for low, high in ((0, 2), (1, 3)):  # the x axis (left, right), then the y axis (top, bottom)
            size_p, size_t = pred[high] - pred[low], target[high] - target[low]
            # with q = σ_p/σ_t (the scale cancels) and d = Δμ/σ_t, the axis factor
            # √(2σ_pσ_t/(σ_p² + σ_t²))·exp(−Δμ²/(8σ̄²)) is √(2q/(1 + q²))·exp(−d²/(4(1 + q²)))
            q = size_p / size_t
            d = ((pred[low] + size_p / 2) - (target[low] + size_t / 2)) / (scale * size_t)
            coefficient *= math.sqrt(2 * q / (1 + q * q)) * math.exp(-d * d / (4 * (1 + q * q)))
        return coefficient

    return _safe(compute)


def iou(box_a: Any, box_b: Any) -> float:
    """Intersection over union of two boxes, in ``[0, 1]``; 0 on malformed input."""
    a, b = as_box(box_a), as_box(box_b)
    if a is None or b is None:
        return 0.0

    def compute() -> float:
        overlap_w = min(a[2], b[2]) - max(a[0], b[0])
        overlap_h = min(a[3], b[3]) - max(a[1], b[1])
        if overlap_w <= 0 or overlap_h <= 0:
            return 0.0
        intersection = overlap_w * overlap_h
        union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - intersection
        return intersection / union

    return _safe(compute)


def predicted_box_reward(pred_box: Any, target_box: Any, *, threshold: float | None = None) -> float:
    """The reward of a predicted box: its IoU with the target (GUI-G1's ``R_IoU``), or
    ``1[IoU >= threshold]`` when ``threshold`` (in ``(0, 1]``) is given."""
    if threshold is not None:
        limit = as_number(threshold)
        if limit is None or not 0 < limit <= 1:
            raise ValueError(f"threshold must lie in (0, 1], got {threshold!r}")
        return float(iou(pred_box, target_box) >= limit)
    return iou(pred_box, target_box)


def box_size_reward(pred_box: Any, target_box: Any, *, frame: Any) -> float:
    """GUI-G1's ``R_box``: the harmonic mean of ``1 − |Δ corner coordinate| / (W or H)`` over
    the four coordinates (see the module docstring); ``frame`` is ``(W, H)`` or a mapping with
    ``width``/``height``. In ``[0, 1]``, 1 only for equal boxes; 0 on malformed input."""
    pred, target, size = as_box(pred_box), as_box(target_box), _frame_size(frame)
    if pred is None or target is None or size is None:
        return 0.0
    width, height = size

    def compute() -> float:
        extents = (width, height, width, height)
        closeness = [1 - abs(p - t) / extent for p, t, extent in zip(pred, target, extents)]
        if any(c <= 0 for c in closeness):
            return 0.0
        return 4 / sum(1 / c for c in closeness)

    return _safe(compute)


#: The name the GUI brief used for GUI-G1's box-size correction (:func:`box_size_reward`).
box_size_normalised_reward = box_size_reward


def gui_g1_reward(pred_box: Any, target_box: Any, *, frame: Any, alpha: float = GUI_G1_ALPHA,
                  beta: float = GUI_G1_BETA) -> float:
    """GUI-G1's grounding reward ``R_hit + α·R_IoU + β·R_box`` for a predicted box: the hit of
    its centre in the target, its IoU, its box-size term; in ``[0, 1 + α + β]``, 0 on malformed
    input."""
    weights = (as_number(alpha), as_number(beta))
    if any(w is None or w < 0 for w in weights):
        raise ValueError(f"alpha and beta must be finite and >= 0, got {alpha!r}, {beta!r}")
    pred = as_box(pred_box)
    if pred is None or as_box(target_box) is None:
        return 0.0
    centre_x = pred[0] + (pred[2] - pred[0]) / 2
    centre_y = pred[1] + (pred[3] - pred[1]) / 2
    hit = click_in_box_reward(centre_x, centre_y, target_box)
    return hit + weights[0] * iou(pred, target_box) + weights[1] * box_size_reward(pred, target_box, frame=frame)


def box_distance(x: Any, y: Any, box: Any, *, normalise: str = "box", frame: Any = None) -> float | None:
    """The distance from the point to the box (0 inside or on the edge), in box sizes per axis
    (``normalise="box"``) or as a fraction of the frame's diagonal (``"screen"``, needs
    ``frame``); ``None`` on malformed input, ``inf`` when it overflows."""
    if normalise not in ("box", "screen"):
        raise ValueError(f"normalise must be 'box' or 'screen', got {normalise!r}")
    if normalise == "screen" and frame is None:
        raise ValueError("normalise='screen' needs the frame's (width, height)")
    point, target = _point(x, y), as_box(box)
    size = _frame_size(frame) if normalise == "screen" else (1.0, 1.0)
    if point is None or target is None or size is None:
        return None
    left, top, right, bottom = target
    try:
        dx = max(left - point[0], 0.0, point[0] - right)
        dy = max(top - point[1], 0.0, point[1] - bottom)
        if normalise == "box":
            distance = math.hypot(dx / (right - left), dy / (bottom - top))
        else:
            distance = math.hypot(dx, dy) / math.hypot(*size)
    except (ArithmeticError, ValueError):
        return math.inf
    return distance if distance == distance else math.inf


def tiered_distance_reward(x: Any, y: Any, box: Any, *, tiers: Tiers | None = None, normalise: str = "box",
                           frame: Any = None) -> float:
    """Sweet-Spot-Learning-style tiers over :func:`box_distance`: the value of the first tier
    whose radius the distance does not exceed, 0 beyond the last. ``tiers=None`` takes
    :data:`DEFAULT_BOX_TIERS` or :data:`DEFAULT_SCREEN_TIERS` by ``normalise``. 0 on malformed
    input; ``ValueError`` for invalid tiers or ``normalise`` (configuration)."""
    chosen = check_tiers(tiers if tiers is not None else
                         (DEFAULT_SCREEN_TIERS if normalise == "screen" else DEFAULT_BOX_TIERS))
    distance = box_distance(x, y, box, normalise=normalise, frame=frame)
    if distance is None:
        return 0.0
    for radius, value in chosen:
        if distance <= radius:
            return value
    return 0.0


def text_match_reward(predicted: Any, target: Any, *, threshold: float = 0.5) -> float:
    """GUI-R1's ``R_text``: ``1[token F1 > threshold]`` (SQuAD normalisation and F1); 1 when
    both normalise to the same string (also two empty ones); 0 for a non-string."""
    if not isinstance(predicted, str) or not isinstance(target, str):
        return 0.0
    if normalise_answer(predicted) == normalise_answer(target):
        return 1.0
    return float(token_f1(predicted, target) > threshold)


# --------------------------------------------------------------------------- format

def _tagged_blocks(text: str, names: Sequence[str]) -> list[str] | None:
    """The contents of ``<name>…</name>`` blocks that make up the whole ``text`` in the order
    of ``names`` (whitespace around and between allowed), each of the GUI tags occurring exactly
    where expected and nowhere else; ``None`` when the text is not of that shape."""
    expected = [tag for name in names for tag in (f"<{name}>", f"</{name}>")]
    if sum(text.count(tag) for tag in _TAGS) != len(expected):
        return None
    position = 0
    blocks: list[str] = []
    for name in names:
        opening, closing = f"<{name}>", f"</{name}>"
        start = text.find(opening, position)
        if start < 0 or text[position:start].strip():
            return None
        end = text.find(closing, start + len(opening))
        if end < 0:
            return None
        blocks.append(text[start + len(opening):end])
        position = end + len(closing)
    if text[position:].strip():
        return None
    return blocks


def is_json_action(text: str) -> bool:
    """Whether ``text`` (whitespace aside) is a JSON object whose ``"action"`` is a non-blank string."""
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        return False
    return isinstance(parsed, dict) and isinstance(parsed.get("action"), str) and parsed["action"].strip() != ""


def format_reward(text: Any, *, pattern: Union[str, "re.Pattern[str]"] = "think_answer") -> float:
    """1 when ``text`` has the shape ``pattern`` names (see the module docstring:
    ``"think_answer"``, ``"answer"``, ``"json_action"``, ``"think_answer_json"``, or a compiled
    regular expression that must match the whole text), else 0; 0 for a non-string.
    ``ValueError`` for an unknown pattern name."""
    if isinstance(pattern, re.Pattern):
        return float(isinstance(text, str) and pattern.fullmatch(text) is not None)
    if pattern not in FORMAT_PATTERNS:
        raise ValueError(f"pattern must be one of {FORMAT_PATTERNS} or a compiled re.Pattern, got {pattern!r}")
    if not isinstance(text, str):
        return 0.0
    if pattern == "json_action":
        return float(is_json_action(text))
    names = ("answer",) if pattern == "answer" else ("think", "answer")
    blocks = _tagged_blocks(text, names)
    if blocks is None or not blocks[-1].strip():
        return 0.0
    if pattern == "think_answer_json":
        return float(is_json_action(blocks[-1]))
    return 1.0


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
        if self.needs_frame and _frame_size(frame) is None:
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
        self.aliases = dict(aliases or {})
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
        self.sigma_scale = _check_sigma_scale(sigma_scale)
        self.name = name

    def value(self, predicted, target, frame, turn) -> float:
        point = predicted_point(predicted)
        return 0.0 if point is None else gaussian_point_reward(*point, target["box"], sigma_scale=self.sigma_scale)


class GuiGaussianCoverageReward(GuiReward):
    """GUI-G²'s :func:`gaussian_coverage_reward` of ``predicted["box"]`` (0 without one)."""

    needs = ("box",)

    def __init__(self, *, sigma_scale: float = DEFAULT_SIGMA_SCALE, name: str = "gui_gaussian_coverage") -> None:
        self.sigma_scale = _check_sigma_scale(sigma_scale)
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
        self.threshold = float(threshold)
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
    key is missing is left out, so a ``back`` step is worth at most ``type + format``. GUI-R1
    weighs its format and accuracy rewards with factors we could not find stated; set them with
    ``weights`` (or combine the single-term providers with :class:`~agentgym.rewards.CombinedReward`).
    """

    TERMS = ("type", "point", "text", "format")

    def __init__(self, *, weights: Mapping[str, float] | None = None, format_pattern: Union[str, "re.Pattern[str]"] =
                 "think_answer", aliases: Mapping[str, str] | None = None, name: str = "gui_action") -> None:
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
        self.aliases = dict(aliases or {})
        self.name = name

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
