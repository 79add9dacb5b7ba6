"""A fair arena: several cells trained on the same split, tokens, budget and seeds, one after another.

Each contender is a normal run (``prepare`` + ``RunDir.create`` + ``train_run``, the code path of
`rnn-tui train`), trained in this process one at a time so that every run has the same CPU; the
runs are grouped by ``runs/arena.py`` (arena.json), which also computes the table from their
files. A run that diverges ends ``failed`` and the arena goes on; Ctrl-C (SIGINT/SIGTERM) stops
the run in progress (its checkpoint kept, like `rnn-tui train`) and the arena.

Equal-parameter mode picks each cell's hidden size so that its model's parameter count comes
closest to a target: the count is a quadratic in the hidden size (the recurrent matrices are
hidden × hidden), read off the real model built at hidden 1, 2 and 3, so no formula is written
twice. The memory probe trains the classifier on ``builtin:recall-D`` (data/builtin.py) at
D = 4, 8, 16, … and stops a cell at the first distance its mean validation accuracy falls below
the threshold. torch is imported inside the functions (`rnn-tui arena --help` reads the settings).
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnn_tui.config import CELL_NAMES, Config
from rnn_tui.data.builtin import RECALL_MAX_DISTANCE
from rnn_tui.errors import RnnTuiError
from rnn_tui.options import SettingError, check, setting
from rnn_tui.runs.arena import ArenaDir, arena_table, now_plan_fields, run_id
from rnn_tui.runs.records import EndEvent, Event
from rnn_tui.runs.rundir import RunDir

PROBES = ("none", "memory")
FIRST_DISTANCE = 4
HIDDEN_MAX = 8192  # the declared bound of --hidden

Watch = Callable[[RunDir], AbstractContextManager[Callable[[Event], None]]]  # a run -> its on_event while it trains


@dataclass(frozen=True)
class ArenaSettings:
    """What an arena compares, besides the training settings every contender shares."""

    cells: str = setting("rnn,gru,lstm", "The contenders' cells, comma-separated.")
    params: int = setting(0, "Equal-parameter mode: each cell's hidden size is chosen so that its parameter count comes "
                             "closest to N (0: off, every cell gets --hidden).", label="parameters per contender",
                          hint="0 = off", lo=0, hi=1e10)
    seeds: int = setting(3, "Runs per contender, seeded --seed, --seed + 1, …", label="seeds", lo=1, hi=1000)
    target_loss: float | None = setting(None, "The validation loss whose time to reach is compared (none: the highest "
                                              "best validation loss of the finished runs, a loss every one of them "
                                              "reached).", label="target loss", kind=float, optional=True, lo=0.0)
    probe: str = setting("none", "memory: instead of --data, the recall task builtin:recall-D (a key, D random digits, "
                                 "then ?: name the key) at D = 4, 8, 16, … for each cell until its mean validation "
                                 "accuracy falls below the threshold: the longest distance it bridges in the budget.",
                         choices=PROBES)
    threshold: float = setting(0.9, "Memory probe: the mean validation accuracy over the seeds at which a distance "
                                    "counts as bridged (chance is 1/8).", lo=0.0, lo_open=True, hi=1.0)
    max_distance: int = setting(256, "Memory probe: the longest distance tried.", label="longest distance",
                                lo=FIRST_DISTANCE, hi=RECALL_MAX_DISTANCE)

    def __post_init__(self) -> None:
        check(self)
        cells = self.cell_list()
        unknown = [c for c in cells if c not in CELL_NAMES]
        if not cells or unknown:
            raise SettingError(f"cells must be among {', '.join(CELL_NAMES)}, comma-separated; got {self.cells!r}",
                               "cells", "cells")
        if len(set(cells)) < len(cells):
            raise SettingError(f"cells name one twice; got {self.cells!r}", "cells", "cells")

    def cell_list(self) -> list[str]:
        return [c.strip() for c in self.cells.split(",") if c.strip()]

    def distances(self) -> list[int]:
        """The memory probe's distances: FIRST_DISTANCE, doubled while at most max_distance."""
        out = [FIRST_DISTANCE]
        while out[-1] * 2 <= self.max_distance:
            out.append(out[-1] * 2)
        return out


def check_budget(cfg: Config) -> None:
    """An arena compares runs at the same budget: one must be set."""
    t = cfg.train
    if not (t.time or t.steps or t.epochs):
        raise RnnTuiError("an arena needs a budget every contender gets: --time SECONDS (or --steps N, --epochs N)")


