"""The forecasting baselines and errors on series whose answers are known by hand."""

import math
import random

import pytest
import torch

from rnn_tui.config import Config
from rnn_tui.data.windows import ForecastData
from rnn_tui.decode.metrics import forecast_scores
from rnn_tui.train.forecast_baselines import Baselines, ar_forecast, fit_ar, persistence, seasonal_naive


def test_forecast_scores_by_hand():
    s = forecast_scores([1, 2, 4], [2, 2, 2])  # errors 1, 0, −2
    assert s == {"mse": pytest.approx(5 / 3), "rmse": pytest.approx(math.sqrt(5 / 3)), "mae": pytest.approx(1),
                 "mape": pytest.approx(100 * (1 + 0 + 0.5) / 3)}
    s = forecast_scores([0, 2, 0], [1, 2, 0])  # a true 0: sMAPE, and 0/0 counts 0
    assert "mape" not in s and s["smape"] == pytest.approx(100 * 2 / 3)
    with pytest.raises(ValueError):
        forecast_scores([], [])


def test_persistence_and_seasonal_naive_by_hand():
    y = torch.arange(20.0)
    assert persistence(y, [5, 9], 3).tolist() == [[5, 5, 5], [9, 9, 9]]
    # season 4 from origin 9: steps 1..4 look back one season (6, 7, 8, 9), steps 5..6 two (6, 7)
    assert seasonal_naive(y, [9], 6, 4).tolist() == [[6, 7, 8, 9, 6, 7]]


def series_file(tmp_path, values, name="s.csv"):
    path = tmp_path / name
    path.write_text("t,y\n" + "".join(f"{t},{v!r}\n" for t, v in enumerate(values)), encoding="utf-8")
    return path


def data_of(path, **data) -> ForecastData:
    cfg = Config(task="forecast")
    cfg.data.spec = str(path)
    for key, value in data.items():
        setattr(cfg.data, key, value)
    return ForecastData.from_config(cfg.validate())


def test_seasonal_naive_is_exact_on_a_seasonal_series_and_every_baseline_uses_the_same_origins(tmp_path):
    pattern = [3.0, 7.0, 1.0, 5.0]
    data = data_of(series_file(tmp_path, [10 + pattern[t % 4] for t in range(60)]), window=8, horizon=6, season=4,
                   test_size=12, val_fraction=0.2)
    scores = Baselines(data, season=4, ar_order=0).scores()
    assert set(scores) == {"persistence", "seasonal_naive", "ar"} and scores["ar"]["order"] == 8
    for part in ("val", "test"):
        assert scores["seasonal_naive"][f"{part}_rmse"] == 0 and scores["persistence"][f"{part}_rmse"] > 1
        assert scores["ar"][f"{part}_rmse"] < 1e-6  # z_t = z_{t−4} exactly: an AR(8) finds it
    assert data.origins("test") == list(range(47, 54))  # the last 12 points, 6 ahead
    assert scores["persistence"]["test_mae"] == pytest.approx(
        forecast_scores(data.truth(data.origins("test")).flatten().tolist(),
                        persistence(data.values, data.origins("test"), 6).flatten().tolist())["mae"])


def ar2(n=4000, seed=0):
    rng = random.Random(seed)
    y = [0.0, 0.0]
    for _ in range(n - 2):
        y.append(0.5 + 0.6 * y[-1] - 0.3 * y[-2] + rng.gauss(0, 0.1))
    return y


def test_ar_recovers_the_coefficients_of_an_ar2_process():
    coef = fit_ar(torch.tensor(ar2()), 0, 4000, 2)
    assert coef.tolist() == pytest.approx([0.5, 0.6, -0.3], abs=0.03)
    # iterated on its own forecasts: by hand from z_o = 1, z_{o−1} = 2
    z = torch.tensor([2.0, 1.0])
    c, a1, a2 = coef.tolist()
    first = c + a1 * 1 + a2 * 2
    assert ar_forecast(coef, z, [1], 2).tolist() == [pytest.approx([first, c + a1 * first + a2 * 1])]


def test_the_ar_baseline_is_near_the_noise_on_an_ar2_series(tmp_path):
    data = data_of(series_file(tmp_path, [round(v, 6) for v in ar2(1500)]), window=4, test_size=300)
    scores = Baselines(data, season=0, ar_order=2).scores()
    assert scores["ar"]["test_mse"] == pytest.approx(0.01, rel=0.2)  # the noise's variance: 0.1²
    assert scores["persistence"]["test_mse"] > 1.5 * scores["ar"]["test_mse"]
