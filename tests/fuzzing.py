"""What the fuzz tests (tests/test_fuzz_*.py) share: how many cases, the one check every case
ends with, and random JSON values and mutations of JSON documents.

Every loader fed hostile input must end in a valid result or an ``RnnTuiError`` whose message
is one non-empty line (what the CLI prints after ``rnn-tui: error:``); any other exception is a
bug the fuzzer found. ``RNN_TUI_FUZZ=N`` multiplies the number of cases (the default keeps the
fuzz files to a few seconds each; a deep run is e.g. ``RNN_TUI_FUZZ=40``).
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from rnn_tui.errors import RnnTuiError

SCALE = max(1, int(os.environ.get("RNN_TUI_FUZZ", "1")))


def examples(n: int) -> int:
    """``n`` cases, times RNN_TUI_FUZZ."""
    return n * SCALE


def outcome(load: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``load(*args, **kwargs)``, or the ``RnnTuiError`` it raised once its message is checked to
    be one non-empty line; any other exception propagates and fails the test."""
    try:
        return load(*args, **kwargs)
    except RnnTuiError as exc:
        message = str(exc)
        assert message.strip(), f"empty error message from {load.__name__}"
        assert len(message.splitlines()) == 1, f"multi-line error: {message!r}"
        return exc


def failed(result: Any) -> bool:
    return isinstance(result, RnnTuiError)


# -- JSON values and mutations ---------------------------------------------------------------------

_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.sampled_from(["", "2", "lm", "seq2seq", "latest", "adam", "x" * 300, "<pad>", "\n"]),
)
json_values = st.recursive(
    _scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)),
    max_leaves=12,
)


def _paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (a tuple of keys / indexes) into the JSON document ``doc``, ``()`` included."""
    paths = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            paths += _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc[:8]):  # the first items are enough: the rest are alike
            paths += _paths(value, (*prefix, i))
    return paths


@st.composite
def mutated(draw: st.DrawFn, doc: Any, rounds: int = 3) -> Any:
    """``doc`` with 1..``rounds`` random changes anywhere in it: a value replaced by a random
    one (another type, a number out of range, a string for a number...), a key deleted, a key
    added, a list emptied or cut."""
    doc = copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, rounds))):
        path = draw(st.sampled_from(_paths(doc)))
        if not path:
            if draw(st.integers(0, 9)) == 0:  # rarely: the whole document
                doc = draw(json_values)
            continue
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        key, action = path[-1], draw(st.sampled_from(["replace", "replace", "replace", "delete", "add", "shrink"]))
        if action == "replace":
            parent[key] = draw(json_values)
        elif action == "delete":
            del parent[key]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = draw(json_values)
        elif action == "shrink" and isinstance(parent[key], (list, str)):
            parent[key] = parent[key][: draw(st.integers(0, max(0, len(parent[key]) - 1)))]
        elif action == "shrink" and isinstance(parent[key], (int, float)) and not isinstance(parent[key], bool):
            parent[key] = draw(st.sampled_from([-1, 0, -parent[key], parent[key] + 1, math.inf, 10**30]))
    return doc
