"""Crash safety: SIGKILL the trainer at random moments, then check that every run still reads,
loads and resumes, and how many steps each kill cost.

Every trainer is the real CLI in a subprocess (``python -m rnn_tui train … --json``) on the
project's built-in data, killed with SIGKILL, then resumed (``train --resume``), killed again,
and so on; runs are a char LSTM on ``builtin:arith``, a GRU encoder-decoder on
``builtin:numbers-en-zh`` and a 2-layer char GRU on ``builtin:brackets``, in that order, one
runs root for all (so ``rnn-tui runs`` must survive every other run's state too).

Where the kills land. The models are small (a trainer step takes a few ms) but checkpoint every
3 steps and log every step, so writing a checkpoint (0.9-1.7 MB, fsynced) is a visible share of
a trainer's time. Each kill is drawn (seeded) as one of three moments:

* setup (15 %): a random time between launch and the median observed start-up (import, data,
  model, claiming the run): before the ``start`` record;
* early (15 %): within 2 checkpoint cycles of the ``start`` record (a new run: before its first
  checkpoint; a resume: around its first save);
* train (70 %): within 20 checkpoint cycles of the ``start`` record (evaluations, samples and
  best checkpoints included),

where a checkpoint cycle is the median time between the records of two checkpoint steps of that
kind of run, observed on the trainers' stdout as it arrives. A save's time is measured there
too: the gap between the records of a checkpoint step and the next step, less the gap to the
step after (taken where no other record falls between). Save time over cycle time bounds the
share of the kills after the start record that can catch a save; the report prints both (fewer
are seen: a save first builds the checkpoint in memory, which leaves no trace, and evaluations
and samples also take time).

What each kill caught is measured, not assumed, from the run directory right after the kill:

* in_save: a leftover ``checkpoints/.<tag>.safetensors.*.tmp`` or ``.<tag>.json.*.tmp``, or
  weights and metadata recording different steps (killed between the two renames);
* in_append: the last line of metrics.jsonl / samples.jsonl is complete but the trainer never
  echoed that record (echoing follows the append's write and fsync): killed inside the append;
* torn: metrics.jsonl or samples.jsonl not ending in a newline (killed inside the write itself;
  expect 0 or nearly: a record is one write() of a few hundred bytes, which a SIGKILL can split
  only where it crosses a page of the file: a window of microseconds);
* setup: killed before the ``start`` record; no_ckpt: killed after it, with no checkpoint yet.

Checks, each failing one listed as a defect with the kill it followed; a run with a defect
counts as unreadable:

* after every kill: ``rnn-tui runs --json`` exits 0 and lists the run as ``failed`` (unless the
  kill came before the run was made); every record the trainer echoed is a readable line of
  metrics.jsonl / samples.jsonl;
* every resume: ``train --resume`` starts (no refusal, no traceback) and trains;
* after a run's last kill: ``inspect``, ``generate`` and ``score`` (a translation run: ``inspect``
  and ``translate``) exit 0 — or, when the run has no checkpoint yet, say so in one line; then
  ``train --resume`` to a step budget a little further ends ``finished`` and ``runs`` says so.

A run whose resume is refused cannot take more kills: a fresh run of the same kind takes the rest.
Lost steps per kill: the most steps the trainer had reported (its last train/val record after
its ``start``, or status.json's step) minus the step the next resume continued from (its
``start`` record's ``step``, else checkpoints/latest.json's, else 0).

    python bench/crash.py [--kills 50] [--runs 3] [--seed 1] [--jobs 2] [-v] [--keep DIR]

Prints a table per run (-v: a line per kill), the defects with their kill moments, timings, and
last ``RESULT kills=<k> unreadable=<u> lost_max_steps=<n>``: want unreadable=0 and n ≤ the
checkpoint interval (3). Timings are rough on a shared machine; the counts are what matters.
tests/test_crash.py runs the same harness with a few kills.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINT_INTERVAL = 3
CYCLES = {"early": 2, "train": 20}  # kill window after the start record, in checkpoint cycles
MOMENTS = {"setup": 0.15, "early": 0.15, "train": 0.70}
START_TIMEOUT_S = 180.0  # the longest wait for a start record (then the kill lands where it may), or a final resume
COMMON = ["--log-interval", "1", "--checkpoint-interval", str(CHECKPOINT_INTERVAL), "--eval-interval", "24",
          "--eval-batches", "2", "--sample-interval", "24", "--sample-length", "20", "--threads", "1",
          "--device", "cpu", "--steps", "1000000"]


@dataclass(frozen=True)
class Kind:
    train: list[str]  # flags of `rnn-tui train` (with COMMON)
    checks: list[list[str]]  # commands run on the run after its last kill; "{run}" is its id


KINDS = {
    "lm": Kind(["--data", "builtin:arith", "--cell", "lstm", "--hidden", "128", "--embed", "16", "--batch", "8",
                "--seq-len", "32"],
               [["inspect", "{run}", "12+30=42", "--json"], ["generate", "{run}", "--length", "20", "--json"],
                ["score", "{run}", "12+30=42", "--json"]]),
    "seq2seq": Kind(["--task", "seq2seq", "--data", "builtin:numbers-en-zh", "--cell", "gru", "--hidden", "96",
                     "--embed", "32", "--batch", "16"],
                    [["inspect", "{run}", "forty two", "--json"], ["translate", "{run}", "forty two", "--json"]]),
    "lm-gru": Kind(["--data", "builtin:brackets", "--cell", "gru", "--layers", "2", "--hidden", "96", "--embed", "16",
                    "--batch", "8", "--seq-len", "32"],
                   [["inspect", "{run}", "([{}])", "--json"], ["generate", "{run}", "--length", "20", "--json"],
                    ["score", "{run}", "([{}])", "--json"]]),
}
ORDER = list(KINDS)  # run i is of kind ORDER[i % len(ORDER)]


# -- the trainer process ---------------------------------------------------------------------------

class Trainer:
    """One ``rnn-tui train --json`` process; its stdout records timestamped as they arrive."""

    live: set[subprocess.Popen] = set()  # every trainer not yet waited for (killed if the harness stops early)

    def __init__(self, args: list[str]) -> None:
        self.launched, self.launched_wall = time.perf_counter(), time.time()
        self.proc = subprocess.Popen([sys.executable, "-m", "rnn_tui", "train", *args, "--json"], cwd=ROOT,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
                                     errors="replace")
        Trainer.live.add(self.proc)
        self.records: list[tuple[float, dict[str, Any]]] = []  # (seconds since launch, record)
        self.stderr = ""
        self.started = threading.Event()
        self.killed_at: float | None = None  # seconds since launch
        self._readers = [threading.Thread(target=self._read_stdout), threading.Thread(target=self._read_stderr)]
        for reader in self._readers:
            reader.start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            self.records.append((time.perf_counter() - self.launched, record))
            if record.get("event") == "start":
                self.started.set()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        self.stderr = self.proc.stderr.read()

    def start_record(self) -> dict[str, Any] | None:
        return next((r for _, r in self.records if r.get("event") == "start"), None)

    def start_time(self) -> float | None:
        return next((t for t, r in self.records if r.get("event") == "start"), None)

    def sleep_until(self, seconds_since_launch: float) -> None:
        """Sleep until then, or until the process ends."""
        while self.proc.poll() is None:
            left = self.launched + seconds_since_launch - time.perf_counter()
            if left <= 0:
                return
            time.sleep(min(left, 0.05))

    def wait_start(self, timeout: float = START_TIMEOUT_S) -> float | None:
        """Wait for the start record (until the process ends, or ``timeout``): its time, or None."""
        deadline = time.perf_counter() + timeout
        while not self.started.wait(0.02) and self.proc.poll() is None and time.perf_counter() < deadline:
            pass
        return self.start_time()

    def kill(self) -> None:
        """SIGKILL the trainer if it still runs, and collect everything it printed."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.killed_at = time.perf_counter() - self.launched
        self.finish()

    def finish(self, timeout: float | None = None) -> int:
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        for reader in self._readers:
            reader.join()
        Trainer.live.discard(self.proc)
        return rc

    def save_times(self) -> list[float]:
        """Seconds each checkpoint took: the gap after a checkpoint step's record less the next gap."""
        times = []
        for (t0, a), (t1, b), (t2, c) in zip(self.records, self.records[1:], self.records[2:]):
            steps = [r.get("step") if r.get("event") == "train" else None for r in (a, b, c)]
            if steps[0] is not None and steps[0] % CHECKPOINT_INTERVAL == 0 and steps == [steps[0] + i for i in range(3)]:
                times.append((t1 - t0) - (t2 - t1))
        return times

    def cadences(self) -> list[float]:
        """Seconds between the train records of consecutive checkpoint steps."""
        marks = [(r["step"], t) for t, r in self.records
                 if r.get("event") == "train" and r.get("step", 1) % CHECKPOINT_INTERVAL == 0]
        return [t1 - t0 for (s0, t0), (s1, t1) in itertools.pairwise(marks) if s1 - s0 == CHECKPOINT_INTERVAL]


