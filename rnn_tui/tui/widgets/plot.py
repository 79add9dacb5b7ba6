"""Live training curves drawn with braille dots (2 × 4 dots per cell)."""

from __future__ import annotations

import itertools
import math
import operator
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.color import ColorParseError
from rich.segment import Segment
from rich.style import Style
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from rnn_tui.tui.palette import format_number

BRAILLE_BASE = 0x2800
# Dot bits of a braille cell, indexed [dot_y][dot_x].
BRAILLE_DOTS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))


@dataclass(frozen=True)
class Series:
    """One curve: points (xs[i], ys[i]) drawn in `color` (a Rich colour name or hex); the legend
    shows `note` after its name, else its last value; `legend=False` leaves it out of the legend
    (a curve of the same colour as one listed, e.g. another seed of the same cell)."""

    name: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    color: str = "cyan"
    note: str | None = None
    legend: bool = True


def downsample(
    xs: Sequence[float], ys: Sequence[float], buckets: int
) -> tuple[list[float], list[float]]:
    """At most 2·buckets + 2 points: the first, the last, and the min and max
    of each x bucket, in their original order. Spikes survive; points with a
    non-finite x or y are dropped."""
    xs, ys = list(xs), list(ys)
    n = min(len(xs), len(ys))
    del xs[n:], ys[n:]
    if not (all(map(math.isfinite, xs)) and all(map(math.isfinite, ys))):
        pairs = [(x, y) for x, y in zip(xs, ys) if math.isfinite(x) and math.isfinite(y)]
        xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
        n = len(xs)
    if n <= 2 * buckets + 2 or buckets < 1:
        return xs, ys
    keep = {0, n - 1}
    if all(map(operator.le, xs, xs[1:])):  # sorted x (the usual case): bisect the buckets
        x0, span = xs[0], (xs[-1] - xs[0]) or 1.0
        edges = [bisect_left(xs, x0 + span * b / buckets) for b in range(buckets)] + [n]
        for a, b in itertools.pairwise(edges):
            if a < b:
                part = ys[a:b]
                keep.add(a + part.index(min(part)))
                keep.add(a + part.index(max(part)))
    else:
        x0 = min(xs)
        span = (max(xs) - x0) or 1.0
        lows: dict[int, int] = {}
        highs: dict[int, int] = {}
        for i, (x, y) in enumerate(zip(xs, ys)):
            b = min(buckets - 1, int((x - x0) / span * buckets))
            if b not in lows or y < ys[lows[b]]:
                lows[b] = i
            if b not in highs or y > ys[highs[b]]:
                highs[b] = i
        keep |= set(lows.values()) | set(highs.values())
    order = sorted(keep)
    return [xs[i] for i in order], [ys[i] for i in order]


def _line(x0: int, y0: int, x1: int, y1: int) -> list[tuple[int, int]]:
    """Pixels of a straight line (Bresenham), both ends included."""
    pixels = []
    dx, dy = abs(x1 - x0), -abs(y1 - y0)
    sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
    err = dx + dy
    while True:
        pixels.append((x0, y0))
        if x0 == x1 and y0 == y1:
            return pixels
        e2 = 2 * err
        if e2 >= dy:
            err += dy
            x0 += sx
        if e2 <= dx:
            err += dx
            y0 += sy


