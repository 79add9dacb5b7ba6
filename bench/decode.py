"""Decoding speed of a translator: greedy vs beam search (width 1, 5, 10), time per sentence.

    python bench/decode.py [--run RUN] [--runs-dir DIR] [--sentences 200] [--threads 1] [--device cuda]

RUN is a trained seq2seq run (its held-out test split, else validation split, gives the
sentences). Without --run, a small GRU + additive-attention translator is trained on the
built-in numbers-en-zh for ~300 steps first (a minute), so the script runs anywhere.

Every sentence is decoded by all four methods, in an order rotated from sentence to sentence
(noise hits all alike); the table shows medians per sentence and the median of the per-sentence
ratios to greedy. Beams are batched (the K live hypotheses are one batch in every decoder step),
so beam 5 should cost well under 5× greedy. Nothing here asserts a time.

Last line: ``RESULT beam5_over_greedy=<x>``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def small_translator(root: Path, device: str) -> str:
    from rnn_tui.config import Config
    from rnn_tui.runs.rundir import RunDir
    from rnn_tui.train.trainer import train_run

    cfg = Config(task="seq2seq")
    cfg.data.spec, cfg.data.test_size = "builtin:numbers-en-zh", 500
    cfg.model.cell, cfg.model.hidden, cfg.model.embed, cfg.model.attention = "gru", 128, 64, "additive"
    t = cfg.train
    t.steps, t.batch, t.lr, t.eval_interval, t.sample_interval, t.checkpoint_interval = 300, 64, 5e-3, 10**6, 10**6, 10**6
    t.device = device
    run = RunDir.create(root, cfg.validate(), name="numbers")
    print("training a small numbers-en-zh translator (300 steps) ...", flush=True)
    train_run(run)
    return str(run.path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run", default=None, help="a trained seq2seq run (default: train a small one)")
    parser.add_argument("--runs-dir", default=None)
    parser.add_argument("--sentences", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: one interactive user)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    args = parser.parse_args()

    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("--device cuda: no CUDA GPU is visible here")

    from rnn_tui.api import load_translator
    from rnn_tui.decode.beam import beam_search, greedy
    from rnn_tui.train.tasks import Seq2SeqTask

    torch.set_num_threads(args.threads)
    run_spec = args.run or small_translator(Path(tempfile.mkdtemp(prefix="rnn-tui-bench-decode-")), args.device)
    mt = load_translator(run_spec, runs_dir=args.runs_dir, device=args.device)
    corpus = Seq2SeqTask(mt.config, mt.meta).corpus
    pairs = (corpus.test or corpus.val)[: args.sentences]
    sources = [src for src, _ in pairs]
    m = mt.model
    methods = {
        "greedy": lambda src: greedy(m, src).ids,
        "beam 1": lambda src: beam_search(m, src, beam=1)[0].ids,
        "beam 5": lambda src: beam_search(m, src, beam=5)[0].ids,
        "beam 10": lambda src: beam_search(m, src, beam=10)[0].ids,
    }
    names = list(methods)
    for src in sources[:5]:  # warm-up
        for fn in methods.values():
            fn(src)
    times = {name: [] for name in names}
    lengths = {name: [] for name in names}
    for k, src in enumerate(sources):
        for name in names[k % 4:] + names[:k % 4]:
            start = time.perf_counter()
            out = methods[name](src)
            times[name].append((time.perf_counter() - start) * 1000)
            lengths[name].append(len(out))

    print(f"\nrun {mt.run.id}: {mt.config.model.cell} {mt.config.model.layers}×{mt.config.model.hidden}, "
          f"attention {mt.config.model.attention}, target vocabulary {len(mt.tgt_vocab):,}; "
          f"{len(sources)} sentences (mean {statistics.mean(len(s) for s in sources):.1f} source tokens), "
          f"{args.threads} thread(s), {args.device}, torch {torch.__version__}")
    print(f"{'method':<9} {'ms/sentence (median)':>21} {'p90':>8} {'tokens out':>11} {'× greedy (median of ratios)':>29}")
    print("-" * 82)
    ratio = {}
    for name in names:
        ratios = [t / g for t, g in zip(times[name], times["greedy"])]
        ratio[name] = statistics.median(ratios)
        p90 = sorted(times[name])[int(0.9 * (len(times[name]) - 1))]
        print(f"{name:<9} {statistics.median(times[name]):>21.2f} {p90:>8.2f} {statistics.mean(lengths[name]):>11.1f} "
              f"{ratio[name]:>29.2f}")
    print(f"RESULT beam5_over_greedy={ratio['beam 5']:.2f}")


if __name__ == "__main__":
    main()
