"""Click options read off the declared settings (options.py): one declaration, one flag.

``config_options`` gives `rnn-tui train` a flag for every setting of every config section; each
flag's parameter is named ``section__field`` so the given ones go straight back into a Config.
``value_options`` does the same for a value object (Sampling, Beam). Help texts carry the default
and, for a task-specific setting, the task; nothing here is written twice.
"""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import click

from rnn_tui.config import Config
from rnn_tui.errors import RnnTuiError
from rnn_tui.options import Declared, declared
from rnn_tui.runs.records import CHECKPOINT_TAGS

RUNS_DIR_OPTION = click.option("--runs-dir", default=None, help="Runs root (default: $RNN_TUI_RUNS or ./runs).")
CHECKPOINT_OPTION = click.option("--checkpoint", type=click.Choice(CHECKPOINT_TAGS), default="latest", show_default=True,
                                 help="Which checkpoint of the run.")
"""Options shared by the commands (here, not in cli.py, so a command in its own module imports them
without importing cli.py, which imports that module to register it)."""


def print_json(obj: Any) -> None:
    """A command's --json: one line of JSON (non-ASCII kept)."""
    click.echo(json.dumps(obj, ensure_ascii=False))


def echo_report(lines: list[str]) -> None:
    """A text report, line by line. On a terminal narrower than a prose line (one that does not
    start with a space: table rows do), that line wraps at word boundaries, its continuation
    indented two spaces; piped, every line stays whole (what a script reads)."""
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else 0
    for line in lines:
        if width and len(line) > width and not line.startswith(" "):
            line = textwrap.fill(line, width, subsequent_indent="  ", break_on_hyphens=False)
        click.echo(line)


TASK_WORDS = {"lm": "language model", "seq2seq": "translation"}
SEP = "__"


def _default_text(d: Declared, default: Any) -> str:
    if d.setting.kind is bool:
        return "yes" if default else "no"
    return "none" if default is None else f"{default:g}" if isinstance(default, float) else str(default)


def click_option(d: Declared, param: str, default: Any = None, show_default: Any = "declared") -> Callable:
    """The click option of one declared setting. ``default`` is what click passes when the flag is
    absent (None: "not given", so a config file's value stays); ``show_default`` the default the
    help text names (the declared one unless given)."""
    s = d.setting
    shown = d.default if show_default == "declared" else show_default
    tasks = f"({', '.join(TASK_WORDS.get(t, t) for t in s.tasks)}) " if s.tasks else ""
    help_text = f"{tasks}{s.help}" + (f" [default: {_default_text(d, shown)}]" if shown is not None or s.optional else "")
    if s.kind is bool:
        if d.default is False and default is False:  # a plain on-switch (generate --greedy)
            return click.option(f"--{d.flag}", param, is_flag=True, default=False, help=f"{tasks}{s.help}")
        return click.option(f"--{d.flag}/--no-{d.flag}", param, default=default, help=help_text)
    kind: Any = click.Choice(s.choices) if s.choices else {int: int, float: float, str: str}[s.kind]
    return click.option(f"--{d.flag}", param, type=kind, default=default, help=help_text)


def config_options(command: Callable) -> Callable:
    """Every setting of every section of Config (and --task) as flags of ``command``; the flags
    the user did not give arrive as None."""
    options = [click_option(d, d.name, default=d.default) for d in declared(Config)]  # --task
    options += [click_option(d, f"{section}{SEP}{d.name}") for section, d in Config().settings()]
    for option in reversed(options):
        command = option(command)
    return command


def given_settings(flags: dict[str, Any]) -> dict[str, Any]:
    """"section.name" -> value for the config flags the user gave (see Config.assign)."""
    return {key.replace(SEP, "."): value for key, value in flags.items() if SEP in key and value is not None}


def refuse_locked_for_resume(given: dict[str, Any]) -> None:
    """`--resume` continues a run as it was set up: only its budget and where it runs may change."""
    settings = {d.name: d for d in declared(Config)} | {f"{section}.{d.name}": d for section, d in Config().settings()}
    for key in given:
        if not settings[key].setting.resume:
            allowed = ", ".join(f"--{d.flag}" for d in settings.values() if d.setting.resume)
            raise RnnTuiError(f"--resume cannot change --{settings[key].flag} (only {allowed}); "
                              "start a new run for a different setup")


def value_options(cls: type, defaults: dict[str, Any] | None = None, skip: tuple[str, ...] = ()) -> Callable:
    """The declared settings of a value object (Sampling, Beam) as flags named after its fields,
    with the declared defaults unless ``defaults`` overrides one for this command."""
    defaults = defaults or {}

    def decorate(command: Callable) -> Callable:
        for d in reversed([d for d in declared(cls) if d.name not in skip]):
            default = defaults.get(d.name, d.default)
            command = click_option(d, d.name, default=default, show_default=default)(command)
        return command

    return decorate


def intervention_options(f):
    """--ablate, --clamp and --freeze-gate (repeatable), for the commands that run a language model."""
    f = click.option("--freeze-gate", "freeze_gate", multiple=True, metavar="LAYER:GATE[:UNIT]=VALUE",
                     help="Hold a gate (i f g o; r z n) at VALUE in every unit of the layer, or in one unit.")(f)
    f = click.option("--clamp", multiple=True, metavar="LAYER:[c:]UNIT=VALUE",
                     help="Hold h (or c) of a unit at VALUE at every step.")(f)
    return click.option("--ablate", multiple=True, metavar="LAYER:UNIT",
                        help="Zero a unit (h, and c for an LSTM) at every step. Repeatable, as the two below.")(f)
