"""A training run is a directory (format documented in docs/run-directory.md):

    runs/<run-id>/
      config.toml        everything needed to rebuild data pipeline, model and optimizer
      status.json        pid, state, step, epoch, heartbeat, last error line (replaced atomically)
      metrics.jsonl      one JSON object per line, append-only, flushed per record
      samples.jsonl      periodic generated samples
      control.jsonl      commands to the trainer (pause, resume, stop, set-lr), appended by others
      checkpoints/       latest.* and best.*: safetensors + JSON, never pickle

The records of these files are typed in records.py; what is read back passes its checks.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, get_args

from rnn_tui.config import Config, check_lr
from rnn_tui.errors import RnnTuiError
from rnn_tui.runs.files import append_jsonl, atomic_write_json, atomic_write_text, read_json, read_jsonl
from rnn_tui.runs.records import (
    Cmd,
    Command,
    MetricEvent,
    RunSummary,
    SampleEvent,
    State,
    Status,
    StatusFields,
    checked_all,
    checked_command,
    checked_metric,
    checked_sample,
    checked_status,
)

if TYPE_CHECKING:  # the type checker's own copy: no run-time dependency
    from typing_extensions import Unpack

FORMAT_VERSION = 1
RUNS_ENV = "RNN_TUI_RUNS"
LIVE_STATES: tuple[State, ...] = ("starting", "running", "paused")
HEARTBEAT_S = 1.0  # the trainer rewrites status.json at least this often while alive
COMMANDS: tuple[Cmd, ...] = get_args(Cmd)


def runs_root(cli_value: str | Path | None = None) -> Path:
    """``--runs-dir``, else $RNN_TUI_RUNS, else ./runs."""
    return Path(cli_value or os.environ.get(RUNS_ENV) or "runs")


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (killed, not yet reaped by its parent) still answers kill(0): look closer on Linux.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


@dataclass
class RunDir:
    path: Path

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def config_path(self) -> Path:
        return self.path / "config.toml"

    @property
    def status_path(self) -> Path:
        return self.path / "status.json"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def samples_path(self) -> Path:
        return self.path / "samples.jsonl"

    @property
    def control_path(self) -> Path:
        return self.path / "control.jsonl"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    # -- creating and opening ------------------------------------------------------------------

    @classmethod
    def create(cls, root: Path, config: Config, name: str | None = None) -> RunDir:
        """A new run directory under ``root`` holding ``config``, its status ``starting``."""
        root = Path(root)
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RnnTuiError(f"cannot create runs folder {root}: {exc.strerror}") from None
        base = _slug(name) if name else _default_name(config)
        for n in range(1000):
            path = root / (base if n == 0 else f"{base}-{n + 1}")
            try:
                path.mkdir()
                break
            except FileExistsError:
                if name:
                    raise RnnTuiError(f"run {name!r} already exists in {root}; pick another --name or --resume it") from None
        else:  # pragma: no cover
            raise RnnTuiError(f"too many runs named {base} in {root}")
        run = cls(path)
        run.checkpoints.mkdir()
        atomic_write_text(run.config_path, config.to_toml())
        run.write_status(state="starting", step=0, epoch=0.0)
        for p in (run.metrics_path, run.samples_path, run.control_path):
            p.touch()
        return run

    @classmethod
    def open(cls, spec: str | Path, root: Path | None = None) -> RunDir:
        """A run named by id under ``root`` or by path; one clear line when there is none."""
        candidates = [Path(spec)]
        if root is not None:
            candidates.insert(0, Path(root) / str(spec))
        for path in candidates:
            if (path / "config.toml").is_file():
                return cls(path)
        where = f" in {root}" if root is not None else ""
        raise RnnTuiError(f"no run {str(spec)!r}{where}; `rnn-tui runs` lists the runs")

    def config(self) -> Config:
        return Config.load(self.config_path, strict=True).validate()

    # -- status --------------------------------------------------------------------------------

    def write_status(self, **fields: Unpack[StatusFields]) -> Status:
        status: Status = {"version": FORMAT_VERSION, "run": self.id, "pid": os.getpid(), "heartbeat": time.time()}
        status.update(fields)
        atomic_write_json(self.status_path, status)
        return status

    def read_status(self) -> Status:
        """status.json as written, with ``state`` corrected when the trainer died without saying so.

        A live state (starting/running/paused) whose process no longer exists is reported as
        ``failed`` with ``error`` explaining it: that is what a SIGKILL or a power cut leaves.
        A key holding a value of the wrong type is left out (records.checked_status).
        """
        raw = read_json(self.status_path)
        status = checked_status(raw) if raw is not None else Status(state="failed", error="status.json is missing or unreadable")
        state = status.get("state")
        if state in LIVE_STATES and not pid_alive(status.get("pid")):
            status["written_state"] = state
            status["state"] = "failed"
            status["error"] = (f"the trainer (pid {status.get('pid')}) ended without a final status; "
                               f"resume with `rnn-tui train --resume {self.id}`")
        return status

    # -- metrics, samples, control -------------------------------------------------------------

    def append_metric(self, record: MetricEvent) -> None:
        append_jsonl(self.metrics_path, record)

    def append_sample(self, record: SampleEvent) -> None:
        append_jsonl(self.samples_path, record)

    def read_metrics(self) -> list[MetricEvent]:
        """The records of metrics.jsonl that pass records.checked_metric."""
        return checked_all(read_jsonl(self.metrics_path)[0], checked_metric)

    def read_samples(self) -> list[SampleEvent]:
        return checked_all(read_jsonl(self.samples_path)[0], checked_sample)

    def send(self, cmd: str, lr: float | None = None) -> None:
        """Append a command for the trainer to control.jsonl (pause, resume, stop, set-lr ``lr``)."""
        if cmd not in COMMANDS:
            raise RnnTuiError(f"unknown command {cmd!r}; use one of {', '.join(COMMANDS)}")
        command: Command = {"cmd": cmd, "time": time.time()}  # (``cmd in COMMANDS`` made it a Cmd)
        if cmd == "set-lr":
            command["lr"] = check_lr(lr)
        append_jsonl(self.control_path, command)

    def read_commands(self, offset: int) -> tuple[list[Command], int]:
        """Commands appended after byte ``offset`` that pass records.checked_command, and the next offset."""
        records, offset = read_jsonl(self.control_path, offset)
        return checked_all(records, checked_command), offset

    def control_size(self) -> int:
        try:
            return self.control_path.stat().st_size
        except FileNotFoundError:
            return 0

    # -- summary -------------------------------------------------------------------------------

    def summary(self) -> RunSummary:
        """One row of `rnn-tui runs`: id, state, step, best val loss, model and data."""
        status = self.read_status()
        config = None
        try:
            cfg = self.config()
            m, d = cfg.model, cfg.data
            model = f"{m.cell} {m.layers}x{m.hidden}"
            data = f"{d.spec} ({d.tokenizer})"
            if cfg.task == "seq2seq":
                model += f" {'bi ' if m.bidirectional else ''}+{m.attention}"  # e.g. "gru 1x256 bi +additive"
                data = f"{d.spec} ({d.src_tokenizer} → {d.tgt_tokenizer})"
            config = cfg.to_dict()
        except RnnTuiError as exc:
            model, data = "?", f"bad config: {exc}"
        return {
            "id": self.id,
            "path": str(self.path),
            "state": status.get("state"),
            "step": status.get("step", 0),
            "epoch": status.get("epoch", 0.0),
            "val_loss": status.get("best_val_loss"),
            "model": model,
            "data": data,
            "error": status.get("error"),
            "heartbeat": status.get("heartbeat"),
            "config": config,
        }


def list_runs(root: Path) -> list[RunDir]:
    """Runs under ``root``, oldest first (by creation of config.toml)."""
    root = Path(root)
    if not root.is_dir():
        return []
    runs = [RunDir(p) for p in root.iterdir() if (p / "config.toml").is_file()]
    return sorted(runs, key=lambda r: (r.config_path.stat().st_mtime, r.id))


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")
    if not slug:
        raise RnnTuiError(f"--name {text!r} has no usable characters; use letters, digits, '-', '_' or '.'")
    return slug[:80]


def _default_name(config: Config) -> str:
    data = config.data.spec.removeprefix("builtin:")
    data = Path(data).stem if ("/" in data or "." in data) else data
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return _slug(f"{stamp}-{config.model.cell}-{data}")
