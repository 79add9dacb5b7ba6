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
from rnn_tui.runs.arena import table_lines
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


cli.add_command(arena)
