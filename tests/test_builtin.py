"""Built-in datasets: deterministic, the right size, and correct (numbers, grammar, sums)."""

from __future__ import annotations

import re
from collections import Counter, defaultdict

import pytest

from rnn_tui.data import builtin
from rnn_tui.data.builtin import (
    BUILTINS,
    STDLIB_FILES,
    get_builtin,
    number_en,
    number_zh,
    numbers_en_zh,
    phrases_en_zh,
    python_stdlib,
)
from rnn_tui.errors import RnnTuiError


def test_registry_names_kinds_and_unknown_name():
    assert list(BUILTINS) == ["hello", "brackets", "arith", "numbers-en-zh", "phrases-en-zh",
                              "sine", "python-stdlib", "parity", "balanced", "recall-16"]
    for name, b in BUILTINS.items():
        assert b.name == name and b.kind in ("text", "pairs", "series", "labels")
        assert b.description and "\n" not in b.description
    assert get_builtin("arith").kind == "text"
    with pytest.raises(RnnTuiError) as err:
        get_builtin("nope")
    assert "nope" in str(err.value) and "python-stdlib" in str(err.value)


@pytest.mark.parametrize("name", ["hello", "brackets", "arith", "numbers-en-zh",
                                  "phrases-en-zh", "sine", "parity", "balanced"])
def test_generators_are_deterministic(name):
    b = get_builtin(name)
    assert b.generate() == b.generate()


def test_hello_is_lines_of_hello():
    text = get_builtin("hello").generate()
    assert set(text.splitlines()) == {"hello"} and len(text) < 10_000


def _depths(line: str) -> tuple[int, int, bool]:
    """(max depth, final depth, ended inside quotes) of a brackets line; quotes hide brackets."""
    depth = max_depth = 0
    inside = False
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    for ch in line:
        if ch == '"':
            inside = not inside
        elif inside:
            continue
        elif ch in "([{":
            stack.append(ch)
            depth += 1
            max_depth = max(max_depth, depth)
        elif ch in ")]}":
            assert stack.pop() == pairs[ch], line
            depth -= 1
    return max_depth, depth, inside


def test_brackets_are_balanced_nested_up_to_six_and_quoted():
    text = get_builtin("brackets").generate()
    assert 200_000 <= len(text) <= 500_000
    depths = []
    for line in text.splitlines():
        max_depth, final, inside = _depths(line)
        assert final == 0 and not inside, line
        depths.append(max_depth)
    assert max(depths) == 6 and min(depths) == 1
    assert '"' in text and re.search(r'"[^"]*[()\[\]{}][^"]*"', text)  # brackets inside quotes


def test_arith_lines_are_correct():
    text = get_builtin("arith").generate()
    assert 200_000 <= len(text) <= 500_000
    ops = set()
    for line in text.splitlines():
        m = re.fullmatch(r"(\d+)([+\-*])(\d+)=(-?\d+)", line)
        assert m, line
        a, op, b, answer = int(m[1]), m[2], int(m[3]), int(m[4])
        ops.add(op)
        assert answer == {"+": a + b, "-": a - b, "*": a * b}[op], line
    assert ops == {"+", "-", "*"}


@pytest.mark.parametrize("n, en, zh", [
    (0, "zero", "零"),
    (2, "two", "二"),
    (10, "ten", "十"),
    (15, "fifteen", "十五"),
    (20, "twenty", "二十"),
    (40, "forty", "四十"),
    (42, "forty-two", "四十二"),
    (100, "one hundred", "一百"),
    (105, "one hundred and five", "一百零五"),
    (110, "one hundred and ten", "一百一十"),
    (115, "one hundred and fifteen", "一百一十五"),
    (200, "two hundred", "二百"),
    (312, "three hundred and twelve", "三百一十二"),
    (1000, "one thousand", "一千"),
    (1001, "one thousand and one", "一千零一"),
    (1010, "one thousand and ten", "一千零一十"),
    (1015, "one thousand and fifteen", "一千零一十五"),
    (1050, "one thousand and fifty", "一千零五十"),
    (1100, "one thousand one hundred", "一千一百"),
    (1205, "one thousand two hundred and five", "一千二百零五"),
    (2000, "two thousand", "两千"),
    (2009, "two thousand and nine", "两千零九"),
    (2222, "two thousand two hundred and twenty-two", "两千二百二十二"),
    (7003, "seven thousand and three", "七千零三"),
    (9999, "nine thousand nine hundred and ninety-nine", "九千九百九十九"),
])
def test_number_words_tricky_cases(n, en, zh):
    assert number_en(n) == en
    assert number_zh(n) == zh


