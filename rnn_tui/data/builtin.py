"""Datasets the project generates itself, addressed as ``builtin:NAME``.

Every generator is deterministic (a fixed seed in ``random.Random``) and fast (well under a
second), so a fresh install has something real to train on without any download. Nothing here
imports torch: series come back as a plain ``list[float]``.
"""

from __future__ import annotations

import itertools
import math
import random
import re
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnn_tui.errors import RnnTuiError

Generated = str | list[tuple[str, str]] | list[float]  # text; pairs or (text, label); series


@dataclass(frozen=True)
class Builtin:
    """One generated dataset: its name, kind, a one-line description, its generator, and the
    settings recommended for it ("task" and "section.name" keys, as ``Config.assign`` takes them):
    `rnn-tui train` and the app's Train form use them for whatever the user does not set."""

    name: str
    kind: str  # "text" | "pairs" | "series" | "labels"
    description: str
    generate: Callable[[], Generated]
    recommended: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# hello


def hello() -> str:
    """The classic toy: 300 lines of "hello", so from "hell" a model predicts "ello"."""
    return "hello\n" * 300


# ---------------------------------------------------------------------------------------------
# brackets

_OPEN_CLOSE = {"(": ")", "[": "]", "{": "}"}
_QUOTE_CHARS = "abcdefghijklmnopqrstuvwxyz([{}]) "


def _bracket_expr(rng: random.Random, depth: int, max_depth: int) -> str:
    """A random expression: a word, a quoted string, or a bracket pair holding 1-3 expressions."""
    roll = rng.random()
    if depth >= max_depth or roll < 0.3:
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(1, 4)))
    if roll < 0.45:
        # Quoted text may contain bracket characters: they do not change the depth.
        inner = "".join(rng.choice(_QUOTE_CHARS) for _ in range(rng.randint(1, 6))).strip()
        return '"' + (inner or "a") + '"'
    opener = rng.choice("([{")
    parts = [_bracket_expr(rng, depth + 1, max_depth) for _ in range(rng.randint(1, 3))]
    return f"{opener} {' '.join(parts)} {_OPEN_CLOSE[opener]}"


def brackets(target_chars: int = 300_000) -> str:
    """Lines of nested ( [ { } ] ) with words and "quoted text", depth up to 6, about 300 KB."""
    rng = random.Random(1234)
    lines: list[str] = []
    total = 0
    while total < target_chars:
        opener = rng.choice("([{")
        parts = [_bracket_expr(rng, 2, rng.randint(2, 7)) for _ in range(rng.randint(1, 3))]
        line = f"{opener} {' '.join(parts)} {_OPEN_CLOSE[opener]}"
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# arith


def arith(target_chars: int = 300_000) -> str:
    """Lines like ``12+35=47``, ``40-52=-12``, ``7*8=56`` with correct answers, about 300 KB."""
    rng = random.Random(4321)
    lines: list[str] = []
    total = 0
    while total < target_chars:
        op = rng.choice("++--*")
        if op == "*":
            a, b = rng.randint(0, 99), rng.randint(0, 9)
            answer = a * b
        else:
            a, b = rng.randint(0, 999), rng.randint(0, 999)
            answer = a + b if op == "+" else a - b
        line = f"{a}{op}{b}={answer}"
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# numbers-en-zh

_EN_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
            "fourteen fifteen sixteen seventeen eighteen nineteen").split()
_EN_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_ZH_DIGITS = "零一二三四五六七八九"
NUMBERS_MAX = 9999


