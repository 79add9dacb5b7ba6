"""Data-parallel training (train/distributed.py): the ranks' shares of the data, and real
two-process runs (torchrun, gloo on the CPU) that must train exactly what one process trains
with the same global batch, write one run directory from rank 0, and resume exactly."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from rnn_tui.config import Config
from rnn_tui.data.label_batches import ClassBatches
from rnn_tui.data.pairs import PairBatches
from rnn_tui.data.shards import block, count_batches
from rnn_tui.data.text import LMBatches
from rnn_tui.runs.checkpoint import load_checkpoint
from rnn_tui.runs.rundir import RunDir
from rnn_tui.train.trainer import train_run
from tests.test_train_seq2seq import pairs_file

RANKS = 2


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    monkeypatch.setenv("RNN_TUI_ATTACHED", "1")  # the trainer's own rule: one thread


# -- shares of the data (no processes) ------------------------------------------------------------


def test_blocks_cover_everything_once_in_order():
    for n in range(0, 9):
        for ranks in (1, 2, 3):
            shares = [block(n, r, ranks) for r in range(ranks)]
            assert [i for s in shares for i in s] == list(range(n))
            assert max(map(len, shares)) - min(map(len, shares)) <= 1
    assert count_batches(10, 4, 1) == 3 and count_batches(10, 4, 2) == 3 and count_batches(9, 4, 2) == 2


@pytest.mark.parametrize("scheme", ["sequential", "random"])
def test_the_ranks_lm_rows_together_are_one_process_batch(scheme):
    data = torch.arange(1000) % 97
    whole = LMBatches(data, 6, 7, scheme=scheme, seed=3)
    parts = [LMBatches(data, 6, 7, scheme=scheme, seed=3, rank=r, ranks=RANKS) for r in range(RANKS)]
    assert all(len(p) == len(whole) for p in parts)
    for epoch in (0, 1):
        for i in (0, len(whole) - 1):
            x, y = whole.get(epoch, i)
            xs, ys = zip(*(p.get(epoch, i) for p in parts))
            assert torch.equal(torch.cat(xs), x) and torch.equal(torch.cat(ys), y)
            assert xs[0].size(0) == 3


def test_the_ranks_pairs_and_texts_together_are_one_process_batch():
    pairs = [([i % 7 + 1] * (i % 5 + 1), [i % 3 + 4] * (i % 4 + 1)) for i in range(41)]
    whole = PairBatches(pairs, 8, seed=5)
    parts = [PairBatches(pairs, 8, seed=5, rank=r, ranks=RANKS) for r in range(RANKS)]
    assert len(whole) == 6 and all(len(p) == 5 for p in parts)  # the batch of one pair is left out: 2 ranks
    texts = [([i + 1] * (i % 4 + 1), i % 2) for i in range(17)]
    for r in range(RANKS):
        assert len(ClassBatches(texts, 4, rank=r, ranks=RANKS)) == 4
    for i in range(len(parts[0])):
        served = [row for p in parts for row in p.get(0, i).src.tolist()]
        assert len(served) == 8 or i == len(parts[0]) - 1
        ours = [b for b in whole._batches(0) if len(b) >= RANKS][i]
        assert sorted(tuple(x for x in row if x) for row in served) == sorted(tuple(pairs[k][0]) for k in ours)


def test_resume_cannot_change_the_number_of_processes(tmp_path):
    from click.testing import CliRunner

    from rnn_tui.cli import cli

    run = RunDir.create(tmp_path / "runs", lm_config(tmp_path), name="r")
    result = CliRunner().invoke(cli, ["train", "--resume", str(run.path), "--nproc", "3"])
    assert "--resume cannot change --nproc" in str(result.exception)


# -- two processes against one --------------------------------------------------------------------


def lm_config(tmp_path, **train) -> Config:
    path = tmp_path / "text.txt"
    if not path.exists():
        path.write_text("".join(f"the {w} sat on the mat; " for w in ("cat", "dog", "bird", "fox") * 60), encoding="utf-8")
    cfg = Config(task="lm")
    cfg.data.spec = str(path)
    cfg.model.cell, cfg.model.hidden, cfg.model.embed, cfg.model.layers = "lstm", 16, 8, 2
    t = cfg.train
    t.batching, t.schedule, t.seq_len, t.lr, t.threads = "sequential", "constant", 12, 0.002, 1
    t.log_interval, t.eval_interval, t.sample_interval, t.checkpoint_interval, t.sample_length = 1, 2, 3, 2, 8
    for key, value in train.items():
        setattr(t, key, value)
    return cfg.validate()


def train_ranks(tmp_path, cfg: Config, name: str, *extra: str) -> RunDir:
    """`rnn-tui train --nproc 2` (torchrun, gloo) on ``cfg``, as a user runs it; the run."""
    config = tmp_path / f"{name}.toml"
    config.write_text(cfg.to_toml(), encoding="utf-8")
    cmd = [sys.executable, "-m", "rnn_tui", "train", "--config", str(config), "--task", cfg.task, "--runs-dir",
           str(tmp_path / "runs"), "--name", name, "--nproc", str(RANKS), "--json", *extra]
    return run_cli(cmd, tmp_path / "runs" / name)


def run_cli(cmd: list[str], path) -> RunDir:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines and lines[-1]["event"] == "end" and lines[-1]["state"] == "finished", done.stdout[-2000:]
    assert sum(line["event"] == "start" for line in lines) == 1  # rank 0 alone reports
    return RunDir(path)


def train_one(tmp_path, cfg: Config, name: str) -> RunDir:
    run = RunDir.create(tmp_path / "runs", cfg, name=name)
    assert train_run(run)["state"] == "finished"
    return run


def assert_same_weights(a: RunDir, b: RunDir, tag: str = "latest") -> None:
    wa, wb = load_checkpoint(a.checkpoints, tag).model, load_checkpoint(b.checkpoints, tag).model
    assert wa.keys() == wb.keys()
    worst = max(float((wa[k].float() - wb[k].float()).abs().max()) for k in wa)
    assert worst < 1e-6, worst
    moved = max(float((wa[k].float() - w0.float()).abs().max()) for k, w0 in initial_weights(a).items())
    assert moved > 1e-3  # the steps did train: the comparison is not of two untouched models


def initial_weights(run: RunDir) -> dict[str, torch.Tensor]:
    from rnn_tui.train.trainer import Trainer

    trainer = Trainer(run.config().assign({"train.nproc": 1, "train.nnodes": 1}))
    trainer.setup()
    return trainer.model.state_dict()


def records(run: RunDir, kind: str) -> list[dict]:
    return [r for r in run.read_metrics() if r["event"] == kind]


def test_two_processes_train_the_lm_one_process_trains_write_one_run_and_resume_exactly(tmp_path):
    b = 4
    two = train_ranks(tmp_path, lm_config(tmp_path, batch=b, steps=4, nproc=RANKS), "two")
    one = train_one(tmp_path, lm_config(tmp_path, batch=RANKS * b, steps=4), "one")
    assert_same_weights(two, one)
    c2, c1 = load_checkpoint(two.checkpoints, "latest"), load_checkpoint(one.checkpoints, "latest")
    assert c2.meta["world"] == RANKS and c2.extra["state/0"].shape == c1.extra["state/0"].shape  # every rank's columns
    assert torch.allclose(c2.extra["state/0"], c1.extra["state/0"], atol=1e-6)
    assert "rng/cpu/1" in c2.extra
    # rank 0 alone wrote: one history, the same losses and validations as one process's
    assert [r["step"] for r in records(two, "train")] == [1, 2, 3, 4]
    for kind, key in (("train", "loss"), ("val", "val_loss")):
        assert [r[key] for r in records(two, kind)] == pytest.approx([r[key] for r in records(one, kind)], abs=1e-5)
    assert records(two, "start")[0]["processes"] == RANKS
    assert two.read_status()["state"] == "finished" and len(two.read_samples()) == 2
    assert two.config().train.nproc == RANKS and not (two.path / "error.txt").exists()

    # resumed with `train --resume` (which the app runs): two processes again, on to step 8, exactly
    resumed = run_cli([sys.executable, "-m", "rnn_tui", "train", "--resume", str(two.path), "--steps", "8", "--json"],
                      two.path)
    assert [r["step"] for r in records(resumed, "train")] == list(range(1, 9))  # one history
    assert [r["resumed"] for r in records(resumed, "start")][-1] is True
    assert_same_weights(resumed, train_one(tmp_path, lm_config(tmp_path, batch=RANKS * b, steps=8), "one-8"))


def test_two_processes_agree_on_every_save_past_the_early_first_checkpoint(tmp_path):
    """The first checkpoint comes after FIRST_CHECKPOINT_S of training; then saves come at the
    interval only. Every rank must know the first was taken, or a rank saves alone and both wait
    for ever (seen: `--nproc 2 --time 60` hung at 5 s)."""
    from rnn_tui.train.trainer import FIRST_CHECKPOINT_S

    cfg = lm_config(tmp_path, batch=2, nproc=RANKS, time=FIRST_CHECKPOINT_S + 3, log_interval=50,
                    eval_interval=10**6, sample_interval=10**6, checkpoint_interval=10**6)
    run = train_ranks(tmp_path, cfg, "past-first")  # finishes (run_cli's timeout: 300 s), both ranks alive to the end
    assert load_checkpoint(run.checkpoints, "latest").meta["elapsed"] >= FIRST_CHECKPOINT_S


def test_two_processes_agree_on_every_save_by_training_time(tmp_path):
    """--checkpoint-seconds: each rank measures its own time, so the saves follow rank 0's (broadcast
    every step); a rank that went by its own clock would, sooner or later, save alone and both wait."""
    cfg = lm_config(tmp_path, batch=2, nproc=RANKS, time=4, log_interval=50, eval_interval=10**6,
                    sample_interval=10**6, checkpoint_interval=10**6, checkpoint_seconds=0.05)
    run = train_ranks(tmp_path, cfg, "by-time")  # finishes (run_cli's timeout: 300 s), both ranks alive to the end
    assert load_checkpoint(run.checkpoints, "latest").meta["elapsed"] >= 4


def test_two_processes_train_the_translator_one_process_trains(tmp_path):
    cfg = Config(task="seq2seq")
    cfg.data.spec, cfg.data.test_size = str(pairs_file(tmp_path, n=120)), 10
    cfg.model.cell, cfg.model.hidden, cfg.model.embed, cfg.model.attention = "gru", 16, 8, "additive"
    t = cfg.train
    t.schedule, t.lr, t.steps, t.threads, t.log_interval = "constant", 0.002, 5, 1, 1
    t.eval_interval, t.sample_interval, t.checkpoint_interval = 5, 5, 5
    t.batch, t.nproc = 6, RANKS
    two = train_ranks(tmp_path, cfg.validate(), "two")
    t.batch, t.nproc = RANKS * 6, 1
    one = train_one(tmp_path, cfg.validate(), "one")
    assert_same_weights(two, one)
    assert records(two, "val")[-1]["val_loss"] == pytest.approx(records(one, "val")[-1]["val_loss"], abs=1e-5)
    assert records(two, "val")[-1]["val_bleu"] == pytest.approx(records(one, "val")[-1]["val_bleu"], abs=1e-6)


def test_two_processes_train_a_classifier_with_its_ngram_expert_one_process_trains(tmp_path):
    from tests.test_train_classify import classify_config, reviews

    cfg = classify_config(str(reviews(tmp_path, n=200)), steps=5, log_interval=1, eval_interval=5, sample_interval=5,
                          checkpoint_interval=5, batch=6, nproc=RANKS)
    cfg.model.ngram_expert = True  # each rank fits the same baseline; the network's loss reaches DDP with alone=True
    two = train_ranks(tmp_path, cfg.validate(), "two")
    cfg.train.batch, cfg.train.nproc = RANKS * 6, 1
    one = train_one(tmp_path, cfg.validate(), "one")
    assert_same_weights(two, one)
    last_two, last_one = records(two, "val")[-1], records(one, "val")[-1]
    assert (last_two["val_acc"], last_two["val_acc_alone"]) == (last_one["val_acc"], last_one["val_acc_alone"])
    assert load_checkpoint(two.checkpoints).model["expert.weight"].abs().sum() > 0


def test_the_app_starts_pauses_and_stops_a_distributed_run(tmp_path, monkeypatch):
    from rnn_tui.runs.launcher import children, reap, start_trainer, stop_trainer

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(sys.path))
    cfg = lm_config(tmp_path, batch=2, nproc=RANKS, time=300, eval_interval=10**6, sample_interval=10**6,
                    checkpoint_interval=10**6, log_interval=10**6)
    run = RunDir.create(tmp_path / "runs", cfg, name="app")
    start_trainer(run)  # `rnn-tui train --resume RUN --json`, as the app starts any run

    def wait_for(state: str) -> dict:
        deadline = time.monotonic() + 240
        while (status := run.read_status()).get("state") != state:
            assert time.monotonic() < deadline and status.get("state") in ("starting", "running", "paused"), status
            time.sleep(0.05)
        return dict(status)

    wait_for("running")
    run.send("pause")  # rank 0 reads it; every rank stops stepping
    paused = wait_for("paused")
    time.sleep(0.5)
    assert run.read_status()["step"] == paused["step"]
    run.send("set-lr", lr=0.001)
    run.send("resume")
    wait_for("running")
    status = stop_trainer(run, timeout=120)
    assert status["state"] == "stopped" and status["reason"] == "stopped by command", status
    deadline = time.monotonic() + 60
    while children() and time.monotonic() < deadline:  # torchrun and both ranks exit: none waits on another
        reap()
        time.sleep(0.05)
    assert not children()
    controls = [(r["cmd"], r.get("lr")) for r in records(run, "control")]
    assert controls == [("pause", None), ("set-lr", 0.001), ("resume", None), ("stop", None)]  # once: by rank 0
    latest = load_checkpoint(run.checkpoints, "latest")
    assert latest.meta["world"] == RANKS and latest.meta["step"] == status["step"]
    assert latest.meta["schedule"]["base_lr"] == pytest.approx(0.001)  # (a rank that missed it: weights differ, a failed run)


def test_sigterm_to_torchrun_stops_every_rank_and_rank_0_saves(tmp_path, monkeypatch):
    from rnn_tui.runs.launcher import children, reap, start_trainer, wait_trainer

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(sys.path))
    cfg = lm_config(tmp_path, batch=2, nproc=RANKS, time=300, eval_interval=10**6, sample_interval=10**6,
                    checkpoint_interval=10**6, log_interval=10**6)
    run = RunDir.create(tmp_path / "runs", cfg, name="sig")
    pid = start_trainer(run)
    deadline = time.monotonic() + 240
    while run.read_status().get("state") != "running":
        assert time.monotonic() < deadline, run.read_status()
        time.sleep(0.05)
    os.kill(pid, signal.SIGTERM)  # torchrun passes it to the ranks; rank 0 decides the stop, all take it
    status = wait_trainer(run, 60)
    assert status["state"] == "stopped" and status["reason"] == "stopped by signal SIGTERM", status
    while children() and time.monotonic() < deadline:
        reap()
        time.sleep(0.05)
    assert not children()
    assert load_checkpoint(run.checkpoints, "latest").meta["step"] == status["step"]


def test_a_run_set_for_several_processes_is_not_trained_in_one(tmp_path):
    from rnn_tui.errors import RnnTuiError

    run = RunDir.create(tmp_path / "runs", lm_config(tmp_path, nproc=RANKS), name="r")
    with pytest.raises(RnnTuiError, match="set for 2 processes"):
        train_run(run)  # as the arena or a script would: in this process


def test_more_processes_than_gpus_is_one_line_before_torchrun(tmp_path, monkeypatch):
    """Seen on a one-GPU machine: `--nproc 2 --device cuda` failed in both ranks, each printing
    the same line under torchrun's log. The launcher now refuses it first. (The GPUs are faked
    here: this machine has none; the ranks' own check was run on a real one.)"""
    from click.testing import CliRunner

    from rnn_tui import cli as cli_module
    from rnn_tui.train import distributed

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(distributed, "launch", lambda *a: pytest.fail("torchrun started"))
    runs = tmp_path / "runs"
    out = CliRunner().invoke(cli_module.cli, ["train", "--data", "builtin:hello", "--device", "cuda", "--nproc", "2",
                                              "--steps", "2", "--runs-dir", str(runs)])
    assert str(out.exception) == ("2 processes on this machine need as many GPUs; 1 visible: "
                                  "lower --nproc or use --device cpu")  # main() prints it as one line
    assert not runs.exists() or not any(runs.iterdir())
