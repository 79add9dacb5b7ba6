"""A stacked recurrent layer with one interface for the fused PyTorch kernels and our own cell.

    rnn, rnn-relu, gru, lstm   ->  nn.RNN / nn.GRU / nn.LSTM (fused; used for training, scoring)
                                   (gru: FastGRU, an nn.GRU with a faster CPU training path, fast_gru.py)
    peephole-lstm              ->  PeepholeLSTM: a Python time loop over cells.peephole_lstm_step

Both keep their weights under the fused module's names (``core.weight_ih_l0``, ...), so the
step functions in cells.py can run on them: ``step`` (one token through all layers, for cheap
incremental decoding) and ``trace`` (every intermediate, for inspection) never call the fused
module, and a test checks they reproduce it.

An intervention (``fixes``, per layer: the cells.py ``fix`` of vectors set to given values,
models/interventions.py) cannot enter the fused kernel, so while one is set ``forward`` runs the
step functions too; ``step`` and ``trace`` pass it to every step.

The state is stacked per layer, nn.LSTM's convention: (h,) or (h, c), each (L, B, H).

Every cell takes a packed batch (pack_padded_sequence) as the fused kernels do: each sequence
stops at its own length. ``run_packed`` and ``run_packed_reversed`` run a padded batch that way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import TypedDict

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from rnn_tui.models.cells import CELLS, Fix, Linear, Parts, State
from rnn_tui.models.fast_gru import FastGRU
from rnn_tui.models.interventions import Intervention, fixes
from rnn_tui.models.loop_products import LoopLinear


class _Weights(TypedDict):
    w_ih: torch.Tensor
    w_hh: torch.Tensor
    b_ih: torch.Tensor | None
    b_hh: torch.Tensor | None


class LayerWeights(_Weights, total=False):
    w_peep: torch.Tensor  # (3, H): the peephole LSTM's p_i, p_f, p_o


FUSED = {"rnn": nn.RNN, "rnn-relu": nn.RNN, "gru": FastGRU, "lstm": nn.LSTM}


def layer_states(state: State) -> list[State]:
    """One sequence's stacked state, each (L, 1, H) -> per layer, each (H,) float32 on the cpu."""
    return [tuple(s[k, 0].float().cpu() for s in state) for k in range(state[0].size(0))]


def trace_vectors(parts: list[list[dict[str, torch.Tensor]]], prefix: str = "") -> dict[str, torch.Tensor]:
    """Recurrent.trace's parts[layer][t][name] (H,) -> {f"{prefix}{layer}.{name}": (T, H)} float32 on the cpu."""
    return {f"{prefix}{k}.{name}": torch.stack([p[name] for p in layer]).float().cpu()
            for k, layer in enumerate(parts) for name in layer[0]}


