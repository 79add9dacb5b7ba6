"""Classification speed on the CPU: texts/s of ``LoadedClassifier.classify_batch`` (texts of
similar length through the model together) against ``classify`` called once per text.

    python bench/classify.py [--data SPEC] [--texts 1000] [--reps 5] [--batch 64] [--threads 1] [--quick]

The texts are the first N of ../shared/data/sentiment-zh.tsv (found beside the project root;
Chinese reviews, mean 73 chars, median 46), else of the built-in ``builtin:parity`` (bit strings of
1-100 chars), or of any labeled SPEC given with --data; read with the char tokenizer and cut at
the classifier's default 400 tokens, as `rnn-tui classify` reads them. The models are char
classifiers of a stated size, embedding 64, one layer of 128 units — GRU and LSTM, each with
pooling last, max and attention — with random weights from seed 0: speed does not depend on
what the weights learnt, so nothing is trained. The vocabulary is the texts' own characters.

For each model both ways classify all N texts in each of ``--reps`` rounds, alternated
(one-by-one first in even rounds, batched first in odd ones) so that a noisy machine's drift hits
both alike; the table shows the median texts/s of each way and their ratio, and the largest
difference of a class probability between the two ways (a padded batch is packed: 0 up to
float rounding). Nothing here asserts a time.

Last line: ``RESULT batched_texts_per_s=<x> one_by_one_texts_per_s=<y> min_speedup=<z>``, the
first two for the GRU-128 with last pooling, the speedup the smallest over the six models.
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

SENTIMENT = ROOT.parent / "shared" / "data" / "sentiment-zh.tsv"
FALLBACK = "builtin:parity"
MODELS = [(cell, pooling) for cell in ("gru", "lstm") for pooling in ("last", "max", "attention")]
EMBED, HIDDEN = 64, 128


def read_texts(spec: str, n: int) -> tuple[list[str], list[str]]:
    """The first ``n`` texts of a labeled dataset and its classes."""
    from rnn_tui.data.spec import load_labeled, resolve

    labeled = load_labeled(resolve(spec))
    return labeled.texts[:n], sorted(set(labeled.labels))


def random_classifier(cell: str, pooling: str, texts: list[str], classes: list[str], root: Path):
    """A LoadedClassifier around a char classifier with random weights (seed 0), as
    ``api.load_classifier`` builds it from a checkpoint; its run directory holds only its config."""
    import torch

    from rnn_tui.api import LoadedClassifier
    from rnn_tui.config import Config
    from rnn_tui.data.tokenizers import get_tokenizer
    from rnn_tui.data.vocab import Vocab
    from rnn_tui.models.classifier import Classifier
    from rnn_tui.runs.rundir import RunDir
    from rnn_tui.train.tasks import classifier_tokens

    cfg = Config(task="classify")
    cfg.data.tokenizer = "char"
    cfg.model.cell, cfg.model.embed, cfg.model.hidden, cfg.model.layers, cfg.model.pooling = cell, EMBED, HIDDEN, 1, pooling
    cfg.validate()
    tokenizer = get_tokenizer("char")
    vocab = Vocab.build(tok for text in texts for tok in classifier_tokens(cfg.data, tokenizer, text))
    torch.manual_seed(0)
    model = Classifier(cfg.model, len(vocab), len(classes), pooling).eval()
    run = RunDir.create(root, cfg, name=f"{cell}-{pooling}")
    return LoadedClassifier(run=run, config=cfg, model=model, vocab=vocab, tokenizer=tokenizer, classes=classes, meta={})


WAYS = ("one", "batched")


def classify(model, way: str, texts: list[str], batch: int) -> list[dict]:
    """Every text's class and probabilities: one ``classify`` call per text, or ``classify_batch``."""
    if way == "one":
        return [model.classify(text) for text in texts]
    return model.classify_batch(texts, batch=batch)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=None, help=f"labeled texts (default: {SENTIMENT.name} if found, else {FALLBACK})")
    parser.add_argument("--texts", type=int, default=1000, help="texts classified per round")
    parser.add_argument("--reps", type=int, default=5, help="rounds per way and model (medians are reported)")
    parser.add_argument("--batch", type=int, default=64, help="texts per forward pass when batched")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: one interactive user)")
    parser.add_argument("--quick", action="store_true", help="40 texts, 1 round (a smoke run)")
    args = parser.parse_args()
    if args.quick:
        args.texts, args.reps = 40, 1

    import torch

    torch.set_num_threads(args.threads)
    spec = args.data or (str(SENTIMENT) if SENTIMENT.is_file() else FALLBACK)
    texts, classes = read_texts(spec, args.texts)
    print(f"data {Path(spec).name if not spec.startswith('builtin:') else spec}: {len(texts)} texts, "
          f"mean {statistics.mean(map(len, texts)):.0f} chars, {len(classes)} classes; char tokens (≤ 400 a text); "
          f"random weights (seed 0), embedding {EMBED}, 1 layer × {HIDDEN}; batch {args.batch}; "
          f"{args.threads} thread(s), torch {torch.__version__}")
    header = (f"{'cell':<5} {'pooling':<10} {'one by one texts/s':>19} {'batched texts/s':>16} {'speedup':>8} "
              f"{'max |Δp|':>9}   (medians of {args.reps} rounds)")
    print(header)
    print("-" * len(header))
    rates: dict[tuple[str, str], dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="rnn-tui-bench-classify-") as tmp:
        for cell, pooling in MODELS:
            model = random_classifier(cell, pooling, texts, classes, Path(tmp))
            out = {way: classify(model, way, texts, args.batch) for way in WAYS}  # warm-up, and the results to compare
            diff = max(abs(p - q) for a, b in zip(out["one"], out["batched"])
                       for p, q in zip(a["probs"].values(), b["probs"].values()))
            times: dict[str, list[float]] = {way: [] for way in WAYS}
            for rep in range(args.reps):
                for way in (WAYS if rep % 2 == 0 else WAYS[::-1]):
                    start = time.perf_counter()
                    classify(model, way, texts, args.batch)
                    times[way].append(time.perf_counter() - start)
            rate = {name: len(texts) / statistics.median(t) for name, t in times.items()}
            rates[cell, pooling] = rate
            print(f"{cell:<5} {pooling:<10} {rate['one']:>19,.0f} {rate['batched']:>16,.0f} "
                  f"{rate['batched'] / rate['one']:>7.1f}× {diff:>9.1e}", flush=True)
    ref = rates["gru", "last"]
    speedup = min(r["batched"] / r["one"] for r in rates.values())
    print(f"RESULT batched_texts_per_s={ref['batched']:.0f} one_by_one_texts_per_s={ref['one']:.0f} min_speedup={speedup:.2f}")


if __name__ == "__main__":
    main()
