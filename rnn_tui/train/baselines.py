"""The baselines a classifier must beat, fitted at the start of every classification run on the
same split and tokens as the model (no scikit-learn: numpy counts the n-grams, torch fits).

    majority     always the most frequent training class (ties: the lowest class id)
    naive Bayes  multinomial naive Bayes over a bag of n-grams:
                     predict argmax_c  log π_c + Σ_f x_f log θ_cf
                     π_c  = N_c / N                                   (N_c training texts of class c)
                     θ_cf = (n_cf + α) / (Σ_f' n_cf' + α |F|)         (n_cf = Σ x_f over class c's texts)
    logreg       multinomial logistic regression on the same bag of n-grams:
                     p(c | x) = softmax(W x + b)_c,   W minimises  mean cross-entropy + (l2 / 2) ‖W‖²
                     by full-batch L-BFGS from W = 0, b = 0 (no random start, no sampling: the same
                     data gives the same weights)

Features: the n-grams of each text (every order in ``ngrams``, never across two texts) that are
among the ``max_features`` most frequent n-grams of the training texts (0: all of them); x_f is
how often n-gram f occurs in the text (tf) or whether it occurs (binary). Tokens and n-grams never
seen in training are ignored. An n-gram is one int64 code (its token ids as digits in base
|tokens| + 1, times 8, plus its order), so counting is numpy's sort, not a Python loop, and x is
a sparse (CSR) matrix: 17k texts of ~200 characters take seconds, not minutes.
"""

from __future__ import annotations

import time
import warnings
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from typing import Protocol, TypedDict

import numpy as np
import torch
import torch.nn.functional as F

from rnn_tui.errors import RnnTuiError

Texts = Sequence[Sequence[Hashable]]  # each text a list of tokens (strings or ids)
Split = tuple[Texts, Sequence[int]]  # texts and their class ids


class Predictor(Protocol):
    def predict(self, texts: Texts) -> list[int]: ...


class BaselineResult(TypedDict):
    val_acc: float | None  # None: no such split (or an empty one)
    test_acc: float | None
    seconds: float  # fitting, and predicting both splits


# -- bag of n-grams ------------------------------------------------------------------------------------


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

    def __init__(self, texts: Texts, ngrams: Sequence[int] = (1, 2), max_features: int = 50_000) -> None:
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


# -- the predictors --------------------------------------------------------------------------------------


@dataclass
class Linear:
    """argmax_c (W x + b)_c over bag-of-n-gram features: naive Bayes and logistic regression alike."""

    ngrams: Ngrams
    binary: bool
    weight: torch.Tensor  # (F, C)
    bias: torch.Tensor  # (C,)

    def predict(self, texts: Texts) -> list[int]:
        if not texts:
            return []
        return (self.ngrams.bag(texts, self.binary).x @ self.weight + self.bias).argmax(1).tolist()


@dataclass
class Majority:
    label: int

    def predict(self, texts: Texts) -> list[int]:
        return [self.label] * len(texts)


def majority(train_labels: Sequence[int]) -> Majority:
    counts = Counter(train_labels)
    if not counts:
        raise RnnTuiError("no training examples to fit a baseline on")
    return Majority(min(counts, key=lambda c: (-counts[c], c)))


def _features(texts: Texts, labels: Sequence[int], n_classes: int | None, ngrams: Sequence[int], max_features: int,
              binary: bool) -> tuple[Ngrams, Bag, torch.Tensor]:
    """The training set's n-gram vocabulary, its bag of n-grams, and one-hot labels (N, C)."""
    if not labels or len(texts) != len(labels):
        raise RnnTuiError(f"a baseline needs training texts and one label each; got {len(texts)} and {len(labels)}")
    feats = Ngrams(texts, ngrams, max_features)
    C = n_classes if n_classes is not None else max(labels) + 1
    return feats, feats.bag(texts, binary), F.one_hot(torch.tensor(labels), C).float()


