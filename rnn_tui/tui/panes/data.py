"""The Data pane: choose the task, a built-in dataset or a file, a tokenizer and a split; see a
preview of the data as that task reads it (or the one line saying why it does not fit)."""

from __future__ import annotations

import dataclasses
import statistics
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.lazy import Lazy
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Collapsible, Input, Label, Select, Static

from rnn_tui.config import Config, DataConfig
from rnn_tui.data import spec as specs
from rnn_tui.display import visible_token
from rnn_tui.errors import RnnTuiError
from rnn_tui.options import SettingError, setting_of
from rnn_tui.tui.screens.file_picker import FilePickerScreen
from rnn_tui.tui.widgets.path_suggester import PathSuggester
from rnn_tui.tui.widgets.setting_fields import SettingFields, config_fields, more_title, show_task

TASK = setting_of(Config, "task")  # its choices are config.TASKS
# the task a new dataset's kind suggests
KIND_TASK = {"text": "lm", "pairs": "seq2seq", "labels": "classify", "series": "forecast"}
SECTIONS = ("data",)
SKIP = ("spec",)  # the dataset is chosen above the fields


def builtin_options(task: str, builtins: list[specs.Source]) -> list[tuple[Text, str]]:
    """The built-ins as a Select's options: those of the kind ``task`` trains on first, then the
    others dimmed, with their kind (choosing one switches the task to its kind's)."""
    fit = [b for b in builtins if KIND_TASK.get(b.kind) == task]
    other = [b for b in builtins if b not in fit]
    return ([(Text(b.name.removeprefix(specs.BUILTIN_PREFIX)), b.spec) for b in fit]
            + [(Text(f"{b.name.removeprefix(specs.BUILTIN_PREFIX)} · {b.kind}", style="dim"), b.spec) for b in other])


def task_of(source: specs.Source, task: str) -> str:
    """The task a newly chosen dataset suggests by its kind (an unknown kind: ``task`` stays)."""
    return KIND_TASK.get(source.kind, task)


def describe(source: specs.Source, data: DataConfig, task: str) -> dict[str, Any]:
    """The preview of ``source`` as ``task`` reads it (data.stats; reads the whole dataset: call
    it in a worker), or one line (RnnTuiError) when the task does not train on it."""
    from rnn_tui.data import stats

    specs.check_task(task, source)
    if task == "seq2seq":
        info = stats.describe_pairs(specs.load_pairs(source, data.encoding, data.reverse),
                                    src_tokenizer=data.src_tokenizer, tgt_tokenizer=data.tgt_tokenizer)
    elif task == "classify":
        info = stats.describe_labels(specs.load_labeled(source, data.encoding, data.label_column, data.text_column),
                                     tokenizer=data.tokenizer)
    elif task == "forecast":
        from rnn_tui.data.windows import ForecastData

        info = stats.describe_forecast(ForecastData.from_config(Config(task=task, data=data)))
    else:
        info = stats.describe_text(specs.load_text(source, data.encoding), tokenizer=data.tokenizer,
                                   val_fraction=data.val_fraction)
    return {"spec": data.spec, "description": source.description, **info}


