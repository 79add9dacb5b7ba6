"""The forecaster: a window of past values -> recurrent layers -> the next values (data/windows.py).

    x_t = [z_t ; f_t]        1+F numbers per step: the transformed target (data/transforms.py)
                             and the F scaled features; no embedding
    h_t = Recurrent(x_t, h_{t−1})        t = o−W+1..o (the window), from h = 0
    direct      ẑ_{o+1..o+H} = W_out drop(h_o) + b_out + A z_{o−P+1..o}        (H outputs at once)
    recursive   ẑ_{o+1} = w_outᵀ drop(h_o) + b_out + aᵀ z_{o−P+1..o};  then, h times over,
                x_{o+k} = ẑ_{o+k},  h_{o+k} = Recurrent(x_{o+k}, h_{o+k−1}),
                ẑ_{o+k+1} = w_outᵀ h_{o+k} + b_out + aᵀ z_{o+k−P+1..o+k}
                (the forecast fed back as the next input, and into the highway's last P values:
                the target alone, no features)

The last term is the autoregressive highway of LSTNet (Lai et al. 2018), on when P = cfg.highway
> 0 (else it is absent): a linear map A (H × P; a: P, no bias) of the window's last P target
values z (not the features), trained jointly with the rest, so the model is at least an AR(P)
(with b_out its constant) and the recurrent layers learn what that misses. A is built at 0; a
training run then starts from the AR(P) fit (``start_from_ar``: A and b_out by least squares on
the training windows, W_out = 0): it starts as the AR(P) model, and moves away from it only as far
as validation rewards (the best checkpoint).

Training minimises the MSE (or MAE) of ẑ against z on the training windows: all H outputs for
direct, the one step for recursive. Dropout (cfg.dropout) between layers and before the head.
Ways to run, all on the same weights:
    forward    windows (B, W, 1+F) -> ẑ (B, H) or (B, 1)   (training)
    forecast   windows -> (B, H), the recursive strategy feeding back        (evaluation, forecasts)
    trace      one window -> every gate and state of every layer at every step (inspection)
"""

from __future__ import annotations

import torch
import torch.nn as nn

from rnn_tui.config import STRATEGIES, ModelConfig
from rnn_tui.errors import RnnTuiError
from rnn_tui.models.cells import State
from rnn_tui.models.evaluating import evaluating
from rnn_tui.models.init import init_weights
from rnn_tui.models.recurrent import Recurrent, layer_states, trace_vectors


class Forecaster(nn.Module):
    def __init__(self, cfg: ModelConfig, inputs: int, horizon: int, strategy: str) -> None:
        super().__init__()
        if strategy not in STRATEGIES:
            raise RnnTuiError(f"--strategy must be one of {', '.join(STRATEGIES)}; got {strategy!r}")
        if strategy == "recursive" and inputs != 1:  # Config.validate says why to a user
            raise RnnTuiError(f"a recursive forecaster reads the target alone (1 input per step); got {inputs}")
        if cfg.tie_weights:
            raise RnnTuiError("--tie-weights is for language models; turn it off for forecasting")
        self.cfg, self.inputs, self.horizon, self.strategy = cfg, inputs, horizon, strategy
        self.rnn = Recurrent(cfg.cell, inputs, cfg.hidden, cfg.layers, cfg.dropout)
        self.drop = nn.Dropout(cfg.dropout)
        outputs = horizon if strategy == "direct" else 1
        self.head = nn.Linear(cfg.hidden, outputs)
        self.highway = nn.Linear(cfg.highway, outputs, bias=False) if cfg.highway else None
        init_weights(self, cfg.init, cfg.forget_bias)
        if self.highway is not None:
            nn.init.zeros_(self.highway.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, W, 1+F) -> the head's outputs (B, H) (direct) or (B, 1) (recursive: the next step)."""
        out, _ = self.rnn(x)
        return self._output(out[:, -1], x[:, :, 0])

    def _output(self, h: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """The head on the last state h (B, hidden), plus the highway on the last P of the target
        values z (B, ≥ P) when there is one."""
        y = self.head(self.drop(h))
        return y if self.highway is None else y + self.highway(z[:, z.size(1) - self.highway.in_features :])

    def forecast(self, x: torch.Tensor, steps: int | None = None) -> torch.Tensor:
        """x (B, W, 1+F) -> ẑ (B, steps) (default: the horizon). Direct: the head's outputs (at most
        H of them); recursive: one step at a time, each fed back (any number of steps)."""
        steps = steps or self.horizon
        if self.strategy == "direct":
            if steps > self.horizon:
                raise RnnTuiError(f"a direct forecaster forecasts at most its horizon ({self.horizon}); got {steps} steps")
            return self(x)[:, :steps]
        out, state = self.rnn(x)
        recent = x[:, :, 0]  # (B, W): the target values so far, the forecasts appended
        z = self._output(out[:, -1], recent)  # (B, 1)
        preds = [z]
        for _ in range(steps - 1):
            out, state = self.rnn(z[:, None, :], state)
            recent = torch.cat([recent[:, 1:], z], dim=1)
            z = self._output(out[:, -1], recent)
            preds.append(z)
        return torch.cat(preds, dim=1)

    @torch.no_grad()
    def start_from_ar(self, windows: torch.Tensor, targets: torch.Tensor) -> None:
        """Start as the AR(P) model of the training windows (B, W, 1+F) -> targets (B, outputs):
        A and b_out their least-squares fit, W_out = 0 (the recurrent layers then learn the rest)."""
        if self.highway is None:
            raise RnnTuiError("this forecaster has no AR highway to start from (highway = 0)")
        P = self.highway.in_features
        x = windows[:, -P:, 0].double().cpu()
        design = torch.cat([torch.ones(len(x), 1, dtype=torch.float64), x], dim=1)
        coef = torch.linalg.lstsq(design, targets.double().cpu()).solution  # (1 + P, outputs); on the cpu: any rank
        self.head.bias.copy_(coef[0])
        self.highway.weight.copy_(coef[1:].T)
        self.head.weight.zero_()

    def trace(self, window: torch.Tensor) -> tuple[dict[str, torch.Tensor], list[State]]:
        """One window (W, 1+F) through the step functions (Recurrent.trace, the same weights):
        f"{layer}.{name}" -> (W, H) float32 on the cpu, and per layer the state it starts from (zeros)."""
        if window.dim() != 2 or window.size(1) != self.inputs:
            raise RnnTuiError(f"a window is (steps, {self.inputs}) numbers; got {tuple(window.shape)}")
        with evaluating(self):
            x = window.to(self.head.weight.device, self.head.weight.dtype)
            state0 = self.rnn.init_state(1, x.device)
            vectors = trace_vectors(self.rnn.trace(x, state0)[0])
        return vectors, layer_states(state0)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
