"""Parallel sentence pairs for translation: read a TSV, tokenize both sides, pad batches.

The file format is Tatoeba's (manythings.org): ``english<TAB>chinese<TAB>attribution``. Columns
after the second are ignored; a line without two non-empty tab-separated columns is skipped and
counted, never guessed at — so is one whose second column is the attribution (Tatoeba's cmn.txt
has two lines with spaces instead of the first TAB: the "pair" would be sentence → licence).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import torch

from rnn_tui.data.shards import count_batches, full_batches, rows_of
from rnn_tui.data.text import read_file, split_sizes
from rnn_tui.data.tokenizers import get_tokenizer
from rnn_tui.data.transfer import to_device
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
    skipped, first_skipped = 0, list[int]()
    for number, line in enumerate(read_file(path, encoding).split("\n"), start=1):
        if not line.strip():
            continue
        cols = line.split("\t")
        if len(cols) < 2 or not cols[0].strip() or not cols[1].strip() or _is_attribution(cols[1]):
            skipped += 1
            if len(first_skipped) < 5:
                first_skipped.append(number)
            continue
        src, tgt = cols[0].strip(), cols[1].strip()
        pairs.append((tgt, src) if reverse else (src, tgt))
    if not pairs:
        raise RnnTuiError(f"{path} has no sentence pairs; expected lines of source<TAB>target")
    return PairFile(pairs=pairs, skipped=skipped, first_skipped=first_skipped)


def _is_attribution(column: str) -> bool:
    return column.lstrip().startswith("CC-BY")


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
    test_text: list[tuple[str, str]] = field(default_factory=list)  # the test pairs as text (source tokens joined by spaces)

    @classmethod
    def from_pairs(
        cls,
        pairs: list[tuple[str, str]],
        src_tokenizer: str = "word",
        tgt_tokenizer: str = "char",
        max_src_words: int = 0,
        val_fraction: float = 0.1,
        test_fraction: float = 0.0,
        test_size: int = 0,
        min_freq: int = 1,
        seed: int = 0,
        lowercase_src: bool = False,
        vocabs: tuple[Vocab, Vocab] | None = None,
    ) -> PairCorpus:
        """Tokenize, drop pairs whose source has more than ``max_src_words`` words (tokens with
        a letter or digit; 0 = keep all), shuffle with ``seed``, split — the test split first,
        ``test_size`` pairs or ``test_fraction`` of them, then validation — and build each
        side's vocabulary from the training pairs (or reuse ``vocabs`` when resuming)."""
        src_tok, tgt_tok = get_tokenizer(src_tokenizer), get_tokenizer(tgt_tokenizer)
        tokenized = []
        for src, tgt in pairs:
            s = src_tok.tokenize(src.lower() if lowercase_src else src)
            t = tgt_tok.tokenize(tgt)
            if s and t and (max_src_words <= 0 or sum(1 for w in s if _has_alnum(w)) <= max_src_words):
                tokenized.append((s, t))
        if not tokenized:
            hint = f"raise --max-src-words (now {max_src_words})" if max_src_words > 0 else "check the file"
            raise RnnTuiError(f"no sentence pairs left out of {len(pairs)}; {hint}")
        random.Random(seed).shuffle(tokenized)
        if test_size:
            if test_size >= len(tokenized):
                raise RnnTuiError(f"--test-size {test_size} leaves no pairs to train on ({len(tokenized)} in all)")
            n_test = test_size
            _, n_val, _ = split_sizes(len(tokenized) - n_test, val_fraction, 0.0)
        else:
            _, n_val, n_test = split_sizes(len(tokenized), val_fraction, test_fraction)
        test_part, val_part, train_part = (tokenized[:n_test], tokenized[n_test:n_test + n_val],
                                           tokenized[n_test + n_val:])
        if vocabs is not None:
            src_vocab, tgt_vocab = vocabs
        else:
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
            val=encode(val_part),
            test=encode(test_part),
            test_text=[(" ".join(s), tgt_tok.detokenize(t)) for s, t in test_part],
        )


def _has_alnum(token: str) -> bool:
    return any(ch.isalnum() for ch in token)


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


@dataclass
class PairBatch:
    """One batch of pairs, padded: the decoder reads ``tgt_in`` (<bos> + target) and is
    scored on ``tgt_out`` (target + <eos>); ``tokens`` counts the real target tokens."""

    src: torch.Tensor  # (B, S) int64
    src_len: torch.Tensor  # (B,) int64, on the CPU (packing reads it there)
    tgt_in: torch.Tensor  # (B, T) int64
    tgt_out: torch.Tensor  # (B, T) int64
    tokens: int

    def to(self, device) -> PairBatch:
        return PairBatch(to_device(self.src, device), self.src_len, to_device(self.tgt_in, device),
                         to_device(self.tgt_out, device), self.tokens)


class PairBatches:
    """Batches of sentence pairs, indexable and deterministic per (seed, epoch, index), so a
    resumed run sees the same batches. Each epoch shuffles the pairs, sorts pools of 50 batches
    by source length (little padding), cuts them into batches and shuffles the batch order.
    ``shuffle=False`` keeps the file order (validation). Of ``ranks`` data-parallel processes,
    rank ``rank`` gets its block of each batch's pairs (data/shards.py)."""

    POOL = 50

    def __init__(self, pairs: Encoded, batch: int, seed: int = 0, shuffle: bool = True, rank: int = 0,
                 ranks: int = 1) -> None:
        if not pairs:
            raise RnnTuiError("no sentence pairs in this split")
        self.pairs, self.batch, self.seed, self.shuffle = pairs, batch, seed, shuffle
        self.rank, self.ranks = rank, ranks
        self._epoch: int | None = None
        self._order: list[list[int]] = []

    def __len__(self) -> int:
        return count_batches(len(self.pairs), self.batch, self.ranks)

    def _batches(self, epoch: int) -> list[list[int]]:
        if self._epoch != epoch:
            idx = list(range(len(self.pairs)))
            if self.shuffle:
                rng = random.Random(self.seed * 1_000_003 + epoch)
                rng.shuffle(idx)
                pool = self.POOL * self.batch
                idx = [i for start in range(0, len(idx), pool)
                       for i in sorted(idx[start:start + pool], key=lambda i: len(self.pairs[i][0]))]
            batches = [idx[k:k + self.batch] for k in range(0, len(idx), self.batch)]
            if self.shuffle:
                rng.shuffle(batches)
            self._epoch, self._order = epoch, full_batches(batches, self.ranks)
        return self._order

    def get(self, epoch: int, index: int) -> PairBatch:
        rows = [self.pairs[i] for i in rows_of(self._batches(epoch)[index], self.rank, self.ranks)]
        src, src_len, _ = pad_batch([s for s, _ in rows], Vocab.pad_id)
        tgt_in, _, _ = pad_batch([t for _, t in rows], Vocab.pad_id, bos_id=Vocab.bos_id)
        tgt_out, _, _ = pad_batch([t for _, t in rows], Vocab.pad_id, eos_id=Vocab.eos_id)
        return PairBatch(src, src_len, tgt_in, tgt_out, tokens=sum(len(t) + 1 for _, t in rows))
