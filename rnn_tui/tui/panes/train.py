"""The Train pane: the model/training form, live curves, samples, and run controls."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.lazy import Lazy
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Collapsible, RichLog, Static

from rnn_tui.config import Config
from rnn_tui.errors import RnnTuiError
from rnn_tui.options import SettingError
from rnn_tui.runs.records import SampleEvent
from rnn_tui.tui.history import RunHistory
from rnn_tui.tui.widgets.plot import LinePlot, Series
from rnn_tui.tui.widgets.setting_fields import SettingFields, config_fields, more_title, show_task

COLORS = ("#4e9fd6", "#e8a33d", "#6cc26c", "#d16ba5", "#a38fe0", "#c9c94a")
FORM_SECTIONS = ("model", "train")  # the data settings are the Data tab's
# the second plot's curves (v cycles them); val_*: from the validation records
SECOND_PLOT = ("grad_norm", "lr", "ppl", "tokens_per_s", "val_bleu", "val_acc", "val_f1", "val_rmse", "val_mae")
FIRST_SECOND = {"classify": "val_acc", "forecast": "val_rmse"}  # the curve when a run of this task is opened (else the first)
ERRORS = ("val_rmse", "val_mae")  # a forecaster's errors in the series' units: drawn beside its best baseline's


class TrainPane(Widget):
    BINDINGS = [
        Binding("s", "start", "Start", id="train.start"),
        Binding("p", "pause", "Pause/resume", id="train.pause"),
        Binding("x", "stop", "Stop", id="train.stop"),
        Binding("l", "set_lr", "Set lr", id="train.set_lr"),
        Binding("v", "cycle_plot", "Next curve", id="train.cycle_plot"),
    ]

    @dataclass
    class StartRequested(Message):
        config: Config

    @dataclass
    class ControlRequested(Message):
        cmd: str  # pause | resume | stop | set-lr (the app asks for the value)

    def __init__(self, config: Config, **kwargs) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.chosen_task = config.task  # the task chosen in the Data tab: the form shows its settings
        self.recommended_for = config.data.spec  # the dataset whose recommended settings the form took (or a run's)
        self.second = 0
        self.second_for: str | None = None  # the run whose task chose the second plot's curve
        first, rest = config_fields(config, FORM_SECTIONS)
        values = {**config.values(), **form_recommended(config.data.spec)}
        self.first_fields = SettingFields(first, values, id="train-fields")
        # mounted just after the first frame: ~25 fields nobody sees at start cost ~0.4 s there
        self.more_fields = SettingFields(rest, values, id="train-more-fields")

    def compose(self) -> ComposeResult:
        with Horizontal():
            with VerticalScroll(id="train-form"):
                yield Static(task_line(self.chosen_task, self.config.data.spec), id="train-task")
                yield self.first_fields
                yield Static("", id="form-error")
                yield Button("Start training (s)", id="start", variant="primary", compact=True)
                with Collapsible(title=more_title(len(self.more_fields.fields)), id="train-more"):
                    yield Lazy(self.more_fields)
            with Vertical(id="train-main"):
                yield Static("No run yet: press s to train on the dataset chosen in Data.", id="run-status")
                yield LinePlot("loss (nats/token)", id="loss-plot")
                yield LinePlot("grad norm", id="second-plot")
                yield RichLog(id="samples", wrap=True, markup=False, max_lines=400)

    # -- form --------------------------------------------------------------------------------------

    def read_config(self) -> Config:
        """The form as a validated Config (raises RnnTuiError with one line; a refused setting's
        field is marked, and the "more settings" open when it is in there)."""
        cfg = Config.from_dict(self.config.to_dict())
        cfg.task = self.chosen_task
        try:
            for fields in (self.first_fields, self.more_fields):
                cfg.assign(fields.values())
            return cfg.validate()
        except SettingError as exc:
            self.first_fields.mark_invalid(exc.name)
            if self.more_fields.mark_invalid(exc.name):
                self.query_one("#train-more", Collapsible).collapsed = False
            raise

    def load_config(self, cfg: Config) -> None:
        """Fill the form with a run's config (the app does this when a run is opened, and shows
        its data and task in the Data tab, which sets the form's task)."""
        self.config, self.recommended_for = cfg, cfg.data.spec
        values = cfg.values()
        for fields in (self.first_fields, self.more_fields):
            fields.set_values(values)

    def set_task(self, task: str, spec: str, chosen: bool = False) -> None:
        """The task and dataset chosen in the Data tab: the form shows the settings of ``task``
        (re-mounted; what is typed in the ones that stay is kept); ``chosen``: a dataset newly
        chosen there (not a run's, nor a stale preview's), whose recommended settings it takes."""
        self.query_one("#train-task", Static).update(task_line(task, spec))
        if chosen and spec != self.recommended_for:
            self.recommended_for = spec
            for fields in (self.first_fields, self.more_fields):
                fields.set_values(form_recommended(spec))
        if task == self.chosen_task:
            return
        self.chosen_task = task
        title = show_task(task, FORM_SECTIONS, self.first_fields, self.more_fields)
        self.query_one("#train-more", Collapsible).title = title

    def show_error(self, message: str) -> None:
        self.query_one("#form-error", Static).update(message)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "start":
            self.action_start()

    def action_start(self) -> None:
        try:
            cfg = self.read_config()
        except RnnTuiError as exc:
            self.show_error(str(exc))
            return
        self.show_error("")
        self.post_message(self.StartRequested(cfg))

    def action_pause(self) -> None:
        self.post_message(self.ControlRequested("pause"))

    def action_stop(self) -> None:
        self.post_message(self.ControlRequested("stop"))

    def action_set_lr(self) -> None:
        self.post_message(self.ControlRequested("set-lr"))

    def action_cycle_plot(self) -> None:
        """The next curve in the second plot, redrawn at once from the histories last shown (a
        finished run sends no more snapshots to redraw it)."""
        self.second = (self.second + 1) % len(SECOND_PLOT)
        self.show(*self._shown)

    # -- showing runs ----------------------------------------------------------------------------

    _shown: tuple[RunHistory | None, list[RunHistory]] = (None, [])  # the last show() arguments

    def show(self, current: RunHistory | None, overlays: list[RunHistory]) -> None:
        """Redraw from the histories (called by the app at most a few times a second)."""
        self._shown = (current, overlays)
        if current is not None and current.task is not None and current.run_id != self.second_for:
            self.second_for = current.run_id  # a newly opened run: the curve that suits its task (v cycles)
            self.second = SECOND_PLOT.index(FIRST_SECOND.get(current.task, SECOND_PLOT[0]))
        self.query_one("#second-plot", LinePlot).title = SECOND_PLOT[self.second].replace("_", " ")
        if current is None:
            return
        self.query_one("#loss-plot", LinePlot).title = loss_title(current)
        self.query_one("#run-status", Static).update(current.summary())
        runs = [current] + [h for h in overlays if h.run_id != current.run_id]
        loss, second = [], []
        key = SECOND_PLOT[self.second]
        for k, h in enumerate(runs):
            color = COLORS[k % len(COLORS)]
            tag = "" if k == 0 else f"{h.run_id} "
            xs = tuple(r["step"] for r in h.train)
            loss.append(Series(f"{tag}train", xs, tuple(r["loss"] for r in h.train), color))
            if h.val:
                loss.append(Series(f"{tag}val", tuple(r["step"] for r in h.val), tuple(r["val_loss"] for r in h.val),
                                   COLORS[(k + 3) % len(COLORS)]))  # its own colour: train and val stay apart
            records = h.val if key.startswith("val_") else h.train
            second.append(Series(f"{tag}{key}", tuple(r["step"] for r in records),
                                 tuple(_number(r.get(key)) for r in records), color))
            best = h.error_baseline(key) if key in ERRORS and k == 0 else None
            if best and records:  # a flat line: the error to beat
                steps = (records[0]["step"], records[-1]["step"])
                second.append(Series(f"{best[0]} (best baseline)", steps, (best[1], best[1]), "#8a8a8a"))
        self.query_one("#loss-plot", LinePlot).set_series(loss)
        self.query_one("#second-plot", LinePlot).set_series(second)

    def add_samples(self, history: RunHistory, samples: list[SampleEvent]) -> None:
        log = self.query_one("#samples", RichLog)
        for s in samples:
            log.write(f"── step {s['step']} · {history.run_id} ──")
            log.write(s.get("prime", "") + s["text"])

    def clear_samples(self) -> None:
        self.query_one("#samples", RichLog).clear()


def form_recommended(spec: str) -> dict[str, object]:
    """The settings recommended for the dataset ``spec`` that the form shows (data/builtin.py)."""
    from rnn_tui.data.spec import recommended

    return {key: value for key, value in recommended(spec).items() if key.split(".")[0] in FORM_SECTIONS}


def task_line(task: str, spec: str) -> Text:
    """The task and dataset Start trains on (both chosen in the Data tab)."""
    return Text.assemble((task, "bold"), " · ", spec, ("\ntask and data: tab 1", "dim"))


def loss_title(history: RunHistory) -> str:
    """The loss plot's title: per token, per text (a classifier), or a forecaster's error on the
    transformed values."""
    if history.task == "forecast":
        loss = history.config.train.loss if history.config is not None else "mse"
        return f"loss ({loss.upper()}, transformed values)"
    return f"loss (nats/{'text' if history.task == 'classify' else 'token'})"


def _number(value: object) -> float:
    """A metric as a plot's y: nan where the record has none (a gap in the curve)."""
    return float(value) if isinstance(value, (int, float)) else math.nan
