"""Vocabulary: token strings <-> integer ids, with four special tokens at ids 0-3.

The order is deterministic: the specials, then tokens by frequency (descending), ties broken by
first appearance. Lookups are dict lookups (a ``token in list`` vocabulary is 1000x slower).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

from rnn_tui.errors import RnnTuiError

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)


class Vocab:
    """A list of tokens (``itos``) and its inverse (``stoi``)."""

    pad_id, unk_id, bos_id, eos_id = 0, 1, 2, 3

    def __init__(self, itos: list[str]) -> None:
        if tuple(itos[:4]) != SPECIALS:
            raise ValueError(f"a vocabulary starts with {', '.join(SPECIALS)}; got {itos[:4]}")
        self.itos = list(itos)
        self.stoi = {token: i for i, token in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            dup = next(t for t, n in Counter(self.itos).items() if n > 1)
            raise ValueError(f"duplicate token in vocabulary: {dup!r}")

    @classmethod
    def build(cls, counts: Counter[str] | Iterable[str], min_freq: int = 1, max_size: int = 0) -> Vocab:
        """Specials, then tokens seen at least ``min_freq`` times, most frequent first.

        ``counts`` is a Counter (or any token -> count mapping, in first-appearance order) or an
        iterable of tokens. ``max_size`` caps the number of non-special tokens (0 = no cap).
        """
        if not isinstance(counts, Mapping):
            counts = Counter(counts)
        ranked = sorted(counts.items(), key=lambda kv: -kv[1])  # stable: ties keep first appearance
        tokens = [t for t, n in ranked if n >= min_freq and t not in SPECIALS]
        if max_size > 0:
            tokens = tokens[:max_size]
        return cls(list(SPECIALS) + tokens)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """Ids of ``tokens``; unknown tokens become ``unk_id``."""
        get, unk = self.stoi.get, self.unk_id
        return [get(t, unk) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Tokens of ``ids`` (a list or a tensor); an id out of range decodes to ``<unk>``."""
        if hasattr(ids, "tolist"):
            ids = ids.tolist()  # a tensor: plain ints are much faster to index with
        n = len(self.itos)
        return [self.itos[i] if 0 <= i < n else UNK for i in ids]

    def to_json(self) -> dict:
        return {"itos": list(self.itos)}

    @classmethod
    def from_json(cls, d: dict) -> Vocab:
        return cls(list(d["itos"]))

    def save(self, path: str | Path) -> None:
        """Write the vocabulary as UTF-8 JSON (readable: Chinese stays Chinese)."""
        Path(path).write_text(json.dumps(self.to_json(), ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Vocab:
        try:
            return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
        except OSError as exc:
            raise RnnTuiError(f"cannot read vocabulary {path}: {exc.strerror}") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise RnnTuiError(f"{path} is not a vocabulary file ({exc}); rebuild it from the data") from None

    def __repr__(self) -> str:
        return f"Vocab({len(self)} tokens)"
