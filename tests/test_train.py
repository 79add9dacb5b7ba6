"""The trainer writes a consistent run directory, resumes exactly and obeys commands."""

import threading
import time

import pytest

from rnn_tui.errors import RnnTuiError
from rnn_tui.runs.checkpoint import load_checkpoint
from rnn_tui.runs.rundir import RunDir
from rnn_tui.train.trainer import train_run
from tests.conftest import small_config
from tests.typed_records import assert_written_as_typed


def _train(tmp_path, cfg, name, resume=False, on_event=None):
    run = RunDir.open(name, tmp_path) if resume else RunDir.create(tmp_path, cfg, name=name)
    return run, train_run(run, on_event=on_event, resume=resume)


def _numbers(records, event):
    keep = ("step", "loss", "grad_norm", "lr", "clip_frac", "val_loss")
    return [{k: r[k] for k in keep if k in r} for r in records if r["event"] == event]


def test_a_run_learns_and_writes_every_file(tmp_path, text_file):
    run, end = _train(tmp_path, small_config(str(text_file), steps=60, lr=0.01), "r")
    assert end["state"] == "finished" and end["step"] == 60
    metrics = run.read_metrics()
    train = [r for r in metrics if r["event"] == "train"]
    assert [r["step"] for r in train] == list(range(5, 61, 5))
    assert train[-1]["loss"] < train[0]["loss"] - 0.5, "the loss should fall on a repetitive text"
    for r in train:
        assert r["ppl"] == pytest.approx(2.718281828 ** r["loss"], rel=1e-6)
        assert r["bpt"] == pytest.approx(r["loss"] / 0.693147, rel=1e-4)
        assert r["tokens_per_s"] > 0 and 0 <= r["clip_frac"] <= 1 and r["grad_norm"] > 0
    vals = [r for r in metrics if r["event"] == "val"]
    assert [r["step"] for r in vals] == [20, 40, 60]
    assert metrics[0]["event"] == "start" and metrics[-1]["event"] == "end"
    samples = run.read_samples()
    assert [s["step"] for s in samples] == [20, 40, 60] and all(len(s["text"]) > 0 for s in samples)
    status = run.read_status()
    assert status["state"] == "finished" and status["step"] == 60
    assert load_checkpoint(run.checkpoints, "latest").meta["step"] == 60
    best = load_checkpoint(run.checkpoints, "best").meta
    assert best["val_loss"] == min(v["val_loss"] for v in vals)
    assert_written_as_typed(run)


def test_same_seed_same_numbers(tmp_path, text_file):
    cfg = small_config(str(text_file), steps=20, dropout=0.0)
    _, _ = _train(tmp_path, cfg, "a")
    _, _ = _train(tmp_path, cfg, "b")
    a, b = RunDir.open("a", tmp_path).read_metrics(), RunDir.open("b", tmp_path).read_metrics()
    assert _numbers(a, "train") == _numbers(b, "train") and _numbers(a, "val") == _numbers(b, "val")


@pytest.mark.parametrize("batching", ["sequential", "random"])
def test_resume_continues_exactly(tmp_path, text_file, batching):
    cfg = small_config(str(text_file), steps=40, batching=batching)
    cfg.model.dropout, cfg.model.layers = 0.2, 2  # dropout makes the RNG state matter
    _train(tmp_path, cfg, "whole")
    cfg.train.steps = 20
    _train(tmp_path, cfg, "split")
    run = RunDir.open("split", tmp_path)
    resumed = run.config()
    resumed.train.steps = 40
    run.config_path.write_text(resumed.to_toml())
    _train(tmp_path, None, "split", resume=True)
    whole, split = RunDir.open("whole", tmp_path).read_metrics(), run.read_metrics()
    assert _numbers(whole, "train") == _numbers(split, "train")
    assert _numbers(whole, "val") == _numbers(split, "val")
    assert [r["event"] for r in split].count("start") == 2


