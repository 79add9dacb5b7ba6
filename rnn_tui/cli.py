"""The `rnn-tui` command: the app (bare `rnn-tui`) and the headless subcommands.

Heavy imports (torch ~1.6 s, textual ~0.3 s, jieba ~1 s on first use) happen inside the command
functions, so `rnn-tui --help` stays instant. Every user error is one line on stderr and a
non-zero exit, never a traceback.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from rnn_tui.cli_options import (
    CHECKPOINT_OPTION,
    RUNS_DIR_OPTION,
    config_options,
    echo_report,
    given_settings,
    intervention_options,
    refuse_locked_for_resume,
    value_options,
)
from rnn_tui.cli_options import print_json as _print_json
from rnn_tui.config import TOKENIZERS
from rnn_tui.decode.bleu import BLEU_TOKENIZERS, SMOOTH_DEFAULTS
from rnn_tui.decode.settings import Beam, Sampling
from rnn_tui.errors import RnnTuiError
from rnn_tui.options import SettingError
from rnn_tui.results import SPLITS
from rnn_tui.runs.rundir import COMMANDS


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"rnn-tui: error: {message}", err=True)
    sys.exit(code)


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rnn-tui")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """A terminal playground for recurrent neural networks.

    Run without a command to open the app. Every app feature is also a headless command.
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(app)


@cli.command()
@click.option("--run", "run_spec", default=None, help="Open this run (reattach if it is training).")
@click.option("--data", "data_spec", default=None, help="Open this dataset.")
@RUNS_DIR_OPTION
def app(run_spec: str | None, data_spec: str | None, runs_dir: str | None) -> None:
    """Open the Textual app (on the built-in default dataset unless --data or --run is given)."""
    from rnn_tui.data.spec import resolve
    from rnn_tui.runs.rundir import runs_root

    if data_spec:
        resolve(data_spec)  # a bad --data is one line here, not an error inside the app
    from rnn_tui.tui.app import run_app

    run_app(runs_root(runs_dir), data_spec=data_spec, open_run=run_spec)


# -- data ------------------------------------------------------------------------------------------


@cli.group()
def data() -> None:
    """List, preview and download datasets."""


@data.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def data_list(as_json: bool) -> None:
    """Built-in datasets and downloadable corpora."""
    from rnn_tui.data.spec import list_datasets

    rows = list_datasets()
    if as_json:
        _print_json(rows)
        return
    width = max(len(r["spec"]) for r in rows)
    for r in rows:
        mark = "" if r["spec"].startswith("builtin:") else ("  [downloaded]" if r["downloaded"] else "  [rnn-tui data get]")
        click.echo(f"{r['spec']:<{width}}  {r['kind']:<6}  {r['description']}{mark}")


@data.command("show")
@click.argument("spec")
@click.option("--tokenizer", type=click.Choice(TOKENIZERS), default="char", show_default=True)
@click.option("--tgt-tokenizer", type=click.Choice(TOKENIZERS), default="char", show_default=True,
              help="Target-side tokenizer for sentence pairs.")
@click.option("--encoding", default="utf-8", show_default=True)
@click.option("--label-column", default="label", show_default=True, help="Labeled texts: the label column's name.")
@click.option("--text-column", default="text", show_default=True, help="Labeled texts: the text column's name.")
@click.option("--top", default=20, show_default=True, help="How many top tokens.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def data_show(spec: str, tokenizer: str, tgt_tokenizer: str, encoding: str, label_column: str, text_column: str, top: int,
              as_json: bool) -> None:
    """Preview a dataset: sizes, vocabulary, top tokens, length histogram, sample lines (classes for labeled texts)."""
    from rnn_tui.data import spec as specs
    from rnn_tui.data import stats

    source = specs.resolve(spec, label_column, text_column)
    if source.kind == "text":
        info = stats.describe_text(specs.load_text(source, encoding), tokenizer=tokenizer, top=top)
    elif source.kind == "pairs":
        info = stats.describe_pairs(specs.load_pairs(source, encoding), src_tokenizer=tokenizer, tgt_tokenizer=tgt_tokenizer,
                                    top=top)
    elif source.kind == "labels":
        info = stats.describe_labels(specs.load_labeled(source, encoding, label_column, text_column), tokenizer=tokenizer,
                                     top=top)
    else:
        info = stats.describe_series(specs.load_series(source, encoding=encoding))
    info = {"spec": spec, "name": source.name, "description": source.description, **info}
    if as_json:
        _print_json(info)
    else:
        from rnn_tui.cli_report import print_data_info

        print_data_info(info)


