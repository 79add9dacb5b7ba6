"""Weight initialisation schemes.

    default      PyTorch's own (recurrent weights and biases ~ U(−1/√H, 1/√H))
    xavier       xavier_uniform on every W_ih, W_hh and Linear weight (the head); biases 0
    orthogonal   as xavier, but each gate block of W_hh (H × H) is an orthogonal matrix,
                 so repeated multiplication by W_hh neither grows nor shrinks h at first

forget_bias (LSTM cells only; 0 = leave as the scheme made it): the forget-gate slice of
b_ih is set to forget_bias and that of b_hh to 0, so the total forget bias is forget_bias
(1.0 is the classic "remember by default" trick). Peephole weights keep their default.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from rnn_tui.errors import RnnTuiError
from rnn_tui.models.recurrent import Recurrent

SCHEMES = ("default", "xavier", "orthogonal")


@torch.no_grad()
def init_weights(model: nn.Module, scheme: str, forget_bias: float = 0.0) -> None:
    if scheme not in SCHEMES:
        raise RnnTuiError(f"--init must be one of {', '.join(SCHEMES)}; got {scheme!r}")
    for m in model.modules():
        if isinstance(m, Recurrent):
            _init_recurrent(m, scheme, forget_bias)
        elif isinstance(m, nn.Linear) and scheme != "default":
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def _init_recurrent(rnn: Recurrent, scheme: str, forget_bias: float) -> None:
    H = rnn.hidden
    for k in range(rnn.layers):
        w = rnn.layer_weights(k)
        if scheme != "default":
            nn.init.xavier_uniform_(w["w_ih"])
            if scheme == "xavier":
                nn.init.xavier_uniform_(w["w_hh"])
            else:
                for block in w["w_hh"].split(H, dim=0):  # one (H, H) block per gate
                    nn.init.orthogonal_(block)
            for b in (w["b_ih"], w["b_hh"]):
                if b is not None:
                    nn.init.zeros_(b)
        if forget_bias and rnn.spec.has_c:  # gate rows i, f, g, o: f is rows H:2H
            if w["b_ih"] is not None:
                w["b_ih"][H:2 * H] = forget_bias
            if w["b_hh"] is not None:
                w["b_hh"][H:2 * H] = 0.0
