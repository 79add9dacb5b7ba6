"""Moving a batch to the device it trains on."""

from __future__ import annotations

import torch


def to_device(t: torch.Tensor, device: torch.device | str) -> torch.Tensor:
    """``t`` on ``device``. To a CUDA GPU it goes through pinned (page-locked) memory without
    waiting: the copy queues behind the work already sent to the GPU and the host goes on to
    prepare the next step. Elsewhere it is a plain ``Tensor.to`` (nothing to wait for on the CPU)."""
    device = torch.device(device)
    if device.type != "cuda" or t.device.type != "cpu":
        return t.to(device)
    return t.pin_memory().to(device, non_blocking=True)
