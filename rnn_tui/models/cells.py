"""The cell equations: one step function per cell type, the one source of truth.

Every step function takes ``gx = W_ih x_t + b_ih`` (the input projection, computed for all
time steps at once by the caller), the previous state, and the recurrent weights. It returns
the new state and a dict of every named intermediate, each (B, H), so the same code serves
training (the peephole LSTM), incremental decoding and inspection. The fused PyTorch kernels
(nn.RNN / nn.GRU / nn.LSTM) use the same conventions, gate order and weight layout, and a test
checks that these functions reproduce them on their own weights.

Conventions (PyTorch's):
    RNN     h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)            (or relu)
    LSTM    rows of W_ih / W_hh in gate order i, f, g, o
            i, f, g, o = σ, σ, tanh, σ  of  W_ih x_t + b_ih + W_hh h_{t-1} + b_hh
            c_t = f ⊙ c_{t-1} + i ⊙ g ;  h_t = o ⊙ tanh(c_t)
    GRU     rows in order r, z, n
            r = σ(W_ir x + b_ir + W_hr h + b_hr) ;  z = σ(W_iz x + b_iz + W_hz h + b_hz)
            n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
            h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}
    Peephole LSTM: i and f also see p ⊙ c_{t-1}, o sees p_o ⊙ c_t (diagonal peepholes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

State = tuple[torch.Tensor, ...]  # (h,) or (h, c), each (B, H)
Parts = dict[str, torch.Tensor]  # every named intermediate of one step, each (B, H)


# -----------------------------------------------------------------------------------------------
# the step functions


def rnn_step(gx: torch.Tensor, state: State, w_hh: torch.Tensor, b_hh: torch.Tensor | None,
             nonlinearity: str = "tanh") -> tuple[State, Parts]:
    """h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)   (relu for rnn-relu)"""
    (h_prev,) = state
    pre = gx + F.linear(h_prev, w_hh, b_hh)
    h = torch.tanh(pre) if nonlinearity == "tanh" else torch.relu(pre)
    return (h,), {"h": h, "pre": pre}


def rnn_relu_step(gx: torch.Tensor, state: State, w_hh: torch.Tensor, b_hh: torch.Tensor | None) -> tuple[State, Parts]:
    """h_t = relu(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)"""
    return rnn_step(gx, state, w_hh, b_hh, nonlinearity="relu")


def lstm_step(gx: torch.Tensor, state: State, w_hh: torch.Tensor, b_hh: torch.Tensor | None) -> tuple[State, Parts]:
    h_prev, c_prev = state
    # pre-activations of the four gates, in PyTorch's row order i, f, g, o
    pre_i, pre_f, pre_g, pre_o = (gx + F.linear(h_prev, w_hh, b_hh)).chunk(4, dim=-1)
    i = torch.sigmoid(pre_i)  # input gate: how much of the candidate to write
    f = torch.sigmoid(pre_f)  # forget gate: how much of the old cell to keep
    g = torch.tanh(pre_g)  # candidate values
    o = torch.sigmoid(pre_o)  # output gate: how much of the cell to show
    c = f * c_prev + i * g  # c_t = f ⊙ c_{t-1} + i ⊙ g
    tanh_c = torch.tanh(c)
    h = o * tanh_c  # h_t = o ⊙ tanh(c_t)
    parts = {"h": h, "c": c, "i": i, "f": f, "g": g, "o": o, "tanh_c": tanh_c,
             "pre_i": pre_i, "pre_f": pre_f, "pre_g": pre_g, "pre_o": pre_o}
    return (h, c), parts


def gru_step(gx: torch.Tensor, state: State, w_hh: torch.Tensor, b_hh: torch.Tensor | None) -> tuple[State, Parts]:
    (h_prev,) = state
    x_r, x_z, x_n = gx.chunk(3, dim=-1)  # W_i* x + b_i*, rows in PyTorch's order r, z, n
    h_r, h_z, hn = F.linear(h_prev, w_hh, b_hh).chunk(3, dim=-1)  # W_h* h_{t-1} + b_h*
    pre_r, pre_z = x_r + h_r, x_z + h_z
    r = torch.sigmoid(pre_r)  # reset gate
    z = torch.sigmoid(pre_z)  # update gate: how much of the old state to keep
    pre_n = x_n + r * hn  # r multiplies (W_hn h + b_hn), after the matrix product
    n = torch.tanh(pre_n)  # candidate state
    h = (1 - z) * n + z * h_prev  # h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}
    return (h,), {"h": h, "r": r, "z": z, "n": n, "hn": hn, "pre_r": pre_r, "pre_z": pre_z, "pre_n": pre_n}


def peephole_lstm_step(gx: torch.Tensor, state: State, w_hh: torch.Tensor, b_hh: torch.Tensor | None,
                       w_peep: torch.Tensor) -> tuple[State, Parts]:
    h_prev, c_prev = state
    a_i, a_f, a_g, a_o = (gx + F.linear(h_prev, w_hh, b_hh)).chunk(4, dim=-1)
    p_i, p_f, p_o = w_peep  # (3, H): one diagonal peephole weight per unit for i, f, o
    peep_i, peep_f = p_i * c_prev, p_f * c_prev  # i and f look at the old cell c_{t-1}
    pre_i, pre_f, pre_g = a_i + peep_i, a_f + peep_f, a_g
    i, f, g = torch.sigmoid(pre_i), torch.sigmoid(pre_f), torch.tanh(pre_g)
    c = f * c_prev + i * g  # c_t = f ⊙ c_{t-1} + i ⊙ g
    peep_o = p_o * c  # o looks at the new cell c_t
    pre_o = a_o + peep_o
    o = torch.sigmoid(pre_o)
    tanh_c = torch.tanh(c)
    h = o * tanh_c  # h_t = o ⊙ tanh(c_t)
    parts = {"h": h, "c": c, "i": i, "f": f, "g": g, "o": o, "tanh_c": tanh_c,
             "pre_i": pre_i, "pre_f": pre_f, "pre_g": pre_g, "pre_o": pre_o,
             "peep_i": peep_i, "peep_f": peep_f, "peep_o": peep_o}
    return (h, c), parts


# -----------------------------------------------------------------------------------------------
# what each cell is, for the layers above and for display


@dataclass(frozen=True)
class CellSpec:
    name: str
    gates: tuple[str, ...]  # ("i", "f", "g", "o") / ("r", "z", "n") / () for rnn
    has_c: bool  # the state is (h, c) rather than (h,)
    chunks: int  # rows of W_ih per hidden unit: 1, 3, 4, 4
    vectors: tuple[str, ...]  # every intermediate the step returns, display order (h first)
    equations: tuple[str, ...]  # the equations as displayed, in this convention
    convention: str  # one line saying which textbook form this is
    step: Callable[..., tuple[State, Parts]]


_LSTM_VECTORS = ("h", "c", "i", "f", "g", "o", "tanh_c", "pre_i", "pre_f", "pre_g", "pre_o")
_LSTM_EQUATIONS = (
    "[pre_i, pre_f, pre_g, pre_o] = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh",
    "i = σ(pre_i),  f = σ(pre_f),  g = tanh(pre_g),  o = σ(pre_o)",
    "c_t = f ⊙ c_{t-1} + i ⊙ g",
    "h_t = o ⊙ tanh(c_t)",
)

CELLS: dict[str, CellSpec] = {
    "rnn": CellSpec(
        name="rnn", gates=(), has_c=False, chunks=1, vectors=("h", "pre"),
        equations=("pre = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh", "h_t = tanh(pre)"),
        convention="Elman RNN, PyTorch form: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) (two biases; texts often write one b)",
        step=rnn_step,
    ),
    "rnn-relu": CellSpec(
        name="rnn-relu", gates=(), has_c=False, chunks=1, vectors=("h", "pre"),
        equations=("pre = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh", "h_t = relu(pre)"),
        convention="Elman RNN with relu, PyTorch form: h_t = relu(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)",
        step=rnn_relu_step,
    ),
    "gru": CellSpec(
        name="gru", gates=("r", "z", "n"), has_c=False, chunks=3,
        vectors=("h", "r", "z", "n", "hn", "pre_r", "pre_z", "pre_n"),
        equations=(
            "r = σ(pre_r),  pre_r = W_ir x_t + b_ir + W_hr h_{t-1} + b_hr",
            "z = σ(pre_z),  pre_z = W_iz x_t + b_iz + W_hz h_{t-1} + b_hz",
            "hn = W_hn h_{t-1} + b_hn",
            "n = tanh(pre_n),  pre_n = W_in x_t + b_in + r ⊙ hn",
            "h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}",
        ),
        convention="PyTorch form: h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}; r applied after W_hn h "
                   "(some texts swap z and 1 − z and apply r before the product)",
        step=gru_step,
    ),
    "lstm": CellSpec(
        name="lstm", gates=("i", "f", "g", "o"), has_c=True, chunks=4, vectors=_LSTM_VECTORS,
        equations=_LSTM_EQUATIONS,
        convention="PyTorch form: gate rows in order i, f, g, o; two biases b_ih + b_hh; no peepholes",
        step=lstm_step,
    ),
    "peephole-lstm": CellSpec(
        name="peephole-lstm", gates=("i", "f", "g", "o"), has_c=True, chunks=4,
        vectors=_LSTM_VECTORS + ("peep_i", "peep_f", "peep_o"),
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
        step=peephole_lstm_step,
    ),
}


# -----------------------------------------------------------------------------------------------
# one unit's equations with this step's numbers (the Inspect screen)


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


def unit_equation(cell: str, parts: dict[str, torch.Tensor], prev: State, unit: int, b: int = 0) -> list[str]:
    """That unit's equations filled in with this step's numbers, one line each.

    ``parts`` is a step's intermediates, each (B, H) or (H,); ``prev`` the state before the
    step, each (B, H) or (H,) (zeros at t = 0). E.g. for an LSTM
    ``c = f·c_prev + i·g = 0.93·0.41 + 0.12·(−0.55) = 0.31``.
    """

    def v(t: torch.Tensor) -> float:
        return float((t[unit] if t.dim() == 1 else t[b, unit]).detach())

    p = {k: v(t) for k, t in parts.items()}
    h_prev = v(prev[0])
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
        c_prev = v(prev[1])
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
