"""The records of a run directory as types, and the check of each record read back from disk.

The format is docs/run-directory.md; this module is its typed form. The trainer builds every
record as one of these TypedDicts and the readers (follower, app, CLI) take them, so a
misspelt key is a type-checker error (`python -m mypy`, configured in pyproject.toml), not a
``KeyError`` at run time or a key silently missing on disk.

    metrics.jsonl   MetricEvent: StartEvent | TrainEvent | ValEvent | ControlEvent | EndEvent,
                    discriminated by ``event``
    samples.jsonl   SampleEvent
    control.jsonl   Command
    status.json     Status (StatusFields are what a writer passes to RunDir.write_status)
    `rnn-tui runs`  RunSummary (RunDir.summary(): one row, status and config together)

The required keys are what the trainer writes. A file written by hand (or by another program)
may lack any of them, so a reader of disk records keeps using ``.get`` for keys that may be
absent — as it did before these types. What a reader may rely on is checked here, where the
records come in: ``checked_metric`` / ``checked_sample`` / ``checked_command`` drop a record
whose ``event`` is unknown or that holds a known key with a value of the wrong type (a string
``loss``), as an unparsable line is dropped; ``checked_status`` drops such keys from the status
and keeps the rest (a ``pid`` that is no process id, 0, -1 or beyond 32 bits, is such a key).
Unknown keys pass (a newer writer may add some).

No torch, no textual: the app, the CLI and the trainer all import this.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable
from typing import Any, Literal, TypedDict, TypeVar, Union, cast, get_args, get_origin, get_type_hints, is_typeddict

State = Literal["starting", "running", "paused", "stopped", "finished", "failed"]
FinalState = Literal["stopped", "finished", "failed"]
Cmd = Literal["pause", "resume", "stop", "set-lr"]
CheckpointTag = Literal["latest", "best"]  # checkpoints/<tag>.safetensors + <tag>.json
CHECKPOINT_TAGS: tuple[CheckpointTag, ...] = get_args(CheckpointTag)


# -- metrics.jsonl ---------------------------------------------------------------------------------
# (optional keys: a ``total=False`` class on top of the required ones; python 3.10 has no NotRequired)


class _Timed(TypedDict):
    time: float  # Unix seconds, when the record was written


class _Progress(_Timed):
    step: int
    epoch: float  # fractional
    elapsed: float  # training seconds summed over resumes


class _StartInfo(TypedDict):
    vocab: int  # seq2seq: the target's
    train_tokens: int


class _Baseline(TypedDict):
    seconds: float


class Baseline(_Baseline, total=False):
    """A simple method fitted on a classification run's split (train/baselines.py): its accuracy;
    or a forecasting baseline (train/forecast_baselines.py): its errors in the series' units on
    the validation and test origins (a part without origins: no keys for it)."""

    val_acc: float | None  # classify; None: no such split
    test_acc: float | None
    order: int  # forecast: p of the AR(p) baseline
    val_rmse: float
    val_mse: float
    val_mae: float
    val_mape: float  # percent; val_smape instead when a true value is 0
    val_smape: float
    test_rmse: float
    test_mse: float
    test_mae: float
    test_mape: float
    test_smape: float


class Adjusted(TypedDict):
    """Settings a new run fitted to a small dataset, because the user did not set them."""

    why: str  # "1,620 training tokens are too few for batch 32 × BPTT length 100"
    settings: dict[str, list[int]]  # "train.batch" -> [asked, used]: what changed (config.toml holds the used)


class StartInfo(_StartInfo, total=False):
    """What the task adds to the ``start`` record (tasks.py ``start_info``): seq2seq and classify
    the optional keys."""

    src_vocab: int
    train_pairs: int
    val_pairs: int
    test_pairs: int
    skipped_lines: int
    first_skipped: list[int]  # malformed lines of the data file, 1-based
    classes: list[str]  # classify: the class names, in class-id order
    train_texts: int
    val_texts: int
    test_texts: int
    duplicates_removed: int  # val/test texts dropped because they also occur in an earlier split
    baselines: dict[str, Baseline]  # classify: majority, naive_bayes, logreg; forecast: persistence, seasonal_naive, ar
    processes: int  # data-parallel: the ranks training the run (absent with one process)
    train_points: int  # forecast: the points of each part of the series, and its windows (origins)
    val_points: int
    test_points: int
    train_windows: int
    val_windows: int
    test_windows: int
    adjusted: Adjusted  # present when settings were fitted to a small dataset


class StartEvent(StartInfo, _Timed):
    event: Literal["start"]
    task: str
    resumed: bool  # restored from a checkpoint
    step: int  # where this trainer starts: it supersedes the records before it of a later step
    params: int
    steps_per_epoch: int
    total_steps: int | None  # None for a time budget
    device: str
    threads: int


class TrainEvent(_Progress):
    event: Literal["train"]
    loss: float  # nats/token, mean over the log interval
    ppl: float
    bpt: float  # bits/token
    grad_norm: float  # mean, before clipping
    clip_frac: float
    lr: float
    tokens_per_s: float
    progress: float  # 0–1
    eta_s: float | None


class _Validation(TypedDict):
    val_loss: float  # nats/token


class Validation(_Validation, total=False):
    """The task's validation numbers (tasks.py ``evaluate``)."""

    val_bleu: float  # seq2seq: corpus BLEU-4 of greedy translations
    val_acc: float  # classify: accuracy on the validation texts
    val_f1: float  # classify: macro-F1 (the mean over classes of each class's F1)
    val_acc_alone: float  # classify with an n-gram expert: the recurrent network's accuracy without its vote
    val_rmse: float  # forecast: errors of the forecasts from every validation origin, in the series' units
    val_mae: float


