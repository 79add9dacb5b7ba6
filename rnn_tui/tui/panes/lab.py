"""The Lab pane: the lessons as measured results (issue 12), three sections (g, a, u).

- Gradients: the decay ‖∂L/∂h_{T−d}‖ / ‖∂L/∂h_T‖ over the distance d on a log scale
  (inspect/gradients.py), for the opened run's latest checkpoint (recomputed when a newer one
  appears, while the Lab is on screen) and for freshly initialised cells chosen in a small form,
  overlaid: rnn, lstm with forget bias 0 and 1 at first, the lesson in one picture.
- Arena: an arena's table (runs/arena.py, computed from its runs' files; the cells' text as
  `rnn-tui arena` prints it) and its contenders' validation curves, one colour per cell.
- Units: the units best correlated with structure in the text (inspect/correlate.py, when this
  build has it); choosing one posts UnitChosen, and the app opens Inspect on that unit.

Each section is a small widget with its own thread workers, which only post messages (the
results as plain data) that its handlers draw (docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, ContentSwitcher, DataTable, Input, Label, Select, Static, Tab, Tabs

from rnn_tui.config import CELL_NAMES, ModelConfig
from rnn_tui.errors import RnnTuiError
from rnn_tui.options import SettingError, check_value, parse_text, setting_of
from rnn_tui.tui.history import RunHistory
from rnn_tui.tui.jobs import Jobs, failure_line
from rnn_tui.tui.model_cache import ModelCache
from rnn_tui.tui.widgets.plot import LinePlot, Series

COLORS = ("#4e9fd6", "#e8a33d", "#6cc26c", "#d16ba5", "#a38fe0", "#c9c94a")
RUN_COLOR = "#e0e0e0"  # the opened run's curve, apart from the fresh cells'
STEPS, SEQUENCES = 100, 16  # T and the sequences averaged, as `rnn-tui gradients` by default
LESSON_D = 50  # the cursor starts at the distance of the "must hold" lessons


@dataclass(frozen=True)
class FreshCell:
    """What the form chose: a freshly initialised one-layer cell."""

    cell: str
    hidden: int
    init: str
    forget_bias: float

    @property
    def label(self) -> str:
        fb = f" fb{self.forget_bias:g}" if "lstm" in self.cell else ""
        init = "" if self.init == "default" else f" {self.init}"
        return f"{self.cell} {self.hidden}{init}{fb}"


# the first picture: the tanh RNN vanishes, an LSTM with forget bias 1 keeps far more than with 0
LESSON = (FreshCell("rnn", 64, "default", 0.0), FreshCell("lstm", 64, "default", 0.0),
          FreshCell("lstm", 64, "default", 1.0))


def fresh_report(spec: FreshCell) -> dict[str, Any]:
    """`rnn-tui gradients --cell …`'s report of a fresh cell (imports torch: a worker's job)."""
    from rnn_tui.inspect.gradients import UNIT_READOUT, fresh_cell, report

    rnn, x, u = fresh_cell(spec.cell, spec.hidden, STEPS, spec.init, spec.forget_bias, sequences=SEQUENCES)
    return report(rnn, x, u, UNIT_READOUT, "random N(0, 1) inputs")


def run_report(loaded: Any) -> dict[str, Any]:
    """`rnn-tui gradients RUN`'s report of a loaded run, on its own validation data."""
    from rnn_tui.inspect.gradients import report, run_inputs

    return report(*run_inputs(loaded, None, None, STEPS, SEQUENCES))


