"""Form fields read off declared settings (options.py): a Select for choices, a Checkbox for a
switch, an Input for a number or text; the label and tooltip come from the declaration.

A field's id is ``set-<key>`` with the key's dot as a dash (``set-train-lr``). ``values()`` types
what is typed (a bad number is a SettingError naming the field); checking bounds is the value's
own job (``Config.validate``), so the form and the command line refuse the same things.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Checkbox, Input, Label, Select

from rnn_tui.config import Config
from rnn_tui.options import Declared, parse_text, show_text

Field = tuple[str, Declared]  # (key, declaration): key is "section.name"


def field_id(key: str) -> str:
    return "set-" + key.replace(".", "-")


def config_fields(cfg: Config, sections: tuple[str, ...], skip: tuple[str, ...] = ()) -> tuple[list[Field], list[Field]]:
    """The settings of ``sections`` that apply to the config's task: (the ones a form shows
    first, the rest), each as (key, declaration)."""
    first: list[Field] = []
    rest: list[Field] = []
    for section, d in cfg.settings():
        if section in sections and d.applies_to(cfg.task) and d.name not in skip:
            (first if d.setting.form else rest).append((f"{section}.{d.name}", d))
    return first, rest


class SettingFields(Vertical):
    """Label + widget for each declared setting, in the order given."""

    DEFAULT_CSS = """
    SettingFields { height: auto; }
    SettingFields > Label { color: $text-muted; width: 100%; }
    SettingFields Input, SettingFields Select { width: 100%; }
    SettingFields .-invalid { background: $error 40%; }
    """

    def __init__(self, fields: list[Field], values: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fields = fields
        self.initial = values

    def compose(self) -> ComposeResult:
        for key, d in self.fields:
            value, s = self.initial.get(key, d.default), d.setting
            if s.kind is bool:
                yield Checkbox(d.label, bool(value), id=field_id(key), tooltip=s.help, compact=True)
                continue
            yield Label(Text.assemble(d.label, (f" · {s.hint}" if s.hint else "", "dim")))
            if s.choices:
                yield Select([(c, c) for c in s.choices], value=value, allow_blank=False, id=field_id(key),
                             tooltip=s.help, compact=True, type_to_search=False)
            else:
                yield Input(show_text(value), id=field_id(key), tooltip=s.help, compact=True)

    def _field(self, key: str) -> Input | Select[Any] | Checkbox:
        widget = self.query_one(f"#{field_id(key)}")
        assert isinstance(widget, (Input, Select, Checkbox))
        return widget

    def values(self) -> dict[str, Any]:
        """key -> the typed value of every field (raises SettingError for text that is no number)."""
        out = {}
        for key, d in self.fields:
            widget = self._field(key)
            widget.remove_class("-invalid")
            if isinstance(widget, Input):
                out[key] = parse_text(d, widget.value)
            elif isinstance(widget, Select) and widget.value is Select.NULL:
                out[key] = self.initial.get(key, d.default)  # a Select takes its value when it mounts (Lazy: not yet)
            else:
                out[key] = widget.value
        return out

    def set_values(self, values: dict[str, Any]) -> None:
        self.initial = {**self.initial, **values}  # what it composes with, if not mounted yet (Lazy)
        if not self.is_mounted:
            return
        for key, _ in self.fields:
            if key in values:
                widget = self._field(key)
                if isinstance(widget, Input):
                    widget.value = show_text(values[key])
                else:
                    widget.value = values[key]

    def mark_invalid(self, name: str) -> bool:
        """Mark the field of setting ``name`` (a SettingError's) as refused; False if it is not here."""
        for key, d in self.fields:
            if d.name == name:
                self.query_one(f"#{field_id(key)}").add_class("-invalid")
                return True
        return False
