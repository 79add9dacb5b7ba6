"""Forecasting end to end: the task trains through the shared trainer on a generated monthly
series, records its baselines and errors, resumes exactly, and `rnn-tui forecast` reads the run."""

import json
import math
import random

import pytest
import torch

from rnn_tui.api import load_any, load_classifier, load_forecaster, load_run
from rnn_tui.config import Config
from rnn_tui.data.series import next_dates
from rnn_tui.errors import RnnTuiError
from rnn_tui.models.forecaster import Forecaster
from rnn_tui.runs.checkpoint import load_checkpoint
from rnn_tui.runs.rundir import RunDir
from rnn_tui.train.trainer import train_run
from tests.test_cli import run_cli
from tests.typed_records import assert_written_as_typed

MONTHS = 144


def monthly(tmp_path, n=MONTHS, name="sales.csv"):
    """A monthly series from 2000-01 with a trend, a 12-month season and noise (all above 0),
    and a feature column: the month's temperature."""
    rng = random.Random(0)
    lines = ["month,temp,sales"]
    for t in range(n):
        season = math.sin(2 * math.pi * t / 12)
        lines.append(f"{2000 + t // 12}-{t % 12 + 1:02d},{15 + 10 * season + rng.gauss(0, 1):.2f},"
                     f"{100 + 0.5 * t + 20 * season + rng.gauss(0, 2):.2f}")
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def forecast_config(data: str, **settings) -> Config:
    cfg = Config(task="forecast")
    d = cfg.data
    d.spec, d.column, d.window, d.horizon, d.season, d.transform, d.test_size, d.val_fraction = (
        data, "sales", 12, 3, 12, "log,diff", 24, 0.2)
    cfg.model.cell, cfg.model.hidden = "gru", 16
    t = cfg.train
    t.batch, t.steps, t.log_interval, t.eval_interval, t.sample_interval, t.checkpoint_interval = 16, 60, 10, 20, 30, 20
    t.lr, t.schedule, t.threads = 0.01, "constant", 1
    for key, value in settings.items():
        model = key in ("strategy", "cell", "dropout", "layers", "highway")
        section = "model" if model else "data" if hasattr(d, key) else "train"
        setattr(getattr(cfg, section), key, value)
    return cfg.validate()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("forecast")
    run = RunDir.create(root / "runs", forecast_config(str(monthly(root))), name="f")
    train_run(run)
    return run


def test_a_forecaster_trains_and_records_its_baselines_and_errors(trained):
    metrics = trained.read_metrics()
    start = next(r for r in metrics if r["event"] == "start")
    assert start["task"] == "forecast" and (start["train_points"], start["val_points"], start["test_points"]) == (96, 24, 24)
    assert (start["train_windows"], start["val_windows"], start["test_windows"]) == (81, 22, 22)  # 1 + 12 − 1 … 96 − 1 − 3
    b = start["baselines"]
    assert set(b) == {"persistence", "seasonal_naive", "ar"} and b["ar"]["order"] == 12
    assert all(b[name]["test_rmse"] > 0 and "test_mape" in b[name] for name in b)
    assert b["ar"]["val_rmse"] < b["persistence"]["val_rmse"]  # the season: the last value is a poor guess
    vals = [r for r in metrics if r["event"] == "val"]
    assert [r["step"] for r in vals] == [20, 40, 60] and vals[-1]["val_loss"] < vals[0]["val_loss"] * 1.5
    assert all(r["val_rmse"] > 0 and r["val_mae"] <= r["val_rmse"] for r in vals)
    sample = trained.read_samples()[-1]["text"]
    assert sample.startswith("after 20") and ": forecast " in sample and "\n" in sample and "true " in sample
    ckpt = load_checkpoint(trained.checkpoints)
    assert ckpt.meta["baselines"] == b and ckpt.meta["transform"]["transforms"] == ["log", "diff"]
    assert_written_as_typed(trained)


@pytest.mark.parametrize("highway", [0, 6])
def test_resume_continues_exactly(tmp_path, highway):
    data = str(monthly(tmp_path))
    cfg = forecast_config(data, steps=40, dropout=0.3, layers=2, highway=highway)  # dropout: the RNG state must be restored
    root = tmp_path / "runs"
    train_run(RunDir.create(root, cfg, name="whole"))
    cfg.train.steps = 20
    split = RunDir.create(root, cfg, name="split")
    train_run(split)
    train_run(split, resume=True, changes={"train.steps": 40})

    def numbers(run):
        records = RunDir.open(run, root).read_metrics()
        return ([(r["step"], r["loss"]) for r in records if r["event"] == "train"],
                [(r["step"], r["val_rmse"]) for r in records if r["event"] == "val"])

    assert numbers("split") == pytest.approx(numbers("whole"))