_ZH_VALUE = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"两": 2}
_ZH_UNIT = {"十": 10, "百": 100, "千": 1000}


def _parse_zh(s: str) -> int:
    """An independent reader of Chinese numerals below 10 000."""
    total, digit = 0, None
    for ch in s:
        if ch in _ZH_UNIT:
            total += (1 if digit is None else digit) * _ZH_UNIT[ch]
            digit = None
        else:
            digit = _ZH_VALUE[ch]
    return total + (digit or 0)


def test_numbers_en_zh_every_number_once_with_correct_zero_rules():
    pairs = numbers_en_zh()
    assert len(pairs) == 10_000
    assert len({en for en, _ in pairs}) == 10_000 and len({zh for _, zh in pairs}) == 10_000
    assert sorted(_parse_zh(zh) for _, zh in pairs) == list(range(10_000))
    for en, zh in pairs:
        if zh != "零":
            assert "零零" not in zh and not zh.endswith("零"), zh
        assert not zh.startswith("一十"), zh  # 十五, never 一十五 on its own
        assert "两" not in zh.replace("两千", ""), zh  # 两 only before 千
        assert re.fullmatch(r"[a-z]+(-[a-z]+)?( [a-z]+(-[a-z]+)?)*", en), en
    with pytest.raises(ValueError):
        number_zh(10_000)


_THIRD = ("He", "She", "The teacher", "My friend", "My mother")
_VERB_3RD = {"eats", "drinks", "reads", "buys", "sees", "writes", "has", "likes"}


def test_phrases_grammar_on_both_sides():
    pairs = phrases_en_zh()
    assert len(pairs) == len(set(pairs)) == builtin.PHRASES_COUNT
    for en, zh in pairs:
        question = en.endswith("?")
        assert en[0].isupper() and en[-1] in ".?", en
        assert zh.endswith("吗？") if question else zh.endswith("。"), (en, zh)
        # a / an
        assert not re.search(r"\ba [aeiou]", en) and not re.search(r"\ban [^aeiou]", en), en
        # third person -s in present statements, base form after do/does/did
        words = en[:-1].split()
        for subject in _THIRD:
            if en.startswith(subject + " ") and not question:
                verb = en[len(subject) + 1:].split()[0]
                if verb in ("ate", "drank", "read", "bought", "saw", "wrote", "didn't"):
                    assert en.endswith("yesterday."), en
                elif verb not in ("will", "won't", "doesn't"):
                    assert verb in _VERB_3RD, en
        if words[0] in ("Do", "Does", "Did") or "n't" in en:
            assert not any(w in _VERB_3RD for w in words), en
        # negation: 不 or 没, and 有 is only ever negated with 没
        if "n't" in en:
            assert "不" in zh or "没" in zh, (en, zh)
            assert "了" not in zh, (en, zh)
        assert "不有" not in zh
        # time words move to the front in Chinese; past tense takes 了 when affirmative
        for en_time, zh_time in (("today", "今天"), ("tomorrow", "明天"),
                                 ("every day", "每天"), ("yesterday", "昨天")):
            if en.rstrip(".?").endswith(en_time):
                i = zh.index(zh_time)
                assert i <= 4 and all(v not in zh[:i] for v in ("吃", "喝", "看", "买", "写")), zh
        if "yesterday" in en and "n't" not in en:
            assert "了" in zh, (en, zh)
        if "will" in en.lower() or "won't" in en:
            assert "会" in zh, (en, zh)
    zh_all = "".join(zh for _, zh in pairs)
    for piece in ("两个苹果", "三本书", "在学校", "没有", "吗", "不", "会"):
        assert piece in zh_all, piece


def test_phrases_include_the_classic_word_order_example():
    pairs = dict(phrases_en_zh())
    examples = [(en, zh) for en, zh in pairs.items() if en.endswith(" today.")
                and en.startswith("I eat")]
    assert examples
    for en, zh in examples:
        assert zh.startswith("我今天"), (en, zh)  # I eat an apple today -> 我今天吃一个苹果


