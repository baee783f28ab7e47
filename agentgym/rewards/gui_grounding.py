"""Rewards of GUI grounding: where a click or a predicted box falls relative to the target
element. Click-in-box, Gaussian point and coverage rewards (GUI-G²), IoU, GUI-G1's
box-size-aware box reward and tiered distance rewards (Sweet Spot Learning), as pure functions.

**Coordinates.** A box is ``(left, top, right, bottom)`` with ``right > left`` and
``bottom > top``, a point is ``(x, y)``, all in one coordinate frame (x grows to the right, y
downwards). Every reward below is unchanged when the point and the boxes are translated
together; the click, Gaussian, coverage, IoU and box-relative tiered rewards are also unchanged
when the frame is rescaled (pixels, 0–1000 normalised, a resized image), so the frame only
matters where a formula uses the image size (:func:`box_size_reward`, screen-relative tiers).

**Hostile input never raises.** Every reward below returns ``0.0`` when a point, a box or a
frame is malformed (:mod:`agentgym.rewards.gui_inputs` says what counts as malformed), and a
formula that meets an arithmetic surprise on valid numbers (an overflow, inf/inf) scores 0 too.
Only a wrong *configuration* (tiers that are not monotone, a non-positive ``sigma_scale``, a
threshold outside ``(0, 1]``, negative GUI-G1 weights, an unknown ``normalise``) raises
``ValueError``, at the call that receives it.

**The formulas and where they come from** (``1[·]`` is 1 when true, else 0):

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
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

from agentgym.rewards.gui_inputs import as_box, as_number, as_point, frame_size

Tiers = Sequence[tuple[float, float]]

#: GUI-G²'s σ = sigma_scale · (box width, box height) (its released code uses 0.5)
DEFAULT_SIGMA_SCALE = 0.5

#: Box-relative tiers (our choice, see the module docstring): inside 1, ≤ ½ box 0.5, ≤ 1 box 0.25.
DEFAULT_BOX_TIERS: tuple[tuple[float, float], ...] = ((0.0, 1.0), (0.5, 0.5), (1.0, 0.25))

#: Screen-relative tiers (fractions of the frame diagonal): inside 1, ≤ 1 % 0.5, ≤ 3 % 0.25.
DEFAULT_SCREEN_TIERS: tuple[tuple[float, float], ...] = ((0.0, 1.0), (0.01, 0.5), (0.03, 0.25))

#: GUI-G1's weights of the IoU and box-size terms, as in its released code.
GUI_G1_ALPHA = 0.25
GUI_G1_BETA = 0.125


# --------------------------------------------------------------------------- validation

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


def check_sigma_scale(sigma_scale: Any) -> float:
    """``sigma_scale`` as a float; ``ValueError`` unless it is a positive finite number (a
    configuration error)."""
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


# --------------------------------------------------------------------------- points and boxes

def click_in_box_reward(x: Any, y: Any, box: Any) -> float:
    """``1[left <= x <= right and top <= y <= bottom]`` (edges inside); 0 on malformed input."""
    point, target = as_point(x, y), as_box(box)
    if point is None or target is None:
        return 0.0
    left, top, right, bottom = target
    return float(left <= point[0] <= right and top <= point[1] <= bottom)


def gaussian_point_reward(x: Any, y: Any, box: Any, *, sigma_scale: float = DEFAULT_SIGMA_SCALE) -> float:
    """GUI-G²'s Gaussian point reward, ``exp(−½((x − c_x)²/σ_x² + (y − c_y)²/σ_y²))`` with
    ``σ = sigma_scale · (w, h)`` of ``box``: 1 at the centre, ``exp(−1/(8s²))`` on the middle of an
    edge (half a box from the centre, ``u = 1/(2s)``: 0.607 for ``s = 0.5``), in ``(0, 1]``; 0 on
    malformed input."""
    scale = check_sigma_scale(sigma_scale)
    point, target = as_point(x, y), as_box(box)
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
    scale = check_sigma_scale(sigma_scale)
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
    pred, target, size = as_box(pred_box), as_box(target_box), frame_size(frame)
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
    point, target = as_point(x, y), as_box(box)
    size = frame_size(frame) if normalise == "screen" else (1.0, 1.0)
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


__all__ = [
    "DEFAULT_BOX_TIERS", "DEFAULT_SCREEN_TIERS", "DEFAULT_SIGMA_SCALE", "GUI_G1_ALPHA", "GUI_G1_BETA", "Tiers",
    "box_distance", "box_size_normalised_reward", "box_size_reward", "check_sigma_scale", "check_tiers",
    "click_in_box_reward", "gaussian_coverage_reward", "gaussian_point_reward", "gui_g1_reward", "iou",
    "predicted_box_reward", "tiered_distance_reward",
]