@data.command("get")
@click.argument("name")
@click.option("--url", default=None, help="Download from this URL instead (checksum still verified).")
def data_get(name: str, url: str | None) -> None:
    """Download a public corpus into the cache, verifying its checksum."""
    from rnn_tui.cli_report import download_progress
    from rnn_tui.data.download import get

    with download_progress(name) as progress:
        path = get(name, url=url, progress=progress)
    click.echo(str(path))


# -- train -----------------------------------------------------------------------------------------

@cli.command()
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None, help="Start from this config.toml.")
@config_options
@RUNS_DIR_OPTION
@click.option("--name", default=None, help="Run id (default: time, cell and data).")
@click.option("--resume", "resume_spec", default=None, help="Continue this run exactly where it stopped.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line instead of a progress bar.")
def train(config_file: str | None, task: str, runs_dir: str | None, name: str | None, resume_spec: str | None,
          as_json: bool, **flags: Any) -> None:
    """Train a model; the run directory records everything (see docs/run-directory.md).

    Every setting below is also a key of config.toml ([data], [model], [train]); a flag given
    here wins over --config. A built-in dataset brings its recommended settings for the ones
    neither gives; a dataset too small for the batch and BPTT length neither gives gets smaller
    ones (the run's start record says which and why).
    """
    from rnn_tui.config import Config
    from rnn_tui.data.spec import recommended
    from rnn_tui.runs.rundir import RunDir, runs_root
    from rnn_tui.train.distributed import SOLO, worker_world

    given = given_settings(flags)
    if click.get_current_context().get_parameter_source("task") is not ParameterSource.DEFAULT:
        given["task"] = task
    root = runs_root(runs_dir)
    world = worker_world()  # this process's rank when torchrun started it
    if resume_spec:
        if config_file:
            raise RnnTuiError("--resume continues a run with its own config; drop --config")
        refuse_locked_for_resume(given)
        run = RunDir.open(resume_spec, root)
        cfg = run.config().assign(given).validate()  # a refused value is one line here, before torch is imported
        prepared = None
    else:
        cfg = Config.load(config_file) if config_file else Config()
        chosen = set(given) | (Config.keys_in(config_file) if config_file else set())  # the user's: kept as they are
        cfg.assign(given)
        cfg.assign(recommended(cfg.data.spec, chosen))
        if world is not None:  # started by torchrun: the run records the processes it has
            cfg.train.nproc, cfg.train.nnodes = world.local_size, world.size // world.local_size
        cfg.validate()
        _check_setup(cfg)
    if world is None and cfg.train.nproc * cfg.train.nnodes > 1:
        _train_distributed(cfg, run if resume_spec else None, given, root, name, as_json)
        return
    world = world or SOLO

    from rnn_tui.cli_report import train_reporter
    from rnn_tui.train.distributed import leave
    from rnn_tui.train.trainer import prepare, train_run

    try:
        if not resume_spec:
            prepared = prepare(cfg, world, fixed=chosen)  # the data is read and the model built before the run directory exists
            created = RunDir.create(root, cfg, name=name).path if world.main else Path()
            run = RunDir(world.broadcast(created))  # rank 0 made it; the others train beside it
        with train_reporter(run, as_json) if world.main else contextlib.nullcontext() as on_event:
            train_run(run, on_event=on_event, resume=bool(resume_spec), changes=given if resume_spec else None,
                      prepared=prepared, world=world)
    finally:
        if world.size > 1:
            leave()


