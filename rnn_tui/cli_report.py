"""How the headless commands print: rich progress bars and tables, or JSON lines.

Part of the CLI layer (it imports Rich); the core never imports this module.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Column, Table
from rich.text import Text

from rnn_tui.display import prob_style, visible_token
from rnn_tui.runs.records import best_baseline, best_forecast_baseline

if TYPE_CHECKING:
    from rnn_tui.api import LoadedRun
    from rnn_tui.results import Forecast, ForecastEvaluation, GeneratedToken, Score, Translation
    from rnn_tui.runs.records import Adjusted, Event, RunSummary
    from rnn_tui.runs.rundir import RunDir

console = Console()
err_console = Console(stderr=True)


# -- train -----------------------------------------------------------------------------------------


def adjusted_line(adjusted: Adjusted) -> str:
    """The one line that says which settings a new run fitted to a small dataset, and why."""
    from rnn_tui.config import Config

    flags = {f"{section}.{d.name}": d.flag for section, d in Config().settings()}
    used = ", ".join(f"--{flags.get(key, key)} {asked} → {now}" for key, (asked, now) in adjusted["settings"].items())
    return f"note: {adjusted['why']}; using {used} (give them to choose)"


@contextlib.contextmanager
def train_reporter(run: RunDir, as_json: bool) -> Iterator[Callable[[Event], None]]:
    """An ``on_event`` callback: JSON lines with ``--json``, else a live progress bar. Its line
    shows the loss, tokens/s and the latest validation: the loss for a language model or a
    translator (perplexity beside the training loss), accuracy and macro-F1 beside the best
    baseline's accuracy for a classifier, RMSE and MAE in the series' units beside the best
    baseline's RMSE for a forecaster."""
    if as_json:
        def emit(event: Event) -> None:
            sys.stdout.write(json.dumps({"run": run.id, **event}, ensure_ascii=False) + "\n")
            sys.stdout.flush()

        yield emit
        return

    progress = Progress(  # the run id whole, a short bar, the validation before the speed: what a narrow line cuts is the speed
        TextColumn("[bold]{task.description}", table_column=Column(no_wrap=True, min_width=len(run.id))),
        BarColumn(bar_width=10), TaskProgressColumn(table_column=Column(no_wrap=True, min_width=4)),
        TextColumn("{task.fields[info]}", table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1)),
        TimeRemainingColumn(table_column=Column(no_wrap=True, min_width=7)), console=err_console, transient=False,
        expand=True,
    )
    task = progress.add_task(run.id, total=1.0, info="starting…")
    last_progress, last_train, last_speed = 0.0, "", ""  # of the latest train event: progress, "step · loss", " · ppl · tok/s"
    last_val, last_acc = "", ""  # the latest validation: its part of the bar's line; a classifier's accuracy, a forecaster's RMSE
    per_text, forecaster = False, False  # from the start event: a classifier or a forecaster (no perplexity), a forecaster
    baseline = ""  # from the start event: " (baseline 82.2%)", the best one's (a forecaster's: " (baseline AR(12) 7.51)")

    def show(event: Event) -> None:
        nonlocal last_progress, last_train, last_speed, last_val, last_acc, per_text, forecaster, baseline
        if event["event"] == "start":
            per_text, forecaster = event["task"] in ("classify", "forecast"), event["task"] == "forecast"
            baselines = event.get("baselines", {})
            if forecaster:
                best_error = best_forecast_baseline(baselines)
                baseline = f" (baseline {baseline_name(best_error[0], baselines)} {best_error[1]:.4g})" if best_error else ""
            else:
                best = best_baseline(event.get("baselines", {}))
                baseline = f" (baseline {best[1]:.1%})" if best else ""
            progress.start()  # not before: a run that fails to start prints its one error line only
            what = (f"{event.get('train_points', 0):,} / {event.get('val_points', 0):,} / {event.get('test_points', 0):,} "
                    "points (train / val / test)" if forecaster
                    else f"vocab {event['vocab']} · {event['train_tokens']:,} training tokens")
            progress.console.print(f"run [bold]{run.id}[/] · {event['params']:,} parameters · {what} · {event['device']} · "
                                   f"{event['threads']} thread(s)")
            if "adjusted" in event:
                progress.console.print(adjusted_line(event["adjusted"]), markup=False, highlight=False, soft_wrap=True)
            if forecaster:
                for name, scores in baselines.items():
                    if "val_rmse" in scores:
                        name = baseline_name(name, baselines)
                        progress.console.print(f"  baseline {name:<34} val RMSE {scores['val_rmse']:.4g}")
            if "classes" in event:
                progress.console.print(f"{len(event['classes'])} classes · {event.get('train_texts', 0):,} / "
                                       f"{event.get('val_texts', 0):,} / {event.get('test_texts', 0):,} texts (train / val / "
                                       f"test) · {event.get('duplicates_removed', 0)} duplicates removed")
                for name, scores in event.get("baselines", {}).items():
                    acc = scores.get("val_acc")
                    if acc is not None:
                        progress.console.print(f"  baseline {BASELINE_NAMES.get(name, name):<34} val accuracy {acc:.1%}")
        elif event["event"] == "train":
            last_progress = event["progress"]
            ppl = "" if per_text else f" · ppl {event['ppl']:.2f}"  # a classifier's loss is per text, a forecaster's an error
            unit = "values" if forecaster else "tok"
            last_train = f"step {event['step']} · loss {event['loss']:.3f}"
            last_speed = f"{ppl} · {event['tokens_per_s']:,.0f} {unit}/s"
            progress.update(task, completed=event["progress"], info=last_train + last_val + last_speed)
        elif event["event"] == "val":
            mark = " (best)" if event.get("best") else ""
            if "val_rmse" in event:  # a forecaster: errors in the series' units
                rmse = f"{event['val_rmse']:.4g}{baseline}"
                last_val, last_acc = f" · val RMSE {rmse}", f"RMSE {rmse}"
                progress.console.print(f"step {event['step']:>6}  val loss {event['val_loss']:.4f}  RMSE {rmse}  "
                                       f"MAE {event.get('val_mae', 0.0):.4g}{mark}")
            elif "val_acc" in event:  # a classifier: per text, not per token
                alone = f" (recurrent alone {event['val_acc_alone']:.1%})" if "val_acc_alone" in event else ""
                accuracy, f1 = f"{event['val_acc']:.1%}{alone}{baseline}", f"{event.get('val_f1', 0.0):.3f}"
                last_val, last_acc = f" · val acc {accuracy} · F1 {f1}", f"accuracy {accuracy}"
                progress.console.print(f"step {event['step']:>6}  val loss {event['val_loss']:.4f}  accuracy {accuracy}  "
                                       f"macro-F1 {f1}{mark}")
            else:
                last_val = f" · val {event['val_loss']:.3f}"
                progress.console.print(f"step {event['step']:>6}  val loss {event['val_loss']:.4f}  ppl {event['val_ppl']:.2f}  "
                                       f"bits/token {event['val_bpt']:.3f}{mark}")
            progress.update(task, info=last_train + last_val + last_speed)
        elif event["event"] == "sample":
            progress.console.print(Text(f"── sample at step {event['step']} ──", style="dim"))
            progress.console.print(Text(event["prime"] + event["text"]))
        elif event["event"] == "control":
            progress.console.print(f"[yellow]{event['cmd']}[/] at step {event['step']}")
        elif event["event"] == "end":
            progress.update(task, completed=1.0 if event["state"] == "finished" else last_progress)
            progress.stop()
            if event.get("state") == "failed":
                return
            val = event.get("val_loss")
            console.print(f"{event['state']} ({event['reason']}) at step {event['step']} · "
                          f"val loss {val:.4f}{f' · {last_acc}' if last_acc else ''}" if val is not None
                          else f"{event['state']} at step {event['step']}")
            console.print(f"run: {event['path']}")

    try:
        yield show
    finally:
        if progress.live.is_started:
            progress.stop()


