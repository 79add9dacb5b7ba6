"""Trainer processes started by the app: real processes, real run directories, no mocks."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from rnn_tui.runs import launcher
from rnn_tui.runs.checkpoint import checkpoint_exists
from rnn_tui.runs.files import read_jsonl
from rnn_tui.runs.follower import RunFollower
from rnn_tui.runs.launcher import start_trainer, stop_trainer, trainer_command
from rnn_tui.runs.rundir import RunDir
from tests.conftest import small_config

DEADLINE = 60.0  # seconds; the machine is shared and loaded, so wait on conditions, not sleeps


def _config(text_file, **train):
    cfg = small_config(str(text_file), **{"steps": 100_000, "eval_interval": 20, "sample_interval": 20,
                                          "checkpoint_interval": 20, "sample_length": 10, **train})
    cfg.model.hidden, cfg.model.embed = 16, 8
    return cfg


class _Watch:
    """Follow a run with RunFollower, accumulating records, until a condition holds."""

    def __init__(self, run):
        self.run, self.follower = run, RunFollower(run)
        self.metrics, self.samples, self.status, self.checkpoint_step = [], [], {}, None

    def until(self, cond, what, timeout=DEADLINE):
        deadline = time.monotonic() + timeout
        while True:
            snap = self.follower.poll()
            if snap is not None:
                self.metrics += snap.new_metrics
                self.samples += snap.new_samples
                self.status, self.checkpoint_step = snap.status, snap.checkpoint_step
            if cond(self):
                return
            if time.monotonic() > deadline:
                log = (self.run.path / "trainer.log").read_text(errors="replace")[-2000:]
                raise AssertionError(f"timed out waiting for {what}; status {self.status}; trainer.log:\n{log}")
            time.sleep(0.02)

    def state(self, *states):
        return self.until(lambda w: w.status.get("state") in states, f"state {states}")

    def events(self, event, **match):
        return [r for r in self.metrics if r["event"] == event and all(r.get(k) == v for k, v in match.items())]


def test_command_line(tmp_path):
    run = RunDir(tmp_path / "runs" / "r1")
    assert trainer_command(run)[1:] == ["-m", "rnn_tui", "train", "--resume", str(tmp_path / "runs" / "r1"), "--json"]
    assert trainer_command(run, threads=2)[-2:] == ["--threads", "2"]


def test_control_a_trainer_process_and_refuse_a_second_writer(tmp_path, text_file):
    run = RunDir.create(tmp_path / "runs", _config(text_file, threads=0), name="ctl")
    pid = start_trainer(run)
    assert pid in launcher.children()
    w = _Watch(run)
    w.until(lambda w: w.status.get("state") == "running" and w.events("train"), "running with train records")
    start = w.events("start")[0]
    assert start["resumed"] is False and start["threads"] == 1  # never started: fresh; attached: 1 thread
    assert w.status["pid"] == pid

    run.send("pause")
    w.until(lambda w: w.status.get("state") == "paused", "paused", timeout=DEADLINE / 4)

    # a second writer is refused with one line, and the live run is untouched
    out = subprocess.run([sys.executable, "-m", "rnn_tui", "train", "--resume", str(run.path)],
                         capture_output=True, text=True, timeout=DEADLINE)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        f"rnn-tui: error: run ctl is already training (pid {pid}); `rnn-tui control ctl stop` first"]
    assert run.read_status()["state"] == "paused" and run.read_status()["pid"] == pid

    run.send("resume")
    w.state("running")
    run.send("set-lr", lr=0.0123)
    w.until(lambda w: w.events("control", cmd="set-lr"), "the set-lr record")
    changed = w.events("control", cmd="set-lr")[0]
    assert changed["lr"] == 0.0123
    w.until(lambda w: [r for r in w.events("train") if r["step"] > changed["step"]], "a train record after set-lr")
    after = [r for r in w.events("train") if r["step"] > changed["step"]]
    before = [r for r in w.events("train") if r["step"] <= changed["step"]]
    assert all(r["lr"] == pytest.approx(0.0123) for r in after)
    assert all(r["lr"] == pytest.approx(0.002) for r in before)
    assert [r["cmd"] for r in w.events("control")] == ["pause", "resume", "set-lr"]

    status = stop_trainer(run, timeout=DEADLINE / 2)
    assert status["state"] == "stopped" and status["reason"] == "stopped by command"
    assert checkpoint_exists(run.checkpoints, "latest")
    w.until(lambda w: w.events("end"), "the end record")
    assert w.events("end")[0]["state"] == "stopped"
    assert w.checkpoint_step == w.events("end")[0]["step"]
    deadline = time.monotonic() + 10
    while pid in launcher.children() and time.monotonic() < deadline:  # reaped, not a zombie
        launcher.reap()
        time.sleep(0.02)
    assert pid not in launcher.children()
    assert "--json" in trainer_command(run) and '"event": "start"' in (run.path / "trainer.log").read_text()


def test_kill_9_reads_failed_and_resume_continues_from_the_checkpoint(tmp_path, text_file):
    run = RunDir.create(tmp_path / "runs", _config(text_file), name="k9")
    pid = start_trainer(run)
    w = _Watch(run)
    w.until(lambda w: w.checkpoint_step, "a first checkpoint")
    run.send("pause")  # hold still, so what we check below is what the kill left
    w.state("paused")
    os.kill(pid, signal.SIGKILL)
    w.state("failed")
    assert "ended without a final status" in w.status["error"] and w.status["written_state"] == "paused"
    raw = run.metrics_path.read_bytes()
    assert raw.endswith(b"\n") and all(json.loads(line) for line in raw.splitlines())  # every line whole
    ckpt_step = w.checkpoint_step

    pid2 = start_trainer(run)
    assert pid2 != pid
    w.until(lambda w: len(w.events("start")) == 2 and [r for r in w.events("train") if r["step"] > ckpt_step + 5
                                                       and r["time"] > w.events("start")[1]["time"]],
            "the resumed trainer stepping past the checkpoint")
    assert w.events("start")[1]["resumed"] is True
    first_after = next(r for r in w.metrics if r["event"] == "train" and r["time"] > w.events("start")[1]["time"])
    assert first_after["step"] == ckpt_step + 5  # log_interval 5: continues right after the checkpoint
    assert stop_trainer(run, timeout=DEADLINE / 2)["state"] == "stopped"


def test_trainer_outlives_the_process_that_started_it(tmp_path, text_file):
    run = RunDir.create(tmp_path / "runs", _config(text_file, steps=40), name="orphan")
    script = ("import sys; from rnn_tui.runs.rundir import RunDir; from rnn_tui.runs.launcher import start_trainer; "
              "print(start_trainer(RunDir(__import__('pathlib').Path(sys.argv[1]))))")
    out = subprocess.run([sys.executable, "-c", script, str(run.path)], capture_output=True, text=True,
                         timeout=DEADLINE, cwd=os.getcwd())
    assert out.returncode == 0, out.stderr
    w = _Watch(run)
    w.state("finished", "failed")
    assert w.status["state"] == "finished" and w.status["step"] == 40
    assert w.status["pid"] == int(out.stdout)


def test_resume_of_a_never_started_run_starts_fresh_in_process(tmp_path, text_file):
    from rnn_tui.train.trainer import train_run

    run = RunDir.create(tmp_path, _config(text_file, steps=10, eval_interval=10, sample_interval=10), name="fresh")
    end = train_run(run, resume=True)
    assert end["state"] == "finished" and end["step"] == 10
    assert [r["resumed"] for r in run.read_metrics() if r["event"] == "start"] == [False]


def test_resume_of_a_run_killed_before_its_first_checkpoint_starts_over(tmp_path, text_file):
    from rnn_tui.train.trainer import train_run

    run = RunDir.create(tmp_path, _config(text_file, steps=10, eval_interval=10, sample_interval=10), name="nockpt")
    # a trainer started, logged and sampled, then was killed before its first checkpoint
    run.append_metric({"event": "start", "resumed": False, "step": 0, "time": time.time()})
    run.append_metric({"event": "train", "step": 4, "loss": 9.0, "time": time.time()})
    run.append_sample({"event": "sample", "step": 4, "text": "lost", "time": time.time()})
    time.sleep(0.01)
    end = train_run(run, resume=True)
    assert end["state"] == "finished" and end["step"] == 10
    raw = [r["event"] for r in read_jsonl(run.metrics_path)[0]]
    assert raw[:3] == ["start", "train", "start"]  # append-only: the lost history stays on disk …
    metrics = run.read_metrics()
    assert [r["event"] for r in metrics][:2] == ["start", "start"]  # … but readers see one history
    assert not [r for r in metrics if r["event"] == "train" and r.get("loss") == 9.0]
    assert "lost" not in [s["text"] for s in run.read_samples()] and run.read_samples()
