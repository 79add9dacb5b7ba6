"""Corpus BLEU (Papineni et al., 2002), computed as sacrebleu 2.x computes it.

For hypotheses h_s and references r_s,k (segment s, reference k), with N = 4:

    m_n  = Σ_s Σ_g min(count(g, h_s), max_k count(g, r_s,k))   clipped matches, g an n-gram of h_s
    t_n  = Σ_s (number of n-grams in h_s)
    p_n  = 100 · m_n / t_n                                        n-gram precision, in percent
    c    = Σ_s |h_s|,   r = Σ_s |r_s,k*|   k* the reference closest in length to h_s (ties → shorter)
    BP   = 1 if c ≥ r, else exp(1 − r / c)   (0 when c = 0)
    BLEU = BP · exp( (1/N) Σ_{n=1..N} log p_n )                    0..100

Smoothing, when some m_n = 0 (Chen & Cherry 2014; sacrebleu's names):
  none   p_n = 0, so BLEU = 0
  floor  p_n = 100 · ε / t_n                      (ε = 0.1 unless given)
  add-k  m_n + k and t_n + k for every n ≥ 2      (k = 1 unless given)
  exp    the j-th order with no match gets p_n = 100 / (2^j · t_n)   (sacrebleu's default)
Whatever the smoothing, no match at any order gives BLEU = 0. An order the hypotheses are too
short to have (t_n = 0) gives BLEU = 0, except with the *effective order* of sentence BLEU,
where N becomes the longest order with t_n > 0.

Text is lowercased (if asked), stripped of trailing whitespace and tokenized first; the
tokenizers reproduce sacrebleu's ``13a`` (mteval-v13a, the WMT default), ``zh``, ``char`` and
``none``. sacrebleu itself is only a test dependency: the tests compare against it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from rnn_tui.errors import RnnTuiError

MAX_ORDER = 4
BLEU_TOKENIZERS = ("13a", "zh", "char", "none")
SMOOTH_DEFAULTS: dict[str, float] = {"none": 0.0, "floor": 0.1, "add-k": 1.0, "exp": 0.0}  # k: floor and add-k use it
LOG_ZERO = -9999999999  # sacrebleu's log(0): a zero precision makes the score exactly 0


# -- tokenizers ------------------------------------------------------------------------------------

# sacrebleu's TokenizerRegexp, shared by 13a and zh (written for Western languages), in order:
_REGEXP_RULES = [
    # split off ASCII symbols: {|}~ [\]^_` space!"#$%& ()*+ :;<=>?@ /
    (re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), r" \1 "),
    # split off a period or comma unless it comes after a digit ...
    (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),
    # ... or unless a digit follows it
    (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),
    # split off a dash after a digit
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),
]


def _regexp_tokens(line: str) -> list[str]:
    for pattern, replacement in _REGEXP_RULES:
        line = pattern.sub(replacement, line)
    return line.split()


def _tokenize_13a(line: str) -> list[str]:
    """sacrebleu's Tokenizer13a: unescape a few HTML entities, then the rules, on ' line '."""
    line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    line = line.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    return _regexp_tokens(f" {line} ")


# sacrebleu's TokenizerZh._UCODE_RANGES, in its order, as code points. Two of its entries are
# written '\u20000' and '\u2f800' (meant: U+20000 and U+2F800); Python reads each as a 4-digit
# escape followed by "0", and sacrebleu compares one character with these 2-character strings,
# so what takes effect is U+2001..U+2A6D and U+2F81..U+2FA1. In effect general punctuation
# (— “ ” …), currency signs, arrows, maths and box drawing count as Chinese, and Extension B
# does not. We follow what sacrebleu runs, not what it meant, so that the scores agree.
_ZH_RANGES = [
    (0x3400, 0x4DB5),  # CJK Unified Ideographs Extension A, release 3.0
    (0x4E00, 0x9FA5),  # CJK Unified Ideographs, release 1.1
    (0x9FA6, 0x9FBB),  # CJK Unified Ideographs, release 4.1
    (0xF900, 0xFA2D),  # CJK Compatibility Ideographs, release 1.1
    (0xFA30, 0xFA6A),  # CJK Compatibility Ideographs, release 3.2
    (0xFA70, 0xFAD9),  # CJK Compatibility Ideographs, release 4.1
    (0x2001, 0x2A6D),  # meant: U+20000..U+2A6D6, CJK Unified Ideographs Extension B (see above)
    (0x2F81, 0x2FA1),  # meant: U+2F800..U+2FA1D, CJK Compatibility Supplement (see above)
    (0xFF00, 0xFFEF),  # full-width ASCII and punctuation, half-width kana, Hangul
    (0x2E80, 0x2EFF),  # CJK Radicals Supplement
    (0x3000, 0x303F),  # CJK punctuation
    (0x31C0, 0x31EF),  # CJK strokes
    (0x2F00, 0x2FDF),  # Kangxi Radicals
    (0x2FF0, 0x2FFF),  # ideographic description characters
    (0x3100, 0x312F),  # Bopomofo
    (0x31A0, 0x31BF),  # Bopomofo extended
    (0xFE10, 0xFE1F),  # vertical forms
    (0xFE30, 0xFE4F),  # CJK compatibility forms
    (0x2600, 0x26FF),  # miscellaneous symbols
    (0x2700, 0x27BF),  # dingbats
    (0x3200, 0x32FF),  # enclosed CJK letters and months
    (0x3300, 0x33FF),  # CJK compatibility
]


