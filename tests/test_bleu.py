"""BLEU: the tokenizers and every score agree with sacrebleu (a test-only dependency)."""

import json
import random
import subprocess
import sys

import pytest
import sacrebleu
from sacrebleu.metrics import BLEU
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
from sacrebleu.tokenizers.tokenizer_char import TokenizerChar
from sacrebleu.tokenizers.tokenizer_zh import TokenizerZh

from rnn_tui.decode import bleu
from rnn_tui.decode.bleu import BLEU_TOKENIZERS, corpus_bleu, corpus_bleu_tokens, sentence_bleu, tokenize
from rnn_tui.errors import RnnTuiError
from tests.test_cli import run_cli

SACRE_TOKENIZERS = {"13a": Tokenizer13a(), "zh": TokenizerZh(), "char": TokenizerChar(), "none": lambda line: line}
SMOOTHINGS = ["exp", "floor", "add-k", "none"]

TEXTS = [
    "", " ", "Hello, world!", "It's 1,000.50 dollars - or $3.", "state-of-the-art 2-3 1990-2000 -5 a--b 3 -",
    "\"quoted\" 'single' `tick`", "AT&amp;T &quot;hi&quot; &lt;b&gt; &amp;amp; & &nbsp;", "<skipped> words<skipped>",
    "line-\nbreak\nhere", "e.g. U.S.A. ... end.", "3.14,2.71 ,5 .5 5. a.b,c 1.a a.1", ".5 starts, ends 5.",
    "(parens) [brackets] {braces} a/b a\\b a|b ~x ^y _z @w #h %p +q =r <s> ;:?!",
    "我爱北京天安门。", "我有3个苹果,and 2 oranges.", "他说：“你好！”（笑）", "ＡＢＣ１２３，全角。", "价格是1,000.5元-左右",
    "emoji 😀👍🏽 here!", "日本語のテキスト、カタカナ", "한국어 텍스트", "em—dash “curly” ‘quotes’ … €5 → ∑ ☺ ✓",
    "tab\tsep  multiple   spaces ", "\u3000全角空格\u3000", "𠀀𠀁 extension B", "㐀㐁 ext A", "café naïve Ünïcödé",
    "  leading and trailing  ", "Mr. Smith's car (2019) costs $25,000.-", "中文English混合123测试。OK?",
]
CHAR_POOL = "aZ09 .,-'\"&;<>/$%()!?:\t我你好，。！？“”（）—…€😀ＡＢ１㐀\u3000\u2001𠀀ア"


def sacre(line: str, kind: str) -> list[str]:
    return SACRE_TOKENIZERS[kind](line).split()


@pytest.mark.parametrize("kind", BLEU_TOKENIZERS)
def test_tokenizers_match_sacrebleu(kind):
    rng = random.Random(1)
    fuzz = ["".join(rng.choices(CHAR_POOL, k=rng.randint(0, 30))) for _ in range(400)]
    for text in TEXTS + fuzz:
        assert tokenize(text, kind) == sacre(text, kind), text


def test_zh_chinese_characters_are_sacrebleus():
    """Every code point up to U+2FFFF, including the ones sacrebleu's ranges take by accident."""
    theirs = TokenizerZh._is_chinese_char.__wrapped__
    assert [bleu._is_chinese_char(chr(c)) for c in range(0x30000)] == [theirs(chr(c)) for c in range(0x30000)]
    assert bleu._is_chinese_char("—") and not bleu._is_chinese_char("𠀀")  # as sacrebleu, not as meant


def test_char_drops_exactly_the_whitespace_sacrebleu_drops():
    text = "".join(chr(c) for c in range(0x3100))
    assert tokenize(text, "char") == sacre(text, "char")


def test_an_unknown_tokenizer_or_smoothing_is_one_line():
    with pytest.raises(RnnTuiError, match="unknown tokenizer"):
        tokenize("a", "intl")
    with pytest.raises(RnnTuiError, match="unknown smoothing"):
        corpus_bleu(["a"], ["a"], smooth="add-one")


# -- corpus BLEU -----------------------------------------------------------------------------------

VOCAB = ["the", "The", "cat", "dog", "sat", "on", "a", "mat", "ran", "big", "red", ",", ".", "!", "1,000", "3.5",
         "well-known", "&amp;", "\"", "猫", "狗", "坐在", "垫子上", "。"]


