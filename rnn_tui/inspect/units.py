"""Unit statistics and the orders the Inspect tab can list units in."""

from __future__ import annotations

from rnn_tui.inspect.trace import TraceData

SORTS = ("none", "variance", "|activation|")
"""Unit orders: their own, by variance over time (largest first), by |value| at the cursor."""


def variance(row: list[float]) -> float:
    """The population variance of ``row`` (0 for an empty row)."""
    n = len(row)
    if n == 0:
        return 0.0
    mean = sum(row) / n
    return sum((x - mean) ** 2 for x in row) / n


def unit_variance(data: TraceData, key: str) -> list[float]:
    """Each unit's variance over time of one (layer, vector), e.g. ``"0.h"``; computed once per key."""
    var = data.variance.get(key)
    if var is None:
        var = data.variance[key] = [variance(row) for row in data.by_unit[key]]
    return var


def unit_order(data: TraceData, key: str, sort: str, t: int) -> list[int]:
    """The units of ``key`` (e.g. ``"0.h"``) in the order ``sort`` (one of SORTS) lists them;
    "|activation|" ranks by the value at step ``t``. Ties keep the units' own order."""
    units = range(data.hidden)
    if sort == "none":
        return list(units)
    if sort == "variance":
        var = unit_variance(data, key)
        return sorted(units, key=lambda u: -var[u])
    if sort == "|activation|":
        row = data.by_time[key][t]
        return sorted(units, key=lambda u: -abs(row[u]))
    raise ValueError(f"unknown unit order {sort!r}; expected one of {', '.join(SORTS)}")
