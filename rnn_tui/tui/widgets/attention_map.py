"""An attention matrix as a grid: one line per output token, one column per source token.

Drawn with the line API. Line 0 holds the source tokens as column labels; then one line per
output token: its label (left-aligned, padded to the widest label) and one cell per source
token, as wide as that token's label (at least 2 cells), filled with "█" in the sequential
(colour-blind-safe viridis) scale of the Inspect heatmaps over 0 → 1. Every width is a cell
width (``rich.cells.cell_len``), so double-width Chinese labels line up. The last line is the
colour legend. The widget is as wide as its grid (``width: auto``): a scrolling parent scrolls a
long sentence sideways instead of cutting it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from rnn_tui.display import visible_token
from rnn_tui.tui.palette import LEVELS, level_color, quantize, scale_for

NO_ATTENTION = "this run has no attention: the decoder reads one fixed context"
BLOCK = "█"
GAP = 1  # blank cells between two columns
LEGEND_STEPS = 17  # colours in the legend's ramp (every other quantised level)


@lru_cache(maxsize=LEVELS + 1)
def weight_style(level: int) -> Style:
    """The style of a cell at one quantised level of the sequential scale."""
    return Style(color=level_color(scale_for("sequential"), level))


def _pad(text: str, width: int) -> str:
    """``text`` followed by spaces up to ``width`` terminal cells."""
    return text + " " * max(0, width - cell_len(text))


class AttentionMap(Widget):
    COMPONENT_CLASSES = {"attention-map--label", "attention-map--note"}
    DEFAULT_CSS = """
    AttentionMap { height: auto; width: auto; }
    AttentionMap > .attention-map--label { color: $text-muted; }
    AttentionMap > .attention-map--note { color: $text-muted; text-style: italic; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.rows: list[list[float]] | None = None
        self.row_labels: list[str] = []
        self.col_labels: list[str] = []
        self.shown = False  # nothing set yet: the widget takes no room

    def set_attention(self, rows: Sequence[Sequence[float]] | None, row_labels: Sequence[str],
                      col_labels: Sequence[str]) -> None:
        """``rows[t][j]``: the weight output token t gave source token j; None or empty: the
        run has no attention (a one-line note)."""
        self.rows = [list(r) for r in rows] if rows else None
        self.row_labels = [visible_token(t) for t in row_labels]
        self.col_labels = [visible_token(t) for t in col_labels]
        self.shown = True
        self.refresh(layout=True)

    def clear(self) -> None:
        self.rows, self.row_labels, self.col_labels, self.shown = None, [], [], False
        self.refresh(layout=True)

    # -- geometry ---------------------------------------------------------------------------------

    @property
    def label_width(self) -> int:
        """Cells before the first column: the widest row label and one blank."""
        return max((cell_len(t) for t in self.row_labels), default=0) + 1

    @property
    def col_widths(self) -> list[int]:
        return [max(2, cell_len(t)) for t in self.col_labels]

    def _legend(self) -> list[tuple[str, Style | None]]:
        ramp = [(BLOCK, weight_style(quantize(k / (LEGEND_STEPS - 1)))) for k in range(LEGEND_STEPS)]
        return [(" " * self.label_width, None), ("0 ", None), *ramp, (" 1  attention weight", None)]

    def get_content_width(self, container, viewport) -> int:
        if not self.shown:
            return 0
        if not self.rows:
            return cell_len(NO_ATTENTION)
        grid = self.label_width + sum(w + GAP for w in self.col_widths)
        return max(grid, sum(cell_len(text) for text, _ in self._legend()))

    def get_content_height(self, container, viewport, width: int) -> int:
        if not self.shown:
            return 0
        if not self.rows:
            return 1
        return 1 + len(self.rows) + 1  # the source tokens, one line per output token, the legend

    # -- drawing ------------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.visual_style.rich_style
        label = self.get_component_rich_style("attention-map--label")
        if not self.shown:
            return Strip.blank(width, base)
        if not self.rows:
            note = self.get_component_rich_style("attention-map--note")
            return Strip([Segment(NO_ATTENTION if y == 0 else "", note)]).crop_extend(0, width, base)
        widths = self.col_widths
        gap = Segment(" " * GAP, base)
        if y == 0:  # the source tokens
            segments = [Segment(" " * self.label_width, base)]
            for text, w in zip(self.col_labels, widths):
                segments += [Segment(_pad(text, w), label), gap]
        elif y <= len(self.rows):
            t = y - 1
            row_label = self.row_labels[t] if t < len(self.row_labels) else ""
            segments = [Segment(_pad(row_label, self.label_width), label)]
            for value, w in zip(self.rows[t], widths):
                segments += [Segment(BLOCK * w, weight_style(quantize(value))), gap]
        elif y == len(self.rows) + 1:
            segments = [Segment(text, style or (label if text.strip() else base)) for text, style in self._legend()]
        else:
            segments = []
        return Strip(segments).crop_extend(0, width, base)


__all__ = ["NO_ATTENTION", "AttentionMap", "weight_style"]
