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
# what each cell is, for the layers above (how it is written: inspect/equations.py)


@dataclass(frozen=True)
class CellSpec:
    name: str
    gates: tuple[str, ...]  # ("i", "f", "g", "o") / ("r", "z", "n") / () for rnn
    has_c: bool  # the state is (h, c) rather than (h,)
    chunks: int  # rows of W_ih per hidden unit: 1, 3, 4, 4
    vectors: tuple[str, ...]  # every intermediate the step returns, display order (h first)
    sigmoid: tuple[str, ...]  # the vectors that are σ(·), so in [0, 1]; every other one can be negative
    step: Callable[..., tuple[State, Parts]]


_LSTM_VECTORS = ("h", "c", "i", "f", "g", "o", "tanh_c", "pre_i", "pre_f", "pre_g", "pre_o")

CELLS: dict[str, CellSpec] = {
    "rnn": CellSpec(name="rnn", gates=(), has_c=False, chunks=1, vectors=("h", "pre"), sigmoid=(), step=rnn_step),
    "rnn-relu": CellSpec(name="rnn-relu", gates=(), has_c=False, chunks=1, vectors=("h", "pre"), sigmoid=(),
                         step=rnn_relu_step),
    "gru": CellSpec(
        name="gru", gates=("r", "z", "n"), has_c=False, chunks=3,
        vectors=("h", "r", "z", "n", "hn", "pre_r", "pre_z", "pre_n"), sigmoid=("r", "z"), step=gru_step,
    ),
    "lstm": CellSpec(
        name="lstm", gates=("i", "f", "g", "o"), has_c=True, chunks=4, vectors=_LSTM_VECTORS,
        sigmoid=("i", "f", "o"), step=lstm_step,
    ),
    "peephole-lstm": CellSpec(
        name="peephole-lstm", gates=("i", "f", "g", "o"), has_c=True, chunks=4,
        vectors=(*_LSTM_VECTORS, "peep_i", "peep_f", "peep_o"), sigmoid=("i", "f", "o"), step=peephole_lstm_step,
    ),
}
