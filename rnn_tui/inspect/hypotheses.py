"""Hypotheses about what a unit tracks, computed from the text itself: one number per character.

Each signal is the value *after reading* that character, as the model's state at t is after
reading token t: an opening bracket already counts in its own depth, a closing one no longer
does; an opening quote is inside its string, the closing one is outside.

    depth          bracket nesting of ( [ { ... } ] ), outside strings and comments (never below 0)
    quote          1 inside a string quoted with ' or " (triple quotes too; \\ escapes the next character)
    comment        1 from a # outside any string to the end of its line
    line-position  characters since the last newline (a newline is 0, the first character of a line 1)
    indent         the leading spaces and tabs of the current line read so far (each counts 1; a newline is 0)
    digit          1 on 0-9
    space          1 on whitespace (space, tab, newline)
    regex:PATTERN  1 on the characters inside a (non-empty) match of PATTERN (Python re, multiline)

The quote and comment rules are Python's, which also fit builtin:brackets (its "quoted text"
holds brackets that do not change the depth). A ' or " string that meets a newline before its
closing quote ends there (in prose an apostrophe opens a "string" that lasts to the line's end).
Signals are per character: a model with a word tokenizer has no per-character states to match.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from rnn_tui.errors import RnnTuiError

REGEX_PREFIX = "regex:"
OPENERS, CLOSERS = "([{", ")]}"


def _lex(text: str) -> tuple[list[float], list[float], list[float]]:
    """depth, quote and comment in one pass (each decides where the others count)."""
    depth: list[float] = []
    quote: list[float] = []
    comment: list[float] = []
    level, delim, in_comment = 0, "", False  # delim: the open string's quote, one or three of ' or ", "" outside
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        q = [0.0]  # quote after each character this step reads (an escape or a triple quote: several)
        if c == "\n":
            if len(delim) == 1:
                delim = ""  # a one-quote string ends at its line's end
            in_comment = False
            q = [1.0 if delim else 0.0]
        elif in_comment:
            pass
        elif delim:
            if c == "\\":
                q = [1.0, 1.0]  # the escaped character cannot close the string
            elif text.startswith(delim, i):
                q = [1.0] * (len(delim) - 1) + [0.0]  # outside from its last closing quote on
                delim = ""
            else:
                q = [1.0]
        elif c == "#":
            in_comment = True
        elif c in "'\"":
            delim = c * 3 if text.startswith(c * 3, i) else c
            q = [1.0] * len(delim)
        elif c in OPENERS:
            level += 1
        elif c in CLOSERS:
            level = max(level - 1, 0)
        q = q[: n - i]  # an escape at the very end
        quote += q
        depth += [float(level)] * len(q)
        comment += [1.0 if in_comment else 0.0] * len(q)
        i += len(q)
    return depth, quote, comment


def _line_position(text: str) -> list[float]:
    out, k = [], 0
    for c in text:
        k = 0 if c == "\n" else k + 1
        out.append(float(k))
    return out


def _indent(text: str) -> list[float]:
    out, k, leading = [], 0, True
    for c in text:
        if c == "\n":
            k, leading = 0, True
        elif leading and c in " \t":
            k += 1
        else:
            leading = False
        out.append(float(k))
    return out


def _regex(pattern: str) -> Callable[[str], list[float]]:
    try:
        compiled = re.compile(pattern, re.MULTILINE)
    except re.error as exc:
        raise RnnTuiError(f"bad regex {pattern!r}: {exc}") from None

    def signal(text: str) -> list[float]:
        out = [0.0] * len(text)
        for m in compiled.finditer(text):
            out[m.start():m.end()] = [1.0] * (m.end() - m.start())
        return out

    return signal


HYPOTHESES: dict[str, Callable[[str], list[float]]] = {
    "depth": lambda text: _lex(text)[0],
    "quote": lambda text: _lex(text)[1],
    "line-position": _line_position,
    "indent": _indent,
    "comment": lambda text: _lex(text)[2],
    "digit": lambda text: [1.0 if "0" <= c <= "9" else 0.0 for c in text],
    "space": lambda text: [1.0 if c.isspace() else 0.0 for c in text],
}
"""The built-in hypotheses by name, each text -> one float per character (see the module's docstring)."""


def hypothesis(name: str) -> Callable[[str], list[float]]:
    """The signal function called ``name``: a built-in or ``regex:PATTERN``; one clear line if neither."""
    if name.startswith(REGEX_PREFIX):
        pattern = name[len(REGEX_PREFIX):]
        if not pattern:
            raise RnnTuiError("regex: needs a pattern, e.g. regex:[0-9]+")
        return _regex(pattern)
    if name not in HYPOTHESES:
        raise RnnTuiError(f"unknown hypothesis {name!r}; choose from {', '.join(HYPOTHESES)}, or regex:PATTERN")
    return HYPOTHESES[name]


def signals(names: Sequence[str], text: str) -> dict[str, list[float]]:
    """Each named hypothesis over ``text``: one float per character. Every name is checked
    before any work, so a bad one fails at once."""
    functions = {name: hypothesis(name) for name in names}
    return {name: f(text) for name, f in functions.items()}
