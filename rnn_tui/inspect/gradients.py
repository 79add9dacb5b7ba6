"""Gradients through time: how much of a loss at the last step reaches each earlier state.

For sequences x_1..x_T and a loss read off the last state (here L_T = uᵀ h_T, u a fixed random
unit vector: the readout of a freshly initialised cell),

    g_k = ‖∂L_T/∂h_k‖,   k = 1..T   (h_k: the top layer's state after step k)

and the decay over the distance d = T − k, ratio_d = g_{T−d} / g_T, averaged over the sequences.
The states come from the cell's step functions (models/cells.py on the module's weights), in
float64 so that ratios of 1e-12 are still measured, not rounded to 0.

By hand, for the tanh RNN h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh), the backward
recurrence is

    δ_T = u,    δ_{k−1} = W_hhᵀ (δ_k ⊙ (1 − h_k²))        (δ_k = ∂L_T/∂h_k)

so each step back multiplies by diag(1 − h_k²) W_hh: when its gains are below 1 the gradient
shrinks geometrically with d — the vanishing gradient that gates were invented against. An
LSTM's cell state is carried by c_t = f_t ⊙ c_{t−1} + …, so its gradient is multiplied by the
forget gate at each step back: a forget bias of 1 (f ≈ σ(1) ≈ 0.73 instead of 0.5) keeps far
more of it over 50 steps.
"""

from __future__ import annotations

import torch

from rnn_tui.models.init import init_weights
from rnn_tui.models.recurrent import Recurrent


def gradient_norms(rnn: Recurrent, x: torch.Tensor, readout: torch.Tensor) -> torch.Tensor:
    """x (B, T, I), readout u (H,) -> g (B, T): ‖∂(uᵀh_T)/∂h_k‖ for each sequence and step k."""
    state = rnn.init_state(x.size(0), x.device)
    hs = []
    for x_t in x.unbind(1):
        top, state = rnn.step(x_t, state)
        hs.append(top)
    loss = (hs[-1] @ readout).sum()  # the sequences do not interact: each gets its own gradient
    grads = torch.autograd.grad(loss, hs)
    return torch.stack([g.norm(dim=-1) for g in grads], dim=1)


def tanh_bptt(rnn: Recurrent, x: torch.Tensor, readout: torch.Tensor) -> torch.Tensor:
    """The same g (B, T) for a one-layer tanh RNN, by the backward recurrence written out above."""
    w = rnn.layer_weights(0)
    with torch.no_grad():
        state = rnn.init_state(x.size(0), x.device)
        hs = []
        for x_t in x.unbind(1):
            top, state = rnn.step(x_t, state)
            hs.append(top)
        delta = readout.expand_as(hs[-1])
        norms = [delta.norm(dim=-1)]
        for h in reversed(hs[1:]):  # δ_{k−1} = W_hhᵀ (δ_k ⊙ (1 − h_k²))
            delta = (delta * (1 - h * h)) @ w["w_hh"]
            norms.append(delta.norm(dim=-1))
    return torch.stack(norms[::-1], dim=1)


def decay(norms: torch.Tensor) -> torch.Tensor:
    """g (B, T) -> ratio (T,): the mean over sequences of g_{T−d} / g_T, for d = 0..T−1."""
    return (norms.flip(1) / norms[:, -1:]).mean(0)


def fresh_cell_decay(cell: str, hidden: int = 64, steps: int = 100, init: str = "default", forget_bias: float = 0.0,
                     inputs: int = 32, sequences: int = 16, seed: int = 0) -> torch.Tensor:
    """The decay curve (steps,) of a freshly initialised one-layer cell on random N(0, 1) inputs."""
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        rnn = Recurrent(cell, inputs, hidden).double()
        init_weights(rnn, init, forget_bias)
    x = torch.randn(sequences, steps, inputs, generator=generator, dtype=torch.float64)
    u = torch.randn(hidden, generator=generator, dtype=torch.float64)
    return decay(gradient_norms(rnn, x, u / u.norm()))
