"""Batches of labeled texts: every example once per epoch, a pure function of (seed, epoch, index),
little padding, lengths that say where each text ends."""

import random

import torch

from rnn_tui.data.label_batches import ClassBatches, collate


def _examples(n=1000, seed=0):
    rng = random.Random(seed)
    return [([rng.randrange(4, 50) for _ in range(rng.randint(0, 60))], rng.randrange(3)) for _ in range(n)]


def test_each_example_once_per_epoch_and_the_order_is_reproducible():
    examples = _examples()
    a, b = ClassBatches(examples, 32, seed=7), ClassBatches(examples, 32, seed=7)
    seen = []
    for i in range(len(a)):
        batch = a.get(0, i)
        assert torch.equal(batch.x, b.get(0, i).x)
        seen += a.order(0)[i]
    assert sorted(seen) == list(range(len(examples)))
    assert a.order(1) != a.order(0) and a.order(1) == b.order(1)  # another epoch, another order
    assert ClassBatches(examples, 32, seed=8).order(0) != a.order(0)


def test_a_batch_holds_its_texts_padded_with_their_lengths_and_classes():
    examples = [([5, 6, 7], 1), ([8], 0), ([], 2)]
    b = collate(examples)
    assert b.x.tolist() == [[5, 6, 7], [8, 0, 0], [0, 0, 0]]
    assert b.lengths.tolist() == [3, 1, 1] and b.y.tolist() == [1, 0, 2]  # an empty text reads as one <pad>


def test_batches_sorted_in_pools_pad_less_than_random_ones():
    examples = _examples(4000)
    pooled = ClassBatches(examples, 32, seed=1)

    def padding(orders):
        return sum(max(len(examples[i][0]) for i in o) * len(o) - sum(len(examples[i][0]) for i in o) for o in orders)

    rng = random.Random(1)
    idx = list(range(len(examples)))
    rng.shuffle(idx)
    plain = [idx[i : i + 32] for i in range(0, len(idx), 32)]
    assert padding(pooled.order(0)) < padding(plain) / 5


def test_in_order_without_shuffling():
    examples = _examples(70)
    assert ClassBatches(examples, 32, shuffle=False).order(0) == [list(range(32)), list(range(32, 64)), list(range(64, 70))]
