"""Classification metrics from a confusion matrix (plain Python; scikit-learn's definitions), and
forecast errors (``forecast_scores``, at the end).

For n classes 0..n−1 and examples with true class y and predicted class ŷ:

    C[i][j]      = #{examples with y = i and ŷ = j}            (rows: truth, columns: prediction)
    tp_k         = C[k][k]
    fp_k         = Σ_i C[i][k] − tp_k      predicted k, truly another class
    fn_k         = Σ_j C[k][j] − tp_k      truly k, predicted another class
    support_k    = Σ_j C[k][j]             examples truly of class k
    precision_k  = tp_k / (tp_k + fp_k)    0 when class k is never predicted
    recall_k     = tp_k / support_k        0 when class k has no examples
    F1_k         = 2 tp_k / (2 tp_k + fp_k + fn_k)    (= 2PR / (P + R)); 0 when the class is
                   neither predicted nor present
    accuracy     = Σ_k tp_k / Σ_ij C[i][j]
    macro-F1     = (1/n) Σ_k F1_k          every class counts equally, whatever its size

The zeros are scikit-learn's ``zero_division=0``, and macro-F1 is
``f1_score(y, ŷ, labels=range(n), average="macro", zero_division=0)``: a class absent from both
the truth and the predictions counts with F1 = 0 (scikit-learn's default labels would leave it
out of the mean).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypedDict

from rnn_tui.results import ForecastScores

Confusion = list[list[int]]  # C[true][predicted]


class ClassScores(TypedDict):
    precision: float
    recall: float
    f1: float
    support: int


def confusion(y_true: list[int], y_pred: list[int], n: int) -> Confusion:
    """The n × n confusion matrix C[true][predicted] of paired labels in 0..n−1."""
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} true labels but {len(y_pred)} predictions")
    matrix = [[0] * n for _ in range(n)]
    for t, p in zip(y_true, y_pred):
        if not (0 <= t < n and 0 <= p < n):
            raise ValueError(f"a label outside 0..{n - 1}: true {t}, predicted {p}")
        matrix[t][p] += 1
    return matrix


def accuracy(c: Confusion) -> float:
    """The share of examples predicted right (0.0 with no examples)."""
    total = sum(map(sum, c))
    return sum(c[k][k] for k in range(len(c))) / total if total else 0.0


def per_class(c: Confusion) -> list[ClassScores]:
    """Precision, recall, F1 and support of each class, in class order (definitions above)."""
    scores: list[ClassScores] = []
    for k in range(len(c)):
        tp = c[k][k]
        predicted = sum(row[k] for row in c)
        support = sum(c[k])
        fp, fn = predicted - tp, support - tp
        scores.append({
            "precision": tp / predicted if predicted else 0.0,
            "recall": tp / support if support else 0.0,
            "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0,
            "support": support,
        })
    return scores


def macro_f1(c: Confusion) -> float:
    """The mean over all n classes of F1_k (0.0 with no classes)."""
    return sum(s["f1"] for s in per_class(c)) / len(c) if c else 0.0


class LengthBucket(TypedDict):
    lo: int  # the shortest and longest text of the bucket, in tokens
    hi: int
    texts: int
    accuracy: float


def accuracy_by_length(lengths: list[int], y_true: list[int], y_pred: list[int], buckets: int = 4) -> list[LengthBucket]:
    """Accuracy within length buckets of about equal size (the texts sorted by length, cut into
    ``buckets`` runs; texts of one length stay in one bucket), shortest first: where a model's
    memory gives out shows as the accuracy of the longest bucket."""
    if not len(lengths) == len(y_true) == len(y_pred):
        raise ValueError(f"{len(lengths)} lengths, {len(y_true)} true labels, {len(y_pred)} predictions")
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    result: list[LengthBucket] = []
    start = 0
    for b in range(buckets):
        end = round(len(order) * (b + 1) / buckets)
        while 0 < end < len(order) and lengths[order[end]] == lengths[order[end - 1]]:
            end += 1  # keep a length in one bucket
        if end <= start:
            continue
        part = order[start:end]
        right = sum(y_true[i] == y_pred[i] for i in part)
        result.append({"lo": lengths[part[0]], "hi": lengths[part[-1]], "texts": len(part), "accuracy": right / len(part)})
        start = end
    return result


# -- forecasts ---------------------------------------------------------------------------------------


def forecast_scores(y_true: Sequence[float], y_pred: Sequence[float]) -> ForecastScores:
    """For n pairs (y, ŷ) with e = ŷ − y:

        MSE  = (1/n) Σ e²        RMSE = √MSE        MAE = (1/n) Σ |e|
        MAPE = (100/n) Σ |e| / |y|                          when no y is 0, else
        sMAPE = (100/n) Σ 2 |e| / (|y| + |ŷ|)               (a term with y = ŷ = 0 counts 0)
    """
    if len(y_true) != len(y_pred) or not y_true:
        raise ValueError(f"{len(y_true)} true values but {len(y_pred)} forecasts; need the same number, at least one")
    n = len(y_true)
    errors = [p - t for t, p in zip(y_true, y_pred)]
    mse = sum(e * e for e in errors) / n
    scores: ForecastScores = {"rmse": math.sqrt(mse), "mse": mse, "mae": sum(abs(e) for e in errors) / n}
    if all(t != 0 for t in y_true):
        scores["mape"] = 100 * sum(abs(e) / abs(t) for t, e in zip(y_true, errors)) / n
    else:
        scores["smape"] = 100 * sum(2 * abs(e) / (abs(t) + abs(p)) if abs(t) + abs(p) else 0.0
                                    for t, p, e in zip(y_true, y_pred, errors)) / n
    return scores
