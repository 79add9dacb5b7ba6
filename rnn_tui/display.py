"""How tokens and probabilities look, shared by the CLI's output and the app (plain strings:
no Rich, no Textual, so the core could use it too)."""

from __future__ import annotations

WHITESPACE = {" ": "␣", "\n": "⏎", "\t": "⇥", "\r": "␍", "\u3000": "␣"}


def visible_token(token: str) -> str:
    """The token as drawn: whitespace as ␣ ⏎ ⇥, other control characters escaped."""
    if not token:
        return "∅"
    out = []
    for char in token:
        if char in WHITESPACE:
            out.append(WHITESPACE[char])
        elif not char.isprintable():
            out.append(char.encode("unicode_escape").decode("ascii"))
        else:
            out.append(char)
    return "".join(out)


def prob_style(prob: float) -> str:
    """A Rich style name for a token of this probability: likely tokens plain, unlikely ones
    warmer, so a reader sees where the model was unsure."""
    if prob >= 0.5:
        return ""
    if prob >= 0.2:
        return "yellow"
    if prob >= 0.05:
        return "dark_orange"
    return "bold red"
