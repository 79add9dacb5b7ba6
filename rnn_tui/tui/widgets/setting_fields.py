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


def more_title(n: int) -> str:
    """The title of the "More settings" that hold ``n`` fields."""
    return f"More settings ({n})"


class SettingFields(Vertical):
    """Label + widget for each declared setting, in the order given; ``set_fields`` re-mounts
    them for other settings (another task's), each field that stays keeping what it held."""

    DEFAULT_CSS = """
    SettingFields { height: auto; }
    SettingFields > Label { color: $text-muted; width: 100%; }
    SettingFields Input, SettingFields Select { width: 100%; }
    SettingFields .-invalid { background: $error 40%; }
    """

    def __init__(self, fields: list[Field], values: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fields = fields
        self.initial = values  # key -> value, for any field it may show (set_fields)
        self.held: dict[str, Any] = {}  # key -> what its field held (an Input: the text) when it was last re-mounted

    def compose(self) -> ComposeResult:
        for key, d in self.fields:
            shown, s = self._shown(key, d), d.setting
            if s.kind is bool:
                yield Checkbox(d.label, bool(shown), id=field_id(key), tooltip=s.help, compact=True)
                continue
            yield Label(Text.assemble(d.label, (f" · {s.hint}" if s.hint else "", "dim")))
            if s.choices:
                yield Select([(c, c) for c in s.choices], value=shown, allow_blank=False, id=field_id(key),
                             tooltip=s.help, compact=True, type_to_search=False)
            else:
                yield Input(shown, id=field_id(key), tooltip=s.help, compact=True)

    def _shown(self, key: str, d: Declared) -> Any:
        """What the field of ``key`` shows when it is composed: what it held before a re-mount,
        else its value (an Input's as text)."""
        if key in self.held:
            return self.held[key]
        value = self.initial.get(key, d.default)
        return show_text(value) if _typed(d) else value

    def _field(self, key: str) -> Input | Select[Any] | Checkbox | None:
        """The widget of ``key``; None while it is not mounted (Lazy, or a re-mount under way)."""
        found = self.query(f"#{field_id(key)}")
        widget = found.first() if found else None
        assert widget is None or isinstance(widget, (Input, Select, Checkbox))
        return widget

    def _holds(self, key: str, d: Declared) -> Any:
        """What the field of ``key`` holds now (an Input: its text)."""
        widget = self._field(key)
        if widget is None or (isinstance(widget, Select) and widget.value is Select.NULL):
            return self._shown(key, d)  # a Select takes its value when it mounts: until then, the one it composes with
        return widget.value

    def values(self) -> dict[str, Any]:
        """key -> the typed value of every field (raises SettingError for text that is no number)."""
        out = {}
        for key, d in self.fields:
            widget = self._field(key)
            if widget is not None:
                widget.remove_class("-invalid")
            held = self._holds(key, d)
            out[key] = parse_text(d, held) if _typed(d) else held
        return out

    def set_values(self, values: dict[str, Any]) -> None:
        self.initial = {**self.initial, **values}  # what it composes with, if not mounted yet (Lazy)
        for key in values:
            self.held.pop(key, None)
        for key, _ in self.fields:
            widget = self._field(key)
            if key in values and widget is not None:
                widget.value = show_text(values[key]) if isinstance(widget, Input) else values[key]

    def set_fields(self, fields: list[Field]) -> None:
        """Show ``fields`` instead (re-mounted once this one is): a field that stays keeps what it
        holds, even text that is no number yet; one that goes keeps it for when it comes back."""
        if fields == self.fields:
            return
        self.held.update({key: self._holds(key, d) for key, d in self.fields})
        self.fields = fields
        self.call_later(self.recompose)  # not mounted yet (Lazy): it composes with these fields anyway

    def mark_invalid(self, name: str) -> bool:
        """Mark the field of setting ``name`` (a SettingError's) as refused; False if it is not here."""
        for key, d in self.fields:
            if d.name == name:
                widget = self._field(key)
                if widget is not None:
                    widget.add_class("-invalid")
                return True
        return False


def show_task(task: str, sections: tuple[str, ...], first: SettingFields, more: SettingFields,
              skip: tuple[str, ...] = ()) -> str:
    """Re-mount a form's fields for the settings of ``task``: ``first``, the ones it shows first,
    and ``more``, the rest; returns the title of the "More settings" holding them."""
    shown, rest = config_fields(Config(task=task), sections, skip)
    first.set_fields(shown)
    more.set_fields(rest)
    return more_title(len(rest))


def _typed(d: Declared) -> bool:
    """Whether the setting's field is an Input (its value typed as text), not a Select or a Checkbox."""
    return d.setting.kind is not bool and not d.setting.choices
