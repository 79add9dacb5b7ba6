"""The Forecast pane: a forecasting run's series, its test part, the model's and the baselines'
forecasts of it and the next N values after the series, on one chart with a cursor; under it the
model's errors beside the baselines'.

What the pane says about the run comes from the app's RunHistory. Threading rule
(docs/architecture.md): the model comes from the app's ModelCache in an exclusive thread worker
that only posts the plain-data message below (api.LoadedForecaster's results). The pane forecasts
when it is shown and its run's checkpoint moved since, and on enter / ctrl+t.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label, Static

from rnn_tui.errors import RnnTuiError
from rnn_tui.results import Forecast, ForecastEvaluation, ForecastScores
from rnn_tui.tui.history import RunHistory
from rnn_tui.tui.model_cache import ModelCache
from rnn_tui.tui.palette import format_number
from rnn_tui.tui.run_console import RunConsole
from rnn_tui.tui.widgets.forecast_chart import ForecastChart
from rnn_tui.tui.widgets.plot import Series

NO_RUN = "No forecaster: train one with --task forecast or open one in Runs."
TAIL = 3  # the chart shows the last TAIL × (test points) of the series
NO_TEST_TAIL = 48  # without a test part: this many last points, or TAIL × N when more
COLORS = {"history": "grey62", "test truth": "white", "persistence": "yellow", "seasonal_naive": "medium_purple1",
          "ar": "green", "model": "bright_cyan", "next": "bright_red"}
SHOWN = ("best", "all", "none")  # which baselines the chart draws (b cycles)
NAMES = {"persistence": "persistence", "seasonal_naive": "seasonal naive"}  # "ar": AR(p)



def baseline_name(name: str, result: ForecastEvaluation) -> str:
    return f"AR({result['ar_order']})" if name == "ar" else NAMES.get(name, name)


def chart_series(points: dict[str, Any], evaluation: ForecastEvaluation | None, future: Forecast,
                 baselines: str = "best") -> list[Series]:
    """The chart's curves over 1-based point numbers, in the order they are drawn (a later one over
    an earlier where they meet): the history before the test part (its last 2 × test points, so
    the test part is a third of it); the one-step-ahead forecasts from every test origin (the
    first step of each forecast) of the best baseline, of ``all`` of them or of ``none``; the test
    truth; the model's; and the next values after the series. The forecasts' legends give their
    test RMSE."""
    values, start = points["values"], points["test_start"]
    n = len(values)
    if start is None:  # no test part: the tail of the series, then the next values
        start, shown = n + 1, max(NO_TEST_TAIL, TAIL * future["steps"])
    else:
        shown = (TAIL - 1) * (n - start + 1)
    first = max(1, start - shown)

    def curve(name: str, key: str, first_point: int, ys: list[float], note: str | None = None) -> Series:
        return Series(name, tuple(float(p) for p in range(first_point, first_point + len(ys))), tuple(ys),
                      COLORS[key], note)

    history = curve("history", "history", first, values[first - 1:start - 1], "")
    future_curve = curve(f"next {future['steps']}", "next", future["points"][0], future["values"], "")
    if evaluation is None:
        return [history, future_curve]

    def forecasts(name: str, scores: ForecastScores) -> Series:
        return curve(baseline_name(name, evaluation), name, start, [row[0] for row in evaluation["forecasts"][name]],
                     f"RMSE {format_number(scores['rmse'], 4)}")

    drawn = {"best": [evaluation["best_baseline"]], "all": list(evaluation["baselines"]), "none": []}[baselines]
    return [history, *(forecasts(name, evaluation["baselines"][name]) for name in drawn),
            curve("test truth", "test truth", start, values[start - 1:], ""), forecasts("model", evaluation["model"]),
            future_curve]


def point_labels(points: dict[str, Any], future: Forecast) -> dict[int, str]:
    """Each point's date (the series' and the continued ones), or nothing without a date column."""
    if points["dates"] is None:
        return {}
    return dict(enumerate([*points["dates"], *(future["dates"] or [])], start=1))


def metrics_text(result: ForecastEvaluation) -> Text:
    """The headline (the model's RMSE as a ratio of the best baseline's), then the model's and each
    baseline's errors on the test part."""
    best = result["best_baseline"]
    out = Text()
    if result["ratio"] is not None:
        verdict = "better than" if result["ratio"] < 1 else "not better than"
        out.append(f"model/best baseline ({baseline_name(best, result)}) RMSE ")
        out.append(f"{result['ratio']:.3f}", style="bold")
        out.append(f" — {verdict} the best baseline\n", style="bold" if result["ratio"] < 1 else "bold red")
    pct: Literal["mape", "smape"] = "mape" if "mape" in result["model"] else "smape"
    names = {"model": "model", **{name: baseline_name(name, result) for name in result["baselines"]}}
    width = max(len(name) for name in names.values())
    out.append(f"{'test':<{width}}  {'RMSE':>9}  {'MAE':>9}  {pct.upper() + ' %':>8}\n", style="dim")
    for name, s in (("model", result["model"]), *result["baselines"].items()):
        row = f"{names[name]:<{width}}  {format_number(s['rmse'], 4):>9}  {format_number(s['mae'], 4):>9}  {s[pct]:>8.2f}"
        out.append(row + (" ← best baseline" if name == best else "") + "\n", style="bold" if name == "model" else "")
    steps = f"of {result['horizon']} steps (the chart: the first step)" if result["horizon"] > 1 else "one step ahead"
    out.append(f"{result['origins']} test forecasts {steps}", style="dim")
    return out


