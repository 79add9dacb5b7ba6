"""A GRU for CPU training, faster than nn.GRU's kernel and equal to it (same weights, same numbers).

PyTorch's CPU GRU runs the cell as a chain of small autograd-recorded ops per time step, so its
backward is autograd over T × (a dozen ops + a matrix product per weight). Here one layer and
direction is one ``torch.autograd.Function``:

- forward: the input projection for all T × B inputs as ONE matrix product; per step one
  product W_hh h (StepProduct: on a weight packed once per call, loop_products.py) added into a
  preallocated buffer and the gate arithmetic in place
  (r, z, n and W_hn h + b_hn are kept for the backward);
- backward: the GRU's BPTT recurrence, per step the gate derivatives and one product (again a
  StepProduct) for the carried gradient; dW_hh = Σ_t δh_tᵀ h_{t-1}, dW_ih, the biases and dx each ONE matrix product
  (or sum) over all steps after the loop. Its temporaries (δ and the factors of δh_t, 8·T·B·H
  floats) live in one buffer per thread kept between calls: a fresh one, tens of MB, is new pages
  from the OS every step, and their faults cost more than the arithmetic done in them.

The equations are cells.gru_step's (PyTorch's): r = σ(x_r + h_r), z = σ(x_z + h_z),
n = tanh(x_n + r ⊙ (W_hn h + b_hn)), h_t = (1 − z) ⊙ n + z ⊙ h_{t-1} = n + z ⊙ (h_{t-1} − n).

``FastGRU`` is an nn.GRU (same parameters, names and state dict) whose forward takes this path
when it trains (gradients on), or runs without gradients where the per-step products are packed
(W_hh of 2¹⁶ entries or more, two rows or more: loop_products.packs), on the CPU, with bias;
a (B, T, I) / (T, B, I) tensor with any number of layers, either direction, dropout between
layers, a given h0 and the final state returned as nn.GRU does; or a packed batch (variable
lengths: the classifier, the encoder), one direction, run longest first so that each step's
products skip the sequences already ended.
Anything else runs nn.GRU's own kernel: a bidirectional packed batch, unbatched input, no bias,
a GPU (cuDNN), CPU autocast (``--precision bf16``: nn.GRU's dtype rules), and the forward without
gradients (scoring, evaluation) of a smaller GRU or of one sequence, where there is no backward
to win and nn.GRU's kernel was measured as fast or faster (without gradients, 2 threads, 100 steps
of batch 32: this path 1.02× nn.GRU at 128 units by addmm_, 1.32× at 256 and 1.81× at 512
packed; batch 1: 0.63× at 256 units, 1.0× at 512; batch 4: 1.14×, 2.43×). Both give the same
numbers to float rounding (tests/test_fast_gru.py).

Measured on a shared 2-core CPU (bench/train_throughput.py's GRU rows, forward + backward + Adam,
embed 64, batch 32, seq 100): the matrix products are most of the time at hidden ≥ 256 and they
are the same products as nn.GRU's, so the gain there is smaller (what is saved: the per-step
weight-gradient products and their accumulation, autograd's per-op bookkeeping, and half the
fresh memory a step asks for). 2 threads, 2026-11-30, five runs: 1.42–1.55× at hidden 128, 1.20–1.32× at 256,
1.20–1.25× at 512 (before the kept buffer: 1.34–1.51×, 1.09–1.22×, 1.13–1.16×); 1 thread:
1.25–1.31×, 1.07–1.16×, 1.14–1.21×. With the per-step products on oneDNN's packed weights
(loop_products.StepProduct), on a faster AVX-512 machine (2026-12-01, three runs): 1.37–1.39×,
1.32–1.36×, 1.58–1.64× (there without them: 1.39–1.45×, 1.18–1.23×, 1.14–1.18×).
"""

from __future__ import annotations

import math
import threading
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from rnn_tui.models.loop_products import StepProduct, packs

_WORKSPACE = threading.local()  # per thread, so two backward passes at once never share one: .buffers[(device, dtype)]


