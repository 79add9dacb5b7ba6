"""The Classify pane: a text in, the predicted class and one probability bar per class out.

What the pane says about the run (its task, checkpoint step, validation accuracy beside the best
baseline) comes from the app's RunHistory, never from reading the run directory. Threading rule
(docs/architecture.md): the model comes from the app's ModelCache (one load per checkpoint, shared
with the other panes) in an exclusive thread worker that only posts the plain-data message below,
so a newer checkpoint of a run still training is used on the next text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Input, Static

from rnn_tui.display import prob_style
from rnn_tui.errors import RnnTuiError
from rnn_tui.tui.history import RunHistory
from rnn_tui.tui.model_cache import ModelCache
from rnn_tui.tui.run_console import RunConsole

NO_RUN = "No classifier: train one with --task classify or open one in Runs."
BAR = 30  # cells of a bar at probability 1
EIGHTHS = " ▏▎▍▌▋▊▉"



def bar(prob: float, width: int = BAR) -> str:
    """A horizontal bar of ``width`` cells at probability 1, in eighths of a cell."""
    eighths = round(max(0.0, min(1.0, prob)) * width * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (EIGHTHS[part] if part else "")).ljust(width)


def probabilities_text(result: dict[str, Any], step: int | None) -> Text:
    """The predicted class, then one bar per class, most likely first (names padded by cell width)."""
    probs = sorted(result["probs"].items(), key=lambda item: -item[1])
    width = max(cell_len(name) for name, _ in probs)
    out = Text()
    out.append("class: ", style="dim")
    out.append(f"{result['label']}\n\n", style="bold")
    for name, p in probs:
        style = prob_style(p)
        out.append(name + " " * (width - cell_len(name) + 1), style="bold" if name == result["label"] else "")
        out.append(bar(p), style=style or "green")
        out.append(f" {p:6.1%}\n", style=style)
    used = f" · checkpoint step {step}" if step is not None else ""
    out.append(f"{result['tokens']} tokens{used}", style="dim")
    return out


class ClassifyPane(RunConsole):
    BINDINGS = [Binding("ctrl+t", "classify", "Classify", id="classify.run")]
    ERROR_ID = "cl-error"

    DEFAULT_CSS = """
    ClassifyPane { height: 1fr; }
    ClassifyPane #cl-run { height: auto; padding: 0 1; color: $text-muted; }
    ClassifyPane #cl-text { width: 1fr; margin: 0 1; }
    ClassifyPane #cl-keys { height: 1; padding: 0 1; color: $text-muted; }
    ClassifyPane #cl-error { height: auto; padding: 0 1; color: $error; }
    ClassifyPane #cl-scroll { height: 1fr; border-top: hkey $panel; padding: 0 1; }
    ClassifyPane #cl-probs { height: auto; width: 1fr; }
    """

    @dataclass
    class Classified(Message):
        job: int
        result: dict[str, Any]  # LoadedClassifier.classify's
        step: int | None  # the step of the checkpoint that classified

    NO_RUN, RUN_ID, TASK, NEEDS = NO_RUN, "cl-run", "classify", "classifying"

    def __init__(self, models: ModelCache | None = None, **kwargs: Any) -> None:
        super().__init__(models, **kwargs)
        self.result: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield Static(NO_RUN, id="cl-run", markup=False)
        yield Input(placeholder="a text to classify (enter classifies)", id="cl-text", compact=True)
        yield Static("enter or ctrl+t classifies the text", id="cl-keys")
        error = Static("", id="cl-error", markup=False)
        error.display = False
        yield error
        with VerticalScroll(id="cl-scroll"):
            yield Static("", id="cl-probs")

    # -- what the app calls -------------------------------------------------------------------------

    def validation(self, history: RunHistory) -> str:
        val = history.last_acc
        return (f"validation accuracy {history.accuracy_text()} at step {val['step']}" if val is not None
                else "no validation accuracy yet")

    def clear(self) -> None:
        self.result = None
        self.query_one("#cl-probs", Static).update("")

    # -- classifying --------------------------------------------------------------------------------

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_classify()

    def action_classify(self) -> None:
        path = self.usable_run()
        if path is None:
            return
        text = self.query_one("#cl-text", Input).value
        if not text.strip():
            self.show_error("type a text to classify")
            return
        self.show_error("")
        self._classify(self.next_job(), path, self.checkpoint_step, text)

    @work(thread=True, exclusive=True, group="classify", exit_on_error=False)
    def _classify(self, job: int, path: str, step: int | None, text: str) -> None:
        from rnn_tui.api import LoadedClassifier

        with self.reporting(job, "classification"):
            loaded = self.models.get(path, step)
            if not isinstance(loaded, LoadedClassifier):
                raise RnnTuiError(f"{loaded.run.id} is not a classifier; classifying needs a run trained with "
                                  "--task classify")
            self.post_message(self.Classified(job, loaded.classify(text), loaded.meta.get("step")))

    @on(Classified)
    def _classified(self, message: Classified) -> None:
        message.stop()
        if not self.is_current(message.job):
            return
        self.result = message.result
        self.query_one("#cl-probs", Static).update(probabilities_text(message.result, message.step))



__all__ = ["NO_RUN", "ClassifyPane", "bar", "probabilities_text"]