def perturb(rng: random.Random, tokens: list[str], noise: float) -> list[str]:
    out = []
    for token in tokens:
        r = rng.random()
        if r >= noise * 2 / 3:
            out.append(token)
        elif r >= noise / 3:
            out.append(rng.choice(VOCAB))  # substituted; below noise / 3: deleted
        if rng.random() < noise / 3:
            out.append(rng.choice(VOCAB))  # inserted
    return out


def random_corpus(rng: random.Random, n_streams: int = 1) -> tuple[list[str], list[list[str]]]:
    """Hypotheses perturbed from random references: empty, doubled, halved or noisy lines."""
    n = rng.randint(1, 12)
    noise = rng.random()
    first = [rng.choices(VOCAB, k=rng.randint(0, 15)) for _ in range(n)]
    streams = [first] + [[perturb(rng, ref, 0.3) for ref in first] for _ in range(n_streams - 1)]
    hyps = []
    for s in range(n):
        base = streams[rng.randrange(n_streams)][s]
        shape = rng.random()
        if shape < 0.15:  # empty, doubled, or half of the reference
            hyp = [] if shape < 0.05 else base * 2 if shape < 0.1 else base[:len(base) // 2]
        else:
            hyp = perturb(rng, base, noise)
        hyps.append(" ".join(hyp))
    return hyps, [[" ".join(ref) for ref in stream] for stream in streams]


def assert_same(ours, theirs, counts: bool = True):
    assert ours.score == pytest.approx(theirs.score, abs=1e-9)
    assert ours.precisions == pytest.approx(theirs.precisions, abs=1e-9)
    assert ours.bp == pytest.approx(theirs.bp, abs=1e-12)
    assert ours.ratio == pytest.approx(theirs.ratio, abs=1e-12)
    assert (ours.sys_len, ours.ref_len) == (theirs.sys_len, theirs.ref_len)
    if counts:  # sacrebleu reports add-k's counts with k added; ours are the raw counts
        assert (ours.counts, ours.totals) == (theirs.counts, theirs.totals)
    assert ours.format() == str(theirs)


def test_random_corpora_match_sacrebleu():
    rng = random.Random(0)
    scores, smoothed = [], 0
    for _ in range(300):
        hyps, refs = random_corpus(rng)
        ours = corpus_bleu(hyps, refs[0])
        assert_same(ours, sacrebleu.corpus_bleu(hyps, refs))
        scores.append(ours.score)
        smoothed += ours.counts[0] > 0 and ours.counts[3] == 0
    assert min(scores) == 0 and max(scores) > 90 and sum(10 < s < 90 for s in scores) > 100  # spread over 0..100
    assert smoothed > 10  # exp smoothing was exercised


def test_several_reference_streams_match_sacrebleu():
    rng = random.Random(2)
    for _ in range(150):
        hyps, refs = random_corpus(rng, n_streams=rng.randint(2, 4))
        assert_same(corpus_bleu(hyps, refs), sacrebleu.corpus_bleu(hyps, refs))


@pytest.mark.parametrize("smooth", SMOOTHINGS)
@pytest.mark.parametrize("kind", BLEU_TOKENIZERS)
def test_every_tokenizer_and_smoothing_matches_sacrebleu(kind, smooth):
    rng = random.Random(f"{kind}-{smooth}")
    for _ in range(25):
        hyps, refs = random_corpus(rng, n_streams=rng.randint(1, 2))
        value = None if smooth in ("exp", "none") or rng.random() < 0.5 else rng.choice([0.01, 0.5, 2])
        lowercase = rng.random() < 0.3
        ours = corpus_bleu(hyps, refs, tokenize=kind, smooth=smooth, smooth_value=value, lowercase=lowercase)
        theirs = BLEU(tokenize=kind, smooth_method=smooth, smooth_value=value, lowercase=lowercase).corpus_score(hyps, refs)
        assert_same(ours, theirs, counts=smooth != "add-k")


EN = [  # (hypothesis, reference)
    ("The cat sat on the mat.", "The cat is sitting on the mat."),
    ("I have two brothers and one sister.", "I have two brothers and a sister."),
    ("It is raining heavily today.", "It's raining hard today."),
    ("Where is the train station?", "Where is the railway station?"),
    ("She bought 3 apples for $2.50.", "She bought three apples for $2.50."),
    ("He doesn't like coffee, but he loves tea.", "He does not like coffee, but he loves tea."),
    ("Please close the door.", "Please close the door."),
    ("The meeting starts at 10:30 a.m.", "The meeting begins at 10:30 in the morning."),
    ("We walked along the river for an hour.", "We walked by the river for one hour."),
    ("My phone's battery is almost empty!", "The battery of my phone is nearly dead!"),
    ("Tom is older than Mary.", "Tom is older than Mary."),
    ("Can you help me carry this box?", "Could you help me carry this box?"),
    ("The population grew by 1,200 people in 2019.", "In 2019, the population grew by 1,200."),
    ("\"Stop!\" she shouted.", "\"Stop!\" she cried."),
    ("This is a well-known problem.", "This is a famous problem."),
    ("Dinner is ready.", "Dinner's ready."),
]
ZH = [
    ("我今天很高兴。", "今天我很开心。"),
    ("猫坐在垫子上。", "猫坐在垫子上。"),
    ("他有两个哥哥和一个妹妹。", "他有两个哥哥和一个妹妹。"),
    ("今天下大雨。", "今天雨下得很大。"),
    ("火车站在哪里？", "火车站在哪儿？"),
    ("她花了2.5元买了3个苹果。", "她用2.5元买了三个苹果。"),
    ("他不喜欢咖啡，但是他喜欢茶。", "他不爱喝咖啡，但很爱喝茶。"),
    ("请关门。", "请把门关上。"),
    ("会议上午10点开始。", "会议在上午10点开始。"),
    ("我们沿着河走了一个小时。", "我们在河边走了一小时。"),
    ("汤姆比玛丽大。", "汤姆比玛丽年纪大。"),
    ("你能帮我搬这个箱子吗？", "你可以帮我搬这个箱子吗？"),
    ("“停下！”她喊道。", "“停！”她大叫。"),
    ("我在学习Python和PyTorch。", "我正在学Python和PyTorch。"),
    ("晚饭好了。", "晚饭做好了。"),
    ("这是一个有名的问题。", "这是一个众所周知的问题。"),
]


@pytest.mark.parametrize("pairs, kinds", [(EN, ["13a", "char", "none"]), (ZH, ["zh", "char", "13a"])], ids=["en", "zh"])
def test_real_sentences_match_sacrebleu(pairs, kinds):
    """kinds[0] is the tokenizer meant for the language (13a leaves a Chinese sentence one token)."""
    hyps, refs = [h for h, _ in pairs], [r for _, r in pairs]
    for kind in kinds:
        for lowercase in (False, True):
            ours = corpus_bleu(hyps, refs, tokenize=kind, lowercase=lowercase)
            theirs = sacrebleu.corpus_bleu(hyps, [refs], tokenize=kind, lowercase=lowercase)
            assert_same(ours, theirs)
            assert 20 < ours.score < 80 or kind != kinds[0]
        for hyp, ref in pairs:
            assert_same(sentence_bleu(hyp, ref, tokenize=kind), sacrebleu.sentence_bleu(hyp, [ref], tokenize=kind))


def test_no_hypotheses_score_zero_and_mismatches_are_one_line():
    assert corpus_bleu([], []).score == 0.0 and corpus_bleu([], [[], []]).score == 0.0
    assert corpus_bleu_tokens([], []).score == 0.0
    with pytest.raises(RnnTuiError, match=r"^2 hypotheses but 1 references;"):
        corpus_bleu(["a b", "c"], ["a b"])
    with pytest.raises(RnnTuiError, match=r"^1 hypotheses but 2 references in stream 2;"):
        corpus_bleu(["a b"], [["a b"], ["a", "b"]])
    with pytest.raises(RnnTuiError, match="hypotheses but"):
        corpus_bleu_tokens([["a"]], [])


# -- sentence BLEU and token lists -------------------------------------------------------------------


def test_sentence_bleu_matches_sacrebleu():
    rng = random.Random(3)
    for i in range(300):
        hyps, refs = random_corpus(rng, n_streams=rng.randint(1, 3))
        hyp, seg_refs = hyps[0], [stream[0] for stream in refs]
        if i % 3 == 0:
            hyp = " ".join(hyp.split()[:rng.randint(1, 3)])  # too short for some n-gram orders: effective order
        kind = rng.choice(BLEU_TOKENIZERS)
        ref = seg_refs[0] if len(seg_refs) == 1 and rng.random() < 0.5 else seg_refs
        assert_same(sentence_bleu(hyp, ref, tokenize=kind), sacrebleu.sentence_bleu(hyp, seg_refs, tokenize=kind))


def test_corpus_bleu_tokens_is_corpus_bleu_on_joined_tokens():
    rng = random.Random(4)
    for _ in range(100):
        hyps, refs = random_corpus(rng)
        hyp_tokens, ref_tokens = [h.split() for h in hyps], [r.split() for r in refs[0]]
        for smooth in SMOOTHINGS:
            joined = corpus_bleu([" ".join(t) for t in hyp_tokens], [" ".join(t) for t in ref_tokens], tokenize="none",
                                 smooth=smooth)
            assert corpus_bleu_tokens(hyp_tokens, ref_tokens, smooth=smooth) == joined


# -- the command -------------------------------------------------------------------------------------


def write_lines(path, lines, bom=False, newline="\n"):
    path.write_bytes(("\ufeff" if bom else "").encode() + "".join(line + newline for line in lines).encode("utf-8"))
    return path


def test_bleu_command_prints_the_library_score(monkeypatch, capsys, tmp_path):
    hyps, refs = [h for h, _ in EN], [r for _, r in EN]
    other = [h.upper() for h in hyps]
    hyp_file = write_lines(tmp_path / "hyp.txt", hyps, newline="\r\n")  # the \r goes like trailing space
    ref_file = write_lines(tmp_path / "ref.txt", refs, bom=True)
    other_file = write_lines(tmp_path / "other.txt", other)

    code, out, err = run_cli(monkeypatch, capsys, "bleu", hyp_file, ref_file)
    assert (code, err) == (0, "") and out == corpus_bleu(hyps, refs).format() + "\n"
    assert out.strip() == str(sacrebleu.corpus_bleu(hyps, [refs]))

    code, out, err = run_cli(monkeypatch, capsys, "bleu", hyp_file, ref_file, other_file, "--smooth", "floor",
                             "--lowercase", "--json")
    expected = corpus_bleu(hyps, [refs, other], smooth="floor", lowercase=True)
    assert code == 0 and json.loads(out) == {
        "score": expected.score, "precisions": expected.precisions, "bp": expected.bp, "ratio": expected.ratio,
        "hyp_len": expected.sys_len, "ref_len": expected.ref_len, "tokenize": "13a", "smooth": "floor"}


def test_bleu_command_zh_matches_sacrebleu(monkeypatch, capsys, tmp_path):
    hyps, refs = [h for h, _ in ZH], [r for _, r in ZH]
    hyp_file, ref_file = write_lines(tmp_path / "hyp.zh", hyps), write_lines(tmp_path / "ref.zh", refs)
    code, out, _ = run_cli(monkeypatch, capsys, "bleu", hyp_file, ref_file, "--tokenize", "zh", "--json")
    assert code == 0
    assert json.loads(out)["score"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs], tokenize="zh").score, abs=1e-9)


