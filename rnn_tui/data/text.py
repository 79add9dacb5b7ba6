"""Plain text for language models: read it, turn it into token ids, cut it into batches.

``read_text`` reads a file or a folder of ``.txt`` files; ``TextCorpus.from_text`` tokenizes,
builds the vocabulary and splits train / val / test contiguously; ``LMBatches`` serves
``(x, y)`` batches in one of the two classic schemes (sequential or random chunks).
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from rnn_tui.data.datafile import check_size, decode_bytes, read_data_file, read_file, text_files
from rnn_tui.data.shards import block
from rnn_tui.data.tokenizers import get_tokenizer
from rnn_tui.data.vocab import Vocab
from rnn_tui.errors import RnnTuiError

CHUNK = 1 << 22  # tensor work on long texts goes this many tokens at a time (bounded memory)


# -- reading files -------------------------------------------------------------------------------


def read_text(path: str | Path, encoding: str = "utf-8") -> str:
    """A text file, or every ``*.txt`` under a folder (sorted by path, joined with "\\n"); a
    folder's files together are bounded as one file is (``datafile.MAX_BYTES``)."""
    path = Path(path)
    if not path.is_dir():
        return read_file(path, encoding)
    files = text_files(path)
    if not files:
        raise RnnTuiError(f"{path} has no .txt files; point to a text file or a folder of .txt files")
    texts, total = [], 0
    for p in files:
        data = read_data_file(p)
        total += len(data)
        check_size(total, f"folder {path}")
        texts.append(decode_bytes(p, data, encoding))
    text = "\n".join(texts)
    if not text.strip():
        raise RnnTuiError(f"{path} is empty: nothing to train on")
    return text


# -- tokens to ids -------------------------------------------------------------------------------


def id_dtype(vocab_size: int) -> torch.dtype:
    """The smallest integer dtype that holds every id: int16 below 32768 tokens, else int32."""
    return torch.int16 if vocab_size < 32768 else torch.int32


def split_sizes(n: int, val_fraction: float, test_fraction: float) -> tuple[int, int, int]:
    """Train, val and test sizes of ``n`` items: val and test round down, train gets the rest."""
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise RnnTuiError(
            f"val fraction {val_fraction} + test fraction {test_fraction} must be in [0, 1); lower them"
        )
    n_val, n_test = int(n * val_fraction), int(n * test_fraction)
    return n - n_val - n_test, n_val, n_test


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text``, each with its "\\n", without building a list of them."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end


def _code_points(text: str, start: int, stop: int) -> torch.Tensor:
    """Code points of ``text[start:stop]`` as int32, via one UTF-32 encode (no per-char objects)."""
    raw = bytearray(text[start:stop].encode("utf-32-le", "surrogatepass"))
    return torch.frombuffer(raw, dtype=torch.int32) if raw else torch.empty(0, dtype=torch.int32)


def _encode_chars(text: str, vocab: Vocab | None, min_freq: int, max_vocab: int) -> tuple[Vocab, torch.Tensor]:
    """Character ids with tensor ops, a chunk of text at a time: no Python list of one string per
    character, and no full-size temporary copies, so memory stays near text + ids."""
    n = len(text)
    counts = torch.zeros(0x110000 if n else 1, dtype=torch.int64)  # occurrences of every code point
    first = torch.full(counts.shape, n, dtype=torch.int64)  # first position, so ties keep text order
    for s in range(0, n, CHUNK):
        part = _code_points(text, s, s + CHUNK).long()
        counts += torch.bincount(part, minlength=len(counts))
        if vocab is None:
            first.scatter_reduce_(0, part, torch.arange(s, s + len(part)), "amin")
    present = torch.nonzero(counts).flatten()
    if vocab is None:
        order = present[torch.argsort(first[present])].tolist()
        freq = counts.tolist()
        vocab = Vocab.build(Counter({chr(c): freq[c] for c in order}), min_freq=min_freq, max_size=max_vocab)
    dtype = id_dtype(len(vocab))
    table = torch.zeros(counts.shape, dtype=dtype)  # code point -> id
    table[present] = torch.tensor([vocab.stoi.get(chr(c), vocab.unk_id) for c in present.tolist()], dtype=dtype)
    ids = torch.empty(n, dtype=dtype)
    for s in range(0, n, CHUNK):
        ids[s : s + CHUNK] = table[_code_points(text, s, s + CHUNK).long()]
    return vocab, ids


