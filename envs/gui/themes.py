"""Themes of generated screens: colours, fonts, corner radii and density, drawn from a seed.

Fonts are the DejaVu families of Debian's ``fonts-dejavu-core`` / ``fonts-dejavu-extra``
packages (present wherever Chromium is installed from Debian): Sans, Sans Condensed, Sans Light
(ExtraLight), Serif, Serif Condensed and Sans Mono -- six faces of different widths, weights and
styles, loaded from the system (no web fonts, no network). A theme is CSS custom properties on
the page's root plus the font and the two device sizes.
"""

from __future__ import annotations

import colorsys
import random
from typing import Any

#: ``(CSS font-family, font-weight)`` of each face.
FONTS: tuple[tuple[str, int], ...] = (
    ("DejaVu Sans", 400),
    ("DejaVu Sans Condensed", 400),
    ("DejaVu Sans Light", 200),
    ("DejaVu Serif", 400),
    ("DejaVu Serif Condensed", 400),
    ("DejaVu Sans Mono", 400),
)
#: The viewport of each device, in CSS pixels (device_scale_factor 1).
DEVICE_SIZES = {"desktop": (1280, 800), "phone": (412, 915)}
DEVICES = tuple(DEVICE_SIZES)

#: Per difficulty: base font size range (px), row height range (px), icon button size range
#: (px) and padding scale range.
_DENSITY = {
    "easy": {"font": (15, 17), "row": (56, 64), "icon": (44, 48), "pad": (1.0, 1.2)},
    "medium": {"font": (13, 16), "row": (44, 56), "icon": (34, 42), "pad": (0.8, 1.0)},
    "hard": {"font": (11, 14), "row": (32, 44), "icon": (24, 32), "pad": (0.55, 0.8)},
}


def _hex(h: float, l: float, s: float) -> str:  # noqa: E741 - hue, lightness, saturation
    r, g, b = colorsys.hls_to_rgb(h % 1.0, max(0.0, min(1.0, l)), max(0.0, min(1.0, s)))
    return "#{:02x}{:02x}{:02x}".format(round(r * 255), round(g * 255), round(b * 255))


def draw_theme(rng: random.Random, difficulty: str) -> dict[str, Any]:
    """A theme for one app: ``{"vars": {css property: value}, "font": family, "weight": int,
    "dark": bool}``, drawn with ``rng``; ``difficulty`` sets the density (font size, row height,
    icon size, padding)."""
    density = _DENSITY[difficulty]
    dark = rng.random() < 0.35
    hue = rng.random()
    sat = rng.uniform(0.45, 0.8)
    font, weight = rng.choice(FONTS)
    if dark:
        bg_l = rng.uniform(0.06, 0.13)
        colours = {
            "--bg": _hex(hue, bg_l, 0.08), "--surface": _hex(hue, bg_l + 0.06, 0.1),
            "--surface2": _hex(hue, bg_l + 0.12, 0.12), "--text": _hex(hue, 0.93, 0.05),
            "--muted": _hex(hue, 0.68, 0.06), "--border": _hex(hue, bg_l + 0.2, 0.08),
            "--primary": _hex(hue, rng.uniform(0.62, 0.72), sat), "--on-primary": _hex(hue, 0.1, 0.3),
            "--danger": _hex(0.0, 0.68, 0.7), "--scrim": "rgba(0,0,0,0.6)",
        }
    else:
        bg_l = rng.uniform(0.96, 1.0)
        colours = {
            "--bg": _hex(hue, bg_l, 0.2), "--surface": _hex(hue, min(1.0, bg_l + 0.02), 0.1),
            "--surface2": _hex(hue, bg_l - 0.06, 0.25), "--text": _hex(hue, 0.12, 0.1),
            "--muted": _hex(hue, 0.42, 0.08), "--border": _hex(hue, 0.84, 0.1),
            "--primary": _hex(hue, rng.uniform(0.34, 0.46), sat), "--on-primary": "#ffffff",
            "--danger": _hex(0.0, 0.45, 0.7), "--scrim": "rgba(0,0,0,0.38)",
        }
    font_px = rng.randint(*density["font"])
    values = {
        **colours,
        "--font": f'"{font}", "DejaVu Sans", sans-serif',
        "--weight": str(weight),
        "--fs": f"{font_px}px",
        "--row": f"{rng.randint(*density['row'])}px",
        "--icon": f"{rng.randint(*density['icon'])}px",
        "--pad": f"{rng.uniform(*density['pad']):.2f}",
        "--radius": f"{rng.choice([0, 2, 4, 6, 8, 12, 16])}px",
        "--btn-radius": f"{rng.choice([2, 4, 8, 18, 24])}px",
        "--shadow": rng.choice(["none", "0 1px 3px rgba(0,0,0,0.25)", "0 2px 8px rgba(0,0,0,0.2)"]),
        "--divider": rng.choice(["1px solid var(--border)", "none"]),
    }
    return {"vars": values, "font": font, "weight": weight, "dark": dark, "font_px": font_px}


__all__ = ["DEVICES", "DEVICE_SIZES", "FONTS", "draw_theme"]
