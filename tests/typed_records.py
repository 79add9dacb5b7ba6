"""A check that a run directory holds exactly what the record types of runs/records.py say."""

from typing import get_type_hints

from rnn_tui.runs.files import read_json, read_jsonl
from rnn_tui.runs.records import (
    ControlEvent,
    EndEvent,
    SampleEvent,
    StartEvent,
    Status,
    TrainEvent,
    ValEvent,
    checked_metric,
    checked_sample,
    checked_status,
)
from rnn_tui.runs.rundir import RunDir

METRIC_TYPES = {"start": StartEvent, "train": TrainEvent, "val": ValEvent, "control": ControlEvent, "end": EndEvent}


def assert_written_as_typed(run: RunDir) -> None:
    """Every line the trainer wrote has its type's required keys, no key its type lacks, and
    passes the check readers apply; so does status.json."""

    def exact(record, record_type):
        keys, declared = set(record), set(get_type_hints(record_type))
        assert record_type.__required_keys__ <= keys, (record, record_type.__required_keys__ - keys)
        assert keys <= declared, (record, keys - declared)

    metrics, samples = read_jsonl(run.metrics_path)[0], read_jsonl(run.samples_path)[0]
    assert metrics
    for record in metrics:
        exact(record, METRIC_TYPES[record["event"]])
        assert checked_metric(record) is record
    for record in samples:
        exact(record, SampleEvent)
        assert checked_sample(record) is record
    status = read_json(run.status_path)
    exact(status, Status)
    assert checked_status(status) == status
