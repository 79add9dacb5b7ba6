"""Batches of labeled texts for a classifier: token ids padded to the longest text of the batch,
their lengths (the model packs them), and the class ids.

Texts are shuffled per epoch with a generator seeded by (seed, epoch), so batch ``index`` of
``epoch`` is a pure function of them — resuming at (epoch, index) continues the same order.
Within a pool of ``POOL`` batches the texts are sorted by length before they are cut into
batches (and the batches shuffled again), so a batch pads little: the same idea as torchtext's
BucketIterator. Of ``ranks`` data-parallel processes, rank ``rank`` gets its block of each
batch's texts (data/shards.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rnn_tui.data.shards import count_batches, full_batches, rows_of
from rnn_tui.data.transfer import to_device

POOL = 50  # batches whose texts are sorted by length together


@dataclass
class ClassBatch:
    x: torch.Tensor  # [B, T] token ids, padded with 0 (<pad>)
    lengths: torch.Tensor  # [B] tokens of each text (≥ 1)
    y: torch.Tensor  # [B] class ids

    def to(self, device: torch.device | str) -> ClassBatch:
        return ClassBatch(to_device(self.x, device), self.lengths, to_device(self.y, device))  # lengths stay on the CPU (packing)


def collate(examples: list[tuple[list[int], int]]) -> ClassBatch:
    """One batch of (ids, class) examples; an empty text is read as one <pad> token."""
    lengths = torch.tensor([max(1, len(ids)) for ids, _ in examples])
    x = torch.zeros(len(examples), int(lengths.max()), dtype=torch.long)
    for row, (ids, _) in enumerate(examples):
        x[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
    return ClassBatch(x, lengths, torch.tensor([label for _, label in examples]))


class ClassBatches:
    def __init__(self, examples: list[tuple[list[int], int]], batch: int, seed: int = 0, shuffle: bool = True,
                 rank: int = 0, ranks: int = 1) -> None:
        self.examples, self.batch, self.seed, self.shuffle = examples, batch, seed, shuffle
        self.rank, self.ranks = rank, ranks
        self._epoch: int | None = None  # the epoch whose order is cached
        self._order: list[list[int]] = []

    def __len__(self) -> int:
        return max(1, count_batches(len(self.examples), self.batch, self.ranks))

    def order(self, epoch: int) -> list[list[int]]:
        """The example indices of each batch of ``epoch``."""
        n = len(self.examples)
        if not self.shuffle:
            return full_batches([list(range(i, min(i + self.batch, n))) for i in range(0, n, self.batch)], self.ranks)
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        perm = torch.randperm(n, generator=g).tolist()
        batches = []
        pool = self.batch * POOL
        for start in range(0, n, pool):
            chunk = sorted(perm[start : start + pool], key=lambda i: len(self.examples[i][0]))
            batches += [chunk[i : i + self.batch] for i in range(0, len(chunk), self.batch)]
        shuffled = torch.randperm(len(batches), generator=g).tolist()
        return full_batches([batches[i] for i in shuffled], self.ranks)

    def get(self, epoch: int, index: int) -> ClassBatch:
        if epoch != self._epoch:
            self._epoch, self._order = epoch, self.order(epoch)
        return collate([self.examples[i] for i in rows_of(self._order[index], self.rank, self.ranks)])
