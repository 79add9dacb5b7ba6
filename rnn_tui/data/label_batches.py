"""Batches of labeled texts for a classifier: token ids padded to the longest text of the batch,
their lengths (the model packs them), and the class ids.

Texts are shuffled per epoch with a generator seeded by (seed, epoch), so batch ``index`` of
``epoch`` is a pure function of them — resuming at (epoch, index) continues the same order.
Within a pool of ``POOL`` batches the texts are sorted by length before they are cut into
batches (and the batches shuffled again), so a batch pads little: the same idea as torchtext's
BucketIterator.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

POOL = 50  # batches whose texts are sorted by length together


@dataclass
class ClassBatch:
    x: torch.Tensor  # [B, T] token ids, padded with 0 (<pad>)
    lengths: torch.Tensor  # [B] tokens of each text (≥ 1)
    y: torch.Tensor  # [B] class ids

    def to(self, device: torch.device | str) -> ClassBatch:
        return ClassBatch(self.x.to(device), self.lengths, self.y.to(device))  # lengths stay on the CPU (packing)


def collate(examples: list[tuple[list[int], int]]) -> ClassBatch:
    """One batch of (ids, class) examples; an empty text is read as one <pad> token."""
    lengths = torch.tensor([max(1, len(ids)) for ids, _ in examples])
    x = torch.zeros(len(examples), int(lengths.max()), dtype=torch.long)
    for row, (ids, _) in enumerate(examples):
        x[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
    return ClassBatch(x, lengths, torch.tensor([label for _, label in examples]))


class ClassBatches:
    def __init__(self, examples: list[tuple[list[int], int]], batch: int, seed: int = 0, shuffle: bool = True) -> None:
        self.examples, self.batch, self.seed, self.shuffle = examples, batch, seed, shuffle
        self._epoch: int | None = None  # the epoch whose order is cached
        self._order: list[list[int]] = []

    def __len__(self) -> int:
        return max(1, -(-len(self.examples) // self.batch))

    def order(self, epoch: int) -> list[list[int]]:
        """The example indices of each batch of ``epoch``."""
        n = len(self.examples)
        if not self.shuffle:
            return [list(range(i, min(i + self.batch, n))) for i in range(0, n, self.batch)]
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        perm = torch.randperm(n, generator=g).tolist()
        batches = []
        pool = self.batch * POOL
        for start in range(0, n, pool):
            chunk = sorted(perm[start : start + pool], key=lambda i: len(self.examples[i][0]))
            batches += [chunk[i : i + self.batch] for i in range(0, len(chunk), self.batch)]
        shuffled = torch.randperm(len(batches), generator=g).tolist()
        return [batches[i] for i in shuffled]

    def get(self, epoch: int, index: int) -> ClassBatch:
        if epoch != self._epoch:
            self._epoch, self._order = epoch, self.order(epoch)
        return collate([self.examples[i] for i in self._order[index]])
