"""Additive-attention training steps/s of this checkout against an earlier commit's code.

bench/seq2seq_throughput.py compares forward's batched path with the step loop as it is in this
checkout; issue 14 asked for ≥ 1.3× the steps/s that additive-attention training had when it was
filed, before any of its work (the encoder's FastGRU included). This bench measures exactly that:
it extracts ``--against`` (default 6eb17e8, the commit before the batched additive path) with
``git archive`` into a temporary directory, and times the same training step — forward
(teacher-forced), masked cross-entropy, backward, clip, Adam, on the same batches from the same
initial weights — once with each tree's ``rnn_tui``, in separate processes alternated round by
round (old, new, new, old, …). The first batch's loss must agree (the same model); the median of
the rounds' ratios is reported.

    python bench/seq2seq_vs_commit.py [--against REV] [--rounds 6] [--threads 1] [--quick]

Last line: ``RESULT ratio=<this checkout's steps/s ÷ REV's> loss_diff=<first-batch difference>``.
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {"hidden": 256, "embed": 64, "batch": 64}  # bench/seq2seq_throughput.py's defaults
QUICK = {"hidden": 32, "embed": 16, "batch": 16}


def rates(root: str, blocks: int, steps: int, quick: bool, threads: int) -> None:
    """In a child process: the steps/s of ``blocks`` blocks of bench/seq2seq_throughput.py's
    batched training step with the rnn_tui under ``root``, printed as one JSON line."""
    sys.path.insert(0, root)
    importlib.import_module("rnn_tui")  # first: this tree's package, whose submodules then load from it
    import torch
    from seq2seq_throughput import Loop, build_task  # bench/, beside this file

    from rnn_tui.models import seq2seq

    torch.set_num_threads(threads)
    loop = Loop(build_task(**(QUICK if quick else SETTINGS)), batched=True)
    first_loss = loop.step()
    loop.step()  # warm-up
    got = [steps / loop.block(steps)[0] for _ in range(blocks)]
    print(json.dumps({"rates": got, "first_loss": first_loss, "module": seq2seq.__file__}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--against", default="6eb17e8", help="the earlier commit (default: before issue 14's attention work)")
    parser.add_argument("--rounds", type=int, default=6, help="processes per tree, alternated")
    parser.add_argument("--blocks", type=int, default=5, help="timed blocks per process")
    parser.add_argument("--steps", type=int, default=5, help="training steps per block")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="a tiny model, few steps (a smoke run)")
    parser.add_argument("--rates", metavar="ROOT", help=argparse.SUPPRESS)  # a child process
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.blocks, args.steps = 2, 2, 2
    if args.rates:
        rates(args.rates, args.blocks, args.steps, args.quick, args.threads)
        return

    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.against], capture_output=True, check=True).stdout
        old = Path(tmp) / "old"
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:  # (the "data" filter: Python ≥ 3.10.12)
            tar.extractall(old, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
        trees = {"old": str(old), "new": str(ROOT)}
        medians: dict[str, list[float]] = {"old": [], "new": []}
        losses: dict[str, float] = {}
        for r in range(args.rounds):
            for name in (("old", "new") if r % 2 == 0 else ("new", "old")):
                cmd = [sys.executable, __file__, "--rates", trees[name], "--blocks", str(args.blocks),
                       "--steps", str(args.steps), "--threads", str(args.threads), *(["--quick"] if args.quick else [])]
                out = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
                assert Path(out["module"]).is_relative_to(trees[name]), out["module"]  # that tree's code ran
                medians[name].append(statistics.median(out["rates"]))
                losses[name] = out["first_loss"]
    s = QUICK if args.quick else SETTINGS
    print(f"additive attention, phrases-en-zh, gru 1×{s['hidden']}, embed {s['embed']}, batch {s['batch']}, "
          f"{args.threads} thread{'s' * (args.threads > 1)}; "
          f"{args.against} against this checkout")
    print(f"{'round':>5}  {args.against + ' steps/s':>16}  {'this steps/s':>12}  {'ratio':>6}")
    ratios = []
    for r, (o, n) in enumerate(zip(medians["old"], medians["new"]), 1):
        ratios.append(n / o)
        print(f"{r:>5}  {o:>16.2f}  {n:>12.2f}  {n / o:>6.3f}")
    print(f"RESULT ratio={statistics.median(ratios):.3f} loss_diff={abs(losses['old'] - losses['new']):.1e}")


if __name__ == "__main__":
    main()
