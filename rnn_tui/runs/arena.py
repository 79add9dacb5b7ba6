"""An arena: runs of several cells on the same data, budget and seeds, grouped by one file.

    runs/<arena-id>/arena.json          what the arena is: settings, contenders, the runs planned
    runs/<arena-id>-<cell>-s<seed>/     each contender's run: a normal run directory, so
                                        `rnn-tui runs`, inspect, generate … work on it as on any run
    runs/<arena-id>-<cell>-d<D>-s<seed>/  the memory probe's run of one cell at recall distance D

arena.json is replaced atomically; the runs it names are listed before they start (the memory
probe adds each as it goes). The table is never stored: ``arena_table`` computes it from the
runs' own files every time, so an arena killed mid-way shows what finished and names what is
missing. Plain data only: no torch, no click, no Textual.
"""

from __future__ import annotations

import os
import re
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnn_tui.errors import RnnTuiError
from rnn_tui.runs.files import atomic_write_json, read_json
from rnn_tui.runs.rundir import RunDir, pid_alive

ARENA_FILE = "arena.json"
ARENA_KIND = "rnn-tui arena"
ARENA_VERSION = 1
DONE = "finished"  # only runs that spent their budget (or stopped early by patience) count in the table


@dataclass
class ArenaDir:
    path: Path

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def file(self) -> Path:
        return self.path / ARENA_FILE

    @classmethod
    def create(cls, root: Path, name: str | None = None) -> ArenaDir:
        """A new, empty arena folder under ``root``: ``name`` or ``arena-<YYYYmmdd-HHMMSS>``."""
        arena_id = name or time.strftime("arena-%Y%m%d-%H%M%S")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,60}", arena_id):
            raise RnnTuiError(f"--name {arena_id!r}: use up to 61 letters, digits, '-', '_' or '.'")
        path = Path(root) / arena_id
        try:
            Path(root).mkdir(parents=True, exist_ok=True)
            path.mkdir()
        except FileExistsError:
            raise RnnTuiError(f"{path} already exists; pick another --name") from None
        except OSError as exc:
            raise RnnTuiError(f"cannot create the arena {path}: {exc.strerror}; choose another --runs-dir") from None
        return cls(path)

    @classmethod
    def open(cls, spec: str | Path, root: Path) -> ArenaDir:
        """An arena named by id under ``root`` or by path; one clear line when there is none."""
        for path in (Path(root) / str(spec), Path(spec)):
            if (path / ARENA_FILE).is_file():
                return cls(path)
        raise RnnTuiError(f"no arena {str(spec)!r} in {root} (a folder holding {ARENA_FILE}); `rnn-tui arena` starts one")

    def write(self, plan: dict[str, Any]) -> None:
        atomic_write_json(self.file, plan)

    def read(self) -> dict[str, Any]:
        """arena.json, checked enough to draw the table: one clear line when it is not an arena's."""
        plan = read_json(self.file)
        if plan is None or plan.get("kind") != ARENA_KIND:
            raise RnnTuiError(f"{self.file} is not an rnn-tui arena file (missing, damaged or another program's)")
        runs = plan.get("runs")
        if not isinstance(runs, list) or not all(isinstance(r, dict) and isinstance(r.get("run"), str)
                                                 and isinstance(r.get("cell"), str) for r in runs):
            raise RnnTuiError(f"{self.file}: \"runs\" must be a list of {{run, cell, …}} objects; the arena file is damaged")
        return plan


def list_arenas(root: Path) -> list[ArenaDir]:
    """The arenas under ``root`` (folders holding arena.json), newest first; none when there is no
    ``root``, one clear line when it cannot be read."""
    try:
        found = [ArenaDir(p) for p in Path(root).iterdir() if (p / ARENA_FILE).is_file()]
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise RnnTuiError(f"cannot read runs folder {root}: {exc.strerror}") from None
    return sorted(found, key=lambda a: (a.file.stat().st_mtime, a.id), reverse=True)


def run_id(arena_id: str, cell: str, seed: int, distance: int | None = None) -> str:
    """The id of a contender's run: ``<arena>-<cell>-s<seed>``, ``-d<D>`` before the seed in the probe."""
    return f"{arena_id}-{cell}" + (f"-d{distance}" if distance is not None else "") + f"-s{seed}"


def mean_sd(values: list[float]) -> dict[str, Any]:
    """``{"mean", "sd", "n"}``: the sample standard deviation (None below two values)."""
    if not values:
        return {"mean": None, "sd": None, "n": 0}
    return {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else None,
            "n": len(values)}