def probe_config(cfg: Config, distance: int) -> Config:
    """``cfg`` made a run of the memory probe at ``distance``: classify builtin:recall-D, whole texts."""
    probe = _copy(cfg)
    probe.task, probe.data.spec, probe.data.max_tokens = "classify", f"builtin:recall-{distance}", 0
    return probe


def contender_configs(cfg: Config, settings: ArenaSettings) -> tuple[dict[str, Config], dict[str, int | None]]:
    """Each cell's config (its hidden size chosen in equal-parameter mode), validated, and the
    parameter count of each (None unless counted for equal-parameter mode). Writes nothing."""
    configs = {}
    for cell in settings.cell_list():
        variant = _copy(cfg)
        variant.model.cell = cell
        configs[cell] = variant.validate()
    counts: dict[str, int | None] = dict.fromkeys(configs)
    if settings.params:
        if cfg.model.tie_weights and cfg.task == "lm":
            raise RnnTuiError("--params chooses the hidden size, and tied weights fix it to the embedding size; "
                              "drop --tie-weights")
        counter = _ParamCounter(next(iter(configs.values())))
        for cell, variant in configs.items():
            variant.model.hidden, counts[cell] = counter.closest(variant, settings.params)
    return configs, counts


class _ParamCounter:
    """Parameter counts of the real models of a task, built at any hidden size on one data set."""

    def __init__(self, cfg: Config) -> None:
        from rnn_tui.train.tasks import TASKS

        self.task = TASKS[cfg.task](cfg, None)

    def count(self, cfg: Config, hidden: int) -> int:
        import torch

        variant = _copy(cfg)
        variant.model.hidden = hidden
        self.task.cfg = variant  # the task builds its model from its cfg; the data stays
        return self.task.build_model(torch.device("cpu")).num_params()

    def closest(self, cfg: Config, target: int) -> tuple[int, int]:
        """The hidden size whose model's parameter count is closest to ``target``, and that count."""
        p1, p2, p3 = (self.count(cfg, h) for h in (1, 2, 3))
        a = (p3 - 2 * p2 + p1) / 2  # p(h) = a h² + b h + c exactly
        b = p2 - p1 - 3 * a
        c = p1 - a - b
        if target < p1:
            raise RnnTuiError(f"--params {target:,} is below the smallest {cfg.model.cell} model here "
                              f"(hidden 1: {p1:,} parameters)")
        root = (-b + math.sqrt(b * b - 4 * a * (c - target))) / (2 * a) if a else (target - c) / b
        candidates = {min(max(h, 1), HIDDEN_MAX) for h in (math.floor(root), math.ceil(root))}
        hidden = min(candidates, key=lambda h: (abs(a * h * h + b * h + c - target), h))
        return hidden, self.count(cfg, hidden)