def _train_distributed(cfg, run, given: dict[str, Any], root, name: str | None, as_json: bool) -> None:
    """Train with torchrun: ``cfg.train.nproc`` processes here (on each of ``nnodes`` machines),
    each running `rnn-tui train` as one rank — a new run from ``cfg`` (rank 0 creates it), or
    ``run`` resumed with the ``given`` changes. Resuming on several machines needs the run at the
    same path on each (a shared file system)."""
    import tempfile

    from rnn_tui.train.device import pick_device
    from rnn_tui.train.distributed import check_gpus, launch

    check_gpus(pick_device(cfg.train.device), cfg.train.nproc)  # before torchrun: one line, not one per rank
    keep = ["--json"] if as_json else []
    if run is not None:
        flags = {f"{section}.{d.name}": d.flag for section, d in cfg.settings()}
        changes = [f"--{flags[key]}={value}" for key, value in given.items()]
        launch(cfg.train, ["train", "--resume", str(run.path.resolve()), *changes, *keep])
        return
    with tempfile.TemporaryDirectory(prefix="rnn-tui-") as tmp:  # the whole config, as each rank reads it
        config = Path(tmp) / "config.toml"
        config.write_text(cfg.to_toml(), encoding="utf-8")
        named = ["--name", name] if name else []
        launch(cfg.train, ["train", "--config", str(config), "--task", cfg.task, "--runs-dir", str(root), *named, *keep])


def _check_setup(cfg) -> None:
    """Fail before a run directory is made when the data or the device cannot be had."""
    from rnn_tui.data.spec import check_task, resolve
    from rnn_tui.train.device import pick_device

    d = cfg.data
    check_task(cfg.task, resolve(d.spec, d.label_column, d.text_column))
    pick_device(cfg.train.device)


# -- using a trained run ---------------------------------------------------------------------------


@cli.command()
@click.argument("run_spec", metavar="RUN")
@click.option("--prime", default=None, help="Text to start from (default: the start of the validation text).")
@value_options(Sampling)
@value_options(Beam, defaults={"width": None}, skip=())
@intervention_options
@CHECKPOINT_OPTION
@RUNS_DIR_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def generate(run_spec: str, prime: str | None, width: int | None, alpha: float, nbest: int, ablate: tuple[str, ...],
             clamp: tuple[str, ...], freeze_gate: tuple[str, ...], checkpoint: str, runs_dir: str | None, as_json: bool,
             **sampling: Any) -> None:
    """Generate text from a trained language model; tokens stream as they are produced.

    With --beam K: beam search instead of sampling (the most likely continuations). With
    --ablate / --clamp / --freeze-gate: the model runs with those units held at every step.
    """
    from rnn_tui.api import load_lm
    from rnn_tui.models.interventions import parse

    s = Sampling(**sampling)
    search = Beam(width=width, alpha=alpha, nbest=nbest) if width is not None else None
    interventions = parse(ablate, clamp, freeze_gate)
    model = load_lm(run_spec, runs_dir=runs_dir, tag=checkpoint)
    model.intervene(interventions)
    prime_text = prime if prime is not None else model.default_prime()
    if search is not None:
        hyps = model.beam(prime_text, beam=search.width, alpha=search.alpha, length=s.length, nbest=search.nbest)
        if as_json:
            _print_json({"prime": prime_text, "beam": search.width, "alpha": search.alpha, "hypotheses": hyps})
        else:
            for k, h in enumerate(hyps, start=1):
                click.echo(f"{k}. {prime_text}{h['text']}    (score {h['score']:.3f}, log P {h['logprob']:.3f})")
        return
    if as_json:
        tokens = list(model.generate(prime_text, s))
        _print_json({"prime": prime_text, "tokens": [t["token"] for t in tokens], "probs": [t["prob"] for t in tokens],
                     "text": model.detokenize([t["token"] for t in tokens])})
        return
    from rnn_tui.cli_report import stream_generation

    stream_generation(prime_text, model.generate(prime_text, s), model)


@cli.command()
@click.argument("run_spec", metavar="RUN")
@click.argument("text", required=False)
@click.option("--file", "path", type=click.Path(dir_okay=False), default=None, help="Score this file's text.")
@click.option("--data", "data_spec", metavar="SPEC", default=None,
              help="Score the start of this text dataset (e.g. builtin:brackets).")
@click.option("--chars", type=click.IntRange(min=2), default=20_000, show_default=True,
              help="With --data: how many characters from its start.")
@intervention_options
@click.option("--class", "classes", multiple=True, metavar="NAME=CHARS",
              help="With an intervention: group the predicted tokens by these characters (repeatable; \\n \\t \\s "
                   "for newline, tab, space; the rest is `rest`) [default: close )]}, open ([{, letter, digit, space, "
                   "punct].")