def run_result(path: Path) -> dict[str, Any]:
    """What the table needs from one run's files: its state, whether it ended (an ``end`` record:
    not killed, not still training), parameters, best validation loss (and
    accuracy), mean tokens/s and validation curve ``[[elapsed s, val_loss], …]``. A run that was
    never created reads ``missing``."""
    run = RunDir(path)
    if not run.config_path.is_file():
        return {"state": "missing", "ended": False, "params": None, "best_val_loss": None, "best_val_acc": None,
                "tokens_per_s": None, "curve": []}
    metrics = run.read_metrics()
    start = [m for m in metrics if m["event"] == "start"]
    vals = [m for m in metrics if m["event"] == "val"]
    rates = [m["tokens_per_s"] for m in metrics if m["event"] == "train"]
    losses = [v["val_loss"] for v in vals]
    accs = [v["val_acc"] for v in vals if "val_acc" in v]
    return {"state": run.read_status().get("state"), "ended": any(m["event"] == "end" for m in metrics),
            "params": start[-1].get("params") if start else None,
            "best_val_loss": min(losses) if losses else None, "best_val_acc": max(accs) if accs else None,
            "tokens_per_s": statistics.fmean(rates) if rates else None,
            "curve": [[v["elapsed"], v["val_loss"]] for v in vals]}


def time_to(curve: list[list[float]], target: float) -> float | None:
    """Training seconds to the first validation at or below ``target`` (None: never reached)."""
    return next((elapsed for elapsed, loss in curve if loss <= target + 1e-12), None)


def arena_state(plan: dict[str, Any]) -> str:
    """``running``, ``finished``, ``stopped`` (Ctrl-C) or ``interrupted`` (its process is gone
    without saying so: killed, or the machine went down)."""
    state = plan.get("state")
    if state == "running" and not pid_alive(plan.get("pid")):
        return "interrupted"
    return state if isinstance(state, str) else "unknown"


def arena_table(arena: ArenaDir, target_loss: float | None = None) -> dict[str, Any]:
    """The arena's table, from its files. Per cell, over the seeds' finished runs: mean ± sd of the
    best validation loss, the parameters, tokens/s and the training seconds to ``target_loss``
    (default: the one stored with the arena, else the highest best validation loss of any finished
    run — a loss every finished run reached, so each has a time); the memory probe instead gives
    each cell's accuracy at each distance and the longest distance bridged. ``missing`` lists the
    planned runs that did not finish, with their state."""
    plan = arena.read()
    runs = [{**entry, **run_result(arena.root / entry["run"])} for entry in plan["runs"]]
    done = [r for r in runs if r["state"] == DONE and r["best_val_loss"] is not None]
    cells = [c for c in plan.get("cells", []) if isinstance(c, str)] or sorted({r["cell"] for r in runs})
    table: dict[str, Any] = {
        "arena": arena.id, "path": str(arena.path), "state": arena_state(plan), "probe": plan.get("probe"),
        "task": plan.get("task"), "data": plan.get("data"), "budget": plan.get("budget"), "seeds": plan.get("seeds"),
        "params_target": plan.get("params_target") or None,
        "runs": [{k: r.get(k) for k in ("run", "cell", "hidden", "seed", "distance", "state", "params", "best_val_loss",
                                         "best_val_acc", "tokens_per_s", "ended", "curve")} for r in runs],
        "missing": [{"run": r["run"], "cell": r["cell"], "state": r["state"]} for r in runs if r not in done],
    }
    if plan.get("probe") == "memory":
        threshold = plan.get("threshold", 0.9)
        table["threshold"] = threshold
        table["rows"] = [_probe_row(plan, cell, [r for r in runs if r["cell"] == cell], threshold) for cell in cells]
        return table
    target = target_loss if target_loss is not None else plan.get("target_loss")
    source = "given" if target is not None else "the highest best validation loss of the finished runs"
    if target is None and done:
        target = max(r["best_val_loss"] for r in done)
    table["target_loss"], table["target_source"] = target, source
    table["rows"] = [_row(plan, cell, [r for r in runs if r["cell"] == cell], [r for r in done if r["cell"] == cell], target)
                     for cell in cells]
    return table


def _row(plan: dict[str, Any], cell: str, runs: list[dict], done: list[dict], target: float | None) -> dict[str, Any]:
    times = [time_to(r["curve"], target) for r in done] if target is not None else []
    return {"cell": cell, "hidden": (plan.get("hidden") or {}).get(cell),
            "params": next((r["params"] for r in done + runs if r["params"] is not None), None),
            "best_val_loss": mean_sd([r["best_val_loss"] for r in done]),
            "tokens_per_s": mean_sd([r["tokens_per_s"] for r in done if r["tokens_per_s"] is not None]),
            "time_to_target": {**mean_sd([t for t in times if t is not None]), "reached": sum(t is not None for t in times)},
            "finished": len(done), "planned": len(runs), "runs": [r["run"] for r in runs]}