class PeepholeLSTM(nn.Module):
    """A stacked peephole LSTM with nn.LSTM's interface (batch_first, packed input too) and
    parameter names, plus ``weight_peep_l{k}`` (3, H): the diagonal peepholes p_i, p_f, p_o."""

    def __init__(self, input_size: int, hidden: int, layers: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        self.input_size, self.hidden_size, self.num_layers, self.dropout = input_size, hidden, layers, dropout
        for k in range(layers):
            n_in = input_size if k == 0 else hidden
            self.register_parameter(f"weight_ih_l{k}", nn.Parameter(torch.empty(4 * hidden, n_in)))
            self.register_parameter(f"weight_hh_l{k}", nn.Parameter(torch.empty(4 * hidden, hidden)))
            self.register_parameter(f"bias_ih_l{k}", nn.Parameter(torch.empty(4 * hidden)))
            self.register_parameter(f"bias_hh_l{k}", nn.Parameter(torch.empty(4 * hidden)))
            self.register_parameter(f"weight_peep_l{k}", nn.Parameter(torch.empty(3, hidden)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # nn.LSTM's default: every weight ~ U(−1/√H, 1/√H)
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x: torch.Tensor | PackedSequence, state: State) -> tuple[torch.Tensor | PackedSequence, State]:
        step = CELLS["peephole-lstm"].step
        lengths = None
        if isinstance(x, PackedSequence):  # as nn.LSTM: each sequence's state stops at its length
            x, lengths = pad_packed_sequence(x, batch_first=True)  # back in the batch's own order
            live = (torch.arange(x.size(1))[:, None] < lengths[None, :]).to(x.device)  # (T, B)
        h0, c0 = state
        hs, cs = [], []
        for k in range(self.num_layers):
            w_ih, w_hh = getattr(self, f"weight_ih_l{k}"), getattr(self, f"weight_hh_l{k}")
            b_ih, b_hh = getattr(self, f"bias_ih_l{k}"), getattr(self, f"bias_hh_l{k}")
            w_peep = getattr(self, f"weight_peep_l{k}")
            gx = F.linear(x, w_ih, b_ih)  # the input projection for all t: one matmul (B, T, 4H)
            s: State = (h0[k], c0[k])
            outs = []
            for t, gx_t in enumerate(gx.unbind(1)):  # unbind, not gx[:, t]: indexing makes backward O(T²)
                new, _ = step(gx_t, s, w_hh, b_hh, w_peep)
                s = new if lengths is None else tuple(torch.where(live[t, :, None], n, o) for n, o in zip(new, s))
                outs.append(s[0])
            x = torch.stack(outs, dim=1)  # (B, T, H)
            if self.dropout and self.training and k < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)  # between layers, like nn.LSTM
            hs.append(s[0])
            cs.append(s[1])
        out = x if lengths is None else pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        return out, (torch.stack(hs), torch.stack(cs))


class Recurrent(nn.Module):
    def __init__(self, cell: str, input_size: int, hidden: int, layers: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"unknown cell {cell!r}; expected one of {', '.join(CELLS)}")
        self.cell, self.spec = cell, CELLS[cell]
        self.input_size, self.hidden, self.layers = input_size, hidden, layers
        between = dropout if layers > 1 else 0.0  # nn.LSTM warns about dropout with one layer
        if cell == "peephole-lstm":
            self.core: nn.Module = PeepholeLSTM(input_size, hidden, layers, between)
        else:
            kwargs = {"nonlinearity": "relu" if cell == "rnn-relu" else "tanh"} if cell.startswith("rnn") else {}
            self.core = FUSED[cell](input_size, hidden, layers, batch_first=True, dropout=between, **kwargs)
        self.fixes: dict[int, Fix] = {}  # layer -> vectors set to given values (an intervention); {} = none

    # -- state -----------------------------------------------------------------------------------

    def init_state(self, batch: int, device: torch.device | str | None = None) -> State:
        w: torch.Tensor = self.core.weight_hh_l0  # type: ignore[assignment]  # nn.Module attributes type as Module
        zeros = torch.zeros(self.layers, batch, self.hidden, device=device or w.device, dtype=w.dtype)
        return (zeros, zeros.clone()) if self.spec.has_c else (zeros,)

    def intervene(self, interventions: Iterable[Intervention]) -> None:
        """Set these interventions (checked against this layer stack; none: the plain model)."""
        w: torch.Tensor = self.core.weight_hh_l0  # type: ignore[assignment]
        self.fixes = fixes(interventions, self.spec, self.layers, self.hidden, w.device, w.dtype)

    # -- the whole sequence: fused kernel (or the peephole loop) ---------------------------------

    def forward(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """x (B, T, I) -> outputs of the last layer (B, T, H) and the final state."""
        if state is None:
            state = self.init_state(x.size(0), x.device)
        if self.fixes:  # an intervention: the step functions, not the fused kernel
            if isinstance(x, PackedSequence):
                raise ValueError("an intervention runs the step functions, which take a padded batch, not a packed one")
            out, state, _ = self._loop(x, state, keep=False)
            return out, state
        if self.spec.has_c:
            out, (h, c) = self.core(x, tuple(state))
            return out, (h, c)
        out, h = self.core(x, state[0])
        return out, (h,)

    # -- the same equations on the same weights, from cells.py -----------------------------------

    def layer_weights(self, layer: int) -> LayerWeights:
        """w_ih, w_hh, b_ih, b_hh (None without bias), and w_peep for the peephole LSTM."""
        m = self.core
        w: LayerWeights = {
            "w_ih": getattr(m, f"weight_ih_l{layer}"),
            "w_hh": getattr(m, f"weight_hh_l{layer}"),
            "b_ih": getattr(m, f"bias_ih_l{layer}", None),
            "b_hh": getattr(m, f"bias_hh_l{layer}", None),
        }
        if self.cell == "peephole-lstm":
            w["w_peep"] = getattr(m, f"weight_peep_l{layer}")
        return w

    def _layer_step(self, layer: int, linear: Linear = F.linear):
        """The cell's step function bound to one layer's weights and fix: (gx, state) -> (state, parts);
        ``linear`` computes its W_hh h + b_hh (cells.py)."""
        w, step, fix = self.layer_weights(layer), self.spec.step, self.fixes.get(layer)
        extra = (w["w_peep"],) if "w_peep" in w else ()
        return w["w_ih"], w["b_ih"], lambda gx, s: step(gx, s, w["w_hh"], w["b_hh"], *extra, fix=fix, linear=linear)

    def step(self, x_t: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """One token through all layers: x_t (B, I) -> top layer's h (B, H), the new state.
        For incremental decoding (eval): no dropout, no fused call per token."""
        w = self.layer_weights(0)
        new = self.stepper()(F.linear(x_t, w["w_ih"], w["b_ih"]), [tuple(t[k] for t in state) for k in range(self.layers)])
        return new[-1][0], tuple(torch.stack(ts) for ts in zip(*new))

    def stepper(self, training: bool = False, loop: bool = False) -> Callable[[torch.Tensor, list[State]], list[State]]:
        """A step through all layers with the layers' weights bound once, for a caller's own time
        loop: (gx, per-layer states) -> the new per-layer states, where gx (B, chunks·H) is the
        first layer's input projection W_ih x_t + b_ih (so it can be computed for all steps in
        one matrix product). With ``training``, dropout between layers as the fused kernel. With
        ``loop`` (one stepper per run of a training loop whose every step reaches the loss), each
        layer's W_hh h + b_hh is a LoopLinear: packed once, its weight's gradient summed after the loop."""
        layers = [self._layer_step(k, LoopLinear() if loop else F.linear) for k in range(self.layers)]
        dropout: float = getattr(self.core, "dropout", 0.0) if training else 0.0

        def run(gx: torch.Tensor, states: list[State]) -> list[State]:
            new: list[State] = []
            for k, (w_ih, b_ih, cell) in enumerate(layers):
                if k:
                    below = F.dropout(new[-1][0], dropout, training=True) if dropout else new[-1][0]
                    gx = F.linear(below, w_ih, b_ih)
                new.append(cell(gx, states[k])[0])
            return new

        return run

    def trace(self, x: torch.Tensor, state: State | None = None) -> tuple[list[list[dict[str, torch.Tensor]]], State]:
        """Every intermediate of every step: x (T, I) or (1, T, I) -> parts[layer][t][name] (H,)
        and the final state (each (L, 1, H)). Computed from this module's weights."""
        if x.dim() == 2:
            x = x.unsqueeze(0)
        if state is None:
            state = self.init_state(1, x.device)
        _, final, parts = self._loop(x, state, keep=True)
        return [[{name: v[0] for name, v in p.items()} for p in layer] for layer in parts], final

    def _loop(self, x: torch.Tensor, state: State, keep: bool) -> tuple[torch.Tensor, State, list[list[Parts]]]:
        """x (B, T, I) through every layer, one step function call per token: the top layer's
        outputs (B, T, H), the final state, and (with ``keep``) parts[layer][t][name] (B, H).
        Dropout between layers in training, as the fused kernel."""
        parts: list[list[Parts]] = []
        final = []
        dropout = getattr(self.core, "dropout", 0.0)
        for k in range(self.layers):
            w_ih, b_ih, cell = self._layer_step(k)
            s, outs, layer_parts = tuple(t[k] for t in state), [], []
            for gx_t in F.linear(x, w_ih, b_ih).unbind(1):
                s, p = cell(gx_t, s)
                if keep:
                    layer_parts.append(p)
                outs.append(s[0])
            parts.append(layer_parts)
            final.append(s)
            x = torch.stack(outs, dim=1)
            if dropout and self.training and k < self.layers - 1:
                x = F.dropout(x, dropout, training=True)
        return x, tuple(torch.stack(ts) for ts in zip(*final)), parts


# -- a padded batch, each sequence stopping at its own length ------------------------------------


def run_packed(rnn: Recurrent, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, State]:
    """x (B, S, I) padded -> outputs (B, S, H) with 0 on pads, and each sequence's state after
    its last real token (pack_padded_sequence through the core)."""
    packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, state = rnn(packed, rnn.init_state(x.size(0), x.device))  # the core takes packed input
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.size(1))
    return out, state


def run_packed_reversed(rnn: Recurrent, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, State]:
    """As run_packed, each sequence read from its last real token to its first; the outputs are
    stored by position (row j = after reading x_S..x_j, so rows line up with the tokens) and the
    state is the one after reading x_1."""
    rev = _reverse_within_length(lengths.to(x.device, non_blocking=True), x.size(1))
    out, state = run_packed(rnn, _gather_time(x, rev), lengths)
    return _gather_time(out, rev), state


def _reverse_within_length(lengths: torch.Tensor, S: int) -> torch.Tensor:
    """(B, S) time index that reverses each row's first len positions and leaves its pads alone
    (it is its own inverse)."""
    j = torch.arange(S, device=lengths.device)[None, :]
    n = lengths[:, None]
    return torch.where(j < n, n - 1 - j, j)


def _gather_time(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """x (B, S, D) reordered along time by index (B, S)."""
    return x.gather(1, index[:, :, None].expand_as(x))