def test_commands_apply_within_one_step(tmp_path, text_file):
    cfg = small_config(str(text_file), steps=400, log_interval=1, eval_interval=1000, sample_interval=1000)
    run = RunDir.create(tmp_path, cfg, name="ctl")
    seen_paused = []

    def on_event(event):
        if event["event"] == "train" and event["step"] == 10:
            run.send("set-lr", lr=0.0123)
        if event["event"] == "train" and event["step"] == 15:
            run.send("pause")

            def later():  # resume once the trainer reports it is paused
                deadline = time.monotonic() + 60
                while run.read_status()["state"] != "paused" and time.monotonic() < deadline:
                    time.sleep(0.02)
                seen_paused.append(run.read_status()["state"])
                run.send("resume")

            threading.Thread(target=later).start()
        if event["event"] == "train" and event["step"] == 25:
            run.send("stop")

    end = train_run(run, on_event=on_event)
    metrics = run.read_metrics()
    lr = {r["step"]: r["lr"] for r in metrics if r["event"] == "train"}
    assert lr[10] == 0.002 and lr[11] == pytest.approx(0.0123)
    controls = [(r["cmd"], r["step"]) for r in metrics if r["event"] == "control"]
    assert controls == [("set-lr", 10), ("pause", 15), ("resume", 15), ("stop", 25)]
    assert seen_paused == ["paused"]
    assert end["state"] == "stopped" and end["step"] == 25
    assert run.read_status()["state"] == "stopped"
    assert load_checkpoint(run.checkpoints).meta["step"] == 25
    assert_written_as_typed(run)  # control records, with set-lr's lr


def test_non_finite_loss_fails_cleanly_and_keeps_the_checkpoint(tmp_path, text_file):
    cfg = small_config(str(text_file), steps=200, optimizer="sgd", lr=50.0, clip=0.0, checkpoint_interval=1,
                       log_interval=1, eval_interval=1000, sample_interval=1000)
    cfg.model.cell = "rnn-relu"
    run = RunDir.create(tmp_path, cfg, name="nan")
    with pytest.raises(RnnTuiError, match=r"became (nan|inf).*last good checkpoint is kept"):
        train_run(run)
    status = run.read_status()
    assert status["state"] == "failed" and "became" in status["error"]
    ckpt = load_checkpoint(run.checkpoints, "latest")  # still loads: never overwritten by a bad step
    import math

    assert all(math.isfinite(float(v.abs().max())) for v in ckpt.model.values())
    assert run.read_metrics()[-1]["state"] == "failed"
    assert_written_as_typed(run)  # the failed end record and status


