from collections import Counter

import pytest

from rnn_tui.data.vocab import BOS, EOS, PAD, UNK, Vocab
from rnn_tui.errors import RnnTuiError


def test_specials_have_fixed_ids():
    v = Vocab.build(["x"])
    assert v.itos[:4] == [PAD, UNK, BOS, EOS]
    assert (v.pad_id, v.unk_id, v.bos_id, v.eos_id) == (0, 1, 2, 3)
    assert v.stoi["x"] == 4 and len(v) == 5


def test_order_is_frequency_then_first_appearance():
    v = Vocab.build(["c", "b", "a", "b", "a", "d"])
    assert v.itos[4:] == ["b", "a", "c", "d"]
    # a Counter built in a different order gives the order of its own insertion for ties
    v2 = Vocab.build(Counter({"z": 2, "y": 2, "x": 5}))
    assert v2.itos[4:] == ["x", "z", "y"]


def test_min_freq_and_max_size():
    tokens = ["a", "a", "a", "b", "b", "c"]
    assert Vocab.build(tokens, min_freq=2).itos[4:] == ["a", "b"]
    assert Vocab.build(tokens, max_size=1).itos[4:] == ["a"]
    assert Vocab.build(tokens, max_size=0).itos[4:] == ["a", "b", "c"]


def test_specials_in_counts_are_not_duplicated():
    v = Vocab.build(["<unk>", "a", "<pad>"])
    assert v.itos == [PAD, UNK, BOS, EOS, "a"]


def test_encode_decode_and_unknown():
    v = Vocab.build(["hello", "world"])
    ids = v.encode(["world", "nope", "hello"])
    assert ids == [v.stoi["world"], v.unk_id, v.stoi["hello"]]
    assert v.decode(ids) == ["world", UNK, "hello"]
    assert v.decode([99, -1]) == [UNK, UNK]
    assert "hello" in v and "nope" not in v


def test_invalid_itos_raises_value_error():
    with pytest.raises(ValueError):
        Vocab(["a", "b"])
    with pytest.raises(ValueError, match="duplicate"):
        Vocab([PAD, UNK, BOS, EOS, "a", "a"])


def test_save_load_round_trip_keeps_chinese_readable(tmp_path):
    v = Vocab.build(["你好", "世界", "hello", "你好"])
    path = tmp_path / "vocab.json"
    v.save(path)
    assert "你好" in path.read_text(encoding="utf-8")
    w = Vocab.load(path)
    assert w.itos == v.itos and w.stoi == v.stoi
    assert Vocab.from_json(v.to_json()).itos == v.itos


def test_load_bad_file_is_one_line_error(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"nope": 1}', encoding="utf-8")
    with pytest.raises(RnnTuiError, match="not a vocabulary"):
        Vocab.load(path)
    with pytest.raises(RnnTuiError, match="cannot read"):
        Vocab.load(tmp_path / "missing.json")
