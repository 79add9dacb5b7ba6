"""Following run directories: the only reader of a run directory inside the app.

``RunFollower.poll()`` turns what changed in one run directory since the previous poll into a
small immutable ``RunSnapshot``; ``Follower`` does it for several runs (the app overlays runs).
Pure Python, no threads: the app calls ``poll()`` from a thread worker a few times a second and
posts the snapshots as messages.

A poll is cheap: it ``os.stat``s status.json, metrics.jsonl, samples.jsonl and
checkpoints/latest.json and reads only what changed — the bytes appended to the ``.jsonl``
files since the last offset (a torn last line is left for the next poll, see
``files.read_jsonl``), status.json when it was replaced, latest.json when it was replaced,
config.toml on the first poll and when a resume rewrote it.
status.json is read before the logs, so the records are never behind the status (the trainer
appends ``end`` before it writes the final status). Records pass the checks of records.py on the
way in: a line with an unknown ``event`` or a known key of the wrong type is not a record.

A trainer that dies without a final status (SIGKILL, OOM, power cut) changes no file, so every
poll asks whether a trainer holds the run's lock (``RunDir.live_status``: an ``flock`` probe, no
read): a live status without one reports ``failed``, a final status with one ``starting``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from rnn_tui.config import Config
from rnn_tui.errors import RnnTuiError
from rnn_tui.runs.files import read_json, read_jsonl
from rnn_tui.runs.records import MetricEvent, SampleEvent, State, Status, checked_all, checked_metric, checked_sample
from rnn_tui.runs.rundir import RunDir

R = TypeVar("R")


@dataclass(frozen=True)
class RunSnapshot:
    run_id: str
    path: str
    status: Status  # RunDir.read_status(): a live state with a dead pid already reads "failed"
    new_metrics: tuple[MetricEvent, ...]  # records appended to metrics.jsonl since the previous snapshot
    new_samples: tuple[SampleEvent, ...]  # records appended to samples.jsonl since the previous snapshot
    checkpoint_step: int | None  # step of checkpoints/latest.json, None while there is none
    reset: bool  # first snapshot (or the files were replaced): new_* hold everything so far
    config: Config | None = None  # config.toml when it changed (first snapshot, a resume): the snapshot's own copy
    config_error: str | None = None  # why config.toml could not be read, when it changed to that

    @property
    def state(self) -> State | None:
        return self.status.get("state")


def _stat(path: os.PathLike[str] | str) -> tuple[int, int, int] | None:
    """(inode, size, mtime_ns) of ``path``, or None when it is missing."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class _Log(Generic[R]):
    """An append-only .jsonl file read incrementally, its records passed through ``check``."""

    def __init__(self, path: Path, check: Callable[[dict[str, Any]], R | None]) -> None:
        self.path = path
        self.check = check
        self.offset = 0  # bytes consumed (complete lines only)
        self.seen: tuple[int, int, int] | None = None  # stat at the last read

    def read(self) -> tuple[list[R], bool]:
        """New complete records, and whether the file was replaced or truncated (start over)."""
        st = _stat(self.path)
        if st == self.seen:
            return [], False
        replaced = self.seen is not None and (st is None or st[0] != self.seen[0] or st[1] < self.offset)
        if replaced:
            self.offset = 0
        self.seen = st
        if st is None or st[1] <= self.offset:
            return [], replaced
        records, self.offset = read_jsonl(self.path, self.offset)
        return checked_all(records, self.check), replaced


class RunFollower:
    """Follows one run directory; see the module docstring."""

    def __init__(self, run: RunDir) -> None:
        self.run = run
        self._metrics: _Log[MetricEvent] = _Log(run.metrics_path, checked_metric)
        self._samples: _Log[SampleEvent] = _Log(run.samples_path, checked_sample)
        self._latest_path = run.checkpoints / "latest.json"
        self._config_stat: tuple[int, int, int] | None = None
        self._status_stat: tuple[int, int, int] | None = None
        self._latest_stat: tuple[int, int, int] | None = None
        self._written: Status | None = None  # status.json as last read
        self._status: Status | None = None
        self._checkpoint_step: int | None = None
        self._first = True

    @property
    def run_id(self) -> str:
        return self.run.id

    @property
    def status(self) -> Status | None:
        """The status of the last snapshot (None before the first poll)."""
        return self._status

    def _written_status(self) -> Status:
        """status.json as written, read again only when its stat changed."""
        st = _stat(self.run.status_path)
        if self._written is None or st != self._status_stat:
            self._status_stat = st
            self._written = self.run.written_status()
        return self._written

    def poll(self) -> RunSnapshot | None:
        """What changed since the previous poll, or None when nothing did."""
        status = self.run.settled(self._written_status)  # the lock says whether a trainer is on it
        metrics, metrics_replaced = self._metrics.read()
        samples, samples_replaced = self._samples.read()
        reset = self._first
        if (metrics_replaced or samples_replaced) and not reset:
            # the run directory was rewritten under us: start over from the beginning of both logs
            reset = True
            for log in (self._metrics, self._samples):
                log.offset, log.seen = 0, None
            metrics, _ = self._metrics.read()
            samples, _ = self._samples.read()

        latest = _stat(self._latest_path)
        checkpoint_step = self._checkpoint_step
        if latest != self._latest_stat:
            self._latest_stat = latest
            meta = read_json(self._latest_path) if latest is not None else None
            step = meta.get("step") if meta else None
            checkpoint_step = step if isinstance(step, int) else None

        config = config_error = None
        config_stat = _stat(self.run.config_path)
        if reset or config_stat != self._config_stat:
            self._config_stat = config_stat
            try:
                config = self.run.config()
            except RnnTuiError as exc:
                config_error = str(exc)
        if (not reset and not metrics and not samples and status == self._status
                and checkpoint_step == self._checkpoint_step and config is None and config_error is None):
            return None
        self._first = False
        self._status, self._checkpoint_step = status, checkpoint_step
        return RunSnapshot(
            run_id=self.run.id,
            path=str(self.run.path),
            status=status.copy(),  # the snapshot's own copy: nothing shared with the follower's state
            new_metrics=tuple(metrics),
            new_samples=tuple(samples),
            checkpoint_step=checkpoint_step,
            reset=reset,
            config=config,
            config_error=config_error,
        )


class Follower:
    """Follows several runs; ``poll()`` returns a snapshot per run that changed, in follow order."""

    def __init__(self) -> None:
        self._runs: dict[str, RunFollower] = {}

    def follow(self, run: RunDir) -> None:
        """Start following ``run``; its next snapshot has ``reset`` set. Already followed: no-op."""
        current = self._runs.get(run.id)
        if current is None or current.run.path != run.path:
            self._runs[run.id] = RunFollower(run)

    def poll(self) -> list[RunSnapshot]:
        from rnn_tui.runs.launcher import reap

        reap()  # trainers this process started and that have ended: no zombies (non-blocking)
        snapshots = []
        for follower in list(self._runs.values()):
            snapshot = follower.poll()
            if snapshot is not None:
                snapshots.append(snapshot)
        return snapshots
