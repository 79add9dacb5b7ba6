"""The Textual app: tabs over a followed training process.

Threading rule (docs/architecture.md): only the run follower (a thread worker) reads run
directories; it posts small immutable snapshots. Listing runs, previewing data and launching a
trainer also happen in thread workers that only post messages. Message handlers update widgets.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Static, TabbedContent, TabPane

from rnn_tui import recipes
from rnn_tui.config import Config, DataConfig
from rnn_tui.errors import RnnTuiError
from rnn_tui.runs.follower import Follower
from rnn_tui.runs.rundir import LIVE_STATES, RunDir
from rnn_tui.tui.history import RunHistory
from rnn_tui.tui.messages import DataPreviewed, RunsListed, RunsUpdated, TrainerStarted, UserError
from rnn_tui.tui.model_cache import ModelCache
from rnn_tui.tui.panes.classify import ClassifyPane
from rnn_tui.tui.panes.data import DataPane, describe, task_of
from rnn_tui.tui.panes.forecast import ForecastPane
from rnn_tui.tui.panes.generate import GeneratePane
from rnn_tui.tui.panes.inspect import InspectPane
from rnn_tui.tui.panes.lab import LabPane, UnitsSection
from rnn_tui.tui.panes.runs import RunsPane
from rnn_tui.tui.panes.train import TrainPane
from rnn_tui.tui.panes.translate import TranslatePane
from rnn_tui.tui.screens.dialogs import HelpScreen, LrScreen, QuitScreen
from rnn_tui.tui.screens.recipes import RecipesScreen

MIN_SIZE = (60, 20)


def _unless_shut_down(handler):
    """For handlers of worker messages: a worker can post after the app began shutting down and
    removed the widgets the handler updates; such a late message is dropped."""

    @functools.wraps(handler)
    def handle(self, message):
        with contextlib.suppress(NoMatches):  # the widgets are already gone; the Pilot tests check every update lands
            handler(self, message)

    return handle


def default_config() -> Config:
    """What one key trains: real text (Python's own source), a model that visibly learns in a
    minute on a laptop CPU with the one thread an attached trainer gets."""
    cfg = Config()
    cfg.model.hidden, cfg.model.embed = 256, 64
    cfg.train.time, cfg.train.eval_interval, cfg.train.sample_interval = 300, 100, 100
    cfg.train.log_interval = 10
    return cfg


class RnnTuiApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "rnn-tui"
    # a too-small terminal gets a message instead of a squashed layout (app.tcss)
    HORIZONTAL_BREAKPOINTS = [(0, "-too-narrow"), (MIN_SIZE[0], "-wide-enough")]
    VERTICAL_BREAKPOINTS = [(0, "-too-short"), (MIN_SIZE[1], "-tall-enough")]
    BINDINGS = [
        Binding("1", "tab('data')", "Data", id="app.tab.data"),
        Binding("2", "tab('train')", "Train", id="app.tab.train"),
        Binding("3", "tab('inspect')", "Inspect", id="app.tab.inspect"),
        Binding("4", "tab('generate')", "Generate", id="app.tab.generate"),
        Binding("5", "tab('runs')", "Runs", id="app.tab.runs"),
        Binding("6", "tab('translate')", "Translate", id="app.tab.translate"),
        Binding("7", "tab('classify')", "Classify", id="app.tab.classify"),
        Binding("8", "tab('forecast')", "Forecast", id="app.tab.forecast"),
        Binding("9", "tab('lab')", "Lab", id="app.tab.lab"),
        Binding("f1", "help", "Help", id="app.help"),
        Binding("f2", "recipes", "Recipes", id="app.recipes"),
        Binding("escape", "leave_field", "Leave the field", show=False, id="app.leave_field"),
        Binding("ctrl+q", "quit_app", "Quit", id="app.quit", priority=True),
    ]

    def __init__(self, runs_root: Path, config: Config | None = None, open_run: str | None = None,
                 poll_interval: float = 0.25, list_interval: float = 2.0) -> None:
        super().__init__()
        self.runs_root = Path(runs_root)
        self.config = config or default_config()
        self.open_run = open_run
        self.poll_interval, self.list_interval = poll_interval, list_interval
        self.histories: dict[str, RunHistory] = {}
        self.current: str | None = None
        self.overlays: list[str] = []
        self.follower = Follower()
        self.follow_lock = threading.Lock()
        self.listed_once = False
        self.form_run: str | None = None  # the run whose config the Train form shows
        self.models = ModelCache()  # the checkpoints Inspect, Generate, Translate, Classify and Forecast share

    def compose(self) -> ComposeResult:
        from rnn_tui.data.builtin import BUILTINS
        from rnn_tui.data.spec import BUILTIN_PREFIX, resolve

        builtins = [resolve(BUILTIN_PREFIX + name) for name in BUILTINS]
        yield Header()
        with TabbedContent(initial="train"):
            with TabPane("Data", id="data"):
                yield DataPane(self.config.data, self.config.task, builtins)
            with TabPane("Train", id="train"):
                yield TrainPane(self.config)
            with TabPane("Inspect", id="inspect"):
                yield InspectPane(models=self.models)
            with TabPane("Generate", id="generate"):
                yield GeneratePane(models=self.models)
            with TabPane("Runs", id="runs"):
                yield RunsPane()
            with TabPane("Translate", id="translate"):
                yield TranslatePane(models=self.models)
            with TabPane("Classify", id="classify"):
                yield ClassifyPane(models=self.models)
            with TabPane("Forecast", id="forecast"):
                yield ForecastPane(models=self.models)
            with TabPane("Lab", id="lab"):
                yield LabPane(self.runs_root, models=self.models)
        yield Static(f"The terminal is too small: rnn-tui needs at least {MIN_SIZE[0]}×{MIN_SIZE[1]}.", id="too-small")
        yield Footer()

    def on_mount(self) -> None:
        self.preload()
        self.follow_runs()
        self.list_runs()
        self.query_one(DataPane).action_preview()
        if self.open_run:
            try:
                run = RunDir.open(self.open_run, self.runs_root)
            except RnnTuiError as exc:
                self.notify(str(exc), severity="error")
            else:
                self.open(run)
        self._focus_first("train")  # so the one key, s, starts training at once

    # -- workers: they only post messages -----------------------------------------------------------

    @work(thread=True, group="preload", exit_on_error=False)
    def preload(self) -> None:
        """Import torch (~1.6 s) off the UI thread after the first frame, before anyone needs it."""
        import rnn_tui.models.cells  # noqa: F401

    @work(thread=True, exclusive=True, group="follow", exit_on_error=False)
    def follow_runs(self) -> None:
        worker = self._current_worker()
        while not worker.is_cancelled:
            with self.follow_lock:
                snapshots = self.follower.poll()
            if snapshots:
                self.post_message(RunsUpdated(tuple(snapshots)))
            time.sleep(self.poll_interval)

    @work(thread=True, exclusive=True, group="list", exit_on_error=False)
    def list_runs(self) -> None:
        """The runs under the root, every ``list_interval``, for as long as the app runs.

        A run that cannot be read is a row that says so (RunDir.summary). A round that fails
        as a whole (the runs folder cannot be read, or anything unexpected) is told once, until
        its message changes or a round succeeds, and the listing goes on.
        """
        from rnn_tui.runs.rundir import list_runs

        worker = self._current_worker()
        told = None
        while not worker.is_cancelled:
            try:
                rows = [r.summary() for r in reversed(list_runs(self.runs_root))]
            except Exception as exc:  # this loop outlives any one round
                problem = str(exc) if isinstance(exc, RnnTuiError) else f"listing the runs failed: {type(exc).__name__}: {exc}"
                if problem != told:
                    self.post_message(UserError(problem))
                told = problem
            else:
                told = None
                self.post_message(RunsListed(tuple(rows)))
            for _ in range(max(1, int(self.list_interval / 0.1))):
                if worker.is_cancelled:
                    return
                time.sleep(0.1)

    @work(thread=True, exclusive=True, group="preview", exit_on_error=False)
    def preview_data(self, data: DataConfig, task: str, follow: bool) -> None:
        """The preview of ``data`` for ``task`` (``follow``: for the task its kind suggests); a
        newer request cancels this one, which then posts nothing."""
        from rnn_tui.data.spec import resolve

        info, error = None, None
        try:
            data.validate()
            source = resolve(data.spec, data.label_column, data.text_column)
            task = task_of(source, task) if follow else task
            info = describe(source, data, task)
        except RnnTuiError as exc:
            error = exc
        if not self._current_worker().is_cancelled:
            self.post_message(DataPreviewed(data, task, info, error, follow))

    @work(thread=True, group="launch", exit_on_error=False)
    def launch(self, cfg: Config, resume_path: str | None = None) -> None:
        from rnn_tui.runs.launcher import start_trainer
        from rnn_tui.train.tasks import check_data

        try:
            if resume_path:
                run = RunDir.open(resume_path)
            else:
                cfg.validate()  # the data settings too, as the Data tab last previewed them
                check_data(cfg)  # bad data is one line here, and leaves no failed run behind
                run = RunDir.create(self.runs_root, cfg)
            start_trainer(run)
        except RnnTuiError as exc:
            self.post_message(UserError(str(exc)))
            return
        self.post_message(TrainerStarted(run.id, str(run.path)))

    def _current_worker(self):
        from textual.worker import get_current_worker

        return get_current_worker()

    # -- following runs ---------------------------------------------------------------------------

    def open(self, run: RunDir, overlay: bool = False) -> None:
        with self.follow_lock:
            self.follower.follow(run)
        self.histories.setdefault(run.id, RunHistory(run.id, str(run.path)))
        if overlay and self.current and run.id != self.current:
            if run.id not in self.overlays:
                self.overlays.append(run.id)
        else:
            self.current = run.id
            self.show_title()
            self.query_one(TrainPane).clear_samples()
            history = self.histories[run.id]
            self.query_one(TrainPane).add_samples(history, history.samples)
            if history.polled:  # else its first snapshot, due within a poll, tells the panes
                self.current_changed(history)
        self.redraw()

    def current_changed(self, history: RunHistory) -> None:
        """What the app knows of the current run grew: Inspect, Generate, Translate, Classify, Forecast and the Lab follow it
        (a newer checkpoint is used from their next job), and the Train form (with the Data
        tab: its data and task) takes its config once per opened run (later, the user's edits stay)."""
        for pane in (self.query_one(InspectPane), self.query_one(GeneratePane), self.query_one(TranslatePane),
                     self.query_one(ClassifyPane), self.query_one(ForecastPane), self.query_one(LabPane)):
            pane.set_run(history)
        if history.config is not None and self.form_run != history.run_id:
            self.form_run = history.run_id
            self.query_one(DataPane).load(history.config.data, history.config.task)
            self.query_one(TrainPane).load_config(history.config)

    @on(RunsUpdated)
    @_unless_shut_down
    def runs_updated(self, message: RunsUpdated) -> None:
        pane = self.query_one(TrainPane)
        for snap in message.snapshots:
            history = self.histories.setdefault(snap.run_id, RunHistory(snap.run_id, snap.path))
            before = len(history.samples)
            history.apply(snap)
            if snap.run_id == self.current:
                pane.add_samples(history, history.samples if snap.reset else history.samples[before:])
                self.current_changed(history)
        self.redraw()

    def redraw(self) -> None:
        current = self.histories.get(self.current) if self.current else None
        self.query_one(TrainPane).show(current, [self.histories[r] for r in self.overlays if r in self.histories])
        runs = self.query_one(RunsPane)
        runs.show_rows(runs.rows, self.shown_runs())

    def shown_runs(self) -> dict[str, str]:
        """Which runs the Train tab draws: ● the open one, + the overlaid ones."""
        return {**{r: "+" for r in self.overlays}, **({self.current: "●"} if self.current else {})}

    @on(RunsListed)
    @_unless_shut_down
    def runs_listed(self, message: RunsListed) -> None:
        self.query_one(RunsPane).show_rows(list(message.rows), self.shown_runs())
        if not self.listed_once:
            self.listed_once = True
            live = [r for r in message.rows if r["state"] in LIVE_STATES]
            if live and self.current is None:
                self.open(RunDir(Path(live[0]["path"])))
                self.notify(f"reattached to {live[0]['id']} ({live[0]['state']})")

    @on(RunsPane.RunChosen)
    def run_chosen(self, message: RunsPane.RunChosen) -> None:
        run = RunDir(Path(message.path))
        if message.how == "resume":
            self.launch(self.config, resume_path=message.path)
            return
        self.open(run, overlay=message.how == "overlay")
        self.action_tab("train")

    # -- data -------------------------------------------------------------------------------------

    @on(DataPane.PreviewRequested)
    def preview_requested(self, message: DataPane.PreviewRequested) -> None:
        self.preview_data(message.data, message.task, message.follow)

    @on(DataPreviewed)
    @_unless_shut_down
    def data_previewed(self, message: DataPreviewed) -> None:
        """What Start trains on from now: the data and task last previewed, even when they do not
        fit (Start then says why, in the same line, and starts nothing)."""
        self.query_one(DataPane).show_preview(message.data, message.task, message.info, message.error)
        self.config.data, self.config.task = message.data, message.task
        chosen = message.follow and self.query_one(TabbedContent).active == "data"  # by the user, not a run opening
        self.query_one(TrainPane).set_task(message.task, message.data.spec, chosen=chosen)
        self.show_title()

    def show_title(self) -> None:
        """The header names the opened run (its id names its cell and data); with none open, the
        data Start trains on (a file by its name, and what the task reads it with)."""
        if self.current:
            self.sub_title = f"run: {self.current}"
            return
        data = self.config.data
        how = {"seq2seq": f"{data.src_tokenizer} → {data.tgt_tokenizer}",  # what the task reads the data with
               "forecast": f"column {data.column}" if data.column else "a series"}.get(self.config.task, data.tokenizer)
        self.sub_title = f"data: {Path(data.spec).name} ({how})"

    # -- training ---------------------------------------------------------------------------------

    @on(TrainPane.StartRequested)
    def start_requested(self, message: TrainPane.StartRequested) -> None:
        cfg = message.config
        cfg.task, cfg.data = self.config.task, self.config.data
        self.config = cfg
        self.notify(f"starting a {cfg.model.cell} {cfg.model.layers}×{cfg.model.hidden} on {cfg.data.spec}")
        self.launch(cfg)

    @on(UnitsSection.UnitChosen)
    def unit_chosen(self, message: UnitsSection.UnitChosen) -> None:
        """A unit chosen in the Lab: Inspect, on that layer, vector and unit."""
        self.action_tab("inspect")
        self.query_one(InspectPane).select_unit(message.layer, message.vector, message.unit)

    @on(TrainerStarted)
    def trainer_started(self, message: TrainerStarted) -> None:
        self.open(RunDir(Path(message.path)))

    @on(UserError)
    def user_error(self, message: UserError) -> None:
        self.notify(message.message, severity="error", timeout=8)

    @on(TrainPane.ControlRequested)
    def control_requested(self, message: TrainPane.ControlRequested) -> None:
        history = self.histories.get(self.current) if self.current else None
        if history is None or history.state not in LIVE_STATES:
            self.notify("no training is running; press s to start one, or r on a run in Runs to resume it")
            return
        run = RunDir(Path(history.path))
        cmd = message.cmd
        if cmd == "pause" and history.state == "paused":
            cmd = "resume"
        if cmd == "set-lr":
            lr = history.train[-1].get("lr") if history.train else None

            def apply(value: float | None) -> None:
                if value is not None:
                    run.send("set-lr", lr=value)
                    self.notify(f"learning rate → {value:g}")

            self.push_screen(LrScreen(lr), apply)
            return
        run.send(cmd)
        self.notify(f"{cmd} sent to {run.id}")

    # -- app actions ------------------------------------------------------------------------------

    def action_tab(self, name: str) -> None:
        # Focus left inside the old pane would pull TabbedContent straight back to it: move it first.
        self.set_focus(None)
        tabs = self.query_one(TabbedContent)
        tabs.active = name
        self._focus_first(name)  # now, not after a refresh: keys typed straight after the tab's
        # number are already queued behind it, and must reach the tab's widget

    # where focus goes on entering a tab: the widget its keys act on (digits still switch tabs
    # from there; inside a text input they type, and tab / ctrl+p get out)
    FOCUS_ON_ENTER = {"data": "#d-builtin", "train": "#start", "inspect": "InspectPane", "generate": "Input",
                      "runs": "#runs-table",
                      "translate": "#tr-source", "classify": "#cl-text", "forecast": "#fc-chart",
                      "lab": "LabPane"}

    def _focus_first(self, name: str) -> None:
        """Focus the tab's widget without scrolling to it: a tab opens at its top (the Train form
        at 80×24 would otherwise open scrolled to its Start button, hiding the cell and size)."""
        found = self.query_one(TabbedContent).get_pane(name).query(self.FOCUS_ON_ENTER[name])
        if found:
            self.set_focus(found.first(), scroll_visible=False)

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        """The palette's "Screenshot" (an SVG of the screen) lands in the current directory:
        Textual's default, ~/Downloads, is missing on many servers and containers."""
        return super().deliver_screenshot(filename, path or os.getcwd(), time_format)

    def action_leave_field(self) -> None:
        """esc in a text field leaves it, so the tab keys (1–9) work again (a pane's own esc, such
        as Generate's stop, comes first)."""
        if isinstance(self.focused, Input):
            self.set_focus(None)

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_recipes(self) -> None:
        try:
            shipped = recipes.shipped()
        except RnnTuiError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return
        self.push_screen(RecipesScreen(shipped), self.recipe_chosen)

    def recipe_chosen(self, recipe: recipes.Recipe | None) -> None:
        """A recipe from the Recipes screen: its data in the Data tab, its settings in the Train
        form, and a run started with them; or one line saying why not."""
        if recipe is None:
            return
        why = f"recipe {recipe.name} runs `rnn-tui {recipe.command[0]}`, not a training: run " \
              f"`rnn-tui recipe run {recipe.name}` in a shell" if not recipe.trains else recipes.missing_data(recipe)
        if why:
            self.notify(why, severity="error", timeout=10)
            return
        cfg = recipe.config()
        self.query_one(DataPane).load(cfg.data, cfg.task)
        train = self.query_one(TrainPane)
        train.set_task(cfg.task, cfg.data.spec)
        train.load_config(cfg)
        self.config = cfg
        self.action_tab("train")
        self.notify(f"recipe {recipe.name}: expected {recipe.expected.text() or recipe.expected.see}")
        self.launch(recipe.config())  # its own copy: the Data tab's preview replaces self.config's data as it lands

    def live_runs(self) -> list[RunHistory]:
        return [h for h in self.histories.values() if h.state in LIVE_STATES]

    def action_quit_app(self) -> None:
        live = self.live_runs()
        if not live:
            self.exit()
            return

        def chosen(choice: str | None) -> None:
            if choice == "stop":
                for h in live:
                    RunDir(Path(h.path)).send("stop")
                self.exit()
            elif choice == "leave":
                self.exit()

        self.push_screen(QuitScreen([h.run_id for h in live]), chosen)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Data", "Choose and preview a dataset", lambda: self.action_tab("data"))
        yield SystemCommand("Train", "Curves and samples of the current run", lambda: self.action_tab("train"))
        yield SystemCommand("Inspect", "Step through a sequence: h, c and every gate", lambda: self.action_tab("inspect"))
        yield SystemCommand("Generate", "Sample text from the current run, or score a text", lambda: self.action_tab("generate"))
        yield SystemCommand("Runs", "Every run under the runs folder", lambda: self.action_tab("runs"))
        yield SystemCommand("Translate", "Translate a sentence with a seq2seq run: n-best and attention",
                            lambda: self.action_tab("translate"))
        yield SystemCommand("Classify", "Classify a text with a classification run: a bar per class",
                            lambda: self.action_tab("classify"))
        yield SystemCommand("Forecast", "Plot a forecasting run's test forecasts, the baselines' and the next values",
                            lambda: self.action_tab("forecast"))
        yield SystemCommand("Lab", "Gradients through time, an arena's table and curves, units that track structure",
                            lambda: self.action_tab("lab"))
        yield SystemCommand("Start training", "Train the model in the form on the chosen data",
                            lambda: self.query_one(TrainPane).action_start())
        yield SystemCommand("Pause / resume training", "Pause or resume the current run",
                            lambda: self.query_one(TrainPane).action_pause())
        yield SystemCommand("Stop training", "Stop the current run (it saves a checkpoint)",
                            lambda: self.query_one(TrainPane).action_stop())
        yield SystemCommand("Set learning rate", "Change the running run's learning rate",
                            lambda: self.query_one(TrainPane).action_set_lr())
        yield SystemCommand("Recipes", "The classic experiments: pick one, and it trains with its settings",
                            self.action_recipes)
        yield SystemCommand("Help", "Keys and the equations as implemented", self.action_help)


def run_app(runs_root: Path, data_spec: str | None = None, open_run: str | None = None) -> None:
    config = default_config()
    if data_spec:
        config.data.spec = data_spec
    RnnTuiApp(runs_root, config, open_run=open_run).run()


