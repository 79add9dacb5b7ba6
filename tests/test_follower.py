"""The run follower: incremental, cheap, torn-line tolerant, notices a dead trainer."""

import builtins
import io
import json
import os

from rnn_tui.runs.files import atomic_write_json
from rnn_tui.runs.follower import Follower, RunFollower
from rnn_tui.runs.rundir import RunDir
from tests.conftest import hold_lock_in_child, small_config


def _run(tmp_path, name="r"):
    return RunDir.create(tmp_path / "runs", small_config("builtin:x"), name=name)


def _write(path, text):
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)


def test_first_snapshot_resets_then_only_what_is_new(tmp_path):
    run = _run(tmp_path)
    run.append_metric({"event": "start", "time": 1.0})
    run.append_sample({"event": "sample", "step": 0, "text": "hi"})
    f = RunFollower(run)
    s = f.poll()
    assert s.reset and s.run_id == "r" and s.path == str(run.path)
    assert [r["event"] for r in s.new_metrics] == ["start"] and [r["text"] for r in s.new_samples] == ["hi"]
    assert s.status["state"] == "starting" and s.state == "starting" and s.checkpoint_step is None
    assert f.poll() is None  # nothing changed

    run.append_metric({"event": "train", "step": 5})
    run.append_metric({"event": "train", "step": 10})
    s = f.poll()
    assert not s.reset and [r["step"] for r in s.new_metrics] == [5, 10] and s.new_samples == ()
    assert f.poll() is None

    with run.lock():  # a trainer holds the run's lock while it runs
        run.write_status(state="running", step=10, epoch=0.1)
        s = f.poll()
        assert s.status["state"] == "running" and s.new_metrics == () and not s.reset
        s.status["state"] = "mutated"  # the snapshot's own copy
        assert f.status["state"] == "running"
        assert f.poll() is None


def test_torn_line_is_held_back_until_complete(tmp_path):
    run = _run(tmp_path)
    f = RunFollower(run)
    f.poll()
    run.append_metric({"event": "train", "step": 1})
    _write(run.metrics_path, '{"event": "train", "st')  # a writer caught mid-line
    s = f.poll()
    assert [r["step"] for r in s.new_metrics] == [1]
    assert f.poll() is None  # the torn line is not a record, and not a change
    _write(run.metrics_path, 'ep": 2}')
    assert f.poll() is None  # still no newline
    _write(run.metrics_path, "\n")
    s = f.poll()
    assert [r["step"] for r in s.new_metrics] == [2]
    assert f.poll() is None


def test_checkpoint_step_follows_latest_json(tmp_path):
    run = _run(tmp_path)
    f = RunFollower(run)
    assert f.poll().checkpoint_step is None
    atomic_write_json(run.checkpoints / "latest.json", {"kind": "rnn-tui checkpoint", "step": 20})
    assert f.poll().checkpoint_step == 20
    assert f.poll() is None
    atomic_write_json(run.checkpoints / "latest.json", {"kind": "rnn-tui checkpoint", "step": 40})
    s = f.poll()
    assert s.checkpoint_step == 40 and s.new_metrics == ()


def test_a_dead_trainer_is_noticed_without_any_file_changing(tmp_path):
    run = _run(tmp_path)
    child = hold_lock_in_child(run)  # a live trainer
    try:
        status = json.loads(run.status_path.read_text())
        status.update(state="running", pid=child.pid)
        atomic_write_json(run.status_path, status)
        f = RunFollower(run)
        assert f.poll().status["state"] == "running"
        assert f.poll() is None
        child.kill()
        child.wait()
        s = f.poll()
        assert s.status["state"] == "failed" and "ended without a final status" in s.status["error"]
        assert f.poll() is None
    finally:
        child.kill()
        child.wait()


def test_replaced_log_starts_over(tmp_path):
    run = _run(tmp_path)
    run.append_metric({"event": "train", "step": 1})
    run.append_metric({"event": "train", "step": 2})
    f = RunFollower(run)
    assert len(f.poll().new_metrics) == 2
    tmp = run.path / "m.tmp"
    tmp.write_text(json.dumps({"event": "start"}) + "\n")
    os.replace(tmp, run.metrics_path)
    s = f.poll()
    assert s.reset and [r["event"] for r in s.new_metrics] == ["start"]


def test_missing_files_are_not_errors(tmp_path):
    run = RunDir(tmp_path / "nothing-here")
    s = RunFollower(run).poll()
    assert s.reset and s.status["state"] == "failed" and s.new_metrics == () and s.checkpoint_step is None


def test_follower_of_many_runs(tmp_path):
    a, b = _run(tmp_path, "a"), _run(tmp_path, "b")
    fol = Follower()
    fol.follow(a)
    fol.follow(b)
    fol.follow(a)  # already followed: no reset
    assert [(s.run_id, s.reset) for s in fol.poll()] == [("a", True), ("b", True)]
    assert fol.poll() == []
    b.append_metric({"event": "train", "step": 3})
    snaps = fol.poll()
    assert [(s.run_id, s.reset, len(s.new_metrics)) for s in snaps] == [("b", False, 1)]
    moved = RunDir(tmp_path / "elsewhere" / "b")  # the same id at another path: followed afresh
    moved.path.mkdir(parents=True)
    fol.follow(moved)
    assert [(s.run_id, s.reset) for s in fol.poll()] == [("b", True)]


def test_poll_is_cheap(tmp_path, monkeypatch):
    run = _run(tmp_path)
    for i in range(2000):
        _write(run.metrics_path, json.dumps({"event": "train", "step": i}) + "\n")
    f = RunFollower(run)
    assert len(f.poll().new_metrics) == 2000
    read = []  # the files of the run directory opened by the polls below
    real_open = io.open

    def counting_open(file, mode="r", *args, **kwargs):
        if str(file).startswith(str(run.path)) and "r" in mode:
            read.append(str(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(io, "open", counting_open)
    monkeypatch.setattr(builtins, "open", counting_open)
    for _ in range(200):
        assert f.poll() is None
    assert read == []  # nothing changed: a few stats, no file of the run read
    _write(run.metrics_path, json.dumps({"event": "train", "step": 2000}) + "\n")
    assert [r["step"] for r in f.poll().new_metrics] == [2000]
    assert read == [str(run.metrics_path)]  # what changed, and only that, is read
