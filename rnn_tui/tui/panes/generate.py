"""The Generate pane: sample from the current run's latest checkpoint, or score a text under it.

Threading rule (docs/architecture.md): loading the model, generating and scoring happen in one
thread worker group (``generate``, exclusive); the model comes from the app's ModelCache (one
load per checkpoint, shared with Inspect and Translate); the worker checks ``is_cancelled`` every
token and only posts the small messages below. Streamed tokens are batched (at most one message per
``BATCH_S``) and a newer progress message replaces a pending older one (``can_replace``), so a
busy app draws the latest state once instead of every intermediate one.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Label, Select, Static

from rnn_tui.decode.settings import Sampling
from rnn_tui.display import prob_style, visible_token
from rnn_tui.errors import RnnTuiError
from rnn_tui.options import build
from rnn_tui.tui.history import RunHistory
from rnn_tui.tui.jobs import Jobs
from rnn_tui.tui.model_cache import ModelCache, unless_classifier

if TYPE_CHECKING:
    from rnn_tui.api import LoadedRun

BATCH_S = 0.03  # post streamed tokens at most this often
TOP_SURPRISING = 5
SAMPLING_FIELDS = ("temperature", "top_k", "top_p", "length", "seed")  # the Input #gen-<name with dashes>


class GeneratePane(Jobs):
    ERROR_ID = "gen-error"
    BINDINGS = [
        Binding("ctrl+g", "generate", "Generate", id="generate.run"),
        Binding("escape", "stop", "Stop", id="generate.stop"),
        Binding("ctrl+s", "toggle_score", "Score mode", id="generate.score"),
    ]

    DEFAULT_CSS = """
    GeneratePane { height: 1fr; }
    GeneratePane #gen-prompt { width: 1fr; }
    GeneratePane #gen-controls { height: 1; margin-top: 1; }
    GeneratePane #gen-controls Label { padding: 0 1 0 1; color: $text-muted; }
    GeneratePane #gen-mode { width: 12; }
    GeneratePane #gen-controls Input { width: 7; }
    GeneratePane #gen-length { width: 8; }
    GeneratePane #gen-seed { width: 8; }
    GeneratePane #gen-run { height: auto; padding: 0 1; color: $text-muted; }
    GeneratePane #gen-error { height: auto; padding: 0 1; color: $error; }
    GeneratePane #gen-scroll { height: 1fr; border-top: hkey $panel; padding: 0 1; }
    GeneratePane #gen-output { height: auto; }
    GeneratePane #gen-status { height: 1; padding: 0 1; background: $panel; }
    """

    # -- messages: posted by the worker, small and immutable ---------------------------------------

    @dataclass
    class Progress(Message):
        """Everything generated so far (cumulative, so a newer one may replace a pending older one)."""

        job: int
        prime: str
        pieces: tuple[tuple[str, float], ...]  # (new text, probability) per token
        seconds: float
        done: bool = False
        stopped: bool = False

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, GeneratePane.Progress) and message.job == self.job and not self.done

    @dataclass
    class Scored(Message):
        job: int
        pieces: tuple[tuple[str, float | None], ...]  # (text, logprob or None for the context token)
        ppl: float
        bpt: float
        nll: float
        scored: int
        unknown: int
        surprising: tuple[tuple[str, float], ...]  # (token, bits)

    def __init__(self, models: ModelCache | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run_path: str | None = None
        self.checkpoint_step: int | None = None
        self.refusal: str | None = None  # the line for a run that is not a language model
        self.run_line = ""  # what #gen-run says
        self.score_mode = False
        self.running = False
        self.generated = ""  # the generated text (detokenized), without the prime
        self.generated_prime = ""  # the prime it continued
        self.status = ""
        self.models = models or ModelCache()  # the app's, shared with Inspect and Translate
        self._shown = 0

    def compose(self) -> ComposeResult:
        yield Static("No run yet: train one, or open one in Runs.", id="gen-run")
        yield Input(placeholder="prime (empty: the run's own start) · score mode: the text to score "
                                "(empty: the last generated)",
                    id="gen-prompt", compact=True)
        with Horizontal(id="gen-controls"):
            yield Select([("sample", "sample"), ("greedy", "greedy")], value="sample", allow_blank=False,
                         id="gen-mode", compact=True, type_to_search=False)
            yield Label("temp")
            yield Input("1.0", id="gen-temperature", compact=True)
            yield Label("top-k")
            yield Input("0", id="gen-top-k", compact=True)
            yield Label("top-p")
            yield Input("1.0", id="gen-top-p", compact=True)
            yield Label("len")
            yield Input("200", id="gen-length", compact=True)
            yield Label("seed")
            yield Input("", placeholder="none", id="gen-seed", compact=True)
        error = Static("", id="gen-error")
        error.display = False
        yield error
        with VerticalScroll(id="gen-scroll"):
            yield Static("ctrl+g generates from the prime · ctrl+s scores the prompt's text instead (empty: the text "
                         "last generated here)", id="gen-output")
        yield Static("", id="gen-status")

    # -- what the app calls ------------------------------------------------------------------------

    def set_run(self, history: RunHistory | None) -> None:
        """The current run, or what the app knows of it, changed; the model reloads on next use
        when its checkpoint step moved."""
        self.run_path = history.path if history is not None else None
        self.checkpoint_step = history.checkpoint_step if history is not None else None
        self.refusal = history.other_task("lm") if history is not None else None
        if history is None:
            text = "No run yet: train one, or open one in Runs."
        elif self.refusal:
            text = self.refusal
        else:
            step = f" · checkpoint at step {self.checkpoint_step}" if self.checkpoint_step is not None else ""
            text = f"run {history.run_id}{step}"
        if text != self.run_line:  # called on every snapshot of a training run: redraw only a change
            self.run_line = text
            self.query_one("#gen-run", Static).update(text)

    # -- reading the form --------------------------------------------------------------------------

    def _value(self, name: str) -> str:
        return str(self.query_one(f"#gen-{name}", Input).value)

    def read_sampling(self) -> Sampling:
        """The typed fields as a Sampling, which checks itself (raises RnnTuiError with one line)."""
        texts = {name: self._value(name.replace("_", "-")) for name in SAMPLING_FIELDS}
        return build(Sampling, texts, greedy=self.query_one("#gen-mode", Select).value == "greedy")

    def set_status(self, text: str) -> None:
        self.status = text
        self.query_one("#gen-status", Static).update(text)

    # -- actions -----------------------------------------------------------------------------------

    def action_generate(self) -> None:
        if self.score_mode:
            self._start_score()
            return
        try:
            sampling = self.read_sampling()
        except RnnTuiError as exc:
            self.show_error(str(exc))
            return
        if self.run_path is None or self.refusal:
            self.show_error(self.refusal or "no run to generate from: train one, or open one in Runs")
            return
        self.show_error("")
        self.running = True
        self.generated, self._shown = "", 0
        self.query_one("#gen-output", Static).update("")
        self.set_status("loading the model…" if not self._cached() else "generating…")
        self.generate_worker(self.next_job(), self.run_path, self.checkpoint_step, self._value("prompt"), sampling)

    def action_stop(self) -> None:
        if not self.running:  # nothing to stop: leave the text field, so the tab keys (1–8) work again
            self.screen.set_focus(None)
            return
        self.workers.cancel_group(self, "generate")
        self.running = False
        self.set_status(self.status.replace("generating", "stopped") if "generating" in self.status else "stopped")

    def action_toggle_score(self) -> None:
        self.score_mode = not self.score_mode
        self.query_one("#gen-controls").disabled = self.score_mode
        if self.score_mode:
            self._start_score()
        else:
            self.action_stop()
            self.set_status("generate mode: ctrl+g generates")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_generate()

    def _cached(self) -> bool:
        return self.models.holds(self.run_path, self.checkpoint_step)

    def _start_score(self) -> None:
        if self.run_path is None or self.refusal:
            self.show_error(self.refusal or "no run to score with: train one, or open one in Runs")
            return
        self.show_error("")
        self.workers.cancel_group(self, "generate")
        job = self.next_job()
        self.running = False
        # an empty prompt scores what was last generated here, as shown: prime and continuation
        text = self._value("prompt") or (self.generated_prime + self.generated if self.generated else "")
        if not text:
            self.set_status("score mode: type a text to score (or generate one first), then enter")
            return
        self.set_status("score mode: scoring…")
        self.score_worker(job, self.run_path, self.checkpoint_step, text)

    # -- workers: they only post messages ----------------------------------------------------------

    def _load(self, path: str, step: int | None) -> LoadedRun:
        """The run's language model from the shared cache (in a worker thread)."""
        from rnn_tui.api import as_lm

        return as_lm(unless_classifier(self.models.get(path, step)))

    @work(thread=True, exclusive=True, group="generate", exit_on_error=False)
    def generate_worker(self, job: int, path: str, step: int | None, prompt: str, sampling: Sampling) -> None:
        from textual.worker import get_current_worker

        worker = get_current_worker()
        with self.reporting(job, "generation"):
            lm = self._load(path, step)
            prime = prompt or lm.default_prime()
            tokens: list[str] = []
            pieces: list[tuple[str, float]] = []
            shown = ""
            start = last = time.perf_counter()
            self.post_message(self.Progress(job, prime, (), 0.0))
            for tok in lm.generate(prime, sampling):
                if worker.is_cancelled:
                    break
                tokens.append(tok["token"])
                text = lm.detokenize(tokens)
                pieces.append((text[len(shown):], tok["prob"]))  # as cli_report.stream_generation
                shown = text
                now = time.perf_counter()
                if now - last >= BATCH_S:
                    last = now
                    self.post_message(self.Progress(job, prime, tuple(pieces), now - start))
            self.post_message(self.Progress(job, prime, tuple(pieces), time.perf_counter() - start, done=True,
                                            stopped=worker.is_cancelled))

    @work(thread=True, exclusive=True, group="generate", exit_on_error=False)
    def score_worker(self, job: int, path: str, step: int | None, text: str) -> None:
        with self.reporting(job, "scoring"):
            lm = self._load(path, step)
            result = lm.score(text)
            tokens = result["tokens"]
            pieces, shown = [], ""
            for i, lp in enumerate(result["logprobs"]):
                joined = lm.detokenize(tokens[: i + 1])
                pieces.append((joined[len(shown):], lp))
                shown = joined
            surprising = tuple((tokens[r["position"]], r["bits"]) for r in result["most_surprising"][:TOP_SURPRISING])
            self.post_message(self.Scored(job, tuple(pieces), result["ppl"], result["bpt"], result["nll"],
                                          result["scored"], result["unknown"], surprising))

    # -- showing results ---------------------------------------------------------------------------

    @on(Progress)
    def _progress(self, message: Progress) -> None:
        message.stop()
        if not self.is_current(message.job):
            return
        n = len(message.pieces)
        text = Text()
        text.append(message.prime, style="bold")  # not Text(prime, style=…): that styles every token
        for piece, prob in message.pieces:
            text.append(piece, style=prob_style(prob))
        self.generated, self.generated_prime = "".join(p for p, _ in message.pieces), message.prime
        self.query_one("#gen-output", Static).update(text)
        if n > self._shown:
            self._shown = n
            self.query_one("#gen-scroll", VerticalScroll).scroll_end(animate=False)
        rate = n / message.seconds if message.seconds > 0 else 0.0
        mean = sum(p for _, p in message.pieces) / n if n else 0.0
        if message.done:
            self.running = False
            what = "stopped" if message.stopped else "done"
        else:
            what = "generating" if self.running else "stopped"
        self.set_status(f"{what} · {n} tokens · {rate:,.0f} tok/s · mean p {mean:.3f}")

    @on(Scored)
    def _scored(self, message: Scored) -> None:
        message.stop()
        if not self.is_current(message.job):
            return
        text = Text()
        for piece, lp in message.pieces:
            text.append(piece, style="dim" if lp is None else prob_style(math.exp(lp)))
        text.append("\n\nmost surprising: ", style="bold")
        text.append("  ".join(f"«{visible_token(t)}» {bits:.1f} bits" for t, bits in message.surprising))
        self.query_one("#gen-output", Static).update(text)
        unknown = f" · {message.unknown} unknown" if message.unknown else ""
        self.set_status(f"score · {message.scored} tokens scored{unknown} · perplexity {message.ppl:.3f} · "
                        f"bits/token {message.bpt:.3f}")

    def show_failure(self, line: str) -> None:
        self.running = False
        self.show_error(line)
        self.set_status("")