# -- data ------------------------------------------------------------------------------------------


@contextlib.contextmanager
def download_progress(name: str) -> Iterator[Callable[[int, int | None], None]]:
    """A bar on stderr while downloading, erased at the end. Only on a terminal: elsewhere (a pipe,
    a log) a transient bar shows nothing, and Rich would leave a blank line before what follows."""
    progress = Progress(TextColumn(name), BarColumn(), DownloadColumn(), TransferSpeedColumn(), console=err_console,
                        transient=True, disable=not err_console.is_interactive)
    task = progress.add_task(name, total=None)

    def update(done: int, total: int | None) -> None:
        progress.update(task, completed=done, total=total)

    with progress:
        yield update


def print_data_info(info: dict[str, Any]) -> None:
    console.print(f"[bold]{info['spec']}[/] — {info.get('description', '')}")
    table = Table(show_header=False, box=None)
    for key, value in info.items():
        if isinstance(value, (int, float, str)) and key not in ("spec", "description", "name"):
            table.add_row(key, f"{value:,}" if isinstance(value, int) else str(value))
    console.print(table)
    for key in ("split",):
        if key in info:
            console.print(f"{key}: " + ", ".join(f"{k} {v:,}" for k, v in info[key].items()))
    if "top_tokens" in info:
        console.print(Text("top tokens: " + "  ".join(f"{visible_token(t)}×{c}" for t, c in info["top_tokens"])))
    for side in ("source", "target", "src", "tgt"):
        if isinstance(info.get(side), dict) and "top_tokens" in info[side]:
            console.print(Text(f"{side} vocab {info[side].get('vocab_size')}: " +
                               "  ".join(f"{visible_token(t)}×{c}" for t, c in info[side]["top_tokens"][:15])))
    if "class_counts" in info:
        classes = info["class_counts"]
        more = f"  … {len(classes) - 20} more" if len(classes) > 20 else ""
        console.print(Text("classes: " + "  ".join(f"{name} {n:,} ({share:.1%})" for name, n, share in classes[:20]) + more))
    hist = info.get("length_histogram")
    if hist:
        summary = ", ".join(f"{k} {v:,}" for k, v in info.get("length", {}).items())
        console.print(f"tokens per text ({summary}):" if info["kind"] == "labels" else "tokens per line:")
        peak = max(hist["counts"]) or 1
        for lo, hi, n in zip(hist["bins"], hist["bins"][1:], hist["counts"]):
            console.print(f"  {lo:>7g}–{hi:<7g} {'█' * max(1 if n else 0, round(30 * n / peak))} {n}")
    for sample in info.get("samples", []):
        console.print(Text(f"  │ {sample if isinstance(sample, str) else ' → '.join(sample)}"))


