import json

import torch

from rnn_tui.data.pairs import read_pairs
from rnn_tui.data.series import Series
from rnn_tui.data.stats import describe_pairs, describe_series, describe_text, histogram
from rnn_tui.data.text import TextCorpus

TEXT = "the cat sat on the mat.\n\nthe dog ran!\n" + "x " * 300 + "\n"


def test_describe_text_char():
    info = describe_text(TEXT, top=3, sample_lines=2)
    json.dumps(info)
    assert info["kind"] == "text" and info["tokenizer"] == "char"
    assert info["chars"] == len(TEXT) == info["tokens"]
    assert info["lines"] == 4
    assert info["vocab_size"] == 4 + len(set(TEXT))
    assert info["top_tokens"][0] == [" ", TEXT.count(" ")]
    assert len(info["top_tokens"]) == 3
    assert info["samples"] == ["the cat sat on the mat.", "the dog ran!"]
    assert info["split"] == {"train": len(TEXT) - len(TEXT) // 10, "val": len(TEXT) // 10, "test": 0}
    assert sum(info["length_histogram"]["counts"]) == 3  # the blank line is not counted


def test_describe_text_word_matches_corpus():
    info = describe_text(TEXT, tokenizer="word", val_fraction=0.2, test_fraction=0.1)
    corpus = TextCorpus.from_text(TEXT, tokenizer="word", val_fraction=0.2, test_fraction=0.1)
    assert info["tokens"] == corpus.n_tokens()
    assert info["vocab_size"] == len(corpus.vocab)
    assert info["split"] == {"train": corpus.train.numel(), "val": corpus.val.numel(), "test": corpus.test.numel()}
    assert info["top_tokens"][0] == ["x", 300]


def test_samples_are_truncated():
    info = describe_text("y" * 500 + "\n")
    assert info["samples"] == ["y" * 200]


def test_histogram_bins():
    h = histogram([1, 2, 3, 50, 100])
    assert len(h["bins"]) == len(h["counts"]) + 1 and sum(h["counts"]) == 5
    assert h["bins"][0] == 1 and h["bins"][-1] > 100 and 5 <= len(h["counts"]) <= 10
    assert histogram([7, 7]) == {"bins": [7, 8], "counts": [2]}
    assert histogram([]) == {"bins": [], "counts": []}


def test_describe_pairs(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("Hi .\t你好。\tattr\nbroken line\nHi there .\t你好啊。\n", encoding="utf-8")
    info = describe_pairs(read_pairs(path), top=2, sample_lines=1)
    json.dumps(info)
    assert info["pairs"] == 2 and info["skipped"] == 1 and info["first_skipped"] == [2]
    assert info["source"]["top_tokens"][:2] == [["Hi", 2], [".", 2]]
    assert info["source"]["vocab_size"] == 4 + 3 and info["target"]["vocab_size"] == 4 + 4
    assert info["target"]["tokens"] == 7
    assert info["samples"] == [["Hi .", "你好。"]]


def test_describe_series():
    info = describe_series(Series("y", torch.tensor([1.0, 2.0, 3.0, 4.0])))
    json.dumps(info)
    assert info["length"] == 4 and info["min"] == 1 and info["max"] == 4 and info["mean"] == 2.5
    assert abs(info["std"] - 1.118034) < 1e-5
    assert info["first_values"] == [1.0, 2.0, 3.0, 4.0]
