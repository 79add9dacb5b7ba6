"""Classification metrics against cases worked out by hand (scikit-learn is not installed here;
the expected numbers are what its zero_division=0, labels=range(n) definitions give)."""

from __future__ import annotations

import random

import pytest

from rnn_tui.decode.metrics import accuracy, accuracy_by_length, confusion, macro_f1, per_class


def _close(a: float, b: float) -> bool:
    return abs(a - b) < 1e-12


def test_three_classes_by_hand() -> None:
    c = confusion([0, 0, 0, 1, 1, 2], [0, 1, 0, 1, 2, 2], 3)
    assert c == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert _close(accuracy(c), 4 / 6)
    want = [(1.0, 2 / 3, 0.8, 3), (0.5, 0.5, 0.5, 2), (0.5, 1.0, 2 / 3, 1)]
    for got, (p, r, f, n) in zip(per_class(c), want):
        assert _close(got["precision"], p) and _close(got["recall"], r) and _close(got["f1"], f) and got["support"] == n
    assert _close(macro_f1(c), (0.8 + 0.5 + 2 / 3) / 3)


def test_a_class_never_predicted_scores_zero_not_an_error() -> None:
    c = confusion([0, 1, 1], [0, 0, 0], 2)
    assert c == [[1, 0], [2, 0]]
    first, second = per_class(c)
    assert _close(first["precision"], 1 / 3) and first["recall"] == 1.0 and _close(first["f1"], 0.5)
    assert second == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2}
    assert _close(macro_f1(c), 0.25) and _close(accuracy(c), 1 / 3)


def test_a_class_predicted_but_absent_and_one_absent_from_both() -> None:
    c = confusion([0, 0], [0, 1], 3)
    first, second, third = per_class(c)
    assert _close(first["f1"], 2 / 3) and first["precision"] == 1.0 and first["recall"] == 0.5
    assert second == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}  # one false positive
    assert third == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}  # never seen: F1 = 0, in the mean
    assert _close(macro_f1(c), (2 / 3) / 3)
    perfect = confusion([0, 1], [0, 1], 3)
    assert accuracy(perfect) == 1.0 and _close(macro_f1(perfect), 2 / 3)


def test_agrees_with_the_definitions_on_random_labels() -> None:
    rng = random.Random(0)
    for n in (2, 3, 7):
        y = [rng.randrange(n) for _ in range(200)]
        p = [t if rng.random() < 0.6 else rng.randrange(n) for t in y]
        c = confusion(y, p, n)
        assert sum(map(sum, c)) == 200 and _close(accuracy(c), sum(a == b for a, b in zip(y, p)) / 200)
        scores = per_class(c)
        assert [s["support"] for s in scores] == [y.count(k) for k in range(n)]
        for k, s in enumerate(scores):
            tp = sum(a == b == k for a, b in zip(y, p))
            assert _close(s["precision"], tp / p.count(k)) and _close(s["recall"], tp / y.count(k))
            assert _close(s["f1"], 2 * s["precision"] * s["recall"] / (s["precision"] + s["recall"]))
        assert _close(macro_f1(c), sum(s["f1"] for s in scores) / n)


def test_no_examples_and_bad_input() -> None:
    c = confusion([], [], 2)
    assert c == [[0, 0], [0, 0]] and accuracy(c) == 0.0 and macro_f1(c) == 0.0
    with pytest.raises(ValueError, match="3 true labels but 2 predictions"):
        confusion([0, 1, 1], [0, 1], 2)
    with pytest.raises(ValueError, match=r"outside 0\.\.1"):
        confusion([0, 2], [0, 1], 2)


def test_accuracy_by_length_cuts_equal_buckets_and_keeps_a_length_whole() -> None:
    lengths = [1, 2, 3, 4, 5, 6, 7, 8]
    true = [0, 0, 0, 0, 1, 1, 1, 1]
    pred = [0, 0, 0, 0, 1, 0, 0, 1]  # right on the short half, half right on the long half
    assert accuracy_by_length(lengths, true, pred, buckets=2) == [
        {"lo": 1, "hi": 4, "texts": 4, "accuracy": 1.0}, {"lo": 5, "hi": 8, "texts": 4, "accuracy": 0.5}]
    same = accuracy_by_length([3, 3, 3, 9], [0, 0, 0, 0], [0, 1, 0, 0], buckets=2)  # the cut would split length 3
    assert same == [{"lo": 3, "hi": 3, "texts": 3, "accuracy": 2 / 3}, {"lo": 9, "hi": 9, "texts": 1, "accuracy": 1.0}]
    assert accuracy_by_length([5, 5], [0, 1], [0, 0]) == [{"lo": 5, "hi": 5, "texts": 2, "accuracy": 0.5}]
    assert accuracy_by_length([], [], []) == []
    with pytest.raises(ValueError, match="2 lengths, 1 true labels"):
        accuracy_by_length([1, 2], [0], [0])