def cli(root: Path, *args: str, timeout: float = 180.0) -> tuple[int, str, str]:
    """Run ``rnn-tui ARGS --runs-dir ROOT``: exit code, stdout, stderr."""
    try:
        done = subprocess.run([sys.executable, "-m", "rnn_tui", *args, "--runs-dir", str(root)], cwd=ROOT,
                              capture_output=True, text=True, encoding="utf-8", errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired:
        return -1, "", f"timed out after {timeout:.0f} s"
    return done.returncode, done.stdout, done.stderr


def problem(rc: int, err: str) -> str | None:
    """What is wrong with a command's outcome: a traceback, or a non-zero exit (its message)."""
    if "Traceback" in err:
        return "traceback: " + err.strip().splitlines()[-1]
    if rc != 0:
        return f"exit {rc}: " + (err.strip().splitlines() or ["(no message)"])[0]
    return None


# -- reading the run directory as an outside observer ----------------------------------------------

def read_json(path: Path) -> dict[str, Any] | None:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


def jsonl_records(path: Path) -> list[dict[str, Any]]:
    """The records of the complete lines of ``path`` that are JSON objects."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    records = []
    for raw in data[: data.rfind(b"\n") + 1].splitlines():
        try:
            obj = json.loads(raw)
        except ValueError:
            continue
        if isinstance(obj, dict):
            records.append(obj)
    return records


def weights_step(path: Path) -> str | None:
    """The step in a safetensors file's header metadata."""
    try:
        with open(path, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(n))
    except (OSError, ValueError):
        return None
    return (header.get("__metadata__") or {}).get("step")


def checkpoint_step(run: Path) -> int | None:
    """The step of checkpoints/latest.json, or None without one."""
    meta = read_json(run / "checkpoints" / "latest.json")
    return meta.get("step") if meta else None


def reported_step(run: Path) -> int:
    """The most steps the trainer had reported: its train/val records since the last start, status.json."""
    records = jsonl_records(run / "metrics.jsonl")
    starts = [i for i, r in enumerate(records) if r.get("event") == "start"]
    since = records[starts[-1] + 1:] if starts else records
    steps = [r["step"] for r in since if r.get("event") in ("train", "val") and isinstance(r.get("step"), int)]
    status = read_json(run / "status.json") or {}
    if isinstance(status.get("step"), int):
        steps.append(status["step"])
    return max(steps, default=0)


def leftovers(run: Path) -> dict[str, list[str]]:
    """What an interrupted write leaves in ``run``: checkpoint temporaries and weights whose
    metadata records another step (in_save), files not ending in a newline (torn), other
    temporaries (other_tmp: status.json, config.toml)."""
    folder = run / "checkpoints"
    found: dict[str, list[str]] = {"in_save": [], "torn": [], "other_tmp": []}
    if folder.is_dir():
        found["in_save"] += sorted(p.name for p in folder.glob(".*.tmp"))
        for tag in ("latest", "best"):
            weights = weights_step(folder / f"{tag}.safetensors")
            meta = read_json(folder / f"{tag}.json")
            if weights is not None and (meta is None or str(meta.get("step")) != weights):
                found["in_save"].append(f"{tag}: weights at step {weights}, metadata at {meta and meta.get('step')}")
    if run.is_dir():
        found["other_tmp"] += sorted(p.name for p in run.glob(".*.tmp"))
    for name in ("metrics.jsonl", "samples.jsonl"):
        path = run / name
        data = path.read_bytes() if path.is_file() else b""
        if data and not data.endswith(b"\n"):
            found["torn"].append(name)
    return found


def caught(run: Path, trainer: Trainer, before: dict[str, list[str]]) -> dict[str, list[str]]:
    """What the kill of ``trainer`` caught: the leftovers that were not there ``before`` it was
    launched, and in_append: a last record of metrics.jsonl / samples.jsonl that it wrote but never echoed."""
    found = {k: [x for x in v if x not in before[k]] for k, v in leftovers(run).items()}
    echoed = {(r.get("event"), r.get("time")) for _, r in trainer.records}
    found["in_append"] = []
    for name in ("metrics.jsonl", "samples.jsonl"):
        records = jsonl_records(run / name)
        last = records[-1] if records else {}
        if (last.get("time") or 0) >= trainer.launched_wall and (last.get("event"), last.get("time")) not in echoed:
            found["in_append"].append(f"{name} ({last.get('event')} at step {last.get('step')})")
    return found


def lost_records(run: Path, trainer: Trainer) -> list[str]:
    """Records the trainer echoed (so had written and fsynced) that are not a readable line of their file."""
    kept = {(r.get("event"), r.get("time")) for name in ("metrics.jsonl", "samples.jsonl")
            for r in jsonl_records(run / name)}
    return [f"{r.get('event')} (step {r.get('step')})" for _, r in trainer.records
            if (r.get("event"), r.get("time")) not in kept]


def listing_problem(root: Path, run_id: str, want: str) -> str | None:
    """``rnn-tui runs --json`` must exit 0 and list ``run_id`` with state ``want`` and an integer step."""
    rc, out, err = cli(root, "runs", "--json")
    if bad := problem(rc, err):
        return bad
    try:
        rows = json.loads(out)
    except ValueError:
        return f"printed no JSON: {out[:80]!r}"
    row = next((r for r in rows if isinstance(r, dict) and r.get("id") == run_id), None)
    if row is None:
        return "the run is not listed"
    if row.get("state") != want or not isinstance(row.get("step"), int):
        return f"listed as {row.get('state')!r} at step {row.get('step')!r} ({row.get('error')}), not {want!r}"
    return None


# -- the harness -----------------------------------------------------------------------------------

@dataclass
class Defect:
    run: str
    moment: str  # the kill it followed, described
    check: str
    message: str


@dataclass
class RunReport:
    id: str
    kind: str
    kills: int = 0
    setup: int = 0
    no_ckpt: int = 0
    in_save: int = 0
    in_append: int = 0
    torn: int = 0
    lost: list[int] = field(default_factory=list)
    defects: list[Defect] = field(default_factory=list)

    @property
    def lost_max(self) -> int:
        return max(self.lost, default=0)


class Timing:
    """Observed start-up times and checkpoint cycles per kind of run (shared by the workers)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.startup: dict[str, list[float]] = {k: [] for k in KINDS}
        self.cycle: dict[str, list[float]] = {k: [] for k in KINDS}
        self.save: dict[str, list[float]] = {k: [] for k in KINDS}

    def add(self, kind: str, trainer: Trainer) -> None:
        with self.lock:
            if (t := trainer.start_time()) is not None:
                self.startup[kind].append(t)
            self.cycle[kind] += trainer.cadences()
            self.save[kind] += trainer.save_times()

    def median(self, kind: str, what: str, default: float) -> float:
        with self.lock:
            values = getattr(self, what)[kind]
            return statistics.median(values) if values else default


@dataclass
class Summary:
    reports: list[RunReport]
    timing: Timing
    seconds: float

    @property
    def kills(self) -> int:
        return sum(r.kills for r in self.reports)

    @property
    def unreadable(self) -> int:
        return sum(bool(r.defects) for r in self.reports)

    @property
    def lost_max(self) -> int:
        return max((r.lost_max for r in self.reports), default=0)

    def result_line(self) -> str:
        return f"RESULT kills={self.kills} unreadable={self.unreadable} lost_max_steps={self.lost_max}"


class Slot:
    """One kind of run taking ``kills`` kills: a run, killed and resumed again and again, and a
    fresh run of the same kind whenever one can no longer be resumed."""

    def __init__(self, root: Path, index: int, kills: int, seed: int, timing: Timing, log: Callable[[str], None],
                 stop: threading.Event) -> None:
        self.root, self.kind, self.kills_left = root, ORDER[index % len(ORDER)], kills
        self.name = f"{self.kind}-{index}"
        self.rng = random.Random(f"{seed}-{index}")
        self.timing, self.log, self.stop = timing, log, stop

    def run(self) -> list[RunReport]:
        reports: list[RunReport] = []
        while (self.kills_left > 0 or not reports) and not self.stop.is_set():
            reports.append(self.one_run(f"{self.name}.{len(reports) + 1}" if reports else self.name))
            if reports[-1].kills == 0:
                break  # not even a first kill: another run would fare no better
        return reports

    def one_run(self, run_id: str) -> RunReport:
        report, path = RunReport(run_id, self.kind), self.root / run_id
        moment, reported = "no kill yet", None  # the latest kill, and the steps reported before it
        resumable = True
        while self.kills_left > 0 and resumable and not self.stop.is_set():
            plan = self.rng.choices(list(MOMENTS), weights=list(MOMENTS.values()))[0]
            before = leftovers(path)
            trainer, resume, ckpt_step = self.launch(path)
            if plan == "setup":
                trainer.sleep_until(self.rng.uniform(0, self.timing.median(self.kind, "startup", 3.0)))
            elif (started := trainer.wait_start()) is not None:
                cycle = self.timing.median(self.kind, "cycle", 0.1)
                trainer.sleep_until(started + self.rng.uniform(0, CYCLES[plan] * cycle))
            trainer.kill()
            had_ckpt = checkpoint_step(path) is not None
            self.timing.add(self.kind, trainer)
            self.count_lost(report, trainer, resume, reported, ckpt_step)
            command = "train --resume" if resume else "train"
            if trainer.killed_at is None:  # it ended by itself: refused, or failed; this run takes no more kills
                self.defect(report, moment, command, problem(trainer.proc.returncode, trainer.stderr) or "ended by itself")
                resumable = False
                continue
            self.defect(report, moment, command, problem(0, trainer.stderr))  # a traceback before the kill
            self.kills_left -= 1
            report.kills += 1
            found = caught(path, trainer, before)
            start = trainer.start_record()
            report.setup += start is None
            report.no_ckpt += start is not None and not had_ckpt
            report.in_save += bool(found["in_save"])
            report.in_append += bool(found["in_append"])
            report.torn += bool(found["torn"])
            moment = f"kill {report.kills} ({describe(trainer, plan, found)})"
            reported = reported_step(path)
            self.log(f"{run_id} {moment}: reported step {reported}")
            if (path / "config.toml").is_file():  # else killed before it made the run: the next launch makes it
                self.defect(report, moment, "runs --json", listing_problem(self.root, run_id, "failed"))
            self.defect(report, moment, "records echoed are in the files", ", ".join(lost_records(path, trainer)) or None)
        self.final_checks(report, path, moment, reported, resume=resumable)
        return report

    def launch(self, path: Path, *extra: str) -> tuple[Trainer, bool, int | None]:
        """A trainer on the run at ``path``: a resume when it exists, else a new run. Also: whether
        it resumes, and the step of the checkpoint it should continue from."""
        resume = (path / "config.toml").is_file()
        args = ["--resume", path.name] if resume else [*KINDS[self.kind].train, *COMMON, "--name", path.name]
        ckpt_step = checkpoint_step(path)
        return Trainer([*args, *extra, "--runs-dir", str(self.root)]), resume, ckpt_step

    def count_lost(self, report: RunReport, trainer: Trainer, resume: bool, reported: int | None,
                   ckpt_step: int | None) -> None:
        start = trainer.start_record()
        if resume and start is not None and reported is not None:
            continued = start.get("step", ckpt_step or 0)
            report.lost.append(reported - continued)
            self.log(f"{report.id}   resumed at step {continued}: lost {report.lost[-1]}")

    def defect(self, report: RunReport, moment: str, check: str, message: str | None) -> None:
        if message:
            report.defects.append(Defect(report.id, moment, check, message))
            self.log(f"{report.id}   DEFECT {check} after {moment}: {message}")

    def final_checks(self, report: RunReport, path: Path, moment: str, reported: int | None, resume: bool = True) -> None:
        """inspect / generate / score (or translate) on the state the last kill left; then, unless
        the run is known not to resume, a resume to a budget a little further must finish."""
        if self.stop.is_set():
            return
        has_ckpt = checkpoint_step(path) is not None
        for check in KINDS[self.kind].checks:
            rc, _, err = cli(self.root, *(a.replace("{run}", report.id) for a in check))
            one_line = rc == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1
            if not (one_line and not has_ckpt):  # without a checkpoint, saying so in one line is right
                self.defect(report, moment, check[0], problem(rc, err))
        if not resume:
            return
        steps = (checkpoint_step(path) or 0) + 2 * CHECKPOINT_INTERVAL
        trainer, _, ckpt_step = self.launch(path, "--steps", str(steps))
        rc = trainer.finish(timeout=START_TIMEOUT_S)
        self.timing.add(self.kind, trainer)
        self.count_lost(report, trainer, True, reported, ckpt_step)
        ends = [r.get("state") for _, r in trainer.records if r.get("event") == "end"]
        self.defect(report, moment, "train --resume (to the end)",
                    problem(rc, trainer.stderr) or (None if ends == ["finished"] else f"end records: {ends}"))
        self.defect(report, moment, "runs --json (at the end)", listing_problem(self.root, report.id, "finished"))


def describe(trainer: Trainer, plan: str, found: dict[str, list[str]]) -> str:
    """Where a kill landed: its planned moment, the time after the start record (or in setup),
    the last step the trainer had echoed, and what the run directory showed."""
    start, killed = trainer.start_time(), trainer.killed_at or 0.0
    steps = [r["step"] for _, r in trainer.records if isinstance(r.get("step"), int)]
    where = (f"{plan}: {killed:.2f} s after launch, in setup" if start is None else
             f"{plan}: {killed - start:.3f} s after start, last echoed step {max(steps, default=0)}")
    what = [f"{k} {', '.join(v)}" for k, v in found.items() if v]
    return where + "".join(f"; {w}" for w in what)


def crash_test(root: Path, kills: int = 50, runs: int = 3, seed: int = 1, jobs: int = 2,
               log: Callable[[str], None] = lambda line: None) -> Summary:
    """Kill trainers ``kills`` times over ``runs`` runs (run i of kind ORDER[i % 3]) under ``root``,
    ``jobs`` runs at a time; every check as described at the top of this file."""
    timing, began, stop = Timing(), time.perf_counter(), threading.Event()
    shares = [kills // runs + (i < kills % runs) for i in range(runs)]
    slots = [Slot(root, i, n, seed, timing, log, stop) for i, n in enumerate(shares)]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        try:
            futures = [pool.submit(slot.run) for slot in slots]
            reports = [r for future in futures for r in future.result()]
        finally:  # on an error or ^C: no trainer is left training
            stop.set()
            for proc in list(Trainer.live):
                proc.kill()
    return Summary(reports, timing, time.perf_counter() - began)


def report(summary: Summary) -> str:
    """The table (a row per run, then all), the defects with the kills they followed, the timings."""
    cols = ("kills", "setup", "no_ckpt", "in_save", "in_append", "torn", "lost_max", "defects")
    lines = [f"{'run':<12} " + " ".join(f"{c:>9}" for c in cols)]
    lines.append("-" * len(lines[0]))
    for r in [*summary.reports, None]:
        rs = summary.reports if r is None else [r]
        values = [sum(x.kills for x in rs), sum(x.setup for x in rs), sum(x.no_ckpt for x in rs),
                  sum(x.in_save for x in rs), sum(x.in_append for x in rs), sum(x.torn for x in rs),
                  max((x.lost_max for x in rs), default=0), sum(len(x.defects) for x in rs)]
        lines.append(f"{'all' if r is None else r.id:<12} " + " ".join(f"{v:>9}" for v in values))
    defects = [d for r in summary.reports for d in r.defects]
    if defects:
        lines += ["", f"defects ({len(defects)}):"]
        lines += [f"- {d.run}: {d.check} after {d.moment}: {d.message}" for d in defects]
    t = summary.timing
    share = {k: t.median(k, "save", 0) / (t.median(k, "cycle", 0) or 1) for k in KINDS}
    after_start = sum(r.kills - r.setup for r in summary.reports)
    expected = sum((r.kills - r.setup) * share[r.kind] for r in summary.reports)
    lines += ["", f"{after_start} kills after the start record, {sum(r.in_save for r in summary.reports)} in a save "
                  f"(the measured save share allows at most {expected:.1f})"]
    lines += [f"checkpoint interval {CHECKPOINT_INTERVAL} steps; {summary.seconds:.0f} s in all (rough: a shared machine)"]
    for kind in (k for k in KINDS if t.startup[k]):
        cycle, save = t.median(kind, "cycle", 0), t.median(kind, "save", 0)
        lines.append(f"  {kind:<8} start-up (launch → start record) {t.median(kind, 'startup', 0):.2f} s; checkpoint "
                     f"cycle {1000 * cycle:.0f} ms, of which saving {1000 * save:.0f} ms ({share[kind]:.0%}) "
                     f"(medians of {len(t.startup[kind])}, {len(t.cycle[kind])}, {len(t.save[kind])})")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3, help="runs, of kinds " + ", ".join(ORDER) + " in turn")
    parser.add_argument("--seed", type=int, default=1, help="seed of the kill moments")
    parser.add_argument("--jobs", type=int, default=2, help="runs killed at the same time")
    parser.add_argument("-v", "--verbose", action="store_true", help="a line per kill and resume")
    parser.add_argument("--keep", default=None, help="keep the runs under this folder (default: a temporary one)")
    args = parser.parse_args()

    lock = threading.Lock()

    def log(line: str) -> None:
        if args.verbose:
            with lock:
                print(line, flush=True)

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="rnn-tui-crash-"))
    try:
        summary = crash_test(root / "runs", args.kills, args.runs, args.seed, args.jobs, log)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print(report(summary))
    print(f"({args.jobs} job(s), seed {args.seed})")
    print(summary.result_line())


if __name__ == "__main__":
    main()
