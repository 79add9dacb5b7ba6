"""Run directories survive what users and machines do to them (issue 9's defects, one test each):
a refused or failed resume changes nothing, one trainer per run, torn lines stay torn, a run
killed before its first checkpoint starts over, resumes leave one history, bad data leaves no
run behind, a dead or unrelated pid is no trainer, and a full disk is one plain line."""

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rnn_tui.runs.checkpoint import load_checkpoint
from rnn_tui.runs.files import append_jsonl, read_jsonl
from rnn_tui.runs.follower import RunFollower
from rnn_tui.runs.rundir import RunDir
from rnn_tui.train.trainer import train_run
from tests.conftest import hold_lock_in_child, safetensors_metadata, set_safetensors_metadata, small_config
from tests.test_cli import run_cli


def _files(run: RunDir) -> dict[str, bytes]:
    """Every file of the run, by relative path: what "the run is exactly as it was" compares."""
    return {str(p.relative_to(run.path)): p.read_bytes() for p in sorted(run.path.rglob("*")) if p.is_file()}


@pytest.fixture
def stopped(tmp_path, text_file) -> RunDir:
    """A run trained 20 steps (checkpoint at 20), ended ``finished``."""
    run = RunDir.create(tmp_path / "runs", small_config(str(text_file), steps=20, eval_interval=10, checkpoint_interval=10),
                        name="r")
    train_run(run)
    return run


@pytest.mark.parametrize("flag", ["--steps", "--epochs", "--time", "--threads", "--patience"])
def test_a_refused_resume_flag_changes_nothing(monkeypatch, capsys, stopped, flag):
    before = _files(stopped)
    code, _, err = run_cli(monkeypatch, capsys, "train", "--resume", stopped.path, flag, "-5")
    assert code == 1 and err.count("\n") == 1 and err.startswith("rnn-tui: error: ") and f"({flag})" in err
    assert _files(stopped) == before
    code, _, err = run_cli(monkeypatch, capsys, "train", "--resume", stopped.path, "--steps", "30")
    assert code == 0, err  # still resumable
    assert stopped.read_status()["step"] == 30


def test_a_failed_resume_leaves_the_run_exactly_as_it_was(monkeypatch, capsys, stopped, text_file):
    before = _files(stopped)
    text_file.unlink()  # the data went away
    code, _, err = run_cli(monkeypatch, capsys, "train", "--resume", stopped.path, "--steps", "30")
    assert code == 1 and err.count("\n") == 1 and "tiny.txt" in err
    after = _files(stopped)
    after.pop("lock")  # the lock file is created (empty of training data) by whoever takes the lock
    assert after == {k: v for k, v in before.items() if k != "lock"}
    status = stopped.read_status()
    assert status["state"] == "finished" and status["step"] == 20 and status["best_val_loss"] is not None