@CHECKPOINT_OPTION
@RUNS_DIR_OPTION
@click.option("--top", default=10, show_default=True, help="How many most surprising tokens to list.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def score(run_spec: str, text: str | None, path: str | None, data_spec: str | None, chars: int, ablate: tuple[str, ...],
          clamp: tuple[str, ...], freeze_gate: tuple[str, ...], classes: tuple[str, ...], checkpoint: str,
          runs_dir: str | None, top: int, as_json: bool) -> None:
    """Probability, perplexity and bits per token of TEXT (or - for stdin) under a language model.

    With --ablate / --clamp / --freeze-gate: the loss (nats/token) without and with the
    intervention, per class of the predicted token, the change, and each change as a multiple of
    the change on the other tokens.
    """
    from rnn_tui.api import load_lm
    from rnn_tui.decode.score import parse_classes
    from rnn_tui.models.interventions import parse

    interventions = parse(ablate, clamp, freeze_gate)
    groups = parse_classes(classes)
    if classes and not interventions:
        raise RnnTuiError("--class groups the change an intervention makes; give --ablate, --clamp or --freeze-gate")
    if data_spec is not None:
        if text is not None or path is not None:
            raise RnnTuiError("give TEXT, --file or --data, not two of them")
        from rnn_tui.data.spec import load_text, resolve

        text = load_text(resolve(data_spec))[:chars]
    else:
        text = _read_text_arg(text, path)
    model = load_lm(run_spec, runs_dir=runs_dir, tag=checkpoint)
    if interventions:
        effect = model.intervention_effect(text, interventions, groups)
        if as_json:
            _print_json(effect)
        else:
            _print_effect(effect)
        return
    result = model.score(text)
    if as_json:
        _print_json(result)
    else:
        from rnn_tui.cli_report import print_score

        print_score(result, top=top)


def _print_effect(effect: dict[str, Any]) -> None:
    """LoadedRun.intervention_effect as a table."""
    lines = [f"{effect['run']} with {' '.join(effect['interventions'])}: {effect['scored']:,} tokens scored",
             f"{'class':<10} {'tokens':>8} {'without':>8} {'with':>8} {'change':>8} {'ratio':>8}"]
    for row in effect["classes"]:
        ratio = f"{row['ratio']:.1f}×" if row["ratio"] is not None else "-"
        lines.append(f"{row['name']:<10} {row['tokens']:>8,} {row['without']:>8.3f} {row['with']:>8.3f} "
                     f"{row['change']:>+8.3f} {ratio:>8}")
    lines.append("loss in nats/token of the predicted token; ratio: the change ÷ the change on every other token")
    echo_report(lines)


@cli.command()
@click.argument("run_spec", metavar="RUN")
@click.argument("text", required=False)
@click.option("--file", "path", type=click.Path(dir_okay=False), default=None, help="Inspect this file's text.")
@click.option("--target", default=None,
              help="A translation run: force this target (else `SOURCE => TARGET` in TEXT, else greedy).")
@click.option("--layer", type=int, default=None, help="Only this layer (0-based).")
@click.option("--topk", default=5, show_default=True, help="Next-token candidates per step.")
@click.option("--origin", default=None,
              help="A forecaster: the window's last point, a date as the data writes it, a point number or `end` "
                   "[default: the last point with a whole horizon after it].")
