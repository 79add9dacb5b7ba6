"""What the app knows about each followed run, built only from follower snapshots."""

from __future__ import annotations

from dataclasses import dataclass, field

from rnn_tui.config import Config
from rnn_tui.runs.follower import RunSnapshot
from rnn_tui.runs.records import (
    Baseline,
    ControlEvent,
    EndEvent,
    SampleEvent,
    StartEvent,
    Status,
    TrainEvent,
    ValEvent,
    best_baseline,
    best_forecast_baseline,
    superseded,
)

DRAWN = {"train": ("step", "loss"), "val": ("step", "val_loss")}  # the keys a record needs to be a point of a curve
# what a run of each task is, and the tab that uses it (the key that opens it)
TASKS = {"lm": ("a language model", "Generate tab (4)"), "seq2seq": ("a translation run", "Translate tab (6)"),
         "classify": ("a classifier", "Classify tab (7)"), "forecast": ("a forecaster", "Forecast tab (8)")}
BASELINES = {"majority": "majority", "naive_bayes": "naive Bayes", "logreg": "bag-of-words",  # as the status line names them
             "persistence": "persistence", "seasonal_naive": "seasonal naive", "ar": "AR"}


@dataclass
class RunHistory:
    run_id: str
    path: str
    status: Status = field(default_factory=Status)
    train: list[TrainEvent] = field(default_factory=list)
    val: list[ValEvent] = field(default_factory=list)
    events: list[StartEvent | ControlEvent | EndEvent] = field(default_factory=list)
    samples: list[SampleEvent] = field(default_factory=list)
    checkpoint_step: int | None = None
    config: Config | None = None  # config.toml as last read (None: not read yet, or unreadable)
    config_error: str | None = None  # why config.toml could not be read
    polled: bool = False  # a snapshot was applied: until then nothing above is known

    def apply(self, snap: RunSnapshot) -> None:
        self.polled = True
        if snap.reset:
            self.train, self.val, self.events, self.samples = [], [], [], []
        self.status = snap.status.copy()
        self.checkpoint_step = snap.checkpoint_step
        if snap.config is not None or snap.config_error is not None:
            self.config, self.config_error = snap.config, snap.config_error
        # before the metrics: a start below may supersede some
        self.samples.extend(s.copy() for s in snap.new_samples if "step" in s and "text" in s)
        for record in snap.new_metrics:  # own copies: nothing shared with the snapshot
            if not all(key in record for key in DRAWN.get(record["event"], ())):
                continue  # a record written by hand may lack any key: one without its point is not drawn
            if record["event"] == "train":
                self.train.append(record.copy())
            elif record["event"] == "val":
                self.val.append(record.copy())
            else:
                if record["event"] == "start":
                    self._drop_superseded(record)
                self.events.append(record.copy())

    def _drop_superseded(self, start: StartEvent) -> None:
        """A resume (or a start over) discards the records of the steps after the one it starts from."""
        self.train = [r for r in self.train if not superseded(r, start)]
        self.val = [r for r in self.val if not superseded(r, start)]
        self.events = [r for r in self.events if not superseded(r, start)]
        self.samples = [r for r in self.samples if not superseded(r, start)]

    @property
    def task(self) -> str | None:
        """"lm", "seq2seq", "classify" or "forecast" (None until config.toml was read)."""
        return self.config.task if self.config is not None else None

    def other_task(self, *served: str) -> str | None:
        """None when this run's task is one of ``served`` (or not known yet); else one line saying
        what the run is and which tab uses it (a pane's line for a run it cannot use)."""
        if self.task is None or self.task in served:
            return None
        return task_line(self.run_id, self.task)

    @property
    def last_acc(self) -> ValEvent | None:
        """The latest validation record with an accuracy (classification runs)."""
        return next((r for r in reversed(self.val) if r.get("val_acc") is not None), None)

    def accuracy_text(self) -> str | None:
        """The latest validation accuracy beside the best baseline's, "84.1% (bag-of-words 82.2%)",
        and with an n-gram expert the recurrent network's alone, "85.0% (recurrent alone 84.1%,
        bag-of-words 82.2%)" (None: no accuracy yet): a model that does not beat its baselines
        shows as such."""
        val, best = self.last_acc, self.baseline
        if val is None:
            return None
        beside = ([f"recurrent alone {val['val_acc_alone']:.1%}"] if "val_acc_alone" in val else []) + (
            [f"{best[0]} {best[1]:.1%}"] if best else [])
        return f"{val['val_acc']:.1%}" + (f" ({', '.join(beside)})" if beside else "")

    @property
    def baselines(self) -> dict[str, Baseline]:
        """The baselines of the latest start record (a resume records them again)."""
        baselines: dict[str, Baseline] = {}
        for event in self.events:
            if event["event"] == "start":
                baselines = event.get("baselines", {})
        return baselines

    @property
    def baseline(self) -> tuple[str, float] | None:
        """A classifier's best baseline by validation accuracy (name, accuracy), from its start record."""
        best = best_baseline(self.baselines)
        return (BASELINES.get(best[0], best[0]), best[1]) if best else None

    def error_baseline(self, key: str = "val_rmse") -> tuple[str, float] | None:
        """A forecaster's best baseline by the error ``key`` (name, error), from its start record."""
        best = best_forecast_baseline(self.baselines, key)
        return (BASELINES.get(best[0], best[0]), best[1]) if best else None

    def rmse_text(self) -> str | None:
        """The latest validation RMSE beside the best baseline's, "23.1 (AR 16.2)" (None: no RMSE yet)."""
        val = next((r for r in reversed(self.val) if r.get("val_rmse") is not None), None)
        if val is None:
            return None
        best = self.error_baseline()
        return f"{val['val_rmse']:.4g}" + (f" ({best[0]} {best[1]:.4g})" if best else "")

    @property
    def last_bleu(self) -> ValEvent | None:
        """The latest validation record with a BLEU (translation runs)."""
        return next((r for r in reversed(self.val) if r.get("val_bleu") is not None), None)

    @property
    def state(self) -> str:
        return str(self.status.get("state", "?"))

    def summary(self) -> str:
        """One status line: state, step, epoch, losses, speed, ETA."""
        s = self.status
        parts = [f"{self.run_id}: {self.state}", f"step {s.get('step', 0)}", f"epoch {s.get('epoch', 0):.2f}"]
        if self.train:
            last = self.train[-1]
            parts.append(f"loss {last['loss']:.3f}")
            forecaster = self.task == "forecast"  # its loss is an error, not nats: no perplexity; it reads values
            for value, form in ((None if forecaster else last.get("ppl"), "ppl {:.2f}"),
                                (last.get("tokens_per_s"), "{:,.0f} values/s" if forecaster else "{:,.0f} tok/s"),
                                (last.get("lr"), "lr {:.2e}")):
                if value is not None:
                    parts.append(form.format(value))
            eta = last.get("eta_s")
            if eta is not None and self.state in ("running", "paused"):
                parts.append(f"ETA {_clock(eta)}")
        if self.val:
            parts.append(f"val {self.val[-1]['val_loss']:.3f}")
            if self.val[-1].get("val_bleu") is not None:
                parts.append(f"BLEU {self.val[-1]['val_bleu']:.1f}")
            if self.val[-1].get("val_acc") is not None:
                parts.append(f"acc {self.accuracy_text()}")
            if self.val[-1].get("val_rmse") is not None:
                parts.append(f"RMSE {self.rmse_text()}")
        if s.get("error"):
            parts.append(f"— {s['error']}")
        return " · ".join(parts)


def task_line(run_id: str, task: str) -> str:
    """What a run of ``task`` is and the tab that uses it, for a pane that cannot use it."""
    what, tab = TASKS.get(task, (f"a {task} run", "Train tab (2)"))
    return f"{run_id} is {what}: use the {tab}"


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"
