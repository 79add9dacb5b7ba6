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

Interventions (models/interventions.py): every step function takes ``fix``, a map from a vector's
name (a gate, ``c`` or ``h``) to (mask, values), each (H,). A fixed vector is replaced, in the
masked units, the moment it is computed: what follows in the same step (c from a frozen f, h from
a clamped c) and everything after it (the state carried to t+1, the layer above, the readout)
sees the replaced value, and so do the returned parts.

``linear`` computes the recurrent product W_hh h_{t-1} + b_hh (F.linear unless a training loop
passes its own: models/loop_products.LoopLinear, the same numbers to float rounding).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

State = tuple[torch.Tensor, ...]  # (h,) or (h, c), each (B, H)
Parts = dict[str, torch.Tensor]  # every named intermediate of one step, each (B, H)
Fix = dict[str, tuple[torch.Tensor, torch.Tensor]]  # vector name -> (mask (H,) bool, values (H,))
Linear = Callable[[torch.Tensor, torch.Tensor, torch.Tensor | None], torch.Tensor]  # F.linear's (x, w, b)


def fixed(name: str, x: torch.Tensor, fix: Fix | None) -> torch.Tensor:
    """``x`` with the units that ``fix`` sets for ``name`` replaced by their values (else ``x`` itself)."""
    if not fix or name not in fix:
        return x
    mask, values = fix[name]
    return torch.where(mask, values, x)


# -----------------------------------------------------------------------------------------------
# the step functions


def rnn_step(gx: torch.Tensor, state: State, w_hh: torch.Tensor, b_hh: torch.Tensor | None,
             nonlinearity: str = "tanh", fix: Fix | None = None, linear: Linear = F.linear) -> tuple[State, Parts]:
    """h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)   (relu for rnn-relu)"""
    (h_prev,) = state
    pre = gx + linear(h_prev, w_hh, b_hh)
    h = fixed("h", torch.tanh(pre) if nonlinearity == "tanh" else torch.relu(pre), fix)
    return (h,), {"h": h, "pre": pre}


def rnn_relu_step(gx: torch.Tensor, state: State, w_hh: torch.Tensor, b_hh: torch.Tensor | None,
                  fix: Fix | None = None, linear: Linear = F.linear) -> tuple[State, Parts]:
    """h_t = relu(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)"""
    return rnn_step(gx, state, w_hh, b_hh, nonlinearity="relu", fix=fix, linear=linear)


def lstm_step(gx: torch.Tensor, state: State, w_hh: torch.Tensor, b_hh: torch.Tensor | None,
              fix: Fix | None = None, linear: Linear = F.linear) -> tuple[State, Parts]:
    h_prev, c_prev = state
    # pre-activations of the four gates, in PyTorch's row order i, f, g, o
    pre_i, pre_f, pre_g, pre_o = (gx + linear(h_prev, w_hh, b_hh)).chunk(4, dim=-1)
    i = fixed("i", torch.sigmoid(pre_i), fix)  # input gate: how much of the candidate to write
    f = fixed("f", torch.sigmoid(pre_f), fix)  # forget gate: how much of the old cell to keep
    g = fixed("g", torch.tanh(pre_g), fix)  # candidate values
    o = fixed("o", torch.sigmoid(pre_o), fix)  # output gate: how much of the cell to show
    c = fixed("c", f * c_prev + i * g, fix)  # c_t = f ⊙ c_{t-1} + i ⊙ g
    tanh_c = torch.tanh(c)
    h = fixed("h", o * tanh_c, fix)  # h_t = o ⊙ tanh(c_t)
    parts = {"h": h, "c": c, "i": i, "f": f, "g": g, "o": o, "tanh_c": tanh_c,
             "pre_i": pre_i, "pre_f": pre_f, "pre_g": pre_g, "pre_o": pre_o}
    return (h, c), parts


def gru_step(gx: torch.Tensor, state: State, w_hh: torch.Tensor, b_hh: torch.Tensor | None,
             fix: Fix | None = None, linear: Linear = F.linear) -> tuple[State, Parts]:
    (h_prev,) = state
    x_r, x_z, x_n = gx.chunk(3, dim=-1)  # W_i* x + b_i*, rows in PyTorch's order r, z, n
    h_r, h_z, hn = linear(h_prev, w_hh, b_hh).chunk(3, dim=-1)  # W_h* h_{t-1} + b_h*
    pre_r, pre_z = x_r + h_r, x_z + h_z
    r = fixed("r", torch.sigmoid(pre_r), fix)  # reset gate
    z = fixed("z", torch.sigmoid(pre_z), fix)  # update gate: how much of the old state to keep
    pre_n = x_n + r * hn  # r multiplies (W_hn h + b_hn), after the matrix product
    n = fixed("n", torch.tanh(pre_n), fix)  # candidate state
    h = fixed("h", (1 - z) * n + z * h_prev, fix)  # h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}
    return (h,), {"h": h, "r": r, "z": z, "n": n, "hn": hn, "pre_r": pre_r, "pre_z": pre_z, "pre_n": pre_n}


def peephole_lstm_step(gx: torch.Tensor, state: State, w_hh: torch.Tensor, b_hh: torch.Tensor | None,
                       w_peep: torch.Tensor, fix: Fix | None = None, linear: Linear = F.linear) -> tuple[State, Parts]:
    h_prev, c_prev = state
    a_i, a_f, a_g, a_o = (gx + linear(h_prev, w_hh, b_hh)).chunk(4, dim=-1)
    p_i, p_f, p_o = w_peep  # (3, H): one diagonal peephole weight per unit for i, f, o
    peep_i, peep_f = p_i * c_prev, p_f * c_prev  # i and f look at the old cell c_{t-1}
    pre_i, pre_f, pre_g = a_i + peep_i, a_f + peep_f, a_g
    i, f, g = fixed("i", torch.sigmoid(pre_i), fix), fixed("f", torch.sigmoid(pre_f), fix), fixed("g", torch.tanh(pre_g), fix)
    c = fixed("c", f * c_prev + i * g, fix)  # c_t = f ⊙ c_{t-1} + i ⊙ g
    peep_o = p_o * c  # o looks at the new cell c_t
    pre_o = a_o + peep_o
    o = fixed("o", torch.sigmoid(pre_o), fix)
    tanh_c = torch.tanh(c)
    h = fixed("h", o * tanh_c, fix)  # h_t = o ⊙ tanh(c_t)
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
