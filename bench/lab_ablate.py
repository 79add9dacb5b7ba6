"""The lab's intervention lesson (issue 12 section 3): ablating the depth unit of a small LSTM
trained on builtin:brackets raises the loss on closing brackets far more than on other characters.

    python bench/lab_ablate.py ablate [--hidden 32] [--steps 1500] [--chars 4000] [--seed 0] [--threads 1]
                                      [--runs-dir DIR]

Trains a character LSTM (one layer of --hidden units, embedding 16, batch 32, BPTT 100, Adam 2e-3
with the cosine schedule) on builtin:brackets for --steps steps. Then, on the last --chars
characters of the dataset (held out: the validation and test parts are its end), from the first
whole line: the nesting depth after each character (brackets inside "quotes" do not count,
every line starts at depth 0); every unit's h and c over that text from ``LoadedRun.trace``; the
unit (h or c) with the largest |Pearson r| against the depth; and `rnn-tui score RUN --ablate
0:UNIT`'s table on that text (``LoadedRun.intervention_effect``): the loss in nats/token per
class of the predicted character, without and with the unit held at 0 (h and c), at every step.
For control, the same for the unit least correlated with the depth.

Last line: ``RESULT depth_unit=0:<u> r=<r> close_change=<Δ> other_change=<Δ> ratio=<Δclose/Δother>
control_ratio=<…>``, Δ the change in mean loss (nats/token) on closing brackets and on every
other character. ``--runs-dir`` keeps the run (default: a temporary folder).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnn_tui.config import Config  # noqa: E402

OPEN, CLOSE = "([{", ")]}"


def nesting_depth(text: str) -> list[int]:
    """The depth after each character: +1 at an opening bracket, −1 at a closing one, brackets
    between double quotes ignored."""
    depth, quoted, out = 0, False, []
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in OPEN:
            depth += 1
        elif not quoted and ch in CLOSE:
            depth -= 1
        out.append(depth)
    return out


def pearson(x, y) -> float:
    """Pearson r of two 1-d tensors (0 when either is constant)."""
    x, y = x - x.mean(), y - y.mean()
    d = float(x.norm() * y.norm())
    return float((x * y).sum()) / d if d else 0.0


def train(args: argparse.Namespace, root: Path):
    from rnn_tui.runs.rundir import RunDir
    from rnn_tui.train.trainer import train_run

    cfg = Config()
    cfg.data.spec = "builtin:brackets"
    cfg.model.cell, cfg.model.hidden, cfg.model.embed = "lstm", args.hidden, 16
    t = cfg.train
    t.steps, t.seed, t.threads, t.batch, t.seq_len = args.steps, args.seed, args.threads, 32, 100
    t.eval_interval = t.checkpoint_interval = t.sample_interval = args.steps
    run = RunDir.create(root, cfg.validate(), name=f"brackets-lstm{args.hidden}-s{args.seed}")
    train_run(run)
    return run


def ablate(args: argparse.Namespace) -> None:
    import torch

    from rnn_tui.api import load_lm
    from rnn_tui.data.spec import load_text, resolve
    from rnn_tui.models.interventions import Intervention

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.runs_dir) if args.runs_dir else Path(tmp)
        start = time.process_time()
        run = train(args, root)
        lm = load_lm(run.path)
        print(f"trained {run.id}: {args.steps} steps in {time.process_time() - start:.0f} CPU s, "
              f"validation loss {run.summary().get('val_loss', float('nan')):.3f} nats")

        tail = load_text(resolve("builtin:brackets"))[-args.chars:]
        text = tail[tail.index("\n") + 1:]  # from the first whole line
        depth = torch.tensor(nesting_depth(text), dtype=torch.float32)
        vectors = lm.trace(text).vectors
        r = {(name, u): pearson(vectors[f"0.{name}"][:, u], depth) for name in ("h", "c") for u in range(args.hidden)}
        (vec, unit), best = max(r.items(), key=lambda kv: abs(kv[1]))
        control = min(range(args.hidden), key=lambda u: max(abs(r["h", u]), abs(r["c", u])))
        print(f"depth over {len(text):,} characters (max {int(depth.max())}): unit 0:{unit} ({vec}) r = {best:+.3f}; "
              f"control unit 0:{control} max |r| = {max(abs(r['h', control]), abs(r['c', control])):.3f}")

        ratios = {}
        for label, u in (("depth", unit), ("control", control)):
            effect = lm.intervention_effect(text, [Intervention("ablate", 0, u)])
            print(f"\n--ablate 0:{u} ({label} unit), loss in nats/token of the predicted character:")
            print(f"{'class':<8} {'tokens':>7} {'without':>8} {'with':>8} {'change':>8} {'ratio':>8}")
            for row in effect["classes"]:
                ratio = f"{row['ratio']:.1f}x" if row["ratio"] is not None else "-"
                print(f"{row['name']:<8} {row['tokens']:>7} {row['without']:>8.3f} {row['with']:>8.3f} "
                      f"{row['change']:>+8.3f} {ratio:>8}")
            close = next(row for row in effect["classes"] if row["name"] == "close")
            ratios[label] = close["change"], close["rest_change"]
        close, other = ratios["depth"]
        c_close, c_other = ratios["control"]
        print(f"RESULT depth_unit=0:{unit} r={best:+.3f} close_change={close:+.3f} other_change={other:+.3f} "
              f"ratio={_ratio(close, other)} control_ratio={_ratio(c_close, c_other)}")


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}" if b > 0 else "inf"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("ablate", help="ablate the depth unit of an LSTM trained on builtin:brackets")
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--chars", type=int, default=4000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs-dir", default=None)
    args = parser.parse_args()
    ablate(args)


if __name__ == "__main__":
    main()
