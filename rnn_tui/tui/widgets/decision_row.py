"""Under the Inspect tab's token strip, for a classifier: how the decision moved as each token was read.

One row of bars, each drawn in the cells of its token in the strip above (so the two scroll
together): the predicted class's probability after the prefix that ends at that token, its
height by the probability and its colour purple (against) – white (chance) – orange (for).
With attention pooling a second row: each token's attention weight α (height and colour by
α / the largest α). Then one line: the values at the cursor and the tokens read so far that
moved the predicted class's log-odds most.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget

from rnn_tui.display import visible_token
from rnn_tui.inspect.trace import ClassificationTrace, shown
from rnn_tui.tui.palette import DIVERGING, SEQUENTIAL, Scale, color_at
from rnn_tui.tui.widgets.token_strip import TokenStrip

BARS = "▁▂▃▄▅▆▇█"
MOVERS = 3


def bar(value: float) -> str:
    """The bar glyph of a value in [0, 1]: never empty, so every token shows a mark."""
    return BARS[round(max(0.0, min(1.0, value)) * (len(BARS) - 1))]


def chance_centred(p: float, classes: int) -> float:
    """A probability placed on a diverging scale with chance (1 / classes) in the middle."""
    chance = 1 / classes
    return 0.5 * p / chance if p < chance else 0.5 + 0.5 * (p - chance) / (1 - chance)


class DecisionRow(Widget):
    """Bars aligned with a TokenStrip's tokens, and a caption line (see the module doc)."""

    COMPONENT_CLASSES = {"decision-row--cursor", "decision-row--caption"}

    DEFAULT_CSS = """
    DecisionRow { height: 2; display: none; background: $panel; }
    DecisionRow.-shown { display: block; }
    DecisionRow.-attention { height: 3; }
    DecisionRow > .decision-row--cursor { background: $accent 40%; }
    DecisionRow > .decision-row--caption { color: $text-muted; }
    """

    def __init__(self, strip: TokenStrip, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.strip = strip
        self.trace: ClassificationTrace | None = None
        self.order: list[int] = []  # strip index -> position in the text (a backward part reads it reversed)
        self.widths: list[int] = []
        self.cursor = 0
        self.tooltip = ("bars: p(predicted class) after the text up to each token, classified alone "
                        "(purple against, white chance, orange for); with attention pooling a second row: "
                        "each token's attention weight. 'moved most': the tokens read so far that changed "
                        "the predicted class's log-odds most")

    def set_trace(self, trace: ClassificationTrace | None, order: Sequence[int] = (), cursor: int = 0) -> None:
        """Show ``trace`` with the strip's tokens at text positions ``order`` (None: hide)."""
        self.trace, self.order, self.cursor = trace, list(order), cursor
        self.widths = [cell_len(visible_token(trace.tokens[j])) for j in self.order] if trace is not None else []
        self.set_class(trace is not None, "-shown")
        self.set_class(trace is not None and trace.attention is not None, "-attention")
        self.refresh()

    def set_cursor(self, cursor: int) -> None:
        self.cursor = cursor
        self.refresh()

    # -- what is drawn ---------------------------------------------------------------------------

    def rows(self) -> list[tuple[list[float], list[float], Scale]]:
        """Per row, in strip order: the bar heights in [0, 1], the places on the colour scale, the scale."""
        trace = self.trace
        if trace is None:
            return []
        probs = [trace.probs[j][trace.label] for j in self.order]
        rows = [(probs, [chance_centred(p, len(trace.classes)) for p in probs], DIVERGING)]
        if trace.attention is not None:
            top = max(trace.attention) or 1.0
            weights = [trace.attention[j] / top for j in self.order]
            rows.append((weights, weights, SEQUENTIAL))
        return rows

    def caption(self) -> Text:
        """The values at the cursor, each after its bar as drawn in its row, and the top movers
        among the tokens read so far (the text up to the cursor's position)."""
        trace = self.trace
        out = Text(no_wrap=True, overflow="ellipsis")
        if trace is None or not self.order:
            return out
        k, j = self.cursor, self.order[self.cursor]
        values = [f"p({trace.predicted}) {trace.probs[j][trace.label]:.2f} Δ{trace.delta[j]:+.2f}"]
        if trace.attention is not None:
            values.append(f"α {trace.attention[j]:.2f}")
        for (heights, places, scale), value in zip(self.rows(), values):
            out.append(bar(heights[k]), Style(color=color_at(scale, places[k])))
            out.append(f" {value} · ")
        out.append("moved most: " + "  ".join(f"{shown(trace.tokens[t])} {trace.delta[t]:+.2f}" for t in trace.movers(j, MOVERS)))
        return out

    def render_line(self, y: int) -> Strip:
        base = self.visual_style.rich_style
        width = self.size.width
        rows = self.rows()
        if y == len(rows):
            caption = self.caption()
            caption.style = self.get_component_rich_style("decision-row--caption")  # under the bars' colours
            caption.truncate(width, overflow="ellipsis")
            return Strip(caption.render(self.app.console)).apply_style(base).extend_cell_length(width, base)
        if y > len(rows) or not self.order:
            return Strip.blank(width, base)
        heights, places, scale = rows[y]
        cursor_style = self.get_component_rich_style("decision-row--cursor")
        cells: list[Segment] = []
        x = 0
        for index, w in enumerate(self.widths):
            start = self.strip.token_x(index)
            if start >= width:
                break
            if start + w <= 0:
                continue
            lo, hi = max(0, start), min(width, start + w)
            if lo > x:
                cells.append(Segment(" " * (lo - x), base))
            style = (base + cursor_style if index == self.cursor else base) + Style(color=color_at(scale, places[index]))
            cells.append(Segment(bar(heights[index]) * (hi - lo), style))
            x = hi
        return Strip(cells).extend_cell_length(width, base)


__all__ = ["DecisionRow", "bar", "chance_centred"]
