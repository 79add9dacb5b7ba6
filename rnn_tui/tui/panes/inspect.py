"""The Inspect pane: step through a text token by token and watch every unit of the model.

Loading a checkpoint and tracing a text happen in a thread worker that calls the core
(rnn_tui/inspect/: a TraceData of plain Python lists per part) and only posts messages holding
those (docs/architecture.md). A TraceData keeps, per (layer, vector), the (T, H) matrix by time
and its (H, T) transpose by unit, so moving the cursor only picks rows out of lists: the ▼ of
the time × unit heatmap, the per-layer strip of the current token, the next-token top-k and the
selected unit's equations with its numbers. A classifier adds, under the strip, how its decision
moved token by token (widgets/decision_row.py) and, beside the map, the class probabilities
after the prefix at the cursor. A forecaster steps through a window of its series instead of a
text: the strip holds the values read, the text box the window's last point (a date or a point
number; untouched, the default origin), and the side the value at the cursor and, at the last
step, the forecast beside the truth and the baselines'. On a language model ``a`` ablates the
selected unit (inspect/intervened.py): the text is traced again with that unit's h (and c) held at
0, a status line says so, and the top-k gives each probability's change from the plain model; a
second ``a`` traces it plain again. This module holds the widgets, keys and drawing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Static

from rnn_tui.errors import RnnTuiError
from rnn_tui.inspect.equations import CELL_TEXT, equation_rows
from rnn_tui.inspect.intervened import InterventionTrace, intervened_trace
from rnn_tui.inspect.trace import (
    SEQ2SEQ_SEPARATOR,
    ClassificationTrace,
    ForecastTrace,
    TraceData,
    classification_trace,
    equation_lines,
    forecast_trace,
    lm_trace,
    shown,
    translation_trace,
)
from rnn_tui.inspect.units import SORTS, unit_order
from rnn_tui.runs.rundir import LIVE_STATES
from rnn_tui.tui.history import RunHistory
from rnn_tui.tui.jobs import Jobs
from rnn_tui.tui.model_cache import ModelCache
from rnn_tui.tui.palette import level_rgb, quantize, scale_for
from rnn_tui.tui.widgets.decision_row import DecisionRow
from rnn_tui.tui.widgets.heatmap import HeatLegend, Heatmap
from rnn_tui.tui.widgets.token_strip import TokenStrip

DEFAULT_TEXT = "def main():\\n    return 0"
NO_RUN = "No run: train one in Train, or open one in Runs."
# a live run with no checkpoint yet (the header names the run); it is traced as soon as one lands
WAITING = "training: waiting for its first checkpoint (saved at its first evaluation)"


def text_from_input(value: str) -> str:
    """The Input is one line: a typed \\n or \\t stands for a newline or a tab."""
    return value.replace("\\n", "\n").replace("\\t", "\t")


def text_to_input(text: str) -> str:
    """``text`` as the one-line Input shows it (``text_from_input`` reads it back)."""
    return text.replace("\n", "\\n").replace("\t", "\\t")


def own_text(loaded: Any, path: str, text: str, length: int = 48) -> str | None:
    """The run's own text when ``text`` (the default) has tokens its vocabulary lacks: the default
    means nothing to a model of "hello" or of Chinese reviews. A language model's latest sample
    (prime included, up to ``length`` characters), a classifier's first sampled validation text, a
    translator's first sampled source. None: keep ``text``."""
    from itertools import takewhile
    from pathlib import Path

    from rnn_tui.api import LoadedClassifier, LoadedTranslator
    from rnn_tui.data.tokenizers import get_tokenizer
    from rnn_tui.runs.rundir import RunDir

    if isinstance(loaded, LoadedTranslator):
        known, tokens = loaded.src_vocab.stoi, loaded.source_tokens
    else:
        known, tokens = loaded.vocab.stoi, loaded.tokens if isinstance(loaded, LoadedClassifier) else loaded.tokenize
    if all(tok in known for tok in tokens(text)):
        return None
    samples = RunDir(Path(path)).read_samples()
    if not samples:
        return None
    last = samples[-1]
    if isinstance(loaded, LoadedClassifier):
        return next((c["text"] for c in last.get("classified", [])), None)
    if isinstance(loaded, LoadedTranslator):
        return next((t["source"] for t in last.get("translations", [])), None)
    own = last.get("prime", "") + last.get("text", "")
    readable = list(takewhile(lambda tok: tok in known, loaded.tokenize(own)))  # up to a <eos>, say
    return get_tokenizer(loaded.config.data.tokenizer).detokenize(readable)[:length] or None