class LinePlot(Widget):
    """Curves with a y axis (min, middle, max), an x range and a legend line; optionally a
    cursor, a vertical line at one x.

    Lines are computed once per data, cursor or size change and cached.
    """

    COMPONENT_CLASSES = {"line-plot--axis", "line-plot--title", "line-plot--empty", "line-plot--cursor"}

    DEFAULT_CSS = """
    LinePlot {
        height: 1fr;
        min-height: 5;
    }
    LinePlot > .line-plot--axis { color: $text-muted; }
    LinePlot > .line-plot--title { text-style: bold; }
    LinePlot > .line-plot--empty { color: $text-muted; text-style: italic; }
    LinePlot > .line-plot--cursor { color: $accent; }
    """

    title: reactive[str] = reactive("")
    """Shown at the start of the legend line."""
    log_y: reactive[bool] = reactive(False)
    """Plot log10(y); points with y <= 0 are left out."""

    def __init__(
        self,
        title: str = "",
        *,
        log_y: bool = False,
        x_format: Callable[[float], str] = format_number,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._series: tuple[Series, ...] = ()
        self._lines: list[Strip] | None = None
        self._lines_width = -1
        self._cursor: float | None = None
        self.x_format = x_format
        """How the x axis labels its two ends (e.g. a point's date)."""
        self.points_drawn = 0
        """How many points the last render drew after downsampling (for tests)."""
        self.set_reactive(LinePlot.title, title)
        self.set_reactive(LinePlot.log_y, log_y)

    def set_series(self, series: Sequence[Series]) -> None:
        """Replace all curves and redraw."""
        self._series = tuple(series)
        self._invalidate()

    @property
    def series(self) -> tuple[Series, ...]:
        return self._series

    def set_cursor(self, x: float | None) -> None:
        """Draw the cursor at ``x`` (None: no cursor)."""
        if x != self._cursor:
            self._cursor = x
            self._invalidate()

    def watch_title(self) -> None:
        self._invalidate()

    def watch_log_y(self) -> None:
        self._invalidate()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._lines = None

    def _invalidate(self) -> None:
        self._lines = None
        self.refresh()

    # -- rendering ------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        if self._lines is None or len(self._lines) != height or self._lines_width != width:
            self._lines = self._render_lines(width, height)
            self._lines_width = width
        return self._lines[y] if 0 <= y < len(self._lines) else Strip.blank(width, self.visual_style.rich_style)

    def _color_style(self, base: Style, color: str) -> Style:
        try:
            return base + Style(color=color)
        except ColorParseError:
            return base

    def _points(self, series: Series, buckets: int) -> tuple[list[float], list[float]]:
        """The series downsampled to `buckets` pixel columns, log10 applied if log_y."""
        xs: Sequence[float] = series.xs
        ys: Sequence[float] = series.ys
        if self.log_y:  # drop y <= 0 first; log10 is monotonic, so min/max survive it
            pairs = [(x, y) for x, y in zip(xs, ys) if y > 0]
            xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
        px, py = downsample(xs, ys, buckets)
        return px, [math.log10(y) for y in py] if self.log_y else py

    def _legend(self, base: Style, width: int, max_lines: int) -> list[Strip]:
        """The title and one entry per series (``━ name last-value``), wrapped onto up to
        ``max_lines`` lines without splitting an entry (what does not fit is cut)."""
        entries: list[list[Segment]] = []
        for series in (s for s in self._series if s.legend):
            last = next((y for y in reversed(series.ys) if math.isfinite(y)), None)
            value = "–" if last is None else format_number(last, 4)
            style = self._color_style(base, series.color)
            if series.note is not None:
                value = series.note
            entries.append([Segment(f"━ {series.name} ", style + Style(bold=True)), Segment(value, base)])
        title = [Segment(self.title, self.get_component_rich_style("line-plot--title"))] if self.title else []
        lines: list[list[Segment]] = [title]
        for entry in entries:
            used = sum(cell_len(seg.text) for seg in lines[-1])
            need = sum(cell_len(seg.text) for seg in entry) + 2
            if lines[-1] and used + need > width and len(lines) < max_lines:
                lines.append([])
            lines[-1] += ([Segment("  ", base)] if lines[-1] else []) + entry
        return [Strip(segments).crop_extend(0, width, base) for segments in lines]

    def _render_lines(self, width: int, height: int) -> list[Strip]:
        base = self.visual_style.rich_style
        axis = self.get_component_rich_style("line-plot--axis")
        lines = self._legend(base, width, max_lines=max(1, height // 4))
        rows = height - len(lines) - 1
        if rows < 1 or width < 8:
            self.points_drawn = 0
            return (lines + [Strip.blank(width, base)] * height)[:height]

        # Downsample before the axis labels fix the plot width: at most 2 points per pixel column.
        data = [(s, *self._points(s, 2 * (width - 1))) for s in self._series]
        all_x = [x for _, xs, _ in data for x in xs]
        all_y = [y for _, _, ys in data for y in ys]
        if not all_y:
            self.points_drawn = 0
            empty = self.get_component_rich_style("line-plot--empty")
            for row in range(rows):
                text = "no data yet".center(width) if row == rows // 2 else ""
                lines.append(Strip([Segment(text, empty)]).crop_extend(0, width, base))
            lines.append(Strip.blank(width, base))
            return lines

        x_lo, x_hi = min(all_x), max(all_x)
        y_lo, y_hi = min(all_y), max(all_y)
        if x_hi == x_lo:
            x_lo, x_hi = x_lo - 0.5, x_hi + 0.5
        if y_hi == y_lo:
            pad = abs(y_lo) * 0.1 or 0.5
            y_lo, y_hi = y_lo - pad, y_hi + pad

        def shown(value: float) -> str:
            return format_number(10**value if self.log_y else value)

        pixel_rows = rows * 4
        mid_row = rows // 2
        mid_value = y_hi - (4 * mid_row + 1.5) / (pixel_rows - 1) * (y_hi - y_lo)
        ticks = {0: shown(y_hi), rows - 1: shown(y_lo)}
        if rows >= 3:
            ticks[mid_row] = shown(mid_value)
        label_width = max(map(cell_len, ticks.values()))
        cols = max(1, width - label_width - 1)
        pixel_cols = cols * 2

        bits = [[0] * cols for _ in range(rows)]
        colors: list[list[Style | None]] = [[None] * cols for _ in range(rows)]
        drawn = 0
        for series, xs, ys in data:
            style = self._color_style(base, series.color)
            drawn += len(xs)
            pixels = [
                (
                    round((x - x_lo) / (x_hi - x_lo) * (pixel_cols - 1)),
                    round((y_hi - y) / (y_hi - y_lo) * (pixel_rows - 1)),
                )
                for x, y in zip(xs, ys)
            ]
            path = pixels[:1]
            for a, b in itertools.pairwise(pixels):
                path += _line(*a, *b)[1:]
            for px, py in path:
                row, col = py // 4, px // 2
                bits[row][col] |= BRAILLE_DOTS[py % 4][px % 2]
                colors[row][col] = style
        self.points_drawn = drawn
        cursor_col = None
        if self._cursor is not None and x_lo <= self._cursor <= x_hi:
            cursor_col = round((self._cursor - x_lo) / (x_hi - x_lo) * (pixel_cols - 1)) // 2
        cursor_style = self.get_component_rich_style("line-plot--cursor")

        for row in range(rows):
            label = ticks.get(row, "")
            segments = [
                Segment(label.rjust(label_width), axis),
                Segment("┤" if row in ticks else "│", axis),
            ]
            run_style: Style | None = None
            run: list[str] = []
            for col in range(cols):
                style = colors[row][col] or base
                char = chr(BRAILLE_BASE + bits[row][col]) if bits[row][col] else " "
                if col == cursor_col and not bits[row][col]:  # the curves stay visible across it
                    style, char = cursor_style, "│"
                if style is not run_style and run:
                    segments.append(Segment("".join(run), run_style))
                    run = []
                run_style = style
                run.append(char)
            if run:
                segments.append(Segment("".join(run), run_style))
            lines.append(Strip(segments).crop_extend(0, width, base))

        left, right = self.x_format(x_lo), self.x_format(x_hi)
        fill = max(1, cols - cell_len(left) - cell_len(right))
        x_axis = [
            Segment(" " * label_width, base),
            Segment("└", axis),
            Segment(left, axis),
            Segment("─" * fill, axis),
            Segment(right, axis),
        ]
        lines.append(Strip(x_axis).crop_extend(0, width, base))
        return lines


__all__ = ["LinePlot", "Series", "downsample"]