def test_sine_series():
    values = get_builtin("sine").generate()
    assert 2000 <= len(values) <= 10_000
    assert all(isinstance(v, float) for v in values)
    assert -2.5 < min(values) < -1.0 and 1.0 < max(values) < 2.5


def test_python_stdlib_is_about_one_megabyte_of_real_source():
    text = python_stdlib()
    assert 900_000 <= len(text) <= 1_300_000
    headers = re.findall(r"^# ---- (\S+) ----$", text, flags=re.MULTILINE)
    assert headers[0] == "textwrap.py" and text.startswith("# ---- textwrap.py ----\n")
    assert headers == [n for n in STDLIB_FILES if n in headers]  # list order
    assert "def wrap(" in text and "def heappush(" in text


def test_python_stdlib_skips_missing_files_and_fails_on_none(tmp_path):
    (tmp_path / "string.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / "heapq.py").write_bytes("y = '\u00e9'\r\n".encode())
    text = python_stdlib(tmp_path)
    assert text == "# ---- string.py ----\nx = 1\n# ---- heapq.py ----\ny = '\u00e9'\n"
    assert python_stdlib(tmp_path, target_chars=5) == "# ---- string.py ----\nx = 1\n"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(RnnTuiError, match="no standard-library files"):
        python_stdlib(empty)


# -- labeled texts ---------------------------------------------------------------------------------


def _check_labeled(examples: list[tuple[str, str]], classes: tuple[str, str], lengths: range) -> None:
    """Distinct texts, the two classes equally often at every length, every length present, mixed."""
    assert len({text for text, _ in examples}) == len(examples)
    by_length: dict[int, Counter] = defaultdict(Counter)
    for text, label in examples:
        by_length[len(text)][label] += 1
    assert sorted(by_length) == list(lengths)
    for counts in by_length.values():
        assert set(counts) == set(classes) and counts[classes[0]] == counts[classes[1]]
    head = [label for _, label in examples[:40]]
    assert len(set(head)) == 2 and head != sorted(head)  # shuffled, not grouped


def test_parity_labels_count_the_ones():
    examples = get_builtin("parity").generate()
    assert 19_000 <= len(examples) <= 21_000
    for text, label in examples:
        assert set(text) <= {"0", "1"}
        assert label == ("odd" if text.count("1") % 2 else "even"), text
    _check_labeled(examples, ("even", "odd"), range(1, 101))
    lengths = Counter(len(text) for text, _ in examples)
    assert lengths[1] == 2 and lengths[7] == 128 and lengths[100] == 210  # every string while there are few
    assert sum(n for length, n in lengths.items() if length > 50) > 9_000  # half of them long


def _running_depths(text: str) -> list[int]:
    depths, depth = [], 0
    for ch in text:
        depth += {"(": 1, ")": -1}[ch]
        depths.append(depth)
    return depths


def test_balanced_labels_are_right_and_the_unbalanced_ones_are_near_misses():
    examples = get_builtin("balanced").generate()
    assert 19_000 <= len(examples) <= 21_000
    kinds = Counter()
    for text, label in examples:
        depths = _running_depths(text)
        assert label == ("balanced" if min(depths) >= 0 and depths[-1] == 0 else "unbalanced"), text
        if label == "unbalanced":  # one flip (final depth ±2) or one swap (ends at 0, dips below it)
            assert depths[-1] in (-2, 0, 2), text
            kinds["flip" if depths[-1] else "swap"] += 1
    assert kinds["flip"] > 3_000 and kinds["swap"] > 3_000
    good = {text for text, label in examples if label == "balanced"}
    for text, label in examples:
        if label == "unbalanced" and _running_depths(text)[-1]:  # a flip: undone by one flip back
            flips = (text[:k] + ("(" if text[k] == ")" else ")") + text[k + 1:] for k in range(len(text)))
            assert any(flipped in good for flipped in flips), text
    _check_labeled(examples, ("balanced", "unbalanced"), range(2, 101, 2))
    lengths = Counter(len(text) for text, _ in examples)
    assert lengths[2] == 2 and lengths[12] == 2 * 132 and lengths[100] == 450  # all balanced strings while there are few
    deep = max(max(_running_depths(text)) for text, label in examples if label == "balanced")
    assert deep >= 20  # nesting that a few units of memory cannot count

