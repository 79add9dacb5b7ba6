"""The baselines of a forecasting run: what a statistician would try first, on the model's own test points.

Each forecasts the H points after every origin of a part (data/windows.py: the same origins and
horizon as the model), from the true values up to that origin only:

    persistence     ŷ_{o+h} = y_o                          the last value
    seasonal naive  ŷ_{o+h} = y_{o+h−kS}, k = ⌈h/S⌉         the last value one season before (a season S set)
    AR(p)           ẑ_t = c + a_1 z_{t−1} + … + a_p z_{t−p}, fitted by least squares on the training
                    part of z, the transformed series the model reads (data/transforms.py); iterated
                    on its own forecasts for h > 1, then inverted to the series' units as the
                    model's forecasts are

The scores (decode/metrics.py ``forecast_scores``) are in the series' units, over every (origin, h).
"""

from __future__ import annotations

import time

import torch

from rnn_tui.data.windows import ForecastData
from rnn_tui.decode.metrics import forecast_scores
from rnn_tui.errors import RnnTuiError
from rnn_tui.runs.records import Baseline

SCORED = ("val", "test")


def persistence(values: torch.Tensor, origins: list[int], horizon: int) -> torch.Tensor:
    """(B, H): y_o for every step."""
    return values.double()[torch.as_tensor(origins, dtype=torch.long)][:, None].expand(-1, horizon).clone()


def seasonal_naive(values: torch.Tensor, origins: list[int], horizon: int, season: int) -> torch.Tensor:
    """(B, H): y_{o+h−kS} with k = ⌈h/S⌉, the latest known value of the same season."""
    h = torch.arange(1, horizon + 1)
    back = h - season * ((h + season - 1) // season)  # h − kS ∈ (−S, 0]
    o = torch.as_tensor(origins, dtype=torch.long)
    return values.double()[o[:, None] + back[None, :]]


def fit_ar(z: torch.Tensor, start: int, end: int, p: int) -> torch.Tensor:
    """(c, a_1..a_p) float64 minimising Σ_t (z_t − c − Σ_i a_i z_{t−i})² over t = start+p .. end−1
    (z defined from ``start`` on)."""
    rows = end - start - p
    if rows < p + 1:
        raise RnnTuiError(f"the AR({p}) baseline needs at least {2 * p + 1} training points after the transforms; "
                          f"there are {end - start}: lower the AR order (ar_order) or the window")
    t = torch.arange(start + p, end)
    lags = z.double()[t[:, None] - torch.arange(1, p + 1)[None, :]]  # (rows, p): z_{t−1} .. z_{t−p}
    design = torch.cat([torch.ones(rows, 1, dtype=torch.float64), lags], dim=1)
    # gelsd (SVD): the minimum-norm solution, also where the lags are collinear (a series that repeats
    # exactly), whatever the BLAS threads; the default QR driver may pick another
    return torch.linalg.lstsq(design, z.double()[t][:, None], driver="gelsd").solution[:, 0]


def ar_forecast(coef: torch.Tensor, z: torch.Tensor, origins: list[int], horizon: int) -> torch.Tensor:
    """(B, H) forecasts ẑ of the AR model ``coef`` from each origin, its own forecasts fed back."""
    p = coef.numel() - 1
    o = torch.as_tensor(origins, dtype=torch.long)
    history = z.double()[o[:, None] - torch.arange(p)[None, :]]  # (B, p): z_o, z_{o−1}, …, newest first
    out = []
    for _ in range(horizon):
        nxt = coef[0] + history @ coef[1:]
        out.append(nxt)
        history = torch.cat([nxt[:, None], history[:, :-1]], dim=1)
    return torch.stack(out, dim=1)


class Baselines:
    """The baselines fitted for one run's data (the AR coefficients on its training part)."""

    def __init__(self, data: ForecastData, season: int, ar_order: int) -> None:
        self.data, self.season = data, season
        self.p = ar_order or data.window
        start = time.perf_counter()
        self.coef = fit_ar(data.z, data.transform.lost, data.split.train_end, self.p)
        self.ar_seconds = time.perf_counter() - start

    @property
    def names(self) -> list[str]:
        return ["persistence", *(["seasonal_naive"] if self.season else []), "ar"]

    def forecasts(self, origins: list[int], horizon: int | None = None) -> dict[str, torch.Tensor]:
        """name -> (B, H) float64 forecasts in the series' units from each origin."""
        d, H = self.data, horizon or self.data.horizon
        out = {"persistence": persistence(d.values, origins, H)}
        if self.season:
            out["seasonal_naive"] = seasonal_naive(d.values, origins, H, self.season)
        out["ar"] = d.transform.inverse(ar_forecast(self.coef, d.z, origins, H), origins, d.values)
        return out

    def scores(self) -> dict[str, Baseline]:
        """Each baseline's scores on the validation and test origins (``val_rmse``, ``test_mae``,
        …; absent for an empty part) and the seconds its fit took."""
        result: dict[str, Baseline] = {name: {"seconds": 0.0} for name in self.names}
        result["ar"]["seconds"], result["ar"]["order"] = self.ar_seconds, self.p
        for part in SCORED:
            origins = self.data.origins(part)
            if not origins:
                continue
            truth = self.data.truth(origins).flatten().tolist()
            for name, forecast in self.forecasts(origins).items():
                for key, value in forecast_scores(truth, forecast.flatten().tolist()).items():
                    result[name][f"{part}_{key}"] = value  # type: ignore[literal-required]  # e.g. "test_rmse"
        return result
