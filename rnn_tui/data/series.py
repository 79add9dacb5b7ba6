"""Time series from CSV: one numeric column read as a float32 tensor (``rnn-tui data show``)."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import torch

from rnn_tui.data.text import read_file
from rnn_tui.errors import RnnTuiError


@dataclass
class Series:
    """A named 1-D float32 series."""

    name: str
    values: torch.Tensor


FLOAT32_MAX = float(torch.finfo(torch.float32).max)


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


def read_series(path: str | Path, column: str | int | None = None, encoding: str = "utf-8") -> Series:
    """One column of a CSV file as a float32 series.

    The first row is the header (a first row of numbers only is taken as data, with columns
    named 0, 1, ...). ``column`` is a name or an index; by default the last numeric column.
    """
    path = Path(path)
    reader = csv.reader(io.StringIO(read_file(path, encoding)))
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
    values = []
    for line, row in data:
        cell = row[col] if col < len(row) else ""
        x = _number(cell)
        if x is None:
            raise RnnTuiError(
                f"{path} line {line}, column {header[col]!r}: {cell.strip()!r} is not a number (within ±3.4e38); "
                "fix or remove that row"
            )
        values.append(x)
    name = header[col] if not header[col].isdigit() else path.stem
    return Series(name=name, values=torch.tensor(values, dtype=torch.float32))

