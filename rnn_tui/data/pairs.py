"""Parallel sentence pairs for translation: read a TSV, tokenize both sides, pad batches.

The file format is Tatoeba's (manythings.org): ``english<TAB>chinese<TAB>attribution``. Columns
after the second are ignored; a line without two non-empty tab-separated columns is skipped and
counted, never guessed at.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import torch

from rnn_tui.data.text import read_file, split_sizes
from rnn_tui.data.tokenizers import get_tokenizer
from rnn_tui.data.vocab import Vocab
from rnn_tui.errors import RnnTuiError

Encoded = list[tuple[list[int], list[int]]]


@dataclass
class PairFile:
    """The pairs of a file (source, target), and the malformed lines that were skipped."""

    pairs: list[tuple[str, str]]
    skipped: int = 0
    first_skipped: list[int] = field(default_factory=list)  # up to 5 line numbers, 1-based


def read_pairs(path: str | Path, encoding: str = "utf-8", reverse: bool = False) -> PairFile:
    """Read a tab-separated pairs file; ``reverse`` makes the second column the source."""
    path = Path(path)
    pairs: list[tuple[str, str]] = []
    skipped, first_skipped = 0, []
    for number, line in enumerate(read_file(path, encoding).split("\n"), start=1):
        if not line.strip():
            continue
        cols = line.split("\t")
        if len(cols) < 2 or not cols[0].strip() or not cols[1].strip():
            skipped += 1
            if len(first_skipped) < 5:
                first_skipped.append(number)
            continue
        src, tgt = cols[0].strip(), cols[1].strip()
        pairs.append((tgt, src) if reverse else (src, tgt))
    if not pairs:
        raise RnnTuiError(f"{path} has no sentence pairs; expected lines of source<TAB>target")
    return PairFile(pairs=pairs, skipped=skipped, first_skipped=first_skipped)


@dataclass
class PairCorpus:
    """Tokenized pairs with one vocabulary per side, split after a seeded shuffle."""

    src_vocab: Vocab
    tgt_vocab: Vocab
    src_tokenizer: str
    tgt_tokenizer: str
    train: Encoded
    val: Encoded
    test: Encoded

    @classmethod
    def from_pairs(
        cls,
        pairs: list[tuple[str, str]],
        src_tokenizer: str = "word",
        tgt_tokenizer: str = "char",
        max_len: int = 0,
        val_fraction: float = 0.1,
        test_fraction: float = 0.0,
        min_freq: int = 1,
        seed: int = 0,
        lowercase_src: bool = False,
    ) -> PairCorpus:
        """Tokenize, drop pairs longer than ``max_len`` tokens on either side (0 = keep all),
        shuffle with ``seed``, split, and build each side's vocabulary from the training pairs."""
        src_tok, tgt_tok = get_tokenizer(src_tokenizer), get_tokenizer(tgt_tokenizer)
        tokenized = []
        for src, tgt in pairs:
            s = src_tok.tokenize(src.lower() if lowercase_src else src)
            t = tgt_tok.tokenize(tgt)
            if s and t and (max_len <= 0 or (len(s) <= max_len and len(t) <= max_len)):
                tokenized.append((s, t))
        if not tokenized:
            hint = f"raise --max-len (now {max_len})" if max_len > 0 else "check the file"
            raise RnnTuiError(f"no sentence pairs left out of {len(pairs)}; {hint}")
        random.Random(seed).shuffle(tokenized)
        n_train, n_val, _ = split_sizes(len(tokenized), val_fraction, test_fraction)
        train_part = tokenized[:n_train]
        src_vocab = Vocab.build(Counter(tok for s, _ in train_part for tok in s), min_freq=min_freq)
        tgt_vocab = Vocab.build(Counter(tok for _, t in train_part for tok in t), min_freq=min_freq)

        def encode(part: list[tuple[list[str], list[str]]]) -> Encoded:
            return [(src_vocab.encode(s), tgt_vocab.encode(t)) for s, t in part]

        return cls(
            src_vocab=src_vocab,
            tgt_vocab=tgt_vocab,
            src_tokenizer=src_tokenizer,
            tgt_tokenizer=tgt_tokenizer,
            train=encode(train_part),
            val=encode(tokenized[n_train : n_train + n_val]),
            test=encode(tokenized[n_train + n_val :]),
        )


def pad_batch(
    seqs: list[list[int]], pad_id: int, bos_id: int | None = None, eos_id: int | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pad ``seqs`` (optionally with ``bos_id`` prepended, ``eos_id`` appended) into
    ids (B, T) int64, lengths (B,) int64 and mask (B, T) bool, True on real tokens."""
    seqs = [([bos_id] if bos_id is not None else []) + list(s) + ([eos_id] if eos_id is not None else []) for s in seqs]
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.int64)
    T = int(lengths.max()) if len(seqs) else 0
    ids = torch.full((len(seqs), T), pad_id, dtype=torch.int64)
    for row, s in enumerate(seqs):
        ids[row, : len(s)] = torch.tensor(s, dtype=torch.int64)
    mask = torch.arange(T)[None, :] < lengths[:, None]
    return ids, lengths, mask
