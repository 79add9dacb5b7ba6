"""Training throughput: rnn-tui's trainer vs a plain PyTorch loop, same model, data and optimizer.

For each cell and size, the two are alternated (plain, trainer, plain, trainer, …) in one
process, and the ratio of median tokens/s is reported, so machine noise hits both alike.

The trainer is timed as a user runs it: ``Trainer.run_loop`` over a real run directory (metric
records, status heartbeats and control polling included; no validation split, samples and
checkpoints only at the end). The plain loop is the textbook one: random chunks, embedding →
nn.RNN/GRU/LSTM → linear, cross-entropy, backward, clip_grad_norm_, Adam step.

    python bench/train_throughput.py [--reps 3] [--quick]

Last line: ``RESULT min_ratio=<x>`` (target ≥ 0.95).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnn_tui.config import Config  # noqa: E402
from rnn_tui.runs.rundir import RunDir  # noqa: E402
from rnn_tui.train.trainer import Trainer  # noqa: E402

SHAKESPEARE = ROOT.parent / "shared" / "data" / "tinyshakespeare.txt"
SIZES = {  # name: (embed, hidden, layers, seq_len, batch, steps per timing)
    "small": (128, 256, 1, 35, 32, 120),
    "large": (64, 512, 2, 100, 32, 30),
}


class PlainLM(nn.Module):
    def __init__(self, cell: str, vocab: int, embed: int, hidden: int, layers: int) -> None:
        super().__init__()
        rnn = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[cell]
        self.embed = nn.Embedding(vocab, embed)
        self.rnn = rnn(embed, hidden, layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x):
        out, _ = self.rnn(self.embed(x))
        return self.head(out)


def plain_loop(cell: str, data: torch.Tensor, vocab: int, size: tuple, steps: int) -> float:
    embed, hidden, layers, seq_len, batch, _ = size
    torch.manual_seed(0)
    model = PlainLM(cell, vocab, embed, hidden, layers)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    gen = torch.Generator().manual_seed(0)

    def one_step():
        ix = torch.randint(len(data) - seq_len - 1, (batch,), generator=gen)
        x = torch.stack([data[i : i + seq_len] for i in ix]).long()
        y = torch.stack([data[i + 1 : i + seq_len + 1] for i in ix]).long()
        loss = F.cross_entropy(model(x).reshape(-1, vocab), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    for _ in range(2):  # warm-up
        one_step()
    start = time.perf_counter()
    for _ in range(steps):
        one_step()
    return steps * batch * seq_len / (time.perf_counter() - start)


def trainer_loop(cell: str, data_path: Path, size: tuple, steps: int, root: Path) -> float:
    embed, hidden, layers, seq_len, batch, _ = size
    cfg = Config()
    cfg.data.spec, cfg.data.val_fraction = str(data_path), 0.0
    cfg.model.cell, cfg.model.embed, cfg.model.hidden, cfg.model.layers = cell, embed, hidden, layers
    t = cfg.train
    t.batch, t.seq_len, t.lr, t.schedule, t.clip = batch, seq_len, 2e-3, "constant", 1.0
    t.steps, t.log_interval, t.sample_interval, t.checkpoint_interval, t.sample_length = steps + 2, 10**9, 10**9, 10**9, 1
    t.log_interval = steps + 2  # one record, at the last step
    run = RunDir.create(root, cfg.validate())
    done: list[float] = []

    def on_event(event: dict) -> None:  # the last step's record; the end-of-run save is not throughput
        if event["event"] == "train" and event["step"] == t.steps:
            done.append(time.perf_counter())

    trainer = Trainer(run, on_event=on_event)
    trainer.setup()
    for _ in range(2):  # warm-up, as for the plain loop
        trainer._train_step()
    start = time.perf_counter()
    trainer.run_loop()
    return steps * batch * seq_len / (done[0] - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="fewer steps (a smoke run)")
    parser.add_argument("--cells", default="rnn,gru,lstm")
    parser.add_argument("--sizes", default=",".join(SIZES))
    args = parser.parse_args()

    if SHAKESPEARE.is_file():
        data_path, text = SHAKESPEARE, SHAKESPEARE.read_text(encoding="utf-8")
    else:
        from rnn_tui.data.builtin import get_builtin

        text = get_builtin("python-stdlib").generate()
        data_path = Path(tempfile.mkdtemp()) / "python-stdlib.txt"
        data_path.write_text(text, encoding="utf-8")
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.int16)
    vocab = len(chars) + 4  # rnn-tui's vocab adds <pad> <unk> <bos> <eos>

    print(f"data {data_path.name}: {len(text):,} chars, vocab {vocab}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    header = f"{'cell':<5} {'size':<6} {'plain tok/s':>12} {'rnn-tui tok/s':>14} {'ratio':>6}   (medians of {args.reps})"
    print(header)
    print("-" * len(header))
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        for size_name in args.sizes.split(","):
            size = SIZES[size_name]
            steps = max(3, size[-1] // 4) if args.quick else size[-1]
            for cell in args.cells.split(","):
                plain, ours = [], []
                for rep in range(args.reps):  # alternate, and alternate who goes first
                    if rep % 2:
                        ours.append(trainer_loop(cell, data_path, size, steps, Path(tmp)))
                    plain.append(plain_loop(cell, data, vocab, size, steps))
                    if not rep % 2:
                        ours.append(trainer_loop(cell, data_path, size, steps, Path(tmp)))
                ratio = statistics.median(ours) / statistics.median(plain)
                ratios.append(ratio)
                print(f"{cell:<5} {size_name:<6} {statistics.median(plain):>12,.0f} {statistics.median(ours):>14,.0f} {ratio:>6.3f}")
    print(f"RESULT min_ratio={min(ratios):.3f}")


if __name__ == "__main__":
    main()
