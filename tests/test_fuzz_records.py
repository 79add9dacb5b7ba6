"""Fuzzing the run directory's records (hypothesis): control.jsonl lines through
RunDir.read_commands, status.json through checked_status and RunDir.read_status, metrics.jsonl
and samples.jsonl lines through checked_metric / checked_sample and RunDir.read_metrics /
read_samples. Random objects, valid records mutated, and lines of random bytes. What comes back
must be well typed (each reader's checks hold for every record it returns), and nothing raises."""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rnn_tui.config import Config, check_lr
from rnn_tui.runs.records import checked_command, checked_metric, checked_sample, checked_status
from rnn_tui.runs.rundir import COMMANDS, RunDir
from tests.fuzzing import examples, failed, json_values, mutated, outcome

FUZZ = settings(max_examples=examples(80), deadline=None)

_VALID = {
    "command": [{"cmd": "pause", "time": 1.0}, {"cmd": "set-lr", "time": 2.0, "lr": 0.01}],
    "status": [{"version": 1, "run": "r", "pid": 1, "heartbeat": 1.0, "state": "finished", "step": 10, "epoch": 0.5,
                "total_steps": 10, "progress": 1.0, "elapsed": 3.0, "best_val_loss": 1.5, "device": "cpu",
                "reason": "budget reached", "claimed": True}],
    "metric": [
        {"event": "start", "task": "lm", "resumed": False, "params": 10, "vocab": 5, "train_tokens": 100,
         "steps_per_epoch": 3, "total_steps": 9, "device": "cpu", "threads": 1, "time": 1.0, "step": 0},
        {"event": "train", "step": 1, "epoch": 0.1, "elapsed": 0.5, "loss": 2.0, "ppl": 7.4, "bpt": 2.9, "grad_norm": 1.0,
         "clip_frac": 0.0, "lr": 0.01, "tokens_per_s": 100.0, "progress": 0.1, "eta_s": None, "time": 1.0},
        {"event": "val", "step": 2, "epoch": 0.2, "elapsed": 1.0, "val_loss": 2.0, "val_ppl": 7.4, "val_bpt": 2.9,
         "best": True, "lr_reduced": False, "time": 1.0},
        {"event": "control", "cmd": "set-lr", "step": 2, "lr": 0.1, "time": 1.0},
        {"event": "end", "state": "finished", "step": 9, "run": "r", "path": "/r", "time": 1.0, "reason": "done"},
    ],
    "sample": [{"event": "sample", "step": 1, "epoch": 0.1, "elapsed": 1.0, "prime": "a", "text": "b", "temperature": 1.0,
                "time": 1.0},
               {"event": "sample", "step": 1, "epoch": 0.1, "elapsed": 1.0, "prime": "", "text": "b", "time": 1.0,
                "translations": [{"source": "a", "reference": "b", "hypothesis": "c"}]}],
}
_KEYS = sorted({key for records in _VALID.values() for record in records for key in record})


def records_of(kind: str) -> st.SearchStrategy:
    """A record of ``kind``: a valid one mutated, or an object of known and random keys."""
    return st.one_of(
        st.sampled_from(_VALID[kind]).flatmap(mutated),
        st.dictionaries(st.one_of(st.sampled_from(_KEYS), st.text(max_size=6)), json_values, max_size=8),
    )


def lines_of(kind: str) -> st.SearchStrategy[bytes]:
    """The bytes of a JSON-lines file: records (NaN and all), random bytes, a torn last line."""
    line = st.one_of(records_of(kind).map(lambda r: json.dumps(r).encode()), st.binary(max_size=40),
                     json_values.map(lambda v: json.dumps(v).encode()))
    return st.tuples(st.lists(line, max_size=8), st.booleans()).map(
        lambda t: b"\n".join(t[0]) + (b"\n" if t[1] else b""))


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> RunDir:
    """One run directory whose files each case rewrites."""
    return RunDir.create(tmp_path_factory.mktemp("runs"), Config(), name="r")


@FUZZ
@given(data=lines_of("command"))
def test_control_lines(run, data):
    run.control_path.write_bytes(data)
    commands, offset = run.read_commands(0)
    assert 0 <= offset <= len(data)
    for command in commands:
        assert checked_command(command) is command and command.get("cmd") in (*COMMANDS, None)  # None: ignored
        if command.get("cmd") == "set-lr":  # what the trainer does with its lr
            lr = outcome(check_lr, command.get("lr"))
            assert failed(lr) or isinstance(lr, float)


@FUZZ
@given(status=st.one_of(records_of("status"), json_values))
@example(status={"state": "running", "pid": 99999999999})  # os.kill: OverflowError
@example(status={"state": "running", "pid": -1})  # os.kill(-1, 0) signals every process: "alive"
@example(status={"state": "running", "pid": "abc"})
def test_status(run, status):
    if isinstance(status, dict):
        checked = checked_status(status)
        assert checked_status(checked) == checked
    run.status_path.write_text(json.dumps(status), encoding="utf-8")
    read = run.read_status()
    assert checked_status(read) == read  # every key it holds well typed (any may be missing)


@FUZZ
@given(data=st.one_of(st.binary(max_size=100), st.text(max_size=100).map(str.encode)))
def test_status_bytes(run, data):
    run.status_path.write_bytes(data)
    read = run.read_status()
    assert checked_status(read) == read  # every key it holds well typed (any may be missing)


@FUZZ
@given(metrics=lines_of("metric"), samples=lines_of("sample"), one=records_of("metric"))
def test_metrics_and_samples(run, metrics, samples, one):
    if isinstance(one, dict):  # what read_jsonl passes on
        assert checked_metric(one) in (None, one)
        assert checked_sample(one) in (None, one)
    run.metrics_path.write_bytes(metrics)
    run.samples_path.write_bytes(samples)
    for record in run.read_metrics():
        assert checked_metric(record) is record
    for record in run.read_samples():
        assert checked_sample(record) is record