class ValEvent(Validation, _Progress):
    event: Literal["val"]
    val_ppl: float
    val_bpt: float
    best: bool  # improved on the best so far
    lr_reduced: bool


class _ControlEvent(_Timed):
    event: Literal["control"]
    cmd: Cmd
    step: int


class ControlEvent(_ControlEvent, total=False):
    """A command the trainer applied."""

    lr: float  # set-lr


class _EndEvent(_Timed):
    event: Literal["end"]
    state: FinalState
    step: int
    run: str
    path: str


class EndEvent(_EndEvent, total=False):
    """The last record: ``reason`` and the numbers when the run ended, ``error`` when it failed."""

    reason: str
    error: str
    epoch: float
    elapsed: float
    val_loss: float | None
    best_val_loss: float | None


MetricEvent = StartEvent | TrainEvent | ValEvent | ControlEvent | EndEvent


# -- samples.jsonl ---------------------------------------------------------------------------------


class SampleTranslation(TypedDict):
    source: str
    reference: str
    hypothesis: str


SAMPLE_TEXT_CHARS = 1000  # a classifier's sample keeps at most this much of each text


class SampleClassified(TypedDict):
    text: str  # as in the data, up to SAMPLE_TEXT_CHARS (the sample's ``text`` line cuts it at 80)
    label: str  # the true class
    predicted: str
    p: float  # the predicted class's probability


class _Sample(TypedDict):
    prime: str
    text: str


class Sample(_Sample, total=False):
    """What the task samples (tasks.py ``sample``): a language model's ``temperature``, a
    translator's ``translations``, a classifier's ``classified`` (``prime`` is then empty)."""

    temperature: float
    translations: list[SampleTranslation]
    classified: list[SampleClassified]


class SampleEvent(Sample, _Progress):
    event: Literal["sample"]


Event = MetricEvent | SampleEvent  # what the trainer's ``on_event`` callback receives


# -- control.jsonl ---------------------------------------------------------------------------------


class _Command(TypedDict):
    cmd: Cmd
    time: float


class Command(_Command, total=False):
    lr: float  # set-lr


# -- status.json -----------------------------------------------------------------------------------


class StatusFields(TypedDict, total=False):
    """What a writer sets in status.json (``RunDir.write_status(**fields)``)."""

    state: State
    step: int
    epoch: float
    total_steps: int | None
    progress: float
    elapsed: float
    best_val_loss: float | None
    device: str
    reason: str
    error: str


class Status(StatusFields, total=False):
    """status.json: every key may be absent in a file not written by rnn-tui."""

    version: int
    run: str
    pid: int
    heartbeat: float  # Unix seconds of the last write
    written_state: State  # RunDir.read_status: the live state a dead trainer left


# -- `rnn-tui runs` --------------------------------------------------------------------------------


class RunSummary(TypedDict):
    """One row of `rnn-tui runs` (and of the app's Runs tab): RunDir.summary()."""

    id: str
    path: str
    state: State | Literal["unreadable"] | None  # unreadable: see reason; None: status.json names no state
    step: int
    epoch: float
    val_loss: float | None  # the best validation loss
    model: str  # e.g. "gru 1x256", or "?" when the config is bad
    data: str
    error: str | None
    heartbeat: float | None
    config: dict[str, Any] | None  # Config.to_dict(), None when the config is bad
    reason: str | None  # why the run is unreadable, e.g. "config.toml: not valid TOML (…)"; else None


# -- the checks where records come in from disk ----------------------------------------------------

_Check = Callable[[object], bool]
R = TypeVar("R")