class GradientsSection(Jobs, can_focus=True):
    """The decay curves on a log scale, the form that adds a fresh cell, a reading per curve."""

    ERROR_ID = "lab-grad-error"
    BINDINGS = [
        Binding("left", "cursor(-1)", "d −", id="lab.d_prev"),
        Binding("right", "cursor(1)", "d +", id="lab.d_next"),
        Binding("shift+left", "cursor(-10)", "d −10", show=False, id="lab.d_prev10"),
        Binding("shift+right", "cursor(10)", "d +10", show=False, id="lab.d_next10"),
        Binding("up", "choose(-1)", "Curve ↑", id="lab.curve_up"),
        Binding("down", "choose(1)", "Curve ↓", id="lab.curve_down"),
        Binding("c", "clear", "Clear cells", id="lab.clear"),
    ]

    @dataclass
    class FreshReady(Message):
        spec: FreshCell
        result: dict[str, Any] | None  # None: failed, ``error`` says why
        error: str = ""

    @dataclass
    class RunReady(Message):
        job: int
        run_id: str
        step: int | None
        result: dict[str, Any]

    def __init__(self, models: ModelCache, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.models = models
        self.fresh: dict[FreshCell, dict[str, Any] | None] = {}  # in the order added; None while computed
        self.run: tuple[str, str, int | None] | None = None  # (run id, path, checkpoint step) to draw
        self.run_result: tuple[str, int | None, dict[str, Any]] | None = None  # (run id, step, report) drawn
        self.run_error = ""
        self.run_dirty = False  # the run's checkpoint moved while the Lab was not on screen
        self.on_screen = False
        self.d = LESSON_D
        self.chosen = 0  # the curve whose reading is shown (↑/↓)

    def compose(self) -> ComposeResult:
        init = setting_of(ModelConfig, "init").setting.choices
        with Horizontal():
            with Vertical(id="lab-grad-form"):
                yield Static("A fresh cell", classes="form-label")
                yield Label("cell")
                yield Select([(c, c) for c in CELL_NAMES], value="lstm", allow_blank=False, id="lab-cell", compact=True)
                yield Label("hidden units")
                yield Input("64", id="lab-hidden", compact=True)
                yield Label("initialisation")
                yield Select([(c, c) for c in init], value="default", allow_blank=False, id="lab-init", compact=True)
                yield Label("forget-gate bias")
                yield Input("1", id="lab-forget-bias", compact=True)
                yield Button("Add curve", id="lab-add", variant="primary", compact=True)
                yield Static("", id="lab-grad-error")
            with Vertical(id="lab-grad-main"):
                yield LinePlot(self._title(), log_y=True, x_format=lambda d: f"d={d:g}", id="lab-grad-plot")
                yield Static("", id="lab-grad-reading")

    # -- what to compute -------------------------------------------------------------------------

    def on_show(self) -> None:
        self.on_screen = True
        if not self.fresh:
            for spec in LESSON:
                self.add(spec)
        if self.run_dirty:
            self._start_run()

    def on_hide(self) -> None:
        self.on_screen = False

    def set_run(self, history: RunHistory | None) -> None:
        """The opened run (None: none, or no checkpoint yet): its latest checkpoint's curve,
        computed now when on screen, else when the Lab is shown next."""
        run = None if history is None or history.checkpoint_step is None else \
            (history.run_id, history.path, history.checkpoint_step)
        if run == self.run:
            return
        self.run = run
        if run is None:
            self.next_job()
            self.run_result, self.run_error, self.run_dirty = None, "", False
            self._draw()
            return
        self.run_dirty = True
        if self.on_screen:
            self._start_run()

    def _start_run(self) -> None:
        self.run_dirty = False
        if self.run is not None:
            self._run_curve(self.next_job(), *self.run)

    def add(self, spec: FreshCell) -> None:
        if spec in self.fresh:
            return
        self.fresh[spec] = None
        self.chosen = len(self.curves()) - 1  # the reading of the newest curve
        self._fresh_curve(spec)
        self._draw()

    @work(thread=True, group="lab-fresh", exit_on_error=False)
    def _fresh_curve(self, spec: FreshCell) -> None:
        try:
            self.post_message(self.FreshReady(spec, fresh_report(spec)))
        except Exception as exc:
            self.post_message(self.FreshReady(spec, None, failure_line(exc, "the fresh cell's gradients")))

    @work(thread=True, exclusive=True, group="lab-run-gradients", exit_on_error=False)
    def _run_curve(self, job: int, run_id: str, path: str, step: int | None) -> None:
        from textual.worker import get_current_worker

        with self.reporting(job, f"{run_id}'s gradients"):
            result = run_report(self.models.get(path, step))
            if not get_current_worker().is_cancelled:
                self.post_message(self.RunReady(job, run_id, step, result))

    @on(FreshReady)
    def fresh_ready(self, message: FreshReady) -> None:
        if message.spec not in self.fresh:  # cleared meanwhile
            return
        if message.result is None:
            del self.fresh[message.spec]
            self.show_error(message.error)
        else:
            self.fresh[message.spec] = message.result
        self._draw()

    @on(RunReady)
    def run_ready(self, message: RunReady) -> None:
        if self.is_current(message.job):
            self.run_result, self.run_error = (message.run_id, message.step, message.result), ""
            self._draw()

    def show_failure(self, line: str) -> None:
        """The run's curve failed (a run the gradients do not read): said where its reading goes."""
        self.run_result, self.run_error = None, line
        self._draw()

    # -- the form and keys ------------------------------------------------------------------------

    def read_form(self) -> FreshCell:
        """The form as a FreshCell, each field checked against its declared setting (one line, and
        the field marked, when refused)."""
        values: dict[str, Any] = {}
        for name, field in (("cell", "#lab-cell"), ("hidden", "#lab-hidden"), ("init", "#lab-init"),
                            ("forget_bias", "#lab-forget-bias")):
            widget = self.query_one(field)
            assert isinstance(widget, (Input, Select))
            widget.remove_class("-invalid")
            d = setting_of(ModelConfig, name)
            try:
                values[name] = parse_text(d, widget.value) if isinstance(widget, Input) else widget.value
                check_value(d, values[name])
            except SettingError:
                widget.add_class("-invalid")
                raise
        return FreshCell(**values)

    @on(Button.Pressed, "#lab-add")
    @on(Input.Submitted)
    def add_from_form(self) -> None:
        try:
            spec = self.read_form()
        except RnnTuiError as exc:
            self.show_error(str(exc))
            return
        self.show_error("")
        self.add(spec)

    def action_clear(self) -> None:
        """Forget the fresh cells' curves (the run's stays)."""
        self.fresh.clear()
        self._draw()

    def action_choose(self, delta: int) -> None:
        self.chosen = max(0, min(self.chosen + delta, len(self.curves()) - 1))
        self._draw()

    def action_cursor(self, delta: int) -> None:
        self.d = max(0, min(self.d + delta, STEPS - 1))
        self._draw()

    # -- drawing ----------------------------------------------------------------------------------

    def _title(self) -> str:
        return f"‖∂L/∂h_T−d‖ / ‖∂L/∂h_T‖ (log) · at d={self.d}:"

    def curves(self) -> list[tuple[str, str, dict[str, Any] | None, str]]:
        """(name, colour, report, what to say while there is none) of every curve, the run's first."""
        out: list[tuple[str, str, dict[str, Any] | None, str]] = []
        if self.run is not None:
            result = self.run_result[2] if self.run_result else None
            name = self.run[0] + (f" @{self.run_result[1]}" if self.run_result and self.run_result[1] is not None else "")
            out.append((name, RUN_COLOR, result, self.run_error or "computing…"))
        out += [(spec.label, COLORS[k % len(COLORS)], result, "computing…")
                for k, (spec, result) in enumerate(self.fresh.items())]
        return out

    def _draw(self) -> None:
        """The curves, each at the cursor's d in the legend, and the chosen one's reading."""
        plot = self.query_one("#lab-grad-plot", LinePlot)
        plot.title = self._title()
        series = []
        curves = self.curves()
        self.chosen = max(0, min(self.chosen, len(curves) - 1))
        for name, color, result, waiting in curves:
            ys = tuple(result["decay"]["mean"]) if result is not None else ()
            at = f"{ys[self.d]:.2e}" if self.d < len(ys) else "–" if result is not None else f"({waiting})"
            series.append(Series(name, tuple(range(len(ys))), ys, color, at))
        plot.set_series(series)
        plot.set_cursor(self.d)
        reading = Text()
        if curves:
            name, color, result, waiting = curves[self.chosen]
            reading.append(name, style=f"bold {color}")
            reading.append(f" ({self.chosen + 1}/{len(curves)}, ↑/↓): ", style="dim")
            reading.append(result["reading"] if result is not None else waiting)
        self.query_one("#lab-grad-reading", Static).update(reading)


NOTES = ("target loss ", "bridged: ", "not finished: ")  # table_lines' lines shown above the cells


class ArenaSection(Jobs, can_focus=True):
    """An arena chosen from those under the runs root: its table and its contenders' curves."""

    ERROR_ID = "lab-arena-error"
    REFRESH_S = 2.0  # a running arena's table grows as its runs finish

    @dataclass
    class ArenasListed(Message):
        arenas: tuple[str, ...]  # ids under the runs root, newest first

    @dataclass
    class TableReady(Message):
        job: int
        table: dict[str, Any]  # runs/arena.py arena_table

    def __init__(self, runs_root: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runs_root = Path(runs_root)
        self.arenas: tuple[str, ...] = ()
        self.table: dict[str, Any] | None = None
        self.on_screen = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="lab-arena-top"):
            yield Select[str]([], prompt="no arena yet: `rnn-tui arena` makes one", id="lab-arena-pick", compact=True)
            yield Static("", id="lab-arena-head")
        yield Static("", id="lab-arena-error")
        yield DataTable(id="lab-arena-table", cursor_type="row", zebra_stripes=True)
        yield LinePlot("validation loss over training seconds", x_format=lambda s: f"{s:.3g} s", id="lab-arena-plot")

    def on_mount(self) -> None:
        self.set_interval(self.REFRESH_S, self._tick)

    def on_show(self) -> None:
        self.on_screen = True
        self._tick()

    def on_hide(self) -> None:
        self.on_screen = False

    def _tick(self) -> None:
        """While on screen: list the arenas again, and read the chosen one's table again."""
        if self.on_screen:
            self._list(self.runs_root)
            self._refresh_table()

    def _refresh_table(self) -> None:
        chosen = self.query_one("#lab-arena-pick", Select).value
        if isinstance(chosen, str):
            self._table(self.next_job(), self.runs_root / chosen)

    @work(thread=True, exclusive=True, group="lab-arenas", exit_on_error=False)
    def _list(self, root: Path) -> None:
        from rnn_tui.runs.arena import list_arenas

        with self.reporting(self.job, "listing the arenas"):
            self.post_message(self.ArenasListed(tuple(a.id for a in list_arenas(root))))

    @work(thread=True, exclusive=True, group="lab-arena", exit_on_error=False)
    def _table(self, job: int, path: Path) -> None:
        from rnn_tui.runs.arena import ArenaDir, arena_table

        with self.reporting(job, "the arena's table"):
            self.post_message(self.TableReady(job, arena_table(ArenaDir(path))))

    @on(ArenasListed)
    def arenas_listed(self, message: ArenasListed) -> None:
        if message.arenas == self.arenas:
            return
        self.arenas = message.arenas
        pick = self.query_one("#lab-arena-pick", Select)
        chosen = pick.value
        pick.set_options([(a, a) for a in message.arenas])
        if isinstance(chosen, str) and chosen in message.arenas:
            pick.value = chosen
        elif message.arenas:
            pick.value = message.arenas[0]  # the newest

    @on(Select.Changed, "#lab-arena-pick")
    def arena_picked(self) -> None:
        self._refresh_table()

    @on(TableReady)
    def table_ready(self, message: TableReady) -> None:
        if self.is_current(message.job):
            self.show_error("")
            self.show_table(message.table)

    def show_table(self, table: dict[str, Any]) -> None:
        from rnn_tui.runs.arena import table_cells, table_lines

        self.table = table
        header, rows = table_cells(table)
        grid = self.query_one("#lab-arena-table", DataTable)
        if [str(c.label) for c in grid.columns.values()] != header:
            grid.clear(columns=True)
            grid.add_columns(*header)
        grid.clear()
        for cells in rows:
            grid.add_row(*cells, key=cells[0])
        lines = table_lines(table)  # what the table's cells leave out: the head, the target or threshold, what did not finish
        notes = [lines[0], *(line for line in lines if line.startswith(NOTES))]
        self.query_one("#lab-arena-head", Static).update(Text("\n".join(notes)))
        colors = {row["cell"]: COLORS[k % len(COLORS)] for k, row in enumerate(table["rows"])}
        series, seen = [], set()
        for run in table["runs"]:
            curve = run.get("curve") or []
            if not curve:
                continue
            first = run["cell"] not in seen
            seen.add(run["cell"])
            row = next(r for r in table["rows"] if r["cell"] == run["cell"]) if first else None
            note = f"({row['finished']}/{row['planned']} runs)" if row and "finished" in row else ""
            series.append(Series(run["cell"], tuple(c[0] for c in curve), tuple(c[1] for c in curve),
                                 colors.get(run["cell"], COLORS[0]), note, legend=first))
        self.query_one("#lab-arena-plot", LinePlot).set_series(series)


# -- units --------------------------------------------------------------------------------------

def unit_rows(report: Any) -> list[tuple[str, int, str, int, float, float]]:
    """(hypothesis, layer, vector, unit, r, p) of each hypothesis's best units: `rnn-tui units`'s
    report (inspect/correlate.py UnitsReport: hypotheses → units → layer, vector, unit, r, p)."""
    return [(h.name, u.layer, u.vector, u.unit, u.r, u.p) for h in report.hypotheses for u in h.units]


def unit_columns(rank: bool) -> tuple[str, ...]:
    """The units table's headers: its statistic is Spearman's ρ with ``rank``, else Pearson's r."""
    return ("hypothesis", "layer", "vector", "unit", "ρ" if rank else "r", "p")


class UnitsSection(Jobs, can_focus=True):
    """The units that track structure in the opened run's text; enter on a row opens Inspect on it."""

    ERROR_ID = "lab-units-error"
    BINDINGS = [Binding("f", "find", "Find units", id="lab.find_units"),
                Binding("r", "rank", "Pearson r ⇄ Spearman ρ", id="lab.units_rank")]

    @dataclass
    class UnitsReady(Message):
        job: int
        rows: list[tuple[str, int, str, int, float, float]]
        rank: bool  # the rows' statistic is Spearman's ρ (else Pearson's r)

    @dataclass
    class UnitChosen(Message):
        """Open Inspect on this unit (the app switches tabs)."""

        layer: int
        vector: str
        unit: int

    def __init__(self, models: ModelCache, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.models = models
        self.path: str | None = None
        self.step: int | None = None
        self.rows: list[tuple[str, int, str, int, float, float]] = []
        self.rank = False  # the next search ranks (`rnn-tui units --rank`)

    def compose(self) -> ComposeResult:
        yield Static("f: find the units of the opened run that track bracket depth, quotes, indentation… "
                     "enter on a row: open it in Inspect · r: Pearson's r ⇄ Spearman's ρ (for units that "
                     "track monotonically but saturate)", id="lab-units-help")
        yield Static("", id="lab-units-error")
        table: DataTable[str] = DataTable(id="lab-units-table", cursor_type="row", zebra_stripes=True)
        table.add_columns(*unit_columns(rank=False))
        yield table

    def set_run(self, history: RunHistory | None) -> None:
        self.path = history.path if history is not None else None
        self.step = history.checkpoint_step if history is not None else None

    def action_find(self) -> None:
        if self.path is None:
            self.show_error("no run: open a character-level language model in Runs first")
        else:
            self.show_error("finding units…")
            self._find(self.next_job(), self.path, self.step, self.rank)

    def action_rank(self) -> None:
        """Switch the statistic; the table, once found, is found again with the other."""
        self.rank = not self.rank
        if self.rows:
            self.action_find()
        else:
            self.show_error(f"the next search gives {'Spearman’s ρ' if self.rank else 'Pearson’s r'}")

    @work(thread=True, exclusive=True, group="lab-units", exit_on_error=False)
    def _find(self, job: int, path: str, step: int | None, rank: bool) -> None:
        from rnn_tui.api import as_lm
        from rnn_tui.inspect.correlate import analysis_text, find_units

        with self.reporting(job, "finding units"):
            loaded = as_lm(self.models.get(path, step))
            text, where = analysis_text(loaded)
            self.post_message(self.UnitsReady(job, unit_rows(find_units(loaded, text, where=where, rank=rank)), rank))

    @on(UnitsReady)
    def units_ready(self, message: UnitsReady) -> None:
        if self.is_current(message.job):
            self.show_error("")
            self.show_rows(message.rows, message.rank)

    def show_rows(self, rows: list[tuple[str, int, str, int, float, float]], rank: bool = False) -> None:
        """Fill the table with (hypothesis, layer, vector, unit, r or ρ, p) rows."""
        self.rows = list(rows)
        table = self.query_one("#lab-units-table", DataTable)
        table.clear(columns=True)
        table.add_columns(*unit_columns(rank))
        for name, layer, vector, unit, r, p in self.rows:
            table.add_row(name, str(layer), vector, str(unit), f"{r:+.3f}", f"{p:.3g}")

    @on(DataTable.RowSelected, "#lab-units-table")
    def row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        _, layer, vector, unit, _, _ = self.rows[event.cursor_row]
        self.post_message(self.UnitChosen(layer, vector, unit))


SECTIONS = ("gradients", "arena", "units")


class LabPane(Widget, can_focus=True):
    """Three sections under one tab: g gradients, a arena, u units."""

    BINDINGS = [
        Binding("g", "section('gradients')", "Gradients", id="lab.section.gradients"),
        Binding("a", "section('arena')", "Arena", id="lab.section.arena"),
        Binding("u", "section('units')", "Units", id="lab.section.units"),
    ]

    def __init__(self, runs_root: Path, models: ModelCache | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runs_root = Path(runs_root)
        self.models = models or ModelCache()

    def compose(self) -> ComposeResult:
        yield Tabs(Tab("g Gradients", id="lab-tab-gradients"), Tab("a Arena", id="lab-tab-arena"),
                   Tab("u Units", id="lab-tab-units"), id="lab-tabs")
        with ContentSwitcher(initial="lab-gradients", id="lab-switcher"):
            yield GradientsSection(self.models, id="lab-gradients")
            yield ArenaSection(self.runs_root, id="lab-arena")
            yield UnitsSection(self.models, id="lab-units")

    def on_mount(self) -> None:
        self.query_one(Tabs).can_focus = False  # g / a / u switch, and the sections keep the keys

    def on_focus(self) -> None:
        """Entering the tab focuses the pane: its keys are the shown section's."""
        self.screen.set_focus(self.query_one(f"#lab-{self.section}"))

    @property
    def section(self) -> str:
        return (self.query_one(ContentSwitcher).current or "lab-gradients").removeprefix("lab-")

    def set_run(self, history: RunHistory | None) -> None:
        """The app's opened run (it calls this whenever what it knows of the run grows)."""
        self.query_one(GradientsSection).set_run(history)
        self.query_one(UnitsSection).set_run(history)

    def action_section(self, name: str) -> None:
        self.query_one(Tabs).active = f"lab-tab-{name}"

    @on(Tabs.TabActivated, "#lab-tabs")
    def tab_activated(self, event: Tabs.TabActivated) -> None:
        event.stop()  # the app's own tabs must not see it
        name = event.tab.id.removeprefix("lab-tab-") if event.tab.id else SECTIONS[0]
        self.query_one(ContentSwitcher).current = f"lab-{name}"
        section = self.query_one(f"#lab-{name}")
        if self.has_focus_within or self.has_focus:
            self.screen.set_focus(section)


__all__ = ["ArenaSection", "GradientsSection", "LabPane", "UnitsSection"]
