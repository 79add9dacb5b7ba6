"""A chart of a series and forecasts of it (the Forecast tab's): the curves on a LinePlot over the
series' 1-based point numbers, and a cursor that the arrow keys move from point to point, with a
line under the plot naming the point (its date) and every curve's value there (the curve drawn on
top first)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Static

from rnn_tui.tui.palette import format_number
from rnn_tui.tui.widgets.plot import LinePlot, Series


class ForecastChart(Widget, can_focus=True):
    BINDINGS = [
        Binding("left", "move(-1)", "Earlier", id="forecast.cursor.left"),
        Binding("right", "move(1)", "Later", id="forecast.cursor.right"),
        Binding("shift+left", "move(-10)", "10 earlier", show=False, id="forecast.cursor.left10"),
        Binding("shift+right", "move(10)", "10 later", show=False, id="forecast.cursor.right10"),
        Binding("home", "move(-1000000)", "First point", show=False, id="forecast.cursor.first"),
        Binding("end", "move(1000000)", "Last point", show=False, id="forecast.cursor.last"),
    ]

    DEFAULT_CSS = """
    ForecastChart { height: 1fr; min-height: 6; }
    ForecastChart:focus-within { background: $boost; }
    ForecastChart #fc-plot { height: 1fr; }
    ForecastChart #fc-cursor { height: auto; padding: 0 0 0 1; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.points: list[int] = []  # every point some curve has, in order: where the cursor can be
        self.cursor: int | None = None  # an index into points
        self._labels: dict[int, str] = {}
        self._values: list[tuple[Series, dict[int, float]]] = []

    def compose(self) -> ComposeResult:
        yield LinePlot(id="fc-plot", x_format=self.label)
        yield Static("", id="fc-cursor")

    def label(self, x: float) -> str:
        """Point ``x`` by its date, else by its number."""
        return self._labels.get(round(x), f"point {round(x)}")

    def show(self, series: Sequence[Series], labels: dict[int, str], at: int | None = None) -> None:
        """Draw ``series`` (xs: point numbers), ``labels`` the points' dates, the cursor on point
        ``at`` (default: the last one)."""
        self._labels = labels
        self._values = [(s, {round(x): y for x, y in zip(s.xs, s.ys)}) for s in series]
        self.points = sorted({p for _, values in self._values for p in values})
        self.query_one(LinePlot).set_series(series)
        self.cursor = None
        if self.points:
            self.cursor = self.points.index(at) if at in self.points else len(self.points) - 1
        self._show_cursor()

    def action_move(self, by: int) -> None:
        if self.cursor is not None:
            self.cursor = max(0, min(len(self.points) - 1, self.cursor + by))
            self._show_cursor()

    def readout(self) -> Text:
        """The cursor's point and every curve's value there, in the curve's colour, the curve drawn
        on top first."""
        if self.cursor is None:
            return Text()
        point = self.points[self.cursor]
        out = Text(self.label(point), style="bold")
        for series, values in reversed(self._values):
            if point in values:
                out.append(" · ")
                out.append(series.name, style=series.color)
                out.append(f" {format_number(values[point], 4)}")
        return out

    def _show_cursor(self) -> None:
        self.query_one(LinePlot).set_cursor(None if self.cursor is None else self.points[self.cursor])
        self.query_one("#fc-cursor", Static).update(self.readout())


__all__ = ["ForecastChart"]