def _is_chinese_char(char: str) -> bool:
    code = ord(char)
    return any(start <= code <= end for start, end in _ZH_RANGES)


def _tokenize_zh(line: str) -> list[str]:
    """sacrebleu's TokenizerZh: every Chinese character (as above) is a token; the rest goes
    through the 13a rules (without 13a's entity unescaping and ' line ' padding)."""
    spaced = "".join(f" {char} " if _is_chinese_char(char) else char for char in line.strip())
    return _regexp_tokens(spaced)


def _tokenize_char(line: str) -> list[str]:
    return [char for char in line if not char.isspace()]


_TOKENIZE: dict[str, Callable[[str], list[str]]] = {
    "13a": _tokenize_13a, "zh": _tokenize_zh, "char": _tokenize_char, "none": str.split,
}


def tokenize(text: str, kind: str) -> list[str]:
    """The tokens of ``text`` under the tokenizer ``kind`` (one of ``BLEU_TOKENIZERS``)."""
    if kind not in _TOKENIZE:
        raise RnnTuiError(f"unknown tokenizer {kind!r}; choose one of {', '.join(BLEU_TOKENIZERS)}")
    return _TOKENIZE[kind](text)


# -- the score ---------------------------------------------------------------------------------------


@dataclass
class BleuScore:
    score: float  # 0..100
    precisions: list[float]  # p_1..p_4, percent (after smoothing)
    bp: float  # brevity penalty
    ratio: float  # sys_len / ref_len (0 when ref_len is 0)
    sys_len: int  # hypothesis tokens
    ref_len: int  # closest-reference tokens
    counts: list[int]  # clipped n-gram matches m_1..m_4 (before smoothing)
    totals: list[int]  # hypothesis n-grams t_1..t_4 (before smoothing)

    def format(self) -> str:
        """One line, as sacrebleu prints it."""
        precisions = "/".join(f"{p:.1f}" for p in self.precisions)
        return (f"BLEU = {self.score:.2f} {precisions} (BP = {self.bp:.3f} ratio = {self.ratio:.3f} "
                f"hyp_len = {self.sys_len:d} ref_len = {self.ref_len:d})")


def _ngrams(tokens: list[str]) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i:i + n]) for n in range(1, MAX_ORDER + 1) for i in range(len(tokens) - n + 1))


def _score(counts: list[int], totals: list[int], sys_len: int, ref_len: int,
           smooth: str, smooth_value: float | None, effective_order: bool) -> BleuScore:
    """BLEU from the corpus statistics; the loop follows sacrebleu's ``BLEU.compute_bleu``."""
    if smooth not in SMOOTH_DEFAULTS:
        raise RnnTuiError(f"unknown smoothing {smooth!r}; choose one of {', '.join(SMOOTH_DEFAULTS)}")
    k = SMOOTH_DEFAULTS[smooth] if smooth_value is None else smooth_value
    if sys_len >= ref_len:
        bp = 1.0
    else:
        bp = math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0
    ratio = sys_len / ref_len if ref_len else 0
    precisions = [0.0] * MAX_ORDER
    if not any(counts):  # no match at any order: 0 whatever the smoothing
        return BleuScore(0.0, precisions, bp, ratio, sys_len, ref_len, counts, totals)

    order = MAX_ORDER  # the N of the mean
    exp_divisor = 1.0  # exp smoothing: 2^j at the j-th order without a match
    for n in range(1, MAX_ORDER + 1):
        matched: float = counts[n - 1]
        total: float = totals[n - 1]
        if smooth == "add-k" and n > 1:
            matched, total = matched + k, total + k
        if total == 0:  # the hypotheses have no n-grams this long (nor longer)
            break
        if effective_order:
            order = n
        if matched == 0:
            if smooth == "exp":
                exp_divisor *= 2
                precisions[n - 1] = 100.0 / (exp_divisor * total)
            elif smooth == "floor":
                precisions[n - 1] = 100.0 * k / total
        else:
            precisions[n - 1] = 100.0 * matched / total

    logs = [math.log(p) if p != 0.0 else LOG_ZERO for p in precisions[:order]]
    score = bp * math.exp(sum(logs) / order)
    return BleuScore(score, precisions, bp, ratio, sys_len, ref_len, counts, totals)


