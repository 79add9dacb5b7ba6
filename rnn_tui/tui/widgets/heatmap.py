"""A rows × columns heatmap drawn with half blocks, and its colour legend.

Each text line shows two data rows: "▀" with the upper row's colour as
foreground and the lower row's colour as background. Colours are quantised
(see `palette`), so a style cache keyed by the two levels keeps big matrices fast.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from rnn_tui.inspect.trace import DEFAULT_RANGES
from rnn_tui.tui.palette import (
    LEVELS,
    format_number,
    level_color,
    quantize,
    scale_for,
)

HALF = "▀"


@lru_cache(maxsize=8192)
def cell_style(kind: str, upper: int, lower: int | None) -> Style:
    """Style of a "▀" cell: upper level as foreground, lower level as background.

    `lower` is None for the last line of a matrix with an odd number of rows.
    """
    scale = scale_for(kind)
    bgcolor = None if lower is None else level_color(scale, lower)
    return Style.from_color(level_color(scale, upper), bgcolor)


def data_range(
    rows: Sequence[Sequence[float]], kind: str, vmin: float | None, vmax: float | None
) -> tuple[float, float]:
    """The colour range: given bounds win; otherwise the kind's natural range
    (diverging −1..1, sequential 0..1) widened to hold the data; diverging stays
    symmetric around 0."""
    if vmin is not None and vmax is not None:
        return float(vmin), float(vmax)
    lo, hi = DEFAULT_RANGES[kind]
    for row in rows:
        finite = [v for v in row if math.isfinite(v)]
        if finite:
            lo, hi = min(lo, min(finite)), max(hi, max(finite))
    if kind == "diverging":
        bound = max(abs(lo), abs(hi))
        lo, hi = -bound, bound
    return (lo if vmin is None else float(vmin)), (hi if vmax is None else float(vmax))


class Heatmap(ScrollView, can_focus=True):
    """A matrix as colours, two rows per line; a ▼ header row marks `cursor_col`.

    The owner sets `cursor_col` (the time step) and `selected_row` (the unit);
    a click only posts `CellClicked`.
    """

    COMPONENT_CLASSES = {"heatmap--marker", "heatmap--label", "heatmap--label-selected"}

    DEFAULT_CSS = """
    Heatmap {
        height: 1fr;
        min-height: 3;
        scrollbar-size: 1 1;
    }
    Heatmap > .heatmap--marker { color: $accent; text-style: bold; }
    Heatmap > .heatmap--label { color: $text-muted; }
    Heatmap > .heatmap--label-selected { color: $accent; text-style: bold reverse; }
    """

    cursor_col: reactive[int | None] = reactive(None)
    """The marked column (the current time step), or None."""
    selected_row: reactive[int | None] = reactive(None)
    """The marked row (the selected unit), or None."""
    col_width: reactive[int] = reactive(1)
    """Characters per column."""

    @dataclass
    class CellClicked(Message):
        """A data cell was clicked. In a plain terminal a click cannot tell the
        two rows of a line apart and reports the upper one; terminals that send
        pixel coordinates select the lower row in the lower half."""

        heatmap: Heatmap
        row: int
        col: int

        @property
        def control(self) -> Heatmap:
            return self.heatmap

    def __init__(
        self,
        *,
        col_width: int = 1,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._rows: list[Sequence[float]] = []
        self._n_cols = 0
        self._kind = "diverging"
        self._vmin, self._vmax = DEFAULT_RANGES["diverging"]
        self._labels: list[str] = []
        self._gutter_width = 1
        self._strips: dict[int, Strip] = {}
        self._styles: dict[tuple[int, int | None], Style] = {}
        """Style of each (upper, lower) level pair for the current kind."""
        self.set_reactive(Heatmap.col_width, max(1, col_width))

    # -- data -----------------------------------------------------------------

    def set_data(
        self,
        rows: Sequence[Sequence[float]],
        *,
        kind: str = "diverging",
        vmin: float | None = None,
        vmax: float | None = None,
        row_labels: Sequence[str] | None = None,
    ) -> None:
        """Show `rows` (a rows × cols matrix of floats; NaN is drawn grey).

        `kind` is "diverging" or "sequential"; a bound left None is the kind's
        natural range (−1..1 or 0..1) widened to hold the data. The rows are
        kept by reference: pass a new matrix rather than mutating this one.
        """
        scale_for(kind)  # validates the kind
        self._rows = list(rows)
        self._n_cols = max((len(row) for row in self._rows), default=0)
        self._kind = kind
        self._vmin, self._vmax = data_range(self._rows, kind, vmin, vmax)
        self._labels = [str(label) for label in row_labels] if row_labels else []
        self._gutter_width = (max(map(cell_len, self._labels)) if self._labels else 0) + 1
        self._strips.clear()
        self._styles.clear()
        self._update_virtual_size()
        self.refresh()

    @property
    def kind(self) -> str:
        """The colour scale in use."""
        return self._kind

    @property
    def vmin(self) -> float:
        """Value drawn with the first colour of the scale."""
        return self._vmin

    @property
    def vmax(self) -> float:
        """Value drawn with the last colour of the scale."""
        return self._vmax

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of the data."""
        return len(self._rows), self._n_cols

    @property
    def gutter_width(self) -> int:
        """Cells left of the matrix: row labels (if any) and the selected-row marker."""
        return self._gutter_width

    def _update_virtual_size(self) -> None:
        lines = (len(self._rows) + 1) // 2
        self.virtual_size = Size(self.gutter_width + self._n_cols * self.col_width, lines + 1)

    # -- reactive watchers ----------------------------------------------------

    def validate_col_width(self, width: int) -> int:
        return max(1, width)

    def watch_col_width(self) -> None:
        self._strips.clear()
        self._update_virtual_size()
        self.refresh()

    def watch_cursor_col(self, col: int | None) -> None:
        if col is not None and self.is_mounted:
            view = max(1, self.scrollable_content_region.width - self.gutter_width)
            x = col * self.col_width
            if not self.scroll_x <= x < self.scroll_x + view - self.col_width + 1:
                self.scroll_to(x=max(0, x - view // 2), animate=False, immediate=True)
                self.refresh()
                return
        self.refresh(Region(0, 0, self.size.width, 1))  # the ▼ lives on the header line only

    def watch_selected_row(self, row: int | None) -> None:
        if row is not None and self.is_mounted:
            view = max(1, self.scrollable_content_region.height - 1)
            line = row // 2
            if not self.scroll_y <= line < self.scroll_y + view:
                self.scroll_to(y=max(0, line - view // 2), animate=False, immediate=True)
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    # -- rendering ------------------------------------------------------------

    def _levels(self, row: Sequence[float]) -> list[int]:
        """Quantised colour level of each value in `row` (-1 for NaN or missing)."""
        vmin, top = self._vmin, LEVELS - 1
        k = top / (self._vmax - vmin) if self._vmax != vmin else 0.0
        levels = [
            -1 if v != v else 0 if (x := (v - vmin) * k) <= 0 else top if x >= top else int(x + 0.5)
            for v in row
        ]
        return levels + [-1] * (self._n_cols - len(levels))

    def _data_strip(self, line: int) -> Strip:
        """The full-width strip of data rows 2·line and 2·line+1 (cached)."""
        strip = self._strips.get(line)
        if strip is not None:
            return strip
        kind, width = self._kind, self.col_width
        styles = self._styles
        upper = self._levels(self._rows[2 * line])
        has_lower = 2 * line + 1 < len(self._rows)
        lower: list[int | None] = [*self._levels(self._rows[2 * line + 1])] if has_lower else [None] * self._n_cols
        segments: list[Segment] = []
        run_key: tuple[int, int | None] | None = None
        run = 0
        for key in zip(upper, lower):
            if key == run_key:
                run += 1
                continue
            if run_key is not None:
                style = styles.get(run_key) or styles.setdefault(run_key, cell_style(kind, *run_key))
                segments.append(Segment(HALF * (run * width), style))
            run_key, run = key, 1
        if run_key is not None:
            style = styles.get(run_key) or styles.setdefault(run_key, cell_style(kind, *run_key))
            segments.append(Segment(HALF * (run * width), style))
        if not has_lower:  # the lower half of a last odd row shows the widget background
            base = Style(bgcolor=self.visual_style.rich_style.bgcolor)
            segments = [Segment(text, base + style) for text, style, _ in segments]
        strip = Strip(segments, self._n_cols * width)
        self._strips[line] = strip
        return strip

    def _gutter(self, line: int, base: Style) -> list[Segment]:
        """Row label of this line (the selected row's, if it is here) and the marker."""
        gutter = self.gutter_width
        if line < 0:
            return [Segment(" " * gutter, base)]
        selected = self.selected_row
        here = selected is not None and selected // 2 == line
        segments: list[Segment] = []
        if self._labels:
            row = selected if here else 2 * line
            label = self._labels[row] if row is not None and row < len(self._labels) else ""
            name = "heatmap--label-selected" if here else "heatmap--label"
            pad = " " * (gutter - 1 - cell_len(label))
            segments += [Segment(pad, base), Segment(label, self.get_component_rich_style(name))]
        if here and selected is not None:
            marker = HALF if selected % 2 == 0 else "▄"
            segments.append(Segment(marker, self.get_component_rich_style("heatmap--marker")))
        else:
            segments.append(Segment(" ", base))
        return segments

    def _header(self, base: Style) -> Strip:
        """The ▼ marker over the cursor column (full data width)."""
        width = self._n_cols * self.col_width
        col = self.cursor_col
        if col is None or not 0 <= col < self._n_cols:
            return Strip.blank(width, base)
        x = col * self.col_width
        marker = "▼".center(self.col_width)
        return Strip(
            [
                Segment(" " * x, base),
                Segment(marker, self.get_component_rich_style("heatmap--marker")),
                Segment(" " * (width - x - self.col_width), base),
            ],
            width,
        )

    def render_line(self, y: int) -> Strip:
        """Line `y` of the view: the header at 0, then data lines scrolled by scroll_y."""
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self.visual_style.rich_style
        gutter = self.gutter_width
        n_lines = (len(self._rows) + 1) // 2
        line = -1 if y == 0 else y - 1 + scroll_y
        if y == 0:
            body = self._header(base)
        elif line < n_lines:
            body = self._data_strip(line)
        else:
            return Strip.blank(width, base)
        body = body.crop(scroll_x, scroll_x + max(0, width - gutter))
        strip = Strip(self._gutter(line, base) + list(body), gutter + body.cell_length)
        return strip.extend_cell_length(width, base)

    # -- mouse ----------------------------------------------------------------

    def cell_at(self, x: int, y: int, lower_half: bool = False) -> tuple[int, int] | None:
        """(row, col) under content offset (x, y), or None outside the data."""
        if y < 1 or x < self.gutter_width:
            return None
        row = 2 * (y - 1 + round(self.scroll_y)) + (1 if lower_half else 0)
        col = (x - self.gutter_width + round(self.scroll_x)) // self.col_width
        if row < len(self._rows) and col < self._n_cols:
            return row, col
        return None

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        lower_half = event.pointer_y - math.floor(event.pointer_y) >= 0.5
        cell = self.cell_at(offset.x, offset.y, lower_half)
        if cell is not None:
            event.stop()
            self.post_message(self.CellClicked(self, *cell))


class HeatLegend(Widget):
    """One line: "-1.00 ▕gradient 0 gradient▏ 1.00" for a heatmap's colour range."""

    DEFAULT_CSS = """
    HeatLegend {
        height: 1;
    }
    """

    def __init__(
        self,
        kind: str = "diverging",
        vmin: float | None = None,
        vmax: float | None = None,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        scale_for(kind)  # validates the kind
        lo, hi = DEFAULT_RANGES[kind]
        self._kind = kind
        self._vmin = lo if vmin is None else vmin
        self._vmax = hi if vmax is None else vmax

    def set_range(self, kind: str, vmin: float, vmax: float) -> None:
        """Show the scale `kind` from `vmin` to `vmax`."""
        scale_for(kind)
        self._kind, self._vmin, self._vmax = kind, float(vmin), float(vmax)
        self.refresh()

    def _label(self, value: float) -> str:
        text = "0" if value == 0 else f"{value:.2f}" if abs(value) < 100 else format_number(value)
        if value > 0 and self._vmin < 0:
            text = "+" + text
        return text.replace("-", "−")

    def render_line(self, y: int) -> Strip:
        base = self.visual_style.rich_style
        width = self.size.width
        if y != 0:
            return Strip.blank(width, base)
        lo, mid, hi = self._vmin, (self._vmin + self._vmax) / 2, self._vmax
        labels = [self._label(v) for v in (lo, mid, hi)]
        bar = max(2, width - sum(map(cell_len, labels)) - 4)
        halves = (bar // 2, bar - bar // 2)
        scale = scale_for(self._kind)
        segments = [Segment(labels[0] + " ", base)]
        for half, (start, stop) in zip(halves, ((0.0, 0.5), (0.5, 1.0))):
            for i in range(half):
                x = start + (stop - start) * (i + 0.5) / half
                segments.append(Segment(" ", Style(bgcolor=level_color(scale, quantize(x)))))
            if start == 0.0:
                segments.append(Segment(f" {labels[1]} ", base))
        segments.append(Segment(" " + labels[2], base))
        return Strip(segments).crop_extend(0, width, base)


__all__ = ["HeatLegend", "Heatmap", "cell_style", "data_range"]