class DataPane(Widget):
    BINDINGS = [
        Binding("ctrl+r", "preview", "Preview", id="data.preview"),
        Binding("ctrl+o", "browse", "Browse files", id="data.browse"),
    ]

    @dataclass
    class PreviewRequested(Message):
        data: DataConfig
        task: str
        follow: bool  # a newly chosen dataset: the task follows its kind (task_of)

    def __init__(self, data: DataConfig, task: str, builtins: list[specs.Source], **kwargs) -> None:
        super().__init__(**kwargs)
        self.data = data
        self.chosen_task = task
        self.builtins = builtins
        self.followed: str | None = None  # the dataset last previewed (another one: the task follows its kind)
        self.requested: tuple[DataConfig, str] | None = None  # the last preview asked for, or shown
        first, rest = config_fields(Config(task=task), SECTIONS, skip=SKIP)
        values = Config(data=data).values()
        self.first_fields = SettingFields(first, values, id="data-fields")
        self.more_fields = SettingFields(rest, values, id="data-more-fields")  # mounted just after the first frame (Lazy)

    def compose(self) -> ComposeResult:
        with Horizontal():
            with VerticalScroll(id="data-form"):
                yield Label(TASK.label, classes="form-label")
                yield Select([(t, t) for t in TASK.setting.choices], value=self.chosen_task, allow_blank=False, id="d-task",
                             compact=True, tooltip=TASK.setting.help, type_to_search=False)
                yield Label("built-in dataset", classes="form-label")
                chosen = self.data.spec if self.data.spec in {b.spec for b in self.builtins} else Select.NULL
                yield Select(builtin_options(self.chosen_task, self.builtins), value=chosen, id="d-builtin", compact=True,
                             prompt="(a file below)")
                yield Label("or a file / folder", classes="form-label")
                yield Input("" if self.data.spec.startswith("builtin:") else self.data.spec, id="d-path",
                            placeholder="path/to/data (→ completes)", compact=True, suggester=PathSuggester())
                yield Button("Browse… (ctrl+o)", id="browse", compact=True)
                yield self.first_fields
                yield Button("Preview (ctrl+r)", id="preview", compact=True)
                with Collapsible(title=more_title(len(self.more_fields.fields)), id="data-more"):
                    yield Lazy(self.more_fields)
            with Vertical(id="data-main"):
                yield Static("", id="data-error")
                yield Static("Choose a dataset; the preview shows sizes, vocabulary and sample lines.", id="data-preview")

    def read_data(self) -> DataConfig:
        """The chosen dataset and the data settings as typed (not yet validated: the preview does
        that, in a worker, and shows what it refuses)."""
        path = self.query_one("#d-path", Input).value.strip()
        builtin = self.query_one("#d-builtin", Select).value
        spec = str(path or (builtin if builtin is not Select.NULL else self.data.spec))
        cfg = Config(data=dataclasses.replace(self.data, spec=spec))  # a field not mounted yet keeps its value
        for fields in (self.first_fields, self.more_fields):
            cfg.assign(fields.values())
        return cfg.data

    def action_preview(self, changed: bool = False) -> None:
        """Ask for a preview of the data as chosen; ``changed``: only if that differs from the
        last one asked for or shown (a Select mounting, in a re-mount or More settings, says it
        changed too)."""
        try:
            data = self.read_data()
        except SettingError as exc:
            self.show_error(exc)
            return
        if changed and (data, self.chosen_task) == self.requested:
            return
        self.requested = (data, self.chosen_task)
        self.post_message(self.PreviewRequested(data, self.chosen_task, follow=data.spec != self.followed))

    def show_error(self, exc: SettingError) -> None:
        """A refused data setting: its line, and its field marked."""
        self.query_one("#data-error", Static).update(str(exc))
        self.first_fields.mark_invalid(exc.name)
        if self.more_fields.mark_invalid(exc.name):
            self.query_one("#data-more", Collapsible).collapsed = False

    def action_browse(self) -> None:
        def picked(path: str | None) -> None:
            if path:
                self.query_one("#d-path", Input).value = path
                self.action_preview()

        typed = self.query_one("#d-path", Input).value.strip()
        self.app.push_screen(FilePickerScreen(typed or "."), picked)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "preview":
            self.action_preview()
        elif event.button.id == "browse":
            self.action_browse()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "d-task":
            self.set_task(str(event.value))
        elif event.select.id == "d-builtin" and event.value is not Select.NULL:
            self.query_one("#d-path", Input).value = ""
        self.action_preview(changed=True)

    def set_task(self, task: str) -> None:
        """Show the choices for ``task``: the built-ins it trains on first, and its data settings
        (re-mounted; what is typed in the ones that stay is kept)."""
        if task == self.chosen_task:
            return
        self.chosen_task = task
        with self.prevent(Select.Changed):  # set here, not chosen: no preview of its own
            self.query_one("#d-task", Select).value = task
            builtin = self.query_one("#d-builtin", Select)
            chosen = builtin.value
            builtin.set_options(builtin_options(task, self.builtins))  # this clears the choice: restore it
            builtin.value = chosen
        title = show_task(task, SECTIONS, self.first_fields, self.more_fields, skip=SKIP)
        self.query_one("#data-more", Collapsible).title = title

    def load(self, data: DataConfig, task: str) -> None:
        """Show an opened run's dataset, data settings and task, and preview them as that task
        reads them (the task stays the run's, whatever the data's kind suggests)."""
        self.data, self.followed = data, data.spec
        self.set_task(task)
        builtin = data.spec if data.spec in {b.spec for b in self.builtins} else Select.NULL
        with self.prevent(Select.Changed):
            self.query_one("#d-builtin", Select).value = builtin
        self.query_one("#d-path", Input).value = "" if builtin is not Select.NULL else data.spec
        values = Config(data=data).values()
        for fields in (self.first_fields, self.more_fields):
            fields.set_values(values)
        self.action_preview()

    def show_preview(self, data: DataConfig, task: str, info: dict[str, Any] | None, error: RnnTuiError | None) -> None:
        """The preview of ``data`` for ``task`` (the task it followed), or why not."""
        self.followed, self.requested = data.spec, (data, task)
        self.set_task(task)
        if isinstance(error, SettingError):
            self.show_error(error)
            return
        self.query_one("#data-error", Static).update(str(error or ""))
        if info is None:  # not what Start would train on: no preview of it
            self.query_one("#data-preview", Static).update("")
            return
        kind = info["kind"]
        lines = [f"{info['spec']} — {info.get('description', '')}"]
        if kind == "pairs":
            lines += _pairs_lines(info)
        elif kind == "labels":
            lines += _labels_lines(info)
        elif kind == "series":
            preview = self.query_one("#data-preview", Static)
            lines += _series_lines(info, preview.content_size.width or 60)
        else:
            lines += _text_lines(info)
        self.query_one("#data-preview", Static).update("\n".join(lines))


