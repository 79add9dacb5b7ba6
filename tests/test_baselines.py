"""The baselines: n-gram features by hand, naive Bayes against its formula, logistic regression at
a stationary point of its objective, both learning a generated task, deterministic fits."""

from __future__ import annotations

import math
import random

import pytest
import torch
import torch.nn.functional as F

from rnn_tui.data.ngrams import Ngrams
from rnn_tui.errors import RnnTuiError
from rnn_tui.train.baselines import (
    Linear,
    accuracy,
    fit_baselines,
    logistic_regression,
    logreg_objective,
    majority,
    naive_bayes,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

WORDS = "the a film plot actor was is very quite rather long short music scene story ending".split()


def _reviews(n: int, seed: int) -> tuple[list[list[str]], list[int]]:
    """Label 1 iff the word "good" occurs: a bag-of-words task (~40% positive)."""
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(n):
        words = [rng.choice(WORDS) for _ in range(rng.randint(3, 12))]
        if rng.random() < 0.4:
            words.insert(rng.randrange(len(words) + 1), "good")
        texts.append(words)
        labels.append(int("good" in words))
    return texts, labels


def _dense(feats: Ngrams, texts, binary: bool) -> torch.Tensor:
    return feats.bag(texts, binary).x.to_dense()


def test_ngram_features_by_hand() -> None:
    train = [["a", "b", "a"], ["c", "b"]]
    feats = Ngrams(train, (1, 2), max_features=0)
    assert len(feats) == 3 + 3  # a b c, ab ba cb: no bigram across two texts (a·c at the seam)
    assert _dense(feats, [["a", "c"]], binary=False).sum().item() == 2  # a, c: a·c is no feature
    x = _dense(feats, [["a", "b", "a", "b"], ["z", "c"], []], binary=False)
    assert x.shape == (3, 6) and x.sum(1).tolist() == [4 + 3, 1, 0]  # a,b,a,b + ab,ba,ab; c (z and z·c unseen)
    assert _dense(feats, [["a", "b", "a", "b"]], binary=True).sum().item() == 4  # a, b, ab, ba once each
    # the xᵀ kept for fast products is the transpose of x
    bag = feats.bag(train, binary=False)
    assert torch.equal(bag.xt.to_dense(), bag.x.to_dense().T)
    assert torch.equal(bag.x.to_dense().sum(0).sort().values, torch.tensor([1.0, 1, 1, 1, 2, 2]))  # a, b twice
    # the cap keeps the most frequent n-grams: a and b (twice each; every other once)
    capped = Ngrams(train, (1, 2), max_features=2)
    assert len(capped) == 2 and _dense(capped, [["a"], ["b"], ["c"], ["a", "b"]], True).sum(1).tolist() == [1, 1, 0, 2]
    trigram = Ngrams([["x", "y", "z", "x", "y", "z"]], (3,), 0)  # xyz twice, yzx, zxy
    assert len(trigram) == 3 and float(_dense(trigram, [["x", "y", "z", "x", "y", "z"]], False).max()) == 2
    assert _dense(trigram, [["x", "y", "z"], ["x", "y"]], False).sum(1).tolist() == [1, 0]
    with pytest.raises(RnnTuiError, match="n-gram orders"):
        Ngrams(train, (0, 1))


def test_naive_bayes_is_its_formula() -> None:
    texts, labels = [["a"], ["a", "b"]], [0, 1]
    nb = naive_bayes(texts, labels, ngrams=(1,), alpha=1.0, binary=False)
    a, b = (int(_dense(nb.ngrams, [[t]], False)[0].argmax()) for t in "ab")
    # θ_0 = (1+1)/(1+2), (0+1)/(1+2);  θ_1 = (1+1)/(2+2), (1+1)/(2+2);  π = 1/2, 1/2
    want = torch.tensor([[math.log(2 / 3), math.log(1 / 2)], [math.log(1 / 3), math.log(1 / 2)]])
    assert torch.allclose(nb.weight[[a, b]], want) and torch.allclose(nb.bias, torch.log(torch.tensor([0.5, 0.5])))
    assert nb.predict([["a"], ["b"], ["a", "a", "b"], []]) == [0, 1, 0, 0]  # 2·log(2/3)+log(1/3) > 3·log(1/2)
    # a class with no training texts is never predicted
    assert set(naive_bayes(texts, labels, ngrams=(1,), n_classes=3).predict([["a"], ["b"], ["q"]])) <= {0, 1}


def test_logistic_regression_gradient_is_autograds() -> None:
    """The objective's gradient is written out by hand (sparse products): autograd must agree,
    and the fit must end where it is ≈ 0."""
    texts, labels = _reviews(200, seed=1)
    l2 = 1e-2
    feats = Ngrams(texts)
    bag = feats.bag(texts, binary=True)
    onehot = F.one_hot(torch.tensor(labels), 3).float()  # with an empty class as well
    torch.manual_seed(0)
    for scale in (0.0, 0.5):
        w = (torch.randn(len(feats), 3) * scale).requires_grad_()
        b = (torch.randn(3) * scale).requires_grad_()
        loss, grad_w, grad_b = logreg_objective(bag, onehot, w.detach(), b.detach(), l2)
        x = bag.x.to_dense()
        want = F.cross_entropy(x @ w + b, torch.tensor(labels)) + 0.5 * l2 * w.pow(2).sum()
        want.backward()
        assert abs(float(loss) - float(want.detach())) < 1e-5
        assert torch.allclose(grad_w, w.grad, atol=1e-6) and torch.allclose(grad_b, b.grad, atol=1e-6)
    lr = logistic_regression(texts, labels, l2=l2, n_classes=3)
    _, grad_w, grad_b = logreg_objective(lr.ngrams.bag(texts, True), onehot, lr.weight, lr.bias, l2)
    start = logreg_objective(bag, onehot, torch.zeros(len(feats), 3), torch.zeros(3), l2)[1]
    assert float(grad_w.abs().max()) < 1e-3 * float(start.abs().max()) and float(grad_b.abs().max()) < 1e-3
    assert float(lr.weight.abs().max()) > 0.1  # and it did move


def test_the_bag_of_words_baselines_learn_and_majority_does_not() -> None:
    train, val = _reviews(600, seed=2), _reviews(300, seed=3)
    nb, lr = naive_bayes(*train), logistic_regression(*train)
    assert accuracy(nb, val) >= 0.95 and accuracy(lr, val) >= 0.95
    maj = majority(train[1])
    assert maj.label == 0 and accuracy(maj, val) == val[1].count(0) / len(val[1]) < 0.75
    assert majority([2, 1, 1, 2]).label == 1  # a tie goes to the lowest class id


def test_fit_baselines_records_each_and_is_deterministic() -> None:
    train, val, test = _reviews(400, seed=4), _reviews(100, seed=5), _reviews(100, seed=6)
    first, fitted = fit_baselines(train, val, test, n_classes=2)
    assert list(first) == list(fitted) == ["majority", "naive_bayes", "logreg"]
    for result in first.values():
        assert set(result) == {"val_acc", "test_acc", "seconds"} and result["seconds"] >= 0
    assert first["naive_bayes"]["val_acc"] == accuracy(naive_bayes(*train), val)
    assert first["logreg"]["test_acc"] == accuracy(logistic_regression(*train), test)
    assert first["majority"]["test_acc"] == test[1].count(0) / 100
    no_test = fit_baselines(train, val, None, n_classes=2)[0]
    assert all(r["test_acc"] is None for r in no_test.values())
    assert {k: r["val_acc"] for k, r in no_test.items()} == {k: r["val_acc"] for k, r in first.items()}
    a, b = logistic_regression(*train), logistic_regression(*train)
    assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)
    assert isinstance(fitted["logreg"], Linear) and torch.equal(fitted["logreg"].weight, a.weight)
    assert fit_baselines(train, ([], []), None, 2)[0]["logreg"]["val_acc"] is None


def test_no_training_data_is_one_clear_error() -> None:
    for fit in (lambda: majority([]), lambda: naive_bayes([], []), lambda: logistic_regression([["a"]], [])):
        with pytest.raises(RnnTuiError, match="training"):
            fit()