@CHECKPOINT_OPTION
@RUNS_DIR_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def inspect(run_spec: str, text: str | None, path: str | None, target: str | None, layer: int | None, topk: int,
            origin: str | None, checkpoint: str, runs_dir: str | None, as_json: bool) -> None:
    """Step through TEXT token by token: h, c, every gate, and the next-token top-k. For a
    translation run TEXT is the source: the encoder (both ways), the decoder and the attention.
    For a classifier: the class probabilities after each prefix, how much each token moved the
    decision (log-odds), the tokens that moved it most and the attention weights. For a
    forecaster (no TEXT): the window of its series ending at --origin, step by step, and the
    forecast from there beside the truth and the baselines'."""
    from click.core import ParameterSource

    from rnn_tui.api import USES, LoadedClassifier, LoadedForecaster, LoadedRun, load_any

    model = load_any(run_spec, runs_dir=runs_dir, tag=checkpoint)
    ctx = click.get_current_context()
    topk_given = ctx.get_parameter_source("topk") is not ParameterSource.DEFAULT
    if isinstance(model, LoadedForecaster):
        if text is not None or path is not None:
            raise RnnTuiError(f"{model.run.id} is a forecaster: it reads a window of its series, not text; choose the "
                              "window's last point with --origin DATE|POINT|end")
        for flag, given in (("--target", target is not None), ("--topk", topk_given)):
            if given:
                raise RnnTuiError(f"{flag} is for language models and translators; {model.run.id} is a forecaster")
        result = model.inspect(origin, layer=layer)
    elif origin is not None:
        raise RnnTuiError(f"--origin is for forecasters; {model.run.id} is {USES[model.config.task][0]}")
    elif isinstance(model, LoadedClassifier):
        text = _read_text_arg(text, path)
        for flag, given in (("--target", target is not None), ("--topk", topk_given)):
            if given:
                raise RnnTuiError(f"{flag} is for language models and translators; {model.run.id} is a classifier")
        result = model.inspect(text, layer=layer)
    elif isinstance(model, LoadedRun):
        text = _read_text_arg(text, path)
        if target is not None:
            raise RnnTuiError(f"--target is for translation runs; {model.run.id} is a language model")
        result = model.inspect(text, layer=layer, topk=topk)
    else:
        result = model.inspect(_read_text_arg(text, path), target=target, layer=layer, topk=topk)
    if as_json:
        _print_json(result)
    else:
        from rnn_tui.cli_report import print_inspect

        print_inspect(result)


@cli.command()
@click.argument("run_spec", metavar="RUN")
@click.argument("text", required=False)
@value_options(Beam)
@click.option("--max-len", type=int, default=None, help="Most target tokens [default: 2 × source tokens + 10].")
@click.option("--split", type=click.Choice(SPLITS), default=None,
              help="Translate the run's held-out split instead of TEXT and report corpus BLEU.")
@click.option("--tokenize", type=click.Choice(BLEU_TOKENIZERS), default="zh", show_default=True,
              help="BLEU tokenization for --split.")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="With --split: write the hypotheses here, one per line.")
@CHECKPOINT_OPTION
@RUNS_DIR_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object per sentence).")
def translate(run_spec: str, text: str | None, width: int, alpha: float, nbest: int, max_len: int | None,
              split: str | None, tokenize: str, out: str | None, checkpoint: str, runs_dir: str | None,
              as_json: bool) -> None:
    """Translate TEXT (or - for stdin, one sentence per line) with a seq2seq run: greedy or beam
    search, the n-best with scores, the attention of the best; or --split test for corpus BLEU."""
    from rnn_tui.api import load_translator

    search = Beam(width=width, alpha=alpha, nbest=nbest)
    beam = search.width
    model = load_translator(run_spec, runs_dir=runs_dir, tag=checkpoint)
    if split:
        if text:
            raise RnnTuiError("give TEXT or --split, not both")
        result = model.evaluate(split, beam=beam, alpha=alpha, tokenize=tokenize)
        if out:
            from pathlib import Path

            Path(out).write_text("\n".join(result["hypotheses"]) + "\n", encoding="utf-8")
        if as_json:
            _print_json({k: v for k, v in result.items() if k not in ("sources", "hypotheses", "references")})
        else:
            how = "greedy" if beam == 1 else f"beam {beam}, α {alpha}"
            click.echo(f"{result['run']} {split} ({result['pairs']} pairs, {how}): "
                       f"{result['summary']} · exact match {100 * result['exact_match']:.1f}%")
        return
    sentences = _lines_arg(text, "translate", "sentence")
    for sentence in sentences:
        translation = model.translate(sentence, beam=beam, alpha=alpha, nbest=nbest, max_len=max_len)
        if as_json:
            _print_json(translation)
        else:
            from rnn_tui.cli_report import print_translation

            print_translation(translation, show_all=nbest > 1 or len(sentences) == 1)


@cli.command()
@click.argument("run_spec", metavar="RUN")
@click.argument("text", required=False)
@click.option("--split", type=click.Choice(SPLITS), default=None,
              help="Classify the run's held-out split instead of TEXT: accuracy, macro-F1, confusion matrix, baselines.")