def naive_bayes(train_tokens: Texts, train_labels: Sequence[int], ngrams: Sequence[int] = (1, 2), alpha: float = 1.0,
                max_features: int = 50_000, binary: bool = True, n_classes: int | None = None) -> Linear:
    """Multinomial naive Bayes (definitions above); alpha > 0 is the add-α smoothing."""
    feats, bag, onehot = _features(train_tokens, train_labels, n_classes, ngrams, max_features, binary)
    n_cf = bag.xt @ onehot  # (F, C)
    log_theta = torch.log(n_cf + alpha) - torch.log(n_cf.sum(0) + alpha * len(feats))
    log_prior = torch.log(onehot.mean(0))  # log 0 = −inf: a class absent in training is never predicted
    return Linear(feats, binary, log_theta, log_prior)


def logreg_objective(bag: Bag, onehot: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                     l2: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean cross-entropy + (l2 / 2) ‖W‖², and its gradient written out (autograd has no fast path
    through a sparse CSR product): ∂/∂W = xᵀ (p − onehot(y)) / N + l2 W,  ∂/∂b = Σ_n (p − onehot(y)) / N."""
    logits = bag.x @ weight + bias
    g = (torch.softmax(logits, dim=1) - onehot) / len(bag)  # ∂ mean cross-entropy / ∂ logits
    loss = F.cross_entropy(logits, onehot) + 0.5 * l2 * weight.pow(2).sum()
    return loss, bag.xt @ g + l2 * weight, g.sum(0)


def logistic_regression(train_tokens: Texts, train_labels: Sequence[int], ngrams: Sequence[int] = (1, 2),
                        max_features: int = 50_000, binary: bool = True, l2: float = 3e-3, steps: int = 100,
                        n_classes: int | None = None) -> Linear:
    """Multinomial logistic regression (definitions above): at most ``steps`` L-BFGS iterations,
    fewer once the objective moves by less than 1e-6 (on sentiment-zh: ~40 evaluations)."""
    feats, bag, onehot = _features(train_tokens, train_labels, n_classes, ngrams, max_features, binary)
    weight, bias = torch.zeros(len(feats), onehot.size(1)), torch.zeros(onehot.size(1))
    opt = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=steps, history_size=10, line_search_fn="strong_wolfe",
                            tolerance_change=1e-6)

    def closure() -> torch.Tensor:
        loss, weight.grad, bias.grad = logreg_objective(bag, onehot, weight, bias, l2)
        return loss

    with torch.no_grad():
        opt.step(closure)
    return Linear(feats, binary, weight, bias)


# -- all of them, as a run records them ----------------------------------------------------------------


def accuracy(model: Predictor, split: Split | None) -> float | None:
    """The share of a split's texts predicted right; None for no split or an empty one."""
    if split is None or not split[0]:
        return None
    texts, labels = split
    return sum(p == y for p, y in zip(model.predict(texts), labels)) / len(labels)


def fit_baselines(train: Split, val: Split | None, test: Split | None, n_classes: int) -> dict[str, BaselineResult]:
    """Majority, naive Bayes and logistic regression (both on binary uni+bigram features, the
    50,000 most frequent) fitted on ``train``: their accuracy on val and test (None where there
    is no such split), and the seconds each took."""
    texts, labels = train
    fits: dict[str, Callable[[], Predictor]] = {
        "majority": lambda: majority(labels),
        "naive_bayes": lambda: naive_bayes(texts, labels, n_classes=n_classes),
        "logreg": lambda: logistic_regression(texts, labels, n_classes=n_classes),
    }
    results: dict[str, BaselineResult] = {}
    for name, fit in fits.items():
        start = time.perf_counter()
        model = fit()
        val_acc, test_acc = accuracy(model, val), accuracy(model, test)
        results[name] = {"val_acc": val_acc, "test_acc": test_acc, "seconds": time.perf_counter() - start}
    return results
