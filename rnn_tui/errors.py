"""The one user-facing error type.

Anything a user can cause (a bad file, a wrong option, a checkpoint of another model) raises
``RnnTuiError`` with a single line saying what is wrong and what to do. The CLI prints that
line to stderr and exits non-zero; the app shows it in the screen. Everything else is a bug.
"""


# control characters and line separators, written as escapes: a file name or a value with a
# newline in it still makes a one-line message (and cannot move a terminal's cursor)
_ESCAPES = {c: repr(chr(c))[1:-1] for c in (*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029)}


class RnnTuiError(Exception):
    """An error caused by input, with a one-line message meant for the user."""

    def __init__(self, message: str) -> None:
        message = message.translate(_ESCAPES)
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message
