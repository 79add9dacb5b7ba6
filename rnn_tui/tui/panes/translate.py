"""The Translate pane: a sentence in, the n-best translations out, with the best one's attention.

Loading the run and translating happen in a thread worker (group ``translate``, exclusive) that
only posts the plain-data messages below (docs/architecture.md). The run's validation BLEU comes
from its metrics, read in the same worker. Greedy is beam width 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Label, Static

from rnn_tui.errors import RnnTuiError
from rnn_tui.tui.messages import failure_line
from rnn_tui.tui.widgets.attention_map import AttentionMap

NO_RUN = "No translation run: train one with `rnn-tui train --task seq2seq`, or open one in Runs."


def parse_decoding(beam: str, alpha: str, nbest: str) -> tuple[int, float, int]:
    """The typed beam width, α and n-best (raises RnnTuiError with one line)."""
    try:
        k, a, n = int(beam.strip()), float(alpha.strip()), int(nbest.strip())
    except ValueError:
        raise RnnTuiError(f"beam and n-best are whole numbers, α a number; got beam {beam!r}, α {alpha!r}, "
                          f"n-best {nbest!r}") from None
    if not 1 <= k <= 64:
        raise RnnTuiError(f"beam width must be between 1 (greedy) and 64; got {k}")
    if not 0 <= a <= 5:
        raise RnnTuiError(f"α must be between 0 and 5; got {a:g}")
    if not 1 <= n <= k:
        raise RnnTuiError(f"n-best must be between 1 and the beam width ({k}); got {n}")
    return k, a, n


class TranslatePane(Widget):
    BINDINGS = [Binding("ctrl+t", "translate", "Translate", id="translate.run")]

    DEFAULT_CSS = """
    TranslatePane { height: 1fr; }
    TranslatePane #tr-run { height: auto; padding: 0 1; color: $text-muted; }
    TranslatePane #tr-source, TranslatePane #tr-reference { width: 1fr; }
    TranslatePane #tr-controls { height: 1; margin-top: 1; }
    TranslatePane #tr-controls Label { padding: 0 1 0 1; color: $text-muted; }
    TranslatePane #tr-controls Input { width: 7; }
    TranslatePane #tr-error { height: auto; padding: 0 1; color: $error; }
    TranslatePane #tr-scroll { height: 1fr; border-top: hkey $panel; padding: 0 1; }
    TranslatePane #tr-hyps { height: auto; }
    TranslatePane #tr-attention { margin-top: 1; }
    """

    @dataclass
    class Translated(Message):
        job: int
        result: dict[str, Any]  # LoadedTranslator.translate's dict
        bleu: float | None  # sentence BLEU of the best against the typed reference
        run_info: str

    @dataclass
    class Failed(Message):
        job: int
        message: str

    @dataclass
    class Loaded(Message):
        key: tuple[str, int | None]  # (run path, checkpoint step)
        loaded: object  # the LoadedTranslator, only ever used inside the worker

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.run_path: str | None = None
        self.checkpoint_step: int | None = None
        self.job = 0
        self._cache: tuple[tuple[str, int | None], object] | None = None  # ((path, step), LoadedTranslator)
        self.result: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield Static(NO_RUN, id="tr-run")
        yield Input(placeholder="a sentence to translate (enter translates)", id="tr-source", compact=True)
        yield Input(placeholder="optional reference translation: shows the sentence BLEU", id="tr-reference", compact=True)
        with Horizontal(id="tr-controls"):
            yield Label("beam")
            yield Input("5", id="tr-beam", compact=True)
            yield Label("α")
            yield Input("0.75", id="tr-alpha", compact=True)
            yield Label("n-best")
            yield Input("3", id="tr-nbest", compact=True)
        error = Static("", id="tr-error")
        error.display = False
        yield error
        with VerticalScroll(id="tr-scroll"):
            yield Static("", id="tr-hyps")
            yield AttentionMap(id="tr-attention")

    # -- what the app calls -------------------------------------------------------------------------

    def set_run(self, path: str | None, checkpoint_step: int | None) -> None:
        """The current run (or its checkpoint) changed: the model reloads on the next translation."""
        self.run_path, self.checkpoint_step = path, checkpoint_step
        if path is None:
            self.query_one("#tr-run", Static).update(NO_RUN)
        else:
            step = f" · checkpoint at step {checkpoint_step}" if checkpoint_step is not None else ""
            self.query_one("#tr-run", Static).update(f"run {Path(path).name}{step} · enter or ctrl+t translates")

    def show_error(self, message: str) -> None:
        error = self.query_one("#tr-error", Static)
        error.update(message)
        error.display = bool(message)

    # -- translating -------------------------------------------------------------------------------------

    @on(Input.Submitted)
    def submitted(self) -> None:
        self.action_translate()

    def action_translate(self) -> None:
        source = self.query_one("#tr-source", Input).value.strip()
        if self.run_path is None:
            self.show_error(NO_RUN)
            return
        if not source:
            self.show_error("type a sentence to translate")
            return
        try:
            beam, alpha, nbest = parse_decoding(*(self.query_one(f"#tr-{n}", Input).value for n in ("beam", "alpha", "nbest")))
        except RnnTuiError as exc:
            self.show_error(str(exc))
            return
        self.show_error("")
        self.job += 1
        reference = self.query_one("#tr-reference", Input).value.strip()
        cached = self._cache[1] if self._cache and self._cache[0] == (self.run_path, self.checkpoint_step) else None
        self._translate(self.job, self.run_path, self.checkpoint_step, cached, source, reference, beam, alpha, nbest)

    @work(thread=True, exclusive=True, group="translate", exit_on_error=False)
    def _translate(self, job: int, path: str, step: int | None, loaded, source: str, reference: str,
                   beam: int, alpha: float, nbest: int) -> None:
        try:
            if loaded is None:
                from rnn_tui.api import load_translator

                loaded = load_translator(path)
                self.post_message(self.Loaded((path, step), loaded))
            result = loaded.translate(source, beam=beam, alpha=alpha, nbest=nbest)
            bleu = None
            if reference:
                from rnn_tui.decode.bleu import sentence_bleu

                tokenize = "zh" if loaded.config.data.tgt_tokenizer in ("char", "jieba") else "13a"
                bleu = sentence_bleu(result["hypotheses"][0]["text"], reference, tokenize=tokenize).score
            vals = [r for r in loaded.run.read_metrics() if r.get("event") == "val" and r.get("val_bleu") is not None]
            info = (f"run {loaded.run.id} · validation BLEU {vals[-1]['val_bleu']:.1f} (greedy, step {vals[-1]['step']})"
                    if vals else f"run {loaded.run.id} · no validation BLEU yet")
        except Exception as exc:  # noqa: BLE001 — one line, never a crash
            self.post_message(self.Failed(job, failure_line(exc, "translation")))
            return
        self.post_message(self.Translated(job, result, bleu, info))

    @on(Translated)
    def translated(self, message: Translated) -> None:
        if message.job != self.job:
            return
        self.result = message.result
        result = message.result
        self.query_one("#tr-run", Static).update(message.run_info)
        out = Text()
        if result["unknown"]:
            out.append(f"not in the source vocabulary (read as <unk>): {', '.join(result['unknown'])}\n", style="yellow")
        for k, hyp in enumerate(result["hypotheses"], start=1):
            out.append(f"{k}. {hyp['text']}", style="bold" if k == 1 else "")
            cut = "" if hyp["ended"] else " · cut at the length limit"
            out.append(f"   score {hyp['score']:.3f} · log P {hyp['logprob']:.3f}{cut}\n", style="dim")
        if message.bleu is not None:
            out.append(f"sentence BLEU of 1. against the reference: {message.bleu:.1f}\n", style="cyan")
        out.append("greedy" if result["beam"] == 1 else f"beam {result['beam']}, α {result['alpha']:g}: score = log P / L^α",
                   style="dim")
        self.query_one("#tr-hyps", Static).update(out)
        best = result["hypotheses"][0]
        rows = result["attention"]
        labels = best["tokens"] + (["<eos>"] if rows is not None and len(rows) > len(best["tokens"]) else [])
        self.query_one(AttentionMap).set_attention(rows, labels, result["source_tokens"])

    @on(Loaded)
    def loaded(self, message: Loaded) -> None:
        self._cache = (message.key, message.loaded)

    @on(Failed)
    def failed(self, message: Failed) -> None:
        if message.job == self.job:
            self.show_error(message.message)


__all__ = ["TranslatePane", "parse_decoding"]
