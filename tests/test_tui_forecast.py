"""The Forecast tab with Pilot against a small forecaster trained in a fixture on a generated
monthly series (no live trainer): the chart's curves are the api's results, the cursor reads them,
and a run of another task is one line."""

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Input

from rnn_tui.api import load_forecaster
from rnn_tui.tui.app import RnnTuiApp
from rnn_tui.tui.panes.forecast import NO_RUN, NO_TEST_TAIL, ForecastPane, chart_series
from rnn_tui.tui.widgets.forecast_chart import ForecastChart
from rnn_tui.tui.widgets.plot import LinePlot
from tests.conftest import console_runs, history_of, text_of, wait_for
from tests.test_forecast import MONTHS, forecast_config, monthly


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("fc")
    return console_runs(root, f=forecast_config(str(monthly(root)), steps=40))


class PaneApp(App[None]):
    def compose(self) -> ComposeResult:
        yield ForecastPane()


def dates(first: int, count: int) -> list[str]:
    """The generated series' dates of the 1-based points first .. first + count − 1 (from 2000-01)."""
    return [f"{2000 + t // 12}-{t % 12 + 1:02d}" for t in range(first - 1, first - 1 + count)]


async def test_the_chart_plots_the_api_results_and_the_cursor_reads_them(runs):
    model = load_forecaster(runs / "f")
    evaluation, future = model.evaluate("test"), model.forecast(5)
    values = model.points()["values"]
    app = PaneApp()
    async with app.run_test(size=(100, 34)) as pilot:
        pane = app.query_one(ForecastPane)
        pane.set_run(history_of(runs / "f"))  # shown and a forecaster: it forecasts at once (the horizon)
        assert await wait_for(pilot, lambda: pane.result is not None, seconds=30)
        assert pane.result.future["steps"] == 3 and "checkpoint step 40" in text_of(app, "#fc-run")
        job = pane.job
        app.query_one("#fc-steps", Input).value = "5"
        app.query_one("#fc-steps", Input).focus()
        await pilot.press("enter")
        assert await wait_for(pilot, lambda: pane.job > job and pane.result.future["steps"] == 5, seconds=30)

        plot = app.query_one(LinePlot)
        names = {"ar": "AR(12)", "persistence": "persistence", "seasonal_naive": "seasonal naive"}
        best = names[evaluation["best_baseline"]]
        assert [s.name for s in plot.series] == ["history", best, "test truth", "model", "next 5"]
        chart = app.query_one(ForecastChart)
        chart.focus()
        await pilot.press("b")  # every baseline, then none, then the best one again
        curves = {s.name: s for s in plot.series}
        assert list(curves) == ["history", "persistence", "seasonal naive", "AR(12)", "test truth", "model", "next 5"]
        # 24 test points (121..144) after 2 × 24 of history (73..120)
        assert curves["history"].xs == tuple(range(73, 121)) and list(curves["history"].ys) == values[72:120]
        assert curves["test truth"].xs == tuple(range(121, 145)) and list(curves["test truth"].ys) == values[120:]
        f = evaluation["forecasts"]
        for name, key in (("persistence", "persistence"), ("seasonal naive", "seasonal_naive"), ("AR(12)", "ar"),
                          ("model", "model")):
            # one step ahead from each of the 22 test origins (horizon 3): points 121..142
            assert curves[name].xs == tuple(range(121, 143))
            assert list(curves[name].ys) == pytest.approx([row[0] for row in f[key]], rel=1e-6)
            scores = evaluation["model"] if key == "model" else evaluation["baselines"][key]
            assert curves[name].note == f"RMSE {scores['rmse']:.4g}"
        assert curves["next 5"].xs == tuple(range(MONTHS + 1, MONTHS + 6))
        assert list(curves["next 5"].ys) == pytest.approx(future["values"], rel=1e-6)
        legend = " ".join(plot.render_line(y).text for y in range(3))
        assert f"━ model RMSE {evaluation['model']['rmse']:.4g}" in legend and "━ next 5" in legend

        # the metrics under the chart: the ratio to the best baseline as the headline
        metrics = text_of(app, "#fc-metrics").splitlines()
        verdict = "better than" if evaluation["ratio"] < 1 else "not better than"
        assert metrics[0] == f"model/best baseline ({best}) RMSE {evaluation['ratio']:.3f} — {verdict} the best baseline"
        assert metrics[2].split()[:2] == ["model", f"{evaluation['model']['rmse']:.4g}"]
        assert any(line.startswith(best) and line.endswith("← best baseline") for line in metrics)
        assert metrics[-1] == "22 test forecasts of 3 steps (the chart: the first step)"

        # the cursor starts on the first test point; ←/→ move it, and the line under the chart reads every curve
        assert chart.points[chart.cursor] == 121
        line = text_of(app, "#fc-cursor")
        assert line == (f"2010-01 · model {f['model'][0][0]:.4g} · test truth {values[120]:.4g} · AR(12) {f['ar'][0][0]:.4g}"
                        f" · seasonal naive {f['seasonal_naive'][0][0]:.4g} · persistence {f['persistence'][0][0]:.4g}")
        await pilot.press("left")
        assert text_of(app, "#fc-cursor") == f"2009-12 · history {values[119]:.4g}"
        await pilot.press("end")
        assert text_of(app, "#fc-cursor") == f"{future['dates'][-1]} · next 5 {future['values'][-1]:.4g}"
        assert future["dates"][-1] == "2012-05"
        await pilot.press("shift+left", "right")
        point = chart.points[chart.cursor]
        line = text_of(app, "#fc-cursor")
        assert point == MONTHS - 4 and line.startswith(f"{dates(point, 1)[0]} · model {f['model'][point - 121][0]:.4g} · "
                                                       f"test truth {values[point - 1]:.4g} · ")
        await pilot.press("home")
        assert text_of(app, "#fc-cursor") == f"{dates(73, 1)[0]} · history {values[72]:.4g}"
        # the cursor is drawn: a column of │ in the plot where no curve passes
        def bars():
            return sum(plot.render_line(y).text.count("│") for y in range(plot.size.height))

        await pilot.press(*["right"] * 30)
        with_cursor = bars()
        plot.set_cursor(None)
        assert with_cursor > bars() + plot.size.height // 2

        await pilot.press("b")
        assert [s.name for s in plot.series] == ["history", "test truth", "model", "next 5"]
        assert chart.points[chart.cursor] == 103  # the cursor stays on its point
        await pilot.press("b")
        assert [s.name for s in plot.series] == ["history", best, "test truth", "model", "next 5"]

        app.query_one("#fc-steps", Input).value = "0"  # a bad N is one line, and keeps the chart
        app.query_one("#fc-steps", Input).focus()
        await pilot.press("enter")
        assert text_of(app, "#fc-error") == "the number of steps after the end must be a whole number from 1 to 10000"
        assert len(plot.series) == 5

        # a run still training: its next checkpoint is forecast at once while the tab is shown
        job = pane.job
        app.query_one("#fc-steps", Input).value = "4"
        pane.set_run(history_of(runs / "f", step=60))
        assert await wait_for(pilot, lambda: pane.job > job and pane.result.key == (str(runs / "f"), 60), seconds=30)
        assert pane.result.future["steps"] == 4 and text_of(app, "#fc-error") == ""


