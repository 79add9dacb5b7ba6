"""Recipes: the classic experiments as plain data, one TOML file each (this folder's ``*.toml``).

A recipe names what it reproduces, its data, the settings of `rnn-tui train` (the tables of a
config.toml under ``[settings]``: ``task``, ``[settings.data]``, ``[settings.model]``,
``[settings.train]``, checked against the declared settings, so a misspelt key is one line), the
result to expect and the time it takes. A recipe of the lab may instead run another command
(``command``), and any recipe may run more commands after it (``then``). In those, ``{run}`` is the
run's (or the arena's) name and ``{data}`` the dataset. Copy one, edit it and run the copy:
`rnn-tui recipe run my.toml`.

``data`` is ``builtin:NAME``, the name of a downloadable corpus (`rnn-tui data get NAME`), or
``file``: the user's own file, given with ``--data`` (``data_help`` says what it holds).

Plain data and the stdlib: no torch, no click, no Textual.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rnn_tui.config import Config
from rnn_tui.errors import RnnTuiError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FOLDER = Path(__file__).parent
USER_FILE = "file"  # data = "file": the user gives it with --data
# what `recipe run` reads off the run's validations, and which way is better
METRICS = {"val_loss": "min", "val_rmse": "min", "val_mae": "min", "val_bleu": "max", "val_acc": "max", "val_f1": "max"}
KEYS = {"name", "title", "reproduces", "data", "data_help", "seconds", "seconds_note", "expected", "settings", "command",
        "then"}
EXPECTED_KEYS = {"metric", "at_most", "at_least", "see", "measured"}


@dataclass(frozen=True)
class Expected:
    """The result to expect: ``metric`` (a key of the validation records, its best over the run)
    at most / at least a value when one was measured, and what the user should see."""

    see: str
    measured: str  # where the number comes from ("README: …", "measured …"), or "not measured yet"
    metric: str = ""
    at_most: float | None = None
    at_least: float | None = None

    def text(self) -> str:
        """e.g. "val_loss ≤ 0.05"; the metric alone when no value was measured."""
        if self.at_most is not None:
            return f"{self.metric} ≤ {self.at_most:g}"
        if self.at_least is not None:
            return f"{self.metric} ≥ {self.at_least:g}"
        return f"{self.metric} (not measured yet)" if self.metric else ""

    def met(self, value: float) -> bool | None:
        """Whether ``value`` meets the expectation; None when there is no number to meet."""
        if self.at_most is not None:
            return value <= self.at_most
        if self.at_least is not None:
            return value >= self.at_least
        return None


@dataclass(frozen=True)
class Recipe:
    name: str
    title: str
    reproduces: str
    data: str  # builtin:NAME, a downloadable corpus's name, "file" (the user's), or "" (a command that reads none)
    seconds: float  # on a laptop CPU
    seconds_note: str
    expected: Expected
    settings: dict[str, Any] = field(default_factory=dict)  # the tables of a config.toml; {} for a command recipe
    command: tuple[str, ...] = ()  # instead of a training: this rnn-tui command
    then: tuple[tuple[str, ...], ...] = ()  # commands run after it
    data_help: str = ""
    path: Path | None = None

    @property
    def trains(self) -> bool:
        return not self.command

    @property
    def what(self) -> str:
        """One word for the table: the task trained, or the command run."""
        return self.settings.get("task", "lm") if self.trains else self.command[0]

    def config(self, data: str | None = None) -> Config:
        """The validated config this recipe trains, on ``data`` if given (else its own)."""
        cfg = Config.from_dict(self.settings, where=f"recipe {self.name}")
        cfg.data.spec = self.spec(data)
        return cfg.validate()

    def spec(self, data: str | None = None) -> str:
        """The dataset this recipe runs on (FILE: the user's, not given yet)."""
        return data or ("FILE" if self.data == USER_FILE else self.data)

    def commands(self, name: str, data: str | None = None, changes: dict[str, Any] | None = None) -> list[list[str]]:
        """The rnn-tui command lines the recipe runs (without "rnn-tui"), with ``{run}`` = ``name``:
        the training (or its command), then the ``then`` ones. ``changes``: settings over the
        recipe's ("train.time" -> 30) for a training."""
        first = train_args(self.config(data), self.settings, changes or {}, name) if self.trains else list(self.command)
        values = {"run": name, "data": self.spec(data)}
        return [[arg.format(**values) for arg in args] for args in (first, *self.then)]


def train_args(cfg: Config, settings: dict[str, Any], changes: dict[str, Any], name: str) -> list[str]:
    """`train` with the flags of the recipe's settings (and ``changes``), in the recipe's order."""
    keys = [f"{section}.{key.replace('-', '_')}" for section in ("data", "model", "train")
            for key in settings.get(section, {}) if not (section == "data" and key == "spec")]
    keys += [k for k in changes if k not in keys]
    cfg.assign(changes).validate()
    by_key, values = {f"{section}.{d.name}": d for section, d in cfg.settings()}, cfg.values()
    args = ["train", "--task", cfg.task, "--data", cfg.data.spec]
    for key in keys:
        d, value = by_key[key], values[key]
        if isinstance(value, bool):
            args.append(f"--{d.flag}" if value else f"--no-{d.flag}")
        else:
            args += [f"--{d.flag}", _flag_value(value)]
    return [*args, "--name", name]


def _flag_value(value: Any) -> str:
    """A value as a flag takes it: 600.0 as 600, 0.005 as 0.005."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def command_line(args: list[str]) -> str:
    """``args`` as a shell would take them: `rnn-tui train --data …`."""
    return shlex.join(["rnn-tui", *args])


# -- loading ----------------------------------------------------------------------------------------


def load(path: str | Path) -> Recipe:
    """The recipe in the TOML file ``path``, checked: one line naming what is wrong."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RnnTuiError(f"no recipe file {path}; `rnn-tui recipe list` lists the recipes") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RnnTuiError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RnnTuiError(f"{path}: not valid TOML ({exc})") from None
    name = raw.get("name", path.stem)
    where = f"recipe {name} ({path})"
    _known(raw, KEYS, where)
    expected = raw.get("expected", {})
    _table(expected, "[expected]", where)
    _known(expected, EXPECTED_KEYS, where, "[expected] ")
    settings, command = raw.get("settings", {}), _args(raw.get("command", []), "command", where)
    _table(settings, "[settings]", where)
    if bool(settings) == bool(command):
        raise RnnTuiError(f"{where}: give [settings] (a training) or command (another rnn-tui command), one of them")
    metric = expected.get("metric", "")
    if metric and metric not in METRICS:
        raise RnnTuiError(f"{where}: [expected] metric must be one of {', '.join(METRICS)}; got {metric!r}")
    if "at_most" in expected and "at_least" in expected:
        raise RnnTuiError(f"{where}: [expected] gives at_most or at_least, not both")
    recipe = Recipe(
        name=_text(raw, "name", where, path.stem),
        title=_text(raw, "title", where),
        reproduces=_text(raw, "reproduces", where),
        data=_text(raw, "data", where, ""),
        data_help=_text(raw, "data_help", where, ""),
        seconds=_number(raw, "seconds", where),
        seconds_note=_text(raw, "seconds_note", where, ""),
        expected=Expected(see=_text(expected, "see", where), measured=_text(expected, "measured", where), metric=metric,
                          at_most=_number(expected, "at_most", where, None),
                          at_least=_number(expected, "at_least", where, None)),
        settings=settings,
        command=command,
        then=tuple(_args(args, "then", where) for args in _list(raw.get("then", []), "then", where)),
        path=path,
    )
    if recipe.data == USER_FILE and not recipe.data_help:
        raise RnnTuiError(f"{where}: data = \"file\" needs data_help (what the file holds)")
    if recipe.trains:
        try:
            recipe.config()  # every setting, checked as the flags of `train` are
        except RnnTuiError as exc:
            raise RnnTuiError(f"{where}: {exc}") from None
    return recipe


def shipped() -> list[Recipe]:
    """The recipes that come with rnn-tui, in the order of their files' names."""
    return [load(p) for p in sorted(FOLDER.glob("*.toml"))]


def find(name: str) -> Recipe:
    """A shipped recipe by name, or a recipe file by its path (a .toml)."""
    if name.endswith(".toml"):
        return load(name)
    for path in sorted(FOLDER.glob("*.toml")):
        if path.stem == name:
            return load(path)
    names = ", ".join(p.stem for p in sorted(FOLDER.glob("*.toml")))
    raise RnnTuiError(f"no recipe {name!r}; the recipes: {names} (or give a recipe file, NAME.toml)")


def missing_data(recipe: Recipe, data: str | None = None) -> str | None:
    """One line saying what data the recipe lacks and how to get it; None when it has it."""
    if data:
        return None
    if recipe.data == USER_FILE:
        return (f"recipe {recipe.name} trains on your own file ({recipe.data_help}); give it: "
                f"rnn-tui recipe run {recipe.name} --data FILE")
    from rnn_tui.data import download

    if recipe.data in download.CORPORA and download.cached_path(recipe.data) is None:
        return (f"recipe {recipe.name} needs the {recipe.data} corpus, not downloaded yet: run "
                f"`rnn-tui data get {recipe.data}` first (or give your own copy with --data FILE)")
    return None


def with_changes(recipe: Recipe, changes: dict[str, Any]) -> Recipe:
    """The recipe with some settings changed ("train.steps" -> 20), e.g. a smaller budget."""
    settings = {k: dict(v) if isinstance(v, dict) else v for k, v in recipe.settings.items()}
    for key, value in changes.items():
        section, name = key.split(".")
        settings.setdefault(section, {})[name] = value
    return replace(recipe, settings=settings)


# -- the result -------------------------------------------------------------------------------------


def measured(records: Sequence[Mapping[str, Any]], metric: str) -> tuple[float | None, float | None]:
    """(the best value of ``metric`` over a run's validation records, its training seconds)."""
    values = [r[metric] for r in records if r.get("event") == "val" and isinstance(r.get(metric), (int, float))]
    best = (min if METRICS.get(metric) == "min" else max)(values) if values else None
    ends = [r for r in records if r.get("event") == "end"]
    return best, (ends[-1].get("elapsed") if ends else None)


def verdict(expected: Expected, value: float | None) -> str:
    """The measured value beside the expected one, in one line."""
    if value is None:
        return f"{expected.metric}: no validation recorded; expected {expected.text()}"
    met = expected.met(value)
    mark = "" if met is None else ("  ✓ as expected" if met else "  ✗ not met")
    return f"{expected.metric} {value:.4g}, expected {expected.text()}{mark}"


# -- checks of the file's values ---------------------------------------------------------------------


def _known(table: dict[str, Any], keys: set[str], where: str, prefix: str = "") -> None:
    unknown = sorted(set(table) - keys)
    if unknown:
        raise RnnTuiError(f"{where}: unknown key {prefix}{unknown[0]}; the keys are {', '.join(sorted(keys))}")


def _table(value: Any, name: str, where: str) -> None:
    if not isinstance(value, dict):
        raise RnnTuiError(f"{where}: {name} must be a table")


def _text(table: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = table.get(key, default)
    if value is None:
        raise RnnTuiError(f"{where}: {key} is missing")
    if not isinstance(value, str):
        raise RnnTuiError(f"{where}: {key} must be text; got {value!r}")
    return value


def _number(table: dict[str, Any], key: str, where: str, default: Any = ...) -> Any:
    value = table.get(key, default)
    if value is ...:
        raise RnnTuiError(f"{where}: {key} is missing")
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise RnnTuiError(f"{where}: {key} must be a number; got {value!r}")
    return value


def _list(value: Any, key: str, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise RnnTuiError(f"{where}: {key} must be a list")
    return value


def _args(value: Any, key: str, where: str) -> tuple[str, ...]:
    args = _list(value, key, where)
    if not all(isinstance(a, str) for a in args):
        raise RnnTuiError(f"{where}: {key} must be a list of texts (a command's words)")
    return tuple(args)
