"""Classification end to end: the task trains through the shared trainer, records its baselines,
accuracy and macro-F1, resumes exactly, and `rnn-tui classify` reads the run."""

import json
import random
import subprocess
import sys

import pytest

from rnn_tui.api import load_classifier, load_run
from rnn_tui.config import Config
from rnn_tui.errors import RnnTuiError
from rnn_tui.runs.checkpoint import load_checkpoint
from rnn_tui.runs.rundir import RunDir
from rnn_tui.train.trainer import train_run
from tests.test_cli import run_cli
from tests.typed_records import assert_written_as_typed

WORDS = "the film was plot actors music long story scenes ending and it a very quite".split()


def reviews(tmp_path, n=600):
    """label<TAB>text with a header: pos texts hold "good" or "great", neg ones "bad" or "dull"."""
    rng = random.Random(0)
    lines = ["label\ttext"]
    for i in range(n):
        label = ("pos", "neg")[i % 2]
        cue = rng.choice(("good", "great") if label == "pos" else ("bad", "dull"))
        words = [rng.choice(WORDS) for _ in range(rng.randint(3, 12))]
        words.insert(rng.randrange(len(words) + 1), cue)
        lines.append(f"{label}\t{' '.join(words)} {i}")
    path = tmp_path / "reviews.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def classify_config(data: str, **train) -> Config:
    cfg = Config(task="classify")
    cfg.data.spec, cfg.data.tokenizer, cfg.data.test_size = data, "word", 60
    cfg.model.cell, cfg.model.hidden, cfg.model.embed, cfg.model.pooling = "gru", 32, 16, "max"
    t = cfg.train
    t.batch, t.steps, t.log_interval, t.eval_interval, t.sample_interval, t.checkpoint_interval = 16, 120, 20, 40, 60, 40
    t.lr, t.schedule, t.threads = 0.01, "constant", 1
    for key, value in train.items():
        setattr(t, key, value)
    return cfg.validate()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("classify")
    run = RunDir.create(root / "runs", classify_config(str(reviews(root))), name="c")
    train_run(run)
    return run


def test_a_classifier_trains_and_records_its_baselines_and_scores(trained):
    metrics = trained.read_metrics()
    start = next(r for r in metrics if r["event"] == "start")
    assert start["task"] == "classify" and start["classes"] == ["neg", "pos"]
    assert start["test_texts"] == 60 and start["train_texts"] + start["val_texts"] == 540
    assert set(start["baselines"]) == {"majority", "naive_bayes", "logreg"}
    assert start["baselines"]["majority"]["val_acc"] == pytest.approx(0.5, abs=0.02)
    assert start["baselines"]["naive_bayes"]["val_acc"] > 0.9  # the cue words give it away
    vals = [r for r in metrics if r["event"] == "val"]
    assert vals[-1]["val_acc"] > 0.9 and 0 <= vals[-1]["val_f1"] <= 1 and vals[-1]["val_loss"] < vals[0]["val_loss"]
    sample = trained.read_samples()[-1]
    assert sample["text"].count("\n") == 2 and "(true: " in sample["text"]
    ckpt = load_checkpoint(trained.checkpoints)
    assert ckpt.meta["classes"] == ["neg", "pos"] and ckpt.meta["baselines"] == start["baselines"]
    assert_written_as_typed(trained)


