"""Messages that workers post to the app. Small and immutable: workers only post these."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from rnn_tui.config import DataConfig
from rnn_tui.errors import RnnTuiError
from rnn_tui.runs.follower import RunSnapshot
from rnn_tui.runs.records import RunSummary


@dataclass
class RunsUpdated(Message):
    """The run follower saw changes (a snapshot per changed run)."""

    snapshots: tuple[RunSnapshot, ...]


@dataclass
class RunsListed(Message):
    """Every run under the runs root, newest first (RunDir.summary() rows)."""

    rows: tuple[RunSummary, ...]


@dataclass
class DataPreviewed(Message):
    """A dataset preview computed in a worker (``info`` from data.stats, or ``error``)."""

    data: DataConfig  # what was previewed: what the app trains on from now
    task: str  # the task it was previewed for (the one its kind suggests, for a newly chosen dataset)
    info: dict[str, Any] | None
    error: RnnTuiError | None = None
    follow: bool = False  # a newly chosen dataset (not a run's): the task followed its kind


@dataclass
class TrainerStarted(Message):
    run_id: str
    path: str


@dataclass
class UserError(Message):
    """A worker hit an RnnTuiError: one line to show."""

    message: str
