"""The cell equations as displayed, and one unit's equations filled in with a step's numbers.

Plain strings (no torch, no Rich): the help screen, the Inspect tab and `rnn-tui inspect` show
these. The maths itself is models/cells.py's step functions; a test holds the numbers written
here to the numbers those functions compute.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class CellText:
    equations: tuple[str, ...]  # the cell's equations, in this project's (PyTorch's) convention
    convention: str  # one line saying which textbook form this is


_LSTM_EQUATIONS = (
    "[pre_i, pre_f, pre_g, pre_o] = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh",
    "i = σ(pre_i),  f = σ(pre_f),  g = tanh(pre_g),  o = σ(pre_o)",
    "c_t = f ⊙ c_{t-1} + i ⊙ g",
    "h_t = o ⊙ tanh(c_t)",
)

CELL_TEXT: dict[str, CellText] = {
    "rnn": CellText(
        equations=("pre = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh", "h_t = tanh(pre)"),
        convention="Elman RNN, PyTorch form: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) "
                   "(two biases; texts often write one b)",
    ),
    "rnn-relu": CellText(
        equations=("pre = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh", "h_t = relu(pre)"),
        convention="Elman RNN with relu, PyTorch form: h_t = relu(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)",
    ),
    "gru": CellText(
        equations=(
            "r = σ(pre_r),  pre_r = W_ir x_t + b_ir + W_hr h_{t-1} + b_hr",
            "z = σ(pre_z),  pre_z = W_iz x_t + b_iz + W_hz h_{t-1} + b_hz",
            "hn = W_hn h_{t-1} + b_hn",
            "n = tanh(pre_n),  pre_n = W_in x_t + b_in + r ⊙ hn",
            "h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}",
        ),
        convention="PyTorch form: h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}; r applied after W_hn h "
                   "(some texts swap z and 1 − z and apply r before the product)",
    ),
    "lstm": CellText(
        equations=_LSTM_EQUATIONS,
        convention="PyTorch form: gate rows in order i, f, g, o; two biases b_ih + b_hh; no peepholes",
    ),
    "peephole-lstm": CellText(
        equations=(
            "[a_i, a_f, a_g, a_o] = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh",
            "pre_i = a_i + p_i ⊙ c_{t-1},  pre_f = a_f + p_f ⊙ c_{t-1},  pre_g = a_g",
            "i = σ(pre_i),  f = σ(pre_f),  g = tanh(pre_g)",
            "c_t = f ⊙ c_{t-1} + i ⊙ g",
            "o = σ(pre_o),  pre_o = a_o + p_o ⊙ c_t",
            "h_t = o ⊙ tanh(c_t)",
        ),
        convention="Gers & Schmidhuber peepholes (diagonal p_i, p_f see c_{t-1}, p_o sees c_t); "
                   "otherwise the PyTorch LSTM form; runs on this project's own cell",
    ),
}
"""Per cell of models.cells.CELLS (same keys, same order; a test checks): how it is written."""


# -- one unit's equations with this step's numbers ---------------------------------------------------


def _num(x: float) -> str:
    """A number as a result: 2 decimals, a real minus sign."""
    s = f"{x:.2f}"
    if s.startswith("-"):
        s = "−" + s[1:] if s != "-0.00" else "0.00"
    return s


def _arg(x: float) -> str:
    """A number as an operand of a product or sum: negative numbers in parentheses."""
    s = _num(x)
    return f"({s})" if s.startswith("−") else s


def unit_equation(cell: str, parts: dict[str, float], prev: tuple[float, ...]) -> list[str]:
    """One unit's equations filled in with one step's numbers, one line each.

    ``parts`` is that unit's value of every intermediate of the step (``h``, ``c``, every gate
    and pre-activation, by name); ``prev`` its state before the step, ``(h,)`` or ``(h, c)``
    (zeros at the first step). E.g. for an LSTM
    ``c = f·c_prev + i·g = 0.93·0.41 + 0.12·(−0.55) = 0.31``.
    """
    p, h_prev = parts, prev[0]
    if cell in ("rnn", "rnn-relu"):
        fn = "tanh" if cell == "rnn" else "relu"
        return [
            f"pre = W_ih x + b_ih + W_hh h_prev + b_hh = {_num(p['pre'])}   (h_prev = {_num(h_prev)})",
            f"h = {fn}(pre) = {fn}({_num(p['pre'])}) = {_num(p['h'])}",
        ]
    if cell == "gru":
        x_n = p["pre_n"] - p["r"] * p["hn"]  # W_in x + b_in
        return [
            f"r = σ(pre_r) = σ({_num(p['pre_r'])}) = {_num(p['r'])}",
            f"z = σ(pre_z) = σ({_num(p['pre_z'])}) = {_num(p['z'])}",
            f"hn = W_hn h_prev + b_hn = {_num(p['hn'])}   (h_prev = {_num(h_prev)})",
            f"n = tanh(W_in x + b_in + r·hn) = tanh({_num(x_n)} + {_arg(p['r'])}·{_arg(p['hn'])}) "
            f"= tanh({_num(p['pre_n'])}) = {_num(p['n'])}",
            f"h = (1 − z)·n + z·h_prev = (1 − {_arg(p['z'])})·{_arg(p['n'])} + {_arg(p['z'])}·{_arg(h_prev)} "
            f"= {_num(p['h'])}",
        ]
    if cell in ("lstm", "peephole-lstm"):
        c_prev = prev[1]
        lines = []
        if cell == "peephole-lstm":
            lines += [
                f"pre_i = a_i + p_i·c_prev = {_num(p['pre_i'] - p['peep_i'])} + {_arg(p['peep_i'])} = {_num(p['pre_i'])}",
                f"pre_f = a_f + p_f·c_prev = {_num(p['pre_f'] - p['peep_f'])} + {_arg(p['peep_f'])} = {_num(p['pre_f'])}",
            ]
        lines += [
            f"i = σ(pre_i) = σ({_num(p['pre_i'])}) = {_num(p['i'])}",
            f"f = σ(pre_f) = σ({_num(p['pre_f'])}) = {_num(p['f'])}",
            f"g = tanh(pre_g) = tanh({_num(p['pre_g'])}) = {_num(p['g'])}",
            f"c = f·c_prev + i·g = {_arg(p['f'])}·{_arg(c_prev)} + {_arg(p['i'])}·{_arg(p['g'])} = {_num(p['c'])}",
        ]
        if cell == "peephole-lstm":
            lines.append(f"pre_o = a_o + p_o·c = {_num(p['pre_o'] - p['peep_o'])} + {_arg(p['peep_o'])} = {_num(p['pre_o'])}")
        lines += [
            f"o = σ(pre_o) = σ({_num(p['pre_o'])}) = {_num(p['o'])}",
            f"h = o·tanh(c) = {_arg(p['o'])}·tanh({_num(p['c'])}) = {_arg(p['o'])}·{_arg(p['tanh_c'])} = {_num(p['h'])}",
        ]
        return lines
    raise ValueError(f"unknown cell {cell!r}")


def _width(text: str) -> int:
    """Terminal cells of ``text``: wide (CJK) characters take two, combining marks none."""
    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def equation_rows(line: str) -> list[str]:
    """One line of unit_equation as two rows: the symbols, then the numbers under them (never
    split inside parentheses), e.g. ``c = f·c_prev + i·g`` over
    ``  = 0.93·0.41 + 0.12·(−0.55) = 0.31``. Rows per equation depend on the cell only, so a
    panel showing them keeps its height as the step changes."""
    depth = 0
    for k, ch in enumerate(line):
        depth += (ch == "(") - (ch == ")")
        if depth == 0 and line.startswith(" = ", k):
            second = line.find(" = ", k + 3)
            while second != -1 and line[:second].count("(") != line[:second].count(")"):
                second = line.find(" = ", second + 3)
            if second == -1:
                return [line]
            indent = " " * (_width(line[:k]) + 1)
            return [line[:second], f"{indent}= {line[second + 3:]}"]
    return [line]
