"""`rnn-tui arena`: cells side by side on the same split, tokens, budget and seeds; `arena show` again.

The arena's logic is in train/arena.py (running) and runs/arena.py (the files and the table);
this module only reads the flags and prints. torch is imported inside the command. It adds
its command to the `rnn-tui` group itself, so it imports in either order with rnn_tui.cli.
"""

from __future__ import annotations

from typing import Any

import click

from rnn_tui.cli import RUNS_DIR_OPTION, _check_setup, _print_json, cli
from rnn_tui.cli_options import click_option, config_options, given_settings, value_options
from rnn_tui.config import Config
from rnn_tui.errors import RnnTuiError
from rnn_tui.options import declared, setting_of
from rnn_tui.train.arena import ArenaSettings, check_budget

JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print the table as one JSON object.")


@click.group("arena", invoke_without_command=True)
@config_options
@value_options(ArenaSettings)
@RUNS_DIR_OPTION
@click.option("--name", default=None, help="Arena id (default: arena-<time>); its runs are <id>-<cell>-s<seed>.")
@JSON_OPTION
@click.pass_context
def arena(ctx: click.Context, task: str, runs_dir: str | None, name: str | None, as_json: bool, **flags: Any) -> None:
    """Train each of --cells on the same split, tokens, budget and seeds, one after another, and
    print the table: per cell, mean ± sd over the seeds of the best validation loss, the
    parameters, tokens/s and the training seconds to a loss.

    Every contender is a normal run under the runs root (`rnn-tui runs`, inspect, generate work
    on it), grouped by <runs root>/<arena>/arena.json. --params N gives every cell the hidden
    size whose parameter count is closest to N. --probe memory trains the recall task
    builtin:recall-D at D = 4, 8, 16, … instead of --data: the longest distance each cell
    bridges. A budget is required (--time SECONDS, or --steps N). The training settings below
    are those of `rnn-tui train`; --seed is the first seed.
    """
    if ctx.invoked_subcommand is not None:
        return
    settings = ArenaSettings(**{d.name: flags.pop(d.name) for d in declared(ArenaSettings)})
    given = given_settings(flags)
    if "model.cell" in given:
        raise RnnTuiError("an arena compares cells: give them with --cells (e.g. --cells rnn,gru,lstm), not --cell")
    cfg = Config()
    cfg.task = task
    cfg.assign(given).validate()
    if settings.probe == "memory":
        if "data.spec" in given:
            raise RnnTuiError("--probe memory trains on builtin:recall-D; drop --data")
        if ctx.get_parameter_source("task") is not click.core.ParameterSource.DEFAULT:
            raise RnnTuiError("--probe memory is a classification task of its own; drop --task")
    else:
        _check_setup(cfg)
    check_budget(cfg)

    from rnn_tui.runs.arena import arena_table
    from rnn_tui.runs.rundir import runs_root
    from rnn_tui.train.arena import run_arena

    def say(line: str) -> None:
        click.echo(line, err=True)

    watch = None
    if not as_json:
        from rnn_tui.cli_report import train_reporter

        watch = lambda run: train_reporter(run, False)  # noqa: E731
    result = run_arena(cfg, settings, runs_root(runs_dir), name, watch=watch, say=say)
    _show(arena_table(result, settings.target_loss), as_json)


@arena.command("show")
@click.argument("arena_spec", metavar="ARENA")
@click_option(setting_of(ArenaSettings, "target_loss"), "target_loss")
@RUNS_DIR_OPTION
@JSON_OPTION
def show(arena_spec: str, target_loss: float | None, runs_dir: str | None, as_json: bool) -> None:
    """The table of ARENA (an id under the runs root, or a path) again, from its runs' files; an
    arena stopped or killed part-way shows what finished and lists what did not."""
    from rnn_tui.runs.arena import ArenaDir, arena_table
    from rnn_tui.runs.rundir import runs_root

    ArenaSettings(target_loss=target_loss)  # the declared bounds, one line when refused
    _show(arena_table(ArenaDir.open(arena_spec, runs_root(runs_dir)), target_loss), as_json)


