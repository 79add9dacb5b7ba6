"""Colour scales for heatmaps and legends, quantised so styles can be cached.

A scale is a tuple of RGB stops, evenly spaced over [0, 1]. `color_at` maps a
position in [0, 1] to one of `LEVELS` colours. `LEVELS` is odd, so the middle
of a diverging scale (value 0) lands exactly on its white stop.
"""

from __future__ import annotations

import math
from functools import lru_cache

from rich.color import Color

RGB = tuple[int, int, int]
Scale = tuple[RGB, ...]

LEVELS = 33
"""Number of distinct colours per scale (odd: the middle level is exact)."""

NAN_RGB: RGB = (110, 110, 110)
"""Neutral grey for missing values (NaN)."""


def _hex(code: str) -> RGB:
    return int(code[1:3], 16), int(code[3:5], 16), int(code[5:7], 16)


DIVERGING: Scale = tuple(
    _hex(c)
    # ColorBrewer PuOr (9 classes), purple for negative, orange for positive:
    # colour-blind safe; the darkest stops are left out to stay visible on dark themes.
    for c in ("#542788", "#8073ac", "#b2abd2", "#d8daeb", "#f7f7f7",
              "#fee0b6", "#fdb863", "#e08214", "#b35806")
)
"""Purple–white–orange, for signed values such as tanh outputs (−1..1)."""

SEQUENTIAL: Scale = tuple(
    _hex(c)
    for c in ("#440154", "#482878", "#3e4989", "#31688e", "#26828e",
              "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725")
)
"""Viridis, for values in 0..1 such as gates."""

SCALES: dict[str, Scale] = {"diverging": DIVERGING, "sequential": SEQUENTIAL}


def scale_for(kind: str) -> Scale:
    """The scale called `kind` ("diverging" or "sequential")."""
    try:
        return SCALES[kind]
    except KeyError:
        raise ValueError(f"unknown colour scale {kind!r}; use one of {sorted(SCALES)}") from None


def quantize(x: float, levels: int = LEVELS) -> int:
    """Level index of position `x` in [0, 1] (clamped); NaN gives -1."""
    if x != x:  # NaN
        return -1
    x = 0.0 if x < 0.0 else 1.0 if x > 1.0 else x
    return int(x * (levels - 1) + 0.5)


@lru_cache(maxsize=1024)
def level_rgb(scale: Scale, level: int, levels: int = LEVELS) -> RGB:
    """RGB of one quantised level of `scale` (-1 is the NaN grey)."""
    if level < 0:
        return NAN_RGB
    pos = level / (levels - 1) * (len(scale) - 1)
    i = min(int(pos), len(scale) - 2)
    t = pos - i
    a, b = scale[i], scale[i + 1]
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


@lru_cache(maxsize=1024)
def level_color(scale: Scale, level: int, levels: int = LEVELS) -> Color:
    """Rich colour of one quantised level of `scale` (-1 is the NaN grey)."""
    return Color.from_rgb(*level_rgb(scale, level, levels))


def color_at(scale: Scale, x: float, levels: int = LEVELS) -> Color:
    """Colour of position `x` in [0, 1] on `scale`, quantised to `levels` colours."""
    return level_color(scale, quantize(x, levels), levels)


def format_number(value: float, digits: int = 3) -> str:
    """A short label: integers as such, otherwise `digits` significant digits."""
    if not math.isfinite(value):
        return str(value)
    if value == int(value) and abs(value) < 1e6:
        return str(int(value))
    text = f"{value:.{digits}g}"
    return text.replace("e+0", "e").replace("e-0", "e-").replace("e+", "e")