def number_en(n: int) -> str:
    """British English words for 0 <= n <= 9999: 312 -> "three hundred and twelve"."""
    if not 0 <= n <= NUMBERS_MAX:
        raise ValueError(f"number out of range: {n}")
    if n < 20:
        return _EN_ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _EN_TENS[tens] + (f"-{_EN_ONES[ones]}" if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        head = f"{_EN_ONES[hundreds]} hundred"
        return head + (f" and {number_en(rest)}" if rest else "")
    thousands, rest = divmod(n, 1000)
    head = f"{_EN_ONES[thousands]} thousand"
    if rest == 0:
        return head
    if rest < 100:
        return f"{head} and {number_en(rest)}"
    return f"{head} {number_en(rest)}"


def number_zh(n: int) -> str:
    """Chinese numerals for 0 <= n <= 9999 (2 reads 两 before 千, 二 elsewhere).

    Rules: a run of zeros between non-zero digits is read as one 零 (105 一百零五, 1005 一千零五,
    1050 一千零五十); trailing zeros are silent (1200 一千二百); 10-19 drop the leading 一 (十五)
    but keep it inside larger numbers (115 一百一十五).
    """
    if not 0 <= n <= NUMBERS_MAX:
        raise ValueError(f"number out of range: {n}")
    if n == 0:
        return "零"
    if 10 <= n < 20:
        return "十" + (_ZH_DIGITS[n - 10] if n > 10 else "")
    out: list[str] = []
    started = zero_pending = False
    for unit, place in (("千", 1000), ("百", 100), ("十", 10), ("", 1)):
        digit = n // place % 10
        if digit == 0:
            zero_pending = zero_pending or started
            continue
        if zero_pending:
            out.append("零")
        out.append(("两" if digit == 2 and unit == "千" else _ZH_DIGITS[digit]) + unit)
        started, zero_pending = True, False
    return "".join(out)


def numbers_en_zh() -> list[tuple[str, str]]:
    """Every number 0..9999 once, English words -> Chinese numerals, in a seeded shuffle."""
    pairs = [(number_en(n), number_zh(n)) for n in range(NUMBERS_MAX + 1)]
    random.Random(99).shuffle(pairs)
    return pairs


# ---------------------------------------------------------------------------------------------
# phrases-en-zh


@dataclass(frozen=True)
class _Noun:
    sg: str  # "apple", "cup of tea"
    pl: str  # "apples", "cups of tea"
    generic: str  # "apples", "tea": the object of "I like ..." / "I don't eat ..."
    zh: str
    measure: str  # 个, 本, 杯 ...


@dataclass(frozen=True)
class _Verb:
    base: str
    third: str  # 3rd person singular present
    past: str
    zh: str
    objects: tuple[str, ...]
    quantified: bool = True  # "I eat two apples"; False: only generic objects ("I like cats")
    timed: bool = True  # may take today / tomorrow / every day / yesterday and a place
    negation: str = "不"  # present-tense negation: 没 for 有 (没有) and resultative 看见 (没看见)


_NOUNS = {n.sg: n for n in (
    _Noun("apple", "apples", "apples", "苹果", "个"),
    _Noun("banana", "bananas", "bananas", "香蕉", "根"),
    _Noun("egg", "eggs", "eggs", "鸡蛋", "个"),
    _Noun("orange", "oranges", "oranges", "橙子", "个"),
    _Noun("cup of tea", "cups of tea", "tea", "茶", "杯"),
    _Noun("glass of water", "glasses of water", "water", "水", "杯"),
    _Noun("glass of milk", "glasses of milk", "milk", "牛奶", "杯"),
    _Noun("cup of coffee", "cups of coffee", "coffee", "咖啡", "杯"),
    _Noun("book", "books", "books", "书", "本"),
    _Noun("magazine", "magazines", "magazines", "杂志", "本"),
    _Noun("newspaper", "newspapers", "newspapers", "报纸", "份"),
    _Noun("pen", "pens", "pens", "笔", "支"),
    _Noun("car", "cars", "cars", "车", "辆"),
    _Noun("shirt", "shirts", "shirts", "衬衫", "件"),
    _Noun("ticket", "tickets", "tickets", "票", "张"),
    _Noun("cat", "cats", "cats", "猫", "只"),
    _Noun("dog", "dogs", "dogs", "狗", "只"),
    _Noun("bird", "birds", "birds", "鸟", "只"),
    _Noun("letter", "letters", "letters", "信", "封"),
    _Noun("story", "stories", "stories", "故事", "个"),
)}

_VERBS = (
    _Verb("eat", "eats", "ate", "吃", ("apple", "banana", "egg", "orange")),
    _Verb("drink", "drinks", "drank", "喝",
          ("cup of tea", "glass of water", "glass of milk", "cup of coffee")),
    _Verb("read", "reads", "read", "看", ("book", "magazine", "newspaper")),
    _Verb("buy", "buys", "bought", "买",
          ("book", "pen", "car", "shirt", "ticket", "apple", "banana", "newspaper")),
    _Verb("see", "sees", "saw", "看见", ("cat", "dog", "bird", "car"), negation="没"),
    _Verb("write", "writes", "wrote", "写", ("letter", "story")),
    _Verb("have", "has", "had", "有", ("book", "pen", "car", "cat", "dog"), timed=False,
          negation="没"),
    _Verb("like", "likes", "liked", "喜欢",
          ("cat", "dog", "book", "cup of tea", "cup of coffee", "apple", "banana", "story"),
          quantified=False, timed=False),
)

# (english, chinese, third person singular?)
_SUBJECTS = (
    ("I", "我", False), ("you", "你", False), ("he", "他", True), ("she", "她", True),
    ("we", "我们", False), ("they", "他们", False), ("the teacher", "老师", True),
    ("my friend", "我的朋友", True), ("my mother", "我妈妈", True), ("the children", "孩子们", False),
)
_NUMBERS = (("a", "一"), ("two", "两"), ("three", "三"), ("four", "四"), ("five", "五"))
# (english, chinese, tense) -- the Chinese time word goes right after the subject
_TIMES = (
    ("", "", "present"), ("today", "今天", "present"), ("every day", "每天", "present"),
    ("tomorrow", "明天", "future"), ("yesterday", "昨天", "past"),
)
_PLACES = (
    ("", ""), ("at school", "在学校"), ("at home", "在家"), ("in the library", "在图书馆"),
    ("in the park", "在公园"), ("at the store", "在商店"),
)


def _english_object(noun: _Noun, number: str) -> str:
    if number == "a":
        return ("an " if noun.sg[0] in "aeiou" else "a ") + noun.sg
    return f"{number} {noun.pl}"


def _phrase(rng: random.Random) -> tuple[str, str]:
    """One random sentence pair: affirmative, negative or yes/no question."""
    subj_en, subj_zh, third = rng.choice(_SUBJECTS)
    verb = rng.choice(_VERBS)
    noun = _NOUNS[rng.choice(verb.objects)]
    mood = rng.choice(("statement", "negative", "question")) if subj_en != "I" else rng.choice(
        ("statement", "negative"))
    # "don't ... every day" means "not every day", which 每天不 does not: no "every day" there.
    times = [t for t in _TIMES if not (mood == "negative" and t[0] == "every day")]
    time_en, time_zh, tense = rng.choice(times) if verb.timed else ("", "", "present")
    place_en, place_zh = rng.choice(_PLACES) if verb.timed else ("", "")
    quantified = verb.quantified and mood != "negative"

    if quantified:
        number_en, number_zh = rng.choice(_NUMBERS)
        obj_en = _english_object(noun, number_en)
        obj_zh = number_zh + noun.measure + noun.zh
    else:
        obj_en = noun.generic if mood != "negative" or tense == "present" else f"any {noun.generic}"
        if verb.base == "have" and mood == "negative":
            obj_en = _english_object(noun, "a")  # "I don't have a car"
        obj_zh = noun.zh

    # English: subject, verb group, object, place, time.
    do = {"present": "does" if third else "do", "past": "did", "future": "will"}[tense]
    if mood == "statement":
        if tense == "present":
            verb_en = verb.third if third else verb.base
        else:
            verb_en = verb.past if tense == "past" else f"will {verb.base}"
        words = [subj_en, verb_en, obj_en]
    elif mood == "negative":
        neg = {"does": "doesn't", "do": "don't", "did": "didn't", "will": "won't"}[do]
        words = [subj_en, neg, verb.base, obj_en]
    else:
        words = [do, subj_en, verb.base, obj_en]
    words += [w for w in (place_en, time_en) if w]
    english = " ".join(words)
    english = english[0].upper() + english[1:] + ("?" if mood == "question" else ".")

    # Chinese: subject, time, negation / 会, place, verb (+了), object (+吗).
    # will -> 会 (won't -> 不会), didn't -> 没 (and no 了), don't have -> 没有 (never 不有).
    if tense == "future":
        aux_zh = "不会" if mood == "negative" else "会"
    elif mood == "negative":
        aux_zh = "没" if tense == "past" else verb.negation
    else:
        aux_zh = ""
    le = "了" if tense == "past" and mood != "negative" else ""
    chinese = subj_zh + time_zh + aux_zh + place_zh + verb.zh + le + obj_zh
    chinese += "吗？" if mood == "question" else "。"
    return english, chinese


PHRASES_COUNT = 6000


def phrases_en_zh() -> list[tuple[str, str]]:
    """6000 distinct English -> Chinese sentence pairs from a small grammar (seeded)."""
    rng = random.Random(2024)
    seen: set[tuple[str, str]] = set()
    pairs: list[tuple[str, str]] = []
    while len(pairs) < PHRASES_COUNT:
        pair = _phrase(rng)
        if pair not in seen:
            seen.add(pair)
            pairs.append(pair)
    return pairs


# ---------------------------------------------------------------------------------------------
# sine


def sine(points: int = 4000) -> list[float]:
    """A noisy sum of three sinusoids (periods 50, 120 and 17 steps), 4000 points."""
    rng = random.Random(7)
    values = []
    for t in range(points):
        v = (math.sin(2 * math.pi * t / 50) + 0.5 * math.sin(2 * math.pi * t / 120)
             + 0.25 * math.sin(2 * math.pi * t / 17) + rng.gauss(0.0, 0.1))
        values.append(round(v, 4))
    return values


# ---------------------------------------------------------------------------------------------
# python-stdlib

# Pure-Python standard-library modules that are single files in CPython 3.10-3.13, in the order
# they are concatenated. Missing ones are skipped; see data/README.md.
STDLIB_FILES = (
    "textwrap.py", "string.py", "heapq.py", "bisect.py", "keyword.py", "colorsys.py",
    "fnmatch.py", "glob.py", "shlex.py", "copy.py", "reprlib.py", "numbers.py", "fractions.py",
    "statistics.py", "random.py", "calendar.py", "functools.py", "operator.py", "queue.py",
    "sched.py", "contextlib.py", "abc.py", "weakref.py", "dataclasses.py", "enum.py",
    "difflib.py", "pprint.py", "tokenize.py", "linecache.py", "traceback.py", "warnings.py",
    "csv.py", "configparser.py", "gettext.py", "base64.py", "hmac.py", "uuid.py",
    "ipaddress.py", "shutil.py", "tempfile.py", "threading.py", "subprocess.py", "argparse.py",
    "optparse.py", "ast.py", "inspect.py", "typing.py", "pickle.py", "tarfile.py", "doctest.py",
)
STDLIB_TARGET_CHARS = 1_000_000


def python_stdlib(stdlib_dir: Path | None = None, target_chars: int = STDLIB_TARGET_CHARS) -> str:
    """About 1 MB of the running interpreter's own standard library, in ``STDLIB_FILES`` order.

    Each file is preceded by ``# ---- NAME ----``; whole files are added until the text reaches
    ``target_chars``. Files missing on this interpreter are skipped.
    """
    root = Path(stdlib_dir or sysconfig.get_paths()["stdlib"])
    chunks: list[str] = []
    total = 0
    for name in STDLIB_FILES:
        if total >= target_chars:
            break
        try:
            raw = (root / name).read_bytes()
        except OSError:
            continue
        text = raw.decode("utf-8", errors="replace").replace("\r\n", "\n")
        chunk = f"# ---- {name} ----\n{text}" + ("" if text.endswith("\n") else "\n")
        chunks.append(chunk)
        total += len(chunk)
    if not chunks:
        raise RnnTuiError(f"no standard-library files found in {root}; use another --data")
    return "".join(chunks)


# ---------------------------------------------------------------------------------------------
# parity and balanced: labeled texts whose label depends on every character (long-range memory)

PARITY_MAX_LENGTH = 100
PARITY_PER_LENGTH = 210  # texts of each length (105 even, 105 odd) where that many exist


def parity() -> list[tuple[str, str]]:
    """Bit strings of every length 1..100, labelled ``even`` or ``odd`` by their number of 1s;
    distinct, and half of each class at every length (all of them for lengths up to 7), shuffled.

    Only the count of 1s matters, and a single bit anywhere flips the label, so a model must
    carry one bit of state across the whole string. A hard one: no single bit or n-gram says
    anything about the label, so the gradient has no foothold, and in our runs neither a GRU-64
    nor an LSTM-64 (3,000-4,000 steps, pooling last) rose above chance even on the short strings.
    ``balanced`` is the one where the cells differ visibly.
    """
    rng = random.Random(2718)
    examples: list[tuple[str, str]] = []
    for length in range(1, PARITY_MAX_LENGTH + 1):
        per_class = min(PARITY_PER_LENGTH // 2, 2 ** (length - 1))  # 2^(length-1) strings of each parity exist
        for label, ones in (("even", 0), ("odd", 1)):
            seen: set[str] = set()
            while len(seen) < per_class:
                head = format(rng.getrandbits(length - 1), f"0{length - 1}b") if length > 1 else ""
                bits = head + str((head.count("1") + ones) % 2)  # the last bit makes the parity
                if bits not in seen:
                    seen.add(bits)
                    examples.append((bits, label))
    rng.shuffle(examples)
    return examples


BALANCED_MAX_LENGTH = 100
BALANCED_PER_CLASS = 225  # texts of each class for each even length, where that many balanced ones exist
_BRACKET = {1: "(", -1: ")"}


def _dyck(rng: random.Random, pairs: int) -> str:
    """A uniformly random balanced string of ``pairs`` ( ) pairs (the cycle lemma: shuffle one
    more ")" than "(", start right after the first lowest point, drop the final ")")."""
    steps = [1] * pairs + [-1] * (pairs + 1)
    rng.shuffle(steps)
    depths = list(itertools.accumulate(steps))
    cut = depths.index(min(depths)) + 1
    return "".join(_BRACKET[step] for step in steps[cut:] + steps[:cut - 1])


def _is_balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += 1 if ch == "(" else -1
        if depth < 0:
            return False
    return depth == 0


def _unbalance(rng: random.Random, text: str) -> str:
    """``text`` (balanced) made unbalanced by one change, of the same length: a bracket flipped,
    or an ( and a later ) swapped so that the depth goes below zero in between."""
    chars = list(text)
    if rng.random() < 0.5:
        k = rng.randrange(len(chars))
        chars[k] = "(" if chars[k] == ")" else ")"
        return "".join(chars)
    while True:
        j = rng.choice([k for k, ch in enumerate(text) if ch == ")"])
        i = rng.choice([k for k, ch in enumerate(text[:j]) if ch == "("])
        chars = list(text)
        chars[i], chars[j] = ")", "("
        swapped = "".join(chars)
        if not _is_balanced(swapped):
            return swapped


def balanced() -> list[tuple[str, str]]:
    """Strings of ( and ) of every even length 2..100, labelled ``balanced`` or ``unbalanced``;
    distinct, the same number of each class at every length, shuffled.

    Each unbalanced one is a balanced string of the set with one change that keeps its length (a
    flipped bracket, or a swap that takes the depth below zero somewhere), so neither the length
    nor a local pattern gives the label away: the model has to count the depth across the whole
    string.
    """
    rng = random.Random(3141)
    examples: list[tuple[str, str]] = []
    for pairs in range(1, BALANCED_MAX_LENGTH // 2 + 1):
        per_class = min(BALANCED_PER_CLASS, math.comb(2 * pairs, pairs) // (pairs + 1))  # the Catalan number
        good: dict[str, None] = {}  # insertion-ordered sets
        bad: dict[str, None] = {}
        while len(good) < per_class:
            good[_dyck(rng, pairs)] = None
        for text in itertools.cycle(good):  # each balanced string changed once (again while too few are distinct)
            if len(bad) == per_class:
                break
            bad[_unbalance(rng, text)] = None
        examples += [(text, "balanced") for text in good] + [(text, "unbalanced") for text in bad]
    rng.shuffle(examples)
    return examples


# ---------------------------------------------------------------------------------------------
# recall-D: remember one symbol across D distractors (the arena's memory probe)

RECALL_KEYS = "abcdefgh"  # the symbol to remember: 8 classes, chance 1/8
RECALL_FILLER = "0123456789"  # the distractors between it and the query
RECALL_QUERY = "?"
RECALL_EXAMPLES = 20_000  # 4,000 were learnt by heart: an LSTM-64 at D = 32 reached train loss 0.002 and 75.7% on
# validation; with 20,000 (the same 3,000 steps at lr 0.005) it reached 100% (2026-11-30)
RECALL_MAX_DISTANCE = 100_000
_RECALL = re.compile(r"recall-(\d+)")


def recall(distance: int, examples: int = RECALL_EXAMPLES) -> list[tuple[str, str]]:
    """``examples`` texts ``k d1 … dD ?`` labelled ``k``: a key from RECALL_KEYS, ``distance``
    random digits, then the query; distinct, the keys balanced (as many of each as exist), shuffled.

    Read many-to-one (the classify task, pooling ``last``), the model answers at the query, so it
    must carry the key ``distance + 1`` steps through noise: the copy/recall task of the LSTM paper
    (Hochreiter and Schmidhuber, 1997) in its simplest form.
    """
    rng = random.Random(1997 + distance)
    per_key = min(examples // len(RECALL_KEYS), len(RECALL_FILLER) ** min(distance, 6))
    out: list[tuple[str, str]] = []
    for key in RECALL_KEYS:
        seen: set[str] = set()
        while len(seen) < per_key:
            seen.add(key + "".join(rng.choice(RECALL_FILLER) for _ in range(distance)) + RECALL_QUERY)
        out += [(text, key) for text in sorted(seen)]
    rng.shuffle(out)
    return out


def _recall_builtin(distance: int) -> Builtin:
    return Builtin(f"recall-{distance}", "labels",
                   f"a key (a-h), {distance} random digits, then ?: recall the key (any distance: recall-D)",
                   lambda: recall(distance), recommended=_CLASSIFY)


# ---------------------------------------------------------------------------------------------
# registry

# The recommended settings (see Builtin): a model and a budget that show the dataset's lesson in
# about a minute of a laptop CPU at most; a newcomer's `rnn-tui train --data builtin:NAME`.
_HELLO = {"task": "lm", "model.cell": "rnn", "model.embed": 0, "model.hidden": 16, "train.seq_len": 12,
          "train.batch": 16, "train.lr": 0.01, "train.schedule": "constant", "train.steps": 300,
          "train.eval_interval": 50, "train.log_interval": 10, "train.sample_interval": 100, "train.sample_length": 30}
_TEXT = {"task": "lm", "model.cell": "lstm", "model.hidden": 128, "train.time": 60.0, "train.eval_interval": 100,
         "train.sample_interval": 200}
_PAIRS = {"task": "seq2seq", "model.cell": "gru", "model.hidden": 128, "train.batch": 64, "train.time": 90.0,
          "train.eval_interval": 100, "train.sample_interval": 200}
_CLASSIFY = {"task": "classify", "model.cell": "lstm", "model.hidden": 64, "train.batch": 64, "train.time": 60.0,
             "train.eval_interval": 100, "train.sample_interval": 200}
_SERIES = {"task": "forecast", "model.cell": "gru", "model.hidden": 32, "data.window": 50, "train.time": 30.0,
           "train.eval_interval": 100, "train.sample_interval": 200}

BUILTINS: dict[str, Builtin] = {b.name: b for b in (
    Builtin("hello", "text", 'the classic toy: lines of "hello"', hello, _HELLO),
    Builtin("brackets", "text", "nested ( [ { } ] ) and quotes up to depth 6, ~300 KB", brackets, _TEXT),
    Builtin("arith", "text", "lines like 12+35=47 with correct answers, ~300 KB", arith, _TEXT),
    Builtin("numbers-en-zh", "pairs",
            "English number words -> Chinese numerals, every number 0..9999", numbers_en_zh, _PAIRS),
    Builtin("phrases-en-zh", "pairs",
            "6000 generated English -> Chinese sentences (word order, 量词, 不/没, 吗)",
            phrases_en_zh, _PAIRS),
    Builtin("sine", "series", "noisy sum of three sinusoids, 4000 points", sine, _SERIES),
    Builtin("python-stdlib", "text",
            "about 1 MB of Python's own standard library source (the default)", python_stdlib,
            {**_TEXT, "model.hidden": 256, "train.time": 120.0}),
    Builtin("parity", "labels",
            "bit strings of length 1-100, even or odd number of 1s: one bit over 100 steps (hard: no cell learned it here)",
            parity, _CLASSIFY),
    Builtin("balanced", "labels",
            "( ) strings of length 2-100, balanced or one change away: counting depth over 100 steps", balanced,
            _CLASSIFY),
    _recall_builtin(16),
)}


def get_builtin(name: str) -> Builtin:
    """The built-in dataset called ``name`` (``recall-D`` for any distance D); an unknown name raises ``RnnTuiError``."""
    match = _RECALL.fullmatch(name)
    if match and name not in BUILTINS:
        distance = int(match.group(1))
        if not 1 <= distance <= RECALL_MAX_DISTANCE:
            raise RnnTuiError(f"recall-D needs a distance D between 1 and {RECALL_MAX_DISTANCE:,}; got {distance}")
        return _recall_builtin(distance)
    try:
        return BUILTINS[name]
    except KeyError:
        raise RnnTuiError(
            f"no built-in dataset {name!r}; choose one of: {', '.join(BUILTINS)}"
        ) from None
