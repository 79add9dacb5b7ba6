"""The lab's demonstrations (issue 12), cheap enough to run anywhere.

    python bench/lab.py gradients [--seeds 5] [--hidden 64] [--sequences 16]

``gradients``: the decay ratio ‖∂L/∂h_{T−d}‖ / ‖∂L/∂h_T‖ (L = uᵀh_T, the mean over random N(0, 1)
input sequences; inspect/gradients.py) at d = 10, 25, 50, 100 for a freshly initialised tanh RNN,
GRU, LSTM with forget bias 0 and LSTM with forget bias 1, each the median over ``--seeds`` seeds.
Must hold: the tanh RNN's ratio at d = 50 is below 1e-8, and the LSTM with forget bias 1 keeps
at least 1000× what forget bias 0 keeps at d = 50. Last line:
``RESULT rnn_d50=<x> lstm_fb0_d50=<y> lstm_fb1_d50=<z> must_hold=<pass|fail>``.
"""

from __future__ import annotations

import argparse
import statistics

import torch

from rnn_tui.inspect.gradients import fresh_cell_decay

DISTANCES = (10, 25, 50, 100)
CONTENDERS = (("rnn", "rnn", 0.0), ("gru", "gru", 0.0), ("lstm fb0", "lstm", 0.0), ("lstm fb1", "lstm", 1.0))


def gradients(seeds: int, hidden: int, sequences: int) -> None:
    steps = max(DISTANCES) + 1
    ratios: dict[str, list[float]] = {}
    print(f"decay ratio at initialisation, {hidden} units, median over {seeds} seeds ({sequences} sequences each)")
    print(f"{'cell':<10}" + "".join(f"{'d=' + str(d):>12}" for d in DISTANCES))
    for name, cell, bias in CONTENDERS:
        curves = [fresh_cell_decay(cell, hidden=hidden, steps=steps, forget_bias=bias, sequences=sequences, seed=s)
                  for s in range(seeds)]
        ratios[name] = [statistics.median(float(c[d]) for c in curves) for d in DISTANCES]
        print(f"{name:<10}" + "".join(f"{r:>12.3e}" for r in ratios[name]))
    d50 = DISTANCES.index(50)
    rnn, fb0, fb1 = ratios["rnn"][d50], ratios["lstm fb0"][d50], ratios["lstm fb1"][d50]
    checks = [(f"tanh RNN ratio at d=50 < 1e-8: {rnn:.3e}", rnn < 1e-8),
              (f"LSTM fb1 ≥ 1000 × fb0 at d=50: {fb1 / fb0:.3g}×", fb1 >= 1000 * fb0)]
    for text, ok in checks:
        print(f"{'pass' if ok else 'FAIL'}  {text}")
    held = all(ok for _, ok in checks)
    print(f"RESULT rnn_d50={rnn:.3e} lstm_fb0_d50={fb0:.3e} lstm_fb1_d50={fb1:.3e} must_hold={'pass' if held else 'fail'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="experiment", required=True)
    g = sub.add_parser("gradients", help="the decay of the gradient at initialisation")
    g.add_argument("--seeds", type=int, default=5)
    g.add_argument("--hidden", type=int, default=64)
    g.add_argument("--sequences", type=int, default=16)
    args = parser.parse_args()
    torch.set_num_threads(1)
    gradients(args.seeds, args.hidden, args.sequences)


if __name__ == "__main__":
    main()
