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

``expert``: the sentiment recipe's settings (a char GRU-128, max pooling, with the n-gram
expert: the run's bag-of-bigrams logistic regression votes with the network, their
log-probabilities averaged) for ``--seeds`` seeds. Each row: the test accuracy of the pooled
model, of the network alone and of the logistic regression, all three read from the one model
(the expert is the baseline, the network trains on its own loss), at the checkpoint most accurate
on validation; ``right/wrong`` counts the reviews the pooled model gets right where the logistic
regression does not, and the reverse, and ``p`` is McNemar's exact two-sided test of the two
(the same reviews, paired). Last line: ``RESULT test_acc=<mean> alone=<mean> logreg=<acc>
margin=<points> seeds_beating=<k/N> max_p=<p>``.

Every row states the CPU time it took (user + system of this process, so a busy machine
stretches wall time but hardly this). Run it alone on the machine all the same.

    python bench/classify_accuracy.py long-range [--steps 2000] [--hidden 64] [--seeds 1]
    python bench/classify_accuracy.py sentiment [--steps 1500] [--hidden 128] [--cell gru] [--seeds 1]
                                                [--only char-last,...]
    python bench/classify_accuracy.py expert [--steps 3000] [--seeds 3]
    (any with --quick: a few steps on a small slice, to check the script runs)
"""

from __future__ import annotations

import argparse
import math
import random
import resource
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from rnn_tui import recipes  # noqa: E402
from rnn_tui.api import load_classifier  # noqa: E402
from rnn_tui.config import POOLINGS, Config  # noqa: E402
from rnn_tui.data.label_batches import ClassBatches  # noqa: E402
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
    return {"name": name, "seconds": seconds, "path": run.path, **scores}


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


def sentiment_data(args: argparse.Namespace, root: Path) -> tuple[str, int, int]:
    """The data file, the held-out reviews and the steps: sentiment-zh (or --data), or with --quick
    its first 400 texts."""
    if not args.quick:
        return str(args.data), SENTIMENT_TEST, args.steps
    small = root / "sentiment-small.tsv"
    small.write_text("".join(Path(args.data).read_text(encoding="utf-8").splitlines(keepends=True)[:401]), encoding="utf-8")
    return str(small), 40, 10


def sentiment(args: argparse.Namespace, root: Path) -> None:
    data, test_size, steps = sentiment_data(args, root)
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


def mcnemar(b: int, c: int) -> float:
    """McNemar's exact two-sided p-value: b and c texts where only one of two classifiers is right."""
    n = b + c
    return min(1.0, 2 * sum(math.comb(n, k) for k in range(min(b, c) + 1)) / 2**n) if n else 1.0


@torch.no_grad()
def paired(run_path: Path) -> dict:
    """The test reviews as the best checkpoint reads them: right or wrong for the pooled model, the
    network alone and the expert (the run's logistic regression)."""
    from rnn_tui.train.tasks import ClassifyTask

    loaded = load_classifier(run_path, tag="best")
    model, task = loaded.model, ClassifyTask(loaded.config, loaded.meta)
    batches = ClassBatches(task.examples["test"], 64, shuffle=False)
    right: dict[str, list[bool]] = {"pooled": [], "alone": [], "logreg": []}
    for i in range(len(batches)):
        b = batches.get(0, i)
        for name, logits in (("pooled", model(b.x, b.lengths)), ("alone", model(b.x, b.lengths, alone=True)),
                             ("logreg", model.expert(b.x, b.lengths))):
            right[name] += (logits.argmax(-1) == b.y).tolist()
    assert sum(right["logreg"]) / len(right["logreg"]) == loaded.meta["baselines"]["logreg"]["test_acc"]
    return right


def fold_file(data: str, fold: int, folds: int, test_size: int, root: Path) -> str:
    """A copy of ``data`` with its rows placed so that the project's fixed split (data/labeled.py:
    each class shuffled by SPLIT_SEED, whose permutation depends on the class's size only) holds
    out fold ``fold`` of ``folds``: each class's rows are dealt, in a seeded order, into folds of
    the class's share of ``test_size``. The folds' test sets are disjoint."""
    from rnn_tui.data.labeled import SPLIT_SEED, _apportion, read_labeled

    lines = Path(data).read_text(encoding="utf-8").splitlines()
    labeled = read_labeled(data)
    if labeled.skipped or len(lines) - 1 != len(labeled.texts):
        sys.exit(f"--folds needs a plain label<TAB>text file, one row per line; {data} is not")
    rows: dict[str, list[str]] = {}
    for line, label in zip(lines[1:], labeled.labels):
        rows.setdefault(label, []).append(line)
    n_test = _apportion(test_size, {name: len(members) for name, members in rows.items()})
    split_rng, deal_rng, out = random.Random(SPLIT_SEED), random.Random(1), [lines[0]]
    for name in sorted(rows):
        members, t = rows[name], n_test[name]
        if t * folds > len(members):
            sys.exit(f"{folds} folds of {test_size} texts need more {name!r} texts than the {len(members)} there are")
        slots = list(range(len(members)))
        split_rng.shuffle(slots)  # the split's shuffle of this class: its first t slots are held out
        dealt = members[:]
        deal_rng.shuffle(dealt)
        held, rest = dealt[fold * t:(fold + 1) * t], dealt[:fold * t] + dealt[(fold + 1) * t:]
        placed = [""] * len(members)
        for slot, line in zip(slots[:t], held):
            placed[slot] = line
        free = iter(rest)
        out += [line or next(free) for line in placed]
    path = root / f"fold-{fold}.tsv"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return str(path)


