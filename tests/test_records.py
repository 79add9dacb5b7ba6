"""Typed records: a record read from disk with a known key of the wrong type does not reach (or
crash) the app and the CLI, and mypy reports a misspelt key. (That the trainer writes exactly
what the types say is checked where it trains: tests/typed_records.py.)"""

import re
import subprocess
import sys
import textwrap
from pathlib import Path

from rnn_tui.runs.files import atomic_write_json, read_json
from rnn_tui.runs.follower import RunFollower
from rnn_tui.runs.records import checked_command, checked_metric, checked_sample, checked_status
from rnn_tui.runs.rundir import RunDir
from rnn_tui.tui.app import RnnTuiApp
from rnn_tui.tui.history import RunHistory
from rnn_tui.tui.panes.runs import RunsPane
from rnn_tui.tui.widgets.plot import LinePlot
from tests.conftest import small_config, wait_for
from tests.test_cli import run_cli

ROOT = Path(__file__).resolve().parents[1]


# -- the checks --------------------------------------------------------------------------------


def test_a_record_may_lack_keys_but_not_hold_a_wrong_type():
    for ok in ({"event": "train", "step": 5}, {"event": "start"}, {"event": "train", "loss": 3},  # 3 is a float
               {"event": "val", "val_loss": float("nan"), "val_bleu": 12.5, "new_key": [1]},  # unknown keys pass
               {"event": "end", "state": "failed", "error": "x"}, {"event": "control", "cmd": "set-lr", "lr": 0.1}):
        assert checked_metric(ok) is ok
    for bad in ({"event": "train", "loss": "1.5"}, {"event": "train", "step": True}, {"event": "train", "step": 5.0},
                {"event": "val", "val_loss": None}, {"event": "val", "best": 1}, {"event": "end", "state": "crashed"},
                {"event": "control", "cmd": "explode"}, {"event": "start", "first_skipped": [1, "2"]},
                {"event": "nope"}, {"step": 1}, {"event": ["train"]}):
        assert checked_metric(bad) is None, bad

    assert checked_sample({"text": "hi"}) is not None
    assert checked_sample({"event": "train", "text": "hi"}) is None
    assert checked_sample({"translations": [{"source": "a", "reference": "b", "hypothesis": 1}]}) is None
    assert checked_command({"cmd": "set-lr", "lr": True}) is None and checked_command({"cmd": "stop"}) is not None

    raw = {"state": "running", "step": "7", "epoch": 1, "pid": 12, "best_val_loss": None, "later": {"x": 1}}
    assert checked_status(raw) == {"state": "running", "epoch": 1, "pid": 12, "best_val_loss": None, "later": {"x": 1}}
    assert checked_status({"state": "exploded", "heartbeat": "yes"}) == {}


def bad_run(root: Path) -> RunDir:
    """A run written by hand: good records with bad ones between them, and a bad status."""
    run = RunDir.create(root, small_config("builtin:arith"), name="bad")
    good = {"event": "train", "epoch": 0.1, "elapsed": 1.0, "ppl": 4.48, "bpt": 2.16, "grad_norm": 0.5, "clip_frac": 0.0,
            "lr": 0.002, "tokens_per_s": 1000.0, "progress": 0.5, "eta_s": 1.0}
    run.append_metric({**good, "step": 10, "loss": 1.5})
    run.append_metric({**good, "step": 20, "loss": "1.4"})  # a string loss
    run.append_metric({**good, "step": "30", "loss": 1.3})
    run.append_metric({"event": "val", "step": 20, "val_loss": "low"})
    run.append_metric({"event": "val", "step": 20, "val_loss": 1.6, "val_bleu": 7.5})
    run.append_sample({"event": "sample", "step": 20, "prime": "1+", "text": ["not", "text"]})
    run.append_sample({"event": "sample", "step": 20, "prime": "1+", "text": "1=2"})
    status = read_json(run.status_path)
    status.update(state="finished", step=20, epoch="a fifth", best_val_loss="1.6", pid=0)
    atomic_write_json(run.status_path, status)
    return run


