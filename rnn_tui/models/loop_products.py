"""The matrix products a time loop repeats with one weight, made cheap.

A recurrence multiplies a few rows (the batch) by the same weight at every step, forward and
backward: W_hh h_{t-1}, and δ W_hh for the carried gradient. Two things make those products cost
less than T independent calls:

- ``StepProduct``: on the CPU, in float32, where this torch has oneDNN, the weight is packed once
  for oneDNN's linear and every step reuses it. Measured on a 2-core AVX-512 AMD CPU, a (32 × H)
  by (H × 3H) product: 1.4× addmm_ at H = 192, 1.7× at 256, 2.4× at 512 (MKL's sgemm repacks
  the weight on every call); at H ≤ 128 oneDNN's per-call overhead loses, so a weight under 2¹⁶
  entries keeps addmm_. The same numbers to float rounding (a different order of summation).
- ``Steps`` / ``LoopLinear``: each step's backward keeps its (input, output gradient) pair and
  gives its input's gradient alone; the step whose backward runs last sums the weight's gradient
  over every step in ONE matrix product, not a small product and an accumulation per step.

``LoopLinear`` is F.linear(x, w, b) for one loop with both; models/fast_gru.py uses StepProduct,
seq2seq's teacher-forced additive decoder LoopLinear (its W_hh) and Steps (its attention step).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

ONEDNN = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_reorder_linear_weight")
ONEDNN_MIN_WEIGHTS = 1 << 16  # e.g. a GRU's 3H × H at H ≈ 148, an LSTM's 4H × H at H = 128


def packs(w: torch.Tensor, rows: int) -> bool:
    """Whether StepProduct packs ``w`` for oneDNN (else it runs F.linear / addmm_): not for one row,
    where MKL's matrix–vector product was as fast or faster (0.63× at 256 units, 1.0× at 512)."""
    return (ONEDNN and w.dtype == torch.float32 and w.device.type == "cpu" and w.numel() >= ONEDNN_MIN_WEIGHTS
            and rows > 1)


class StepProduct:
    """x @ w.T (+ b) for every step of a loop, with the same w (out, in) throughout; ``rows``: the
    batch the packing is laid out for (any number of rows still works). An x of another dtype
    (under autocast) gets F.linear on w cast to it."""

    def __init__(self, w: torch.Tensor, rows: int) -> None:
        self.w = w
        self.packed = torch.ops.mkldnn._reorder_linear_weight(w.contiguous(), rows) if packs(w, rows) else None

    def __call__(self, x: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
        if self.packed is None or x.dtype != self.w.dtype:
            return F.linear(x, self.w.to(x.dtype), None if b is None else b.to(x.dtype))
        return torch.ops.mkldnn._linear_pointwise(x, self.packed, b, "none", [], "")

    def add_to(self, y: torch.Tensor, x: torch.Tensor) -> None:
        """y += x @ w.T, in place."""
        if self.packed is None:
            y.addmm_(x, self.w.t())
        else:
            y.add_(self(x))


class LoopWeight:
    """A weight w (out, in) that every step of one loop multiplies by, both ways: x w.T (+ b) in
    the forward, δy w in the backward, each a StepProduct built at its first use."""

    def __init__(self, w: torch.Tensor) -> None:
        self.w = w
        self._times: StepProduct | None = None
        self._times_t: StepProduct | None = None

    def times(self, x: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
        if self._times is None:
            self._times = StepProduct(self.w, x.size(0))
        return self._times(x, b)

    def times_t(self, dy: torch.Tensor) -> torch.Tensor:
        if self._times_t is None:
            self._times_t = StepProduct(self.w.t(), dy.size(0))
        return self._times_t(dy)


class Steps:
    """Tensors that every step of a time loop multiplies by (a weight; values weighed by α): each
    step's backward keeps its pairs (the other factor, its output's gradient) and gives that
    factor's gradient alone; the step whose backward runs last gets every step's pairs stacked, so
    the shared tensors' gradients take one matrix product each (not a small one and a sum per step)."""

    def __init__(self) -> None:
        self.count = 0  # steps run forward
        self.kept: list[tuple[torch.Tensor, ...]] = []
        self.running: torch.Tensor | None = None  # a gradient summed in place over the steps

    def add(self, *tensors: torch.Tensor) -> list[torch.Tensor] | None:
        """Keep one step's tensors; after the last step's, each of them stacked over the steps along
        dim 1 (and forgotten, so a second backward through a kept graph starts afresh)."""
        self.kept.append(tensors)
        if len(self.kept) < self.count:
            return None
        every = [torch.stack(ts, 1) for ts in zip(*self.kept)]
        self.kept = []
        return every


class LoopLinear:
    """F.linear(x, w, b) at every step of one time loop (a new LoopLinear for each run of the
    loop): x's products through a LoopWeight, w's and b's gradients summed over the steps after
    the loop (Steps). Every step's output must reach the loss (a recurrence's do)."""

    def __init__(self) -> None:
        self.steps = Steps()
        self.weight: LoopWeight | None = None

    def __call__(self, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
        if self.weight is None:
            self.weight = LoopWeight(w)
        return _LoopLinearStep.apply(x, w, b, self)


class _LoopLinearStep(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None, loop: LoopLinear) -> torch.Tensor:
        assert loop.weight is not None
        ctx.save_for_backward(x)
        ctx.loop, ctx.has_bias = loop, b is not None
        loop.steps.count += 1
        return loop.weight.times(x, b)

    @staticmethod
    def backward(ctx, dy: torch.Tensor):
        (x,) = ctx.saved_tensors
        loop = ctx.loop
        need = ctx.needs_input_grad
        dx = loop.weight.times_t(dy) if need[0] else None
        every = loop.steps.add(x, dy)
        if every is None:
            return dx, None, None, None
        xs, dys = (t.flatten(0, 1) for t in every)  # (B·T, in), (B·T, out)
        dw = dys.T @ xs if need[1] else None
        db = dys.sum(0) if ctx.has_bias and need[2] else None
        return dx, dw, db, None
