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

import contextlib
import errno
import fcntl
import os
import re
import shutil
import time
from collections.abc import Callable
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
    one_history,
)

if TYPE_CHECKING:  # the type checker's own copy: no run-time dependency
    from typing_extensions import Unpack

FORMAT_VERSION = 1
RUNS_ENV = "RNN_TUI_RUNS"
LIVE_STATES: tuple[State, ...] = ("starting", "running", "paused")
HEARTBEAT_S = 1.0  # the trainer rewrites status.json at least this often while alive
LOCK_WAIT_S = 2.0  # a trainer retries the lock this long (a reader's probe holds it for microseconds)
START_GRACE_S = 60.0  # a created run waits this long for its trainer before it reads as failed
COMMANDS: tuple[Cmd, ...] = get_args(Cmd)


def runs_root(cli_value: str | Path | None = None) -> Path:
    """``--runs-dir``, else $RNN_TUI_RUNS, else ./runs."""
    return Path(cli_value or os.environ.get(RUNS_ENV) or "runs")


def pid_alive(pid: object) -> bool:
    """Whether a process ``pid`` exists (not a zombie). Anything but a positive pid is not one:
    ``os.kill(-1, 0)`` would ask about every process, and a huge number is no pid."""
    if not isinstance(pid, int) or isinstance(pid, bool) or not 0 < pid < 2**31:
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


