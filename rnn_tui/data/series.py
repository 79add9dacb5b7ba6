"""Time series: a table's columns read as float32 series, the dates after a series, the chronological split.

A series file is a CSV or TSV table (the first row a header, or data when it holds only
numbers; then the columns are named 0, 1, …) or a file of one value per line. ``read_series``
reads its target column (by name or index; by default the last numeric one), the columns of
extra input features, and a date column kept as written, for display. A gap (an empty cell) or
a cell that is not a number is one error line naming the line and the column.

    split_series   train, then validation, then the last ``test`` points (chronological)
    next_dates     the dates after the last one (YYYY, YYYY-MM, YYYY-MM-DD at a regular step)
"""

from __future__ import annotations

import csv
import datetime
import io
import itertools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch

from rnn_tui.data.text import read_file
from rnn_tui.errors import RnnTuiError


@dataclass
class Series:
    """A named 1-D float32 series, with the extra input columns and the dates when it has them."""

    name: str
    values: torch.Tensor  # (N,)
    dates: list[str] | None = None  # the date column's cells, as written
    features: torch.Tensor | None = None  # (N, F): the feature columns, in the order asked for
    feature_names: list[str] = field(default_factory=list)


FLOAT32_MAX = float(torch.finfo(torch.float32).max)
DATE_WORDS = ("date", "time", "year", "month", "week", "day", "period")  # a column named so holds dates


def _number(cell: str) -> float | None:
    """``cell`` as a float that is finite in float32 (what the series is kept in), or None."""
    try:
        x = float(cell.strip())
    except ValueError:
        return None
    return x if math.isfinite(x) and abs(x) <= FLOAT32_MAX else None


def _pick_column(header: list[str], column: str | int | None, first_row: list[str], where: str) -> int:
    """The index of the requested column (by name or index), or of the last numeric one."""
    names = ", ".join(header)
    if column is None:
        numeric = [i for i, cell in enumerate(first_row[: len(header)]) if _number(cell) is not None]
        if not numeric:
            raise RnnTuiError(f"{where} has no numeric column (columns: {names}); pass --column")
        return numeric[-1]
    if isinstance(column, str) and column in header:
        return header.index(column)
    if isinstance(column, str) and column.strip().lstrip("-").isdigit():
        column = int(column)
    if isinstance(column, int) and -len(header) <= column < len(header):
        return column % len(header)
    raise RnnTuiError(f"{where} has no column {column!r}; columns are: {names}")


