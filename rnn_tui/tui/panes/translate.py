"""The Translate pane: a sentence in, the n-best translations out, with the best one's attention.

What the pane says about the run (its task, checkpoint step, validation BLEU) comes from the app's
RunHistory, never from reading the run directory. Threading rule (docs/architecture.md): loading
the model and translating happen in one exclusive thread worker that only posts the plain-data
messages below; the model comes from the app's ModelCache (one load per checkpoint, shared with
Inspect and Generate), so a newer checkpoint of a run still training is used on the next
translation. Greedy is beam width 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Label, Static

from rnn_tui.decode.settings import Beam
from rnn_tui.errors import RnnTuiError
from rnn_tui.options import build
from rnn_tui.results import Translation
from rnn_tui.tui.history import RunHistory
from rnn_tui.tui.model_cache import ModelCache, unless_classifier
from rnn_tui.tui.run_console import RunConsole
from rnn_tui.tui.widgets.attention_map import AttentionMap

NO_RUN = "No translation run: train one with --task seq2seq or open one in Runs."
HYP_COLUMN = 40  # hypotheses are padded to a common width up to this many cells, so scores align


def parse_decoding(beam: str, alpha: str, nbest: str) -> Beam:
    """The typed beam width, α and n-best as a Beam, which checks itself (RnnTuiError: one line)."""
    return build(Beam, {"width": beam, "alpha": alpha, "nbest": nbest})


def bleu_tokenize(tgt_tokenizer: str) -> str:
    """sacrebleu's tokenizer for the target language: "zh" for Chinese (char or jieba), else "13a"."""
    return "zh" if tgt_tokenizer in ("char", "jieba") else "13a"



def hypotheses_text(result: Translation, bleu: float | None, tokenize: str | None, step: int | None) -> Text:
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


class TranslatePane(RunConsole):
    BINDINGS = [Binding("ctrl+t", "translate", "Translate", id="translate.run")]
    ERROR_ID = "tr-error"

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

    # -- messages: posted by the worker, plain data ---------------------------------------------

    @dataclass
    class Translated(Message):
        job: int
        result: Translation
        bleu: float | None  # sentence BLEU of the best hypothesis against the typed reference
        tokenize: str | None  # sacrebleu's tokenizer for that BLEU
        step: int | None  # the step of the checkpoint that translated

    NO_RUN, RUN_ID, TASK, NEEDS = NO_RUN, "tr-run", "seq2seq", "translation"

    def __init__(self, models: ModelCache | None = None, **kwargs: Any) -> None:
        super().__init__(models, **kwargs)  # the app's ModelCache, shared with Inspect and Generate
        self.result: Translation | None = None
        self.bleu: float | None = None

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

    def validation(self, history: RunHistory) -> str:
        val = history.last_bleu
        return (f"validation BLEU {val['val_bleu']:.1f} (greedy, at step {val['step']})" if val is not None
                else "no validation BLEU yet")

    def clear(self) -> None:
        self.result, self.bleu = None, None
        self.query_one("#tr-hyps", Static).update("")
        self.query_one(AttentionMap).clear()

    # -- translating --------------------------------------------------------------------------------

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_translate()

    def action_translate(self) -> None:
        path = self.usable_run()
        if path is None:
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
        reference = self.query_one("#tr-reference", Input).value.strip()
        self._translate(self.next_job(), path, self.checkpoint_step, source, reference, search)

    # -- the worker: it only posts messages ----------------------------------------------------------

    @work(thread=True, exclusive=True, group="translate", exit_on_error=False)
    def _translate(self, job: int, path: str, step: int | None, source: str, reference: str, search: Beam) -> None:
        from rnn_tui.api import as_translator

        with self.reporting(job, "translation"):
            loaded = as_translator(unless_classifier(self.models.get(path, step)))
            result = loaded.translate(source, beam=search.width, alpha=search.alpha, nbest=search.nbest)
            bleu = tokenize = None
            if reference:
                from rnn_tui.decode.bleu import sentence_bleu

                tokenize = bleu_tokenize(loaded.config.data.tgt_tokenizer)
                bleu = sentence_bleu(result["hypotheses"][0]["text"], reference, tokenize=tokenize).score
            self.post_message(self.Translated(job, result, bleu, tokenize, loaded.meta.get("step")))

    # -- showing results ---------------------------------------------------------------------------

    @on(Translated)
    def _translated(self, message: Translated) -> None:
        message.stop()
        if not self.is_current(message.job):
            return
        self.result, self.bleu = message.result, message.bleu
        self.query_one("#tr-hyps", Static).update(hypotheses_text(message.result, message.bleu, message.tokenize,
                                                                  message.step))
        result = message.result
        best, rows = result["hypotheses"][0], result["attention"]
        labels = best["tokens"] + (["<eos>"] if rows is not None and len(rows) > len(best["tokens"]) else [])
        self.query_one(AttentionMap).set_attention(rows, labels, result["source_tokens"])



__all__ = ["NO_RUN", "TranslatePane", "bleu_tokenize", "hypotheses_text", "parse_decoding"]
