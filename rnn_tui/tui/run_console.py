"""A pane that works with the current run's model (Translate, Classify, Forecast): its status line follows
the run the app has open, it knows whether that run's task is its own, and it loads the model
through the app's shared ModelCache on its next job."""

from __future__ import annotations

from typing import Any

from textual.widgets import Static

from rnn_tui.tui.history import RunHistory
from rnn_tui.tui.jobs import Jobs
from rnn_tui.tui.model_cache import ModelCache


class RunConsole(Jobs):
    NO_RUN = ""  # the status line with no run (or none of the pane's task) open
    RUN_ID = ""  # the id of the pane's status line Static

    def __init__(self, models: ModelCache | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.models = models or ModelCache()  # the app's, shared with the other panes
        self.run_path: str | None = None
        self.checkpoint_step: int | None = None
        self.fits: bool | None = None  # whether the run's task is this pane's (None: not known yet)
        self.line = self.NO_RUN  # what the status line says about the run

    TASK = ""  # the task whose runs the pane uses
    NEEDS = ""  # what a run of another task is told needs one of TASK ("classifying")

    def describe(self, history: RunHistory) -> tuple[str, bool | None]:
        """The status line for a run — its id, checkpoint step, latest validation score — and
        whether the pane can use its model (None: not known until its config was read)."""
        if history.task is None:
            return f"run {history.run_id} · {history.config_error or 'reading…'}", None
        other = history.other_task(self.TASK)
        if other:
            return f"{other}; {self.NEEDS} needs a run trained with --task {self.TASK}", False
        step = history.checkpoint_step
        return " · ".join([f"run {history.run_id}", f"checkpoint step {step}" if step is not None else "no checkpoint yet",
                           self.validation(history)]), True

    def validation(self, history: RunHistory) -> str:
        """The latest validation score of a run of the pane's task, as its status line says it."""
        raise NotImplementedError

    def clear(self) -> None:
        """Forget what is shown of the previous run's results."""

    def set_run(self, history: RunHistory | None) -> None:
        """The current run changed, or what the app knows of it grew: the status line follows it;
        the model is (re)loaded on the next job when its checkpoint step moved."""
        path = history.path if history is not None else None
        if path != self.run_path:  # another run: what is shown belonged to the old one
            self.next_job()
            self.clear()
            self.show_error("")
        self.run_path = path
        before = self.line
        if history is None:
            self.checkpoint_step, self.fits, self.line = None, False, self.NO_RUN
        else:
            self.checkpoint_step = history.checkpoint_step
            self.line, self.fits = self.describe(history)
        if self.line != before:  # called on every snapshot of a training run: redraw only a change
            self.query_one(f"#{self.RUN_ID}", Static).update(self.line)

    def usable_run(self) -> str | None:
        """The open run's path if the pane can use its model; else None, and the status line's
        reason shown as the error."""
        if self.run_path is None or self.fits is False:
            self.show_error(self.line)
            return None
        return self.run_path
