import pytest
import torch

from rnn_tui.data.pairs import PairBatches, PairCorpus, pad_batch, read_pairs
from rnn_tui.errors import RnnTuiError

ATTR = "CC-BY 2.0 (France) Attribution: tatoeba.org #2877272 (CM) & #332435 (fucongcong)"


@pytest.fixture
def tatoeba(tmp_path):
    lines = [
        f"Hi.\t嗨。\t{ATTR}",
        f"Run!\t你用跑的。\t{ATTR}",
        "",
        f"Wait!    等等！\t{ATTR}",  # spaces instead of the first tab, as in Tatoeba's cmn.txt: skipped
        f"I won!\t我赢了。\t{ATTR}",
        "\t只有中文",  # empty source: skipped
        "Help!\t帮我一下。",  # no attribution column: fine
        "",
    ]
    path = tmp_path / "cmn.txt"
    path.write_bytes(("\ufeff" + "\r\n".join(lines)).encode("utf-8"))
    return path


def test_read_pairs_tatoeba_format(tatoeba):
    pf = read_pairs(tatoeba)
    assert pf.pairs == [("Hi.", "嗨。"), ("Run!", "你用跑的。"), ("I won!", "我赢了。"), ("Help!", "帮我一下。")]
    assert pf.skipped == 2 and pf.first_skipped == [4, 6]


def test_read_pairs_reverse(tatoeba):
    assert read_pairs(tatoeba, reverse=True).pairs[0] == ("嗨。", "Hi.")


def test_first_skipped_keeps_five(tmp_path):
    path = tmp_path / "p.tsv"
    path.write_text("a\tb\n" + "broken\n" * 8, encoding="utf-8")
    pf = read_pairs(path)
    assert pf.skipped == 8 and pf.first_skipped == [2, 3, 4, 5, 6]


def test_no_pairs_and_bad_files(tmp_path):
    path = tmp_path / "spaces.txt"
    path.write_text("Hi.    嗨。\nRun!    跑。\n", encoding="utf-8")
    with pytest.raises(RnnTuiError, match="no sentence pairs"):
        read_pairs(path)
    with pytest.raises(RnnTuiError, match="no such file"):
        read_pairs(tmp_path / "missing.tsv")
    (tmp_path / "empty.tsv").write_text("\n", encoding="utf-8")
    with pytest.raises(RnnTuiError, match="is empty"):
        read_pairs(tmp_path / "empty.tsv")
    (tmp_path / "latin.tsv").write_bytes(b"caf\xe9\tcoffee\n")
    with pytest.raises(RnnTuiError, match=r"byte 3 \(0xe9\)"):
        read_pairs(tmp_path / "latin.tsv")
    assert read_pairs(tmp_path / "latin.tsv", encoding="latin-1").pairs == [("café", "coffee")]


def make_pairs(n):
    return [(f"I have {i} cats .", "我有" + "猫" * (i % 7 + 1) + "。") for i in range(n)]


def test_pair_corpus_split_and_vocabs():
    c = PairCorpus.from_pairs(make_pairs(100), val_fraction=0.1, test_fraction=0.1, seed=3)
    assert (len(c.train), len(c.val), len(c.test)) == (80, 10, 10)
    assert c.src_vocab.itos[4:6] == ["I", "have"] and "猫" in c.tgt_vocab
    src, tgt = c.train[0]
    assert c.src_vocab.decode(src)[:2] == ["I", "have"] and c.tgt_vocab.decode(tgt)[-1] == "。"
    again = PairCorpus.from_pairs(make_pairs(100), val_fraction=0.1, test_fraction=0.1, seed=3)
    assert again.train == c.train
    other = PairCorpus.from_pairs(make_pairs(100), val_fraction=0.1, test_fraction=0.1, seed=4)
    assert other.val != c.val


def test_vocab_comes_from_training_pairs():
    c = PairCorpus.from_pairs(make_pairs(50), val_fraction=0.2, seed=0)
    assert all(c.src_vocab.unk_id not in s for s, _ in c.train)
    assert all(s[2] == c.src_vocab.unk_id for s, _ in c.val)  # each val number is unseen in training


def test_max_src_words_and_lowercase():
    pairs = [("Hello, World!", "你好"), ("a very long source sentence indeed", "长")]
    # words are tokens with a letter or digit: "Hello , World !" is two words
    c = PairCorpus.from_pairs(pairs, max_src_words=2, val_fraction=0.0, lowercase_src=True)
    assert len(c.train) == 1 and c.src_vocab.decode(c.train[0][0]) == ["hello", ",", "world", "!"]
    with pytest.raises(RnnTuiError, match="--max-src-words"):
        PairCorpus.from_pairs(pairs, max_src_words=1)


def test_test_size_is_exact_and_fixed_by_the_seed():
    c = PairCorpus.from_pairs(make_pairs(200), val_fraction=0.1, test_size=37, seed=5)
    assert (len(c.test), len(c.val), len(c.train)) == (37, 16, 147)
    assert len(c.test_text) == 37 and c.test_text[0][0].startswith("I have ")
    train_sources = {" ".join(c.src_vocab.decode(s)) for s, _ in c.train + c.val}
    assert not train_sources & {src for src, _ in c.test_text}  # held out: never trained or validated on
    # the test split depends on the seed and data only, not on the validation fraction
    other = PairCorpus.from_pairs(make_pairs(200), val_fraction=0.3, test_size=37, seed=5)
    assert other.test_text == c.test_text
    with pytest.raises(RnnTuiError, match="--test-size"):
        PairCorpus.from_pairs(make_pairs(10), test_size=10)


def test_pair_batches_cover_an_epoch_deterministically():
    c = PairCorpus.from_pairs(make_pairs(300), val_fraction=0.0, seed=0)
    batches = PairBatches(c.train, batch=16, seed=2)
    assert len(batches) == 19
    seen = []
    for i in range(len(batches)):
        b = batches.get(0, i)
        assert b.tgt_in[:, 0].eq(2).all()  # <bos> first
        assert b.tokens == int(b.tgt_out.ne(0).sum())  # target + <eos>, pads not counted
        lengths = b.src_len.tolist()
        seen += [tuple(b.src[k, :n].tolist()) for k, n in enumerate(lengths)]
    assert sorted(seen) == sorted(tuple(s) for s, _ in c.train)  # every pair once per epoch
    again = PairBatches(c.train, batch=16, seed=2)
    assert torch.equal(again.get(0, 5).src, batches.get(0, 5).src)
    assert not torch.equal(batches.get(1, 5).src, batches.get(0, 5).src)  # a new epoch reshuffles


def test_pad_batch_with_bos_eos():
    ids, lengths, mask = pad_batch([[5, 6, 7], [8], []], pad_id=0, bos_id=2, eos_id=3)
    assert ids.tolist() == [[2, 5, 6, 7, 3], [2, 8, 3, 0, 0], [2, 3, 0, 0, 0]]
    assert lengths.tolist() == [5, 3, 2] and ids.dtype == lengths.dtype == torch.int64
    assert mask.dtype == torch.bool and mask.sum().item() == 10
    assert torch.equal(mask, ids != 0)


def test_pad_batch_plain():
    ids, lengths, mask = pad_batch([[4], [4, 5]], pad_id=0)
    assert ids.tolist() == [[4, 0], [4, 5]] and lengths.tolist() == [1, 2]
    assert mask.tolist() == [[True, False], [True, True]]
