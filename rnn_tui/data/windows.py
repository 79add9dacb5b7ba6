"""A series cut into forecasting windows: what a forecaster reads at each origin and what it must forecast.

An origin o is the last point a forecast knows. The window of o is the W points o−W+1..o, each a
vector of 1+F numbers: the transformed target z_t (data/transforms.py) and the F scaled features.
The forecast is of the H points o+1..o+H. The origins of each part of the chronological split
(data/series.py) are those whose forecasts land wholly inside it:

    train   o = lost+W−1 .. train_end−1−H      (H = 1 when a recursive model trains one step)
    val     o = train_end−1 .. val_end−1−H     (the window may reach back into train)
    test    o = val_end−1 .. n−1−H

so every point of the validation and test parts is forecast from at least one origin, each
forecast using only the true values up to its origin; the baselines (train/forecast_baselines.py)
use the same origins.

Batches of training windows are shuffled per epoch with a generator seeded by (seed, epoch):
batch ``index`` of ``epoch`` is a pure function of them, so a resume continues the same order.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rnn_tui.config import Config
from rnn_tui.data.series import Series, SeriesSplit, split_series
from rnn_tui.data.shards import count_batches, rows_of
from rnn_tui.data.transfer import to_device
from rnn_tui.data.transforms import Transform
from rnn_tui.errors import RnnTuiError


class ForecastData:
    """A series, its split and transform, and its windows (see the module docstring)."""

    def __init__(self, series: Series, split: SeriesSplit, transform: Transform, window: int, horizon: int,
                 train_horizon: int | None = None) -> None:
        self.series, self.split, self.transform = series, split, transform
        self.window, self.horizon = window, horizon
        self.values = series.values.double()  # (N,) the true values, in the series' units
        self.z = transform.forward(series.values)  # (N,) NaN before transform.lost
        columns = [self.z[:, None]]
        if series.features is not None:
            columns.append(transform.scale_features(series.features))
        self.inputs = torch.cat(columns, dim=1).float()  # (N, 1 + F)
        ahead = train_horizon or horizon
        self._origins = {"train": list(range(transform.lost + window - 1, split.train_end - ahead)),
                         "val": list(range(split.train_end - 1, split.val_end - horizon)),
                         "test": list(range(split.val_end - 1, split.n - horizon))}
        self._check(ahead)

    @classmethod
    def from_config(cls, cfg: Config, transform: Transform | None = None) -> ForecastData:
        """The data of a forecasting run: read, split and (unless ``transform`` is given, as a
        checkpoint's) the transforms fitted on its training part."""
        from rnn_tui.data.spec import load_series, resolve

        d = cfg.data
        series = load_series(resolve(d.spec), column=d.column or None, encoding=d.encoding,
                             date_column=d.date_column or None, features=d.feature_columns(), guess_dates=True)
        n = len(series.values)
        test = d.test_size or int(n * d.test_fraction)
        split = split_series(n, d.val_fraction, test)
        if transform is None:
            transform = Transform.fit(series.values, split.train_end, d.transforms(), d.season, series.features,
                                      what=series.name)
        elif len(transform.feature_mean) != (0 if series.features is None else series.features.size(1)):
            raise RnnTuiError(f"the data has {len(series.feature_names)} feature column(s) but the run was trained "
                              f"with {len(transform.feature_mean)}")
        else:
            transform.forward(series.values)  # log of a value ≤ 0: one line here
        recursive = cfg.task == "forecast" and cfg.model.strategy == "recursive"
        return cls(series, split, transform, d.window, d.horizon, train_horizon=1 if recursive else None)

    def _check(self, train_horizon: int) -> None:
        s, lost, W, H = self.split, self.transform.lost, self.window, self.horizon
        if not self._origins["train"]:
            after = f" (and the first {lost} that the transforms use up)" if lost else ""
            raise RnnTuiError(f"the training part of {self.series.name} has {s.train_end} points: too few for a window of "
                              f"{W} and a horizon of {train_horizon}{after}, which need {lost + W + train_horizon}; lower "
                              "the window or the horizon, or hold out fewer points")
        for part, size, flag in (("validation", s.val, "--val-fraction"), ("test", s.test, "--test-size")):
            if 0 < size < H:
                raise RnnTuiError(f"the {part} part has {size} points, fewer than the horizon ({H}); raise {flag} "
                                  "or set it to 0")

    @property
    def inputs_per_step(self) -> int:
        return self.inputs.size(1)

    def origins(self, part: str) -> list[int]:
        """The origins of ``part`` ("train", "val" or "test"), oldest first; none for an empty part."""
        return self._origins[part]

    def windows(self, origins: list[int] | torch.Tensor) -> torch.Tensor:
        """(B, W, 1 + F) float32: the window of each origin."""
        o = torch.as_tensor(origins, dtype=torch.long)
        return self.inputs[o[:, None] + torch.arange(-self.window + 1, 1)[None, :]]

    def targets(self, origins: list[int] | torch.Tensor, horizon: int | None = None) -> torch.Tensor:
        """(B, H) float32: the transformed values to forecast from each origin."""
        return self._ahead(self.z, origins, horizon or self.horizon).float()

    def truth(self, origins: list[int] | torch.Tensor, horizon: int | None = None) -> torch.Tensor:
        """(B, H) float64: the true values after each origin, in the series' units."""
        return self._ahead(self.values, origins, horizon or self.horizon)

    @staticmethod
    def _ahead(x: torch.Tensor, origins: list[int] | torch.Tensor, horizon: int) -> torch.Tensor:
        o = torch.as_tensor(origins, dtype=torch.long)
        return x[o[:, None] + torch.arange(1, horizon + 1)[None, :]]

    def date(self, t: int) -> str:
        """Point ``t`` as the data names it: its date, else its 1-based number."""
        dates = self.series.dates
        return dates[t] if dates is not None and 0 <= t < len(dates) else f"point {t + 1}"


@dataclass
class WindowBatch:
    x: torch.Tensor  # (B, W, 1 + F) windows
    y: torch.Tensor  # (B, H) transformed targets

    def to(self, device: torch.device | str) -> WindowBatch:
        return WindowBatch(to_device(self.x, device), to_device(self.y, device))


class ForecastBatches:
    """Training windows and their targets, ``batch`` at a time, shuffled per (seed, epoch); of
    ``ranks`` data-parallel processes, rank ``rank`` gets its block of each batch (data/shards.py)."""

    def __init__(self, data: ForecastData, origins: list[int], batch: int, horizon: int, seed: int = 0,
                 shuffle: bool = True, rank: int = 0, ranks: int = 1) -> None:
        self.data, self.origins, self.batch, self.horizon, self.seed, self.shuffle = data, origins, batch, horizon, seed, shuffle
        self.rank, self.ranks = rank, ranks
        self._epoch: int | None = None
        self._order: list[int] = []

    def __len__(self) -> int:
        return max(1, count_batches(len(self.origins), self.batch, self.ranks))

    def get(self, epoch: int, index: int) -> WindowBatch:
        if epoch != self._epoch:
            n = len(self.origins)
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._epoch = epoch
            self._order = torch.randperm(n, generator=g).tolist() if self.shuffle else list(range(n))
        rows = rows_of([self.origins[i] for i in self._order[index * self.batch : (index + 1) * self.batch]], self.rank,
                       self.ranks)
        return WindowBatch(self.data.windows(rows), self.data.targets(rows, self.horizon))