class ForecastPane(RunConsole):
    BINDINGS = [Binding("ctrl+t", "forecast", "Forecast", id="forecast.run"),
                Binding("b", "baselines", "Baselines", id="forecast.baselines"),
                Binding("n", "steps", "Steps after the end", id="forecast.steps")]
    ERROR_ID = "fc-error"

    DEFAULT_CSS = """
    ForecastPane { height: 1fr; }
    ForecastPane #fc-run { height: auto; padding: 0 1; color: $text-muted; }
    ForecastPane #fc-ask { height: 1; padding: 0 1; }
    ForecastPane #fc-ask Label { color: $text-muted; }
    ForecastPane #fc-steps { width: 12; margin: 0 1; }
    ForecastPane #fc-keys { width: 1fr; color: $text-muted; }
    ForecastPane #fc-error { height: auto; padding: 0 1; color: $error; }
    ForecastPane #fc-chart { height: 1fr; border-top: hkey $panel; }
    ForecastPane #fc-metrics { height: auto; padding: 0 1; border-top: hkey $panel; }
    """

    @dataclass
    class Forecasted(Message):
        job: int
        points: dict[str, Any]  # LoadedForecaster.points'
        evaluation: ForecastEvaluation | None  # its evaluate("test"); None without a test part
        future: Forecast  # its forecast(N)
        key: tuple[str, int | None]  # the run path and checkpoint step it came from

    NO_RUN, RUN_ID, TASK, NEEDS = NO_RUN, "fc-run", "forecast", "forecasting"

    def __init__(self, models: ModelCache | None = None, **kwargs: Any) -> None:
        super().__init__(models, **kwargs)
        self.result: ForecastPane.Forecasted | None = None
        self.showing = False  # the pane is on screen (its tab is open)
        self.asked: tuple[str, int | None] | None = None  # the run and checkpoint of the latest job
        self.baselines = SHOWN[0]  # which baselines the chart draws

    def compose(self) -> ComposeResult:
        yield Static(NO_RUN, id="fc-run", markup=False)
        with Horizontal(id="fc-ask"):
            yield Label("next N:")
            yield Input(placeholder="horizon", id="fc-steps", type="integer", compact=True)
            yield Static("n edits N · enter forecasts · ←/→ cursor · b baselines", id="fc-keys")
        error = Static("", id="fc-error", markup=False)
        error.display = False
        yield error
        yield ForecastChart(id="fc-chart")
        yield Static("", id="fc-metrics")

    # -- what the app calls -------------------------------------------------------------------------

    def validation(self, history: RunHistory) -> str:
        val = next((r for r in reversed(history.val) if r.get("val_rmse") is not None), None)
        return (f"validation RMSE {format_number(val['val_rmse'], 4)} at step {val['step']}" if val is not None
                else "no validation RMSE yet")

    def clear(self) -> None:
        self.result, self.asked = None, None
        self.query_one(ForecastChart).show([], {})
        self.query_one("#fc-metrics", Static).update("")

    def set_run(self, history: RunHistory | None) -> None:
        super().set_run(history)
        self._forecast_if_stale()

    def on_show(self, event: events.Show) -> None:
        self.showing = True
        self._forecast_if_stale()

    def on_hide(self, event: events.Hide) -> None:
        self.showing = False

    def _forecast_if_stale(self) -> None:
        """While shown: forecast once per run and checkpoint (a training run's new checkpoint too)."""
        if self.showing and self.fits and self.checkpoint_step is not None \
                and self.asked != (self.run_path, self.checkpoint_step):
            self.action_forecast()

    # -- forecasting --------------------------------------------------------------------------------

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_forecast()
        self.query_one(ForecastChart).focus()  # the arrows move the cursor again

    def action_forecast(self) -> None:
        path = self.usable_run()
        if path is None:
            return
        text = self.query_one("#fc-steps", Input).value.strip()
        try:
            steps = int(text) if text else None
        except ValueError:
            steps = 0
        if steps is not None and not 1 <= steps <= 10_000:
            self.show_error("the number of steps after the end must be a whole number from 1 to 10000")
            return
        self.show_error("")
        self.asked = (path, self.checkpoint_step)
        self._forecast(self.next_job(), path, self.checkpoint_step, steps)

    @work(thread=True, exclusive=True, group="forecast", exit_on_error=False)
    def _forecast(self, job: int, path: str, step: int | None, steps: int | None) -> None:
        from rnn_tui.api import LoadedForecaster

        with self.reporting(job, "forecasting"):
            loaded = self.models.get(path, step)
            if not isinstance(loaded, LoadedForecaster):
                raise RnnTuiError(f"{loaded.run.id} is not a forecaster; forecasting needs a run trained with "
                                  "--task forecast")
            points = loaded.points()
            evaluation = loaded.evaluate("test") if points["test_start"] is not None else None
            self.post_message(self.Forecasted(job, points, evaluation, loaded.forecast(steps), (path, step)))

    @on(Forecasted)
    def _forecasted(self, message: Forecasted) -> None:
        message.stop()
        if not self.is_current(message.job):
            return
        self.result = message
        self._draw(message, at=message.points["test_start"] or len(message.points["values"]))
        metrics = (metrics_text(message.evaluation) if message.evaluation is not None
                   else Text("no test part: train with --test-size N to compare the model with the baselines", style="dim"))
        self.query_one("#fc-metrics", Static).update(metrics)

    def action_steps(self) -> None:
        self.query_one("#fc-steps", Input).focus()

    def action_baselines(self) -> None:
        """Draw the next choice of baselines: the best one, all, none."""
        self.baselines = SHOWN[(SHOWN.index(self.baselines) + 1) % len(SHOWN)]
        if self.result is not None:
            chart = self.query_one(ForecastChart)
            self._draw(self.result, at=chart.points[chart.cursor] if chart.cursor is not None else None)

    def _draw(self, result: Forecasted, at: int | None) -> None:
        """The chart of ``result``, its cursor on point ``at``."""
        series = chart_series(result.points, result.evaluation, result.future, self.baselines)
        self.query_one(ForecastChart).show(series, point_labels(result.points, result.future), at=at)


__all__ = ["NO_RUN", "ForecastPane", "chart_series", "metrics_text", "point_labels"]
