"""Training throughput: rnn-tui's trainer vs a plain PyTorch loop, same model, data and optimizer.

For each cell and size, both loops are built once and then timed in short blocks of steps,
alternated (plain, ours, ours, plain, …) in one process; the ratio of median tokens/s is
reported, so slow drifts of a noisy machine hit both alike.

The GRU rows then time the same plain loop twice, once with ``torch.nn.GRU`` and once with the
project's FastGRU (models/fast_gru.py, what the trainer runs for ``--cell gru``): embed 64, one
layer, batch 32, seq 100, hidden 128/256/512 (``--gru-hidden``), alternated the same way; and
the same two models again without gradients (eval mode, forward and loss: validation, scoring),
where FastGRU runs its own forward only where the per-step products pack (256 units and more).

The trainer is timed as a user runs it: ``Trainer.run_loop`` over a real run directory (metric
records, status heartbeats and control polling included; no validation split). The plain loop is the textbook one:
random chunks, embedding →
nn.RNN/GRU/LSTM → linear, cross-entropy, backward, clip_grad_norm_, Adam step.

    python bench/train_throughput.py [--reps 3] [--quick] [--threads 1] [--device cuda] [--precision bf16]

On CUDA both loops train on the GPU; the plain loop reads its loss every step (``loss.item()``,
as the textbook does), the trainer once per metric record. The GRU rows are CPU rows (on a GPU
FastGRU is nn.GRU: cuDNN), so ``--device cuda`` leaves them out, and adds the ``gpu`` size (2×1024,
batch 256): at batch 32 a GPU step waits on the host's kernel launches, so only this size keeps
the GPU busy.

The attention row (CPU; ``--no-attention`` leaves it out) times bench/seq2seq_throughput.py's two
translation training paths, additive attention, GRU 1×256, batch 64: forward's batched teacher
forcing against the step loop it replaced, in steps/s, at this bench's thread count.
bench/seq2seq_vs_commit.py measures the same training against the code before issue 14.

Last line: ``RESULT min_ratio=<x> gru_min_ratio=<y> gru_eval_min_ratio=<z> attention_ratio=<a>``
(targets: x ≥ 0.95, trainer vs plain loop; y ≥ 1.2, FastGRU vs nn.GRU training; z: its forward
without gradients; a: batched vs step loop).
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
from rnn_tui.models.fast_gru import FastGRU  # noqa: E402
from rnn_tui.runs.rundir import RunDir  # noqa: E402
from rnn_tui.train.trainer import Trainer  # noqa: E402

SHAKESPEARE = ROOT.parent / "shared" / "data" / "tinyshakespeare.txt"
SIZES = {  # name: (embed, hidden, layers, seq_len, batch, steps per timed block)
    "small": (128, 256, 1, 35, 32, 20),
    "large": (64, 512, 2, 100, 32, 4),
    "gpu": (128, 1024, 2, 100, 256, 2),  # a size that keeps a GPU busy (--device cuda's default adds it)
}
CPU_SIZES, CUDA_SIZES = "small,large", "small,large,gpu"


GRU_SIZE = (64, 0, 1, 100, 32, 3)  # the GRU rows: as SIZES, hidden from --gru-hidden
CUDA_BLOCK = 10  # a GPU steps ~50× faster: 10× the steps per block, so a run_loop call's start weighs as in a run
RNNS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM, "fast-gru": FastGRU}


class PlainLM(nn.Module):
    def __init__(self, cell: str, vocab: int, embed: int, hidden: int, layers: int) -> None:
        super().__init__()
        rnn = RNNS[cell]
        self.embed = nn.Embedding(vocab, embed)
        self.rnn = rnn(embed, hidden, layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x):
        out, _ = self.rnn(self.embed(x))
        return self.head(out)


class PlainLoop:
    """The textbook loop: random chunks, forward, cross-entropy, backward, clip, Adam step."""

    def __init__(self, cell: str, data: torch.Tensor, vocab: int, size: tuple, device: torch.device) -> None:
        embed, hidden, layers, self.seq_len, self.batch, _ = size
        torch.manual_seed(0)
        self.data, self.vocab, self.device = data, vocab, device
        self.model = PlainLM(cell, vocab, embed, hidden, layers).to(device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=2e-3)
        self.gen = torch.Generator().manual_seed(0)

    def loss(self) -> torch.Tensor:
        data, T = self.data, self.seq_len
        ix = torch.randint(len(data) - T - 1, (self.batch,), generator=self.gen)
        x = torch.stack([data[i : i + T] for i in ix]).long().to(self.device)
        y = torch.stack([data[i + 1 : i + T + 1] for i in ix]).long().to(self.device)
        return F.cross_entropy(self.model(x).reshape(-1, self.vocab), y.reshape(-1))

    def step(self) -> float:
        loss = self.loss()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.opt.step()
        return loss.item()

    def block(self, steps: int) -> float:
        start = time.perf_counter()
        for _ in range(steps):
            self.step()
        return time.perf_counter() - start


class EvalLoop:
    """A PlainLoop's model scored without gradients, as validation and scoring run: eval mode,
    forward and the loss."""

    def __init__(self, loop: PlainLoop) -> None:
        self.loop = loop
        loop.model.eval()

    def block(self, steps: int) -> float:
        start = time.perf_counter()
        with torch.no_grad():
            for _ in range(steps):
                self.loop.loss().item()
        return time.perf_counter() - start


class AttentionLoop:
    """bench/seq2seq_throughput.py's translation training step (additive attention): forward's
    batched teacher-forced path, or the step loop it replaced (forward_steps)."""

    def __init__(self, task, batched: bool) -> None:
        from seq2seq_throughput import Loop  # bench/, beside this file

        self.loop = Loop(task, batched)

    def block(self, steps: int) -> float:
        return self.loop.block(steps)[0]


class TrainerLoop:
    """rnn-tui's trainer as a user runs it: ``Trainer.run_loop`` on a real run directory, its
    budget raised by one block at a time; timed until the record of the block's last step."""

    def __init__(self, cell: str, data_path: Path, size: tuple, root: Path, device: str, precision: str) -> None:
        embed, hidden, layers, seq_len, batch, _ = size
        cfg = Config()
        cfg.train.device, cfg.train.precision = device, precision
        cfg.data.spec, cfg.data.val_fraction = str(data_path), 0.0
        cfg.model.cell, cfg.model.embed, cfg.model.hidden, cfg.model.layers = cell, embed, hidden, layers
        t = cfg.train
        t.batch, t.seq_len, t.lr, t.schedule, t.clip = batch, seq_len, 2e-3, "constant", 1.0
        t.steps, t.sample_interval, t.checkpoint_interval, t.sample_length = 1, 10**9, 10**9, 1
        self.done: list[float] = []
        self.trainer = Trainer(cfg.validate(), on_event=self._on_event)
        self.trainer.attach(RunDir.create(root, cfg))
        self.trainer.setup()

    def _on_event(self, event: dict) -> None:
        if event["event"] == "train" and event["step"] == self.trainer.total_steps:
            self.done.append(time.perf_counter())

    def block(self, steps: int) -> float:
        trainer = self.trainer
        trainer.cfg.train.log_interval = steps  # one metric record per block, at its last step
        trainer.total_steps = trainer.step + steps
        self.done.clear()
        start = time.perf_counter()
        trainer.run_loop()  # ends with a sample and a checkpoint: not throughput, not timed
        return self.done[0] - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=9, help="timed blocks per loop")
    parser.add_argument("--quick", action="store_true", help="fewer steps (a smoke run)")
    parser.add_argument("--cells", default="rnn,gru,lstm")
    parser.add_argument("--sizes", help=f"of {', '.join(SIZES)} (default: {CPU_SIZES}; on CUDA {CUDA_SIZES})")
    parser.add_argument("--gru-hidden", default="128,256,512", help="hidden sizes of the FastGRU vs nn.GRU rows")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--attention", action=argparse.BooleanOptionalAction, default=True,
                        help="the additive-attention row (CPU): batched teacher forcing vs the step loop")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "fp16"), help="the trainer's")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("--device cuda: no CUDA GPU is visible here")
    device = torch.device(args.device)
    if args.sizes is None:
        args.sizes = CUDA_SIZES if device.type == "cuda" else CPU_SIZES

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
          f"{torch.get_num_threads()} threads, {torch.cuda.get_device_name() if device.type == 'cuda' else 'cpu'}, "
          f"trainer precision {args.precision}")
    header = f"{'cell':<5} {'size':<6} {'plain tok/s':>12} {'rnn-tui tok/s':>14} {'ratio':>6}   (medians of {args.reps} blocks)"
    print(header)
    print("-" * len(header))
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        for size_name in filter(None, args.sizes.split(",")):
            size = SIZES[size_name]
            steps = max(2, size[-1] // 2) if args.quick else size[-1]
            steps *= CUDA_BLOCK if device.type == "cuda" else 1
            for cell in args.cells.split(","):
                plain = PlainLoop(cell, data, vocab, size, device)
                ours = TrainerLoop(cell, data_path, size, Path(tmp), args.device, args.precision)
                ratios.append(compare(plain, ours, size, steps, args.reps, f"{cell:<5} {size_name:<6}"))
    gru_ratios, eval_ratios = [], []
    args.attention = args.attention and device.type == "cpu"
    if device.type == "cpu":
        print(f"{'GRU':<12} {'nn.GRU tok/s':>12} {'FastGRU tok/s':>14} {'ratio':>6}   (the same plain loop, embed 64, "
              f"batch 32, seq 100)")
        for hidden in map(int, filter(None, args.gru_hidden.split(","))):
            size = (GRU_SIZE[0], hidden, *GRU_SIZE[2:])
            steps = max(2, size[-1] // 2) if args.quick else size[-1]
            loops = (PlainLoop("gru", data, vocab, size, device), PlainLoop("fast-gru", data, vocab, size, device))
            gru_ratios.append(compare(*loops, size, steps, args.reps, f"{'hidden ' + str(hidden):<12}"))
        print(f"{'GRU eval':<12} {'nn.GRU tok/s':>12} {'FastGRU tok/s':>14} {'ratio':>6}   (the same models, forward and "
              f"loss without gradients)")
        for hidden in map(int, filter(None, args.gru_hidden.split(","))):
            size = (GRU_SIZE[0], hidden, *GRU_SIZE[2:])
            steps = max(2, size[-1] // 2) if args.quick else size[-1]
            evals = (EvalLoop(PlainLoop("gru", data, vocab, size, device)),
                     EvalLoop(PlainLoop("fast-gru", data, vocab, size, device)))
            eval_ratios.append(compare(*evals, size, steps * 3, args.reps, f"{'hidden ' + str(hidden):<12}"))
    attention_ratios = []
    if args.attention:
        from seq2seq_throughput import build_task

        hidden, batch = (32, 16) if args.quick else (256, 64)
        task = build_task(hidden=hidden, embed=16 if args.quick else 64, batch=batch)
        print(f"{'attention':<12} {'loop steps/s':>12} {'batched st/s':>14} {'ratio':>6}   (additive, phrases-en-zh, "
              f"GRU 1×{hidden}, batch {batch}: bench/seq2seq_throughput.py)")
        loops = (AttentionLoop(task, batched=False), AttentionLoop(task, batched=True))
        attention_ratios.append(compare(*loops, (0, 0, 0, 1, 1), 2 if args.quick else 5, args.reps,
                                        f"{'hidden ' + str(hidden):<12}"))
    # what an empty --sizes or --gru-hidden skipped, or no --attention, is left out
    parts = {"min_ratio": ratios, "gru_min_ratio": gru_ratios, "gru_eval_min_ratio": eval_ratios,
             "attention_ratio": attention_ratios}
    print("RESULT " + " ".join(f"{k}={min(v):.3f}" for k, v in parts.items() if v))


def compare(base, new, size: tuple, steps: int, reps: int, label: str) -> float:
    """Median tokens/s of ``new`` over ``base``, timed in alternated blocks; prints one row."""
    loops = {"base": base, "new": new}
    for loop in loops.values():
        loop.block(2)  # warm-up
    rates: dict[str, list[float]] = {"base": [], "new": []}
    tokens = steps * size[3] * size[4]
    for rep in range(reps):  # short blocks, alternated, who goes first alternated too
        for name in (("base", "new") if rep % 2 == 0 else ("new", "base")):
            rates[name].append(tokens / loops[name].block(steps))
    b, n = statistics.median(rates["base"]), statistics.median(rates["new"])
    digits = 2 if b < 1000 else 0  # steps/s (the attention row) keep their decimals
    print(f"{label} {b:>12,.{digits}f} {n:>14,.{digits}f} {n / b:>6.3f}", flush=True)
    return n / b


if __name__ == "__main__":
    main()
