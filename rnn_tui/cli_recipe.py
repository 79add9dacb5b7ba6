"""`rnn-tui recipe list|show|run`: the classic experiments (rnn_tui/recipes/*.toml), one command away.

`recipe run` runs the recipe's command lines through the same click group a shell would
(`rnn-tui train …`, then `translate …`), so a recipe trains exactly as `rnn-tui train` does, and
then prints the measured result beside the expected one.

The command registers itself on cli.py's group, which imports this module at its end."""

from __future__ import annotations

import time
from collections.abc import Mapping

import click

from rnn_tui.cli import RUNS_DIR_OPTION, cli
from rnn_tui.errors import RnnTuiError


@cli.group()
def recipe() -> None:
    """The classic experiments, reproduced: list, show and run the recipes."""


@recipe.command("list")
def recipe_list() -> None:
    """Every recipe: what it runs, the time it takes on a laptop CPU, the result to expect."""
    from rnn_tui.recipes import shipped

    rows = [(r.name, r.what, _seconds(r.seconds), _cut(r.expected.text() if r.expected.met(0) is not None else r.expected.see))
            for r in shipped()]
    widths = [max(len(row[i]) for row in [("recipe", "what", "time", "expected"), *rows]) for i in range(3)]
    for row in [("recipe", "what", "time", "expected"), *rows]:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[3])
    click.echo("`rnn-tui recipe show NAME` says more; `rnn-tui recipe run NAME` runs one")


@recipe.command("show")
@click.argument("name")
@click.option("--toml", "as_toml", is_flag=True, help="Print the recipe's file as it is (to copy and edit).")
def recipe_show(name: str, as_toml: bool) -> None:
    """A recipe: what it reproduces, the expected result, its file and the commands it runs."""
    from rnn_tui.recipes import command_line, find

    r = find(name)
    assert r.path is not None
    if as_toml:
        click.echo(r.path.read_text(encoding="utf-8"), nl=False)
        return
    click.echo(f"{r.name}: {r.title}")
    click.echo(f"reproduces: {r.reproduces}")
    if r.data_help:
        click.echo(f"data: your file (--data FILE): {r.data_help}")
    elif r.data:
        click.echo(f"data: {r.data}")
    click.echo(f"time: {_seconds(r.seconds)} ({r.seconds_note})" if r.seconds_note else f"time: {_seconds(r.seconds)}")
    if r.expected.metric:
        click.echo(f"expected: {r.expected.text()}")
    click.echo(f"you should see: {r.expected.see}")
    click.echo(f"measured: {r.expected.measured}")
    click.echo("the same as:")
    for args in r.commands("RUN" if r.then else r.name):
        click.echo(f"  {command_line(args)}")
    click.echo(f"the file: {r.path}")


@recipe.command("run")
@click.argument("name")
@click.option("--data", "data_spec", default=None, metavar="FILE",
              help="Your own copy of the data (a recipe on your file needs it).")
@click.option("--time", "seconds", type=float, default=None,
              help="A time budget in seconds (beside the recipe's budget: the first reached stops).")
@click.option("--steps", type=int, default=None, help="A step budget (beside the recipe's: the first reached stops).")
@click.option("--threads", type=int, default=None, help="CPU threads (0: choose).")
@click.option("--name", "run_name", default=None, help="The run's id [default: the recipe's name and the time].")
@RUNS_DIR_OPTION
def recipe_run(name: str, data_spec: str | None, seconds: float | None, steps: int | None, threads: int | None,
               run_name: str | None, runs_dir: str | None) -> None:
    """Run a recipe (NAME, or a recipe file NAME.toml) headless, as its `rnn-tui …` commands would,
    then print the measured result beside the expected one."""
    from rnn_tui.recipes import command_line, find, measured, missing_data, verdict

    r = find(name)
    missing = missing_data(r, data_spec)
    if missing:
        raise RnnTuiError(missing)
    budget = {"time": seconds, "steps": steps, "threads": threads}
    given = {key: value for key, value in budget.items() if value is not None}
    changes = {f"train.{key}": value for key, value in given.items()}
    run_id = run_name or f"{r.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    commands = r.commands(run_id, data_spec, changes)
    if not r.trains:  # another command: the budget flags go to it when it takes them
        if steps is not None:
            raise RnnTuiError(f"--steps is a training's budget; recipe {r.name} runs `rnn-tui {r.command[0]}`")
        commands[0] += _flags(commands[0][0], given)
    started = time.monotonic()
    for args in commands:
        args += _flags(args[0], {"runs_dir": runs_dir} if runs_dir else {})
        click.echo(f"$ {command_line(args)}", err=True)
        cli.main(args=args, standalone_mode=False)
    took = ""
    if r.trains and r.expected.metric:
        from rnn_tui.runs.rundir import RunDir, runs_root

        value, elapsed = measured(RunDir.open(run_id, runs_root(runs_dir)).read_metrics(), r.expected.metric)
        click.echo(f"recipe {r.name}: {verdict(r.expected, value)}")
        took = f"{elapsed:.0f} s of training, " if elapsed is not None else ""
    click.echo(f"recipe {r.name}: took {took}{time.monotonic() - started:.0f} s in all (the recipe says ~{_seconds(r.seconds)})")
    click.echo(f"recipe {r.name}: you should see {r.expected.see}")


def _flags(command: str, values: Mapping[str, object]) -> list[str]:
    """``values`` as flags of the rnn-tui command ``command``; one line for one it does not take."""
    found = cli.commands[command]
    params = {p.name for p in found.params}
    out: list[str] = []
    for key, value in values.items():
        flag = "--" + key.replace("_", "-")
        if key not in params:
            raise RnnTuiError(f"this recipe runs `rnn-tui {command}`, which takes no {flag}")
        out += [flag, str(value)]
    return out


def _cut(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def _seconds(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"