def test_two_resumes_at_the_same_instant_one_trains(stopped):
    cmd = [sys.executable, "-m", "rnn_tui", "train", "--resume", str(stopped.path), "--steps", "100000", "--json"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    deadline = time.monotonic() + 120
    while all(p.poll() is None for p in procs) and time.monotonic() < deadline:
        time.sleep(0.05)
    loser = next(p for p in procs if p.poll() is not None)
    winner = next(p for p in procs if p is not loser)
    _, err = loser.communicate()
    assert loser.returncode == 1
    assert err.strip().splitlines() == [
        f"rnn-tui: error: run r is already training (pid {winner.pid}); `rnn-tui control r stop` first"]
    stopped.send("stop")  # the winner is training: it obeys
    winner.communicate(timeout=120)
    assert winner.returncode == 0
    events = [r["event"] for r in read_jsonl(stopped.metrics_path)[0]]
    assert events.count("start") == 2 and events.count("end") == 2  # the first run's and the winner's: nothing interleaved
    assert stopped.read_status()["state"] == "stopped" and stopped.read_status()["pid"] == winner.pid


def test_a_torn_last_line_is_not_glued_to_the_resumed_start(stopped):
    with open(stopped.metrics_path, "a", encoding="utf-8") as f:
        f.write('{"event": "train", "step": 21, "lo')  # killed mid-append
    train_run(stopped, resume=True, changes={"train.steps": 30})
    starts = [r for r in stopped.read_metrics() if r["event"] == "start"]
    assert [s["step"] for s in starts] == [0, 20] and starts[1]["resumed"] is True
    lines = stopped.metrics_path.read_bytes().split(b"\n")
    assert b'{"event": "train", "step": 21, "lo' in lines  # the torn line ended, alone on its line


def test_after_a_kill_the_resumed_history_has_each_step_once(stopped):
    # the trainer went on to step 27 after its checkpoint at 20, then was killed
    for step in range(21, 28):
        append_jsonl(stopped.metrics_path, {"event": "train", "step": step, "loss": 99.0, "time": time.time()})
    append_jsonl(stopped.samples_path, {"event": "sample", "step": 25, "text": "lost", "time": time.time()})
    time.sleep(0.01)
    train_run(stopped, resume=True, changes={"train.steps": 40})
    steps = [r["step"] for r in stopped.read_metrics() if r["event"] == "train"]
    assert steps == sorted(set(steps)) and 99.0 not in [r["loss"] for r in stopped.read_metrics() if r["event"] == "train"]
    assert "lost" not in [s["text"] for s in stopped.read_samples()]


# too small: one token, no window of any length fits (a few tokens do: the batch and BPTT length shrink to them)
@pytest.mark.parametrize("content", [b"", b"\x00\x01\x02\xff" * 100, b"a"], ids=["empty", "binary", "too-small"])
def test_bad_data_leaves_no_run_behind(monkeypatch, capsys, tmp_path, content):
    data = tmp_path / "data.txt"
    data.write_bytes(content)
    code, _, err = run_cli(monkeypatch, capsys, "train", "--data", data, "--runs-dir", tmp_path / "runs", "--steps", "2")
    assert code == 1 and err.count("\n") == 1 and err.startswith("rnn-tui: error: "), err
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


@pytest.mark.parametrize("pid", [-1, 0, 99999999999, "mine"])
def test_a_pid_without_the_lock_is_no_trainer(tmp_path, pid):
    run = RunDir.create(tmp_path, small_config("builtin:hello"), name="p")
    status = json.loads(run.status_path.read_text())
    status.update(state="running", pid=os.getpid() if pid == "mine" else pid)  # "mine": alive, but not a trainer
    run.status_path.write_text(json.dumps(status))
    read = run.read_status()
    assert read["state"] == "failed" and "ended without a final status" in read["error"]
    with run.lock():
        assert run.read_status()["state"] == "running"


def test_a_trainer_that_ends_between_the_status_read_and_the_lock_probe_reads_as_it_ended(tmp_path, monkeypatch):
    """The trainer writes its final status, then frees the lock. A reader that read `running` just
    before and probes the lock just after must not call the run failed (seen in CI: a stopped
    distributed run read `failed`)."""
    run = RunDir.create(tmp_path, small_config("builtin:hello"), name="race")
    run.write_status(state="running", step=3)

    def the_trainer_ends_now() -> bool:
        run.write_status(state="stopped", step=4, reason="stopped by command")
        return False

    monkeypatch.setattr(run, "lock_held", the_trainer_ends_now)
    read = run.read_status()
    assert read["state"] == "stopped" and read["step"] == 4 and "error" not in read, read

    run.write_status(state="running", step=3)  # the app's follower: it read `running` at its last poll
    follower = RunFollower(run)
    monkeypatch.setattr(run, "lock_held", lambda: True)
    assert follower.poll().status["state"] == "running"
    monkeypatch.setattr(run, "lock_held", the_trainer_ends_now)
    assert follower.poll().status["state"] == "stopped"


def test_a_created_run_waits_for_its_trainer_only_while_its_creator_lives(tmp_path):
    run = RunDir.create(tmp_path, small_config("builtin:hello"), name="c")
    assert run.read_status()["state"] == "starting"  # this process created it: a trainer is coming
    status = json.loads(run.status_path.read_text())
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout
    status["pid"] = int(dead)
    run.status_path.write_text(json.dumps(status))
    read = run.read_status()
    assert read["state"] == "failed" and "never started" in read["error"]
    status.update(pid=os.getpid(), heartbeat=time.time() - 3600)  # alive, but an hour without a trainer
    run.status_path.write_text(json.dumps(status))
    assert run.read_status()["state"] == "failed"


def test_a_resuming_trainer_shows_as_starting_while_it_sets_up(stopped):
    assert stopped.read_status()["state"] == "finished"
    with stopped.lock():
        status = stopped.read_status()
        assert status["state"] == "starting" and status["written_state"] == "finished"


def test_a_killed_trainer_frees_the_lock(stopped):
    holder = hold_lock_in_child(stopped)
    assert stopped.lock_holder() == holder.pid
    with pytest.raises(Exception, match=f"already training \\(pid {holder.pid}\\)"):
        stopped.lock(wait=0.1)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with stopped.lock(wait=0.1):
        assert stopped.lock_holder() is not None  # this process now
    assert not stopped.lock_held()


def _limited(limit: int):
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_full_disk_is_one_plain_line_and_the_checkpoint_survives(stopped):
    latest = stopped.checkpoints / "latest.safetensors"
    size = latest.stat().st_size
    before = latest.read_bytes()
    meta = load_checkpoint(stopped.checkpoints).meta
    limit = max(size // 2, 64 * 1024)  # the logs fit, a checkpoint does not
    assert limit < size
    out = subprocess.run([sys.executable, "-m", "rnn_tui", "train", "--resume", str(stopped.path), "--steps", "40"],
                         capture_output=True, text=True, timeout=300, preexec_fn=_limited(limit))
    assert out.returncode == 1 and "Traceback" not in out.stderr
    line = out.stderr.strip().splitlines()[-1]
    assert line.startswith("rnn-tui: error: the disk is full or a file-size limit was hit writing ") and "--resume r" in line
    assert latest.read_bytes() == before and load_checkpoint(stopped.checkpoints).meta["step"] == meta["step"] == 20
    status = stopped.read_status()
    assert status["state"] == "failed" and status["error"] in line
    assert not list(stopped.checkpoints.glob(".*.tmp"))  # the half-written temporary file went with the failure
    # space again: the resume continues from the intact checkpoint
    train_run(stopped, resume=True, changes={"train.steps": 40})
    assert stopped.read_status()["state"] == "finished" and stopped.read_status()["step"] == 40


def test_stale_temporary_files_are_removed_on_resume(stopped):
    stale = stopped.checkpoints / ".latest.safetensors.abc123.tmp"
    stale.write_bytes(b"\x00" * 1000)  # what a kill during a save leaves
    train_run(stopped, resume=True, changes={"train.steps": 25})
    assert not stale.exists()


def test_a_new_run_is_invisible_until_its_config_is_written(tmp_path, monkeypatch):
    from rnn_tui.runs import rundir
    from rnn_tui.runs.rundir import list_runs

    def fail(path: Path, text: str) -> None:
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(rundir, "atomic_write_text", fail)
    with pytest.raises(Exception, match="the disk is full"):
        RunDir.create(tmp_path / "runs", small_config("builtin:hello"), name="half")
    assert list_runs(tmp_path / "runs") == [] and not (tmp_path / "runs" / "half").exists()


def test_the_app_history_is_one_history_and_skips_records_it_cannot_draw(tmp_path):
    from rnn_tui.runs.follower import RunFollower
    from rnn_tui.tui.history import RunHistory

    run = RunDir.create(tmp_path, small_config("builtin:hello"), name="h")
    t0 = time.time()
    run.append_metric({"event": "start", "step": 0, "time": t0})
    for step in (10, 20, 30):
        run.append_metric({"event": "train", "step": step, "loss": 3.0, "time": t0})
    run.append_metric({"event": "train", "step": 31})  # written by hand: no loss
    run.append_metric({"event": "val", "val_loss": 2.0})  # no step
    run.append_sample({"event": "sample", "step": 30, "text": "lost", "time": t0})
    run.append_sample({"event": "sample", "prime": "no text", "time": t0})
    follower, history = RunFollower(run), RunHistory("h", str(run.path))
    history.apply(follower.poll())
    assert [r["step"] for r in history.train] == [10, 20, 30] and history.val == []
    assert "loss 3.000" in history.summary()  # no ppl, speed or lr in these records: left out, no KeyError
    run.append_metric({"event": "start", "step": 20, "resumed": True, "time": t0 + 1})  # resumed from the checkpoint at 20
    run.append_metric({"event": "train", "step": 30, "loss": 2.5, "time": t0 + 2})
    run.append_sample({"event": "sample", "step": 30, "text": "kept", "time": t0 + 2})
    history.apply(follower.poll())
    assert [(r["step"], r["loss"]) for r in history.train] == [(10, 3.0), (20, 3.0), (30, 2.5)]
    assert [s["text"] for s in history.samples] == ["kept"]
    fresh = RunHistory("h", str(run.path))  # a reader that comes later sees the same
    fresh.apply(RunFollower(run).poll())
    assert fresh.train == history.train and fresh.samples == history.samples


def test_a_kill_between_the_weights_and_their_json_leaves_a_sound_checkpoint(stopped):
    """The weights file carries the metadata: its rename replaces the whole checkpoint, and a
    latest.json one save behind (killed before its rename) changes nothing."""
    behind = (stopped.checkpoints / "latest.json").read_bytes()  # step 20
    train_run(stopped, resume=True, changes={"train.steps": 30})
    (stopped.checkpoints / "latest.json").write_bytes(behind)
    assert load_checkpoint(stopped.checkpoints).meta["step"] == 30
    train_run(stopped, resume=True, changes={"train.steps": 40})
    starts = [r for r in stopped.read_metrics() if r["event"] == "start"]
    assert [s["step"] for s in starts] == [0, 20, 30]


def test_a_checkpoint_with_its_metadata_only_beside_it_still_loads(stopped):
    """Checkpoints written before the metadata moved into the weights file: read from the .json,
    whose step must agree with the weights'."""
    weights = stopped.checkpoints / "latest.safetensors"
    header = safetensors_metadata(weights)
    del header["meta"]
    set_safetensors_metadata(weights, header)
    assert load_checkpoint(stopped.checkpoints).meta["step"] == 20
    meta = json.loads((stopped.checkpoints / "latest.json").read_text())
    (stopped.checkpoints / "latest.json").write_text(json.dumps({**meta, "step": 10}))
    with pytest.raises(Exception, match=r"weights \(step 20\) and metadata \(step 10\) disagree"):
        load_checkpoint(stopped.checkpoints)


def test_a_schedule_state_of_another_shape_is_one_line_on_resume(monkeypatch, capsys, stopped):
    weights = stopped.checkpoints / "latest.safetensors"
    header = safetensors_metadata(weights)
    meta = json.loads(header["meta"])
    meta["schedule"]["sideways"] = 1.0
    set_safetensors_metadata(weights, {**header, "meta": json.dumps(meta)})
    before = _files(stopped)
    code, _, err = run_cli(monkeypatch, capsys, "train", "--resume", stopped.path, "--steps", "30")
    assert code == 1 and err.count("\n") == 1 and "is damaged: \"schedule\"" in err and "sideways" in err, err
    assert _files(stopped) == before


def test_a_pipe_in_place_of_a_run_file_blocks_no_reader(stopped):
    from rnn_tui.runs.follower import RunFollower

    for path in (stopped.status_path, stopped.metrics_path):
        path.unlink()
        os.mkfifo(path)
    assert stopped.read_status()["state"] == "failed" and stopped.read_metrics() == []
    assert RunFollower(stopped).poll().new_metrics == ()
