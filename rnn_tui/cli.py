"""The `rnn-tui` command: the app (bare `rnn-tui`) and the headless subcommands.

Heavy imports (torch ~1.6 s, textual ~0.3 s, jieba ~1 s on first use) happen inside the command
functions, so `rnn-tui --help` stays instant. Every user error is one line on stderr and a
non-zero exit, never a traceback.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from rnn_tui.errors import RnnTuiError

CELL_CHOICES = ["rnn", "rnn-relu", "gru", "lstm", "peephole-lstm"]
RUNS_DIR_HELP = "Runs root (default: $RNN_TUI_RUNS or ./runs)."


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"rnn-tui: error: {message}", err=True)
    sys.exit(code)


def _print_json(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False))


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
@click.option("--runs-dir", default=None, help=RUNS_DIR_HELP)
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
@click.option("--tokenizer", type=click.Choice(["char", "word", "jieba"]), default="char", show_default=True)
@click.option("--tgt-tokenizer", type=click.Choice(["char", "word", "jieba"]), default="char", show_default=True,
              help="Target-side tokenizer for sentence pairs.")
@click.option("--encoding", default="utf-8", show_default=True)
@click.option("--top", default=20, show_default=True, help="How many top tokens.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def data_show(spec: str, tokenizer: str, tgt_tokenizer: str, encoding: str, top: int, as_json: bool) -> None:
    """Preview a dataset: sizes, vocabulary, top tokens, length histogram, sample lines."""
    from rnn_tui.data import spec as specs
    from rnn_tui.data import stats

    source = specs.resolve(spec)
    if source.kind == "text":
        info = stats.describe_text(specs.load_text(source, encoding), tokenizer=tokenizer, top=top)
    elif source.kind == "pairs":
        info = stats.describe_pairs(specs.load_pairs(source, encoding), src_tokenizer=tokenizer, tgt_tokenizer=tgt_tokenizer, top=top)
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
    from rnn_tui.data.download import get
    from rnn_tui.cli_report import download_progress

    with download_progress(name) as progress:
        path = get(name, url=url, progress=progress)
    click.echo(str(path))


# -- train -----------------------------------------------------------------------------------------

# flag name -> (section, field); the flags left unset keep the config file's (or default) value
TRAIN_FLAGS: dict[str, tuple[str, str]] = {
    "data_spec": ("data", "spec"), "tokenizer": ("data", "tokenizer"), "encoding": ("data", "encoding"),
    "val_fraction": ("data", "val_fraction"), "min_freq": ("data", "min_freq"), "max_vocab": ("data", "max_vocab"),
    "cell": ("model", "cell"), "layers": ("model", "layers"), "hidden": ("model", "hidden"),
    "embed": ("model", "embed"), "dropout": ("model", "dropout"), "tie_weights": ("model", "tie_weights"),
    "init": ("model", "init"), "forget_bias": ("model", "forget_bias"),
    "optimizer": ("train", "optimizer"), "lr": ("train", "lr"), "momentum": ("train", "momentum"),
    "weight_decay": ("train", "weight_decay"), "schedule": ("train", "schedule"), "clip": ("train", "clip"),
    "clip_mode": ("train", "clip_mode"), "batch": ("train", "batch"), "seq_len": ("train", "seq_len"),
    "batching": ("train", "batching"), "epochs": ("train", "epochs"), "steps": ("train", "steps"),
    "time_budget": ("train", "time"), "patience": ("train", "patience"), "eval_interval": ("train", "eval_interval"),
    "log_interval": ("train", "log_interval"), "sample_interval": ("train", "sample_interval"),
    "checkpoint_interval": ("train", "checkpoint_interval"), "device": ("train", "device"), "seed": ("train", "seed"),
    "threads": ("train", "threads"),
    # seq2seq
    "src_tokenizer": ("data", "src_tokenizer"), "tgt_tokenizer": ("data", "tgt_tokenizer"),
    "max_src_words": ("data", "max_src_words"), "test_size": ("data", "test_size"),
    "test_fraction": ("data", "test_fraction"), "reverse": ("data", "reverse"), "lowercase": ("data", "lowercase"),
    "attention": ("model", "attention"), "bidirectional": ("model", "bidirectional"),
    "feed_context": ("model", "feed_context"), "teacher_forcing": ("train", "teacher_forcing"),
}
# what --resume may change: the budget and where it runs
RESUME_FLAGS = {"epochs", "steps", "time_budget", "device", "threads", "patience"}


@cli.command()
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None, help="Start from this config.toml.")
@click.option("--data", "data_spec", default=None, help="builtin:NAME, a file, a folder of .txt, or a downloaded corpus.")
@click.option("--task", type=click.Choice(["lm", "seq2seq"]), default="lm", show_default=True,
              help="lm: a language model on text; seq2seq: translation on source<TAB>target pairs.")
@click.option("--tokenizer", type=click.Choice(["char", "word", "jieba"]), default=None, help="[default: char]")
@click.option("--encoding", default=None, help="Text encoding of the data file [default: utf-8].")
@click.option("--val-fraction", type=float, default=None, help="Last fraction of the text for validation [default: 0.1].")
@click.option("--min-freq", type=int, default=None, help="Rarer tokens become <unk> [default: 1].")
@click.option("--max-vocab", type=int, default=None, help="Keep the N most frequent tokens; 0 = all [default: 0].")
@click.option("--test-fraction", type=float, default=None, help="Fraction held out for testing [default: 0].")
@click.option("--lowercase/--no-lowercase", default=None, help="Lowercase the text (seq2seq: the source) [default: no].")
@click.option("--src-tokenizer", type=click.Choice(["char", "word", "jieba"]), default=None, help="seq2seq source side [default: word].")
@click.option("--tgt-tokenizer", type=click.Choice(["char", "word", "jieba"]), default=None, help="seq2seq target side [default: char].")
@click.option("--max-src-words", type=int, default=None, help="seq2seq: drop pairs with longer sources; 0 = keep all [default: 0].")
@click.option("--test-size", type=int, default=None, help="seq2seq: hold out exactly N random pairs for testing [default: 0].")
@click.option("--reverse/--no-reverse", default=None, help="seq2seq: the second column is the source [default: no].")
@click.option("--cell", type=click.Choice(CELL_CHOICES), default=None, help="[default: lstm]")
@click.option("--layers", type=int, default=None, help="[default: 1]")
@click.option("--hidden", type=int, default=None, help="[default: 512]")
@click.option("--embed", type=int, default=None, help="Embedding size; 0 = one-hot input [default: 64].")
@click.option("--dropout", type=float, default=None, help="[default: 0]")
@click.option("--tie-weights/--no-tie-weights", default=None, help="Share embedding and output weights.")
@click.option("--init", type=click.Choice(["default", "xavier", "orthogonal"]), default=None, help="[default: default]")
@click.option("--forget-bias", type=float, default=None, help="LSTM forget-gate bias (1 is the classic choice) [default: 0].")
@click.option("--attention", type=click.Choice(["none", "additive", "dot", "general"]), default=None,
              help="seq2seq: none (context = final encoder state), additive (Bahdanau), dot / general (Luong) [default: additive].")
@click.option("--bidirectional/--no-bidirectional", default=None, help="seq2seq: the encoder reads both ways [default: no].")
@click.option("--feed-context/--no-feed-context", default=None,
              help="seq2seq, --attention none: feed the context to every decoder step [default: yes].")
@click.option("--teacher-forcing", type=float, default=None,
              help="seq2seq: probability of feeding the reference token; < 1 is scheduled sampling [default: 1].")
@click.option("--optimizer", type=click.Choice(["sgd", "adam", "adamw", "rmsprop", "adagrad"]), default=None, help="[default: adam]")
@click.option("--lr", type=float, default=None, help="[default: 0.002]")
@click.option("--momentum", type=float, default=None, help="SGD/RMSprop momentum [default: 0].")
@click.option("--weight-decay", type=float, default=None, help="[default: 0]")
@click.option("--schedule", type=click.Choice(["constant", "step", "cosine", "inverse-time", "plateau"]), default=None, help="[default: cosine]")
@click.option("--clip", type=float, default=None, help="Gradient clipping threshold; 0 = off [default: 1].")
@click.option("--clip-mode", type=click.Choice(["norm", "value"]), default=None, help="[default: norm]")
@click.option("--batch", type=int, default=None, help="[default: 32]")
@click.option("--seq-len", type=int, default=None, help="Truncated-BPTT length [default: 100].")
@click.option("--batching", type=click.Choice(["sequential", "random"]), default=None,
              help="sequential: stateful, hidden state carried between batches; random: random chunks [default: random].")
@click.option("--epochs", type=float, default=None, help="Budget in epochs.")
@click.option("--steps", type=int, default=None, help="Budget in optimizer steps.")
@click.option("--time", "time_budget", type=float, default=None, help="Budget in seconds of training.")
@click.option("--patience", type=int, default=None, help="Early stopping after N evaluations without improvement; 0 = off.")
@click.option("--eval-interval", type=int, default=None, help="Steps between validations [default: 200].")
@click.option("--log-interval", type=int, default=None, help="Steps between metric records [default: 20].")
@click.option("--sample-interval", type=int, default=None, help="Steps between samples [default: 500].")
@click.option("--checkpoint-interval", type=int, default=None, help="Steps between checkpoints [default: 500].")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), default=None, help="[default: auto]")
@click.option("--seed", type=int, default=None, help="[default: 1337]")
@click.option("--threads", type=int, default=None, help="CPU threads; 0 = choose (1 when started by the app) [default: 0].")
@click.option("--runs-dir", default=None, help=RUNS_DIR_HELP)
@click.option("--name", default=None, help="Run id (default: time, cell and data).")
@click.option("--resume", "resume_spec", default=None, help="Continue this run exactly where it stopped.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line instead of a progress bar.")
def train(config_file: str | None, task: str, runs_dir: str | None, name: str | None, resume_spec: str | None,
          as_json: bool, **flags: Any) -> None:
    """Train a model; the run directory records everything (see docs/run-directory.md)."""
    from rnn_tui.config import Config
    from rnn_tui.runs.rundir import RunDir, runs_root

    given = {k: v for k, v in flags.items() if v is not None}
    root = runs_root(runs_dir)
    if resume_spec:
        if config_file:
            raise RnnTuiError("--resume continues a run with its own config; drop --config")
        locked = sorted(set(given) - RESUME_FLAGS)
        if locked:
            raise RnnTuiError(f"--resume cannot change --{locked[0].replace('_', '-')}; start a new run for a different setup")
        run = RunDir.open(resume_spec, root)
        _claim(run, resume=True)
        cfg = run.config()
        _apply_flags(cfg, given)
        run.config_path.write_text(cfg.to_toml(), encoding="utf-8")
    else:
        cfg = Config.load(config_file) if config_file else Config()
        cfg.task = task
        _apply_flags(cfg, given)
        cfg.validate()
        _check_setup(cfg)
        run = RunDir.create(root, cfg, name=name)
        _claim(run, resume=False)
    cfg.validate()

    from rnn_tui.cli_report import train_reporter
    from rnn_tui.train.trainer import train_run

    with train_reporter(run, as_json) as on_event:
        train_run(run, on_event=on_event, resume=bool(resume_spec))


def _claim(run, resume: bool) -> None:
    """Mark ``run`` as taken by this trainer; with ``resume``, first refuse a run whose trainer
    is alive (two writers would corrupt it).

    ``RunDir.create`` writes ``starting`` under the creating process's pid (the app creates a
    run, then starts `train --resume` on it): that is no trainer. A trainer claims the status
    with its own pid and ``claimed: true`` at once, so a second one is refused even during
    set-up, and a trainer that dies in set-up reads as failed.
    """
    from rnn_tui.runs.rundir import LIVE_STATES

    status = run.read_status()  # a live state whose pid is gone already reads as failed
    pid, state = status.get("pid"), status.get("state")
    if resume and state in LIVE_STATES and (state != "starting" or status.get("claimed")):
        raise RnnTuiError(f"run {run.id} is already training (pid {pid}); `rnn-tui control {run.id} stop` first")
    keep = {k: v for k, v in status.items() if k not in ("version", "run", "pid", "heartbeat", "state", "written_state", "error", "reason")}
    run.write_status(**{**keep, "state": "starting", "claimed": True})


def _apply_flags(cfg, given: dict[str, Any]) -> None:
    for flag, value in given.items():
        section, field = TRAIN_FLAGS[flag]
        setattr(getattr(cfg, section), field, value)


def _check_setup(cfg) -> None:
    """Fail before a run directory is made when the data or the device cannot be had."""
    from rnn_tui.data.spec import resolve
    from rnn_tui.train.device import pick_device

    source = resolve(cfg.data.spec)
    if cfg.task == "lm" and source.kind != "text":
        raise RnnTuiError(f"{cfg.data.spec} is a {source.kind} dataset; a language model (--task lm) trains on text")
    if cfg.task == "seq2seq" and source.kind != "pairs":
        raise RnnTuiError(f"{cfg.data.spec} is a {source.kind} dataset; translation (--task seq2seq) trains on "
                          "source<TAB>target pairs")
    pick_device(cfg.train.device)


# -- using a trained run ---------------------------------------------------------------------------


@cli.command()
@click.argument("run_spec", metavar="RUN")
@click.option("--prime", default=None, help="Text to start from (default: the start of the validation text).")
@click.option("--length", default=200, show_default=True, help="Tokens to generate.")
@click.option("--greedy", is_flag=True, help="Always take the most likely token.")
@click.option("--temperature", type=float, default=1.0, show_default=True)
@click.option("--top-k", type=int, default=0, show_default=True, help="Sample from the K most likely; 0 = off.")
@click.option("--top-p", type=float, default=1.0, show_default=True, help="Nucleus sampling mass; 1 = off.")
@click.option("--seed", type=int, default=None, help="Seed for reproducible samples.")
@click.option("--allow-unk", is_flag=True, help="Let the model emit <unk>.")
@click.option("--beam", type=int, default=0, help="Beam search with this width instead of sampling (the most likely continuations).")
@click.option("--alpha", type=float, default=0.75, show_default=True, help="With --beam: rank by log P / L^α.")
@click.option("--nbest", type=int, default=1, show_default=True, help="With --beam: how many continuations.")
@click.option("--checkpoint", type=click.Choice(["latest", "best"]), default="latest", show_default=True)
@click.option("--runs-dir", default=None, help=RUNS_DIR_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def generate(run_spec: str, prime: str | None, length: int, greedy: bool, temperature: float, top_k: int, top_p: float,
             seed: int | None, allow_unk: bool, beam: int, alpha: float, nbest: int, checkpoint: str, runs_dir: str | None,
             as_json: bool) -> None:
    """Generate text from a trained language model; tokens stream as they are produced."""
    from rnn_tui.api import load_lm
    from rnn_tui.decode.sampling import Sampling

    if temperature <= 0:
        raise RnnTuiError("--temperature must be > 0 (use --greedy for the most likely token)")
    if not (0 < top_p <= 1):
        raise RnnTuiError("--top-p must be in (0, 1]")
    if length < 0 or top_k < 0:
        raise RnnTuiError("--length and --top-k must be ≥ 0")
    model = load_lm(run_spec, runs_dir=runs_dir, tag=checkpoint)
    s = Sampling(greedy=greedy, temperature=temperature, top_k=top_k, top_p=top_p, length=length, seed=seed, allow_unk=allow_unk)
    prime_text = prime if prime is not None else model.default_prime()
    if beam:
        hyps = model.beam(prime_text, beam=beam, alpha=alpha, length=length, nbest=nbest)
        if as_json:
            _print_json({"prime": prime_text, "beam": beam, "alpha": alpha, "hypotheses": hyps})
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
@click.option("--checkpoint", type=click.Choice(["latest", "best"]), default="latest", show_default=True)
@click.option("--runs-dir", default=None, help=RUNS_DIR_HELP)
@click.option("--top", default=10, show_default=True, help="How many most surprising tokens to list.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def score(run_spec: str, text: str | None, path: str | None, checkpoint: str, runs_dir: str | None, top: int, as_json: bool) -> None:
    """Probability, perplexity and bits per token of TEXT (or - for stdin) under a language model."""
    from rnn_tui.api import load_lm

    text = _read_text_arg(text, path)
    model = load_lm(run_spec, runs_dir=runs_dir, tag=checkpoint)
    result = model.score(text)
    if as_json:
        _print_json(result)
    else:
        from rnn_tui.cli_report import print_score

        print_score(result, top=top)


@cli.command()
@click.argument("run_spec", metavar="RUN")
@click.argument("text", required=False)
@click.option("--file", "path", type=click.Path(dir_okay=False), default=None, help="Inspect this file's text.")
@click.option("--target", default=None,
              help="A translation run: force this target (else `SOURCE => TARGET` in TEXT, else greedy).")
@click.option("--layer", type=int, default=None, help="Only this layer (0-based).")
@click.option("--topk", default=5, show_default=True, help="Next-token candidates per step.")
@click.option("--checkpoint", type=click.Choice(["latest", "best"]), default="latest", show_default=True)
@click.option("--runs-dir", default=None, help=RUNS_DIR_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def inspect(run_spec: str, text: str | None, path: str | None, target: str | None, layer: int | None, topk: int,
            checkpoint: str, runs_dir: str | None, as_json: bool) -> None:
    """Step through TEXT token by token: h, c, every gate, and the next-token top-k. For a
    translation run TEXT is the source: the encoder (both ways), the decoder and the attention."""
    from rnn_tui.api import LoadedRun, load_run

    text = _read_text_arg(text, path)
    model = load_run(run_spec, runs_dir=runs_dir, tag=checkpoint)
    if isinstance(model, LoadedRun):
        if target is not None:
            raise RnnTuiError(f"--target is for translation runs; {model.run.id} is a language model")
        result = model.inspect(text, layer=layer, topk=topk)
    else:
        result = model.inspect(text, target=target, layer=layer, topk=topk)
    if as_json:
        _print_json(result)
    else:
        from rnn_tui.cli_report import print_inspect

        print_inspect(result)


@cli.command()
@click.argument("run_spec", metavar="RUN")
@click.argument("text", required=False)
@click.option("--beam", default=1, show_default=True, help="Beam width; 1 = greedy.")
@click.option("--alpha", default=0.75, show_default=True, help="Length penalty: hypotheses are ranked by log P / L^α.")
@click.option("--nbest", default=1, show_default=True, help="How many hypotheses to show (≤ --beam).")
@click.option("--max-len", type=int, default=None, help="Most target tokens [default: 2 × source tokens + 10].")
@click.option("--split", type=click.Choice(["test", "val"]), default=None,
              help="Translate the run's held-out split instead of TEXT and report corpus BLEU.")
@click.option("--tokenize", type=click.Choice(["zh", "13a", "char", "none"]), default="zh", show_default=True,
              help="BLEU tokenization for --split.")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="With --split: write the hypotheses here, one per line.")
@click.option("--checkpoint", type=click.Choice(["latest", "best"]), default="latest", show_default=True)
@click.option("--runs-dir", default=None, help=RUNS_DIR_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object per sentence).")
def translate(run_spec: str, text: str | None, beam: int, alpha: float, nbest: int, max_len: int | None, split: str | None,
              tokenize: str, out: str | None, checkpoint: str, runs_dir: str | None, as_json: bool) -> None:
    """Translate TEXT (or - for stdin, one sentence per line) with a seq2seq run: greedy or beam
    search, the n-best with scores, the attention of the best; or --split test for corpus BLEU."""
    from rnn_tui.api import load_translator

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
            click.echo(f"{result['run']} {split} ({result['pairs']} pairs, {'greedy' if beam == 1 else f'beam {beam}, α {alpha}'}): "
                       f"{result['summary']} · exact match {100 * result['exact_match']:.1f}%")
        return
    if text is None:
        raise RnnTuiError("give a sentence to translate, - for stdin, or --split test")
    sentences = [line for line in (sys.stdin.read().splitlines() if text == "-" else [text]) if line.strip()]
    if not sentences:
        raise RnnTuiError("nothing to translate: no sentence given (empty text or empty stdin)")
    for sentence in sentences:
        result = model.translate(sentence, beam=beam, alpha=alpha, nbest=nbest, max_len=max_len)
        if as_json:
            _print_json(result)
        else:
            from rnn_tui.cli_report import print_translation

            print_translation(result, show_all=nbest > 1 or len(sentences) == 1)


@cli.command()
@click.option("--runs-dir", default=None, help=RUNS_DIR_HELP)
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
@click.argument("command", type=click.Choice(["pause", "resume", "stop", "set-lr"]))
@click.argument("value", required=False, type=float)
@click.option("--runs-dir", default=None, help=RUNS_DIR_HELP)
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
@click.option("--tokenize", type=click.Choice(["13a", "zh", "char", "none"]), default="13a", show_default=True,
              help="13a: mteval-v13a (WMT's default); zh: Chinese characters one by one; char: every character.")
@click.option("--smooth", type=click.Choice(["exp", "floor", "add-k", "none"]), default="exp", show_default=True)
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
            raise RnnTuiError(f"{hyp_file} has {len(hyps)} lines but {path} has {len(lines)}; BLEU needs one reference line per hypothesis line")
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


def main() -> None:
    """Entry point: run the click group, turning every user error into one line."""
    try:
        cli.main(standalone_mode=False)
    except RnnTuiError as exc:
        _fail(exc.message)
    except click.ClickException as exc:
        hint = f" (see `{exc.ctx.command_path} --help`)" if getattr(exc, "ctx", None) else ""
        _fail(exc.format_message().replace("\n", " ") + hint, code=exc.exit_code)
    except click.exceptions.Abort:
        _fail("aborted", code=130)
    except KeyboardInterrupt:
        _fail("interrupted", code=130)
    except BrokenPipeError:
        sys.exit(0)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
