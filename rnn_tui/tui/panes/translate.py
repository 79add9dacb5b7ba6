"""The Translate pane: a sentence in, the n-best translations out, with the best one's attention.

Threading rule (docs/architecture.md): reading the run (its config and validation BLEU) happens
in one thread worker (group ``translate-run``), loading the model and translating in another
(group ``translate``); both are exclusive and only post the plain-data messages below. The
model is loaded at most once per checkpoint (``_load``, inside the worker) and reloaded when the
app reports a newer checkpoint of a run that is still training. Greedy is beam width 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Label, Static

from rnn_tui.decode.settings import Beam
from rnn_tui.errors import RnnTuiError
from rnn_tui.options import build
from rnn_tui.tui.model_cache import ModelCache
from rnn_tui.tui.messages import failure_line
from rnn_tui.tui.widgets.attention_map import AttentionMap

NO_RUN = "No translation run: train one with --task seq2seq or open one in Runs."
HYP_COLUMN = 40  # hypotheses are padded to a common width up to this many cells, so scores align


def parse_decoding(beam: str, alpha: str, nbest: str) -> Beam:
    """The typed beam width, α and n-best as a Beam, which checks itself (RnnTuiError: one line)."""
    return build(Beam, {"width": beam, "alpha": alpha, "nbest": nbest})


def bleu_tokenize(tgt_tokenizer: str) -> str:
    """sacrebleu's tokenizer for the target language: "zh" for Chinese (char or jieba), else "13a"."""
    return "zh" if tgt_tokenizer in ("char", "jieba") else "13a"


def describe_run(path: str, checkpoint_step: int | None) -> tuple[str, str | None]:
    """The status line for a run (read from its directory: call it in a worker) — run id,
    checkpoint step, the latest validation BLEU — and why it cannot translate (None: it can)."""
    from rnn_tui.runs.rundir import RunDir

    run = RunDir(Path(path))
    cfg = run.config()
    if cfg.task != "seq2seq":
        return NO_RUN, f"{run.id} is a language model: translation needs a run trained with --task seq2seq"
    parts = [f"run {run.id}", f"checkpoint step {checkpoint_step}" if checkpoint_step is not None else "no checkpoint yet"]
    vals = [r for r in run.read_metrics() if r["event"] == "val" and r.get("val_bleu") is not None]
    parts.append(f"validation BLEU {vals[-1]['val_bleu']:.1f} (greedy, at step {vals[-1]['step']})" if vals
                 else "no validation BLEU yet")
    return " · ".join(parts), None


def hypotheses_text(result: dict[str, Any], bleu: float | None, tokenize: str | None, step: int | None) -> Text:
    """The n-best list (scores aligned by cell width), the sentence BLEU and how it was decoded."""
    out = Text()
    if result["unknown"]:
        out.append(f"not in the source vocabulary (read as <unk>): {', '.join(result['unknown'])}\n", style="yellow")
    hyps = result["hypotheses"]
    width = min(HYP_COLUMN, max(len("translation"), *(cell_len(h["text"]) for h in hyps)))
    prefix = len(f"{len(hyps)}. ")
    out.append(" " * prefix + "translation".ljust(width) + "    score    log P\n", style="dim")
    for k, hyp in enumerate(hyps, start=1):
        text = hyp["text"] or "∅"
        out.append(f"{k}. ".rjust(prefix) + text, style="bold" if k == 1 else "")
        out.append(" " * max(1, width - cell_len(text) + 1))
        out.append(f"{hyp['score']:8.3f} {hyp['logprob']:8.3f}", style="bold" if k == 1 else "dim")
        out.append("" if hyp["ended"] else "  (cut at the length limit)", style="yellow")
        out.append("\n")
    if bleu is not None:
        out.append(f"sentence BLEU of 1. against the reference: {bleu:.1f}", style="cyan")
        out.append(f" (sacrebleu, tokenize {tokenize})\n", style="dim")
    how = "greedy" if result["beam"] == 1 else f"beam {result['beam']}"
    used = f" · checkpoint step {step}" if step is not None else ""
    out.append(f"{how} · score = log P / L^α, α {result['alpha']:g} (L counts <eos>){used}", style="dim")
    return out


