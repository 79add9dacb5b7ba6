"""Bags of n-grams: the features of the bag-of-words baselines (train/baselines.py) and of a
classifier's n-gram expert (models/ngram_expert.py).

Features: the n-grams of each text (every order in ``ngrams``, never across two texts) that are
among the ``max_features`` most frequent n-grams of the training texts (0: all of them); x_f is
how often n-gram f occurs in the text (tf) or whether it occurs (binary). Tokens and n-grams never
seen in training are ignored. An n-gram is one int64 code (its token ids as digits in base
|tokens| + 1, times 8, plus its order), so counting is numpy's sort, not a Python loop, and x is
a sparse (CSR) matrix: 17k texts of ~200 characters take seconds, not minutes.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from itertools import chain, repeat

import numpy as np
import torch

from rnn_tui.errors import RnnTuiError

Texts = Sequence[Sequence[Hashable]]  # each text a list of tokens (strings or ids)
NGRAM_ORDERS = (1, 2)  # uni+bigrams: the baselines' features
MAX_FEATURES = 50_000  # the baselines keep the most frequent n-grams of the training texts


def _csr(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, shape: tuple[int, int]) -> torch.Tensor:
    """A sparse CSR matrix from its cells, ``rows`` ascending."""
    crow = np.searchsorted(rows, np.arange(shape[0] + 1))
    with warnings.catch_warnings():  # "sparse CSR support is in beta": these products are all we use
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(torch.from_numpy(crow), torch.from_numpy(cols), torch.from_numpy(values),
                                       shape, check_invariants=False)


@dataclass
class Bag:
    """x (N, F): the features of N texts, kept twice (x and xᵀ in CSR) for fast products."""

    x: torch.Tensor
    xt: torch.Tensor

    def __len__(self) -> int:
        return self.x.size(0)


class Ngrams:
    """The n-gram vocabulary of the training texts, and texts -> their bag of n-grams."""

    def __init__(self, texts: Texts, ngrams: Sequence[int] = NGRAM_ORDERS, max_features: int = MAX_FEATURES) -> None:
        if not ngrams or min(ngrams) < 1:
            raise RnnTuiError(f"n-gram orders must be 1 or more; got {tuple(ngrams)}")
        self.token_ids = {t: i for i, t in enumerate(dict.fromkeys(chain.from_iterable(texts)))}
        self.orders = tuple(sorted(set(ngrams)))
        self.base = len(self.token_ids) + 1  # digit len(token_ids): a token never seen in training
        if self.base ** max(self.orders) >= 2**59:
            raise RnnTuiError(f"{len(self.token_ids)} distinct tokens are too many for {max(self.orders)}-grams")
        found, counts = np.unique(self._codes(texts)[0], return_counts=True)
        keep = np.argsort(-counts, kind="stable")[:max_features] if max_features > 0 else slice(None)
        self.codes = np.sort(found[keep])  # the features as sorted codes: the most frequent (ties: lower code)

    def __len__(self) -> int:
        return len(self.codes)

    def _codes(self, texts: Texts) -> tuple[np.ndarray, np.ndarray]:
        """Every n-gram of every text: its code and the index of its text (int64 arrays)."""
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        total, unseen = int(lengths.sum()), self.base - 1
        ids = np.fromiter(map(self.token_ids.get, chain.from_iterable(texts), repeat(unseen)), dtype=np.int64,
                          count=total)
        doc = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
        codes, docs = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
        for n in self.orders:
            starts = max(total - n + 1, 0)  # n-grams start at 0..starts−1; kept if they end in the same text
            code = ids[:starts].copy()
            for j in range(1, n):
                code = code * self.base + ids[j:starts + j]
            same_text = doc[:starts] == doc[n - 1:]
            codes.append(code[same_text] * 8 + n)
            docs.append(doc[:starts][same_text])
        return np.concatenate(codes), np.concatenate(docs)

    def bag(self, texts: Texts, binary: bool) -> Bag:
        """texts -> x (N, F) float32: how often each feature occurs in each text (binary: 1 if at all)."""
        codes, doc = self._codes(texts)
        width = max(len(self), 1)
        col = np.minimum(np.searchsorted(self.codes, codes), width - 1)
        known = self.codes[col] == codes if len(self) else np.zeros(len(codes), dtype=bool)
        cells, counts = np.unique(doc[known] * width + col[known], return_counts=True)  # sorted by text, then feature
        rows, cols = np.divmod(cells, width)
        values = np.ones(len(cells), dtype=np.float32) if binary else counts.astype(np.float32)
        by_col = np.argsort(cols, kind="stable")
        shape = (len(texts), len(self))
        return Bag(_csr(rows, cols, values, shape), _csr(cols[by_col], rows[by_col], values[by_col], shape[::-1]))
