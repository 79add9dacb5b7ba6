"""Forecasting data: series tables with dates and features, the dates after a series, the
chronological split, the windows, and the transforms (forward, inverse, the checkpoint's copy)."""

import math

import pytest
import torch

from rnn_tui.config import Config
from rnn_tui.data.series import next_dates, read_series, split_series
from rnn_tui.data.spec import check_task, load_series, resolve
from rnn_tui.data.transforms import Transform
from rnn_tui.data.windows import ForecastData
from rnn_tui.errors import RnnTuiError


def one_line(excinfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


def test_a_tsv_with_dates_and_features(tmp_path):
    path = tmp_path / "weather.tsv"
    path.write_text("day\ttemp\train\tsales\n2024-01-01\t1.5\t0\t10\n2024-01-02\t2.5\t3\t12\n\n2024-01-03\t-1\t1\t9\n",
                    encoding="utf-8")
    s = read_series(path, column="sales", features=["temp", "2"], guess_dates=True)
    assert s.name == "sales" and s.values.tolist() == [10, 12, 9]
    assert s.dates == ["2024-01-01", "2024-01-02", "2024-01-03"] and s.feature_names == ["temp", "rain"]
    assert s.features is not None and s.features.tolist() == [[1.5, 0], [2.5, 3], [-1, 1]]
    assert read_series(path, column="sales").dates is None  # no guessing unless asked
    assert read_series(path, column="sales", date_column="rain").dates == ["0", "3", "1"]


def test_one_value_per_line_is_a_series_for_forecasting(tmp_path):
    path = tmp_path / "counts.txt"
    path.write_text("3\n4\n5.5\n", encoding="utf-8")
    source = resolve(str(path))
    assert source.kind == "text"
    check_task("forecast", source)  # any file: its reader decides
    s = load_series(source, guess_dates=True)
    assert s.values.tolist() == [3, 4, 5.5] and s.dates is None and s.name == "counts"
    with pytest.raises(RnnTuiError) as excinfo:
        check_task("forecast", resolve("builtin:hello"))
    assert one_line(excinfo) == ("builtin:hello is a text dataset; forecasting (--task forecast) trains on a time series "
                                 "(a CSV/TSV column, or one number per line)")
    with pytest.raises(RnnTuiError, match="one generated series; features and a date column need a CSV/TSV file"):
        load_series(resolve("builtin:sine"), features=["x"])


@pytest.mark.parametrize("body, column, features, said", [
    ("t,v\n1,2\n2,\n3,4\n", None, None, "line 3, column 'v': is empty (a gap in the series); fix or remove that row"),
    ("t,v\n1,2\n2,n/a\n", None, None, "line 3, column 'v': 'n/a' is not a number"),
    ("t,v,x\n1,2,3\n2,3,\n", "v", ["x"], "line 3, column 'x': is empty (a gap in the series)"),
    ("t,v,x\n1,2,3\n", "v", ["v"], "the features name the target column 'v'; its own past is always an input"),
    ("t,v,x\n1,2,3\n", "v", ["y"], "has no column 'y'; columns are: t, v, x"),
])
def test_gaps_and_bad_cells_are_one_line_naming_the_row_and_column(tmp_path, body, column, features, said):
    path = tmp_path / "s.csv"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(RnnTuiError) as excinfo:
        read_series(path, column=column, features=features)
    assert said in one_line(excinfo)


def test_the_date_column_is_guessed_only_when_it_looks_like_dates(tmp_path):
    for header, first, guessed in (("Month,Passengers", '"1949-01",112', "1949-01"), ("year,spots", "1700,5", "1700"),
                                   ("a,b", "1,2", None)):
        path = tmp_path / "s.csv"
        path.write_text(f"{header}\n{first}\n", encoding="utf-8")
        dates = read_series(path, guess_dates=True).dates
        assert (dates[0] if dates else None) == guessed


@pytest.mark.parametrize("dates, after", [
    (["1949-11", "1949-12"], ["1950-01", "1950-02", "1950-03"]),
    (["1700", "1701"], ["1702", "1703", "1704"]),
    (["2000", "2010"], ["2020", "2030", "2040"]),
    (["2024-02-27", "2024-02-28"], ["2024-02-29", "2024-03-01", "2024-03-02"]),
    (["2024-01-01", "2024-01-08"], ["2024-01-15", "2024-01-22", "2024-01-29"]),
    (["2023-11-15", "2023-12-15"], ["2024-01-15", "2024-02-15", "2024-03-15"]),
    (["2024-01", "2024-02", "2024-04"], ["+1", "+2", "+3"]),  # not regular
    (["mon", "tue"], ["+1", "+2", "+3"]),
    (["2024-02-30", "2024-03-01"], ["+1", "+2", "+3"]),
    (["9998", "9999"], ["+1", "+2", "+3"]),
])
def test_next_dates(dates, after):
    assert next_dates(dates, 3) == after


def test_the_split_is_chronological():
    s = split_series(100, 0.2, 10)
    assert (s.train_end, s.val_end, s.n, s.val, s.test) == (72, 90, 100, 18, 10)
    with pytest.raises(RnnTuiError, match="leaves nothing to train on"):
        split_series(10, 0.1, 10)


def forecast_config(path, **data) -> Config:
    cfg = Config(task="forecast")
    cfg.data.spec = str(path)
    for key, value in data.items():
        setattr(cfg.data, key, value)
    return cfg.validate()


def test_windows_and_origins(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("t,y,x\n" + "".join(f"{t},{t * t + 1},{t % 3}\n" for t in range(40)), encoding="utf-8")
    d = ForecastData.from_config(forecast_config(path, column="y", features="x", window=4, horizon=3, transform="diff",
                                                 test_size=6, val_fraction=0.25))
    assert (d.split.train_end, d.split.val_end) == (26, 34)
    assert d.origins("train") == list(range(4, 23))  # window from point 1 (diff uses up point 0), 3 points ahead in train
    assert d.origins("val") == list(range(25, 31)) and d.origins("test") == list(range(33, 37))
    x, y = d.windows([4, 30]), d.targets([4, 30])
    assert x.shape == (2, 4, 2) and y.shape == (2, 3)
    assert torch.allclose(x[1, :, 0].double(), d.z[27:31]) and torch.allclose(y[1].double(), d.z[31:34])
    assert d.truth([30]).tolist() == [[31 * 31 + 1, 32 * 32 + 1, 33 * 33 + 1]]
    mean, std = d.transform.feature_mean[0], d.transform.feature_std[0]
    assert x[0, :, 1].tolist() == pytest.approx([((t % 3) - mean) / std for t in range(1, 5)])


@pytest.mark.parametrize("data, said", [
    (dict(window=31, test_size=5), "the training part of y has 32 points: too few for a window of 31 and a horizon of 1 "
                                   "(and the first 1 that the transforms use up), which need 33"),
    (dict(horizon=5, test_size=3, val_fraction=0.0),
     "the test part has 3 points, fewer than the horizon (5); raise --test-size or set it to 0"),
    (dict(horizon=5, val_fraction=0.1), "the validation part has 4 points, fewer than the horizon (5)"),
])
def test_too_little_data_is_one_line(tmp_path, data, said):
    path = tmp_path / "s.csv"
    path.write_text("t,y\n" + "".join(f"{t},{t}\n" for t in range(40)), encoding="utf-8")
    with pytest.raises(RnnTuiError) as excinfo:
        ForecastData.from_config(forecast_config(path, transform="diff", **data))
    assert said in one_line(excinfo)


@pytest.mark.parametrize("names, season", [([], 0), (["log"], 0), (["diff"], 0), (["sdiff"], 5), (["log", "diff"], 0),
                                           (["diff", "sdiff"], 3), (["log", "diff", "sdiff"], 4)])
def test_inverse_of_forward_is_the_series_reading_only_the_past(names, season):
    g = torch.Generator().manual_seed(0)
    y = torch.rand(80, generator=g) * 10 + 1
    t = Transform.fit(y, 50, names, season)
    z = t.forward(y)
    assert torch.isnan(z[: t.lost]).all() and not torch.isnan(z[t.lost:]).any()
    fitted = z[t.lost:50]
    assert float(fitted.mean()) == pytest.approx(0, abs=1e-9) and float(fitted.std(correction=0)) == pytest.approx(1)
    H = 11  # longer than every season: the inverse needs its own earlier steps
    for o in range(t.lost + 1, 80 - H):
        past = y.clone()
        past[o + 1:] = math.nan  # nothing after the origin may be read
        back = t.inverse(z[o + 1 : o + H + 1][None], [o], past)
        assert torch.allclose(back[0], y[o + 1 : o + H + 1].double(), atol=1e-9)
    assert Transform.from_dict(t.to_dict()) == t


def test_a_small_example_by_hand():
    y = torch.tensor([10.0, 12, 15, 11, 13, 18])
    t = Transform.fit(y, 6, ["diff", "sdiff"], season=2)
    # v = [·, 2, 3, −4, 2, 5]; w_t = v_t − v_{t−2} = [·, ·, ·, −6, −1, 9]; μ = 2/3, σ = √(350/9)
    mean, std = 2 / 3, math.sqrt(350 / 9)
    assert (t.lost, t.mean, t.std) == (3, pytest.approx(mean), pytest.approx(std))
    assert t.forward(y)[3:].tolist() == pytest.approx([(-6 - mean) / std, (-1 - mean) / std, (9 - mean) / std])
    # from the origin 3 (y = 11), ŵ = 1, 2, 3: v̂_4 = 1 + v_2 = 4, v̂_5 = 2 + v_3 = −2, v̂_6 = 3 + v̂_4 = 7
    z = (torch.tensor([[1.0, 2, 3]], dtype=torch.float64) - mean) / std
    past = torch.tensor([10.0, 12, 15, 11, math.nan, math.nan])
    assert t.inverse(z, [3], past).tolist() == [pytest.approx([15, 13, 20])]


def test_log_needs_positive_values_and_the_checkpoint_copy_is_checked():
    with pytest.raises(RnnTuiError) as excinfo:
        Transform.fit(torch.tensor([3.0, 2, 0, 4, 5]), 5, ["log"])
    assert one_line(excinfo) == "the log transform needs values above 0; point 3 is 0: drop log from the transforms"
    good = Transform.fit(torch.tensor([3.0, 2, 1, 4, 5]), 5, ["log"]).to_dict()
    for bad in ({**good, "std": 0}, {**good, "transforms": ["cube"]}, {**good, "season": 3}, {**good, "mean": "x"},
                {**good, "feature_std": [1.0]}, [1, 2]):
        with pytest.raises(ValueError):
            Transform.from_dict(bad)


def test_settings_that_cannot_go_together(tmp_path):
    from rnn_tui.options import SettingError

    cfg = Config(task="forecast")
    for key, value, said in (("data.transform", "log,cube", "transforms must be among log, diff, sdiff"),
                             ("data.transform", "sdiff", "the sdiff transform needs the season's length"),
                             ("data.transform", "log,log", "transforms name one twice")):
        with pytest.raises(SettingError, match=said):
            Config(task="forecast").assign({key: value}).validate()
    cfg.data.features, cfg.model.strategy = "temp", "recursive"
    with pytest.raises(SettingError, match="recursive forecasting feeds each forecast back"):
        cfg.validate()
