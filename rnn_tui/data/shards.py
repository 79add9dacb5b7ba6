"""Shares of the data among the ranks of a data-parallel run (train/distributed.py).

Every rank reads the whole data and computes the same global batches from (seed, epoch, index);
each then takes its own contiguous ``block`` of a batch's rows (a language model's columns), so
the ranks' blocks together are exactly the batch one process would train on.
"""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def block(n: int, rank: int, ranks: int) -> range:
    """Rank ``rank``'s contiguous share of ``n`` items: consecutive over the ranks, covering all
    ``n``, sizes differing by at most one (some empty when ``n < ranks``)."""
    return range(n * rank // ranks, n * (rank + 1) // ranks)


def rows_of(rows: list[T], rank: int, ranks: int) -> list[T]:
    """Rank ``rank``'s rows of a global batch."""
    share = block(len(rows), rank, ranks)
    return rows[share.start : share.stop]


def full_batches(batches: list[list[int]], ranks: int) -> list[list[int]]:
    """The global batches every rank has a row of: a short last batch with fewer rows than
    ranks is left out of the epoch (with one rank it never is)."""
    return [b for b in batches if len(b) >= ranks]


def count_batches(n: int, batch: int, ranks: int) -> int:
    """How many of ``full_batches`` ``n`` examples make in global batches of ``batch``."""
    short = n % batch
    return n // batch + (1 if short >= ranks else 0)