# -- generate, score, inspect ----------------------------------------------------------------------


def stream_generation(prime: str, tokens: Iterator[GeneratedToken], model: LoadedRun) -> None:
    console.print(Text(prime, style="bold"), end="")
    prev: list[str] = []
    shown = ""
    for tok in tokens:
        prev.append(tok["token"])
        text = model.detokenize(prev)
        new = text[len(shown):] if text.startswith(shown) else text
        shown = text
        console.print(Text(new, style=prob_style(tok["prob"])), end="")
    console.print()


def print_score(result: Score, top: int) -> None:
    line = Text()
    for token, lp in zip(result["tokens"], result["logprobs"]):
        line.append(token if token != "\n" else "⏎\n", style="dim" if lp is None else prob_style(math.exp(lp)))
    console.print(line)
    console.print(f"tokens {len(result['tokens'])} (scored {result['scored']}, unknown {result['unknown']})  "
                  f"NLL {result['nll']:.2f} nats  perplexity {result['ppl']:.3f}  bits/token {result['bpt']:.3f}")
    table = Table("position", "token", "bits", title="most surprising")
    for row in result["most_surprising"][:top]:
        table.add_row(str(row["position"]), Text(repr(result["tokens"][row["position"]])), f"{row['bits']:.2f}")
    console.print(table)