def _bleu(hyps: list[list[str]], refs: list[list[list[str]]], smooth: str = "exp",
          smooth_value: float | None = None, effective_order: bool = False) -> BleuScore:
    """BLEU of tokenized hypotheses; ``refs[s]`` holds the tokenized references of segment s."""
    counts, totals = [0] * MAX_ORDER, [0] * MAX_ORDER
    sys_len = ref_len = 0
    for hyp, seg_refs in zip(hyps, refs):
        ref_ngrams: Counter[tuple[str, ...]] = Counter()
        for ref in seg_refs:
            ref_ngrams |= _ngrams(ref)  # | keeps the larger count: clipping takes the max over references
        for ngram, count in _ngrams(hyp).items():
            totals[len(ngram) - 1] += count
            counts[len(ngram) - 1] += min(count, ref_ngrams[ngram])
        sys_len += len(hyp)
        ref_len += min((len(ref) for ref in seg_refs), key=lambda length: (abs(len(hyp) - length), length))
    return _score(counts, totals, sys_len, ref_len, smooth, smooth_value, effective_order)


def _prepare(text: str, kind: str, lowercase: bool) -> list[str]:
    """sacrebleu's segment preprocessing: lowercase, strip trailing whitespace, tokenize."""
    return tokenize((text.lower() if lowercase else text).rstrip(), kind)


def _reference_streams(refs: list[str] | list[list[str]], n_hyps: int) -> list[list[str]]:
    """``refs`` as a list of streams, each one reference per hypothesis (checked)."""
    streams = cast("list[list[str]]", [refs] if all(isinstance(ref, str) for ref in refs) else refs)
    for i, stream in enumerate(streams):
        _check_lengths(n_hyps, len(stream), "references" if len(streams) == 1 else f"references in stream {i + 1}")
    return streams


def _check_lengths(n_hyps: int, n_refs: int, what: str = "references") -> None:
    if n_refs != n_hyps:
        raise RnnTuiError(f"{n_hyps} hypotheses but {n_refs} {what}; BLEU needs one reference per hypothesis")


# -- the public functions ------------------------------------------------------------------------------


def corpus_bleu(hyps: list[str], refs: list[str] | list[list[str]], tokenize: str = "13a", smooth: str = "exp",
                smooth_value: float | None = None, lowercase: bool = False) -> BleuScore:
    """Corpus BLEU of ``hyps`` against ``refs``: one reference per hypothesis (a list of
    strings) or several reference streams (a list of such lists, as sacrebleu takes them)."""
    streams = _reference_streams(refs, len(hyps))
    hyp_tokens = [_prepare(hyp, tokenize, lowercase) for hyp in hyps]
    ref_tokens = [[_prepare(ref, tokenize, lowercase) for ref in seg_refs] for seg_refs in zip(*streams)]
    return _bleu(hyp_tokens, ref_tokens, smooth, smooth_value)


def sentence_bleu(hyp: str, ref: str | list[str], tokenize: str = "13a") -> BleuScore:
    """BLEU of one sentence against one reference (or several), with sacrebleu's sentence-level
    defaults: exp smoothing and the effective order (N = the longest order ``hyp`` has)."""
    refs = [ref] if isinstance(ref, str) else ref
    if not refs:
        raise RnnTuiError("sentence BLEU needs at least one reference")
    ref_tokens = [_prepare(r, tokenize, lowercase=False) for r in refs]
    return _bleu([_prepare(hyp, tokenize, lowercase=False)], [ref_tokens], effective_order=True)


def corpus_bleu_tokens(hyps: list[list[str]], refs: list[list[str]], smooth: str = "exp",
                       smooth_value: float | None = None) -> BleuScore:
    """Corpus BLEU of already tokenized hypotheses, one tokenized reference each (tokens are
    taken as they are, e.g. a model's output tokens)."""
    _check_lengths(len(hyps), len(refs))
    return _bleu(hyps, [[ref] for ref in refs], smooth, smooth_value)