def _delimiter(path: Path, text: str) -> str:
    """A TAB for a ``.tsv`` file or a file whose first line holds one; else a comma."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return "\t" if suffix == ".tsv" else ","
    first = next((line for line in text.splitlines() if line.strip()), "")
    return "\t" if "\t" in first else ","


def _date_column(header: list[str], first_row: list[str], used: set[int]) -> int | None:
    """The first column, when it is not read as a value and holds no number or is named like a date."""
    if not header or 0 in used:
        return None
    named = any(word in header[0].lower() for word in DATE_WORDS)
    return 0 if named or _number(first_row[0] if first_row else "") is None else None


def read_series(path: str | Path, column: str | int | None = None, encoding: str = "utf-8",
                date_column: str | int | None = None, features: list[str] | None = None,
                guess_dates: bool = False) -> Series:
    """One column of a CSV/TSV file (or a file of one value per line) as a float32 series.

    The first row is the header (a first row of numbers only is taken as data, with columns
    named 0, 1, ...). ``column`` is a name or an index; by default the last numeric column.
    ``features`` are more columns read the same way; ``date_column`` a column kept as strings
    (``guess_dates``: without one, the first column when it looks like dates — see
    ``_date_column``).
    """
    path = Path(path)
    text = read_file(path, encoding)
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(path, text))
    rows = ((reader.line_num, row) for row in reader if any(cell.strip() for cell in row))
    _, first = next(rows, (0, []))
    if not first:
        raise RnnTuiError(f"{path} has no values: expected a CSV file with a header row")
    if all(_number(cell) is not None for cell in first):
        header, data = [str(i) for i in range(len(first))], [(1, first)]
    else:
        header, data = [cell.strip() for cell in first], []
    data.extend(rows)
    if not data:
        raise RnnTuiError(f"{path} has a header but no rows of values")
    col = _pick_column(header, column, data[0][1], str(path))
    extra = [_pick_column(header, name, data[0][1], str(path)) for name in features or []]
    if col in extra:
        raise RnnTuiError(f"the features name the target column {header[col]!r}; its own past is always an input")
    if len(set(extra)) < len(extra):
        raise RnnTuiError(f"the features name a column twice: {', '.join(features or [])}")
    if date_column is not None and date_column != "":
        dates_at: int | None = _pick_column(header, date_column, data[0][1], str(path))
        if dates_at == col or dates_at in extra:
            raise RnnTuiError(f"the date column {header[dates_at]!r} is also read as values; pick another --date-column")
    else:
        dates_at = _date_column(header, data[0][1], {col, *extra}) if guess_dates else None

    def value(line: int, row: list[str], at: int) -> float:
        cell = row[at].strip() if at < len(row) else ""
        x = _number(cell)
        if x is None:
            what = "is empty (a gap in the series)" if not cell else f"{cell!r} is not a number (within ±3.4e38)"
            raise RnnTuiError(f"{path} line {line}, column {header[at]!r}: {what}; fix or remove that row")
        return x

    values = [value(line, row, col) for line, row in data]
    feats = [[value(line, row, at) for at in extra] for line, row in data] if extra else None
    dates = [row[dates_at].strip() if dates_at < len(row) else "" for _, row in data] if dates_at is not None else None
    name = header[col] if not header[col].isdigit() else path.stem
    return Series(name=name, values=torch.tensor(values, dtype=torch.float32), dates=dates,
                  features=torch.tensor(feats, dtype=torch.float32) if feats is not None else None,
                  feature_names=[header[at] for at in extra])


# -- the split -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesSplit:
    """Points [0, train_end) train, [train_end, val_end) validation, [val_end, n) test."""

    train_end: int
    val_end: int
    n: int

    @property
    def val(self) -> int:
        return self.val_end - self.train_end

    @property
    def test(self) -> int:
        return self.n - self.val_end


def split_series(n: int, val_fraction: float, test: int) -> SeriesSplit:
    """The chronological split of ``n`` points: the last ``test`` are the test part, the last
    ``val_fraction`` of the rest (rounded down) the validation part, the start the training part."""
    if test >= n:
        raise RnnTuiError(f"the test part ({test} points) leaves nothing to train on: the series has {n}; "
                          "lower --test-size")
    val = int((n - test) * val_fraction)
    return SeriesSplit(train_end=n - test - val, val_end=n - test, n=n)


# -- dates -----------------------------------------------------------------------------------------

_FORMS = ((re.compile(r"\d{4}"), "%Y"), (re.compile(r"\d{4}-\d{2}"), "%Y-%m"), (re.compile(r"\d{4}-\d{2}-\d{2}"), "%Y-%m-%d"))


def _months(d: datetime.date) -> int:
    return d.year * 12 + d.month - 1


def _from_months(m: int, day: int = 1) -> datetime.date:
    return datetime.date(m // 12, m % 12 + 1, day)


def next_dates(dates: list[str], n: int) -> list[str]:
    """The ``n`` dates after ``dates``, written the same way, when all of them are YYYY, YYYY-MM
    or YYYY-MM-DD at one regular step (a whole number of days; of months for YYYY-MM, or for
    YYYY-MM-DD on the same day of every month; of years for YYYY); otherwise "+1", "+2", …"""
    fallback = [f"+{k}" for k in range(1, n + 1)]
    form = next((fmt for pattern, fmt in _FORMS if dates and all(pattern.fullmatch(d) for d in dates)), None)
    if form is None or len(dates) < 2:
        return fallback
    try:
        parsed = [datetime.datetime.strptime(d, form).date() for d in dates]
    except ValueError:  # 2021-02-30
        return fallback
    months = [_months(d) for d in parsed]
    month_steps = {b - a for a, b in itertools.pairwise(months)}
    day_steps = {(b - a).days for a, b in itertools.pairwise(parsed)}
    last = parsed[-1]
    by_month = form != "%Y-%m-%d" or (len({d.day for d in parsed}) == 1 and last.day <= 28)
    steps = month_steps if by_month else day_steps
    if len(steps) != 1 or (step := steps.pop()) <= 0:
        return fallback
    try:
        if by_month:
            out = [_from_months(months[-1] + k * step, last.day) for k in range(1, n + 1)]
        else:
            out = [last + datetime.timedelta(days=k * step) for k in range(1, n + 1)]
    except (ValueError, OverflowError):  # past the year 9999
        return fallback
    return [d.strftime(form) if d.year >= 1000 else fallback[k] for k, d in enumerate(out)]
