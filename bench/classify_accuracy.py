"""Classification accuracy: two experiments, each a table of held-out accuracy per setting.

``long-range``: a tanh RNN, a GRU and an LSTM of one size on ``builtin:balanced``. The label of
a ( ) string (balanced, or one change away from it) depends on the depth carried across the
whole string, up to 100 characters. Each cell trains with the same data, split, seed, number of
steps and settings (pooling ``last``: the decision is read from the final state, so what the
model knows of the start of a string had to travel through every step). The tanh RNN is the
reference: the vanishing-gradient lesson is that it stays near chance on the longest strings
where the gated cells do not. Last line: ``RESULT rnn=<acc> gru=<acc> lstm=<acc>``, each cell's
median test accuracy over the seeds on the longest quarter of the strings (target: gru and
lstm ≥ 0.95, rnn ≤ 0.65).

``sentiment``: ../shared/data/sentiment-zh.tsv (10% held out), a GRU with char vs jieba tokens
and the four poolings, the same number of steps each, beside the run's own baselines (majority,
naive Bayes and logistic regression on bags of uni+bigrams, fitted on the same split and tokens).
Each run is scored on its checkpoint most accurate on validation (a classifier's ``best``). Last
line: ``RESULT best=<setting> test_acc=<acc> logreg=<acc> margin=<points>``, the setting with the
highest test accuracy (its mean over ``--seeds``).

Every row states the CPU time it took (user + system of this process, so a busy machine
stretches wall time but hardly this). Run it alone on the machine all the same.

    python bench/classify_accuracy.py long-range [--steps 2000] [--hidden 64] [--seeds 1]
    python bench/classify_accuracy.py sentiment [--steps 1500] [--hidden 128] [--cell gru] [--seeds 1]
                                                [--only char-last,...]
    (either with --quick: a few steps on a small slice, to check the script runs)
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rnn_tui.api import load_classifier  # noqa: E402
from rnn_tui.config import POOLINGS, Config  # noqa: E402
from rnn_tui.runs.rundir import RunDir  # noqa: E402
from rnn_tui.train.trainer import train_run  # noqa: E402

SENTIMENT = ROOT.parent / "shared" / "data" / "sentiment-zh.tsv"
CELLS = ("rnn", "gru", "lstm")
BALANCED_TEST = 2000
SENTIMENT_TEST = 1736  # 10% of the 17,363 reviews


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def config(data: str, test_size: int, steps: int, seed: int, threads: int, batch: int = 32, lr: float = 2e-3,
           tokenizer: str = "char", **model) -> Config:
    """A classification run's settings: the defaults, but for these and ``model``'s."""
    cfg = Config()
    cfg.task, cfg.data.spec, cfg.data.test_size, cfg.data.tokenizer = "classify", data, test_size, tokenizer
    for key, value in model.items():
        setattr(cfg.model, key, value)
    t = cfg.train
    t.steps, t.seed, t.threads, t.batch, t.lr = steps, seed, threads, batch, lr
    t.eval_interval = t.checkpoint_interval = max(steps // 5, 1)
    return cfg.validate()


def run_one(root: Path, name: str, cfg: Config) -> dict:
    """Train one setting, then score its best checkpoint on the held-out texts."""
    run = RunDir.create(root, cfg, name=name)
    start = cpu_seconds()
    train_run(run)
    seconds = cpu_seconds() - start
    scores = load_classifier(run.path, tag="best").evaluate("test")
    print(f"  {name}: {seconds:.0f} CPU s, test {scores['accuracy']:.1%}", file=sys.stderr)
    return {"name": name, "seconds": seconds, **scores}


def long_range(args: argparse.Namespace, root: Path) -> None:
    steps = 20 if args.quick else args.steps
    results = [run_one(root, f"{cell}-{seed}", config("builtin:balanced", BALANCED_TEST, steps, seed, args.threads, lr=3e-3,
                                                          cell=cell, hidden=args.hidden, pooling="last"))
               for seed in range(1, args.seeds + 1) for cell in CELLS]
    buckets = [f"{b['lo']}–{b['hi']}" for b in results[0]["by_length"]]
    print(f"builtin:balanced · hidden {args.hidden} · {steps} steps · pooling last · test {BALANCED_TEST} strings")
    print(f"{'cell-seed':<10}{'CPU s':>7}{'all':>8}" + "".join(f"{b:>9}" for b in buckets))
    for r in results:
        print(f"{r['name']:<10}{r['seconds']:>7.0f}{r['accuracy']:>8.1%}"
              + "".join(f"{b['accuracy']:>9.1%}" for b in r["by_length"]))
    longest = {cell: statistics.median(r["by_length"][-1]["accuracy"] for r in results if r["name"].startswith(cell))
               for cell in CELLS}
    print("RESULT " + " ".join(f"{cell}={acc:.3f}" for cell, acc in longest.items()))


def sentiment(args: argparse.Namespace, root: Path) -> None:
    data, test_size, steps = str(SENTIMENT), SENTIMENT_TEST, args.steps
    if args.quick:  # the first 400 reviews
        small = root / "sentiment-small.tsv"
        small.write_text("".join(SENTIMENT.read_text(encoding="utf-8").splitlines(keepends=True)[:401]), encoding="utf-8")
        data, test_size, steps = str(small), 40, 10
    settings = [f"{tokenizer}-{pooling}" for tokenizer in ("char", "jieba") for pooling in POOLINGS]
    unknown = set(args.only or ()) - set(settings)
    if unknown:
        sys.exit(f"--only: no setting {sorted(unknown)[0]!r}; the settings are {', '.join(settings)}")
    results = []
    for name in settings if not args.only else [s for s in settings if s in args.only]:
        tokenizer, pooling = name.split("-")
        for seed in range(1, args.seeds + 1):
            results.append(run_one(root, f"{name}/{seed}" if args.seeds > 1 else name,
                                   config(data, test_size, steps, seed, args.threads, batch=64, tokenizer=tokenizer,
                                          cell=args.cell, hidden=args.hidden, dropout=0.2, pooling=pooling)))
    print(f"sentiment-zh · {args.cell.upper()}-{args.hidden} · dropout 0.2 · batch 64 · {steps} steps · "
          f"test {test_size} reviews · the checkpoint most accurate on validation")
    print(f"{'setting':<16}{'CPU s':>7}{'test acc':>10}{'macro-F1':>10}{'NB':>8}{'logreg':>8}{'margin':>8}")
    for r in results:
        b = r["baselines"]
        nb, lr = b["naive_bayes"]["test_acc"], b["logreg"]["test_acc"]
        print(f"{r['name']:<16}{r['seconds']:>7.0f}{r['accuracy']:>10.1%}{r['macro_f1']:>10.3f}{nb:>8.1%}{lr:>8.1%}"
              f"{(r['accuracy'] - lr) * 100:>+8.1f}")
    by_setting: dict[str, list[float]] = {}
    for r in results:
        by_setting.setdefault(r["name"].split("/")[0], []).append(r["accuracy"])
    if args.seeds > 1:
        for name, accs in by_setting.items():
            print(f"{name:<16} mean {statistics.mean(accs):.1%} ± {statistics.stdev(accs):.1%} (sd over {len(accs)} seeds)")
    best = max(by_setting, key=lambda name: statistics.mean(by_setting[name]))
    acc, logreg = statistics.mean(by_setting[best]), results[0]["baselines"]["logreg"]["test_acc"]
    print(f"RESULT best={best} test_acc={acc:.3f} logreg={logreg:.3f} margin={(acc - logreg) * 100:+.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("experiment", choices=("long-range", "sentiment"))
    parser.add_argument("--steps", type=int, default=None, help="steps per setting [long-range 2000, sentiment 1500]")
    parser.add_argument("--hidden", type=int, default=None, help="hidden units [long-range 64, sentiment 128]")
    parser.add_argument("--seeds", type=int, default=1, help="seeds per cell (long-range) or per setting (sentiment)")
    parser.add_argument("--cell", default="gru", help="sentiment: the recurrent cell [gru]")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (1 when the machine is busy: "
                        "two threads fighting other work for two cores run many times slower)")
    parser.add_argument("--only", type=lambda v: v.split(","), default=None,
                        help="sentiment: the settings to run, e.g. char-attention,jieba-max [all eight]")
    parser.add_argument("--quick", action="store_true", help="a few steps, to check the script runs")
    args = parser.parse_args()
    long = args.experiment == "long-range"
    args.steps = args.steps or (2000 if long else 1500)
    args.hidden = args.hidden or (64 if long else 128)
    with tempfile.TemporaryDirectory() as tmp:
        (long_range if long else sentiment)(args, Path(tmp))


if __name__ == "__main__":
    main()