def test_the_api_forecasts_after_the_series_with_its_dates(trained):
    model = load_forecaster(trained.path)
    dates = [f"{2000 + t // 12}-{t % 12 + 1:02d}" for t in range(MONTHS)]
    result = model.forecast()
    assert result["steps"] == 3 and result["dates"] == ["2012-01", "2012-02", "2012-03"] == next_dates(dates, 3)
    assert result["last_date"] == "2011-12" and not result["chained"] and result["points"] == [145, 146, 147]
    long = model.forecast(8)  # past the horizon: chained, the first three the same
    assert long["chained"] and long["values"][:3] == pytest.approx(result["values"]) and len(long["values"]) == 8
    assert all(60 < v < 400 for v in long["values"])  # near the series (it ends near 170)
    # chained by hand: the first forecast appended to the series, the next window read from there
    data = model.task.data
    extended = torch.cat([data.values, torch.tensor(long["values"][:3], dtype=torch.float64)])
    z = model.model.forecast(data.transform.forward(extended)[-12:].float()[None, :, None])
    assert data.transform.inverse(z, [MONTHS + 2], extended)[0].tolist() == pytest.approx(long["values"][3:6], rel=1e-5)
    with pytest.raises(RnnTuiError, match="at least 1"):
        model.forecast(0)


def test_the_evaluation_scores_the_same_origins_as_the_baselines_recorded(trained):
    model = load_forecaster(trained.path)
    scores = model.evaluate("test")
    recorded = trained.read_metrics()[0]["baselines"]
    assert scores["origins"] == 22 and scores["horizon"] == 3 and len(scores["rmse_by_step"]) == 3
    for name, s in scores["baselines"].items():
        assert s["rmse"] == pytest.approx(recorded[name]["test_rmse"]) and s["mae"] == pytest.approx(recorded[name]["test_mae"])
    best = min(scores["baselines"], key=lambda name: scores["baselines"][name]["rmse"])
    assert scores["best_baseline"] == best
    assert scores["ratio"] == pytest.approx(scores["model"]["rmse"] / scores["baselines"][best]["rmse"])
    f = scores["forecasts"]
    assert f["origins"][0] == "2009-12" and len(f["truth"]) == len(f["model"]) == len(f["ar"]) == 22
    assert f["truth"][0] == [float(v) for v in model.task.data.values[120:123]]
    flat_truth = [v for row in f["truth"] for v in row]
    flat_model = [v for row in f["model"] for v in row]
    assert scores["model"]["mse"] == pytest.approx(sum((a - b) ** 2 for a, b in zip(flat_truth, flat_model)) / 66)
    assert load_any(trained.path).evaluate("val")["origins"] == 22


def test_the_command(monkeypatch, capsys, trained):
    runs = ["--runs-dir", trained.path.parent]
    code, out, err = run_cli(monkeypatch, capsys, "forecast", "f", "--steps", "4", "--json", *runs)
    assert code == 0, err
    result = json.loads(out)
    assert result["dates"] == ["2012-01", "2012-02", "2012-03", "2012-04"] and len(result["values"]) == 4
    code, out, _ = run_cli(monkeypatch, capsys, "forecast", "f", *runs)
    assert code == 0 and "sales: 3 step(s) after 2011-12" in out and "2012-03" in out
    code, out, _ = run_cli(monkeypatch, capsys, "forecast", "f", "--split", "test", *runs)
    assert code == 0 and "f test: 22 forecasts of 3 step(s) of sales" in out and "seasonal naive" in out
    assert "AR(12)" in out and "model RMSE / best baseline's" in out and "model RMSE by step ahead: 1:" in out
    code, out, _ = run_cli(monkeypatch, capsys, "forecast", "f", "--split", "test", "--json", *runs)
    assert code == 0 and set(json.loads(out)["baselines"]) == {"persistence", "seasonal_naive", "ar"}
    code, out, _ = run_cli(monkeypatch, capsys, "runs", *runs)
    assert code == 0 and "gru 1x16 direct" in out


def test_features_feed_the_model_and_limit_the_steps(tmp_path, monkeypatch, capsys):
    cfg = forecast_config(str(monthly(tmp_path)), features="temp", steps=10)
    run = RunDir.create(tmp_path / "runs", cfg, name="feat")
    train_run(run)
    model = load_forecaster(run.path)
    assert model.model.inputs == 2 and len(model.forecast()["values"]) == 3
    with pytest.raises(RnnTuiError, match="reads features, whose values after the series are unknown; it forecasts at most"):
        model.forecast(4)


def test_a_recursive_model_feeds_back_its_forecasts(tmp_path):
    cfg = forecast_config(str(monthly(tmp_path)), strategy="recursive", steps=10)
    run = RunDir.create(tmp_path / "runs", cfg, name="rec")
    train_run(run)
    start = run.read_metrics()[0]
    assert start["train_windows"] == 83  # trained one step ahead: two more windows fit in the training part
    model = load_forecaster(run.path)
    x = model.task.data.windows([100])
    with torch.no_grad():  # by hand: the window, then each forecast read as the next input
        z = model.model.forecast(x, 3)
        assert z.shape == (1, 3) and float(z[0, 0]) == pytest.approx(float(model.model.forecast(x, 1)[0, 0]))
        out, state = model.model.rnn(x)
        by_hand = [model.model.head(out[:, -1])]
        for _ in range(2):
            out, state = model.model.rnn(by_hand[-1][:, None, :], state)
            by_hand.append(model.model.head(out[:, -1]))
    assert z[0].tolist() == pytest.approx(torch.cat(by_hand, 1)[0].tolist(), abs=1e-6)
    assert len(model.forecast(7)["values"]) == 7 and not model.forecast(7)["chained"]