def _histogram_lines(hist: dict) -> list[str]:
    peak = max(hist["counts"], default=0) or 1
    return [f"  {lo:>6g}–{hi:<6g} {'█' * max(1 if n else 0, round(24 * n / peak))} {n}"
            for lo, hi, n in zip(hist["bins"], hist["bins"][1:], hist["counts"])]


def _top(tokens: list) -> str:
    return "  ".join(f"{visible_token(t)}×{c}" for t, c in tokens[:12])


def _text_lines(info: dict) -> list[str]:
    return [f"{info['tokens']:,} tokens · vocabulary {info['vocab_size']:,} · {info['lines']:,} lines "
            f"· {info['chars']:,} chars",
            "split: " + ", ".join(f"{k} {v:,}" for k, v in info["split"].items()),
            "top tokens: " + _top(info["top_tokens"]),
            "", "tokens per line:", *_histogram_lines(info["length_histogram"]),
            "", "first lines:", *[f"  │ {s}" for s in info["samples"]]]


def _skipped(info: dict) -> str:
    return f" · {info['skipped']:,} malformed lines skipped" if info["skipped"] else ""


def _pairs_lines(info: dict) -> list[str]:
    lines = [f"{info['pairs']:,} pairs{_skipped(info)}"]
    for side in ("source", "target"):
        s = info[side]
        lines += [f"{side}: {s['tokens']:,} tokens ({s['tokenizer']}) · vocabulary {s['vocab_size']:,}",
                  "  top tokens: " + _top(s["top_tokens"])]
    return [*lines, "", "source tokens per pair:", *_histogram_lines(info["source"]["length_histogram"]),
            "", "first pairs:", *[f"  │ {src} → {tgt}" for src, tgt in info["samples"]]]


def _labels_lines(info: dict) -> list[str]:
    counts = info["class_counts"]
    shown = "  ".join(f"{name} {n:,} ({share:.1%})" for name, n, share in counts[:8])
    more = f"  … {len(counts) - 8} more" if len(counts) > 8 else ""
    return [f"{info['examples']:,} texts · {info['classes']} classes ({info['layout']}){_skipped(info)}",
            f"{info['tokens']:,} tokens ({info['tokenizer']}) · vocabulary {info['vocab_size']:,}",
            f"classes: {shown}{more}",
            f"always {info['majority_class']!r}: {info['majority_accuracy']:.1%} accuracy (the floor to beat)",
            "top tokens: " + _top(info["top_tokens"]),
            "", "tokens per text:", *_histogram_lines(info["length_histogram"]),
            "", "samples:", *[f"  {label} │ {text}" for label, text in info["samples"]]]


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float]) -> str:
    """One block character per value, its height the value's place between the min and the max."""
    lo, hi = min(values, default=0.0), max(values, default=0.0)
    span = (hi - lo) or 1.0
    return "".join(SPARKS[min(len(SPARKS) - 1, int((v - lo) / span * len(SPARKS)))] for v in values)


def ruler(widths: list[int], names: list[str]) -> str:
    """Segments of the given widths side by side, each starting with a tick and its name (cut to fit)."""
    return "".join(("├" + name).ljust(w, "─")[:w] for w, name in zip(widths, names))


def _series_lines(info: dict, width: int) -> list[str]:
    """A series as the forecast task reads it: its column and dates, a sketch with its split
    ruled under it (at most ``width`` columns), the points and forecasts of each part, its range."""
    dates = info["dates"]
    when = f" · {dates[0]} … {dates[-1]}" if dates else ""
    features = f" · features {', '.join(info['features'])}" if info["features"] else ""
    split, windows = info["split"], info["windows"]
    fold = -(-len(info["sketch"]) // max(1, width))
    step = info["sketch_step"] * fold
    sketch = [statistics.fmean(info["sketch"][k : k + fold]) for k in range(0, len(info["sketch"]), fold)]
    ends = [-(-split["train"] // step), -(-(split["train"] + split["val"]) // step), len(sketch)]  # columns
    per = f" (each column the mean of {step} points)" if step > 1 else ""
    lost = f" (the transforms use up the first {info['lost']})" if info["lost"] else ""
    parts = (("train", "train"), ("val", "validation"), ("test", "test"))
    return [f"{info['length']:,} points of {info['name']!r}{when}{features}",
            f"min {info['min']:.4g} · max {info['max']:.4g} · mean {info['mean']:.4g} · std {info['std']:.4g}",
            "", f"the series{per}:", sparkline(sketch),
            ruler([b - a for a, b in zip([0, *ends], ends)], ["train", "val", "test"]),
            "", f"window {info['window']} → horizon {info['horizon']}{lost}:",
            *[f"  {name:<10} {split[part]:>7,} points {windows[part]:>7,} forecasts" for part, name in parts],
            "", "first values: " + "  ".join(f"{v:g}" for v in info["first_values"])]
