"""The one user-facing error type.

Anything a user can cause (a bad file, a wrong option, a checkpoint of another model) raises
``RnnTuiError`` with a single line saying what is wrong and what to do. The CLI prints that
line to stderr and exits non-zero; the app shows it in the screen. Everything else is a bug.
"""


class RnnTuiError(Exception):
    """An error caused by input, with a one-line message meant for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message
