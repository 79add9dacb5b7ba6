"""`rnn-tui gradients`: how much of a loss at the last step reaches each earlier state
(inspect/gradients.py), for a trained run or a freshly initialised cell; ``--bptt`` adds the
backward pass step by step (inspect/bptt.py). Torch is imported inside the command.

The command registers itself on cli.py's group, which imports this module at its end: either
module can be imported first (this one imports cli.py's helpers, defined before that line)."""

from __future__ import annotations

from typing import Any

import click

from rnn_tui.cli import CHECKPOINT_OPTION, RUNS_DIR_OPTION, _print_json, cli
from rnn_tui.cli_options import echo_report
from rnn_tui.errors import RnnTuiError

FRESH_ONLY = ("hidden", "init", "forget_bias")  # what describes a fresh cell; a run has its own


@cli.command()
@click.argument("run_spec", metavar="[RUN]", required=False)
@click.argument("text", required=False)
@click.option("--cell", default=None, help="Instead of a run: a freshly initialised cell (rnn, rnn-relu, gru, lstm, "
                                            "peephole-lstm) on random N(0, 1) inputs.")
@click.option("--data", "data_spec", default=None, help="A language model: windows of this dataset's text "
                                                          "[default: the run's validation text].")
@click.option("--hidden", type=int, default=64, show_default=True, help="--cell: its units.")
@click.option("--init", default="default", show_default=True, help="--cell: default, xavier or orthogonal.")
@click.option("--forget-bias", type=float, default=0.0, show_default=True, help="--cell lstm: the forget gate's bias.")
@click.option("--steps", type=int, default=100, show_default=True, help="T: the steps of each sequence.")
@click.option("--sequences", type=int, default=16, show_default=True, help="How many sequences (windows) to average.")
@click.option("--seed", type=int, default=0, show_default=True, help="For the fresh cell, its inputs and the readout u.")
@click.option("--bptt", is_flag=True, help="Also the backward pass step by step (use a short --steps).")
@CHECKPOINT_OPTION
@RUNS_DIR_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (every step and distance).")
def gradients(run_spec: str | None, text: str | None, cell: str | None, data_spec: str | None, hidden: int, init: str,
              forget_bias: float, steps: int, sequences: int, seed: int, bptt: bool, checkpoint: str,
              runs_dir: str | None, as_json: bool) -> None:
    """‖∂L_T/∂h_k‖ for every step k ≤ T and its decay over the distance d = T − k (the mean over
    sequences of ‖∂L_T/∂h_{T−d}‖ / ‖∂L_T/∂h_T‖): does the gradient vanish, survive or explode?

    For a language model L_T is its loss at the last step, on TEXT, on windows of --data or of its
    validation text; for a classifier, a translation encoder (TEXT) or a forecaster (its validation
    windows) L_T = uᵀh_T with a fixed random unit u. With --cell instead of RUN: a fresh cell."""
    from click.core import ParameterSource

    ctx = click.get_current_context()
    given = {name for name in FRESH_ONLY if ctx.get_parameter_source(name) is not ParameterSource.DEFAULT}
    result = _fresh(cell, run_spec, text, data_spec, hidden, init, forget_bias, steps, sequences, seed, bptt) \
        if cell is not None else _trained(run_spec, text, data_spec, given, steps, sequences, seed, bptt, checkpoint, runs_dir)
    if as_json:
        _print_json(result)
    else:
        print_gradients(result)


def _fresh(cell: str, run_spec: str | None, text: str | None, data_spec: str | None, hidden: int, init: str,
           forget_bias: float, steps: int, sequences: int, seed: int, bptt: bool) -> dict[str, Any]:
    from rnn_tui.inspect.gradients import UNIT_READOUT, fresh_cell

    if run_spec is not None or text is not None or data_spec is not None:
        raise RnnTuiError("--cell reads random N(0, 1) inputs: give RUN, TEXT and --data only for a trained run")
    rnn, x, u = fresh_cell(cell, hidden, steps, init, forget_bias, sequences=sequences, seed=seed)
    where = {"init": init, "forget_bias": forget_bias, "seed": seed}
    return _result(rnn, x, u, UNIT_READOUT, "random N(0, 1) inputs", bptt, where)


def _trained(run_spec: str | None, text: str | None, data_spec: str | None, given: set[str], steps: int,
             sequences: int, seed: int, bptt: bool, checkpoint: str, runs_dir: str | None) -> dict[str, Any]:
    from rnn_tui.api import load_any
    from rnn_tui.inspect.gradients import run_inputs

    if run_spec is None:
        raise RnnTuiError("give a RUN, or --cell CELL for a freshly initialised one")
    if given:
        flags = ", ".join("--" + name.replace("_", "-") for name in sorted(given))
        raise RnnTuiError(f"{flags} describe a fresh cell (--cell); a run has its own")
    if text is not None and not text.strip():
        raise RnnTuiError("the text is empty")
    loaded = load_any(run_spec, runs_dir=runs_dir, tag=checkpoint)
    rnn, x, readout, loss, source = run_inputs(loaded, text, data_spec, steps, sequences, seed)
    return _result(rnn, x, readout, loss, source, bptt, {"run": loaded.run.id, "checkpoint": checkpoint})


def _result(rnn, x, readout, loss: str, source: str, bptt: bool, where: dict[str, Any]) -> dict[str, Any]:
    from rnn_tui.inspect.bptt import bptt_account
    from rnn_tui.inspect.gradients import report

    result = {**where, **report(rnn, x, readout, loss, source)}
    if bptt:
        result["bptt"] = bptt_account(rnn, x, readout)
    return result


def print_gradients(r: dict[str, Any]) -> None:
    what = f"run {r['run']} ({r['checkpoint']})" if "run" in r else \
        f"a fresh cell (init {r['init']}, forget bias {r['forget_bias']:g}, seed {r['seed']})"
    lines = [f"{r['cell']} {r['layers']}×{r['hidden']}, {what}: T = {r['steps']}, {r['sequences']} sequences of "
             f"{r['source']}", f"loss: {r['loss']}", f"{'d':>5}  {'mean ratio':>11}  {'geo mean':>11}  {'p10':>11}  {'p90':>11}"]
    lines += [f"{row['d']:>5}  {row['mean']:>11.3e}  {row['geomean']:>11.3e}  {row['p10']:>11.3e}  {row['p90']:>11.3e}"
              for row in r["table"]]
    echo_report([*lines, r["reading"]])
    if "bptt" in r:
        print_account(r["bptt"])


def print_account(a: dict[str, Any]) -> None:
    click.echo(f"\nBPTT by hand ({a['cell']}, top layer), means over the sequences:")
    for line in a["equations"]:
        click.echo(f"  {line}")
    names = a["factors"]
    click.echo(f"{'k':>5} {'d':>4}  {'‖δ_k‖':>10}  {'/‖δ_T‖':>10}  {'/‖δ_k+1‖':>9}" + "".join(f"  {n:>10}" for n in names))
    for row in a["rows"]:
        step = "" if row["step"] is None else f"{row['step']:.4f}"
        click.echo(f"{row['k']:>5} {row['d']:>4}  {row['delta']:>10.3e}  {row['ratio']:>10.3e}  {step:>9}"
                   + "".join(f"  {row[n]:>10.4g}" for n in names))
