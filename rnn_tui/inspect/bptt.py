"""Backpropagation through time written out by hand, from the cell equations in models/cells.py.

The loss L_T is read off the last state h_T of the top layer (a readout: a fixed vector u, so
L_T = uᵀh_T, or a function of h_T such as a language model's cross-entropy at step T). Its
derivative δ_T = ∂L_T/∂h_T is the seed (for uᵀh_T it is u; for any other readout it is taken
by autograd through the readout alone, never through the recurrence). From there each cell's
backward recurrence, below, gives δ_{k−1} from δ_k for k = T..2, using the intermediates the
forward pass kept (the step functions' ``parts``). Only the top layer's recurrence matters:
the layers below feed h^top_k but nothing of them depends on it, so a stack is handled by
running the top layer on the lower layers' outputs.

Every backward function says its equations in its docstring (the second paragraph, which the
step-by-step account shows), and yields per step k, from T down to 1, δ_k and the factors that
decide how much of it the step back keeps — plain per-sequence numbers (B,), so a user sees why
the gradient shrinks (a tanh RNN: the gain of diag(1 − h_k²) W_hh) or is kept (an LSTM: the
forget gate on the cell path; a GRU: the update gate z on the direct path).

All in float64 when the module is: ratios of 1e-12 are still measured, not rounded to 0.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import torch

from rnn_tui.errors import RnnTuiError
from rnn_tui.models.cells import Parts
from rnn_tui.models.recurrent import Recurrent

Readout = torch.Tensor | Callable[[torch.Tensor], torch.Tensor]  # u (H,), or h_T (B, H) -> L_T per sequence (B,)
Step = dict[str, torch.Tensor]  # per step back: "delta" (B, H) and named factors (B,)


# -- the forward pass and the seed -------------------------------------------------------------


def top_layer_parts(rnn: Recurrent, x: torch.Tensor) -> list[Parts]:
    """x (B, T, I) -> the top layer's intermediates at each step t = 1..T, each (B, H), from the
    step functions (Recurrent.trace, one sequence at a time, the state starting at 0)."""
    per_sequence = [rnn.trace(x[b : b + 1])[0][-1] for b in range(x.size(0))]
    return [{name: torch.stack([seq[t][name] for seq in per_sequence]) for name in per_sequence[0][t]}
            for t in range(x.size(1))]


def seed(readout: Readout, h_last: torch.Tensor) -> torch.Tensor:
    """δ_T = ∂L_T/∂h_T (B, H): u itself for L_T = uᵀh_T, else autograd through the readout only."""
    if isinstance(readout, torch.Tensor):
        return readout.to(h_last).expand_as(h_last)
    with torch.enable_grad():
        h = h_last.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(readout(h).sum(), h)  # the sequences do not interact
    return grad


# -- the backward recurrences -------------------------------------------------------------------


def _spectral_gain(slope: torch.Tensor, w_hh: torch.Tensor) -> torch.Tensor:
    """‖diag(slope) W_hh‖₂ per sequence: slope (B, H) -> (B,), the most one step back can multiply δ by."""
    return torch.linalg.matrix_norm(slope[:, :, None] * w_hh, ord=2)


def rnn_backward(parts: list[Parts], w_hh: torch.Tensor, delta: torch.Tensor, account: bool = False,
                 relu: bool = False) -> Iterator[Step]:
    """The simple RNN, h_k = φ(a_k), a_k = W_ih x_k + b_ih + W_hh h_{k−1} + b_hh.

    δ_T = ∂L_T/∂h_T
    δ_{k−1} = W_hhᵀ (δ_k ⊙ φ'(a_k)),   φ' = 1 − h_k² (tanh) or 1[a_k > 0] (relu)
    so each step back multiplies δ by (diag(φ'(a_k)) W_hh)ᵀ: when its gain is below 1 the
    gradient shrinks geometrically with the distance (the vanishing gradient).

    Factors of step k: slope = mean φ'(a_k); gain = ‖diag(φ'(a_k)) W_hh‖₂ (with ``account``)."""
    for k in range(len(parts) - 1, -1, -1):
        p = parts[k]
        slope = (p["pre"] > 0).to(p["h"]) if relu else 1 - p["h"] * p["h"]
        step: Step = {"delta": delta, "slope": slope.mean(-1)}
        if account:
            step["gain"] = _spectral_gain(slope, w_hh)
        yield step
        delta = (delta * slope) @ w_hh  # δ_{k−1} = W_hhᵀ (δ_k ⊙ φ'(a_k))


def gru_backward(parts: list[Parts], w_hh: torch.Tensor, delta: torch.Tensor, account: bool = False) -> Iterator[Step]:
    """The GRU, h_k = (1 − z) ⊙ n + z ⊙ h_{k−1} (this convention: z keeps the old state),
    r = σ(a_r), z = σ(a_z), n = tanh(a_n), a_n = W_in x + b_in + r ⊙ hn, hn = W_hn h_{k−1} + b_hn.

    δa_n = δ_k ⊙ (1 − z) ⊙ (1 − n²)
    δa_z = δ_k ⊙ (h_{k−1} − n) ⊙ z(1 − z)
    δa_r = δa_n ⊙ hn ⊙ r(1 − r)
    δ_{k−1} = z ⊙ δ_k  +  W_hrᵀ δa_r + W_hzᵀ δa_z + W_hnᵀ (r ⊙ δa_n)
    The first term is the direct path: where z ≈ 1 the gradient passes back unchanged; the
    others go through W_hh and the gates' slopes, like the simple RNN's.

    Factors of step k: keep = mean z_k; direct = ‖z ⊙ δ_k‖ and matrix = ‖the W_hh terms‖,
    each over ‖δ_k‖ (with ``account``)."""
    for k in range(len(parts) - 1, -1, -1):
        p = parts[k]
        r, z, n, hn = p["r"], p["z"], p["n"], p["hn"]
        h_prev = parts[k - 1]["h"] if k > 0 else torch.zeros_like(z)
        da_n = delta * (1 - z) * (1 - n * n)
        da_z = delta * (h_prev - n) * z * (1 - z)
        da_r = da_n * hn * r * (1 - r)
        direct = z * delta
        matrix = torch.cat([da_r, da_z, r * da_n], dim=-1) @ w_hh  # rows of W_hh in order r, z, n
        step: Step = {"delta": delta, "keep": z.mean(-1)}
        if account:
            size = delta.norm(dim=-1)
            step["direct"], step["matrix"] = direct.norm(dim=-1) / size, matrix.norm(dim=-1) / size
        yield step
        delta = direct + matrix  # δ_{k−1}


def lstm_backward(parts: list[Parts], w_hh: torch.Tensor, delta: torch.Tensor, account: bool = False) -> Iterator[Step]:
    """The LSTM, c_k = f ⊙ c_{k−1} + i ⊙ g, h_k = o ⊙ tanh(c_k), gates i, f, g, o = σ, σ, tanh, σ
    of a = W_ih x_k + b_ih + W_hh h_{k−1} + b_hh. Two gradients travel back: δ_k = ∂L_T/∂h_k and
    γ_k = ∂L_T/∂c_k (both total).

    γ_T = δ_T ⊙ o_T ⊙ (1 − tanh² c_T)
    δa_i = γ_k ⊙ g ⊙ i(1 − i)        δa_f = γ_k ⊙ c_{k−1} ⊙ f(1 − f)
    δa_g = γ_k ⊙ i ⊙ (1 − g²)        δa_o = δ_k ⊙ tanh c_k ⊙ o(1 − o)
    δ_{k−1} = W_hhᵀ [δa_i; δa_f; δa_g; δa_o]
    γ_{k−1} = f_k ⊙ γ_k  +  δ_{k−1} ⊙ o_{k−1} ⊙ (1 − tanh² c_{k−1})
    The cell path f_k ⊙ γ_k has no matrix and no squashing: the gradient on c is multiplied only
    by the forget gate at each step back, so f near 1 (a forget bias of 1) keeps it for long.

    Factors of step k: forget = mean f_k; cell = ‖γ_k‖ (with ``account``: also ‖γ_k‖ / ‖δ_k‖)."""
    gamma = delta * parts[-1]["o"] * (1 - parts[-1]["tanh_c"] ** 2)
    for k in range(len(parts) - 1, -1, -1):
        p = parts[k]
        i, f, g, o, tanh_c = p["i"], p["f"], p["g"], p["o"], p["tanh_c"]
        c_prev = parts[k - 1]["c"] if k > 0 else torch.zeros_like(f)
        step: Step = {"delta": delta, "forget": f.mean(-1), "cell": gamma.norm(dim=-1)}
        if account:
            step["cell_share"] = gamma.norm(dim=-1) / delta.norm(dim=-1)
        yield step
        da = torch.cat([gamma * g * i * (1 - i), gamma * c_prev * f * (1 - f), gamma * i * (1 - g * g),
                        delta * tanh_c * o * (1 - o)], dim=-1)  # rows of W_hh in order i, f, g, o
        delta = da @ w_hh  # δ_{k−1}
        if k > 0:
            q = parts[k - 1]
            gamma = f * gamma + delta * q["o"] * (1 - q["tanh_c"] ** 2)  # γ_{k−1}


BACKWARD: dict[str, Callable[..., Iterator[Step]]] = {
    "rnn": rnn_backward, "rnn-relu": partial(rnn_backward, relu=True), "gru": gru_backward, "lstm": lstm_backward}


def equations(cell: str) -> list[str]:
    """The backward recurrence of ``cell`` as the lines of its function's docstring's second paragraph."""
    back = _backward(cell)
    doc = inspect.cleandoc(getattr(back, "func", back).__doc__ or "")  # rnn-relu: a partial of rnn_backward
    return doc.split("\n\n")[1].splitlines()


def _backward(cell: str) -> Callable[..., Iterator[Step]]:
    if cell not in BACKWARD:
        raise RnnTuiError(f"BPTT by hand is written out for {', '.join(BACKWARD)}; not for {cell!r}")
    return BACKWARD[cell]


def backward_steps(rnn: Recurrent, x: torch.Tensor, readout: Readout, account: bool = False) -> list[Step]:
    """x (B, T, I) -> per step k = 1..T (in that order) δ_k (B, H) and the step's factors (B,)."""
    back = _backward(rnn.cell)
    with torch.no_grad():
        parts = top_layer_parts(rnn, x)
        w_hh = rnn.layer_weights(rnn.layers - 1)["w_hh"]
        steps = list(back(parts, w_hh, seed(readout, parts[-1]["h"]), account))
    return steps[::-1]


def bptt_norms(rnn: Recurrent, x: torch.Tensor, readout: Readout) -> torch.Tensor:
    """g (B, T): ‖δ_k‖ = ‖∂L_T/∂h_k‖ by the backward recurrence (what gradients.gradient_norms
    gets by autograd)."""
    return torch.stack([s["delta"].norm(dim=-1) for s in backward_steps(rnn, x, readout)], dim=1)


def bptt_account(rnn: Recurrent, x: torch.Tensor, readout: Readout) -> dict[str, Any]:
    """The backward pass step by step, for a short sequence (means over the sequences of x):

    {"cell", "steps": T, "equations": [lines], "factors": [names],
     "rows": [{"k", "d": T − k, "delta": ‖δ_k‖, "ratio": ‖δ_k‖/‖δ_T‖,
               "step": ‖δ_k‖/‖δ_{k+1}‖ (None at k = T), <factor>: value, ...}, ...]}  k = T..1
    """
    steps = backward_steps(rnn, x, readout, account=True)
    T = len(steps)
    norms = torch.stack([s["delta"].norm(dim=-1) for s in steps], dim=1)  # (B, T)
    names = [name for name in steps[0] if name != "delta"]
    rows = []
    for k in range(T, 0, -1):
        row: dict[str, Any] = {"k": k, "d": T - k, "delta": norms[:, k - 1].mean().item(),
                               "ratio": (norms[:, k - 1] / norms[:, -1]).mean().item(),
                               "step": (norms[:, k - 1] / norms[:, k]).mean().item() if k < T else None}
        row.update({name: steps[k - 1][name].mean().item() for name in names})
        rows.append(row)
    return {"cell": rnn.cell, "steps": T, "equations": equations(rnn.cell), "factors": names, "rows": rows}
