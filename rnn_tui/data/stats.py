"""Dataset previews for ``rnn-tui data show``: plain JSON-serialisable dicts."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rnn_tui.data.labeled import LabeledFile
from rnn_tui.data.pairs import PairFile
from rnn_tui.data.series import Series
from rnn_tui.data.text import split_sizes
from rnn_tui.data.tokenizers import get_tokenizer
from rnn_tui.data.vocab import SPECIALS

if TYPE_CHECKING:
    from rnn_tui.data.windows import ForecastData

SAMPLE_CHARS = 200


def histogram(lengths: Sequence[int], bins: int = 10) -> dict:
    """About ``bins`` integer-width bins: ``counts[k]`` counts ``bins[k] <= length < bins[k+1]``."""
    if not lengths:
        return {"bins": [], "counts": []}
    lo, hi = min(lengths), max(lengths)
    width = max(1, math.ceil((hi - lo + 1) / bins))
    n_bins = (hi - lo) // width + 1
    counts = [0] * n_bins
    for n in lengths:
        counts[(n - lo) // width] += 1
    return {"bins": [lo + k * width for k in range(n_bins + 1)], "counts": counts}


def _side(texts: Sequence[str], tokenizer: str, top: int) -> dict:
    """Token counts, vocabulary size, top tokens and lengths (summary, histogram) of some texts."""
    tok = get_tokenizer(tokenizer)
    counts: Counter[str] = Counter()
    lengths = []
    for text in texts:
        tokens = tok.tokenize(text)
        counts.update(tokens)
        lengths.append(len(tokens))
    return {
        "tokenizer": tokenizer,
        "tokens": sum(counts.values()),
        "vocab_size": len(SPECIALS) + len(counts),
        "top_tokens": [[t, n] for t, n in counts.most_common(top)],
        "length": {"min": min(lengths), "median": statistics.median(lengths), "mean": round(statistics.fmean(lengths), 2),
                   "max": max(lengths)} if lengths else {},
        "length_histogram": histogram(lengths),
    }


def describe_text(
    text: str,
    tokenizer: str = "char",
    top: int = 20,
    sample_lines: int = 5,
    val_fraction: float = 0.1,
    test_fraction: float = 0.0,
) -> dict:
    """Sizes, vocabulary, top tokens, tokens-per-line histogram (non-blank lines), samples, split."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # a final "\n" ends the last line, it does not start a new one
    filled = [line for line in lines if line.strip()]
    if tokenizer == "char":
        counts = Counter(text)
        lengths = [len(line) for line in filled]
    else:
        tok = get_tokenizer(tokenizer)
        counts = Counter()
        lengths = []
        for line in lines:
            tokens = tok.tokenize(line)
            counts.update(tokens)
            if line.strip():
                lengths.append(len(tokens))
        if text.count("\n"):
            counts["\n"] += text.count("\n")
    n_tokens = sum(counts.values())
    train, val, test = split_sizes(n_tokens, val_fraction, test_fraction)
    return {
        "kind": "text",
        "tokenizer": tokenizer,
        "chars": len(text),
        "lines": len(lines),
        "tokens": n_tokens,
        "vocab_size": len(SPECIALS) + len(counts),
        "top_tokens": [[t, n] for t, n in counts.most_common(top)],
        "length_histogram": histogram(lengths),
        "samples": [line[:SAMPLE_CHARS] for line in filled[:sample_lines]],
        "split": {"train": train, "val": val, "test": test},
    }


def describe_pairs(
    pf: PairFile, src_tokenizer: str = "word", tgt_tokenizer: str = "char", top: int = 20, sample_lines: int = 5
) -> dict:
    """Pair count, skipped lines, and per side: tokens, vocabulary, top tokens, lengths."""
    return {
        "kind": "pairs",
        "pairs": len(pf.pairs),
        "skipped": pf.skipped,
        "first_skipped": list(pf.first_skipped),
        "source": _side([s for s, _ in pf.pairs], src_tokenizer, top),
        "target": _side([t for _, t in pf.pairs], tgt_tokenizer, top),
        "samples": [[s[:SAMPLE_CHARS], t[:SAMPLE_CHARS]] for s, t in pf.pairs[:sample_lines]],
    }


def describe_labels(lf: LabeledFile, tokenizer: str = "char", top: int = 20, samples_per_class: int = 3,
                    sample_classes: int = 10) -> dict:
    """Examples, classes with counts and shares (most frequent first), the accuracy of always
    answering the majority class, skipped lines, tokens and tokens per text, and a few samples of
    each of the ``sample_classes`` most frequent classes."""
    n = len(lf.texts)
    counts = lf.class_counts()
    samples = []
    for name, _ in counts[:sample_classes]:
        texts = [text for text, label in zip(lf.texts, lf.labels) if label == name][:samples_per_class]
        samples += [[name, text[:SAMPLE_CHARS]] for text in texts]
    return {
        "kind": "labels",
        "layout": lf.layout,
        "examples": n,
        "classes": len(counts),
        "majority_class": counts[0][0] if counts else "",
        "majority_accuracy": round(counts[0][1] / n, 4) if counts else 0.0,
        "skipped": lf.skipped,
        "first_skipped": list(lf.first_skipped),
        "class_counts": [[name, count, round(count / n, 4)] for name, count in counts],
        **_side(lf.texts, tokenizer, top),
        "samples": samples,
    }


def describe_series(s: Series, first: int = 10) -> dict:
    """Length, min / max / mean / std (population) and the first values."""
    v = s.values.double()
    n = v.numel()
    return {
        "kind": "series",
        "name": s.name,
        "length": n,
        "min": float(v.min()) if n else None,
        "max": float(v.max()) if n else None,
        "mean": float(v.mean()) if n else None,
        "std": float(v.std(correction=0)) if n else None,
        "first_values": [round(x, 6) for x in v[:first].tolist()],
    }


def describe_forecast(data: ForecastData, width: int = 1000) -> dict:
    """A series as a forecasting run reads it (its column, split, transforms and windows):
    describe_series, the dates of its first and last points, the points and the origins
    (forecasts) of each part, and the values averaged into at most ``width`` buckets (a sketch)."""
    s, split = data.series, data.split
    v = data.values
    n = v.numel()
    step = max(1, math.ceil(n / width))
    return {
        **describe_series(s),
        "dates": [s.dates[0], s.dates[-1]] if s.dates else None,
        "features": list(s.feature_names),
        "split": {"train": split.train_end, "val": split.val, "test": split.test},
        "windows": {part: len(data.origins(part)) for part in ("train", "val", "test")},
        "window": data.window, "horizon": data.horizon, "lost": data.transform.lost,
        "sketch": [float(v[k : k + step].mean()) for k in range(0, n, step)],
        "sketch_step": step,
    }
