"""Reading numbers typed into the panes' small Input fields: a bad one is one clear line."""

from __future__ import annotations

from rnn_tui.errors import RnnTuiError


def typed_number(label: str, raw: str, kind: type[int] | type[float]) -> int | float:
    """``raw`` as ``kind`` (int or float), or RnnTuiError naming the field."""
    try:
        return kind(raw.strip())
    except ValueError:
        what = "whole number" if kind is int else "number"
        raise RnnTuiError(f"{label}: {raw.strip()!r} is not a {what}") from None