def test_bad_data_fails_with_one_line_and_a_failed_status(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    run = RunDir.create(tmp_path, small_config(str(empty)), name="empty")
    with pytest.raises(RnnTuiError, match="empty"):
        train_run(run)
    assert run.read_status()["state"] == "failed"


@pytest.mark.parametrize("cell", ["rnn", "rnn-relu", "gru", "lstm", "peephole-lstm"])
def test_every_cell_trains(tmp_path, text_file, cell):
    cfg = small_config(str(text_file), steps=30, lr=0.01, log_interval=10, eval_interval=30, sample_interval=30)
    cfg.model.cell, cfg.model.layers = cell, 2
    run, end = _train(tmp_path, cfg, cell)
    losses = [r["loss"] for r in run.read_metrics() if r["event"] == "train"]
    assert end["state"] == "finished" and losses[-1] < losses[0]


def test_early_stopping_ends_the_run_after_patience(tmp_path, text_file):
    # a learning rate this small cannot improve validation loss by the 1e-6 that counts
    cfg = small_config(str(text_file), steps=400, lr=1e-8, eval_interval=5, patience=2, log_interval=5, sample_interval=1000)
    run, end = _train(tmp_path, cfg, "early")
    vals = [r for r in run.read_metrics() if r["event"] == "val"]
    assert end["state"] == "finished" and end["reason"].startswith("early stop")
    assert len(vals) == 3 and end["step"] == 15


def test_a_small_text_gets_a_batch_and_bptt_length_that_fit_unless_the_user_set_them(tmp_path):
    from rnn_tui.train.trainer import prepare

    text = tmp_path / "tiny.txt"
    text.write_text("hello\n" * 300, encoding="utf-8")  # 1,620 training tokens, 180 for validation
    cfg = small_config(str(text), steps=4, batch=32, seq_len=100)
    with pytest.raises(RnnTuiError, match="dataset too small: 1620 tokens for batch 32 × seq-len 100"):
        prepare(small_config(str(text), batch=32, seq_len=100), fixed={"train.batch", "train.seq_len"})

    # `rnn-tui train` without --batch: the batch fits, the BPTT length asked is kept
    prepared = prepare(cfg, fixed={"train.seq_len"})
    assert (cfg.train.batch, cfg.train.seq_len) == (16, 100)
    run = RunDir.create(tmp_path, cfg, name="cli")
    train_run(run, prepared=prepared)
    start = run.read_metrics()[0]
    assert start["adjusted"] == {"why": "1,620 training tokens are too few for batch 32 × BPTT length 100",
                                 "settings": {"train.batch": [32, 16]}}
    assert (run.config().train.batch, run.config().train.seq_len) == (16, 100)  # what was used: a resume is exact
    train_run(run, resume=True, changes={"train.steps": 8})
    assert "adjusted" not in [r for r in run.read_metrics() if r["event"] == "start"][1]

    # the app creates the run with its form's settings; its trainer fits them and rewrites config.toml
    run = RunDir.create(tmp_path, small_config(str(text), steps=4, batch=32, seq_len=100), name="app")
    train_run(run, resume=True)
    assert run.read_metrics()[0]["adjusted"]["settings"] == {"train.batch": [32, 16]}
    assert run.config().train.batch == 16 and run.read_status()["state"] == "finished"
    assert_written_as_typed(run)


def test_the_first_checkpoint_comes_at_the_first_evaluation(tmp_path, text_file):
    from rnn_tui.runs.checkpoint import checkpoint_exists

    seen = {}

    def on_event(event):
        if event["event"] == "train" and event["step"] in (2, 4):  # before the evaluation at step 3, and after it
            ckpt = run.checkpoints
            seen[event["step"]] = load_checkpoint(ckpt, "latest").meta["step"] if checkpoint_exists(ckpt, "latest") else None

    cfg = small_config(str(text_file), steps=4, eval_interval=3, log_interval=1, checkpoint_interval=1000)
    run = RunDir.create(tmp_path, cfg, name="r")
    train_run(run, on_event=on_event)
    assert seen == {2: None, 4: 3}  # none before the first evaluation, one at it (long before the interval)
    assert load_checkpoint(run.checkpoints, "latest").meta["step"] == 4


@pytest.mark.parametrize("seconds, latest", [(1e-9, {2: None, 3: 2, 4: 3}), (0.0, {2: None, 3: None, 4: None})])
def test_the_latest_checkpoint_also_keeps_up_with_the_training_time(tmp_path, text_file, seconds, latest):
    """--checkpoint-seconds: with neither an evaluation nor the step interval reached, a checkpoint after each
    step that ends that much training time after the last one (0: none)."""
    from rnn_tui.runs.checkpoint import checkpoint_exists

    seen = {}

    def on_event(event):
        if event["event"] == "train":
            ckpt = run.checkpoints
            seen[event["step"]] = load_checkpoint(ckpt, "latest").meta["step"] if checkpoint_exists(ckpt, "latest") else None

    cfg = small_config(str(text_file), steps=4, eval_interval=1000, log_interval=1, checkpoint_interval=1000,
                       checkpoint_seconds=seconds)
    run = RunDir.create(tmp_path, cfg, name="r")
    train_run(run, on_event=on_event)
    # a step's record is written before its checkpoint; step 1 starts at 0 s of training, so the first save is step 2's
    assert {step: seen[step] for step in (2, 3, 4)} == latest
    assert load_checkpoint(run.checkpoints, "latest").meta["step"] == 4  # and the last one at the end
