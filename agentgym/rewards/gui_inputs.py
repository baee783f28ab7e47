"""Untrusted input of the GUI rewards made safe: numbers, points, boxes and frame sizes.

Every GUI reward function (:mod:`agentgym.rewards.gui_grounding`) and provider
(:mod:`agentgym.rewards.gui`) reads what an agent wrote, and an action the agent writes must
never crash the environment that scores it. These functions are where that starts: each takes
any value and returns it validated, or ``None`` when it is malformed; none of them raises.

* a number: a finite float; not ``None``, a string, a bool (``True`` is not a coordinate), NaN,
  ±inf, or an integer too large for a float;
* a point ``(x, y)``: two such numbers;
* a box ``(left, top, right, bottom)``: a sequence of four such numbers with a finite, positive
  width and height (``right > left`` and ``bottom > top``; an inverted or empty box is not one);
* a frame size ``(W, H)``: from a ``(width, height)`` pair or a mapping with ``width`` and
  ``height``, both finite and positive.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Mapping

Box = tuple[float, float, float, float]


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


def as_point(x: Any, y: Any) -> tuple[float, float] | None:
    """``(x, y)`` as floats, or ``None`` unless both are finite real numbers (:func:`as_number`)."""
    px, py = as_number(x), as_number(y)
    return None if px is None or py is None else (px, py)


def frame_size(frame: Any) -> tuple[float, float] | None:
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


__all__ = ["Box", "as_box", "as_number", "as_point", "frame_size"]