def print_inspect(result: dict[str, Any]) -> None:
    """A trace, step by step: each token, every vector of every layer (the first 8 units), the
    top-k. A translation run: the encoder (→, then ← in its reading order), the decoder, the
    attention grid."""
    if result.get("task") == "seq2seq":
        _print_translation_trace(result)
        return
    if result.get("task") == "classify":
        _print_classification_trace(result)
        return
    if result.get("task") == "forecast":
        _print_forecast_trace(result)
        return
    _print_cell(result)
    for step in result["steps"]:
        nxt = f"  next {step['next_token']!r} logp {step['next_logprob']:.2f}" if "next_token" in step else ""
        console.print(Text(f"t={step['t']:<3} {step['token']!r:<8} top: {_topk_text(step)}{nxt}"))
        _print_layers(step, result["vectors"])


def _topk_text(step: dict[str, Any]) -> str:
    return "  ".join(f"{t['token']!r} {t['prob']:.2f}" for t in step["topk"])


def _print_cell(result: dict[str, Any], model: str = "") -> None:
    shape = f"{result['layers']} layer(s) × {result['hidden']} units"
    console.print(Text(f"{result['cell']} · {shape}{model} · {result['convention']}", style="bold"))
    for eq in result["equations"]:  # equations hold [brackets]: never markup
        console.print(Text(f"  {eq}"))


def _print_layers(step: dict[str, Any], names: list[str]) -> None:
    for layer in step["layers"]:
        for name in names:
            if name in layer:
                values = layer[name]
                head = " ".join(f"{v:+.2f}" for v in values[:8])
                more = " …" if len(values) > 8 else ""
                console.print(Text(f"      L{layer['layer']} {name:<7} {head}{more}"))


def _print_forecast_trace(result: dict[str, Any]) -> None:
    """A forecaster's window step by step (the value read, as read, every vector), then the forecast."""
    _print_cell(result, f" · {result['window']} steps of {result['series']!r} up to {result['origin']['date']}")
    for step in result["steps"]:
        read = " ".join(f"{v:+.3f}" for v in step["inputs"])
        console.print(Text(f"t={step['t']:<3} {step['date']:<12} {step['value']:<10.6g} read {read}"))
        _print_layers(step, result["vectors"])
    f = result["forecast"]
    console.print(Text(f"forecast from {result['origin']['date']}:", style="bold"))
    from rnn_tui.inspect.trace import BASELINE_SHORT

    names = list(f["baselines"])
    console.print(Text(f"  {'':<12} {'model':>10} {'truth':>10}" + "".join(f" {BASELINE_SHORT.get(n, n):>10}" for n in names)))
    for h, when in enumerate(f["ahead"]):
        truth = f"{f['truth'][h]:10.5g}" if h < len(f["truth"]) else f"{'?':>10}"
        console.print(Text(f"  {when:<12} {f['model'][h]:10.5g} {truth}"
                           + "".join(f" {f['baselines'][n][h]:10.5g}" for n in names)))


def _print_translation_trace(result: dict[str, Any]) -> None:
    encoder = "bidirectional encoder" if result["bidirectional"] else "encoder"
    _print_cell(result, f" · {encoder} · attention {result['attention_kind']}")
    console.print(Text(f"source: {result['source']}"))
    if result["unknown"]:
        console.print(Text(f"not in the source vocabulary (read as <unk>): {', '.join(result['unknown'])}", style="dim"))
    how = "forced" if result["forced"] else "greedy"
    console.print(Text(f"output ({how}): {result['translation']}"))
    for title, steps in (("encoder →", result["encoder"]["forward"]),
                         ("encoder ← (its reading order: the sentence reversed)", result["encoder"]["backward"])):
        if steps is None:
            continue
        console.print(Text(title, style="bold"))
        for step in steps:
            console.print(Text(f"t={step['t']:<3} {step['token']!r:<8} (source position {step['position']})"))
            _print_layers(step, result["vectors"])
    console.print(Text("decoder", style="bold"))
    for step in result["decoder"]:
        console.print(Text(f"t={step['t']:<3} {step['input']!r:<8} → {step['output']!r} logp {step['logprob']:.2f}  "
                           f"top: {_topk_text(step)}"))
        _print_layers(step, result["vectors"])
    if result["attention"]:
        console.print(Text("attention (rows: output tokens, columns: source tokens; ░▒▓█ by weight)", style="dim"))
        console.print(_attention_table(result["source_tokens"], result["output_tokens"], result["attention"]))