def _workspace(like: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """A buffer of ``shape`` for the backward's temporaries, kept between calls: a fresh one of
    tens of MB is new pages from the OS each step, whose faults cost more than its arithmetic."""
    key = (like.device, like.dtype)
    n = math.prod(shape)
    buffers: dict[tuple[torch.device, torch.dtype], torch.Tensor] = _WORKSPACE.__dict__.setdefault("buffers", {})
    buf = buffers.get(key)
    if buf is None or buf.numel() < n:
        buf = buffers[key] = like.new_empty(n)
    return buf[:n].view(shape)


class _GRULayer(torch.autograd.Function):
    """One GRU layer, one direction, time-major: x (T, B, I), h0 (B, H) -> outputs (T, B, H), h_T (B, H)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, h0: torch.Tensor, w_ih: torch.Tensor, w_hh: torch.Tensor,
                b_ih: torch.Tensor, b_hh: torch.Tensor, rows: list[int] | None) -> tuple[torch.Tensor, torch.Tensor]:
        T, B, _ = x.shape
        H = h0.size(-1)
        # g[t] starts as [W_ir x + b_ir + b_hr, W_iz x + b_iz + b_hz, b_hn] (all t at once), and
        # each step adds W_hh h_{t-1} in place: [pre_r, pre_z, W_hn h + b_hn]
        g = torch.addmm(b_ih, x.reshape(T * B, -1), w_ih.t()).view(T, B, 3 * H)
        n = g[..., 2 * H :].clone()  # W_in x + b_in, which step t turns into n_t in place
        g[..., : 2 * H] += b_hh[: 2 * H]
        g[..., 2 * H :] = b_hh[2 * H :]
        rows = rows or [B] * T
        if rows[-1] < B:  # past a sequence's end pre_z = +∞, so z = 1 and h_t = h_{t-1} exactly (and
            # every δ there is 0: σ' = 1 − z = 0), so the products can skip those rows
            pad = torch.arange(B, device=x.device)[None, :] >= torch.tensor(rows, device=x.device)[:, None]
            g[..., H : 2 * H].masked_fill_(pad[..., None], float("inf"))
        rz = x.new_empty(T, B, 2 * H)  # [r, z] = σ(pre_r, pre_z)
        hs = x.new_empty(T + 1, B, H)  # h_0 .. h_T
        hs[0] = h0
        w_hh_h = StepProduct(w_hh, B)
        h = hs.unbind(0)
        steps = zip(g.unbind(0), g[..., 2 * H :].unbind(0), rz.unbind(0), rz[..., :H].unbind(0), rz[..., H:].unbind(0),
                    n.unbind(0))
        for t, (g_t, hn_t, rz_t, r_t, z_t, n_t) in enumerate(steps):
            b = rows[t]
            w_hh_h.add_to(g_t if b == B else g_t[:b], h[t] if b == B else h[t][:b])
            torch.sigmoid(g_t[:, : 2 * H], out=rz_t)
            n_t.addcmul_(r_t, hn_t).tanh_()  # n = tanh(x_n + r ⊙ (W_hn h + b_hn))
            torch.lerp(n_t, h[t], z_t, out=h[t + 1])  # h_t = n + z ⊙ (h_{t-1} − n)
        ctx.save_for_backward(x, hs, rz, n, g, w_ih, w_hh)
        ctx.rows = rows
        return hs[1:], hs[T]

    @staticmethod
    def backward(ctx: Any, d_out: torch.Tensor, d_hT: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, hs, rz, n, g, w_ih, w_hh = ctx.saved_tensors
        T, B, _ = x.shape
        H = hs.size(-1)
        r, z, hn, h_prev = rz[..., :H], rz[..., H:], g[..., 2 * H :], hs[:T]
        # what δh_t is multiplied by to give each δ, for all t at once (the loop then needs one
        # product per step), in the order [δ(W_hn h + b_hn), δpre_r, δpre_z, δpre_n] = δh_t ⊙ f[t]:
        # so d[..., :3H] is the δ of W_hh's rows taken n, r, z and d[..., H:] the δ of W_ih's r, z, n
        f, d = _workspace(x, (2, T, B, 4, H)).unbind(0)  # temporaries of this backward only: reused
        f_hn, f_r, f_z, f_n = f.unbind(2)
        torch.addcmul(n.new_ones(()), n, n, value=-1, out=f_n).addcmul_(f_n, z, value=-1)  # (1 − n²)(1 − z)
        torch.mul(f_n, r, out=f_hn)  # ∂h/∂(W_hn h + b_hn) = ∂h/∂pre_n ⊙ r
        torch.mul(f_hn, hn, out=f_r).addcmul_(f_r, r, value=-1)  # ∂h/∂pre_r = ∂h/∂pre_n ⊙ hn ⊙ r (1 − r)
        torch.sub(h_prev, n, out=f_z).mul_(z).addcmul_(f_z, z, value=-1)  # ∂h/∂pre_z = (h_{t-1} − n) z (1 − z)
        w_nrz = StepProduct(torch.cat([w_hh[2 * H :], w_hh[: 2 * H]]).t(), B)  # δgh_t W_hh, W_hh's rows taken n, r, z
        d_out = d_out.contiguous()
        d_h = d_out[T - 1] + d_hT  # δh_t, from the output at t and from step t + 1
        d_gh = d.view(T, B, 4 * H)[..., : 3 * H]
        for t in range(T - 1, -1, -1):
            torch.mul(d_h.unsqueeze(1), f[t], out=d[t])
            carry = torch.addcmul(d_out[t - 1], z[t], d_h) if t else z[t] * d_h  # the direct path z ⊙ δh_t
            b = ctx.rows[t]
            w_nrz.add_to(carry if b == B else carry[:b], d_gh[t] if b == B else d_gh[t][:b])  # + δgh_t W_hh
            d_h = carry
        d_gx = d.view(T * B, 4 * H)[:, H:]  # [δpre_r, δpre_z, δpre_n]
        d_gh2 = d_gh.reshape(T * B, 3 * H)  # [δ(W_hn h + b_hn), δpre_r, δpre_z]

        def rzn(t: torch.Tensor) -> torch.Tensor:  # rows taken n, r, z -> r, z, n
            return torch.cat([t[H:], t[:H]])

        need = ctx.needs_input_grad
        dx = (d_gx @ w_ih).view(T, B, -1) if need[0] else None
        dw_ih = d_gx.t() @ x.reshape(T * B, -1) if need[2] else None
        dw_hh = rzn(d_gh2.t() @ h_prev.reshape(T * B, H)) if need[3] else None
        db_ih = d_gx.sum(0) if need[4] else None
        db_hh = rzn(d_gh2.sum(0)) if need[5] else None
        return dx, d_h, dw_ih, dw_hh, db_ih, db_hh, None


def gru_layer(x: torch.Tensor, h0: torch.Tensor, w_ih: torch.Tensor, w_hh: torch.Tensor,
              b_ih: torch.Tensor, b_hh: torch.Tensor, rows: list[int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """One GRU layer and direction, time-major: x (T, B, I), h0 (B, H) -> outputs (T, B, H), h_T (B, H).
    ``rows``: a packed batch's batch_sizes, the sequences sorted longest first; past its end a
    sequence's state is carried unchanged (h_T is its state after its last step, as nn.GRU's)."""
    out, h_T = _GRULayer.apply(x.contiguous(), h0.contiguous(), w_ih, w_hh, b_ih, b_hh, rows)
    return out, h_T


class FastGRU(nn.GRU):
    """nn.GRU with the hand-written CPU path above (see the module docstring for what it covers)."""

    def forward(self, input: Any, hx: torch.Tensor | None = None) -> Any:  # the argument names are nn.GRU's
        if not self._fast(input):
            return super().forward(input, hx)
        packed, rows = None, None
        if isinstance(input, PackedSequence):  # padded, longest first (the packed order)
            packed, rows = input, input.batch_sizes.tolist()
            x, _ = pad_packed_sequence(PackedSequence(input.data, input.batch_sizes))  # (T, B, I)
        else:
            x = input.transpose(0, 1) if self.batch_first else input  # (T, B, I)
        L, D, H = self.num_layers, 2 if self.bidirectional else 1, self.hidden_size
        if hx is None:
            hx = x.new_zeros(L * D, x.size(1), H)
        elif packed is not None and packed.sorted_indices is not None:
            hx = hx.index_select(1, packed.sorted_indices)  # the caller's order -> the packed order
        finals = []
        for k in range(L):
            outs = []
            for d in range(D):
                sfx = f"_l{k}{'_reverse' if d else ''}"
                w_ih, w_hh, b_ih, b_hh = (getattr(self, f"{w}{sfx}") for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
                out, h_T = gru_layer(x.flip(0) if d else x, hx[k * D + d], w_ih, w_hh, b_ih, b_hh, rows)
                outs.append(out.flip(0) if d else out)
                finals.append(h_T)
            x = outs[0] if D == 1 else torch.cat(outs, dim=-1)
            if self.dropout and self.training and k < L - 1:
                x = F.dropout(x, self.dropout, training=True)  # between layers, like nn.GRU
        h_n = torch.stack(finals)
        if packed is None:
            return (x.transpose(0, 1) if self.batch_first else x), h_n
        lengths = (torch.arange(x.size(1))[None, :] < packed.batch_sizes[:, None]).sum(0)  # longest first
        data = pack_padded_sequence(x, lengths).data
        if packed.unsorted_indices is not None:
            h_n = h_n.index_select(1, packed.unsorted_indices)
        return PackedSequence(data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices), h_n

    def _fast(self, input: Any) -> bool:
        packed = isinstance(input, PackedSequence)
        if not (packed or input.dim() == 3):
            return False
        batch = int(input.batch_sizes[0]) if packed else input.size(0 if self.batch_first else 1)
        return ((torch.is_grad_enabled() or packs(self.get_parameter("weight_hh_l0"), batch))
                and input.data.device.type == "cpu"
                and self.bias and not (packed and self.bidirectional) and not torch.is_autocast_enabled("cpu"))