def _show(table: dict[str, Any], as_json: bool) -> None:
    if as_json:
        _print_json(table)
    else:
        click.echo("\n".join(table_lines(table)))


def _pm(stat: dict[str, Any], fmt: str) -> str:
    """``mean ± sd`` (or just the mean of one value; ``-`` for none)."""
    if stat["mean"] is None:
        return "-"
    return format(stat["mean"], fmt) + (f" ± {format(stat['sd'], fmt)}" if stat["sd"] is not None else "")


def table_lines(table: dict[str, Any]) -> list[str]:
    """The table as text lines (what `rnn-tui arena` and `arena show` print)."""
    budget = table.get("budget") or {}
    spent = " / ".join(f"{budget[k]:g} {unit}" for k, unit in (("time", "s"), ("steps", "steps"), ("epochs", "epochs"))
                       if budget.get(k))
    seeds = table.get("seeds") or []
    head = (f"arena {table['arena']} · {table['data']} ({table['task']}) · {spent or 'no budget'} × "
            f"{len(seeds)} seed(s) {', '.join(map(str, seeds))} · {table['state']}")
    if table.get("params_target"):
        head += f" · equal parameters ≈ {table['params_target']:,}"
    lines = [head]
    if table.get("probe") == "memory":
        lines[0] = "memory probe " + head.removeprefix("arena ")
        lines.append(f"bridged: mean best validation accuracy over the seeds ≥ {table['threshold']:.0%} (chance 12.5%)")
        header, rows = table_cells(table)
        for c in [header, *rows]:
            lines.append(f"{c[0]:<14} {c[1]:>6} {c[2]:>10}  {c[3]:>7}  {c[4]}")
    else:
        target = table.get("target_loss")
        header, rows = table_cells(table)
        for c in [header, *rows]:
            lines.append(f"{c[0]:<14} {c[1]:>6} {c[2]:>10}  {c[3]:>16}  {c[4]:>17}  {c[5]:>22}  {c[6]}")
        if target is not None:
            lines.append(f"target loss {target:.4g}: {table['target_source']}")
    for row in table["rows"]:
        if row["runs"]:
            lines.append(f"{row['cell']} runs: {', '.join(row['runs'])}")
    if table["missing"]:
        lines.append("not finished: " + ", ".join(f"{m['run']} ({m['state']})" for m in table["missing"]))
    return lines


def table_cells(table: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """The table's column names and one row of cells per cell, as text (printed by ``table_lines``,
    shown in the app's Lab tab)."""
    if table.get("probe") == "memory":
        rows = []
        for row in table["rows"]:
            accs = "  ".join(f"{d['distance']}: " + (f"{d['accuracy']['mean']:.1%}" if d["accuracy"]["mean"] is not None
                                                       else "-") for d in row["distances"])
            longest = f"{row['longest']}" + ("" if row["concluded"] else "+?")
            rows.append([row["cell"], str(row["hidden"] or "?"), _count(row["params"]), longest, accs])
        return ["cell", "hidden", "params", "longest", "accuracy at distance"], rows
    target = table.get("target_loss")
    to = f"s to {target:.4g}" if target is not None else "s to target"
    rows = []
    for row in table["rows"]:
        t = row["time_to_target"]
        reached = f"{_pm(t, '.1f')} ({t['reached']}/{row['finished']})" if row["finished"] else "-"
        rows.append([row["cell"], str(row["hidden"] or "?"), _count(row["params"]), _pm(row["best_val_loss"], ".4f"),
                     _pm(row["tokens_per_s"], ",.0f"), reached, f"{row['finished']}/{row['planned']}"])
    return ["cell", "hidden", "params", "best val loss", "tokens/s", to, "runs"], rows


def _count(n: int | None) -> str:
    return f"{n:,}" if n is not None else "?"


cli.add_command(arena)
