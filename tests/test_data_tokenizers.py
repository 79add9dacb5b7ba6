import pytest

from rnn_tui.data.tokenizers import get_tokenizer, join_tokens
from rnn_tui.errors import RnnTuiError

ENGLISH = 'He said, "Hello (world)!" Then he left; it\'s 3.14 o\'clock, isn\'t it?'


def test_char_keeps_every_character():
    tok = get_tokenizer("char")
    text = "a b\n你好\t!"
    assert tok.tokenize(text) == ["a", " ", "b", "\n", "你", "好", "\t", "!"]
    assert tok.detokenize(tok.tokenize(text)) == text
    assert tok.name == "char"


def test_word_splits_words_numbers_and_punctuation():
    tokens = get_tokenizer("word").tokenize(ENGLISH)
    assert tokens[:4] == ["He", "said", ",", '"']
    assert "it's" in tokens and "isn't" in tokens and "3.14" in tokens and "o'clock" in tokens
    assert "(" in tokens and ")" in tokens and tokens[-1] == "?"
    assert " " not in tokens


def test_word_keeps_newlines_and_drops_other_whitespace():
    tokens = get_tokenizer("word").tokenize("one  two\tthree\n\nfour\n")
    assert tokens == ["one", "two", "three", "\n", "\n", "four", "\n"]


@pytest.mark.parametrize("name", ["word", "jieba"])
@pytest.mark.parametrize(
    "text",
    [
        ENGLISH,
        "我爱北京天安门。",
        "他说：“你好！”然后走了。",
        "我爱Python编程",
        "line one.\nline two (with brackets) [and more] {x}.\n",
        "well-known and/or 50% done...",
    ],
)
def test_round_trip(name, text):
    tok = get_tokenizer(name)
    assert tok.detokenize(tok.tokenize(text)) == text


def test_word_mode_keeps_a_cjk_run_as_one_token():
    assert get_tokenizer("word").tokenize("我爱北京, ok") == ["我爱北京", ",", "ok"]


def test_jieba_segments_chinese_and_keeps_english_words():
    tokens = get_tokenizer("jieba").tokenize("我爱Python编程，don't panic\n我们是学生")
    assert "Python" in tokens and "don't" in tokens and "编程" in tokens
    assert "我们" in tokens and "学生" in tokens
    assert "\n" in tokens and " " not in tokens
    assert all(t.strip() or t == "\n" for t in tokens)


def test_join_tokens_spacing_rules():
    assert join_tokens(["a", "b", "1", "2"]) == "a b 1 2"
    assert join_tokens(["你", "好", "世界"]) == "你好世界"
    assert join_tokens(["hi", ",", "there", "!"]) == "hi, there!"
    assert join_tokens(["f", "(", "x", ")", "[", "1", "]"]) == "f (x) [1]"
    assert join_tokens(["a", "\n", "b"]) == "a\nb"
    assert join_tokens(["John", "'s", "car"]) == "John's car"
    assert join_tokens(["好", "，", "ok", "。"]) == "好，ok。"


def test_unknown_tokenizer_lists_choices():
    with pytest.raises(RnnTuiError, match="char, word, jieba"):
        get_tokenizer("bpe")