@CHECKPOINT_OPTION
@RUNS_DIR_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object per text).")
def classify(run_spec: str, text: str | None, split: str | None, checkpoint: str, runs_dir: str | None,
             as_json: bool) -> None:
    """The class of TEXT (or - for stdin, one text per line) and every class's probability, with a
    classification run; or --split test for its scores beside the baselines of the run."""
    from rnn_tui.api import load_classifier

    model = load_classifier(run_spec, runs_dir=runs_dir, tag=checkpoint)
    if split:
        if text:
            raise RnnTuiError("give TEXT or --split, not both")
        result = model.evaluate(split)
        if as_json:
            _print_json(result)
        else:
            from rnn_tui.cli_report import print_class_scores

            print_class_scores(result)
        return
    texts = _lines_arg(text, "classify", "text")
    for result in model.classify_batch(texts):
        if as_json:
            _print_json(result)
        else:
            from rnn_tui.cli_report import print_classification

            print_classification(result)


@cli.command()
@click.argument("run_spec", metavar="RUN")
@click.option("--steps", type=int, default=None, help="How many values after the series [default: the run's horizon].")
@click.option("--split", type=click.Choice(SPLITS), default=None,
              help="Instead: the errors of the forecasts from every origin of the run's held-out part, beside the "
                   "baselines'.")
@CHECKPOINT_OPTION
@RUNS_DIR_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def forecast(run_spec: str, steps: int | None, split: str | None, checkpoint: str, runs_dir: str | None,
             as_json: bool) -> None:
    """The next values after the end of a forecasting run's series (dates continued when it has a
    date column); or --split test for the model's RMSE, MAE and MAPE beside every baseline's and
    its ratio to the best one."""
    from rnn_tui.api import load_forecaster

    model = load_forecaster(run_spec, runs_dir=runs_dir, tag=checkpoint)
    if split:
        if steps is not None:
            raise RnnTuiError("give --steps or --split, not both")
        scores = model.evaluate(split)
        if as_json:
            _print_json(scores)
        else:
            from rnn_tui.cli_report import print_forecast_scores

            print_forecast_scores(scores)
        return
    result = model.forecast(steps)
    if as_json:
        _print_json(result)
    else:
        from rnn_tui.cli_report import print_forecast

        print_forecast(result)


@cli.command()
@RUNS_DIR_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def runs(runs_dir: str | None, as_json: bool) -> None:
    """List the runs: state, step, validation loss, model and data."""
    from rnn_tui.runs.rundir import list_runs, runs_root

    rows = [r.summary() for r in list_runs(runs_root(runs_dir))]
    if as_json:
        _print_json(rows)
    else:
        from rnn_tui.cli_report import print_runs

        print_runs(rows, runs_root(runs_dir))


@cli.command()
@click.argument("run_spec", metavar="RUN")
@click.argument("command", type=click.Choice(COMMANDS))
@click.argument("value", required=False, type=float)
@RUNS_DIR_OPTION
def control(run_spec: str, command: str, value: float | None, runs_dir: str | None) -> None:
    """Send a running training a command: pause, resume, stop, or set-lr VALUE."""
    from rnn_tui.runs.rundir import LIVE_STATES, RunDir, runs_root

    run = RunDir.open(run_spec, runs_root(runs_dir))
    state = run.read_status().get("state")
    if state not in LIVE_STATES:
        raise RnnTuiError(f"run {run.id} is {state}, not training; `rnn-tui train --resume {run.id}` continues it")
    if command == "set-lr":
        if value is None:
            raise RnnTuiError("set-lr needs a value, e.g. `rnn-tui control RUN set-lr 0.001`")
        run.send(command, lr=value)
    else:
        run.send(command)
    click.echo(f"sent {command} to {run.id}")


@cli.command()
@click.argument("hyp_file", metavar="HYP_FILE")
@click.argument("ref_files", metavar="REF_FILE...", nargs=-1, required=True)
@click.option("--tokenize", type=click.Choice(BLEU_TOKENIZERS), default="13a", show_default=True,
              help="13a: mteval-v13a (WMT's default); zh: Chinese characters one by one; char: every character.")
