"""`rnn-tui units`: the units of a language model that track a hypothesis about its text
(inspect/correlate.py does the work; this module parses and prints). Torch is imported inside
the command, so `rnn-tui units --help` stays instant."""

from __future__ import annotations

import click

from rnn_tui.cli_options import CHECKPOINT_OPTION, RUNS_DIR_OPTION, echo_report, print_json
from rnn_tui.inspect.correlate import (
    DEFAULT_ALPHA,
    DEFAULT_CHARS,
    DEFAULT_SHIFTS,
    DEFAULT_THRESHOLD,
    DEFAULT_TOP,
    UnitsReport,
)
from rnn_tui.inspect.hypotheses import HYPOTHESES


@click.command()
@click.argument("run_spec", metavar="RUN")
@click.option("--data", "data_spec", default=None,
              help="The text to read (builtin:NAME, a file, ...) [default: the run's validation text].")
@click.option("--hypothesis", "hypotheses", multiple=True, metavar="NAME",
              help=f"Test this hypothesis (repeat for more): {', '.join(HYPOTHESES)} or regex:PATTERN [default: all "
                   "but regex].")
@click.option("--top", default=DEFAULT_TOP, show_default=True, help="Units listed per hypothesis.")
@click.option("--chars", default=DEFAULT_CHARS, show_default=True, help="Read at most this many characters of the text.")
@click.option("--shifts", default=DEFAULT_SHIFTS, show_default=True,
              help="Circular shifts of each signal for the p-values (p ≥ 1 / (shifts + 1)).")
@click.option("--threshold", default=DEFAULT_THRESHOLD, show_default=True,
              help="A unit matches a hypothesis with |r| at least this (and p < --alpha).")
@click.option("--alpha", default=DEFAULT_ALPHA, show_default=True, help="The p-value a match must be under.")
@click.option("--rank", is_flag=True, help="Spearman's rank correlation in place of Pearson's r: finds units that "
                                           "track a hypothesis monotonically but not linearly (one that saturates).")
@click.option("--threads", default=0, show_default=True,
              help="CPU threads (0: torch's default; 1 is the fastest when other processes share the cores).")
@CHECKPOINT_OPTION
@RUNS_DIR_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def units(run_spec: str, data_spec: str | None, hypotheses: tuple[str, ...], top: int, chars: int, shifts: int,
          threshold: float, alpha: float, rank: bool, threads: int, checkpoint: str, runs_dir: str | None, as_json: bool) -> None:
    """The units of a character-level language model that track structure in its text: for each
    hypothesis (bracket depth, inside a quote, position in the line, indentation, inside a
    comment, digits, whitespace, a regex) the units (any layer; h, c, tanh(c) or a gate) best correlated
    with it, Pearson r and a p-value from circular shifts of the signal; the share of units that
    match some hypothesis; and how often each gate is saturated (below 0.1, above 0.9)."""
    from rnn_tui.api import load_lm
    from rnn_tui.inspect.correlate import analysis_text, find_units
    from rnn_tui.inspect.hypotheses import hypothesis
    from rnn_tui.train.device import set_threads

    for name in hypotheses:
        hypothesis(name)  # a bad name or regex fails before the model loads
    set_threads(threads)
    model = load_lm(run_spec, runs_dir=runs_dir, tag=checkpoint)
    text, where = analysis_text(model, data_spec, chars)
    report = find_units(model, text, hypotheses or tuple(HYPOTHESES), where=where, top=top, shifts=shifts,
                        threshold=threshold, alpha=alpha, rank=rank)
    if as_json:
        print_json(report.to_dict())
    else:
        echo_report(report_lines(report))


def report_lines(report: UnitsReport) -> list[str]:
    """The text report: a table per hypothesis, the share line, the saturation table."""
    s = report.settings
    lines = [f"{report.run}: {report.cell}, {report.layers} × {report.hidden} units; read {report.chars:,} characters "
             f"of {report.text}",
             f"searched {', '.join(report.vectors)} of every layer: {report.units:,} units; p from {s['shifts']:g} "
             "circular shifts of each signal", ""]
    r = "r"
    if report.statistic == "spearman":
        r = "ρ"
        lines.insert(2, "ρ: Spearman's rank correlation (Pearson's r of the ranks, ties sharing their mean rank)")
    for h in report.hypotheses:
        if h.note:
            lines += [f"{h.name}: {h.note}", ""]
            continue
        lines.append(f"{h.name}: {h.matched} unit{'s' * (h.matched != 1)} match (|{r}| ≥ {s['threshold']:g}, p < {s['alpha']:g})")
        lines.append(f"  {'layer':>5}  {'vector':<6} {'unit':>5}  {r:>7}  {'p':>7}")
        lines += [f"  {m.layer:>5}  {m.vector:<6} {m.unit:>5}  {m.r:>+7.3f}  {m.p:>7.4f}" for m in h.units]
        lines.append("")
    lines.append(f"{report.matched:,} of {report.units:,} units ({report.share:.1%}) match some hypothesis "
                 f"(|{r}| ≥ {s['threshold']:g}, p < {s['alpha']:g})")
    if not report.saturation:
        lines.append(f"gate saturation: {report.cell} has no σ gates")
        return lines
    lines += ["", f"gate saturation (σ < {s['left']:g} left, > {s['right']:g} right; a unit is saturated when so in "
              f"more than {s['saturated_share']:.0%} of the steps)",
              f"  {'layer':>5}  {'gate':<4}  {'left-sat. units':>15}  {'right-sat. units':>16}  {'mean left':>9}  "
              f"{'mean right':>10}"]
    for g in report.saturation:
        lines.append(f"  {g.layer:>5}  {g.gate:<4}  {g.left_units:>15.1%}  {g.right_units:>16.1%}  "
                     f"{sum(g.left) / len(g.left):>9.1%}  {sum(g.right) / len(g.right):>10.1%}")
    return lines
