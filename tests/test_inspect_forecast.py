"""Inspect on a forecaster: the trace of a window (its states checked against the fused model, the
values and dates it read, the forecast from its last point beside the truth and the baselines'),
its JSON, `rnn-tui inspect` on a forecasting run, and the Inspect pane stepping through a window."""

from __future__ import annotations

import json

import pytest
import torch
from textual.app import App, ComposeResult
from textual.widgets import Input

from rnn_tui.api import load_forecaster
from rnn_tui.data.series import next_dates
from rnn_tui.errors import RnnTuiError
from rnn_tui.inspect.export import forecast_to_dict
from rnn_tui.inspect.trace import forecast_trace, origin_of
from rnn_tui.runs.rundir import RunDir
from rnn_tui.train.trainer import train_run
from rnn_tui.tui.panes.inspect import InspectPane
from rnn_tui.tui.widgets.token_strip import TokenStrip
from tests.conftest import history_of, small_config, text_of, wait_for
from tests.test_cli import run_cli
from tests.test_forecast import MONTHS, forecast_config, monthly

TOL = 1e-5


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A 2-layer LSTM forecaster reading a feature beside the target (horizon 3), and a tiny
    language model (for the flags a forecaster alone takes)."""
    root = tmp_path_factory.mktemp("inspect-forecast")
    cfg = forecast_config(str(monthly(root)), cell="lstm", layers=2, features="temp", steps=40)
    train_run(RunDir.create(root / "runs", cfg, name="f"))
    text = root / "t.txt"
    text.write_text("hello world.\n" * 50, encoding="utf-8")
    train_run(RunDir.create(root / "runs", small_config(str(text), steps=1), name="lm"))
    return root / "runs"


def test_the_trace_of_the_default_window_is_the_model_and_the_data(runs):
    loaded = load_forecaster(runs / "f")
    data, H = loaded.task.data, 3
    trace = forecast_trace(loaded)
    o = MONTHS - 1 - H  # the last point with a whole horizon of truth after it: the last test origin
    assert trace.origin == o and trace.points == list(range(o - 11, o + 1))
    assert trace.dates[0] == "2010-10" and trace.dates[-1] == "2011-09" and trace.ahead == ["2011-10", "2011-11", "2011-12"]
    assert trace.values == data.values[o - 11 : o + 1].tolist()
    assert torch.equal(torch.tensor(trace.inputs), data.windows([o])[0]) and trace.features == ["temp"]

    # the states are the fused model's, every layer at every step
    part = trace.parts[""]
    with torch.no_grad():
        out, (h_n, _) = loaded.model.rnn(data.windows([o]))
    assert (part.layers, part.hidden, part.length) == (2, 16, 12)
    assert (torch.tensor(part.by_time["1.h"]) - out[0]).abs().max() <= TOL
    assert (torch.tensor(part.by_time["0.h"][-1]) - h_n[0, 0]).abs().max() <= TOL
    assert part.tokens == [f"{v:.4g}" for v in trace.values] and part.state_before[0][0] == [0.0] * 16

    # the forecast from the last point: the one the evaluation scores at that origin, with the baselines'
    scored = loaded.evaluate("test")["forecasts"]
    assert scored["origins"][-1] == "2011-09"
    assert trace.forecast == pytest.approx(scored["model"][-1], rel=1e-6)  # float32: batched alone or with others
    assert trace.truth == scored["truth"][-1] == data.values[o + 1 :].tolist()
    assert set(trace.baselines) == {"persistence", "seasonal_naive", "ar"}
    for name, values in trace.baselines.items():
        assert values == pytest.approx(scored[name][-1], abs=1e-9)
    last = part.notes[-1]
    assert last.startswith(f"2011-09: sales = {trace.values[-1]:.6g}") and "forecast from 2011-09:" in last
    assert f"\n 2011-10 model {trace.forecast[0]:.4g} truth {trace.truth[0]:.4g}\n" in last
    b = trace.baselines
    assert (f"\n   last {b['persistence'][0]:.4g} season {b['seasonal_naive'][0]:.4g} AR {b['ar'][0]:.4g}\n"
            in last)
    assert "forecast" not in part.notes[0] and part.notes[0].startswith("2010-10: sales = ")


def test_origins_by_date_point_or_end_and_the_lines_for_others(runs):
    loaded = load_forecaster(runs / "f")
    data = loaded.task.data
    assert origin_of(data, "2005-06") == 65 and origin_of(data, "66") == 65 and origin_of(data, "point 66") == 65
    assert origin_of(data, "end") == MONTHS - 1 and origin_of(data, " ") is None
    end = forecast_trace(loaded, "end")
    assert end.truth == [] and end.ahead == next_dates(data.series.dates, 3) == ["2012-01", "2012-02", "2012-03"]
    assert "(after the series' end: no truth to compare)" in end.parts[""].notes[-1]
    near = forecast_trace(loaded, MONTHS - 2)  # one point of truth left
    assert near.truth == [data.values[-1].item()] and near.ahead == ["2011-12", "2012-01", "2012-02"]
    with pytest.raises(RnnTuiError) as bad:
        forecast_trace(loaded, "1999-12")
    assert str(bad.value) == ("no point '1999-12' in sales: give a date from 2000-01 to 2011-12, a point number from 1 "
                              "to 144, or `end`")
    with pytest.raises(RnnTuiError, match=r"no full window ends at point 5: windows end at points 13 to 144 "
                                          r"\(2001-01 to 2011-12\)"):
        forecast_trace(loaded, "5")  # log,diff use up one point: the first window is points 2..13


def test_the_json_is_the_trace(runs):
    loaded = load_forecaster(runs / "f")
    trace = forecast_trace(loaded, "2005-06")
    result = loaded.inspect("2005-06", layer=1)
    assert result == json.loads(json.dumps(result)) and result["task"] == "forecast"
    assert result["origin"] == {"point": 65, "date": "2005-06"} and result["window"] == 12 and result["features"] == ["temp"]
    step = result["steps"][4]
    assert (step["t"], step["point"], step["date"], step["value"]) == (4, 58, "2004-11", trace.values[4])
    assert step["inputs"] == [round(v, 5) for v in trace.inputs[4]] and [x["layer"] for x in step["layers"]] == [1]
    assert step["layers"][0]["c"] == [round(v, 5) for v in trace.parts[""].by_time["1.c"][4]]
    assert result["forecast"] == {"ahead": trace.ahead, "model": trace.forecast, "truth": trace.truth,
                                  "baselines": trace.baselines}
    assert forecast_to_dict(trace)["steps"][0]["layers"][1]["layer"] == 1


def test_the_command_on_a_forecaster(monkeypatch, capsys, runs):
    code, out, err = run_cli(monkeypatch, capsys, "inspect", "f", "--origin", "2005-06", "--json", "--runs-dir", runs)
    assert code == 0, err
    assert json.loads(out) == load_forecaster(runs / "f").inspect("2005-06")
    code, out, err = run_cli(monkeypatch, capsys, "inspect", "f", "--layer", "0", "--runs-dir", runs)
    assert code == 0, err
    trace = forecast_trace(load_forecaster(runs / "f"))
    assert "12 steps of 'sales' up to 2011-09" in out and f"t=0   2010-10      {trace.values[0]:<10.6g} read " in out
    assert out.count(" L0 h ") == 12 and " L1 h " not in out
    assert f"  2011-10      {trace.forecast[0]:10.5g} {trace.truth[0]:10.5g}" in out
    for args, said in ((["some text"], "f is a forecaster: it reads a window of its series, not text; choose the "
                                       "window's last point with --origin DATE|POINT|end"),
                       (["--topk", "3"], "--topk is for language models and translators; f is a forecaster"),
                       (["--origin", "nope"], "no point 'nope' in sales: give a date from 2000-01 to 2011-12, a point "
                                              "number from 1 to 144, or `end`")):
        code, out, err = run_cli(monkeypatch, capsys, "inspect", "f", *args, "--runs-dir", runs)
        assert (code, out, err) == (1, "", f"rnn-tui: error: {said}\n")
    code, out, err = run_cli(monkeypatch, capsys, "inspect", "lm", "hello", "--origin", "end", "--runs-dir", runs)
    assert (code, err) == (1, "rnn-tui: error: --origin is for forecasters; lm is a language model\n")


class PaneApp(App[None]):
    def compose(self) -> ComposeResult:
        yield InspectPane()  # its default text: untouched, the forecaster's default window


async def test_the_pane_steps_through_a_window_and_shows_the_forecast(runs):
    app = PaneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(InspectPane)
        pane.set_run(history_of(runs / "f"))
        assert await wait_for(pilot, lambda: pane.forecast is not None, seconds=20)
        trace = forecast_trace(load_forecaster(runs / "f"))
        text = app.query_one("#ins-text", Input)
        assert text.value == "2011-09"  # the default origin, said
        assert list(app.query_one(TokenStrip).tokens) == [f"{v:.4g}" for v in trace.values]
        assert text_of(app, "#ins-header").startswith(f"t=0 2010-10 value {trace.values[0]:.4g} · layer 0")
        assert text_of(app, "#ins-topk").startswith(f"2010-10: sales = {trace.values[0]:.6g}")
        pane.focus()
        await pilot.press("end")
        assert pane.t == 11 and "forecast from 2011-09:" in text_of(app, "#ins-topk")
        assert f"model {trace.forecast[0]:.4g} truth {trace.truth[0]:.4g}" in text_of(app, "#ins-topk")
        assert pane.parts[""].by_time["1.h"] == trace.parts[""].by_time["1.h"]

        text.value = "2005-06"  # another window, by its last date
        assert await wait_for(pilot, lambda: pane.forecast.origin == 65, seconds=20)
        assert text.value == "2005-06" and pane.data.length == 12
        text.value = "1999"
        assert await wait_for(pilot, lambda: "no point '1999' in sales" in text_of(app, "#ins-message"), seconds=20)
