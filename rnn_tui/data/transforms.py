"""What a forecaster sees of a series: log, differences and scaling, fitted on the training part and inverted.

For the values y_t of the target (t = 0..N−1), with the transforms chosen (in this order):

    log    u_t = ln y_t                       (else u_t = y_t; every y_t must be > 0)
    diff   v_t = u_t − u_{t−1}                (else v_t = u_t)
    sdiff  w_t = v_t − v_{t−S}                (S the season; else w_t = v_t)
    scale  z_t = (w_t − μ) / σ                always: μ, σ the mean and the standard deviation of
                                              w_t over the training part (σ = 1 when it is 0)

z_t exists from t = ``lost`` on (lost = 1 for diff + S for sdiff); before that it is NaN. The
features (extra input columns) are only scaled, each by its own training mean and deviation.

Inverting a forecast made at the origin o (the last value known) for the steps o+1..o+H uses the
true values up to o only, and the forecast's own earlier steps where it needs later ones:

    ŵ = σ ẑ + μ
    v̂_{o+h} = ŵ_{o+h} + v_{o+h−S}           v_{o+h−S} true when h ≤ S, else the forecast v̂_{o+h−S}
    û_{o+h} = û_{o+h−1} + v̂_{o+h}            û_o = u_o, the true value at the origin
    ŷ = exp(û)

so forward then inverse gives the series back exactly (up to float rounding).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from rnn_tui.config import TRANSFORMS
from rnn_tui.errors import RnnTuiError


@dataclass(frozen=True)
class Transform:
    """The transforms of a series and the scaling fitted on its training part (see the module docstring)."""

    log: bool = False
    diff: bool = False
    season: int = 0  # S of the seasonal difference; 0: none
    mean: float = 0.0  # μ and σ of w over the training part
    std: float = 1.0
    feature_mean: list[float] = field(default_factory=list)
    feature_std: list[float] = field(default_factory=list)

    @property
    def lost(self) -> int:
        """The first points, that have no z (no earlier value to take a difference from)."""
        return int(self.diff) + self.season

    def names(self) -> list[str]:
        return [name for name, on in zip(TRANSFORMS, (self.log, self.diff, bool(self.season))) if on]

    # -- fitting ------------------------------------------------------------------------------------

    @classmethod
    def fit(cls, values: torch.Tensor, train_end: int, names: list[str], season: int = 0,
            features: torch.Tensor | None = None, what: str = "the series") -> Transform:
        """The transforms ``names`` (among log, diff, sdiff) with the scaling fitted on
        values[:train_end] (and features[:train_end])."""
        unknown = [n for n in names if n not in TRANSFORMS]
        if unknown:
            raise RnnTuiError(f"unknown transform {unknown[0]!r}; choose among {', '.join(TRANSFORMS)}")
        if "sdiff" in names and season < 1:
            raise RnnTuiError("the sdiff transform needs the season's length (--season S)")
        t = cls(log="log" in names, diff="diff" in names, season=season if "sdiff" in names else 0)
        if train_end - t.lost < 2:
            raise RnnTuiError(f"the training part of {what} has {train_end} points; the transforms "
                              f"({', '.join(names)}) need more than {t.lost + 1}")
        w = t._unscaled(values)[t.lost:train_end]
        mean, std = _mean_std(w)
        f_mean: list[float] = []
        f_std: list[float] = []
        if features is not None:
            for k in range(features.size(1)):
                m, s = _mean_std(features[:train_end, k].double())
                f_mean.append(m)
                f_std.append(s)
        return cls(t.log, t.diff, t.season, mean, std, f_mean, f_std)

    # -- forward ------------------------------------------------------------------------------------

    def _unscaled(self, values: torch.Tensor) -> torch.Tensor:
        """w_t (float64, NaN before ``lost``)."""
        u = values.double()
        if self.log:
            bad = (u <= 0).nonzero()
            if bad.numel():
                i = int(bad[0])
                raise RnnTuiError(f"the log transform needs values above 0; point {i + 1} is {float(u[i]):g}: "
                                  "drop log from the transforms")
            u = u.log()
        nan = torch.full((1,), math.nan, dtype=torch.float64)
        if self.diff:
            u = torch.cat([nan, u[1:] - u[:-1]])
        if self.season:
            S = self.season
            u = torch.cat([nan.expand(min(S, len(u))), u[S:] - u[:-S]])
        return u

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        """y (N,) -> z (N,) float64, NaN before ``lost``."""
        return (self._unscaled(values) - self.mean) / self.std

    def scale_features(self, features: torch.Tensor) -> torch.Tensor:
        """(N, F) -> each column scaled by its training mean and deviation, float64."""
        mean = torch.tensor(self.feature_mean, dtype=torch.float64)
        std = torch.tensor(self.feature_std, dtype=torch.float64)
        return (features.double() - mean) / std

    # -- inverse ------------------------------------------------------------------------------------

    def inverse(self, z: torch.Tensor, origins: torch.Tensor | list[int], values: torch.Tensor) -> torch.Tensor:
        """Forecasts ẑ (B, H) made at ``origins`` (B,) -> ŷ (B, H) float64 in the series' units,
        reading ``values`` (the true series) at or before each origin only."""
        o = torch.as_tensor(origins, dtype=torch.long)
        H = z.size(1)
        y = values.double()
        u = y.log() if self.log else y
        w = z.double() * self.std + self.mean
        if self.season:
            S = self.season
            v_true = u[1:] - u[:-1] if self.diff else u  # v_t at index t − 1 (diff) or t
            shift = 1 if self.diff else 0
            v = torch.empty_like(w)
            for h in range(H):  # step h forecasts o + h + 1
                if h + 1 <= S:
                    v[:, h] = w[:, h] + v_true[o + h + 1 - S - shift]
                else:
                    v[:, h] = w[:, h] + v[:, h - S]
        else:
            v = w
        u_hat = u[o][:, None] + v.cumsum(1) if self.diff else v
        return u_hat.exp() if self.log else u_hat

    # -- the checkpoint's copy ------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {"transforms": self.names(), "season": self.season, "mean": self.mean, "std": self.std,
                "feature_mean": list(self.feature_mean), "feature_std": list(self.feature_std)}

    @classmethod
    def from_dict(cls, raw: Any) -> Transform:
        """A Transform from ``to_dict``; ValueError naming what does not fit."""
        if not isinstance(raw, dict):
            raise ValueError("not an object")
        names, season = raw.get("transforms"), raw.get("season")
        if not isinstance(names, list) or any(n not in TRANSFORMS for n in names):
            raise ValueError(f"\"transforms\" must be a list among {', '.join(TRANSFORMS)}")
        if not isinstance(season, int) or isinstance(season, bool) or season < 0 or (("sdiff" in names) != (season > 0)):
            raise ValueError("\"season\" must be a whole number ≥ 0, above 0 exactly with sdiff")
        numbers: dict[str, Any] = {key: raw.get(key) for key in ("mean", "std")}
        lists: dict[str, Any] = {key: raw.get(key) for key in ("feature_mean", "feature_std")}
        for key, x in numbers.items():
            if not _finite(x):
                raise ValueError(f"\"{key}\" must be a finite number")
        for key, xs in lists.items():
            if not isinstance(xs, list) or not all(_finite(x) for x in xs):
                raise ValueError(f"\"{key}\" must be a list of finite numbers")
        f_mean, f_std = lists["feature_mean"], lists["feature_std"]
        if numbers["std"] <= 0 or any(s <= 0 for s in f_std) or len(f_mean) != len(f_std):
            raise ValueError("the deviations must be above 0, one per feature")
        return cls("log" in names, "diff" in names, season, float(numbers["mean"]), float(numbers["std"]),
                   [float(x) for x in f_mean], [float(x) for x in f_std])


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _mean_std(x: torch.Tensor) -> tuple[float, float]:
    """Mean and (population) standard deviation; a deviation of 0 counts as 1."""
    mean = float(x.mean())
    std = float(x.std(correction=0))
    return mean, std if std > 1e-12 * max(1.0, abs(mean)) and math.isfinite(std) else 1.0