def test_the_trace_of_a_window_matches_the_fused_model(trained):
    model = load_forecaster(trained.path)
    vectors, states = model.trace(100)
    x = model.task.data.windows([100])
    with torch.no_grad():
        out, _ = model.model.rnn(x)
    assert vectors["0.h"].shape == (12, 16) and torch.allclose(vectors["0.h"], out[0], atol=1e-5)
    assert len(states) == 1 and float(states[0][0].abs().sum()) == 0
    with pytest.raises(RnnTuiError, match="a window is"):
        model.model.trace(torch.zeros(12, 3))


@pytest.mark.parametrize("args, said", [
    (["--data", "builtin:hello"], "builtin:hello is a text dataset; forecasting (--task forecast) trains on a time series"),
    (["--column", "nope"], "has no column 'nope'; columns are: month, temp, sales"),
    (["--window", "200"], "too few for a window of 200"),
    (["--transform", "sdiff"], "the sdiff transform needs the season's length; set the season (e.g. 12 for months) (--season)"),
    (["--transform", "log,cube"], "transforms must be among log, diff, sdiff (comma-separated); got 'cube' (--transform)"),
    (["--features", "temp", "--strategy", "recursive"], "recursive forecasting feeds each forecast back"),
    (["--test-size", "2", "--horizon", "3"], "the test part has 2 points, fewer than the horizon (3)"),
    (["--window", "6", "--highway", "7"], "the AR highway reads the last P values of the window; P (7) is above the "
                                          "window (6) (--highway)"),
])
def test_a_bad_setup_is_one_line_and_leaves_no_run(monkeypatch, capsys, tmp_path, args, said):
    data = str(monthly(tmp_path))
    code, _, err = run_cli(monkeypatch, capsys, "train", "--task", "forecast", "--data", data, "--column", "sales",
                           *args, "--runs-dir", tmp_path / "runs")
    assert code == 1 and err.count("\n") == 1 and said in err, err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("body, said", [
    ("t,y\n1,3\n2,\n3,4\n", "line 3, column 'y': is empty (a gap in the series); fix or remove that row"),
    ("t,y\n1,3\n2,x\n", "line 3, column 'y': 'x' is not a number"),
    ("t,y\n" + "".join(f"{t},{t - 5}\n" for t in range(60)), "the log transform needs values above 0; point 1 is -5"),
])
def test_bad_values_are_one_line(monkeypatch, capsys, tmp_path, body, said):
    path = tmp_path / "bad.csv"
    path.write_text(body, encoding="utf-8")
    code, _, err = run_cli(monkeypatch, capsys, "train", "--task", "forecast", "--data", path, "--transform", "log",
                           "--window", "4", "--runs-dir", tmp_path / "runs")
    assert code == 1 and err.count("\n") == 1 and said in err, err


def test_runs_of_other_tasks_are_refused_both_ways(monkeypatch, capsys, trained, tmp_path):
    from tests.conftest import small_config

    text = tmp_path / "t.txt"
    text.write_text("hello world.\n" * 50, encoding="utf-8")
    train_run(RunDir.create(trained.path.parent, small_config(str(text), steps=1), name="lm"))
    runs = ["--runs-dir", trained.path.parent]
    for args, line in ((("forecast", "lm"), "lm is a language model; use `rnn-tui generate lm` or `rnn-tui score lm TEXT`"),
                       (("generate", "f"), "f is a forecaster; use `rnn-tui forecast f`"),
                       (("classify", "f", "text"), "f is a forecaster; use `rnn-tui forecast f`"),
                       (("inspect", "f", "text"), "f is a forecaster: it reads a window of its series, not text; "
                                                  "choose the window's last point with --origin DATE|POINT|end"),
                       (("forecast", "f", "--steps", "2", "--split", "test"), "give --steps or --split, not both")):
        code, out, err = run_cli(monkeypatch, capsys, *args, *runs)
        assert (code, out, err) == (1, "", f"rnn-tui: error: {line}\n")
    with pytest.raises(RnnTuiError, match="is a forecaster"):
        load_run(trained.path)
    with pytest.raises(RnnTuiError, match="is a forecaster"):
        load_classifier(trained.path)


def test_the_model_refuses_what_it_cannot_do():
    cfg = Config(task="forecast").model
    with pytest.raises(RnnTuiError, match="a recursive forecaster reads the target alone"):
        Forecaster(cfg, 3, 2, "recursive")
    with pytest.raises(RnnTuiError, match="at most its horizon"):
        Forecaster(cfg, 1, 2, "direct").forecast(torch.zeros(1, 5, 1), 3)