def _probe_row(plan: dict[str, Any], cell: str, runs: list[dict], threshold: float) -> dict[str, Any]:
    """One cell in the memory probe: its mean best validation accuracy at each distance tried,
    and the longest distance bridged (every distance up to it at or above ``threshold``). A
    distance is decided once all its runs ended; ``concluded``: the search for this cell is over
    (a distance failed, or the longest planned one was bridged)."""
    distances = []
    longest, failed = 0, None
    for distance in sorted({r["distance"] for r in runs if isinstance(r.get("distance"), int)}):
        at = [r for r in runs if r.get("distance") == distance]
        accs = [r["best_val_acc"] for r in at if r["state"] == DONE and r["best_val_acc"] is not None]
        score = mean_sd(accs)
        ended = all(r["ended"] for r in at)  # a run that diverged ended too: it did not bridge
        bridged = ended and len(accs) == len(at) and score["mean"] >= threshold
        distances.append({"distance": distance, "accuracy": score, "bridged": bridged, "ended": ended,
                          "runs": [r["run"] for r in at]})
        if failed is None and bridged:
            longest = distance
        elif failed is None and ended:
            failed = distance
    planned = plan.get("distances") or [0]
    return {"cell": cell, "hidden": (plan.get("hidden") or {}).get(cell),
            "params": next((r["params"] for r in runs if r["params"] is not None), None),
            "longest": longest, "failed_at": failed, "concluded": failed is not None or longest == planned[-1],
            "distances": distances, "runs": [r["run"] for r in runs]}


def now_plan_fields() -> dict[str, Any]:
    """The fields that say who writes the arena and since when."""
    return {"kind": ARENA_KIND, "version": ARENA_VERSION, "pid": os.getpid(), "created": time.time()}


# -- the table as text (the `arena` commands print it, the Lab shows its cells) ---------------


def _pm(stat: dict[str, Any], fmt: str) -> str:
    """``mean ± sd`` (or just the mean of one value; ``-`` for none)."""
    if stat["mean"] is None:
        return "-"
    return format(stat["mean"], fmt) + (f" ± {format(stat['sd'], fmt)}" if stat["sd"] is not None else "")


def table_lines(table: dict[str, Any]) -> list[str]:
    """The table as text lines (what `rnn-tui arena` and `arena show` print)."""
    budget = table.get("budget") or {}
    spent = " / ".join(f"{budget[k]:g} {unit}" for k, unit in (("time", "s"), ("steps", "steps"), ("epochs", "epochs"))
                       if budget.get(k))
    seeds = table.get("seeds") or []
    head = (f"arena {table['arena']} · {table['data']} ({table['task']}) · {spent or 'no budget'} × "
            f"{len(seeds)} seed(s) {', '.join(map(str, seeds))} · {table['state']}")
    if table.get("params_target"):
        head += f" · equal parameters ≈ {table['params_target']:,}"
    lines = [head]
    if table.get("probe") == "memory":
        lines[0] = "memory probe " + head.removeprefix("arena ")
        lines.append(f"bridged: mean best validation accuracy over the seeds ≥ {table['threshold']:.0%} (chance 12.5%)")
        header, rows = table_cells(table)
        for c in [header, *rows]:
            lines.append(f"{c[0]:<14} {c[1]:>6} {c[2]:>10}  {c[3]:>7}  {c[4]}")
    else:
        target = table.get("target_loss")
        header, rows = table_cells(table)
        for c in [header, *rows]:
            lines.append(f"{c[0]:<14} {c[1]:>6} {c[2]:>10}  {c[3]:>16}  {c[4]:>17}  {c[5]:>22}  {c[6]}")
        if target is not None:
            lines.append(f"target loss {target:.4g}: {table['target_source']}")
    for row in table["rows"]:
        if row["runs"]:
            lines.append(f"{row['cell']} runs: {', '.join(row['runs'])}")
    if table["missing"]:
        lines.append("not finished: " + ", ".join(f"{m['run']} ({m['state']})" for m in table["missing"]))
    return lines


def table_cells(table: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """The table's column names and one row of cells per cell, as text (printed by ``table_lines``,
    shown in the app's Lab tab)."""
    if table.get("probe") == "memory":
        rows = []
        for row in table["rows"]:
            accs = "  ".join(f"{d['distance']}: " + (f"{d['accuracy']['mean']:.1%}" if d["accuracy"]["mean"] is not None
                                                       else "-") for d in row["distances"])
            longest = f"{row['longest']}" + ("" if row["concluded"] else "+?")
            rows.append([row["cell"], str(row["hidden"] or "?"), _count(row["params"]), longest, accs])
        return ["cell", "hidden", "params", "longest", "accuracy at distance"], rows
    target = table.get("target_loss")
    to = f"s to {target:.4g}" if target is not None else "s to target"
    rows = []
    for row in table["rows"]:
        t = row["time_to_target"]
        reached = f"{_pm(t, '.1f')} ({t['reached']}/{row['finished']})" if row["finished"] else "-"
        rows.append([row["cell"], str(row["hidden"] or "?"), _count(row["params"]), _pm(row["best_val_loss"], ".4f"),
                     _pm(row["tokens_per_s"], ",.0f"), reached, f"{row['finished']}/{row['planned']}"])
    return ["cell", "hidden", "params", "best val loss", "tokens/s", to, "runs"], rows


def _count(n: int | None) -> str:
    return f"{n:,}" if n is not None else "?"