@pytest.mark.parametrize("case", ["line-counts", "second-ref-lines", "missing-file", "bad-utf8", "bad-choice", "no-ref"])
def test_bleu_command_errors_are_one_line(monkeypatch, capsys, tmp_path, case):
    hyp = write_lines(tmp_path / "hyp.txt", ["a b c", "d e"])
    ref = write_lines(tmp_path / "ref.txt", ["a b c", "d e"])
    short = write_lines(tmp_path / "short.txt", ["a b c"])
    latin = tmp_path / "latin.txt"
    latin.write_bytes("café\nthé\n".encode("latin-1"))
    args = {
        "line-counts": [hyp, short], "second-ref-lines": [hyp, ref, short], "missing-file": [hyp, tmp_path / "nope.txt"],
        "bad-utf8": [latin, ref], "bad-choice": [hyp, ref, "--tokenize", "intl"], "no-ref": [hyp],
    }[case]
    code, out, err = run_cli(monkeypatch, capsys, "bleu", *args)
    assert code != 0 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("rnn-tui: error: "), err


def test_bleu_command_does_not_import_torch(tmp_path):
    hyp = write_lines(tmp_path / "hyp.txt", ["a b c d"])
    code = (
        "import sys\nfrom rnn_tui.cli import main\n"
        f"sys.argv = ['rnn-tui', 'bleu', {str(hyp)!r}, {str(hyp)!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('TORCH', 'torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["BLEU = 100.00 100.0/100.0/100.0/100.0 (BP = 1.000 ratio = 1.000 hyp_len = 4 ref_len = 4)",
                                "TORCH False"]