SHADES = " ░▒▓█"


BAR = 30  # characters of a probability bar at p = 1
BASELINE_NAMES = {"majority": "majority class", "naive_bayes": "naive Bayes (uni+bigrams)",
                  "logreg": "logistic regression (uni+bigrams)", "persistence": "persistence (last value)",
                  "seasonal_naive": "seasonal naive (a season ago)", "ar": "AR(p)"}


def baseline_name(name: str, baselines: Mapping[str, Any]) -> str:
    """How a baseline reads (``BASELINE_NAMES``); the AR baseline with its order: ``AR(12)``."""
    order = baselines.get(name, {}).get("order")
    return f"AR({order})" if name == "ar" and order else BASELINE_NAMES.get(name, name)


def print_classification(result: dict[str, Any]) -> None:
    """The predicted class, then every class's probability as a bar, the most likely first."""
    console.print(Text.assemble((result["label"], "bold"), f"  ({result['tokens']} tokens)"))
    width = max(len(c) for c in result["probs"])
    for name, p in sorted(result["probs"].items(), key=lambda item: -item[1]):
        bar = "█" * round(p * BAR)
        console.print(Text.assemble(f"  {name:<{width}} ", (bar, prob_style(p)), f"{' ' * (BAR - len(bar))} {p:6.1%}"))


def _print_classification_trace(result: dict[str, Any]) -> None:
    """A classifier's trace: per token, the predicted class's probability after that prefix (the
    prefix classified alone) and how much the token moved its log-odds; the tokens that moved
    them most. Every layer's vectors are in --json."""
    label = result["label"]
    direction = "bidirectional · " if result["bidirectional"] else ""
    _print_cell(result, f" · {direction}pooling {result['pooling']}")
    print_classification({"label": label, "probs": result["probs"], "tokens": len(result["tokens"])})
    if result["unknown"]:
        console.print(Text(f"not in the vocabulary (read as <unk>): {', '.join(result['unknown'])}", style="dim"))
    console.print(Text("how the decision moved: each row classifies the text up to that token alone", style="dim"))
    table = Table()
    for column in ("t", "token", f"p({label})", "", "Δ log-odds", *(("α",) if result["attention"] else ())):
        table.add_column(Text(column), justify="left" if column in ("token", "") else "right")
    for step in result["steps"]:
        p = step["probs"][label]
        attention = (f"{step['attention']:.3f}",) if result["attention"] else ()
        table.add_row(str(step["t"]), Text(repr(step["token"])), f"{p:.3f}", Text("█" * round(p * 10), prob_style(p)),
                      f"{step['delta']:+.2f}", *attention)
    console.print(table)
    movers = "  ".join(f"{m['token']!r} {m['delta']:+.2f}" for m in result["movers"])
    console.print(Text(f"moved the log-odds of {label} most: {movers}"))


