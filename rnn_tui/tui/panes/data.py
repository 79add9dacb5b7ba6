"""The Data pane: choose a built-in dataset or a file, a tokenizer and a split; see a preview."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.lazy import Lazy
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Collapsible, Input, Label, Select, Static

from rnn_tui.config import Config, DataConfig
from rnn_tui.display import visible_token
from rnn_tui.errors import RnnTuiError
from rnn_tui.options import SettingError
from rnn_tui.tui.screens.file_picker import FilePickerScreen
from rnn_tui.tui.widgets.path_suggester import PathSuggester
from rnn_tui.tui.widgets.setting_fields import SettingFields, config_fields


class DataPane(Widget):
    BINDINGS = [
        Binding("ctrl+r", "preview", "Preview", id="data.preview"),
        Binding("ctrl+o", "browse", "Browse files", id="data.browse"),
    ]

    @dataclass
    class PreviewRequested(Message):
        data: DataConfig

    def __init__(self, data: DataConfig, builtins: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(**kwargs)
        self.data = data
        self.builtins = builtins  # (spec, description) of text datasets

    def compose(self) -> ComposeResult:
        cfg = Config(data=self.data)
        first, rest = config_fields(cfg, ("data",), skip=("spec",))  # the dataset is chosen above them
        values = cfg.values()
        with Horizontal():
            with VerticalScroll(id="data-form"):
                yield Label("built-in dataset", classes="form-label")
                options = [(spec.removeprefix("builtin:"), spec) for spec, _ in self.builtins]
                chosen = self.data.spec if self.data.spec.startswith("builtin:") else Select.NULL
                yield Select(options, value=chosen, id="d-builtin", compact=True, prompt="(a file below)")
                yield Label("or a text file / folder of .txt", classes="form-label")
                yield Input("" if self.data.spec.startswith("builtin:") else self.data.spec, id="d-path",
                            placeholder="path/to/text.txt (→ completes)", compact=True, suggester=PathSuggester())
                yield Button("Browse… (ctrl+o)", id="browse", compact=True)
                yield SettingFields(first, values, id="data-fields")
                yield Button("Preview (ctrl+r)", id="preview", compact=True)
                with Collapsible(title=f"More settings ({len(rest)})", id="data-more"):
                    yield Lazy(SettingFields(rest, values, id="data-more-fields"))
            with Vertical(id="data-main"):
                yield Static("", id="data-error")
                yield Static("Choose a dataset; the preview shows sizes, vocabulary and sample lines.", id="data-preview")

    def read_data(self) -> DataConfig:
        """The chosen dataset and the data settings as typed (not yet validated: the preview does
        that, in a worker, and shows what it refuses)."""
        path = self.query_one("#d-path", Input).value.strip()
        builtin = self.query_one("#d-builtin", Select).value
        cfg = Config(data=DataConfig(spec=str(path or (builtin if builtin is not Select.NULL else self.data.spec))))
        for fields in self.query(SettingFields):
            cfg.assign(fields.values())
        return cfg.data

    def action_preview(self) -> None:
        try:
            data = self.read_data()
        except SettingError as exc:
            self.show_error(exc)
            return
        self.post_message(self.PreviewRequested(data))

    def show_error(self, exc: SettingError) -> None:
        """A refused data setting: its line, and its field marked."""
        self.query_one("#data-error", Static).update(str(exc))
        for fields in self.query(SettingFields):
            if fields.mark_invalid(exc.name) and fields.id == "data-more-fields":
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
        if event.select.id == "d-builtin" and event.value is not Select.NULL:
            self.query_one("#d-path", Input).value = ""
        self.action_preview()

    def show_preview(self, info: dict[str, Any] | None, error: RnnTuiError | None) -> None:
        if isinstance(error, SettingError):
            self.show_error(error)
            return
        self.query_one("#data-error", Static).update(str(error or ""))
        if info is None:
            return
        lines = [f"{info['spec']} — {info.get('description', '')}",
                 f"{info['tokens']:,} tokens · vocabulary {info['vocab_size']:,} · {info['lines']:,} lines "
                 f"· {info['chars']:,} chars",
                 "split: " + ", ".join(f"{k} {v:,}" for k, v in info["split"].items()),
                 "top tokens: " + "  ".join(f"{visible_token(t)}×{c}" for t, c in info["top_tokens"][:12]),
                 "", "tokens per line:"]
        hist = info["length_histogram"]
        peak = max(hist["counts"]) or 1
        for lo, hi, n in zip(hist["bins"], hist["bins"][1:], hist["counts"]):
            lines.append(f"  {lo:>6g}–{hi:<6g} {'█' * max(1 if n else 0, round(24 * n / peak))} {n}")
        lines += ["", "first lines:"] + [f"  │ {s}" for s in info["samples"]]
        self.query_one("#data-preview", Static).update("\n".join(lines))
