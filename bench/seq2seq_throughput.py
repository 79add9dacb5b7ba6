"""Seq2seq training throughput: forward's batched teacher-forced path vs the step-by-step loop.

Additive (Bahdanau) attention used to train one decoder step at a time (``Seq2Seq.forward_steps``,
still the scheduled-sampling path and the reference in the tests). ``forward`` now takes out of
that loop what does not depend on s_{t-1}: the keys and the context's share of the first layer's
input projection once per batch, the embedding's share for all steps in one product, the contexts
and the output layer (W_c, W_out) after the loop in one product each; in the loop, the products
with a fixed weight (W_hh, W_q) run on weights packed once per batch and W_hh's gradient is one
product after it (models/loop_products.py).

Both are timed as a training step (forward, masked cross-entropy, backward, clip, Adam) on batches
of a built-in pair set, each on its own model from the same initial weights, in short blocks
alternated in one process (old, new, new, old, …); the median of each round's ratio of steps/s
is reported, so slow drifts of a noisy machine hit both alike. Before timing, the two paths' losses on one
batch are compared (same weights).

    python bench/seq2seq_throughput.py [--reps 5] [--quick] [--threads 1]

Last line: ``RESULT ratio=<new/old steps/s, wall clock> cpu_ratio=<the same in CPU time>`` (target ≥ 1.3
for additive).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnn_tui.config import Config  # noqa: E402
from rnn_tui.models.seq2seq import Seq2Seq, loss  # noqa: E402
from rnn_tui.train.tasks import Seq2SeqTask  # noqa: E402


class Loop:
    """A training step on one model: ``batched`` runs forward, else forward_steps."""

    def __init__(self, task: Seq2SeqTask, batched: bool) -> None:
        torch.manual_seed(0)
        self.task, self.model = task, task.build_model(torch.device("cpu"))
        self.run = self.model.forward if batched else self.model.forward_steps
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.index = 0

    def step(self) -> float:
        b = self.task.batches.get(0, self.index % len(self.task.batches))
        self.index += 1
        logits, _ = self.run(b.src, b.src_len, b.tgt_in)
        value = loss(logits, b.tgt_out)
        self.opt.zero_grad(set_to_none=True)
        value.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.opt.step()
        return float(value.detach())

    def block(self, steps: int) -> tuple[float, float]:
        """Seconds for ``steps`` steps: wall clock, and this process's CPU time (one thread: less
        shaken by other processes on a shared machine)."""
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(steps):
            self.step()
        return time.perf_counter() - wall, time.process_time() - cpu


def same_loss(model: Seq2Seq, task: Seq2SeqTask) -> float:
    """|forward − forward_steps| on the first batch, same weights (training mode, dropout 0)."""
    b = task.batches.get(0, 0)
    with torch.no_grad():
        a = loss(model(b.src, b.src_len, b.tgt_in)[0], b.tgt_out)
        s = loss(model.forward_steps(b.src, b.src_len, b.tgt_in)[0], b.tgt_out)
    return abs(float(a) - float(s))


def build_task(data: str = "builtin:phrases-en-zh", cell: str = "gru", hidden: int = 256, embed: int = 64,
               layers: int = 1, batch: int = 64, attention: str = "additive") -> Seq2SeqTask:
    """The translation task both paths train on (this bench's settings by default)."""
    cfg = Config()
    cfg.task, cfg.data.spec = "seq2seq", data
    m = cfg.model
    m.cell, m.hidden, m.embed, m.layers, m.attention = cell, hidden, embed, layers, attention
    cfg.train.batch = batch
    return Seq2SeqTask(cfg.validate(), None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="builtin:phrases-en-zh")
    parser.add_argument("--cell", default="gru")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--embed", type=int, default=64)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--attention", default="additive")
    parser.add_argument("--reps", type=int, default=5, help="timed blocks per path")
    parser.add_argument("--steps", type=int, default=5, help="training steps per block")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="a tiny model, few steps (a smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.hidden, args.embed, args.batch, args.reps, args.steps = 32, 16, 16, 2, 2
    torch.set_num_threads(args.threads)

    task = build_task(args.data, args.cell, args.hidden, args.embed, args.layers, args.batch, args.attention)
    loops = {"steps": Loop(task, batched=False), "batched": Loop(task, batched=True)}
    diff = same_loss(loops["batched"].model, task)

    print(f"{args.data}: {len(task.corpus.train):,} train pairs, src vocab {len(task.src_vocab)}, "
          f"tgt vocab {len(task.tgt_vocab)}; {args.cell} {args.layers}×{args.hidden}, embed {args.embed}, "
          f"batch {args.batch}, attention {args.attention}; torch {torch.__version__}, {args.threads} thread(s)")
    print(f"|loss(forward) − loss(forward_steps)| on one batch, same weights: {diff:.2e}")
    for loop in loops.values():
        loop.block(1)  # warm-up
    rates: dict[str, dict[str, list[float]]] = {clock: {name: [] for name in loops} for clock in ("wall", "cpu")}
    for rep in range(args.reps):
        order = ("steps", "batched") if rep % 2 == 0 else ("batched", "steps")
        for name in order:
            wall, cpu = loops[name].block(args.steps)
            rates["wall"][name].append(args.steps / wall)
            rates["cpu"][name].append(args.steps / cpu)
    ratio = {}
    for clock, by_name in rates.items():
        median = {name: statistics.median(v) for name, v in by_name.items()}
        # the median of each round's own ratio: a round's two blocks ran side by side
        ratio[clock] = statistics.median(b / s for s, b in zip(by_name["steps"], by_name["batched"]))
        for name, v in by_name.items():
            print(f"{name:<8} {clock:<4} steps/s median {median[name]:7.2f}   blocks: {', '.join(f'{x:.2f}' for x in v)}")
    print(f"RESULT ratio={ratio['wall']:.2f} cpu_ratio={ratio['cpu']:.2f} loss_diff={diff:.1e}")


if __name__ == "__main__":
    main()