@click.option("--smooth", type=click.Choice(tuple(SMOOTH_DEFAULTS)), default="exp", show_default=True)
@click.option("--lowercase", is_flag=True, help="Case-insensitive BLEU.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bleu(hyp_file: str, ref_files: tuple[str, ...], tokenize: str, smooth: str, lowercase: bool, as_json: bool) -> None:
    """Corpus BLEU of HYP_FILE against REF_FILEs, as sacrebleu computes it.

    Files are UTF-8, one sentence per line; several REF_FILEs are several references per line.
    """
    from rnn_tui.decode.bleu import corpus_bleu

    hyps = _read_lines(hyp_file)
    refs = [_read_lines(path) for path in ref_files]
    for path, lines in zip(ref_files, refs):
        if len(lines) != len(hyps):
            raise RnnTuiError(f"{hyp_file} has {len(hyps)} lines but {path} has {len(lines)}; "
                              "BLEU needs one reference line per hypothesis line")
    result = corpus_bleu(hyps, refs, tokenize=tokenize, smooth=smooth, lowercase=lowercase)
    if as_json:
        _print_json({"score": result.score, "precisions": result.precisions, "bp": result.bp, "ratio": result.ratio,
                     "hyp_len": result.sys_len, "ref_len": result.ref_len, "tokenize": tokenize, "smooth": smooth})
    else:
        click.echo(result.format())


def _read_lines(path: str) -> list[str]:
    """The lines of a UTF-8 file (a BOM dropped), without their "\\n"; nothing else is stripped."""
    from pathlib import Path

    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise RnnTuiError(f"no such file: {path}") from None
    except OSError as exc:
        raise RnnTuiError(f"cannot read {path}: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RnnTuiError(f"{path}: not valid UTF-8 at byte {exc.start} (0x{data[exc.start]:02x})") from None
    lines = text.removeprefix("\ufeff").split("\n")
    if lines[-1] == "":
        lines.pop()  # the newline that ends the last line starts no line
    return lines


def _lines_arg(text: str | None, verb: str, noun: str) -> list[str]:
    """TEXT as one line, or ``-``: stdin's non-blank lines; one clear line when there is none."""
    if text is None:
        raise RnnTuiError(f"give a {noun} to {verb}, - for stdin, or --split test")
    lines = [line for line in (sys.stdin.read().splitlines() if text == "-" else [text]) if line.strip()]
    if not lines:
        raise RnnTuiError(f"nothing to {verb}: no {noun} given (empty text or empty stdin)")
    return lines


def _read_text_arg(text: str | None, path: str | None) -> str:
    if path:
        from rnn_tui.data.text import read_text

        return read_text(path)
    if text is None or text == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise RnnTuiError("give TEXT, `-` with text on stdin, or --file PATH")
        text = sys.stdin.read()
    if not text.strip():
        raise RnnTuiError("the text is empty")
    return text


# each command module registers its command on `cli` (cli_arena, cli_gradients, cli_recipe and cli_serve
# import this module; cli_units does not, so it is added here)
import rnn_tui.cli_arena  # noqa: E402
import rnn_tui.cli_gradients  # noqa: E402
import rnn_tui.cli_recipe  # noqa: E402
import rnn_tui.cli_serve  # noqa: E402, F401
from rnn_tui.cli_units import units  # noqa: E402

cli.add_command(units)


def main() -> None:
    """Entry point: run the click group, turning every user error into one line."""
    try:
        cli.main(standalone_mode=False)
    except SettingError as exc:
        _fail(f"{exc.message} (--{exc.flag})" if exc.flag else exc.message)
    except RnnTuiError as exc:
        _fail(exc.message)
    except click.ClickException as exc:
        ctx = getattr(exc, "ctx", None)  # a UsageError knows its command
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        _fail(exc.format_message().replace("\n", " ") + hint, code=exc.exit_code)
    except click.exceptions.Abort:
        _fail("aborted", code=130)
    except KeyboardInterrupt:
        _fail("interrupted", code=130)
    except BrokenPipeError:
        sys.exit(0)
    except OSError as exc:  # a last resort: the places that can fail say more (a full disk, a folder not allowed)
        where = f"{exc.filename}: " if exc.filename is not None else ""
        _fail(f"{where}{exc.strerror or exc}")
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)