def expert_job(job: tuple[str, int, int, int, int, str, str]) -> dict:
    """One run of the sentiment recipe (a process of its own with --jobs): its paired test counts."""
    data, test_size, steps, seed, threads, name, root = job
    cfg = recipes.find("sentiment").config(data)
    cfg.data.test_size, cfg.train.steps, cfg.train.seed, cfg.train.threads = test_size, steps, seed, threads
    run = run_one(Path(root), name, cfg.validate())
    right = paired(run["path"])
    n = len(right["pooled"])
    only_pooled = sum(p and not lr for p, lr in zip(right["pooled"], right["logreg"]))
    only_logreg = sum(lr and not p for p, lr in zip(right["pooled"], right["logreg"]))
    return {"name": name, "seconds": run["seconds"], "n": n, **{k: sum(r) for k, r in right.items()},
            "b": only_pooled, "c": only_logreg, "p": mcnemar(only_pooled, only_logreg)}


def expert(args: argparse.Namespace, root: Path) -> None:
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    data, test_size, steps = sentiment_data(args, root)
    if args.folds:  # seed 1 on each of the disjoint folds
        jobs = [(fold_file(data, k, args.folds, test_size, root), test_size, steps, 1, args.threads, f"fold-{k}", str(root))
                for k in range(args.folds)]
    else:
        jobs = [(data, test_size, steps, seed, args.threads, f"seed-{seed}", str(root)) for seed in range(1, args.seeds + 1)]
    with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
        rows = list(pool.map(expert_job, jobs))
    m = recipes.find("sentiment").config().model
    held = f"{args.folds} disjoint folds of {test_size} reviews" if args.folds else f"test {test_size} reviews"
    print(f"sentiment-zh · the sentiment recipe: char {m.cell.upper()}-{m.hidden}, {m.pooling} pooling, n-gram expert · "
          f"{steps} steps · {held} · the checkpoint most accurate on validation")
    print(f"{'run':<8}{'CPU s':>7}{'pooled':>9}{'alone':>8}{'logreg':>8}{'margin':>8}{'right/wrong':>13}{'p':>9}")
    for r in rows:
        pooled, alone, logreg = (r[k] / r["n"] for k in ("pooled", "alone", "logreg"))
        print(f"{r['name']:<8}{r['seconds']:>7.0f}{pooled:>9.1%}{alone:>8.1%}{logreg:>8.1%}"
              f"{(pooled - logreg) * 100:>+8.1f}{r['b']:>7}/{r['c']:<5}{r['p']:>9.2g}")
    beating = sum(r["pooled"] > r["logreg"] for r in rows)
    if args.folds:  # every review held out once: one paired test over all of them
        n, b, c = (sum(r[k] for r in rows) for k in ("n", "b", "c"))
        pooled, alone, logreg = (sum(r[k] for r in rows) / n for k in ("pooled", "alone", "logreg"))
        p = mcnemar(b, c)
        print(f"{'all':<8}{sum(r['seconds'] for r in rows):>7.0f}{pooled:>9.1%}{alone:>8.1%}{logreg:>8.1%}"
              f"{(pooled - logreg) * 100:>+8.1f}{b:>7}/{c:<5}{p:>9.2g}")
    else:
        pooled, alone, logreg = (statistics.mean(r[k] / r["n"] for r in rows) for k in ("pooled", "alone", "logreg"))
        p = max(r["p"] for r in rows)
    print(f"RESULT test_acc={pooled:.3f} alone={alone:.3f} logreg={logreg:.3f} margin={(pooled - logreg) * 100:+.1f} "
          f"{'folds' if args.folds else 'seeds'}_beating={beating}/{len(rows)} {'p' if args.folds else 'max_p'}={p:.2g}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("experiment", choices=("long-range", "sentiment", "expert"))
    parser.add_argument("--steps", type=int, default=None,
                        help="steps per setting [long-range 2000, sentiment 1500, expert: the recipe's 3000]")
    parser.add_argument("--hidden", type=int, default=None, help="hidden units [long-range 64, sentiment 128]")
    parser.add_argument("--seeds", type=int, default=None,
                        help="seeds per cell (long-range), per setting (sentiment) or in all (expert) [1; expert 3]")
    parser.add_argument("--cell", default="gru", help="sentiment: the recurrent cell [gru]")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (1 when the machine is busy: "
                        "two threads fighting other work for two cores run many times slower)")
    parser.add_argument("--only", type=lambda v: v.split(","), default=None,
                        help="sentiment: the settings to run, e.g. char-attention,jieba-max [all eight]")
    parser.add_argument("--quick", action="store_true", help="a few steps, to check the script runs")
    parser.add_argument("--folds", type=int, default=0,
                        help="expert: instead of seeds, seed 1 on K disjoint held-out folds of 1,736 reviews [0: off]")
    parser.add_argument("--jobs", type=int, default=1, help="expert: runs at once, each in a process of its own [1]")
    parser.add_argument("--data", type=Path, default=SENTIMENT,
                        help="sentiment, expert: another label<TAB>text file with a header [../shared/data/sentiment-zh.tsv]")
    args = parser.parse_args()
    long = args.experiment == "long-range"
    args.steps = args.steps or {"long-range": 2000, "sentiment": 1500,
                                "expert": recipes.find("sentiment").config().train.steps}[args.experiment]
    args.hidden = args.hidden or (64 if long else 128)
    args.seeds = args.seeds or (3 if args.experiment == "expert" else 1)
    with tempfile.TemporaryDirectory() as tmp:
        {"long-range": long_range, "sentiment": sentiment, "expert": expert}[args.experiment](args, Path(tmp))


if __name__ == "__main__":
    main()