class RunLock:
    """The run's trainer lock: an OS lock (``flock``) on ``<run>/lock``, held by one trainer for
    its whole life. The kernel frees it when the process ends, however it ends (SIGKILL, OOM), so
    a dead trainer never blocks a resume; it is not a check of status.json that two trainers can
    both pass."""

    def __init__(self, fd: int) -> None:
        self.fd: int | None = fd

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor drops the lock
            self.fd = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


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

    @property
    def lock_path(self) -> Path:
        return self.path / "lock"

    # -- creating and opening ------------------------------------------------------------------

    @classmethod
    def create(cls, root: Path, config: Config, name: str | None = None) -> RunDir:
        """A new run directory under ``root`` holding ``config``, its status ``starting``.

        config.toml is written last: until it exists the folder is not a run (``list_runs`` and
        ``open`` skip it), and a failure on the way removes the folder again.
        """
        root = Path(root)
        try:
            root.mkdir(parents=True, exist_ok=True)
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
        except OSError as exc:
            raise RnnTuiError(f"cannot create a run in {root}: {exc.strerror}; choose another --runs-dir") from None
        run = cls(path)
        try:
            run.checkpoints.mkdir()
            run.write_status(state="starting", step=0, epoch=0.0)
            for p in (run.metrics_path, run.samples_path, run.control_path):
                p.touch()
            atomic_write_text(run.config_path, config.to_toml())
        except OSError as exc:
            shutil.rmtree(path, ignore_errors=True)
            raise RnnTuiError(f"cannot write the run {path}: {exc.strerror}; {_space_hint(exc)}") from None
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
        """status.json, its ``state`` corrected by whether a trainer holds the run's lock (live_status)."""
        return self.settled(self.written_status)

    def settled(self, read: Callable[[], Status]) -> Status:
        """live_status of what ``read`` returns. A trainer writes its final status, then frees the
        lock: when it did both between the read and the lock probe, the run looks dead without a
        final status, so a run found so is read once more (a dead one stays ``failed``)."""
        status = self.live_status(read())
        return self.live_status(read()) if _ended_silently(status) else status

    def written_status(self) -> Status:
        """status.json as written; a key holding a value of the wrong type is left out (records.checked_status)."""
        raw = read_json(self.status_path)
        return checked_status(raw) if raw is not None else Status(state="failed", error="status.json is missing or unreadable")

    def live_status(self, written: Status) -> Status:
        """A copy of ``written`` whose ``state`` says what is true now (``written_state`` keeps the old one):

        - lock held: a trainer is on the run; a status it has not rewritten yet (it is setting up
          a resume) reads ``starting``;
        - lock free, ``running``/``paused``: the trainer died without saying so (SIGKILL, OOM,
          a power cut): ``failed``, with ``error`` saying so;
        - lock free, ``starting``: a run created for a trainer that has not taken it yet; it stays
          ``starting`` while its creator lives, at most START_GRACE_S, then reads ``failed``.
        """
        status = written.copy()
        state = status.get("state")
        if self.lock_held():
            if state not in ("running", "paused"):
                if state is not None:
                    status["written_state"] = state
                status["state"] = "starting"
            return status
        if state not in LIVE_STATES:
            return status
        if state == "starting":
            if pid_alive(status.get("pid")) and time.time() - status.get("heartbeat", 0.0) < START_GRACE_S:
                return status
            error = f"its trainer never started; start it with `rnn-tui train --resume {self.id}`"
        else:
            error = (f"the trainer (pid {status.get('pid')}) ended without a final status; "
                     f"resume with `rnn-tui train --resume {self.id}`")
        status["written_state"] = state
        status["state"] = "failed"
        status["error"] = error
        return status

    # -- the trainer's lock ----------------------------------------------------------------------

    def lock(self, wait: float = LOCK_WAIT_S) -> RunLock:
        """Take the run's trainer lock (see RunLock), or one clear line when a trainer holds it."""
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise RnnTuiError(f"cannot lock the run {self.path}: {exc.strerror}") from None
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() < deadline:
                    time.sleep(0.01)
                    continue
                holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
                os.close(fd)
                raise RnnTuiError(f"run {self.id} is already training (pid {holder}); "
                                  f"`rnn-tui control {self.id} stop` first") from None
        with contextlib.suppress(OSError):  # who holds it, for that message; the lock works without it
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return RunLock(fd)

    def lock_holder(self) -> int | None:
        """The pid of the trainer holding the run's lock (as it wrote it), or None."""
        if not self.lock_held():
            return None
        try:
            text = self.lock_path.read_text(encoding="ascii", errors="replace").strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def lock_held(self) -> bool:
        """Whether a trainer holds the run's lock: a probe that takes a shared lock for an instant."""
        try:
            fd = os.open(self.lock_path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return False  # no lock file: no trainer ever took this run
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    # -- metrics, samples, control -------------------------------------------------------------

    def append_metric(self, record: MetricEvent) -> None:
        append_jsonl(self.metrics_path, record)

    def append_sample(self, record: SampleEvent) -> None:
        append_jsonl(self.samples_path, record)

    def read_metrics(self) -> list[MetricEvent]:
        """The records of metrics.jsonl that pass records.checked_metric, as one history (records.one_history)."""
        metrics: list[MetricEvent] = checked_all(read_jsonl(self.metrics_path)[0], checked_metric)
        return one_history(metrics, [])[0]

    def read_samples(self) -> list[SampleEvent]:
        """The records of samples.jsonl that pass records.checked_sample, as one history (records.one_history)."""
        metrics: list[MetricEvent] = checked_all(read_jsonl(self.metrics_path)[0], checked_metric)
        return one_history(metrics, checked_all(read_jsonl(self.samples_path)[0], checked_sample))[1]

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
        """One row of `rnn-tui runs`: id, state, step, best val loss, model and data.

        Nothing in the run's files makes this raise: a run whose config.toml or status.json
        cannot be read (missing, corrupt, not allowed, not a regular file) is a row with state
        ``unreadable`` and ``reason`` (which file, and why), showing what could be read.
        """
        status: Status = {}
        cfg: Config | None = None
        folder_problem = _folder_problem(self.path)
        problems = [folder_problem] if folder_problem else []
        if not folder_problem:
            try:  # whatever a corrupt file makes a reader raise is the reason (see _problem)
                _check_run_file(self.status_path)
                status = self._readable_status()
            except Exception as exc:  # one corrupt run must not break the listing
                problems.append(_problem(self.status_path, exc))
            try:
                _check_run_file(self.config_path)
                cfg = self.config()
            except Exception as exc:
                problems.append(_problem(self.config_path, exc))
        model, data, config = "?", "?", None
        if cfg is not None:
            m, d = cfg.model, cfg.data
            model = f"{m.cell} {m.layers}x{m.hidden}"
            data = f"{d.spec} ({d.tokenizer})"
            if cfg.task == "seq2seq":
                model += f" {'bi ' if m.bidirectional else ''}+{m.attention}"  # e.g. "gru 1x256 bi +additive"
                data = f"{d.spec} ({d.src_tokenizer} → {d.tgt_tokenizer})"
            if cfg.task == "forecast":
                model += f" {m.strategy}"  # e.g. "gru 1x32 direct"
                data = f"{d.spec} ({d.column or 'last column'}: {d.window} → {d.horizon})"  # window → horizon
            config = cfg.to_dict()
        reason = "; ".join(problems) or None
        return {
            "id": self.id,
            "path": str(self.path),
            "state": "unreadable" if reason else status.get("state"),
            "step": status.get("step", 0),
            "epoch": status.get("epoch", 0.0),
            "val_loss": status.get("best_val_loss"),
            "model": model,
            "data": data,
            "error": status.get("error"),
            "heartbeat": status.get("heartbeat"),
            "config": config,
            "reason": reason,
        }

    def _readable_status(self) -> Status:
        """read_status(), refusing a status.json that is not a JSON object (read_status would
        call it a failed run)."""
        def read() -> Status:
            raw = read_json(self.status_path)
            if raw is None:
                raise RnnTuiError("not a JSON object")
            return checked_status(raw)

        return self.settled(read)


def _ended_silently(status: Status) -> bool:
    """Whether live_status found the run live in status.json but no trainer on it (it died, or it
    wrote a final status and ended since status.json was read)."""
    return status.get("state") == "failed" and status.get("written_state") in LIVE_STATES


RUN_FILE_MAX_BYTES = 1 << 20  # config.toml and status.json are a few KB; a bigger one is no run's


def _check_run_file(path: Path) -> None:
    """Refuse what is no file of a run: missing, not a regular file (a FIFO would block a
    reader), too large."""
    if not path.is_file():
        raise RnnTuiError("missing" if not path.exists() else "not a regular file")
    size = path.stat().st_size
    if size > RUN_FILE_MAX_BYTES:
        raise RnnTuiError(f"too large ({size:,} bytes)")


def _problem(path: Path, exc: Exception) -> str:
    """Why the run file ``path`` cannot be read, from what reading it raised: "status.json: …".

    Besides RnnTuiError a corrupt file can make a reader meet an OSError (no permission), a
    pid too large for the OS (OverflowError) or worse: each is its message."""
    if isinstance(exc, RnnTuiError):
        if exc.message.startswith(f"{path} "):  # "<path> is empty …" names the file itself
            return path.name + exc.message[len(str(path)):]
        why = exc.message.removeprefix(f"{path}: ")
    elif isinstance(exc, OSError) and exc.strerror:
        why = exc.strerror
    else:
        why = str(exc) or type(exc).__name__
    return f"{path.name}: {why}"


def list_runs(root: Path) -> list[RunDir]:
    """Runs under ``root``, oldest first (by creation of config.toml); none when there is no ``root``.

    A folder that holds a config.toml is a run; so is one that cannot be looked into (its
    summary says why it is unreadable). One clear line when ``root`` itself cannot be read.
    """
    root = Path(root)
    try:
        entries = list(root.iterdir())
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise RnnTuiError(f"cannot read runs folder {root}: {exc.strerror}") from None
    runs = [RunDir(p) for p in entries if _may_be_run(p)]
    return sorted(runs, key=lambda r: (_created(r), r.id))


def _may_be_run(path: Path) -> bool:
    """``path`` holds a config.toml, or cannot be looked into (its summary says so)."""
    return _folder_problem(path) is not None or (path / "config.toml").is_file()


def _folder_problem(path: Path) -> str | None:
    """Why the run folder ``path`` cannot be looked into (no permission), or None."""
    try:
        (path / "config.toml").exists()
    except OSError as exc:
        return f"folder: {exc.strerror or exc}"
    return None


def _created(run: RunDir) -> float:
    """When config.toml was written (else the folder's time, else 0)."""
    for path in (run.config_path, run.path):
        try:
            return path.stat().st_mtime
        except OSError:
            continue
    return 0.0


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


def _space_hint(exc: OSError) -> str:
    """What to do about a write that failed: free space for a full disk or a file-size limit."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return "the disk is full or a file-size limit was hit: free some space"
    return "check the folder's permissions"
