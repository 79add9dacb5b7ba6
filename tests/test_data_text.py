import pytest
import torch

from rnn_tui.data.text import LMBatches, TextCorpus, fit_windows, read_text
from rnn_tui.data.tokenizers import get_tokenizer
from rnn_tui.data.vocab import Vocab
from rnn_tui.errors import RnnTuiError

# -- read_text -----------------------------------------------------------------------------------


def test_read_text_strips_bom_and_normalizes_newlines(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes("\ufeffone\r\ntwo\rthree\n你好\n".encode("utf-8"))
    assert read_text(path) == "one\ntwo\nthree\n你好\n"


def test_read_text_other_encoding(tmp_path):
    path = tmp_path / "gbk.txt"
    path.write_bytes("中文文本\n".encode("gbk"))
    assert read_text(path, encoding="gbk") == "中文文本\n"


def test_undecodable_bytes_name_file_offset_and_hint(tmp_path):
    path = tmp_path / "data.txt"
    path.write_bytes(b"hello world\n" * 10 + b"bad \xff byte\n")
    with pytest.raises(RnnTuiError) as err:
        read_text(path)
    msg = str(err.value)
    assert "data.txt" in msg and "byte 124" in msg and "0xff" in msg and "--encoding" in msg
    assert "\n" not in msg
    assert read_text(path, encoding="latin-1").endswith("bad \xff byte\n")


@pytest.mark.parametrize(
    "setup, match",
    [
        (lambda d: d / "missing.txt", "no such file or folder"),
        (lambda d: (d / "e.txt").write_text(" \n\n", encoding="utf-8") and d / "e.txt", "is empty: nothing to train on"),
        (lambda d: (d / "sub").mkdir() or d / "sub", "has no .txt files"),
    ],
)
def test_read_text_errors(tmp_path, setup, match):
    with pytest.raises(RnnTuiError, match=match):
        read_text(setup(tmp_path))


def test_unknown_encoding(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("x", encoding="utf-8")
    with pytest.raises(RnnTuiError, match="unknown encoding"):
        read_text(path, encoding="utf-99")


def test_read_folder_recursively_sorted(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z.txt").write_text("third", encoding="utf-8")
    (tmp_path / "a.txt").write_text("first", encoding="utf-8")
    (tmp_path / "b" / "m.txt").write_text("second", encoding="utf-8")
    (tmp_path / "skip.md").write_text("not text", encoding="utf-8")
    assert read_text(tmp_path) == "first\nsecond\nthird"


# -- TextCorpus ----------------------------------------------------------------------------------


def test_char_corpus_vocab_order_and_ids():
    c = TextCorpus.from_text("abracadabra", val_fraction=0.0)
    assert c.vocab.itos[4:] == ["a", "b", "r", "c", "d"]  # a×5, then b r (×2) by first appearance
    assert c.vocab.decode(c.train) == list("abracadabra")
    assert c.train.dtype == torch.int16


def test_char_and_word_vocab_order_agree():
    text = "x y z y\nz q\n"
    char_order = TextCorpus.from_text(text).vocab.itos
    expected = Vocab.build(list(text)).itos
    assert char_order == expected


def test_contiguous_split():
    text = "".join(chr(ord("a") + i % 26) for i in range(1000))
    c = TextCorpus.from_text(text, val_fraction=0.1, test_fraction=0.05)
    assert (c.train.numel(), c.val.numel(), c.test.numel()) == (850, 100, 50)
    assert "".join(c.vocab.decode(torch.cat([c.train, c.val, c.test]))) == text
    assert c.n_tokens() == 1000
    assert c.vocab.decode(c.val[:1]) == [text[850]]


def test_word_corpus_round_trip_and_newlines():
    text = "the cat sat.\nthe dog sat!\n"
    c = TextCorpus.from_text(text, tokenizer="word", val_fraction=0.0)
    tokens = c.vocab.decode(c.train)
    assert tokens == get_tokenizer("word").tokenize(text)
    assert get_tokenizer("word").detokenize(tokens) == text
    assert c.vocab.itos[4:7] == ["the", "sat", "\n"]


def test_jieba_corpus():
    c = TextCorpus.from_text("我们是学生。\n我们爱学习。\n", tokenizer="jieba", val_fraction=0.0)
    assert c.vocab.itos[4] == "我们"
    assert "".join(c.vocab.decode(c.train)) == "我们是学生。\n我们爱学习。\n"


def test_given_vocab_is_reused_exactly():
    vocab = TextCorpus.from_text("abc").vocab
    c = TextCorpus.from_text("abcxyz", vocab=vocab, val_fraction=0.0)
    assert c.vocab is vocab
    assert c.vocab.decode(c.train) == ["a", "b", "c", "<unk>", "<unk>", "<unk>"]
    w = TextCorpus.from_text("the end", tokenizer="word").vocab
    c2 = TextCorpus.from_text("the new end", tokenizer="word", vocab=w, val_fraction=0.0)
    assert c2.vocab.decode(c2.train) == ["the", "<unk>", "end"]


def test_min_freq_and_max_vocab_map_rare_tokens_to_unk():
    c = TextCorpus.from_text("aaabbc", min_freq=2, val_fraction=0.0)
    assert c.vocab.itos[4:] == ["a", "b"] and c.train[-1].item() == c.vocab.unk_id
    c = TextCorpus.from_text("a a a b b c", tokenizer="word", max_vocab=1, val_fraction=0.0)
    assert c.vocab.itos[4:] == ["a"]


def test_large_char_text_is_compact():
    line = "The quick brown fox jumps over the lazy dog; 敏捷的棕色狐狸跳过了懒狗。\n"
    text = line * (20_000_000 // len(line))
    c = TextCorpus.from_text(text)
    assert c.n_tokens() == len(text)
    assert c.train.element_size() <= 2
    assert len(c.vocab) == 4 + len(set(line))
    assert c.vocab.decode(c.val[-len(line):]) == list(line)


def test_bad_fractions():
    with pytest.raises(RnnTuiError, match="fraction"):
        TextCorpus.from_text("abc", val_fraction=0.6, test_fraction=0.5)


# -- LMBatches -----------------------------------------------------------------------------------


def test_sequential_batches_continue_row_by_row():
    data = torch.arange(1000, dtype=torch.int32)
    b = LMBatches(data, batch=4, seq_len=10, scheme="sequential")
    assert b.stateful and len(b) == (999 // 4) // 10
    prev_x, _ = b.get(0, 0)
    for i in range(1, len(b)):
        x, y = b.get(0, i)
        assert x.shape == (4, 10) and x.dtype == torch.int64
        assert torch.equal(y, x + 1)
        assert torch.equal(x[:, 0], prev_x[:, -1] + 1)  # row r continues exactly
        prev_x = x
    assert torch.equal(b.get(0, 3)[0], b.get(7, 3)[0])


def test_random_batches_cover_each_chunk_once_per_epoch():
    data = torch.arange(1000, dtype=torch.int32)
    b = LMBatches(data, batch=4, seq_len=10, scheme="random", seed=1)
    assert not b.stateful
    epochs = []
    for epoch in range(3):
        starts = []
        for i in range(len(b)):
            x, y = b.get(epoch, i)
            assert x.shape == (4, 10) and torch.equal(y, x + 1)
            assert torch.equal(x, x[:, :1] + torch.arange(10))  # contiguous chunks
            starts += x[:, 0].tolist()
        assert len(starts) == len(set(starts)) == len(b) * 4
        offset = min(starts)
        assert 0 <= offset < 10 and sorted(starts) == list(range(offset, offset + 10 * len(starts), 10))
        epochs.append(starts)
    assert epochs[0] != epochs[1] != epochs[2]
    again = LMBatches(data, batch=4, seq_len=10, scheme="random", seed=1)
    assert torch.equal(again.get(1, 5)[0], b.get(1, 5)[0])  # same (seed, epoch, i): same batch
    assert torch.equal(b.get(1, 5)[0], b.get(1, 5)[0])
    other = LMBatches(data, batch=4, seq_len=10, scheme="random", seed=2)
    assert not torch.equal(other.get(1, 5)[0], b.get(1, 5)[0])


def test_same_number_of_batches_every_epoch_and_random_offsets():
    b = LMBatches(torch.arange(1234), batch=3, seq_len=7, scheme="random")
    offsets = {min(b.get(e, i)[0][:, 0].min().item() for i in range(len(b))) for e in range(30)}
    assert len(offsets) > 3  # the offset really moves
    for e in range(30):
        assert b.get(e, len(b) - 1)[1].max() < 1234


def test_tiny_data_exactly_enough():
    for scheme in ("sequential", "random"):
        b = LMBatches(torch.arange(21), batch=2, seq_len=10, scheme=scheme)
        assert len(b) == 1
        x, y = b.get(0, 0)
        assert sorted(x.flatten().tolist()) == list(range(20)) and torch.equal(y, x + 1)


def test_too_small_data_error():
    with pytest.raises(RnnTuiError, match=r"dataset too small: 20 tokens for batch 2 × seq-len 10; lower --batch or --seq-len"):
        LMBatches(torch.arange(20), batch=2, seq_len=10)
    with pytest.raises(RnnTuiError, match="dataset too small"):
        LMBatches(torch.arange(20), batch=2, seq_len=10, scheme="sequential")


def test_a_folder_with_too_many_text_files_is_one_line(tmp_path, monkeypatch):
    from rnn_tui.data import datafile

    for i in range(4):
        (tmp_path / f"{i}.txt").write_text("hello\n", encoding="utf-8")
    assert len(datafile.text_files(tmp_path)) == 4
    monkeypatch.setattr(datafile, "MAX_FILES", 3)
    with pytest.raises(RnnTuiError, match=r"holds more than 3 \.txt files; point --data at a smaller folder"):
        datafile.text_files(tmp_path)


@pytest.mark.parametrize("n_train, n_val, asked, keep, used", [
    (10_000, 1_000, (32, 100), {}, (32, 100)),  # it fits: nothing changes
    (1_620, 180, (32, 100), {}, (16, 100)),  # the BPTT length fits the validation part: the batch shrinks
    (811, 90, (32, 100), {}, (9, 89)),  # the validation part holds one window of 89 + 1 tokens
    (811, 90, (32, 100), {"keep_batch": True}, (32, 25)),  # a kept batch: the BPTT length shrinks to fit it
    (811, 0, (32, 100), {"keep_seq_len": True}, (8, 100)),  # a kept BPTT length: the batch shrinks
    (811, 90, (32, 100), {"keep_batch": True, "keep_seq_len": True}, (32, 100)),  # both kept: LMBatches refuses
])
def test_fit_windows_shrinks_what_is_not_kept(n_train, n_val, asked, keep, used):
    assert fit_windows(n_train, n_val, *asked, **keep) == used
    text = torch.zeros(n_train, dtype=torch.int16)
    if len(keep) == 2:
        with pytest.raises(RnnTuiError, match="dataset too small: 811 tokens for batch 32 × seq-len 100"):
            LMBatches(text, *used)
    else:
        assert len(LMBatches(text, *used)) >= 1