def print_class_scores(result: dict[str, Any]) -> None:
    """Accuracy and macro-F1 beside the run's baselines, per-class precision/recall/F1 and the confusion matrix."""
    console.print(f"{result['run']} {result['split']} ({result['texts']:,} texts): accuracy {result['accuracy']:.1%} · "
                  f"macro-F1 {result['macro_f1']:.3f} · loss {result['loss']:.4f}")
    alone = result.get("recurrent_alone")
    if alone:  # the model is the recurrent network and the n-gram expert voting together
        mark = "  ← not better than the bag of n-grams" if alone["accuracy"] <= result["baselines"].get(
            "logreg", {}).get(f"{result['split']}_acc", -1.0) else ""
        console.print(f"  {'recurrent network alone':<34} {alone['accuracy']:.1%} (macro-F1 {alone['macro_f1']:.3f})"
                      f"{mark}")
    key = f"{result['split']}_acc"
    for name, scores in result["baselines"].items():
        acc = scores.get(key)
        if acc is not None:
            mark = "  ← the model is not better" if acc >= result["accuracy"] else ""
            console.print(f"  {BASELINE_NAMES.get(name, name):<34} {acc:.1%}{mark}")
    console.print(Text("per class", style="italic"))  # a title line of its own: a table's title wraps at its width
    table = Table()
    for column in ("class", "precision", "recall", "F1", "texts"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for name, scores in zip(result["classes"], result["per_class"]):
        table.add_row(Text(name), f"{scores['precision']:.3f}", f"{scores['recall']:.3f}", f"{scores['f1']:.3f}",
                      f"{scores['support']:,}")
    console.print(table)
    console.print(Text("confusion (rows: true class, columns: predicted)", style="italic"))
    matrix = Table()
    matrix.add_column("")
    for name in result["classes"]:
        matrix.add_column(Text(name), justify="right")
    for name, row in zip(result["classes"], result["confusion"]):
        matrix.add_row(Text(name), *(f"{n:,}" for n in row))
    console.print(matrix)
    console.print(Text("accuracy by length (tokens)", style="italic"))
    lengths = Table()
    for column in ("tokens", "texts", "accuracy"):
        lengths.add_column(column, justify="right")
    for bucket in result["by_length"]:
        lengths.add_row(f"{bucket['lo']}–{bucket['hi']}", f"{bucket['texts']:,}", f"{bucket['accuracy']:.1%}")
    console.print(lengths)


def print_forecast(result: Forecast) -> None:
    """The values after the series, one per line with its date (or position)."""
    last = result["last_date"] or "the last point"
    chained = f" · chained past the horizon ({result['horizon']}): each forecast taken as the truth" if result["chained"] else ""
    console.print(f"{result['series']}: {result['steps']} step(s) after {last} ({result['last_value']:g}){chained}")
    labels = result["dates"] or [f"point {p}" for p in result["points"]]
    width = max(len(label) for label in labels)
    for label, value in zip(labels, result["values"]):
        console.print(f"  {label:<{width}}  {value:.6g}")


def print_forecast_scores(result: ForecastEvaluation) -> None:
    """The model's errors beside every baseline's, the ratio to the best one, and RMSE by step ahead."""
    console.print(f"{result['run']} {result['split']}: {result['origins']} forecasts of {result['horizon']} step(s) of "
                  f"{result['series']}, each from the true values up to its origin")
    pct = "mape" if "mape" in result["model"] else "smape"
    table = Table()
    for column in ("", "RMSE", "MSE", "MAE", pct.upper() + " %", "RMSE / model's"):
        table.add_column(column, justify="left" if not column else "right")
    model_rmse = result["model"]["rmse"]
    names = {"ar": f"AR({result['ar_order']})"}
    for name, s in (("model", result["model"]), *result["baselines"].items()):
        ratio = f"{s['rmse'] / model_rmse:.2f}" if model_rmse and name != "model" else ""
        label = names.get(name, BASELINE_NAMES.get(name, name)) + (" ← best baseline" if name == result["best_baseline"] else "")
        table.add_row(Text(label, style="bold" if name == "model" else ""), f"{s['rmse']:.4g}", f"{s['mse']:.4g}",
                      f"{s['mae']:.4g}", f"{s.get(pct, math.nan):.2f}", ratio)
    console.print(table)
    if result["ratio"] is not None:
        verdict = "better than" if result["ratio"] < 1 else "not better than"
        console.print(f"model RMSE / best baseline's ({names.get(result['best_baseline'], result['best_baseline'])}): "
                      f"[bold]{result['ratio']:.3f}[/] — {verdict} the best baseline")
    if result["horizon"] > 1:
        console.print("model RMSE by step ahead: " + "  ".join(f"{h}: {r:.4g}" for h, r in
                                                             enumerate(result["rmse_by_step"], start=1)))


def print_translation(result: Translation, show_all: bool = True) -> None:
    """The best translation; with ``show_all`` the n-best with scores and the attention grid
    (rows: output tokens and <eos>; columns: source tokens; shade ░▒▓█ by weight)."""
    best = result["hypotheses"][0]
    if not show_all:
        console.print(Text(best["text"]))
        return
    if result["unknown"]:
        err_console.print(f"not in the source vocabulary (read as <unk>): {', '.join(result['unknown'])}")
    for k, hyp in enumerate(result["hypotheses"], start=1):
        flag = "" if hyp["ended"] else "  (cut at the length limit)"
        console.print(Text(f"{k}. {hyp['text']}", style="bold" if k == 1 else ""),
                      Text(f"  score {hyp['score']:.3f}  log P {hyp['logprob']:.3f}{flag}", style="dim"))
    attention = result["attention"]
    if not attention:
        return
    console.print(Text("attention of 1. (rows: output tokens, columns: source tokens; ░▒▓█ by weight)", style="dim"))
    console.print(_attention_table(result["source_tokens"], best["tokens"] + ["<eos>"], attention))


def _attention_table(sources: list[str], outputs: list[str], attention: list[list[float]]) -> Table:
    """One row per output token, one column per source token, each weight as a shade."""
    table = Table(show_header=True, box=None, pad_edge=False, padding=(0, 1))
    table.add_column("")
    for token in sources:
        table.add_column(Text(visible_token(token)), justify="center", no_wrap=True)
    for token, row in zip(outputs, attention):
        cells = [Text(SHADES[min(4, int(w * 5))] * 2, style="bold") for w in row]
        table.add_row(Text(visible_token(token)), *cells)
    return table


RUNS_DATA_MIN = 16  # the runs table's data column, folded, is never narrower than this


def print_runs(rows: list[RunSummary], root: Path) -> None:
    """The runs as a table, its data column folded to fit; where even that does not fit the terminal
    (an 80-column one and the default run ids), without the epoch and each run's data on a dim line
    of its own under it. The id is what a user copies into the next command: never cut."""
    if not rows:
        console.print(f"no runs in {root}; start one with `rnn-tui train`")
        return
    colours = {"running": "green", "paused": "yellow", "failed": "red", "stopped": "yellow", "finished": "cyan",
               "unreadable": "red"}
    cells: list[dict[str, Text]] = [
        {"run": Text(r["id"]), "state": Text(str(r["state"]), style=colours.get(str(r["state"]), "")),
         "step": Text(str(r["step"])), "epoch": Text(f"{r['epoch']:.2f}"),
         "best val": Text(f"{r['val_loss']:.4f}" if r["val_loss"] is not None else "–"),
         "model": Text(r["model"]), "data": Text(r["reason"] or r["data"])}  # why it is unreadable
        for r in rows]
    fixed = ["run", "state", "step", "epoch", "best val", "model"]
    width = {name: max(len(name), *(c[name].cell_len for c in cells)) for name in fixed}
    if sum(width.values()) + 3 * len(fixed) + RUNS_DATA_MIN + 1 <= console.width:  # each column padded, then "│"
        table = Table(*(Column(name, no_wrap=True, min_width=width[name]) for name in fixed),
                      Column("data", overflow="fold"), show_edge=False)
        for c in cells:
            table.add_row(*c.values())
        console.print(table)
        return
    shown = [name for name in fixed if name != "epoch"]

    def line(texts: list[Text]) -> Text:
        joined = Text("  ").join(t + " " * (width[name] - t.cell_len) for name, t in zip(shown, texts))
        joined.rstrip()
        return joined

    console.print(line([Text(name, style="bold") for name in shown]))
    for c in cells:
        console.print(line([c[name] for name in shown]))
        console.print(Text("  ") + Text(c["data"].plain, style="dim"))
