"""An attention matrix as a grid: one line per output token, one column per source token.

Drawn with the line API. Each column is as wide as its source token (at least 2 cells), so
double-width Chinese labels line up; each cell is filled with "█" in the sequential
(colour-blind-safe) scale of the Inspect heatmaps, 0 → 1.
"""

from __future__ import annotations

from typing import Sequence

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from rnn_tui.display import visible_token
from rnn_tui.tui.palette import LEVELS, level_color, quantize, scale_for

NO_ATTENTION = "no attention in this run: the decoder reads one fixed context"


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - cell_len(text))


class AttentionMap(Widget):
    COMPONENT_CLASSES = {"attention-map--label", "attention-map--note"}
    DEFAULT_CSS = """
    AttentionMap { height: auto; }
    AttentionMap > .attention-map--label { color: $text-muted; }
    AttentionMap > .attention-map--note { color: $text-muted; text-style: italic; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.rows: list[Sequence[float]] | None = None
        self.row_labels: list[str] = []
        self.col_labels: list[str] = []

    def set_attention(self, rows: Sequence[Sequence[float]] | None, row_labels: Sequence[str],
                      col_labels: Sequence[str]) -> None:
        """``rows[t][j]``: the weight output token t gave source token j (None: no attention)."""
        self.rows = [list(r) for r in rows] if rows is not None else None
        self.row_labels = [visible_token(t) for t in row_labels]
        self.col_labels = [visible_token(t) for t in col_labels]
        self.refresh(layout=True)

    # -- geometry ---------------------------------------------------------------------------------

    @property
    def label_width(self) -> int:
        return max((cell_len(t) for t in self.row_labels), default=0) + 1

    @property
    def col_widths(self) -> list[int]:
        return [max(2, cell_len(t)) for t in self.col_labels]

    def get_content_height(self, container, viewport, width: int) -> int:
        if not self.rows:
            return 1
        return 1 + len(self.rows) + 1  # header, one line per output token, legend

    # -- drawing ------------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.visual_style.rich_style
        label = self.get_component_rich_style("attention-map--label")
        if not self.rows:
            text = NO_ATTENTION if self.rows is None and self.row_labels else ""
            return Strip([Segment(text, self.get_component_rich_style("attention-map--note"))]).crop_extend(0, width, base)
        widths = self.col_widths
        if y == 0:  # the source tokens
            segments = [Segment(" " * self.label_width, base)]
            for text, w in zip(self.col_labels, widths):
                segments += [Segment(_pad(text, w), label), Segment(" ", base)]
        elif y <= len(self.rows):
            t = y - 1
            segments = [Segment(_pad(self.row_labels[t] if t < len(self.row_labels) else "", self.label_width), label)]
            scale = scale_for("sequential")
            for value, w in zip(self.rows[t], widths):
                color = level_color(scale, quantize(min(1.0, max(0.0, value))))
                segments += [Segment("█" * w, Style(color=color)), Segment(" ", base)]
        elif y == len(self.rows) + 1:  # the legend: 0 … 1
            scale = scale_for("sequential")
            segments = [Segment(_pad("α", self.label_width), label), Segment("0 ", label)]
            segments += [Segment("█", Style(color=level_color(scale, k))) for k in range(0, LEVELS, 2)]
            segments.append(Segment(" 1", label))
        else:
            segments = []
        return Strip(segments).crop_extend(0, width, base)


__all__ = ["AttentionMap", "NO_ATTENTION"]