async def test_a_run_that_is_not_a_forecaster_is_one_line(runs):
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(ForecastPane)
        assert text_of(app, "#fc-run") == NO_RUN
        await pilot.press("ctrl+t")
        assert text_of(app, "#fc-error") == NO_RUN
        pane.set_run(history_of(runs / "lm"))
        await pilot.pause()
        line = "lm is a language model: use the Generate tab (4); forecasting needs a run trained with --task forecast"
        assert text_of(app, "#fc-run") == line
        await pilot.press("ctrl+t")
        assert text_of(app, "#fc-error") == line and pane.result is None and pane.asked is None  # nothing loaded


async def test_the_app_forecasts_on_key_8_at_80x24(runs):
    app = RnnTuiApp(runs, open_run="f")
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(ForecastPane)
        assert await wait_for(pilot, lambda: "checkpoint step 40" in text_of(app, "#fc-run"))
        await pilot.pause(0.3)
        assert pane.asked is None  # a hidden tab loads nothing
        await pilot.press("8")
        assert app.query_one("TabbedContent").active == "forecast"
        assert await wait_for(pilot, lambda: isinstance(app.focused, ForecastChart))
        assert await wait_for(pilot, lambda: pane.result is not None, seconds=30)  # shown: it forecast by itself
        await pilot.pause()
        plot = app.query_one(LinePlot)
        assert plot.size.height >= 5 and plot.points_drawn > 0
        axis = plot.render_line(plot.size.height - 1).text  # the x axis: the first point's date and the last one's
        assert axis.strip().startswith("└2006-01─") and axis.rstrip().endswith("─2012-03")
        assert "next 3" in [s.name for s in plot.series]
        await pilot.press("right")
        assert text_of(app, "#fc-cursor").startswith("2010-02 · model ")
        job = pane.job
        await pilot.press("n", "6", "enter")  # n edits N; enter forecasts, and the arrows move the cursor again
        assert await wait_for(pilot, lambda: pane.job > job and pane.result.future["steps"] == 6, seconds=30)
        assert isinstance(app.focused, ForecastChart) and "next 6" in [s.name for s in plot.series]
        await pilot.press("end")
        assert text_of(app, "#fc-cursor").startswith("2012-06 · next 6 ")
        app.save_screenshot("forecast.svg", str(runs.parent))  # renders without error
        # the Classify tab names the tab that uses a forecaster
        assert text_of(app, "#cl-run").startswith("f is a forecaster: use the Forecast tab (8)")


def test_without_a_test_part_the_chart_is_the_tail_and_the_next_values(runs):
    model = load_forecaster(runs / "f")
    points, future = model.points(), model.forecast(2)
    points["test_start"] = None  # as a run trained with no test part reads
    history, ahead = chart_series(points, None, future)
    assert history.xs == tuple(range(MONTHS - NO_TEST_TAIL + 1, MONTHS + 1))
    assert list(history.ys) == points["values"][-NO_TEST_TAIL:]
    assert ahead.name == "next 2" and ahead.xs == (MONTHS + 1, MONTHS + 2) and list(ahead.ys) == future["values"]