def test_the_follower_and_history_skip_records_of_the_wrong_type(tmp_path):
    run = bad_run(tmp_path)
    snap = RunFollower(run).poll()
    assert [(r["event"], r["step"]) for r in snap.new_metrics] == [("train", 10), ("val", 20)]
    assert [s["text"] for s in snap.new_samples] == ["1=2"]
    assert "epoch" not in snap.status and "best_val_loss" not in snap.status and snap.status["step"] == 20
    history = RunHistory("bad", str(run.path))
    history.apply(snap)
    assert history.summary() == ("bad: finished · step 20 · epoch 0.00 · loss 1.500 · ppl 4.48 · 1,000 tok/s · lr 2.00e-03 "
                                 "· val 1.600 · BLEU 7.5")
    assert run.read_metrics() == list(snap.new_metrics) and run.read_samples() == list(snap.new_samples)


def test_a_live_status_with_an_unreadable_pid_reads_as_failed(tmp_path):
    run = RunDir.create(tmp_path, small_config("builtin:arith"), name="r")
    atomic_write_json(run.status_path, {"state": "running", "pid": "1234", "step": 3})
    status = run.read_status()
    assert status["state"] == "failed" and status["written_state"] == "running" and "pid None" in status["error"]


async def test_the_app_and_the_cli_show_a_run_with_bad_records(tmp_path, monkeypatch, capsys):
    run = bad_run(tmp_path)
    app = RnnTuiApp(tmp_path, open_run="bad", list_interval=0.2)
    async with app.run_test(size=(120, 36)) as pilot:
        assert await wait_for(pilot, lambda: "loss 1.500" in str(app.query_one("#run-status").render()))
        plot = app.query_one("#loss-plot", LinePlot)
        assert await wait_for(pilot, lambda: [s.ys for s in plot.series] == [(1.5,), (1.6,)])
        await pilot.press("5")
        assert await wait_for(pilot, lambda: len(app.query_one(RunsPane).rows) == 1)
        assert app.query_one(RunsPane).rows[0]["epoch"] == 0.0 and app.query_one(RunsPane).rows[0]["val_loss"] is None
    code, out, err = run_cli(monkeypatch, capsys, "runs", "--runs-dir", tmp_path)
    assert code == 0 and re.search(r"bad\s+│\s+finished\s+│\s+20\s+│\s+0\.00\s+│\s+–", out), out + err
    assert run.summary()["state"] == "finished"


# -- mypy ----------------------------------------------------------------------------------------


def mypy(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mypy", *args], cwd=ROOT, capture_output=True, text=True, timeout=280)


def test_mypy_reports_a_misspelt_key(tmp_path):
    snippet = tmp_path / "snippet.py"
    snippet.write_text(textwrap.dedent("""\
        from rnn_tui.results import Score, Translation
        from rnn_tui.runs.follower import RunSnapshot
        from rnn_tui.runs.records import MetricEvent, TrainEvent
        from rnn_tui.runs.rundir import RunDir
        from rnn_tui.tui.history import RunHistory


        def read(history: RunHistory, snap: RunSnapshot, run: RunDir, record: MetricEvent, s: Score, t: Translation) -> None:
            print(history.val[-1]["val_loss"], history.val[-1].get("val_bleu"), snap.status.get("heartbeat"))
            print(history.val[-1]["val_los"])  # error
            print(history.train[-1]["los"])  # error
            print(snap.status["heartbeet"])  # error
            print(run.summary()["val_los"])  # error
            if record["event"] == "train":
                print(record["loss"])
                print(record["val_loss"])  # error: a train record has none
            print(s["ppl"], s["ppll"])  # error
            print(t["hypotheses"][0]["txt"])  # error


        def write(run: RunDir) -> None:
            run.write_status(state="running", step=3)
            run.write_status(stat="running")  # error
            run.write_status(state="runing")  # error
            record: TrainEvent = {"event": "train", "step": 1, "los": 2.0}  # error
            run.append_metric(record)
        """), encoding="utf-8")
    result = mypy("--config-file", "pyproject.toml", str(snippet))  # the cache .ci/run's mypy step warmed
    errors = re.findall(r"snippet\.py:(\d+): error: (.*)", result.stdout)
    expected = [n for n, line in enumerate(snippet.read_text().splitlines(), start=1) if "# error" in line]
    assert sorted({int(n) for n, _ in errors}) == expected, result.stdout + result.stderr
    assert 'TypedDict "ValEvent" has no key "val_los"' in result.stdout
    assert 'TypedDict "TrainEvent" has no key "val_loss"' in result.stdout

# (that the whole package passes mypy is checked by .ci/run before the tests)
