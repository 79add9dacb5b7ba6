"""What every pane's thread workers share: numbered jobs and failures as one line.

A pane starts a job per request (``next_job``); its worker posts messages carrying that number,
and the pane shows only those of its latest job, so a slow old worker never overwrites a newer
result. A worker runs inside ``reporting(job, doing)``: any exception becomes one ``JobFailed``
line (a user error's own message, else "doing failed: Type: message"), never a crash.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from rnn_tui.errors import RnnTuiError


def failure_line(exc: Exception, doing: str) -> str:
    """A user error's own line, or one line naming anything else (a broken checkpoint must not
    take the app down)."""
    if isinstance(exc, RnnTuiError):
        return str(exc)
    return f"{doing} failed: {type(exc).__name__}: {exc}".splitlines()[0]


@dataclass
class JobFailed(Message):
    job: int
    message: str  # one line


class Jobs(Widget):
    """A pane whose thread workers run numbered jobs (see the module docstring)."""

    job = 0

    def next_job(self) -> int:
        """A new job: messages of the older ones are stale from now on."""
        self.job += 1
        return self.job

    def is_current(self, job: int) -> bool:
        return job == self.job

    @contextmanager
    def reporting(self, job: int, doing: str) -> Iterator[None]:
        """Run a worker's body; an exception is posted as JobFailed(job, one line)."""
        try:
            yield
        except Exception as exc:
            self.post_message(JobFailed(job, failure_line(exc, doing)))

    def on_job_failed(self, message: JobFailed) -> None:
        message.stop()
        if self.is_current(message.job):
            self.show_failure(message.message)

    ERROR_ID = ""  # the id of the pane's one-line error Static (hidden while empty), if it has one

    def show_error(self, message: str) -> None:
        """Show ``message`` on the pane's error line; an empty one hides it."""
        error = self.query_one(f"#{self.ERROR_ID}", Static)
        error.update(message)
        error.display = bool(message)

    def show_failure(self, line: str) -> None:
        self.show_error(line)