def _encode_tokens(text: str, tokenizer: str, vocab: Vocab | None, min_freq: int, max_vocab: int) -> tuple[Vocab, torch.Tensor]:
    """Word/jieba ids, streamed line by line into a compact array of provisional ids."""
    tok = get_tokenizer(tokenizer)
    index: dict[str, int] = {}  # token -> provisional id, in order of first appearance
    counts: list[int] = []
    seq = array("i")
    for line in _lines(text):
        for token in tok.tokenize(line):
            j = index.get(token)
            if j is None:
                j = index[token] = len(counts)
                counts.append(0)
            counts[j] += 1
            seq.append(j)
    if vocab is None:
        vocab = Vocab.build(Counter(dict(zip(index, counts))), min_freq=min_freq, max_size=max_vocab)
    dtype = id_dtype(len(vocab))
    table = torch.tensor([vocab.stoi.get(t, vocab.unk_id) for t in index], dtype=dtype)
    provisional = torch.frombuffer(seq, dtype=torch.int32) if seq else torch.empty(0, dtype=torch.int32)
    ids = torch.empty(len(seq), dtype=dtype)
    for s in range(0, len(seq), CHUNK):
        ids[s : s + CHUNK] = table[provisional[s : s + CHUNK].long()]
    return vocab, ids


@dataclass
class TextCorpus:
    """A tokenized text split contiguously into train, val and test token ids."""

    vocab: Vocab
    tokenizer: str
    train: torch.Tensor
    val: torch.Tensor
    test: torch.Tensor

    @classmethod
    def from_text(
        cls,
        text: str,
        tokenizer: str = "char",
        val_fraction: float = 0.1,
        test_fraction: float = 0.0,
        min_freq: int = 1,
        max_vocab: int = 0,
        vocab: Vocab | None = None,
    ) -> TextCorpus:
        """Tokenize ``text`` (building the vocabulary over all of it unless ``vocab`` is given)."""
        get_tokenizer(tokenizer)  # an unknown name fails here, before any work
        if tokenizer == "char":
            vocab, ids = _encode_chars(text, vocab, min_freq, max_vocab)
        else:
            vocab, ids = _encode_tokens(text, tokenizer, vocab, min_freq, max_vocab)
        n_train, n_val, _ = split_sizes(len(ids), val_fraction, test_fraction)
        train, val, test = ids[:n_train], ids[n_train : n_train + n_val], ids[n_train + n_val :]
        return cls(vocab=vocab, tokenizer=tokenizer, train=train, val=val, test=test)

    def n_tokens(self) -> int:
        return self.train.numel() + self.val.numel() + self.test.numel()


# -- batches -------------------------------------------------------------------------------------