def test_the_best_checkpoint_is_the_most_accurate_on_validation_ties_to_the_lower_loss(tmp_path):
    path = reviews(tmp_path)  # with 30% of the labels flipped: the accuracy and the loss disagree along the way
    lines, rng = path.read_text(encoding="utf-8").splitlines(), random.Random(1)
    flip = {"pos": "neg", "neg": "pos"}
    lines[1:] = [flip[line[:3]] + line[3:] if rng.random() < 0.3 else line for line in lines[1:]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cfg = classify_config(str(path), steps=160, eval_interval=10, checkpoint_interval=10)
    run = RunDir.create(tmp_path / "runs", cfg, name="sel")
    train_run(run)
    vals = [r for r in run.read_metrics() if r["event"] == "val"]
    best = min(vals, key=lambda r: (-r["val_acc"], r["val_loss"]))  # the first of equals: later ones do not improve
    best = next(r for r in vals if r["val_acc"] == best["val_acc"] and r["val_loss"] == best["val_loss"])
    ckpt = load_checkpoint(run.checkpoints, "best")
    assert ckpt.meta["step"] == best["step"] and ckpt.meta["best_val_loss"] == pytest.approx(best["val_loss"])
    assert ckpt.meta["best_score"] == pytest.approx([-best["val_acc"], best["val_loss"]])
    flagged = [r["step"] for r in vals if r["best"]]
    assert flagged[-1] == best["step"]
    running = None  # each flagged evaluation beats every earlier one by accuracy, or ties it at a lower loss
    for r in vals:
        key = (-r["val_acc"], r["val_loss"])
        assert r["best"] == (running is None or key < running), r
        if r["best"]:
            running = key
    lowest = [min(r["val_loss"] for r in vals[: i + 1]) for i in range(len(vals))]
    assert any(r["val_loss"] == low and not r["best"] for r, low in zip(vals[1:], lowest[1:])), \
        "no evaluation lowered the loss without being the most accurate: the test shows nothing here"


def test_resume_continues_exactly(tmp_path):
    data = str(reviews(tmp_path))
    cfg = classify_config(data, steps=60, log_interval=10)
    cfg.model.dropout = 0.2  # the RNG state must be restored
    root = tmp_path / "runs"
    train_run(RunDir.create(root, cfg, name="whole"))
    cfg.train.steps = 30
    split = RunDir.create(root, cfg, name="split")
    train_run(split)
    train_run(split, resume=True, changes={"train.steps": 60})

    def losses(run):
        return [(r["step"], r["loss"]) for r in RunDir.open(run, root).read_metrics() if r["event"] == "train"]

    assert losses("split") == pytest.approx(losses("whole"))


def test_the_api_and_the_command(monkeypatch, capsys, trained):
    model = load_classifier(trained.path)
    result = model.classify("the film was good")
    assert result["label"] == "pos" and sum(result["probs"].values()) == pytest.approx(1.0)
    scores = model.evaluate("test")
    assert scores["texts"] == 60 and scores["accuracy"] > 0.9 and sum(map(sum, scores["confusion"])) == 60
    assert sum(b["texts"] for b in scores["by_length"]) == 60 and len(scores["by_length"]) <= 4
    runs = ["--runs-dir", trained.path.parent]
    code, out, err = run_cli(monkeypatch, capsys, "classify", "c", "a dull story", "--json", *runs)
    assert code == 0 and json.loads(out)["label"] == "neg"
    code, out, _ = run_cli(monkeypatch, capsys, "classify", "c", "--split", "test", *runs)
    assert code == 0 and "c test (60 texts): accuracy" in out and "naive Bayes" in out and "confusion" in out
    assert "accuracy by length" in out
    assert "\nconfusion (rows: true class, columns: predicted)\n" in out  # whole, over a narrow table
    code, _, err = run_cli(monkeypatch, capsys, "generate", "c", *runs)
    assert code == 1 and err.strip() == "rnn-tui: error: c is a classifier; use `rnn-tui classify c TEXT`"
    with pytest.raises(RnnTuiError, match="is a classifier"):
        load_run(trained.path)


def test_classify_batch_gives_each_text_what_it_gets_alone_in_its_order(trained):
    model = load_classifier(trained.path)
    rng = random.Random(1)
    texts = [" ".join(rng.choice([*WORDS, "good", "bad"]) for _ in range(rng.randint(1, 30))) for _ in range(11)]
    texts.append("an unseen zebra")  # unknown words
    batched = model.classify_batch(texts, batch=3)  # sorted by length into 4 batches of padded texts
    assert [r["text"] for r in batched] == texts
    for text, got in zip(texts, batched):
        alone = model.classify(text)
        assert got["label"] == alone["label"] and got["tokens"] == alone["tokens"] == len(model.encode(text))
        assert list(got["probs"]) == model.classes
        assert list(got["probs"].values()) == pytest.approx(list(alone["probs"].values()), abs=1e-6)
    assert len({r["tokens"] for r in batched}) > 3  # the lengths differed: padding was there to ignore
    with pytest.raises(RnnTuiError, match="empty"):
        model.classify_batch(["good", " "])


def test_stdin_one_text_per_line(trained):
    out = subprocess.run([sys.executable, "-m", "rnn_tui", "classify", str(trained.path), "-", "--json"],
                         input="good music\n\nbad ending\n", capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert [json.loads(line)["label"] for line in out.stdout.splitlines()] == ["pos", "neg"]


@pytest.mark.parametrize("data, said", [
    ("builtin:hello", "builtin:hello is a text dataset; classification (--task classify) trains on labeled texts"),
    ("builtin:numbers-en-zh", "holds sentence pairs, not labeled texts"),
])
def test_a_dataset_that_is_not_labeled_is_one_line(monkeypatch, capsys, tmp_path, data, said):
    code, _, err = run_cli(monkeypatch, capsys, "train", "--task", "classify", "--data", data, "--runs-dir", tmp_path / "runs")
    assert code == 1 and err.count("\n") == 1 and said in err, err
    assert not (tmp_path / "runs").exists()


def test_the_progress_shows_accuracy_beside_the_best_baseline_not_perplexity(tmp_path):
    """`rnn-tui train --task classify` as a user runs it (no --json): the validation lines, the
    bar and the last line show accuracy and macro-F1 beside the best baseline, never perplexity
    (a per-text loss has none); the numbers are the run's own records."""
    import os
    from pathlib import Path

    from rnn_tui.runs.records import best_baseline

    args = ["train", "--task", "classify", "--data", reviews(tmp_path), "--tokenizer", "word", "--test-size", "60",
            "--hidden", "16", "--embed", "8", "--steps", "40", "--log-interval", "10", "--eval-interval", "20",
            "--threads", "1", "--runs-dir", tmp_path / "runs", "--name", "p"]
    env = {**os.environ, "COLUMNS": "250", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.run([sys.executable, "-m", "rnn_tui", *map(str, args)], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    records = RunDir.open(tmp_path / "runs" / "p").read_metrics()
    start = next(r for r in records if r["event"] == "start")
    vals = [r for r in records if r["event"] == "val"]
    _, best = best_baseline(start["baselines"])
    beside = f"(baseline {best:.1%})"
    val_lines = [line for line in proc.stderr.splitlines() if "val loss" in line]
    assert [line.split()[1] for line in val_lines] == [str(r["step"]) for r in vals] == ["20", "40"]
    for line, r in zip(val_lines, vals):
        assert f"accuracy {r['val_acc']:.1%} {beside}  macro-F1 {r['val_f1']:.3f}" in line
    bar = next(line for line in proc.stderr.splitlines() if "tok/s" in line)
    assert "step 40 · loss " in bar and f"val acc {vals[-1]['val_acc']:.1%} {beside} · F1 {vals[-1]['val_f1']:.3f}" in bar
    assert "ppl" not in proc.stderr + proc.stdout and "bits/token" not in proc.stderr
    assert proc.stdout.splitlines()[0] == (f"finished (budget reached) at step 40 · val loss {vals[-1]['val_loss']:.4f}"
                                           f" · accuracy {vals[-1]['val_acc']:.1%} {beside}")


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory):
    """A classifier "c", a language model "lm" and a translator "mt", two steps each."""
    from tests.conftest import small_config
    from tests.test_train_seq2seq import pairs_file, s2s_config

    root = tmp_path_factory.mktemp("three")
    text = root / "t.txt"
    text.write_text("hello world.\n" * 100, encoding="utf-8")
    for name, cfg in (("c", classify_config(str(reviews(root, n=200)), steps=2)),
                      ("lm", small_config(str(text), steps=2)),
                      ("mt", s2s_config(str(pairs_file(root)), steps=2))):
        train_run(RunDir.create(root / "runs", cfg, name=name))
    return root / "runs"


USE_CLASSIFY = "c is a classifier; use `rnn-tui classify c TEXT`"
USE_LM = "lm is a language model; use `rnn-tui generate lm` or `rnn-tui score lm TEXT`"
USE_TRANSLATE = "mt is a translation run (seq2seq); use `rnn-tui translate mt TEXT`"


@pytest.mark.parametrize("args, line", [
    (("generate", "c"), USE_CLASSIFY),
    (("generate", "c", "--beam", "3"), USE_CLASSIFY),
    (("score", "c", "a good film"), USE_CLASSIFY),
    (("translate", "c", "a good film"), USE_CLASSIFY),
    (("translate", "c", "--split", "test"), USE_CLASSIFY),
    (("classify", "lm", "hello"), USE_LM),
    (("classify", "lm", "--split", "test"), USE_LM),
    (("classify", "mt", "I have 3 cats ."), USE_TRANSLATE),
    (("translate", "lm", "hello"), USE_LM),
    (("generate", "mt"), USE_TRANSLATE),
])
def test_a_run_of_another_task_is_one_line_naming_it_and_its_command(three_runs, monkeypatch, capsys, args, line):
    code, out, err = run_cli(monkeypatch, capsys, *args, "--runs-dir", three_runs)
    assert (code, out, err) == (1, "", f"rnn-tui: error: {line}\n")
