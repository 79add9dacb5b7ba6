"""Starting and stopping trainer processes the app can leave running.

A trainer is ``rnn-tui train --resume RUN --json`` in its own OS process (the same code path as
headless training; `--resume` of a run that was created but never started starts it fresh). It
runs in a new session (``start_new_session``): no controlling terminal, so it never writes to the
terminal, Ctrl-C in the app does not reach it, and it goes on after the app exits or the SSH
connection drops. Its stdout and stderr are appended to ``<run>/trainer.log``.

Zombies: this process keeps the ``Popen`` of every trainer it started in a module-level table;
``reap()`` polls them (a non-blocking ``waitpid``) and forgets those that ended. ``start_trainer``
and ``stop_trainer`` reap, and so does ``Follower.poll()``, which the app runs every ~0.25 s. A
trainer that outlives the app is re-parented (to init or a subreaper), which reaps it. Until it
is reaped, a dead trainer is already reported ``failed`` by ``RunDir.read_status`` (the kernel
frees a process's run lock when it exits, before it is reaped).

No torch here: importing this module costs what the run directory costs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from rnn_tui.runs.records import Status
from rnn_tui.runs.rundir import LIVE_STATES, RunDir

ATTACHED_ENV = "RNN_TUI_ATTACHED"  # in a trainer's environment: started by the app (train/device.py reads it)
LOG_NAME = "trainer.log"

# pid -> (Popen, run path) of the trainers this process started and has not reaped yet
_children: dict[int, tuple[subprocess.Popen, Path]] = {}


def trainer_command(run: RunDir, *, threads: int | None = None) -> list[str]:
    """The command line of a trainer for ``run``. ``threads`` adds ``--threads N`` (which
    `train --resume` records in the run's config.toml, like any flag it accepts)."""
    cmd = [sys.executable, "-m", "rnn_tui", "train", "--resume", str(Path(run.path).resolve()), "--json"]
    if threads is not None:
        cmd += ["--threads", str(int(threads))]
    return cmd


def start_trainer(run: RunDir, *, threads: int | None = None, extra_env: Mapping[str, str] | None = None) -> int:
    """Start a trainer process for ``run`` in a new session and return its pid.

    Without ``threads`` the trainer gets ``RNN_TUI_ATTACHED=1`` and uses one CPU thread (the
    app shares the cores; see rnn_tui/train/device.py); with ``threads`` it uses that many
    (0 = choose as headless). The working directory is inherited, so a relative data path in
    config.toml means what it meant when the run was created. Refusing a run that is already
    training is the trainer's job (`train --resume` exits with one line in trainer.log).
    """
    reap()
    env = dict(os.environ)
    env.pop(ATTACHED_ENV, None)
    if threads is None:
        env[ATTACHED_ENV] = "1"
    env["PYTHONUNBUFFERED"] = "1"  # trainer.log follows the run as it goes
    env.update(extra_env or {})
    cmd = trainer_command(run, threads=threads)
    log_path = Path(run.path) / LOG_NAME
    with open(log_path, "ab") as log:
        log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(cmd)}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            close_fds=True, start_new_session=True, env=env,
        )
    _children[proc.pid] = (proc, Path(run.path).resolve())
    return proc.pid


def reap() -> list[int]:
    """Collect the trainers this process started that have ended (non-blocking); their pids."""
    ended = []
    for pid, (proc, _) in list(_children.items()):
        if proc.poll() is not None:
            del _children[pid]
            ended.append(pid)
    return ended


def children() -> dict[int, str]:
    """Trainers this process started that have not been reaped: pid -> run path."""
    return {pid: str(path) for pid, (_, path) in _children.items()}


def trainer_pid(run: RunDir) -> int | None:
    """The pid of ``run``'s trainer: one this process started, else the holder of the run's lock."""
    path = Path(run.path).resolve()
    for pid, (proc, child_path) in _children.items():
        if child_path == path and proc.poll() is None:
            return pid
    holder = run.lock_holder()
    return holder if holder != os.getpid() else None


def wait_trainer(run: RunDir, timeout: float) -> Status:
    """Wait up to ``timeout`` seconds for ``run`` to reach a final state; its status."""
    deadline = time.monotonic() + timeout
    while True:
        reap()
        status = run.read_status()
        if status.get("state") not in LIVE_STATES or time.monotonic() >= deadline:
            return status
        time.sleep(0.05)


def stop_trainer(run: RunDir, timeout: float = 5) -> Status:
    """Stop ``run``'s trainer and return its final status.

    Sends ``stop`` through control.jsonl (the trainer saves ``latest`` and ends ``stopped``) and
    waits up to ``timeout`` seconds; a trainer still setting up (state ``starting``) ignores
    commands written before its loop starts, so ``stop`` is sent once it runs. A trainer still
    alive after ``timeout`` gets SIGTERM (in the loop: the same as ``stop``; during set-up: it
    ends, and reads ``failed``) and another ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    sent = False
    while True:
        reap()
        status = run.read_status()
        state = status.get("state")
        if state not in LIVE_STATES:
            return status
        if not sent and state in ("running", "paused"):
            run.send("stop")
            sent = True
        if time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    pid = trainer_pid(run)
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    return wait_trainer(run, timeout)
