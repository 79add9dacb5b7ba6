"""Where training runs: device choice and CPU threads."""

from __future__ import annotations

import os

import torch

from rnn_tui.errors import RnnTuiError
from rnn_tui.runs.launcher import ATTACHED_ENV  # set by the app in the environment of a trainer it starts


def pick_device(name: str) -> torch.device:
    """``auto`` takes CUDA, then MPS, then the CPU; an explicit device that is absent is an error."""
    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if name == "cuda" and not cuda:
        why = "this torch build has no CUDA" if torch.version.cuda is None else "no CUDA GPU is visible"
        raise RnnTuiError(f"--device cuda: {why}; use --device cpu (or auto)")
    if name == "mps" and not mps:
        raise RnnTuiError("--device mps: Apple's MPS backend is not available here; use --device cpu (or auto)")
    return torch.device(name)


def choose_threads(requested: int) -> int:
    """CPU threads for the trainer.

    Measured on a 2-core box (numbers in docs/architecture.md): when another busy process shares
    the cores, as the app does when attached, OpenMP threads spin-wait and a 2-thread trainer gets
    many times slower, while 1 thread stays robust. So: ``--threads N`` wins; a trainer started by the app
    uses 1 thread; a headless trainer uses torch's default (all cores).
    """
    if requested > 0:
        return requested
    if os.environ.get(ATTACHED_ENV):
        return 1
    return torch.get_num_threads()


def set_threads(requested: int) -> int:
    n = choose_threads(requested)
    torch.set_num_threads(n)
    return n