def run_arena(cfg: Config, settings: ArenaSettings, root: Path, name: str | None = None,
              watch: Watch | None = None, say: Callable[[str], None] | None = None) -> ArenaDir:
    """Train every contender of the arena one after another under ``root`` and return the arena.

    ``cfg`` holds the settings all contenders share (its seed is the first seed); ``watch(run)``
    gives each run's ``on_event`` while it trains, ``say`` a line before each run. Every config
    is checked and (equal-parameter mode) every hidden size chosen before anything is written.
    """
    from rnn_tui.train.tasks import check_data

    say = say or (lambda line: None)
    watch = watch or (lambda run: contextlib.nullcontext(lambda event: None))
    check_budget(cfg)
    probe = settings.probe == "memory"
    distances = settings.distances() if probe else []
    configs, counts = contender_configs(probe_config(cfg, distances[0]) if probe else cfg, settings)
    seeds = [cfg.train.seed + k for k in range(settings.seeds)]
    if not settings.params:  # (counting the parameters read it already)
        check_data(next(iter(configs.values())), fixed=None)  # data that cannot be trained on: one line, nothing written
    arena = ArenaDir.create(root, name)
    every_distance: list[int | None] = [*distances] or [None]
    ids = [run_id(arena.id, cell, seed, d) for cell in configs for seed in seeds for d in every_distance]
    taken = [i for i in ids if (Path(root) / i).exists()]
    if taken:
        arena.path.rmdir()
        raise RnnTuiError(f"a run {taken[0]!r} already exists in {root}; pick another --name for the arena")
    shared = next(iter(configs.values()))
    plan: dict[str, Any] = {
        **now_plan_fields(), "id": arena.id, "state": "running", "probe": settings.probe if probe else None,
        "task": shared.task, "data": "builtin:recall-D" if probe else shared.data.spec,
        "budget": {"time": cfg.train.time, "steps": cfg.train.steps, "epochs": cfg.train.epochs},
        "seeds": seeds, "cells": list(configs), "hidden": {c: v.model.hidden for c, v in configs.items()},
        "params_target": settings.params, "params": counts, "target_loss": settings.target_loss,
        "threshold": settings.threshold if probe else None, "distances": distances or None,
        "settings": {"cells": settings.cells, "seeds": settings.seeds, "params": settings.params},
        "config": cfg.to_dict(), "runs": [],
    }
    if not probe:
        plan["runs"] = [{"run": run_id(arena.id, cell, seed), "cell": cell, "hidden": configs[cell].model.hidden,
                         "seed": seed} for seed in seeds for cell in configs]
    arena.write(plan)
    stopping = _StopFlag()
    try:
        if probe:
            _probe(arena, plan, configs, seeds, distances, watch, say, stopping)
        else:
            for k, entry in enumerate(plan["runs"], start=1):
                say(f"[{k}/{len(plan['runs'])}] {entry['cell']} · hidden {entry['hidden']} · seed {entry['seed']}")
                if _contender(configs[entry["cell"]], entry, root, watch, say, stopping):
                    break
    finally:
        stopping.restore()
        plan["state"] = "stopped" if stopping.set else "finished"
        plan["ended"] = True
        arena.write(plan)
    return arena


def _probe(arena: ArenaDir, plan: dict[str, Any], configs: dict[str, Config], seeds: list[int], distances: list[int],
           watch: Watch, say: Callable[[str], None], stopping: _StopFlag) -> None:
    """The memory probe: every cell still bridging trains at each distance, then the table
    (arena_table: one rule for "bridged") drops the cells that fell below the threshold."""
    searching = list(configs)
    for distance in distances:
        for cell in searching:
            for seed in seeds:
                entry = {"run": run_id(arena.id, cell, seed, distance), "cell": cell,
                         "hidden": configs[cell].model.hidden, "seed": seed, "distance": distance}
                plan["runs"].append(entry)
                arena.write(plan)
                say(f"memory probe · {cell} · distance {distance} · seed {seed}")
                if _contender(probe_config(configs[cell], distance), entry, arena.root, watch, say, stopping):
                    return
        rows = {row["cell"]: row for row in arena_table(arena)["rows"]}
        searching = [cell for cell in searching if rows[cell]["failed_at"] is None]
        if not searching:
            return


def _contender(cfg: Config, entry: dict[str, Any], root: Path, watch: Watch, say: Callable[[str], None],
               stopping: _StopFlag) -> bool:
    """Train one contender's run; whether the arena must stop (a signal)."""
    from rnn_tui.train.trainer import prepare, train_run

    run_cfg = _copy(cfg)
    run_cfg.train.seed = entry["seed"]
    prepared = prepare(run_cfg)
    if stopping.set:
        return True
    run = RunDir.create(root, run_cfg, name=entry["run"])
    end: EndEvent | None = None
    try:
        with watch(run) as on_event:
            end = train_run(run, on_event=on_event, prepared=prepared)
    except RnnTuiError as exc:  # it diverged (or the disk filled): the run says so, the others go on
        say(f"{run.id} failed: {exc.message}")
    finally:
        stopping.install()  # the trainer's handlers replaced the arena's
    if end is not None and end.get("reason", "").startswith("stopped by signal"):
        stopping.set = True
    return stopping.set


class _StopFlag:
    """SIGINT/SIGTERM between runs: stop the arena (during a run the trainer's own handlers stop it)."""

    def __init__(self) -> None:
        self.set = False
        self.saved: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():  # elsewhere (tests) no signal handling
            self.saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        self.install()

    def install(self) -> None:
        def handler(signum: int, frame: Any) -> None:
            self.set = True

        for sig in self.saved:
            signal.signal(sig, handler)

    def restore(self) -> None:
        for sig, old in self.saved.items():
            signal.signal(sig, old)


def _copy(cfg: Config) -> Config:
    return Config.from_dict(cfg.to_dict())
