"""Small modal dialogs: help, quit-while-training, set learning rate."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from rnn_tui.config import TrainConfig, check_lr
from rnn_tui.errors import RnnTuiError
from rnn_tui.inspect.equations import CELL_TEXT
from rnn_tui.options import parse_text, setting_of

HELP = """\
[b]rnn-tui[/b] — a terminal playground for recurrent networks

[b]Tabs    [/b] 1 Data · 2 Train · 3 Inspect · 4 Generate · 5 Runs · 6 Translate · 7 Classify · 8 Forecast · 9 Lab
[b]Anywhere[/b] ctrl+p command palette · F1 this help · F2 recipes (the classic experiments, one key to train) · esc leaves a text field (then 1–9 switch tabs) · ctrl+q quit
[b]Data    [/b] pick a built-in dataset or a file (→ completes a typed path; ctrl+o browses), a tokenizer; ctrl+r previews it
[b]Train   [/b] s start · p pause/resume · x stop · l set learning rate · v next curve (grad norm, lr, perplexity, tokens/s, validation BLEU, accuracy, macro-F1)
[b]Inspect [/b] type a text; ←/→ token · ↑/↓ unit · [ ] layer · v vector · o sort units · / find a unit · e encoder/decoder (a translator; "source => target" forces the target) · a ablate the unit (a language model)
[b]Generate[/b] ctrl+g generate · esc stop (or leave the text field) · ctrl+s score mode (colours a text by surprisal)
[b]Runs    [/b] enter open · o overlay its curves on the current run · r resume a stopped run
[b]Translate[/b] a seq2seq run: enter or ctrl+t translates · beam width (1 = greedy), α, n-best · a reference gives the sentence BLEU
[b]Classify[/b] a classification run: enter or ctrl+t classifies the text · a bar per class, most likely first
[b]Forecast[/b] a forecasting run: history, test truth, the model's and the baselines' forecasts, the next N values · ←/→ cursor · enter or ctrl+t forecasts
[b]Lab     [/b] g gradients through time on a log scale (fresh cells, the run's latest checkpoint) · a an arena's table and curves · u units that track depth, quotes… (f finds them; enter opens one in Inspect)

Training runs in its own process writing a run directory (runs/<id>/): quitting can leave it running, and reopening the app (or `rnn-tui app --run ID`) reattaches. The same runs are used by `rnn-tui generate / score / inspect` headless.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,q", "dismiss", "Close", id="help.close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(HELP)
            yield Static("[b]Equations as implemented[/b] (PyTorch conventions; the Inspect screen shows these)")
            for name, text in CELL_TEXT.items():
                yield Static(f"[b]{name}[/b]  {text.convention}\n" + "\n".join(f"    {e}" for e in text.equations))


class QuitScreen(ModalScreen[str]):
    """Asked when a trainer is still running: stop it, leave it, or stay."""

    BINDINGS = [
        Binding("s", "choose('stop')", "Stop & quit", id="quit.stop"),
        Binding("l", "choose('leave')", "Leave running", id="quit.leave"),
        Binding("escape", "choose('cancel')", "Cancel", id="quit.cancel"),
    ]

    def __init__(self, running: list[str]) -> None:
        super().__init__()
        self.running = running

    def compose(self) -> ComposeResult:
        with Vertical(id="quit-box"):
            yield Label(f"Training is running: {', '.join(self.running)}")
            yield Label("Leave it running (reopen the app to reattach) or stop it?")
            with Horizontal():
                yield Button("Leave running (l)", id="leave", variant="primary")
                yield Button("Stop & quit (s)", id="stop", variant="error")
                yield Button("Cancel (esc)", id="cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id)

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)


class LrScreen(ModalScreen[float | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="lr.cancel")]

    def __init__(self, current: float | None) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="lr-box"):
            yield Label("New learning rate (enter to apply, esc to cancel)")
            yield Input(f"{self.current:g}" if self.current else "", id="lr-input")
            yield Static("", id="lr-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            lr = check_lr(parse_text(setting_of(TrainConfig, "lr"), event.value))
        except RnnTuiError as exc:
            self.query_one("#lr-error", Static).update(f"{exc} (e.g. 0.001)")
            return
        self.dismiss(lr)

    def action_cancel(self) -> None:
        self.dismiss(None)
