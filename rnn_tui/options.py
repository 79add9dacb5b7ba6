"""One declaration per setting: a dataclass field carries its help, bounds and choices.

A setting is declared once, where its value lives (the config sections, ``Sampling``, ``Beam``):

    lr: float = setting(2e-3, "Learning rate.", label="learning rate", lo=1e-8, hi=100.0, form=True)

Everything else is read off that declaration: the click options of the commands (``cli_options``),
the fields of the app's forms (``tui/widgets/settings_form.py``), and the validation here
(``check``), so a setting cannot be valid in one place and refused in another. Plain data:
no click, no Textual, no torch.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from rnn_tui.errors import RnnTuiError


@dataclass(frozen=True)
class Setting:
    """What the user may set, and how it reads everywhere."""

    help: str  # one sentence for `--help` and the form's tooltip; the default is added by the reader
    label: str  # words that read right in the app and in error messages ("learning rate", not "--lr")
    kind: type  # bool, int, float or str: how typed text converts
    hint: str = ""  # a few words the app's form shows beside the label ("0 = off")
    choices: tuple[str, ...] = ()
    lo: float | None = None  # bounds, inclusive unless lo_open
    hi: float | None = None
    lo_open: bool = False  # the value must be strictly above lo (a temperature of 0 is not one)
    optional: bool = False  # None is allowed (e.g. no seed)
    resume: bool = False  # `train --resume` may change it (the budget and where it runs)
    tasks: tuple[str, ...] = ()  # the tasks it applies to; () = every task
    form: bool = False  # one of the few shown first in the app's forms; the rest sit under "more"
    flag: str = ""  # the command-line flag without "--"; default: the field name with dashes


def setting(default: Any, help: str, *, label: str = "", kind: type | None = None, **rules: Any) -> Any:
    """A dataclass field declared as a user setting (see the module docstring)."""
    if kind is None:
        kind = type(default) if default is not None else str
    meta = Setting(help=help, label=label, kind=kind, **rules)
    return dataclasses.field(default=default, metadata={"setting": meta})


@dataclass(frozen=True)
class Declared:
    """A declared field of a dataclass: its name, its default and its Setting."""

    name: str
    default: Any
    setting: Setting

    @property
    def flag(self) -> str:
        return self.setting.flag or self.name.replace("_", "-")

    @property
    def label(self) -> str:
        return self.setting.label or self.name.replace("_", " ")

    def applies_to(self, task: str) -> bool:
        return not self.setting.tasks or task in self.setting.tasks


def declared(cls_or_obj: Any) -> Iterator[Declared]:
    """The declared settings of a dataclass (class or instance), in declaration order."""
    for f in dataclasses.fields(cls_or_obj):
        meta = f.metadata.get("setting")
        if meta is not None:
            default = f.default if f.default is not dataclasses.MISSING else None
            yield Declared(f.name, default, meta)


def setting_of(cls_or_obj: Any, name: str) -> Declared:
    """The declared setting ``name`` of a dataclass."""
    return next(d for d in declared(cls_or_obj) if d.name == name)


class SettingError(RnnTuiError):
    """A setting with a value it cannot have: the message names it by its label (it reads right
    in the app's forms); ``flag`` lets the command line add which flag that was."""

    def __init__(self, message: str, name: str = "", flag: str = "") -> None:
        super().__init__(message)
        self.name, self.flag = name, flag


def _show(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else repr(value)


def check_value(d: Declared, value: Any) -> None:
    """Refuse ``value`` for the setting ``d`` with one line naming it."""
    s = d.setting

    def fail(rule: str) -> None:
        raise SettingError(f"{d.label} {rule}; got {_show(value)}", d.name, d.flag)

    if value is None:
        if not s.optional:
            fail("must be set")
        return
    if s.choices and value not in s.choices:
        fail(f"must be one of {', '.join(s.choices)}")
    if s.kind in (int, float) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            fail("must be a finite number")
        lo, hi = s.lo, s.hi
        below = lo is not None and (value <= lo if s.lo_open else value < lo)
        above = hi is not None and value > hi
        if below or above:
            if lo is not None and hi is not None:
                fail(f"must be {'above' if s.lo_open else 'between'} {lo:g}{' and at most' if s.lo_open else ' and'} {hi:g}")
            if lo is not None:
                fail(f"must be {'above' if s.lo_open else 'at least'} {lo:g}")
            fail(f"must be at most {hi:g}")


def check(obj: Any) -> None:
    """Check every declared setting of a dataclass instance against its declaration."""
    for d in declared(obj):
        check_value(d, getattr(obj, d.name))


def parse_text(d: Declared, text: str) -> Any:
    """What a form field holds, typed: the text converted to the setting's kind (not yet checked
    against its bounds; ``check`` does that). Empty text is None for an optional setting."""
    raw = text.strip()
    if d.setting.optional and not raw:
        return None
    kind = d.setting.kind
    if kind is str or kind is bool:
        return raw if kind is str else raw.lower() in ("1", "true", "yes", "on")
    try:
        return kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise SettingError(f"{d.label}: {raw!r} is not {what}", d.name, d.flag) from None


def build(cls: Any, texts: dict[str, str], **values: Any) -> Any:
    """A value object built from a form's texts (field name -> text) and other ``values``: each
    text typed by parse_text, then checked by the object itself as it is built."""
    by_name = {d.name: d for d in declared(cls)}
    return cls(**{name: parse_text(by_name[name], text) for name, text in texts.items()}, **values)


def show_text(value: Any) -> str:
    """A value as a form field shows it (the inverse of parse_text)."""
    return "" if value is None else str(value)
