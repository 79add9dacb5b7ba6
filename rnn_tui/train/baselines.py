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

Features: binary uni+bigrams, the 50,000 most frequent of the training texts (data/ngrams.py).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypedDict

import torch
import torch.nn.functional as F

from rnn_tui.data.ngrams import MAX_FEATURES, NGRAM_ORDERS, Bag, Ngrams, Texts
from rnn_tui.errors import RnnTuiError

Split = tuple[Texts, Sequence[int]]  # texts and their class ids


class Predictor(Protocol):
    def predict(self, texts: Texts) -> list[int]: ...


class BaselineResult(TypedDict):
    val_acc: float | None  # None: no such split (or an empty one)
    test_acc: float | None
    seconds: float  # fitting, and predicting both splits


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


def naive_bayes(train_tokens: Texts, train_labels: Sequence[int], ngrams: Sequence[int] = NGRAM_ORDERS, alpha: float = 1.0,
                max_features: int = MAX_FEATURES, binary: bool = True, n_classes: int | None = None) -> Linear:
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


def logistic_regression(train_tokens: Texts, train_labels: Sequence[int], ngrams: Sequence[int] = NGRAM_ORDERS,
                        max_features: int = MAX_FEATURES, binary: bool = True, l2: float = 3e-3, steps: int = 100,
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


def fit_baselines(train: Split, val: Split | None, test: Split | None,
                  n_classes: int) -> tuple[dict[str, BaselineResult], dict[str, Predictor]]:
    """Majority, naive Bayes and logistic regression (both on binary uni+bigram features, the
    50,000 most frequent) fitted on ``train``: their accuracy on val and test (None where there
    is no such split) and the seconds each took, and the fitted predictors themselves."""
    texts, labels = train
    fits: dict[str, Callable[[], Predictor]] = {
        "majority": lambda: majority(labels),
        "naive_bayes": lambda: naive_bayes(texts, labels, n_classes=n_classes),
        "logreg": lambda: logistic_regression(texts, labels, n_classes=n_classes),
    }
    results: dict[str, BaselineResult] = {}
    fitted: dict[str, Predictor] = {}
    for name, fit in fits.items():
        start = time.perf_counter()
        fitted[name] = model = fit()
        val_acc, test_acc = accuracy(model, val), accuracy(model, test)
        results[name] = {"val_acc": val_acc, "test_acc": test_acc, "seconds": time.perf_counter() - start}
    return results, fitted