class TextBox(Input):
    """Inspect's text: ←/→ move its text cursor, so enter (or esc) hands the keys to the token
    strip, and the footer says so while the box has focus."""

    BINDINGS = [Binding("enter", "submit", "Step through the tokens", id="inspect.text.submit")]


class InspectPane(Jobs, can_focus=True):
    """Step-through of a trained run: text → tokens → every unit at every step.

    The pane, not the token strip, owns ←/→/Home/End: one handler moves the strip's cursor and
    redraws everything that depends on it, so a key press costs one frame, not two (the strip
    refreshing on its own would be painted a frame ahead of the rest). The pane has focus on
    entry (its cursor token lit brighter then); in its text or unit box the keys edit the box, so
    the footer shows only what works there, and enter or esc gives the keys back to the pane."""

    DEFAULT_CSS = """
    InspectPane { layout: vertical; }
    InspectPane #ins-inputs { height: 1; }
    InspectPane #ins-text { width: 1fr; }
    InspectPane #ins-search { width: 14; margin-left: 1; }
    InspectPane #ins-tokens { margin: 0 0 0 0; background: $panel; }
    InspectPane #ins-header { height: 1; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; color: $text; }
    InspectPane #ins-message { height: auto; max-height: 2; padding: 0 1; color: $error; display: none; }
    InspectPane #ins-message.-shown { display: block; }
    InspectPane #ins-ablation { height: 1; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis;
                                background: $warning-muted; color: $text; display: none; }
    InspectPane #ins-ablation.-shown { display: block; }
    InspectPane #ins-body { height: 1fr; }
    InspectPane #ins-left { width: 1fr; }
    InspectPane #ins-layers { height: auto; max-height: 5; min-height: 2; }
    InspectPane #ins-layers-title, InspectPane #ins-time-title {
        height: 1; color: $text-muted; text-wrap: nowrap; text-overflow: ellipsis;
    }
    InspectPane #ins-time { height: 1fr; min-height: 3; }
    InspectPane #ins-side { width: 45%; max-width: 64; border-left: vkey $panel; padding: 0 1; scrollbar-size-vertical: 1; }
    InspectPane #ins-topk { height: auto; }
    InspectPane #ins-equations { height: auto; margin-top: 1; }
    """

    BINDINGS = [
        Binding("left", "step(-1)", "Prev", id="inspect.prev"),
        Binding("right", "step(1)", "Next", id="inspect.next"),
        Binding("home", "step(-1_000_000)", "First", show=False, id="inspect.first"),
        Binding("end", "step(1_000_000)", "Last", show=False, id="inspect.last"),
        Binding("up", "unit(-1)", "Unit ↑", id="inspect.unit_up"),
        Binding("down", "unit(1)", "Unit ↓", id="inspect.unit_down"),
        Binding("left_square_bracket", "layer(-1)", "Layer −", id="inspect.layer_prev"),
        Binding("right_square_bracket", "layer(1)", "Layer +", id="inspect.layer_next"),
        Binding("v", "next_vector", "Vector", id="inspect.vector"),
        Binding("o", "cycle_sort", "Sort units", id="inspect.sort"),
        Binding("slash", "search", "Find unit", id="inspect.search"),
        Binding("e", "next_part", "Encoder/decoder", id="inspect.part"),
        Binding("e", "next_direction", "Direction", id="inspect.direction"),
        Binding("a", "toggle_ablation", "Ablate unit", id="inspect.ablate"),
    ]

    @dataclass
    class TraceReady(Message):
        job: int
        data: dict[str, TraceData]  # part -> trace: {"": ...} for a language model
        decision: ClassificationTrace | None = None  # a classifier's decision after each prefix
        forecast: ForecastTrace | None = None  # a forecaster's window and its forecast
        intervention: InterventionTrace | None = None  # a language model traced with a unit ablated
        ablated: tuple[int, int] | None = None  # that unit: (layer, unit)
        text: str = ""  # the text traced (a language model's own, in place of a default it cannot read)

    def __init__(self, default_text: str | None = None, models: ModelCache | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.default_text = DEFAULT_TEXT if default_text is None else text_to_input(default_text)
        self.models = models or ModelCache()  # the app's, shared with Generate and Translate
        self.path: str | None = None
        self.step: int | None = None
        self.data: TraceData | None = None
        self.parts: dict[str, TraceData] = {}  # a translator's encoder / decoder traces, a classifier's directions
        self.decision: ClassificationTrace | None = None  # a classifier's: how the decision moved
        self.forecast: ForecastTrace | None = None  # a forecaster's: the window's values and dates, the forecast
        self.part = ""
        self.ablate: tuple[int, int] | None = None  # (layer, unit) to ablate, asked for with "a"
        self.intervention: InterventionTrace | None = None  # the shown trace's, when a unit is ablated in it
        self.ablated: tuple[int, int] | None = None  # the unit ablated in the shown trace
        self._layers_height = 0
        self._lines: dict[str, int] = {}  # lines last shown per auto-height Static
        self.t = 0
        self.layer_index = 0
        self.vector = "h"
        self.unit = 0
        self.sort = 0
        self.order: list[int] = []
        self.position: dict[int, int] = {}

    def compose(self) -> ComposeResult:
        with Horizontal(id="ins-inputs"):
            hint = (f"text to inspect (\\n for a newline; a translator: source, or source{SEQ2SEQ_SEPARATOR}target; "
                    "a forecaster: the window's last date or point, or end)")
            yield TextBox(self.default_text, placeholder=hint, id="ins-text", compact=True)
            yield Input(placeholder="/ unit #", id="ins-search", compact=True, restrict=r"[0-9]*", max_length=6)
        strip = TokenStrip(id="ins-tokens")
        yield strip
        yield DecisionRow(strip, id="ins-decision")
        yield Static(NO_RUN, id="ins-header", markup=False)
        yield Static("", id="ins-message", markup=False)
        yield Static("", id="ins-ablation", markup=False)
        with Horizontal(id="ins-body"):
            with Vertical(id="ins-left"):
                yield Static("", id="ins-layers-title", markup=False)
                yield Heatmap(id="ins-layers")
                yield Static("", id="ins-time-title", markup=False)
                yield Heatmap(id="ins-time")
                yield HeatLegend(id="ins-legend")
            with VerticalScroll(id="ins-side"):
                yield Static("", id="ins-topk")
                yield Static("", id="ins-equations")

    def on_mount(self) -> None:
        for heat in self.query(Heatmap):
            heat.can_focus = False  # the pane's ↑/↓ select units; the heatmaps follow
        self.query_one("#ins-side").can_focus = False
        self.query_one(TokenStrip).can_focus = False  # its keys are the pane's (see the class doc)

    # -- the run and the worker --------------------------------------------------------------------

    def set_run(self, history: RunHistory | None) -> None:
        """Show the current run (None: no run); the app calls it again whenever what it knows of
        the run grows, and the text is traced again when the checkpoint step moved."""
        path = history.path if history is not None else None
        step = history.checkpoint_step if history is not None else None
        if path == self.path and step == self.step and (self.data is not None or path is None):
            return
        if path != self.path:
            self.ablate = None  # another run: its units are others
        self.path, self.step = path, step
        waiting = history is not None and step is None and history.state in LIVE_STATES
        if path is None or waiting:  # nothing to trace yet: one line says why
            self.next_job()
            self._clear()
            self.query_one("#ins-header", Static).update(NO_RUN if history is None else WAITING)
            return
        self.refresh_trace()

    def _clear(self) -> None:
        """No trace shown (no run, or none to trace yet): nothing of another run's stays."""
        self.data = self.decision = self.forecast = None
        self.parts = {}
        self._show_ablation(None, None)
        self.query_one(DecisionRow).set_trace(None)
        self.query_one(TokenStrip).set_tokens([])
        for heat in self.query(Heatmap):
            heat.set_data([])
        for part in ("#ins-layers-title", "#ins-time-title", "#ins-topk", "#ins-equations"):
            self.query_one(part, Static).update("")
        self._lines.clear()  # their heights changed: the next update asks for a layout pass
        self.show_message("")

    def refresh_trace(self) -> None:
        """(Re)trace the current text in the worker (the model from the shared cache)."""
        if self.path is None:
            return
        text = text_from_input(self.query_one("#ins-text", Input).value)
        self._compute(self.next_job(), self.path, self.step, text, self.ablate)

    @work(thread=True, exclusive=True, group="inspect", exit_on_error=False)
    def _compute(self, job: int, path: str, step: int | None, text: str, ablate: tuple[int, int] | None) -> None:
        from textual.worker import get_current_worker

        from rnn_tui.api import LoadedClassifier, LoadedForecaster, LoadedTranslator
        from rnn_tui.models.interventions import Intervention

        worker = get_current_worker()
        with self.reporting(job, "inspection"):
            loaded = self.models.get(path, step)
            if not text:
                raise RnnTuiError("type some text to inspect")
            decision = forecast = intervention = None
            if isinstance(loaded, LoadedForecaster):  # the text names the window's last point (untouched: the default)
                forecast = forecast_trace(loaded, None if text == text_from_input(self.default_text) else text)
                data = forecast.parts
            else:
                if text == text_from_input(self.default_text):
                    text = own_text(loaded, path, text) or text
                if isinstance(loaded, LoadedClassifier):
                    decision = classification_trace(loaded, text)
                    data = decision.parts
                elif isinstance(loaded, LoadedTranslator):
                    data = translation_trace(loaded, text).parts
                elif ablate is not None:
                    intervention = intervened_trace(loaded, text, [Intervention("ablate", *ablate)])
                    data = {"": intervention.data}
                else:
                    data = {"": lm_trace(loaded, text)}
            if not worker.is_cancelled:
                self.post_message(self.TraceReady(job, data, decision, forecast, intervention,
                                                  ablate if intervention is not None else None, text))

    def show_failure(self, line: str) -> None:
        if self.data is None:  # the line is the pane's one state: no header saying otherwise beside it
            self.query_one("#ins-header", Static).update("")
        self.show_message(line)

    @on(TraceReady)
    def trace_ready(self, message: TraceReady) -> None:
        if not self.is_current(message.job):
            return
        self.show_message("")
        self.parts, self.decision, self.forecast = message.data, message.decision, message.forecast
        self._show_ablation(message.intervention, message.ablated)
        text = self.query_one("#ins-text", Input)
        if self.forecast is not None and text.value == self.default_text:  # the default origin: say which it is
            with text.prevent(Input.Changed):
                text.value = self.forecast.dates[-1]
        elif message.text and text.value == self.default_text and message.text != text_from_input(text.value):
            with text.prevent(Input.Changed):  # the run's own text, in place of a default it cannot read
                text.value = text_to_input(message.text)
        if self.part not in self.parts:
            self.part = next(iter(self.parts))
        self.refresh_bindings()  # "e" (encoder/decoder, or direction) shows for a run with parts only
        self.set_trace(self.parts[self.part])

    def _show_ablation(self, intervention: InterventionTrace | None, ablated: tuple[int, int] | None) -> None:
        """The status line of a trace with a unit ablated (hidden for a plain one)."""
        self.intervention, self.ablated = intervention, ablated
        line = self.query_one("#ins-ablation", Static)
        if intervention is not None and ablated is not None:
            zero = "h and c" if "c" in intervention.data.vectors else "h"
            line.update(f"unit {ablated[0]}:{ablated[1]} ablated ({zero} = 0 at every step) · top-k: p and its "
                        "change from the plain model · a: restore")
        line.set_class(intervention is not None, "-shown")

    def show_message(self, text: str) -> None:
        box = self.query_one("#ins-message", Static)
        box.update(text)
        box.set_class(bool(text), "-shown")

    # -- a new trace ---------------------------------------------------------------------------------

    def set_trace(self, data: TraceData) -> None:
        """Show a trace (the worker's result); keeps layer, vector and unit where they still exist."""
        self.data = data
        self.layer_index = min(self.layer_index, data.layers - 1)
        if self.vector not in data.vectors:
            self.vector = "h"
        self.unit = min(self.unit, data.hidden - 1)
        t = min(self.t, data.length - 1)
        self.t = t
        self._reorder()
        self._show_matrix()
        strip = self.query_one(TokenStrip)
        strip.set_tokens(data.tokens, cursor=t)  # posts CursorMoved -> the per-step parts
        self.query_one(DecisionRow).set_trace(self.decision, data.positions, cursor=t)
        self._show_step()

    @on(Input.Changed, "#ins-text")
    def text_changed(self) -> None:
        self.refresh_trace()

    @on(Input.Submitted, "#ins-text")
    def text_submitted(self) -> None:
        self.step_through()

    def step_through(self) -> None:
        """The keys to the pane (from the text box): ←/→ step, and a hint says so."""
        self.focus()
        self.notify("← → step through the tokens · ↑ ↓ pick a unit · tab: back to the text", timeout=4)

    @on(Input.Submitted, "#ins-search")
    def search_submitted(self, event: Input.Submitted) -> None:
        try:
            unit = int(event.value)
        except ValueError:
            unit = -1
        if self.data is not None and 0 <= unit < self.data.hidden:
            self.unit = unit
            self._show_unit()
            self.show_message("")
        elif self.data is not None:
            self.show_message(f"no unit {event.value!r}: units are 0–{self.data.hidden - 1}")
        event.input.value = ""
        self.focus()

    @on(TokenStrip.CursorMoved)
    def cursor_moved(self, message: TokenStrip.CursorMoved) -> None:
        """A click on the strip (keys come through action_step)."""
        if self.data is None or not 0 <= message.index < self.data.length or message.index == self.t:
            return
        self.t = message.index
        self._show_step()

    def action_step(self, delta: int) -> None:
        if self.data is None:
            return
        t = max(0, min(self.t + delta, self.data.length - 1))
        if t == self.t:
            return
        strip = self.query_one(TokenStrip)
        with strip.prevent(TokenStrip.CursorMoved):  # this handler draws the step itself
            strip.cursor = t
        self.t = t
        self._show_step()

    @on(Heatmap.CellClicked, "#ins-time")
    def time_cell_clicked(self, message: Heatmap.CellClicked) -> None:
        """A click on the time × unit map selects that unit and moves the cursor to that step."""
        if self.data is None or not 0 <= message.row < len(self.order):
            return
        self.unit = self.order[message.row]
        self._show_unit()
        if 0 <= message.col < self.data.length:
            self.action_step(message.col - self.t)

    # -- ordering and drawing --------------------------------------------------------------------------

    @property
    def key(self) -> str:
        return f"{self.layer_index}.{self.vector}"

    def _reorder(self) -> bool:
        """Recompute the unit order; True if it changed."""
        data = self.data
        if data is None:
            return False
        order = unit_order(data, self.key, SORTS[self.sort], self.t)
        if order == self.order:
            return False
        self.order = order
        self.position = {u: k for k, u in enumerate(order)}
        return True

    def _show_matrix(self) -> None:
        """The time × unit heatmap and legend for the current (layer, vector) and order."""
        data = self.data
        if data is None:
            return
        kind = data.kinds[self.vector]
        lo, hi = data.ranges[self.vector]
        cols = data.by_unit[self.key]
        heat = self.query_one("#ins-time", Heatmap)
        heat.set_data([cols[u] for u in self.order], kind=kind, vmin=lo, vmax=hi,
                      row_labels=[str(u) for u in self.order])
        heat.cursor_col = self.t
        heat.selected_row = self.position[self.unit]
        self._shade_tokens()
        self.query_one("#ins-legend", HeatLegend).set_range(kind, lo, hi)
        by = "" if SORTS[self.sort] == "none" else f", sorted by {SORTS[self.sort]}"
        self.query_one("#ins-time-title", Static).update(
            f"layer {self.layer_index} {self.vector}: units (rows{by}) × time (cols)", layout=False)

    def _show_layers(self) -> None:
        """Every layer's selected vector at the cursor, one row each, in the unit order."""
        data = self.data
        if data is None:
            return
        rows = []
        for layer in range(data.layers):
            row = data.by_time[f"{layer}.{self.vector}"][self.t]
            rows.append([row[u] for u in self.order])
        lo, hi = data.ranges[self.vector]
        heat = self.query_one("#ins-layers", Heatmap)
        heat.set_data(rows, kind=data.kinds[self.vector], vmin=lo, vmax=hi,
                      row_labels=[f"L{k}" for k in range(data.layers)])
        height = 1 + (data.layers + 1) // 2 + 1  # header, data lines, scrollbar
        if height != self._layers_height:  # a new height means a layout pass: only when it changes
            heat.styles.height = self._layers_height = height
        heat.selected_row = self.layer_index
        heat.cursor_col = self.position[self.unit]
        self.query_one("#ins-layers-title", Static).update(self._layers_title(), layout=False)

    def _layers_title(self) -> str:
        layers = self.data.layers if self.data else 1
        which = ("layer 0" if layers == 1 else "L0 top, L1 bottom half" if layers == 2
                 else f"layers 0–{layers - 1}, two a line")
        return f"{self.vector} at t={self.t}, {which} · ▼ unit {self.unit}"

    def _show_step(self) -> None:
        """Everything that depends on the cursor: cheap (list lookups and a few strings)."""
        data = self.data
        if data is None:
            return
        if SORTS[self.sort] == "|activation|" and self._reorder():
            self._show_matrix()
        self.query_one("#ins-time", Heatmap).cursor_col = self.t
        self.query_one(DecisionRow).set_cursor(self.t)
        self._show_layers()
        self._show_header()
        self._show_topk()
        self._show_equations()

    def _shade_tokens(self) -> None:
        """The token strip coloured by the selected unit: its value as it read each token, on the
        heatmap's scale (a unit that tracks something shows it over the text). A gate keeps the
        heatmap's range; a state (h, c) spans ±its own largest |value|, 0 the middle colour: on
        the layer's range a unit of small values (a depth unit within ±3 beside c's ±13) is pale."""
        data = self.data
        if data is None:
            return
        kind = data.kinds[self.vector]
        values = data.by_unit[self.key][self.unit]
        scale, (lo, hi) = scale_for(kind), data.ranges[self.vector]
        if kind == "diverging":
            hi = max((abs(v) for v in values), default=0.0) or 1.0
            lo = -hi
        self.query_one(TokenStrip).set_shades(
            [level_rgb(scale, quantize((v - lo) / (hi - lo) if hi > lo else 0.5)) for v in values])

    def _show_unit(self) -> None:
        self._shade_tokens()
        self.query_one("#ins-time", Heatmap).selected_row = self.position[self.unit]
        heat = self.query_one("#ins-layers", Heatmap)
        heat.cursor_col = self.position[self.unit]
        self.query_one("#ins-layers-title", Static).update(self._layers_title(), layout=False)
        self._show_header()
        self._show_equations()

    def _update_sized(self, selector: str, content: Text) -> None:
        """Update an auto-height Static, asking for a layout pass only when its line count changes
        (a layout pass is most of the cost of a cursor move)."""
        static = self.query_one(selector, Static)
        width = max(1, static.content_size.width)
        lines = sum(max(1, -(-cell_len(line) // width)) for line in content.plain.split("\n"))  # wrapped
        static.update(content, layout=lines != self._lines.get(selector))
        self._lines[selector] = lines

    def _show_header(self) -> None:
        data = self.data
        if data is None:
            return
        if self.forecast is not None:
            token = f"{self.forecast.dates[self.t]} value {data.tokens[self.t]}"
        else:
            token = "token " + shown(data.tokens[self.t]) + (" (not in the vocabulary: read as <unk>)"
                                                             if self.t in data.unknown else "")
        part = f"{data.part} · " if data.part else ""
        self.query_one("#ins-header", Static).update(
            f"{part}t={self.t} {token} · layer {self.layer_index} · vector {self.vector} · unit {self.unit} "
            f"· cell {data.cell} ({CELL_TEXT[data.cell].convention})", layout=False)  # fixed height: no layout pass

    def _show_topk(self) -> None:
        data = self.data
        if data is None:
            return
        t = self.t
        out = Text()
        if not data.topk[t]:
            note = data.notes[t] if t < len(data.notes) else "no prediction at this step"
            shown_plain = self.decision is not None or self.forecast is not None  # a classifier's decision, a forecast
            out.append(note, style="" if shown_plain else "dim")
            self._update_sized("#ins-topk", out)
            return
        before = self.intervention.before[t] if self.intervention is not None else None  # the plain model's p
        out.append(f"next after {shown(data.tokens[t])}" + (" (p, change from plain)" if before is not None else "") + "\n",
                   style="bold")
        actual = data.actual[t] if t < len(data.actual) else None
        for k, (token, p) in enumerate(data.topk[t]):
            bar = "█" * max(0, round(p * 10))
            style = "bold" if token == actual else ""
            out.append(f" {shown(token):<8} {p:6.3f} ", style=style)
            if before is not None:
                change = p - before[k]
                out.append(f"{change:+.3f} ", style="green" if change > 0 else "red" if change < 0 else "")
            out.append(f"{bar}\n", style="cyan")
        if actual is not None:
            lp = data.next_logprob[t]
            out.append(f"actual {shown(actual)}: log p = {lp:.3f} (p = {math.exp(lp):.3f})")
            if self.intervention is not None:
                plain = self.intervention.before_logprob[t]
                out.append(f"\nplain: log p = {plain:.3f}; loss {plain - lp:+.3f} nats")
        else:
            out.append("(last token: no actual next)", style="dim")
        self._update_sized("#ins-topk", out)

    def _show_equations(self) -> None:
        """The selected unit's equations with this step's numbers, each over two rows (rows per
        equation depend on the cell only, so moving the cursor keeps the height: no layout pass)."""
        data = self.data
        if data is None:
            return
        out = Text()
        out.append(f"unit {self.unit} · layer {self.layer_index} · t={self.t}\n", style="bold")
        for line in equation_lines(data, self.layer_index, self.t, self.unit):
            for row in equation_rows(line):
                out.append(row + "\n")
        out.append(CELL_TEXT[data.cell].convention, style="dim italic")
        self._update_sized("#ins-equations", out)

    # -- actions --------------------------------------------------------------------------------------

    def action_unit(self, delta: int) -> None:
        if self.data is None:
            return
        k = max(0, min(self.position[self.unit] + delta, len(self.order) - 1))
        self.unit = self.order[k]
        self._show_unit()

    def action_layer(self, delta: int) -> None:
        if self.data is None:
            return
        layer = max(0, min(self.layer_index + delta, self.data.layers - 1))
        if layer == self.layer_index:
            return
        self.layer_index = layer
        self._reorder()
        self._show_matrix()
        self._show_step()

    def action_next_vector(self) -> None:
        if self.data is None:
            return
        names = self.data.vectors
        self.vector = names[(names.index(self.vector) + 1) % len(names)]
        self._reorder()
        self._show_matrix()
        self._show_step()

    def action_cycle_sort(self) -> None:
        self.sort = (self.sort + 1) % len(SORTS)
        if self.data is None:
            return
        self._reorder()
        if SORTS[self.sort] != "none":
            self.unit = self.order[0]  # the most interesting unit under the new order
        self._show_matrix()
        self._show_step()
        self.notify(f"units sorted by {SORTS[self.sort]}" if self.sort else "units in their own order", timeout=2)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """None of the pane's keys while its text or unit box has focus (the box edits with
        them: the footer shows the box's enter instead); encoder/decoder only for a translation
        run, direction only for a bidirectional classifier (a hidden key otherwise)."""
        if isinstance(self.screen.focused, Input) and self.screen.focused in self.query(Input):
            return False
        if action in ("next_part", "next_direction"):
            return len(self.parts) > 1 and (self.decision is None) == (action == "next_part")
        return True

    def action_next_direction(self) -> None:
        self.action_next_part()

    def action_next_part(self) -> None:
        """A translation run: encoder → (← when bidirectional) → decoder → …; a bidirectional
        classifier: forward → ↔ backward ←."""
        if len(self.parts) < 2:
            return
        names = list(self.parts)
        self.part = names[(names.index(self.part) + 1) % len(names)]
        data = self.parts[self.part]
        self.set_trace(data)
        self.notify(f"{self.part}: {data.length} steps", timeout=2)

    def action_toggle_ablation(self) -> None:
        """A language model: trace the text again with the selected unit ablated, or, when one is,
        plain again. Other runs: one line saying why not."""
        if self.data is None:
            return
        if self.decision is not None or self.forecast is not None or self.data.part:
            kind = "a classifier" if self.decision else "a forecaster" if self.forecast else "a translator"
            self.notify(f"interventions are for language models; this run is {kind}", severity="warning", timeout=3)
            return
        self.ablate = None if self.ablate is not None else (self.layer_index, self.unit)
        self.refresh_trace()

    def select_unit(self, layer: int, vector: str, unit: int) -> None:
        """Show ``unit`` of ``vector`` in ``layer`` (the Lab's units table chose it); kept for the
        next trace when none is shown yet (set_trace keeps what still exists)."""
        self.layer_index, self.vector, self.unit = layer, vector, unit
        if self.data is not None:
            self.set_trace(self.data)

    def action_search(self) -> None:
        self.query_one("#ins-search", Input).focus()

    def key_escape(self) -> None:
        """esc in the text box hands the keys to the strip, as enter does; in the unit box it
        gives up the search."""
        if self.query_one("#ins-text", Input).has_focus:
            self.step_through()
        elif self.query_one("#ins-search", Input).has_focus:
            self.focus()


__all__ = ["InspectPane"]
