"""The forecaster's AR highway (models/forecaster.py, LSTNet's linear term): it learns an AR
process's coefficients by gradient, a run starts from exactly the AR baseline's fit, the recursive
strategy feeds its forecasts into the highway, and the output is the traced state's head plus the
highway."""

import random

import pytest
import torch

from rnn_tui.config import Config
from rnn_tui.models.forecaster import Forecaster
from rnn_tui.train.forecast_baselines import ar_forecast, fit_ar
from rnn_tui.train.tasks import ForecastTask
from tests.test_forecast import forecast_config, monthly


def ar2(n: int = 3000, c: float = 0.5, a1: float = 0.6, a2: float = -0.3) -> torch.Tensor:
    """z_t = c + a1 z_{t−1} + a2 z_{t−2} + ε_t, ε ~ N(0, 0.1²)."""
    rng = random.Random(3)
    z = [0.0, 0.0]
    for _ in range(n):
        z.append(c + a1 * z[-1] + a2 * z[-2] + rng.gauss(0.0, 0.1))
    return torch.tensor(z[100:])


def test_the_highway_alone_learns_an_ar_processs_coefficients():
    torch.manual_seed(0)
    cfg = Config(task="forecast").model
    cfg.cell, cfg.hidden, cfg.highway = "gru", 4, 2
    model = Forecaster(cfg, 1, 1, "direct")
    model.head.weight.data.zero_()  # the recurrent part silenced: the highway and b_out alone
    for p in [*model.rnn.parameters(), model.head.weight]:
        p.requires_grad_(False)
    z = ar2()
    W = 5
    x = torch.stack([z[t - W + 1 : t + 1] for t in range(W - 1, len(z) - 1)])[:, :, None]
    y = z[W:][:, None]
    optimizer = torch.optim.Adam([model.highway.weight, model.head.bias], lr=0.05)
    for _ in range(600):
        rows = torch.randint(0, len(x), (64,))
        loss = torch.nn.functional.mse_loss(model(x[rows]), y[rows])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    # the window's last P values oldest first: (z_{o−1}, z_o) weighed by (a2, a1)
    assert model.highway.weight[0].detach().tolist() == pytest.approx([-0.3, 0.6], abs=0.05)
    assert model.head.bias.item() == pytest.approx(0.5, abs=0.05)
    with torch.no_grad():
        assert float(torch.nn.functional.mse_loss(model(x), y)) == pytest.approx(0.01, rel=0.15)  # the noise


@pytest.mark.parametrize("strategy", ["recursive", "direct"])
def test_a_run_starts_as_the_ar_fit_of_its_training_windows(tmp_path, strategy):
    """With P = the window = 12, the start is the AR(12) least-squares fit (train/forecast_baselines.py)
    of the training targets: recursive, the baseline's own rows, and its forecasts fed back through the
    highway are the AR model's iterated forecasts step for step; direct (horizon 3), step 1 is the AR
    fit of its rows (the training part less the last 2 points, whose windows have no 3 steps after)."""
    cfg = forecast_config(str(monthly(tmp_path)), strategy=strategy, highway=12)
    task = ForecastTask(cfg, None)
    model = task.build_model(torch.device("cpu"))
    assert not model.head.weight.any()
    d = task.data
    coef = fit_ar(d.z, d.transform.lost, d.split.train_end - (2 if strategy == "direct" else 0), 12)
    if strategy == "recursive":
        assert torch.allclose(coef, task.fitted.coef)
    assert model.highway.weight[0].tolist() == pytest.approx(coef[1:].flip(0).tolist(), abs=1e-4)
    origins = d.origins("val") + d.origins("test")
    with torch.no_grad():
        z = model.forecast(d.windows(origins))
    ar = ar_forecast(coef, d.z, origins, 3).float()
    steps = 3 if strategy == "recursive" else 1
    assert z[:, :steps].flatten().tolist() == pytest.approx(ar[:, :steps].flatten().tolist(), abs=1e-4)
    if strategy == "direct":  # steps 2 and 3: their own least-squares fits, not the iterated AR
        assert not torch.allclose(z[:, 1:], ar[:, 1:], atol=1e-3)


def test_the_output_is_the_traced_state_through_the_head_plus_the_highway():
    torch.manual_seed(1)
    cfg = Config(task="forecast").model
    cfg.cell, cfg.hidden, cfg.highway = "lstm", 6, 3
    model = Forecaster(cfg, 2, 2, "direct")
    torch.nn.init.normal_(model.highway.weight)
    window = torch.randn(8, 2)
    vectors, _ = model.trace(window)
    by_hand = model.head(vectors["0.h"][-1]) + model.highway.weight @ window[-3:, 0]  # the target column only
    with torch.no_grad():
        assert model(window[None])[0].tolist() == pytest.approx(by_hand.tolist(), abs=1e-5)