class TranslatePane(Widget):
    BINDINGS = [Binding("ctrl+t", "translate", "Translate", id="translate.run")]

    DEFAULT_CSS = """
    TranslatePane { height: 1fr; }
    TranslatePane #tr-run { height: auto; padding: 0 1; color: $text-muted; }
    TranslatePane .tr-row { height: 1; }
    TranslatePane .tr-row > Label { width: 11; padding: 0 1; color: $text-muted; }
    TranslatePane #tr-source, TranslatePane #tr-reference { width: 1fr; }
    TranslatePane #tr-controls { height: 1; }
    TranslatePane #tr-controls Label { padding: 0 1; color: $text-muted; }
    TranslatePane #tr-controls Input { width: 7; }
    TranslatePane #tr-controls #tr-keys { width: 1fr; color: $text-muted; }
    TranslatePane #tr-error { height: auto; padding: 0 1; color: $error; }
    TranslatePane #tr-scroll { height: 1fr; border-top: hkey $panel; padding: 0 1; overflow-x: auto; }
    TranslatePane #tr-hyps { height: auto; width: 1fr; }
    TranslatePane #tr-attention { margin-top: 1; }
    """

    # -- messages: posted by the workers, plain data ------------------------------------------------

    @dataclass
    class RunDescribed(Message):
        key: tuple[str, int | None]  # (run path, checkpoint step)
        line: str  # the status line
        problem: str | None  # why the run cannot translate (None: it can)

    @dataclass
    class Translated(Message):
        job: int
        result: dict[str, Any]  # LoadedTranslator.translate's dict
        bleu: float | None  # sentence BLEU of the best hypothesis against the typed reference
        tokenize: str | None  # sacrebleu's tokenizer for that BLEU
        step: int | None  # the step of the checkpoint that translated
        line: str  # the status line, read again (the validation BLEU moves while a run trains)

    @dataclass
    class Failed(Message):
        job: int
        message: str

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.run_path: str | None = None
        self.checkpoint_step: int | None = None
        self.translator: bool | None = None  # None: not known yet
        self.problem: str | None = None  # why the run cannot translate
        self.job = 0  # the job whose messages are shown; older workers' messages are ignored
        self.result: dict[str, Any] | None = None
        self.bleu: float | None = None
        self.models = ModelCache()  # the LoadedTranslator, filled in the worker

    def compose(self) -> ComposeResult:
        yield Static(NO_RUN, id="tr-run", markup=False)
        with Horizontal(classes="tr-row"):
            yield Label("source")
            yield Input(placeholder="a sentence to translate (enter translates)", id="tr-source", compact=True)
        with Horizontal(classes="tr-row"):
            yield Label("reference")
            yield Input(placeholder="optional: a reference translation gives the sentence BLEU", id="tr-reference",
                        compact=True)
        with Horizontal(id="tr-controls"):
            yield Label("beam")
            yield Input("5", id="tr-beam", compact=True, tooltip="beam width: 1 is greedy")
            yield Label("α")
            yield Input("0.75", id="tr-alpha", compact=True, tooltip="length penalty: score = log P / L^α")
            yield Label("n-best")
            yield Input("3", id="tr-nbest", compact=True, tooltip="how many hypotheses to list (≤ beam)")
            yield Label("enter or ctrl+t translates", id="tr-keys")
        error = Static("", id="tr-error", markup=False)
        error.display = False
        yield error
        with VerticalScroll(id="tr-scroll"):
            yield Static("", id="tr-hyps")
            yield AttentionMap(id="tr-attention")

    # -- what the app calls -------------------------------------------------------------------------

    def set_run(self, path: str | None, checkpoint_step: int | None) -> None:
        """The current run, or its latest checkpoint, changed: describe it (in a worker); the
        model is (re)loaded on the next translation."""
        if (path, checkpoint_step) == (self.run_path, self.checkpoint_step) and self.translator is not None:
            return
        if path != self.run_path:  # another run: what is shown belonged to the old one
            self.job += 1
            self.result, self.bleu, self.translator, self.problem = None, None, None, None
            self.query_one("#tr-hyps", Static).update("")
            self.query_one(AttentionMap).clear()
            self.show_error("")
        self.run_path, self.checkpoint_step = path, checkpoint_step
        if path is None:
            self.translator = False
            self.query_one("#tr-run", Static).update(NO_RUN)
            return
        self.query_one("#tr-run", Static).update(f"run {Path(path).name} · reading…")
        self._describe((path, checkpoint_step))

    def show_error(self, message: str) -> None:
        error = self.query_one("#tr-error", Static)
        error.update(message)
        error.display = bool(message)

    # -- translating --------------------------------------------------------------------------------

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_translate()

    def action_translate(self) -> None:
        if self.run_path is None or self.translator is False:
            self.show_error(self.problem or NO_RUN)
            return
        source = self.query_one("#tr-source", Input).value.strip()
        if not source:
            self.show_error("type a sentence to translate")
            return
        try:
            search = parse_decoding(*(self.query_one(f"#tr-{n}", Input).value for n in ("beam", "alpha", "nbest")))
        except RnnTuiError as exc:
            self.show_error(str(exc))
            return
        self.show_error("")
        self.job += 1
        reference = self.query_one("#tr-reference", Input).value.strip()
        self._translate(self.job, self.run_path, self.checkpoint_step, source, reference, search)

    # -- workers: they only post messages ----------------------------------------------------------

    def _load(self, path: str, step: int | None):
        """The run's translator, loaded at most once per checkpoint (in a worker thread)."""
        from rnn_tui.api import load_translator

        return self.models.get(path, step, load_translator)

    @work(thread=True, exclusive=True, group="translate-run", exit_on_error=False)
    def _describe(self, key: tuple[str, int | None]) -> None:
        try:
            line, problem = describe_run(*key)
        except Exception as exc:  # noqa: BLE001 — one line, never a crash
            line = problem = failure_line(exc, "reading the run")
        self.post_message(self.RunDescribed(key, line, problem))

    @work(thread=True, exclusive=True, group="translate", exit_on_error=False)
    def _translate(self, job: int, path: str, step: int | None, source: str, reference: str, search: Beam) -> None:
        try:
            loaded = self._load(path, step)
            result = loaded.translate(source, beam=search.width, alpha=search.alpha, nbest=search.nbest)
            bleu = tokenize = None
            if reference:
                from rnn_tui.decode.bleu import sentence_bleu

                tokenize = bleu_tokenize(loaded.config.data.tgt_tokenizer)
                bleu = sentence_bleu(result["hypotheses"][0]["text"], reference, tokenize=tokenize).score
            line, _ = describe_run(path, step)
        except Exception as exc:  # noqa: BLE001 — one line, never a crash
            self.post_message(self.Failed(job, failure_line(exc, "translation")))
            return
        self.post_message(self.Translated(job, result, bleu, tokenize, loaded.meta.get("step"), line))

    # -- showing results ---------------------------------------------------------------------------

    @on(RunDescribed)
    def _run_described(self, message: RunDescribed) -> None:
        message.stop()
        if message.key != (self.run_path, self.checkpoint_step):
            return
        self.translator, self.problem = message.problem is None, message.problem
        self.query_one("#tr-run", Static).update(message.line)

    @on(Translated)
    def _translated(self, message: Translated) -> None:
        message.stop()
        if message.job != self.job:
            return
        self.result, self.bleu = message.result, message.bleu
        self.query_one("#tr-run", Static).update(message.line)
        self.query_one("#tr-hyps", Static).update(hypotheses_text(message.result, message.bleu, message.tokenize,
                                                                  message.step))
        result = message.result
        best, rows = result["hypotheses"][0], result["attention"]
        labels = best["tokens"] + (["<eos>"] if rows is not None and len(rows) > len(best["tokens"]) else [])
        self.query_one(AttentionMap).set_attention(rows, labels, result["source_tokens"])

    @on(Failed)
    def _failed(self, message: Failed) -> None:
        message.stop()
        if message.job == self.job:
            self.show_error(message.message)


__all__ = ["NO_RUN", "TranslatePane", "bleu_tokenize", "describe_run", "hypotheses_text", "parse_decoding"]