def _check(hint: Any) -> _Check:
    """A runtime test for a value annotated ``hint`` (the annotations used above): lists and
    nested TypedDicts are checked item by item, other dicts only as dicts."""
    origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return lambda v: True
    if hint is type(None):
        return lambda v: v is None
    if hint is float:  # JSON has one number type: 3 is a fine float, true is not
        return lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
    if hint is int:
        return lambda v: isinstance(v, int) and not isinstance(v, bool)
    if origin is Literal:  # the literals above are strings
        return lambda v: isinstance(v, str) and v in args
    if origin in (Union, types.UnionType):
        checks = [_check(a) for a in args]
        return lambda v: any(c(v) for c in checks)
    if origin is list:
        item = _check(args[0])
        return lambda v: isinstance(v, list) and all(item(x) for x in v)
    if is_typeddict(hint):
        fields = _fields(hint)
        return lambda v: isinstance(v, dict) and _fits(v, fields)
    if origin is dict:
        return lambda v: isinstance(v, dict)
    if hint in (str, bool):
        return lambda v: isinstance(v, hint)
    raise TypeError(f"no runtime check for {hint!r}")  # a new annotation above: teach _check


def _fields(record_type: Any) -> dict[str, _Check]:
    return {key: _check(hint) for key, hint in get_type_hints(record_type).items()}


def _fits(obj: dict[str, Any], fields: dict[str, _Check]) -> bool:
    """No known key of ``obj`` holds a value of the wrong type (missing keys are fine)."""
    return all(check(obj[key]) for key, check in fields.items() if key in obj)


_METRICS = {get_args(get_type_hints(t)["event"])[0]: _fields(t) for t in get_args(MetricEvent)}
_SAMPLE = _fields(SampleEvent)
_COMMAND = _fields(Command)
_STATUS = {**_fields(Status), "pid": lambda v: _check(int)(v) and 0 < v < 2**31}  # a process id: a positive pid_t


def checked_metric(obj: dict[str, Any]) -> MetricEvent | None:
    """``obj`` (a line of metrics.jsonl) as a metric record, or None: its ``event`` is not one of
    start/train/val/control/end, or a known key holds a value of the wrong type."""
    event = obj.get("event")
    fields = _METRICS.get(event) if isinstance(event, str) else None
    return cast(MetricEvent, obj) if fields is not None and _fits(obj, fields) else None


def checked_sample(obj: dict[str, Any]) -> SampleEvent | None:
    """``obj`` (a line of samples.jsonl), or None when a known key holds the wrong type."""
    return cast(SampleEvent, obj) if _fits(obj, _SAMPLE) else None


def checked_command(obj: dict[str, Any]) -> Command | None:
    """``obj`` (a line of control.jsonl), or None when a known key holds the wrong type
    (an unknown command, a non-numeric ``lr``)."""
    return cast(Command, obj) if _fits(obj, _COMMAND) else None


def checked_status(obj: dict[str, Any]) -> Status:
    """``obj`` (status.json) without the known keys whose values have the wrong type."""
    return cast(Status, {k: v for k, v in obj.items() if k not in _STATUS or _STATUS[k](v)})


def best_baseline(baselines: dict[str, Baseline]) -> tuple[str, float] | None:
    """A classification run's best baseline by validation accuracy: (its key, the accuracy), or
    None when no baseline has one (no validation split)."""
    scores = [(name, acc) for name, b in baselines.items() if (acc := b.get("val_acc")) is not None]
    return max(scores, key=lambda score: score[1]) if scores else None


def best_forecast_baseline(baselines: dict[str, Baseline], key: str = "val_rmse") -> tuple[str, float] | None:
    """A forecasting run's best baseline by ``key`` (an error: lowest is best), or None when no
    baseline has it (no such part)."""
    found = ((name, cast("dict[str, Any]", b).get(key)) for name, b in baselines.items())
    scores = [(name, float(v)) for name, v in found if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return min(scores, key=lambda score: score[1]) if scores else None


def superseded(record: MetricEvent | SampleEvent, start: StartEvent) -> bool:
    """Whether ``record``, written before ``start``, belongs to a history that start discarded:
    the trainer (re)started from an earlier step (its checkpoint, or 0 when it started over), so
    the records of later steps were written by a trainer that died before saving them. A sample
    (another file) counts as written before ``start`` by its ``time``. A start record without
    ``step`` (an older rnn-tui) supersedes nothing."""
    if record.get("event") == "sample" and record.get("time", 0.0) >= start.get("time", 0.0):
        return False
    return "step" in start and record.get("step", 0) > start["step"]


def one_history(metrics: list[MetricEvent], samples: list[SampleEvent]) -> tuple[list[MetricEvent], list[SampleEvent]]:
    """The records of metrics.jsonl and samples.jsonl without those a later ``start`` superseded."""
    kept: list[MetricEvent] = []
    for record in metrics:
        if record["event"] == "start":
            start = record
            kept = [r for r in kept if not superseded(r, start)]
            samples = [r for r in samples if not superseded(r, start)]
        kept.append(record)
    return kept, samples


def checked_all(objs: Iterable[dict[str, Any]], check: Callable[[dict[str, Any]], R | None]) -> list[R]:
    """The records of ``objs`` that pass ``check`` (one of the ``checked_*`` above)."""
    return [r for r in map(check, objs) if r is not None]