def fit_windows(n_train: int, n_val: int, batch: int, seq_len: int, *, keep_batch: bool = False,
                keep_seq_len: bool = False) -> tuple[int, int]:
    """The batch size and BPTT length that a text of ``n_train`` training and ``n_val`` validation
    tokens can serve, changing only the ones not kept: the values given when they fit (one batch of
    ``batch`` windows of ``seq_len`` + 1 tokens); else the BPTT length shrinks to what the smaller
    part holds in one window, then the batch to the windows the training part holds, then (a kept
    batch) the BPTT length to what fits it. What still does not fit is LMBatches' to refuse."""
    def fits() -> bool:
        return n_train >= batch * seq_len + 1

    if fits() or n_train < 2:
        return batch, seq_len
    if not keep_seq_len:
        seq_len = max(1, min(seq_len, n_train - 1, n_val - 1 if n_val > 1 else seq_len))
    if not fits() and not keep_batch:
        batch = max(1, (n_train - 1) // seq_len)
    if not fits() and not keep_seq_len:
        seq_len = max(1, (n_train - 1) // batch)
    return batch, seq_len



class LMBatches:
    """Language-model batches ``x, y`` of shape (batch, seq_len), ``y`` = ``x`` shifted by one.

    - ``"sequential"``: the data is cut into ``batch`` contiguous streams; row r of batch i+1
      continues row r of batch i, so the hidden state is carried over (detached) between batches.
    - ``"random"``: every epoch starts at a random offset in [0, seq_len) and serves the
      non-overlapping chunks from there in a shuffled order; the state is reset every batch.

    ``get(epoch, i)`` depends only on (seed, epoch, i), so a run resumes mid-epoch exactly.

    Of ``ranks`` data-parallel processes, rank ``rank`` is served its contiguous block of the
    ``batch`` rows (data/shards.py): every rank has the same batches, the carried state of its
    streams stays with it, and the ranks' rows together are what one process would read.
    """

    def __init__(self, data: torch.Tensor, batch: int, seq_len: int, scheme: str = "random", seed: int = 0,
                 rank: int = 0, ranks: int = 1) -> None:
        if scheme not in ("sequential", "random"):
            raise RnnTuiError(f"unknown batching {scheme!r}; choose sequential or random")
        if batch < 1 or seq_len < 1:
            raise RnnTuiError(f"--batch and --seq-len must be at least 1; got {batch} and {seq_len}")
        n = data.numel()
        if n < batch * seq_len + 1:
            raise RnnTuiError(
                f"dataset too small: {n} tokens for batch {batch} × seq-len {seq_len}; lower --batch or --seq-len"
            )
        self.data, self.batch, self.seq_len, self.scheme, self.seed = data, batch, seq_len, scheme, seed
        self.rows = block(batch, rank, ranks)  # this rank's rows of each batch
        self.stateful = scheme == "sequential"
        if self.stateful:
            stream = (n - 1) // batch  # tokens per stream (one more is needed for the last target)
            self.n_batches = stream // seq_len
            mine = slice(self.rows.start * stream, self.rows.stop * stream)  # this rank's streams, one after another
            self.x = data[: batch * stream][mine].view(len(self.rows), stream)
            self.y = data[1 : batch * stream + 1][mine].view(len(self.rows), stream)
        else:
            # prefer as many whole batches as fit after the largest offset (seq_len - 1); a tiny
            # dataset gives up some offsets instead of its only batch
            self.n_batches = ((n - seq_len) // seq_len) // batch or ((n - 1) // seq_len) // batch
            self.max_offset = min(seq_len - 1, n - 1 - self.n_batches * batch * seq_len)
            self._epoch = -1
            self._starts = torch.empty(0, dtype=torch.int64)

    def __len__(self) -> int:
        return self.n_batches

    def _epoch_starts(self, epoch: int) -> torch.Tensor:
        """Start positions of this epoch's chunks in serving order (cached for the epoch)."""
        if epoch != self._epoch:
            g = torch.Generator().manual_seed((self.seed * 1_000_003 + epoch) % (2**63))
            offset = int(torch.randint(0, self.max_offset + 1, (1,), generator=g))
            n_chunks = self.n_batches * self.batch
            self._starts = offset + torch.randperm(n_chunks, generator=g) * self.seq_len
            self._epoch = epoch
        return self._starts

    def get(self, epoch: int, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch ``i`` (0 <= i < len) of ``epoch``: ``x, y`` int64 of shape (this rank's rows, seq_len)."""
        if not 0 <= i < self.n_batches:
            raise IndexError(f"batch {i} out of range for {self.n_batches} batches")
        T = self.seq_len
        if self.stateful:
            return self.x[:, i * T : (i + 1) * T].long(), self.y[:, i * T : (i + 1) * T].long()
        first = i * self.batch
        starts = self._epoch_starts(epoch)[first + self.rows.start : first + self.rows.stop]
        index = starts[:, None] + torch.arange(T)
        return self.data[index].long(), self.data[index + 1].long()
