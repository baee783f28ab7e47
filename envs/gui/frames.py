"""Coordinate frames: where the agent's ``(x, y)`` lands on the screen, and back.

The screen is the page's viewport in CSS pixels (``device_scale_factor`` 1, so one CSS pixel is
one screenshot pixel). Every point is continuous: pixel ``(i, j)`` covers ``[i, i+1) x [j, j+1)``
and an integer coordinate names that pixel's top-left corner; ``getBoundingClientRect`` boxes
are in the same units. A frame is an axis-wise linear map between the agent's coordinates and
the screen's, with no offset::

    screen_x = x * scale_x        x = screen_x / scale_x        (the same for y)

* ``pixels`` -- the screenshot as it is: ``scale = 1``; ``x`` in ``[0, W)``, ``y`` in ``[0, H)``.
* ``normalized_1000`` -- both axes on ``0..1000`` (Qwen-VL / UI-TARS style): ``scale_x = W / 1000``,
  ``scale_y = H / 1000``; ``x`` and ``y`` in ``[0, 1000]`` (1000, the far edge, is taken as the
  last pixel's centre so that the point stays on the screen).
* ``resized`` -- the screenshot is scaled (down, or up for a ``max_side`` above its size) so
  that its longer side is ``max_side`` (and, with ``multiple_of`` > 1, each side a multiple of
  it, as Qwen2-VL's ``smart_resize`` does); the
  agent answers in the resized image's pixels. The scales are the *actual* ratios of the two
  images' sizes, per axis (``scale_x = W / w``, ``scale_y = H / h``), never a nominal factor:
  rounding the image's size changes its aspect ratio a little, and a single factor is what
  makes coordinates drift after resizing. Image pixel ``(u, v)`` covers exactly the screen
  region ``[u*scale_x, (u+1)*scale_x) x [v*scale_y, (v+1)*scale_y)`` that the resampling drew it from.

Boxes ``(left, top, right, bottom)`` map the same way, so a point is inside a box in the agent's
frame exactly when its screen point is inside the screen box. :meth:`CoordinateFrame.describe`
is what every sample records (``info["gui"]["frame"]``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from agentgym.core import ConfigError, check_int

FRAMES = ("pixels", "normalized_1000", "resized")
#: The side a resized screenshot's longer side gets by default.
DEFAULT_MAX_SIDE = 1024
#: The largest ``max_side`` of a resized frame (a screen is a few hundred pixels a side).
MAX_RESIZED_SIDE = 4096
NORMALIZED_EXTENT = 1000


@dataclass(frozen=True)
class CoordinateFrame:
    """The agent's coordinate frame on a screen of ``screen`` = ``(W, H)`` CSS pixels.

    Attributes:
        name: ``pixels``, ``normalized_1000`` or ``resized``.
        screen: ``(W, H)``, the viewport.
        image: ``(w, h)``, the size of the image the agent is shown.
        extent: ``(X, Y)``, the range of the agent's coordinates (``x`` in ``[0, X)``).
    """

    name: str
    screen: tuple[int, int]
    image: tuple[int, int]
    extent: tuple[int, int]

    @classmethod
    def make(cls, name: str, screen: tuple[int, int], *, max_side: int = DEFAULT_MAX_SIDE,
             multiple_of: int = 1) -> CoordinateFrame:
        """The frame called ``name`` on ``screen``; ``max_side`` and ``multiple_of`` size a
        ``resized`` image (ignored by the others).

        Raises:
            ConfigError: an unknown name, or a size out of range.
        """
        if name not in FRAMES:
            raise ConfigError(f"coordinate frame must be one of {', '.join(FRAMES)}, got {name!r}")
        width, height = screen
        if name == "pixels":
            return cls(name, (width, height), (width, height), (width, height))
        if name == "normalized_1000":
            return cls(name, (width, height), (width, height), (NORMALIZED_EXTENT, NORMALIZED_EXTENT))
        check_int("resized frame", "max_side", max_side, minimum=32)
        if max_side > MAX_RESIZED_SIDE:  # 200000 asked for a 70 GB image at make()
            raise ConfigError(f"resized frame: max_side must be at most {MAX_RESIZED_SIDE}, got {max_side}")
        check_int("resized frame", "multiple_of", multiple_of, minimum=1)
        if multiple_of > max_side:
            raise ConfigError(f"resized frame: multiple_of ({multiple_of}) must not exceed max_side ({max_side})")
        factor = max_side / max(width, height)
        size = tuple(_round_to(side * factor, multiple_of, max_side) for side in (width, height))
        return cls(name, (width, height), size, size)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ the map
    @property
    def scale(self) -> tuple[float, float]:
        """Screen pixels per frame unit, per axis."""
        return self.screen[0] / self.extent[0], self.screen[1] / self.extent[1]

    def to_screen(self, x: float, y: float) -> tuple[float, float]:
        """The screen point of frame point ``(x, y)`` (``normalized_1000``'s far edge, 1000, is
        moved in to the last pixel's centre)."""
        sx = x * self.screen[0] / self.extent[0]
        sy = y * self.screen[1] / self.extent[1]
        if self.name == "normalized_1000":
            sx, sy = min(sx, self.screen[0] - 0.5), min(sy, self.screen[1] - 0.5)
        return sx, sy

    def from_screen(self, sx: float, sy: float) -> tuple[float, float]:
        """The frame point of screen point ``(sx, sy)``."""
        return sx * self.extent[0] / self.screen[0], sy * self.extent[1] / self.screen[1]

    def box_from_screen(self, box: Sequence[float]) -> list[float]:
        """A screen box ``(left, top, right, bottom)`` in this frame."""
        left, top = self.from_screen(box[0], box[1])
        right, bottom = self.from_screen(box[2], box[3])
        return [left, top, right, bottom]

    def box_to_screen(self, box: Sequence[float]) -> list[float]:
        """A box of this frame on the screen (no clamping)."""
        return [box[0] * self.screen[0] / self.extent[0], box[1] * self.screen[1] / self.extent[1],
                box[2] * self.screen[0] / self.extent[0], box[3] * self.screen[1] / self.extent[1]]

    def contains(self, x: float, y: float) -> bool:
        """``(x, y)`` is a point of the screen in this frame (``normalized_1000``: both in ``[0, 1000]``)."""
        if self.name == "normalized_1000":
            return 0 <= x <= self.extent[0] and 0 <= y <= self.extent[1]
        return 0 <= x < self.extent[0] and 0 <= y < self.extent[1]

    def range_text(self) -> str:
        """The valid coordinates, for error messages and prompts."""
        if self.name == "normalized_1000":
            return "x and y from 0 to 1000"
        return f"x from 0 to {self.extent[0] - 1}, y from 0 to {self.extent[1] - 1}"

    def prompt_text(self) -> str:
        """One sentence telling the agent how to write coordinates."""
        if self.name == "pixels":
            return (f"Coordinates are pixels of the {self.extent[0]}x{self.extent[1]} screenshot, "
                    f"from the top-left corner: {self.range_text()}.")
        if self.name == "normalized_1000":
            return ("Coordinates are normalised to 0-1000 on both axes, from the top-left corner "
                    "(500, 500 is the centre of the screen).")
        return (f"Coordinates are pixels of the {self.extent[0]}x{self.extent[1]} image you are shown, "
                f"from the top-left corner: {self.range_text()}.")

    def describe(self) -> dict[str, Any]:
        """The frame as data (what ``info["gui"]["frame"]`` records): ``kind``, ``width`` and
        ``height`` (the coordinate range, which :mod:`agentgym.rewards.gui` reads as the frame's
        size), the shown image's and the screen's sizes, and the scales."""
        scale_x, scale_y = self.scale
        return {"kind": self.name, "width": self.extent[0], "height": self.extent[1],
                "image_width": self.image[0], "image_height": self.image[1],
                "screen_width": self.screen[0], "screen_height": self.screen[1],
                "scale_x": scale_x, "scale_y": scale_y}

    # ------------------------------------------------------------------ the image
    def image_of(self, screenshot: np.ndarray) -> np.ndarray:
        """The image the agent is shown: the screenshot, or (``resized``) the screenshot
        resampled to :attr:`image` with a box filter (each output pixel the mean of the screen
        region it covers, see the module docstring)."""
        if self.image == self.screen:
            return screenshot
        from PIL import Image

        resized = Image.fromarray(screenshot).resize(self.image, Image.Resampling.BOX)
        return np.asarray(resized)


def _round_to(value: float, multiple: int, cap: int) -> int:
    """``value`` rounded to a multiple of ``multiple`` (at least one multiple, at most ``cap``)."""
    steps = max(1, round(value / multiple))
    while steps * multiple > cap and steps > 1:
        steps -= 1
    return int(steps * multiple)


def finite(value: Any) -> bool:
    """A real number (not a bool) that is finite as a float (an integer too large for a float,
    such as ``10**400``, is not)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


__all__ = ["CoordinateFrame", "DEFAULT_MAX_SIDE", "FRAMES", "finite"]
